"""Keeping documents (services/reports/store.py) and the build steps around it (builder.py), on SQLite with the
service's migrations, with figures from a fake of the scoring and dossiers services."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path

import pytest
from nameko.cli.run import import_service
from prometheus_client import REGISTRY

from services.reports import builder as builder_module
from services.reports import store
from services.reports.builder import Builder
from services.reports.errors import BadRequest, NotFound
from services.reports.formats import render
from services.reports.metrics import ranking_version
from services.reports.models import CommitmentTargets, DocumentFile
from services.reports.settings import load_settings
from shared.config import load_config
from shared.db import open_database
from tests.reports_samples import sample_ranking, stats_row

NOW = dt.datetime(2026, 12, 20, 3, 0, tzinfo=dt.UTC)


@pytest.fixture
def db(tmp_path):
    return open_database(load_config(DATABASE_URL=f"sqlite:///{tmp_path}/<service>.db"), "reports")


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_versions_checksums_and_tokens(db, tmp_path) -> None:
    out = tmp_path / "documents"
    kw = {"kind": "ranking", "key": "commune-2026", "title": "Chỉ số CCHC", "filename": "chi-so-cchc",
          "sources": {"ranking_versions": {"commune-2026": 3}}, "now": NOW}
    with db.transaction() as session:
        first, created = store.record(session, out, content_hash="a", files={"pdf": b"%PDF-1", "xlsx": b"PK1"}, **kw)
    assert created and [(f.version, f.format) for f in first] == [(1, "pdf"), (1, "xlsx")]
    assert first[0].path == out / "ranking" / "commune-2026" / "v1" / "chi-so-cchc.pdf"
    assert first[0].path.read_bytes() == b"%PDF-1" and first[0].sha256 == hashlib.sha256(b"%PDF-1").hexdigest()
    with db.transaction() as session:  # the same content again: nothing new
        again, created = store.record(session, out, content_hash="a", files={"pdf": b"%PDF-1b"}, **kw)
    assert not created and again[0].id == first[0].id
    with db.transaction() as session:
        second, created = store.record(session, out, content_hash="b", files={"pdf": b"%PDF-2"}, **kw)
        forced, _ = store.record(session, out, content_hash="b", files={"pdf": b"%PDF-3"}, force=True, **kw)
    assert (second[0].version, forced[0].version) == (2, 3)
    assert first[0].path.read_bytes() == b"%PDF-1"  # earlier versions stay
    with db.transaction() as session:
        latest = store.list_files(session, out, kind="ranking")
        every = store.list_files(session, out, kind="ranking", latest_only=False)
        found = store.file_by_token(session, out, forced[0].id, forced[0].token)
        for token in ("", "x", forced[0].token[:-1], first[0].token):
            with pytest.raises(NotFound):
                store.file_by_token(session, out, forced[0].id, token)
        with pytest.raises(NotFound):
            store.file_by_token(session, out, 999, forced[0].token)
    assert [f.version for f in latest] == [3] and len(every) == 4
    assert found.path.read_bytes() == b"%PDF-3" and found.url == f"/documents/{found.id}?token={found.token}"


def test_paths_stay_inside_the_document_folder(tmp_path) -> None:
    out = tmp_path / "documents"
    out.mkdir()
    assert store.safe_segment("../etc passwd") == "_etc_passwd"
    assert store.safe_segment("..") == "_" and store.safe_segment("H44.07/2026") == "H44.07_2026"
    for bad in ("../secret", "/etc/passwd", "a/../../b", "."):
        with pytest.raises(NotFound):
            store.confined(out, bad)
    assert store.confined(out, "ranking/x/v1/a.pdf") == (out / "ranking/x/v1/a.pdf").resolve()


def test_a_failed_write_leaves_no_file_and_no_row(db, tmp_path) -> None:
    out = tmp_path / "documents"
    with pytest.raises(TypeError), db.transaction() as session:
        store.record(session, out, kind="statistics", key="P25/2026", title="t", filename="f", content_hash="c",
                     sources={}, files={"docx": b"PK", "pdf": None}, now=NOW)  # the second file cannot be written
    assert files_under(out) == []
    with db.transaction() as session:
        assert session.query(DocumentFile).count() == 0


class FakeSources:
    """scoring and dossiers as the builder sees them, with a call log."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.stats = {"2025": stats_row("H44.07", "Sở Công Thương", period="2025"),
                      "2026": stats_row("H44.07", "Sở Công Thương", period="2026")}
        self.units_list = [{"code": "P25", "name": "UBND tỉnh Phú Thọ", "kind": "province"},
                           {"code": "H44.07", "name": "Sở Công Thương", "kind": "department"}]

    def ranking(self, set_id):
        self.calls.append(("ranking", set_id))
        if set_id != "department-2026":
            raise NotFound(f"set_id: no criteria set {set_id!r}")
        return sample_ranking(4, set_id=set_id, unit_kind="department")

    def unit_index(self, set_id, unit_code):
        return "91.50" if (set_id, unit_code) == ("department-2026", "H44.07") else None

    def plan(self, unit_code, year):
        return {"total": 4, "done_pct": "75.00"} if year == 2025 else {"total": 0, "done_pct": "0.00"}

    def units(self):
        return self.units_list

    def period_stats(self, unit_code, period, include_children=False):
        self.calls.append(("period_stats", unit_code, period))
        if unit_code not in {u["code"] for u in self.units_list}:
            raise NotFound(f"unit_code: no unit {unit_code!r}")
        if period not in self.stats:
            raise BadRequest(f"period: {period!r} is not a period")
        return [self.stats[period]] if include_children else self.stats[period]


def fast_render(document, fmt) -> bytes:
    return f"{fmt}:{document.kind}:{document.title}".encode()


@pytest.fixture
def builder(db, tmp_path):
    settings = load_settings({"reports": {"output_dir": str(tmp_path / "documents")}})
    return Builder(db, FakeSources(), settings, now=lambda: NOW, renderer=fast_render)


def built_count(kind: str, fmt: str) -> float:
    return REGISTRY.get_sample_value("cchc_documents_built_total",
                                     {"service": "reports", "kind": kind, "format": fmt}) or 0.0


def test_ranking_builds_once_per_ranking_version(builder) -> None:
    before = built_count("ranking", "pdf")
    result = builder.ranking("department-2026")
    assert result["built"] and result["version"] == 1 and [f["format"] for f in result["files"]] == [
        "docx", "pdf", "xlsx"]
    assert built_count("ranking", "pdf") == before + 1
    assert REGISTRY.get_sample_value("cchc_documents_ranking_version",
                                     {"service": "reports", "set_id": "department-2026"}) == 5
    again = builder.ranking(["department-2026"], formats=["pdf"])
    assert not again["built"] and again["files"][0]["id"] == result["files"][1]["id"]
    # ranking_updated for the version already built, or an older one: nothing due; newer ones: one build
    event = {"set_id": "department-2026", "year": 2026, "unit_kind": "department"}
    for version in (4, 5):
        builder.on_ranking_updated(event | {"version": version})
    assert builder.build_pending() == []
    builder.sources.ranking = lambda set_id: sample_ranking(4, set_id=set_id, unit_kind="department") | {"version": 7}
    for version in (6, 7, 6):  # a burst, out of order
        builder.on_ranking_updated(event | {"version": version})
    [rebuilt] = builder.build_pending()
    assert rebuilt["built"] and rebuilt["version"] == 2 and rebuilt["files"][0]["sources"] == {
        "ranking_versions": {"department-2026": 7}}
    assert builder.build_pending() == []
    gauge = {"service": "reports", "set_id": "department-2026"}
    ranking_version.labels("reports", "department-2026").set(0)  # as after a restart: gauge and memory fresh
    builder_module._reported_versions.clear()
    builder.build_pending()
    assert REGISTRY.get_sample_value("cchc_documents_ranking_version", gauge) == 7  # from the database
    # a set announced with no unit in its ranking yet: nothing built, not retried at every tick
    builder.on_ranking_updated({"set_id": "empty-2026", "year": 2026, "unit_kind": "commune", "version": 1})
    builder.sources.ranking = lambda set_id: sample_ranking(0, set_id=set_id)
    assert builder.build_pending() == [] and builder.build_pending() == []


def test_commitment_targets_are_kept_then_met_or_not(builder, db) -> None:
    builder._remember_sets([sample_ranking(1, set_id="department-2026", unit_kind="department")])
    first = builder.commitment("H44.07", 2026, apologies={"last_year": Decimal(90)})
    targets = {t["id"]: t for t in first["files"][0]["sources"]["targets"]}
    assert targets["on_time_rate"] == {"id": "on_time_rate", "last_year": "86.51", "goal": "98", "target": "98"}
    assert targets["plan_completion"]["last_year"] == "75.00" and targets["par_index"]["last_year"] is None
    assert targets["apologies_on_time"] == {"id": "apologies_on_time", "last_year": "90", "goal": "100",
                                            "target": "100"}
    builder.sources.stats["2025"] = stats_row("H44.07", "Sở Công Thương", 2, period="2025") | {"on_time_rate": "99"}
    result = builder.commitment("H44.07", 2026, with_results=True)
    kept = {t["id"]: t for t in result["files"][0]["sources"]["targets"]}
    assert kept == targets  # what was signed, not a new proposal from changed figures
    assert result["kind"] == "commitment_result" and result["key"] == "H44.07/2026"
    with db.transaction() as session:
        assert session.query(CommitmentTargets).count() == 1


def test_bad_requests_build_nothing(builder, tmp_path) -> None:
    for call, error in [
        (lambda: builder.ranking("no-such-set"), NotFound),
        (lambda: builder.ranking([]), BadRequest),
        (lambda: builder.commitment("NO-SUCH", 2026), NotFound),
        (lambda: builder.commitment("P25", 2026), NotFound),  # the province commits to nobody
        (lambda: builder.commitment("H44.07", 1999), BadRequest),
        (lambda: builder.commitment("H44.07", "2026"), BadRequest),
        (lambda: builder.statistics("H44.07", "2026-13"), BadRequest),
        (lambda: builder.statistics("H44.07", ""), BadRequest),
        (lambda: builder.statistics("NO-SUCH", "2026"), NotFound),
        (lambda: builder.statistics("H44.07", "2026", formats=["odt"]), BadRequest),
    ]:
        with pytest.raises(error):
            call()
    assert files_under(tmp_path / "documents") == []
    assert ("period_stats", "H44.07", "2026") not in builder.sources.calls  # formats refused before asking


def test_real_renderer_writes_what_it_says(db, tmp_path) -> None:
    settings = load_settings({"reports": {"output_dir": str(tmp_path / "documents"), "formats": ["xlsx"]}})
    builder = Builder(db, FakeSources(), settings, now=lambda: NOW, renderer=render)
    result = builder.statistics("H44.07", "2026")
    [file] = result["files"]
    data = Path(file["path"]).read_bytes()
    assert data[:2] == b"PK" and file["size"] == len(data) and file["sha256"] == hashlib.sha256(data).hexdigest()
    assert file["filename"] == "thong-ke-mot-cua-H44.07-2026.xlsx"


def test_the_service_module_holds_one_service() -> None:
    [service] = import_service("services.reports.service")
    assert service.name == "reports"

"""Keeping documents (services/reports/store.py: rows, and their bytes in the database through shared/blobs.py)
and the build steps around it (builder.py), on SQLite and PostgreSQL with the service's migrations, with figures
from a fake of the scoring and dossiers services; the download links; the remote errors it recognises."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
from decimal import Decimal

import pytest
import sqlalchemy as sa
from nameko.cli.run import import_service
from nameko.exceptions import RemoteError, deserialize, get_module_path
from prometheus_client import REGISTRY

from services.reports import builder as builder_module
from services.reports import errors, links, store
from services.reports.builder import Builder
from services.reports.errors import BadRequest, NotFound
from services.reports.formats import render
from services.reports.metrics import ranking_version
from services.reports.models import CommitmentTargets, DocumentFile, blobs
from services.reports.settings import load_settings
from services.reports.sources import Sources
from shared import config as config_module
from shared.blobs import BlobCorrupted, BlobTooLarge
from shared.config import load_config
from shared.db import open_database
from tests.reports_samples import sample_ranking, stats_row
from tests.support import PG_URL, pg_schema_prefix

NOW = dt.datetime(2026, 12, 20, 3, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    """The reports service's database, migrated: SQLite (the embedded default) and a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield open_database(load_config(DATABASE_URL=f"sqlite:///{tmp_path}/<service>.db"), "reports")
        return
    request.applymarker(pytest.mark.integration)
    with pg_schema_prefix() as schema:
        database = open_database(load_config(DATABASE_URL=PG_URL, DATABASE_SCHEMA=schema), "reports")
        yield database
        database.engine.dispose()


def blob_count(db) -> int:
    with db.transaction() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(blobs))


def test_versions_checksums_tokens_and_content_in_the_database(db) -> None:
    kept = store.blob_store(1000)
    kw = {"kind": "ranking", "key": "commune-2026", "title": "Chỉ số CCHC", "filename": "chi-so-cchc",
          "sources": {"ranking_versions": {"commune-2026": 3}}, "now": NOW}
    with db.transaction() as session:
        first, created = store.record(session, kept, content_hash="a", files={"pdf": b"%PDF-1", "xlsx": b"PK1"}, **kw)
    assert created and [(f.version, f.format, f.filename) for f in first] == [(1, "pdf", "chi-so-cchc.pdf"),
                                                                             (1, "xlsx", "chi-so-cchc.xlsx")]
    assert first[0].sha256 == hashlib.sha256(b"%PDF-1").hexdigest() and first[0].size == 6
    with db.transaction() as session:  # the same content again: nothing new
        again, created = store.record(session, kept, content_hash="a", files={"pdf": b"%PDF-1b"}, **kw)
    assert not created and again[0].id == first[0].id
    with db.transaction() as session:
        second, created = store.record(session, kept, content_hash="b", files={"pdf": b"%PDF-2"}, **kw)
        forced, _ = store.record(session, kept, content_hash="b", files={"pdf": b"%PDF-2"}, force=True, **kw)
    assert (second[0].version, forced[0].version) == (2, 3)
    assert blob_count(db) == 3  # %PDF-1, PK1, %PDF-2: a forced rebuild with the same bytes shares them
    with db.transaction() as session:
        latest = store.list_files(session, kind="ranking")
        every = store.list_files(session, kind="ranking", latest_only=False)
        # earlier versions stay
        assert store.content(session, kept, store.file_by_id(session, first[0].id)) == b"%PDF-1"
        assert store.content(session, kept, store.file_by_id(session, forced[0].id)) == b"%PDF-2"
        for unknown in (999, 0, -1, 2**31, 10**20, "1", True, None, 1.0):
            with pytest.raises(NotFound, match="document_id"):
                store.file_by_id(session, unknown)
    assert [f.version for f in latest] == [3] and len(every) == 4


def test_downloads_need_the_token_in_a_header_or_an_unexpired_signed_link(db) -> None:
    kept = store.blob_store(1000)
    with db.transaction() as session:
        [file], _ = store.record(session, kept, kind="statistics", key="P25/2026", title="t", filename="f",
                                 content_hash="c", sources={}, files={"xlsx": b"PK"}, now=NOW)
    now = NOW.timestamp()
    expires = int(now) + 60
    path = links.signed_path(file.id, file.token, expires)
    query = dict(part.split("=") for part in path.split("?")[1].split("&"))
    assert path.startswith(f"/documents/{file.id}?") and file.token not in path
    allowed = [{"bearer": file.token}, {"expires": query["expires"], "signature": query["signature"]}]
    refused = [{}, {"bearer": file.token[:-1]}, {"bearer": "x"}, {"expires": query["expires"]},
               {"expires": str(expires + 1), "signature": query["signature"]},  # another expiry: another signature
               {"expires": query["expires"],  # the last character changed (a "0" into a "1", anything else into "0")
                "signature": query["signature"][:-1] + ("1" if query["signature"].endswith("0") else "0")},
               {"expires": "-5", "signature": query["signature"]}, {"expires": "1" * 40, "signature": "ab"}]
    with db.transaction() as session:
        for given in allowed:
            args = {"bearer": "", "expires": "", "signature": ""} | given
            assert store.file_for_download(session, file.id, now=now, **args).sha256 == file.sha256
        for given in refused:
            args = {"bearer": "", "expires": "", "signature": ""} | given
            with pytest.raises(NotFound):
                store.file_for_download(session, file.id, now=now, **args)
        with pytest.raises(NotFound):  # the link after its expiry
            store.file_for_download(session, file.id, bearer="", expires=query["expires"],
                                    signature=query["signature"], now=expires + 1)
        with pytest.raises(NotFound):  # a valid token for another document
            store.file_for_download(session, file.id + 1, bearer=file.token, expires="", signature="", now=now)
    assert links.bearer_token({"Authorization": f"Bearer {file.token}"}) == file.token
    assert links.bearer_token({"Authorization": f"bearer  {file.token} "}) == file.token
    assert links.bearer_token({"Authorization": f"Basic {file.token}"}) == ""
    assert links.bearer_token({}) == ""


def test_a_file_above_the_limit_or_unwritable_stores_nothing(db) -> None:
    kw = {"kind": "statistics", "key": "P25/2026", "title": "t", "filename": "f", "content_hash": "c",
          "sources": {}, "now": NOW}
    with pytest.raises(BlobTooLarge, match=r"documents\.pdf: 11 bytes is above the limit of 10 bytes"), \
            db.transaction() as session:
        store.record(session, store.blob_store(10), files={"docx": b"PK", "pdf": b"%PDF-123456"}, **kw)
    with pytest.raises(TypeError), db.transaction() as session:
        store.record(session, store.blob_store(10), files={"docx": b"PK", "pdf": None}, **kw)
    with db.transaction() as session:
        assert session.query(DocumentFile).count() == 0
    assert blob_count(db) == 0


def test_content_that_no_longer_matches_its_address_is_never_served(db) -> None:
    kept = store.blob_store(1000)
    with db.transaction() as session:
        [file], _ = store.record(session, kept, kind="statistics", key="P25/2026", title="t", filename="f",
                                 content_hash="c", sources={}, files={"xlsx": b"PK-original"}, now=NOW)
    with db.transaction() as session:
        session.execute(blobs.update().where(blobs.c.sha256 == file.sha256).values(content=b"PK-tampered"))
    with db.transaction() as session, pytest.raises(BlobCorrupted):
        store.content(session, kept, file)
    with db.transaction() as session:  # a row whose content was never kept here: NotFound, and rebuilt on request
        session.execute(blobs.delete())
    with db.transaction() as session:
        with pytest.raises(NotFound, match="no longer stored"):
            store.content(session, kept, file)
        assert store.current_files(session, kept, "statistics", "P25/2026", "c", ["xlsx"]) is None


def test_remote_errors_are_recognised_by_the_path_of_the_exception_raised() -> None:
    """Each registered path names a class that exists there (a service moving its exception fails here), and a
    remote error arrives as this service's error with the remote message; other callers still see a RemoteError."""
    for path in (*errors.REMOTE_NOT_FOUND, *errors.REMOTE_BAD_REQUEST):
        module, _, name = path.rpartition(".")
        cls = getattr(importlib.import_module(module), name)
        assert issubclass(cls, Exception) and get_module_path(cls) == path
    remote = deserialize({"exc_path": "services.dossiers.reads.NotFound", "exc_type": "NotFound",
                          "value": "unit_code: no unit 'X'", "exc_args": ["unit_code: no unit 'X'"]})
    assert isinstance(remote, RemoteError) and isinstance(remote, NotFound) and remote.exc_type == "NotFound"

    class Raising:
        def __init__(self, data):
            self.data = data

        def __getattr__(self, method):
            def call(*args):
                raise deserialize(self.data)
            return call

    period = {"exc_path": "services.dossiers.periods.PeriodError", "exc_type": "PeriodError",
              "value": "period '2026-13': month must be 01–12", "exc_args": ["period '2026-13': month must be 01–12"]}
    with pytest.raises(BadRequest) as bad:
        Sources(None, Raising(period)).period_stats("H44.07", "2026-13")
    assert type(bad.value) is BadRequest and str(bad.value) == "period '2026-13': month must be 01–12"
    other = {"exc_path": "services.elsewhere.NotFound", "exc_type": "NotFound", "value": "x", "exc_args": ["x"]}
    with pytest.raises(RemoteError) as unknown:  # the same name from a path nobody registered: not ours
        Sources(Raising(other), None).ranking("s")
    assert not isinstance(unknown.value, NotFound)


def test_reports_settings_hold_no_defaults_of_their_own(monkeypatch) -> None:
    """shared/config.yaml is the only home of the defaults: a key missing there is an error, not a code default."""
    settings = load_settings({})
    packaged = config_module.defaults()["reports"]
    assert settings.ranking_build_interval_seconds == packaged["ranking_build_interval_seconds"]
    assert settings.formats == tuple(packaged["formats"]) and settings.ranking == packaged["ranking"]
    without = config_module.defaults()
    del without["reports"]["ranking_build_interval_seconds"]
    monkeypatch.setattr(config_module, "_frozen_defaults", lambda: without)
    with pytest.raises(KeyError):
        load_settings({})
    assert load_settings({"reports": {"ranking_build_interval_seconds": 7}}).ranking_build_interval_seconds == 7
    for bad, message in [({"max_document_bytes": 0}, "reports.max_document_bytes: 0 must be above 0"),
                         ({"download_link_seconds": "soon"}, "reports.download_link_seconds: 'soon' is not a whole")]:
        with pytest.raises(ValueError, match=message):
            load_settings({"reports": {"ranking_build_interval_seconds": 1, **bad}})


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
def builder(db):
    return Builder(db, FakeSources(), load_settings({}), now=lambda: NOW, renderer=fast_render)


def built_count(kind: str, fmt: str) -> float:
    return REGISTRY.get_sample_value("cchc_documents_built_total",
                                     {"service": "reports", "kind": kind, "format": fmt}) or 0.0


def test_ranking_builds_once_per_ranking_version(builder) -> None:
    builder_module._reported_versions.clear()  # the gauge's memory is the process's: start as a fresh process
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


def test_bad_requests_build_nothing(builder, db) -> None:
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
    with db.transaction() as session:
        assert session.query(DocumentFile).count() == 0
    assert blob_count(db) == 0
    assert ("period_stats", "H44.07", "2026") not in builder.sources.calls  # formats refused before asking


def test_real_renderer_writes_what_it_says(db) -> None:
    settings = load_settings({"reports": {"formats": ["xlsx"]}})
    builder = Builder(db, FakeSources(), settings, now=lambda: NOW, renderer=render)
    result = builder.statistics("H44.07", "2026")
    [file] = result["files"]
    with db.transaction() as session:
        kept = store.blob_store(settings.max_document_bytes)
        data = store.content(session, kept, store.file_by_id(session, file["id"]))
    assert data[:2] == b"PK" and file["size"] == len(data) and file["sha256"] == hashlib.sha256(data).hexdigest()
    assert file["filename"] == "thong-ke-mot-cua-H44.07-2026.xlsx"


def test_the_service_module_holds_one_service() -> None:
    [service] = import_service("services.reports.service")
    assert service.name == "reports"

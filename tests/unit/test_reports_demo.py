"""``write_demo_documents``: which documents the demo asks the reports service for, and where they end up."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from services.reports.demo import write_demo_documents


class FakeReports:
    """The reports service's RPC answers, with files kept in its own folder."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.calls: list[tuple] = []

    def _result(self, stem: str, formats) -> dict:
        files = []
        for fmt in formats or ("docx", "pdf"):
            path = self.store / stem / f"{stem}.{fmt}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f"{stem}.{fmt}".encode())
            files.append({"path": str(path), "format": fmt})
        return {"files": files}

    def build_ranking(self, set_ids, formats=None):
        self.calls.append(("ranking", tuple(set_ids)))
        return self._result("chi-so-cchc-" + "-".join(set_ids), formats)

    def build_commitment(self, unit_code, year, formats=None):
        self.calls.append(("commitment", unit_code, year))
        return self._result(f"cam-ket-cchc-{unit_code}-{year}", formats)

    def build_statistics(self, unit_code, period, formats=None):
        self.calls.append(("statistics", unit_code, period))
        return self._result(f"thong-ke-mot-cua-{unit_code}-{period}", formats)


UNITS = [
    {"code": "P25", "name": "UBND tỉnh Phú Thọ", "kind": "province", "valid_from": None, "valid_to": None},
    {"code": "H44.07", "name": "Sở Công Thương", "kind": "department", "valid_from": "2025-07-01", "valid_to": None},
    {"code": "07900", "name": "Phường Việt Trì", "kind": "commune", "valid_from": "2025-07-01", "valid_to": None},
    {"code": "D227", "name": "Thành phố Việt Trì", "kind": "district", "valid_from": None, "valid_to": "2025-06-30"},
]


def fake_rpc(store: Path) -> SimpleNamespace:
    kinds = {"department-2026": "department", "commune-2026": "commune"}
    return SimpleNamespace(reports=FakeReports(store),
                           scoring=SimpleNamespace(ranking=lambda set_id: {"unit_kind": kinds[set_id]}),
                           dossiers=SimpleNamespace(units=lambda: UNITS))


def test_ranking_every_evaluated_units_commitment_and_the_province_statistics(tmp_path) -> None:
    rpc = fake_rpc(tmp_path / "service")
    paths = write_demo_documents(rpc, ["department-2026", "commune-2026"], 2026, "2026-H2", tmp_path / "out")
    assert rpc.reports.calls == [("ranking", ("department-2026", "commune-2026")), ("commitment", "07900", 2026),
                                 ("commitment", "H44.07", 2026), ("statistics", "P25", "2026-H2")]
    relative = [p.relative_to(tmp_path / "out").as_posix() for p in paths]
    assert relative == [
        "chi-so-cchc-department-2026-commune-2026.docx", "chi-so-cchc-department-2026-commune-2026.pdf",
        "cam-ket/cam-ket-cchc-07900-2026.docx", "cam-ket/cam-ket-cchc-07900-2026.pdf",
        "cam-ket/cam-ket-cchc-H44.07-2026.docx", "cam-ket/cam-ket-cchc-H44.07-2026.pdf",
        "thong-ke-mot-cua-P25-2026-H2.docx", "thong-ke-mot-cua-P25-2026-H2.pdf",
    ]
    assert all(p.read_bytes() == p.name.encode() for p in paths)


def test_files_already_in_the_output_folder_stay_where_they_are(tmp_path) -> None:
    rpc = fake_rpc(tmp_path / "out" / "store")  # reports.output_dir inside the demo's folder
    paths = write_demo_documents(rpc, ["department-2026"], 2024, "2024", tmp_path / "out", formats=["pdf"])
    assert [p.name for p in paths] == ["chi-so-cchc-department-2026.pdf", "thong-ke-mot-cua-P25-2024.pdf"]
    assert all(p.is_relative_to(tmp_path / "out" / "store") for p in paths)  # no copies; no unit valid in 2024

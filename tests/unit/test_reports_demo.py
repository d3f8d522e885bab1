"""``write_demo_documents``: which documents the demo asks the reports service for, and where they end up."""

from __future__ import annotations

import base64
import hashlib
from types import SimpleNamespace

import pytest

from services.reports.demo import write_demo_documents


class FakeReports:
    """The reports service's RPC answers, with the files' content kept by id (as in its database)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.kept: dict[int, tuple[str, bytes]] = {}

    def _result(self, stem: str, formats) -> dict:
        files = []
        for fmt in formats or ("docx", "pdf"):
            file_id = len(self.kept) + 1
            self.kept[file_id] = (f"{stem}.{fmt}", f"{stem}.{fmt}".encode())
            files.append({"id": file_id, "format": fmt})
        return {"files": files}

    def document_file(self, document_id):
        filename, data = self.kept[document_id]
        return {"filename": filename, "media_type": "application/octet-stream", "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(), "content_b64": base64.b64encode(data).decode()}

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


def fake_rpc() -> SimpleNamespace:
    kinds = {"department-2026": "department", "commune-2026": "commune"}
    return SimpleNamespace(reports=FakeReports(),
                           scoring=SimpleNamespace(ranking=lambda set_id: {"unit_kind": kinds[set_id]}),
                           dossiers=SimpleNamespace(units=lambda: UNITS))


def test_ranking_every_evaluated_units_commitment_and_the_province_statistics(tmp_path) -> None:
    rpc = fake_rpc()
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


def test_a_file_whose_content_does_not_match_its_sha256_is_refused(tmp_path) -> None:
    rpc = fake_rpc()
    original = rpc.reports.document_file
    rpc.reports.document_file = lambda document_id: original(document_id) | {"sha256": "0" * 64}
    with pytest.raises(ValueError, match="does not match its sha256"):
        write_demo_documents(rpc, ["department-2026"], 2024, "2024", tmp_path / "out", formats=["pdf"])

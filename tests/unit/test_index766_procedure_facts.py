"""The procedure-facts import: CSV and XLSX in the export's or our template's headings, every bad row named with
its row and reason, unknown procedures listed, and nothing imported unless told to skip."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import pytest
from openpyxl import Workbook

from services.dossiers.catalogue import Catalogue
from services.dossiers.index766.procedure_facts import FactsError, plan_import, read_rows
from services.dossiers.units import UnitTree

SAMPLE = Path(__file__).resolve().parents[2] / "services/dossiers/index766/data/procedure_facts_sample.csv"
TREE = UnitTree.for_province(25)
CATALOGUE = Catalogue.load()


def sample_rows() -> list[list[str]]:
    return list(csv.reader(io.StringIO(SAMPLE.read_text(encoding="utf-8"))))


def as_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def as_xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_the_sample_file_imports_whole():
    plan = plan_import(SAMPLE.read_bytes(), SAMPLE.name, TREE, CATALOGUE)
    assert plan.accepted and not plan.errors and not plan.unknown
    assert len(plan.facts) == len(sample_rows()) - 1
    by_code = {f.procedure_code: f for f in plan.facts}
    assert by_code["2.002127.H44"].agency_code == "H44.43"  # "Sở Tài chính", matched by name
    assert by_code["2.000815.H44"].e_certified_copy is True
    assert by_code["1.000894.H44"].published_on_time is False and by_code["1.000894.H44"].online_level == "partial"
    assert by_code["1.000656.H44"].published_in_period is None  # empty = not stated


def test_xlsx_with_english_columns_and_native_cells_reads_the_same():
    rows = sample_rows()
    english = ["procedure_code", "level", "agency_code", "online_level", "published_in_period", "published_on_time",
               "public_update_due", "public_update_on_time", "public_content_complete", "fee_bearing",
               "citizen_subject", "e_certified_copy"]
    cells: list[list[object]] = [english]
    for row in rows[1:]:
        cells.append(row[:4] + [{"có": True, "không": False}.get(value, value) for value in row[4:]])
    from_xlsx = plan_import(as_xlsx(cells), "facts.xlsx", TREE, CATALOGUE)
    from_csv = plan_import(SAMPLE.read_bytes(), "facts.csv", TREE, CATALOGUE)
    assert from_xlsx.accepted and from_xlsx.facts == from_csv.facts


def test_every_bad_row_is_named_and_nothing_is_imported():
    rows = sample_rows()
    rows[2][3] = "hai phần"  # online level
    rows[4][9] = "có lẽ"  # fee
    rows[5][2] = "Sở Không Tồn Tại"  # agency
    rows[6][0] = ""  # code
    rows[7][5] = "có"  # on time without being published in the period
    rows.append(rows[1][:])  # a repeated procedure
    plan = plan_import(as_csv(rows), "facts.csv", TREE, CATALOGUE)
    assert not plan.accepted and plan.facts == [] and "cannot be read" in plan.refused_because
    assert [(e.row, e.column) for e in plan.errors] == [
        (3, "online_level"), (5, "fee_bearing"), (6, "agency_code"), (7, "procedure_code"),
        (8, "published_on_time"), (15, "procedure_code")]
    assert "'hai phần' is not toàn trình" in plan.errors[0].reason
    assert "already given on row 2" in plan.errors[-1].reason
    skipped = plan_import(as_csv(rows), "facts.csv", TREE, CATALOGUE, skip_invalid=True)
    assert skipped.accepted and len(skipped.facts) == len(sample_rows()) - 1 - 5
    assert skipped.summary()["rows_imported"] == len(skipped.facts) and len(skipped.summary()["errors"]) == 6


def test_unknown_procedures_are_listed_and_nothing_is_imported_unless_skipped():
    rows = sample_rows()
    rows.append(["9.999999.H44", "cấp xã", "", "toàn trình", "", "", "", "", "có", "không", "có", ""])
    rows.append(["1.000001.000.00.00.H44", "cấp tỉnh", "", "", "", "", "", "", "", "", "", ""])
    plan = plan_import(as_csv(rows), "facts.csv", TREE, CATALOGUE)
    assert not plan.accepted and plan.unknown == [(15, "9.999999.H44"), (16, "1.000001.000.00.00.H44")]
    assert plan.summary()["unknown_procedures"][0] == {"row": 15, "procedure_code": "9.999999.H44"}
    skipped = plan_import(as_csv(rows), "facts.csv", TREE, CATALOGUE, skip_unknown=True)
    assert skipped.accepted and "9.999999.H44" not in {f.procedure_code for f in skipped.facts}


def test_procedures_are_stored_under_the_catalogues_own_code():
    """Any catalogue answering get(code) decides what is known, e.g. one that reads long national codes."""

    @dataclass
    class Found:
        code: str
        level: str

    class LongCodes:
        def get(self, code: str) -> Found | None:
            short = code.replace(".000.00.00", "")
            return Found(short, "commune") if CATALOGUE.get(short) else None

    rows = [["Mã TTHC", "Mức độ DVCTT"], ["1.000894.000.00.00.H44", "toàn trình"]]
    plan = plan_import(as_csv(rows), "facts.csv", TREE, LongCodes())
    assert plan.accepted and plan.facts[0].procedure_code == "1.000894.H44" and plan.facts[0].level == "commune"


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty"),
    ("Mã TTHC,Màu sắc\n1.000894.H44,đỏ\n".encode(), "unknown column 'Màu sắc'"),
    ("Cấp thực hiện\ncấp xã\n".encode(), "missing column procedure_code"),
    ("Mã TTHC,procedure_code\n1,2\n".encode(), "appears twice"),
    (b"\xff\xfe\x00bad", "not UTF-8"),
])
def test_unreadable_files_are_refused_whole(content, message):
    with pytest.raises(FactsError, match=message):
        read_rows(content, "facts.csv", TREE)


def test_a_file_that_is_not_a_workbook_is_refused():
    with pytest.raises(FactsError, match="not a readable XLSX"):
        read_rows(b"PK not really", "facts.xlsx", TREE)

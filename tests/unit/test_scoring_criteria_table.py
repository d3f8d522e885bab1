"""A province's criteria table (XLSX: STT / lĩnh vực / tiêu chí / tiêu chí thành phần / điểm tối đa / phương pháp
chấm / tài liệu kiểm chứng) read into the YAML model: the shipped examples round-trip, and bad tables are refused
with criteria.py's messages naming the sheet and row."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest

from services.scoring.criteria import DATA_DIR, CriteriaSetError, load_criteria_set
from services.scoring.criteria_table import (
    HEADINGS,
    CriteriaTableError,
    criteria_set_to_xlsx,
    read_criteria_xlsx,
)


@pytest.mark.parametrize("name", ["department-2026", "commune-2026", "district-2024"])
def test_every_shipped_set_round_trips_through_the_table(name: str) -> None:
    cs = load_criteria_set(DATA_DIR / f"{name}.yaml")
    assert read_criteria_xlsx(criteria_set_to_xlsx(cs), f"{name}.xlsx", version=cs.version) == cs


@pytest.mark.parametrize("name", ["department-2026", "commune-2026"])
def test_the_shipped_example_tables_are_the_example_sets(name: str) -> None:
    path = DATA_DIR / f"{name}.xlsx"
    cs = load_criteria_set(DATA_DIR / f"{name}.yaml")
    assert read_criteria_xlsx(path.read_bytes(), path.name, version=cs.version) == cs
    sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    assert tuple(next(sheet.iter_rows(values_only=True))) == HEADINGS


def _edit(name: str, row: int, column: int, value: object) -> bytes:
    cs = load_criteria_set(DATA_DIR / f"{name}.yaml")
    book = openpyxl.load_workbook(io.BytesIO(criteria_set_to_xlsx(cs)))
    book.worksheets[0].cell(row=row, column=column, value=value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_three_decimal_table_point_is_refused_in_a_two_decimal_set_naming_the_path() -> None:
    content = _edit("department-2026", 3, 5, "2,125")  # criterion 1.1's maximum
    with pytest.raises(CriteriaSetError, match=r"t\.xlsx: areas\[0\]\.criteria\[0\]\.max_points: points carry at "
                                                r"most 2 decimals, got 2\.125"):
        read_criteria_xlsx(content, "t.xlsx")


def test_sub_criteria_that_do_not_add_up_are_refused_with_the_existing_message() -> None:
    content = _edit("department-2026", 4, 5, "1")  # leaf 1.1.1: 0.5 → 1
    with pytest.raises(CriteriaSetError, match=r"sub-criteria add up to 2\.5, but criterion 1\.1 has max 2"):
        read_criteria_xlsx(content, "t.xlsx")


def test_an_unknown_method_names_the_sheet_and_row() -> None:
    content = _edit("department-2026", 4, 6, "Chấm theo cảm nhận")
    with pytest.raises(CriteriaSetError,
                       match=r"t\.xlsx: Bộ tiêu chí!F4 \(Phương pháp chấm\): không rõ Phương pháp chấm 'Chấm theo"):
        read_criteria_xlsx(content, "t.xlsx")


def test_a_row_with_two_levels_filled_names_the_row() -> None:
    content = _edit("department-2026", 4, 3, "Tiêu chí thừa")
    with pytest.raises(CriteriaSetError, match=r"Bộ tiêu chí!B4 \(Lĩnh vực\): ghi đúng một trong"):
        read_criteria_xlsx(content, "t.xlsx")


def test_every_bad_cell_is_listed_not_only_the_first() -> None:
    cs = load_criteria_set(DATA_DIR / "department-2026.yaml")
    book = openpyxl.load_workbook(io.BytesIO(criteria_set_to_xlsx(cs)))
    sheet = book.worksheets[0]
    sheet.cell(row=5, column=5, value="abc")
    sheet.cell(row=6, column=5, value="x,y")
    sheet.cell(row=6, column=6, value="Chấm theo cảm nhận")
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(CriteriaTableError) as caught:
        read_criteria_xlsx(buffer.getvalue(), "t.xlsx")
    assert [(e["cell"], e["column"]) for e in caught.value.errors] == [
        ("Bộ tiêu chí!E5", "Điểm tối đa"), ("Bộ tiêu chí!E6", "Điểm tối đa"), ("Bộ tiêu chí!F6", "Phương pháp chấm")]
    assert "'abc' không phải là số" in caught.value.errors[0]["reason"]


def test_cli_lists_every_bad_cell(tmp_path: Path, capsys, monkeypatch) -> None:
    from cchc.cli import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/<service>.db")
    cs = load_criteria_set(DATA_DIR / "department-2026.yaml")
    book = openpyxl.load_workbook(io.BytesIO(criteria_set_to_xlsx(cs)))
    book.worksheets[0].cell(row=5, column=5, value="abc")
    book.worksheets[0].cell(row=7, column=5, value="def")
    table = tmp_path / "bang.xlsx"
    book.save(table)
    assert main(["scoring", "import-table", str(table)]) == 1
    out = capsys.readouterr().out
    assert "Bộ tiêu chí!E5 (Điểm tối đa): 'abc' không phải là số" in out
    assert "Bộ tiêu chí!E7 (Điểm tối đa): 'def' không phải là số" in out


def test_not_a_workbook_is_refused() -> None:
    with pytest.raises(CriteriaSetError, match="not an XLSX workbook"):
        read_criteria_xlsx(b"STT,Linh vuc\n", "t.xlsx")


def test_cli_previews_then_publishes_the_table_as_the_next_version(tmp_path: Path, capsys, monkeypatch) -> None:
    from cchc.cli import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/<service>.db")
    table = tmp_path / "bang.xlsx"
    assert main(["scoring", "example-table", str(DATA_DIR / "department-2026.yaml"), str(table)]) == 0
    assert main(["scoring", "import-table", str(table)]) == 0
    out = capsys.readouterr().out
    assert "phiên bản 1" in out and "Xem trước" in out
    assert main(["scoring", "import-table", str(table), "--publish"]) == 0
    assert "Đã công bố" in capsys.readouterr().out
    assert main(["scoring", "import-table", str(table), "--publish"]) == 0  # the same table again: nothing new
    assert "giống hệt phiên bản đang dùng" in capsys.readouterr().out
    book = openpyxl.load_workbook(table)
    book.worksheets[0].cell(row=4, column=4, value="Ban hành kế hoạch CCHC năm đúng hạn")
    book.save(table)
    assert main(["scoring", "import-table", str(table), "--publish"]) == 0
    out = capsys.readouterr().out
    assert "phiên bản 2" in out and "sửa: 1.1.1" in out and "Đã công bố" in out

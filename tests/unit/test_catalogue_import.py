"""Reading a province's catalogue as published (CSV and XLSX), and reporting exactly the rows that cannot be read."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from services.dossiers.catalogue import Catalogue, procedure_key
from services.dossiers.catalogue_import import (
    CatalogueFileError,
    check_table,
    error_lines,
    read_table,
    table_from_rows,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "services" / "dossiers" / "data" / "catalogue" / "phu_tho_tthc_sample"
MALFORMED = ROOT / "tests" / "data" / "catalogue_malformed"
EXPECTED = json.loads((ROOT / "tests" / "data" / "catalogue_malformed.expected.json").read_text(encoding="utf-8"))
HEADER = ["Mã thủ tục", "Tên thủ tục", "Lĩnh vực", "Cấp thực hiện", "Cơ quan thực hiện", "Thời hạn giải quyết"]


@pytest.fixture(scope="module")
def sample() -> dict[str, object]:
    return {suffix: check_table(read_table(SAMPLE.with_suffix(f".{suffix}"))) for suffix in ("csv", "xlsx")}


def test_the_sample_catalogue_reads_whole_in_both_formats(sample) -> None:
    csv_check, xlsx_check = sample["csv"], sample["xlsx"]
    assert csv_check.errors == [] and xlsx_check.errors == []
    assert len(csv_check.procedures) == 1500
    assert csv_check.procedures == xlsx_check.procedures  # the same catalogue, whichever format the office sends
    units = {p.time_unit for p in csv_check.procedures}
    assert units == {"working_days", "calendar_days", "working_hours", "none"}
    assert {p.level for p in csv_check.procedures} == {"province", "commune"}
    assert sum(p.reduced for p in csv_check.procedures) > 50  # provinces cut times: "(cắt giảm 30%)"
    assert all(p.agency for p in csv_check.procedures)


def test_the_sample_holds_every_packaged_procedure_with_the_same_time(sample) -> None:
    imported = Catalogue(sample["csv"].procedures)
    for packaged in Catalogue.load():
        found = imported.get(packaged.code)
        assert found is not None, packaged.code
        assert (found.processing_amount, found.time_unit, found.cutoff) == (
            packaged.processing_amount, packaged.time_unit, packaged.cutoff), packaged.code


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_an_import_of_the_malformed_twin_reports_exactly_the_broken_rows(suffix: str) -> None:
    table = read_table(MALFORMED.with_suffix(f".{suffix}"))
    check = check_table(table)
    assert len(table.rows) == EXPECTED["rows"] == 1500
    assert check.error_rows == EXPECTED[suffix]
    assert len(check.procedures) == 1500 - len(EXPECTED[suffix])
    lines = error_lines(check.errors)
    assert len(lines) == len(EXPECTED[suffix])  # one problem per broken row, each named by row and column
    by_row = {e.row: e for e in check.errors}
    offset = 2 if suffix == "xlsx" else 0  # the workbook has a title and a blank row above the header
    assert "tháng" in by_row[59 + offset].reason
    assert by_row[212 + offset].column == "code"
    assert "cấp huyện" in by_row[335 + offset].reason
    assert by_row[482 + offset].column == "time" and "bỏ trống" in by_row[482 + offset].reason
    assert "dòng 703" in by_row[704 + offset].reason or "dòng 705" in by_row[704 + offset].reason
    assert "khoảng" in by_row[907 + offset].reason
    assert "giờ làm việc" in by_row[1113 + offset].reason
    assert by_row[1302 + offset].column == "name"
    if suffix == "xlsx":
        assert "dạng số" in by_row[1204].reason  # a code Excel turned into the number 2.001863


def test_the_committed_sample_files_are_what_the_generator_writes() -> None:
    script = ROOT / "scripts" / "make_sample_catalogue.py"
    spec = importlib.util.spec_from_file_location("make_sample_catalogue", script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    committed = list(csv.reader(io.StringIO(SAMPLE.with_suffix(".csv").read_text(encoding="utf-8"))))
    assert committed[1:] == [[str(n), *row] for n, row in enumerate(module.rows(), start=1)]


def test_header_is_found_below_a_title_and_other_columns_are_ignored() -> None:
    rows = [["QUYẾT ĐỊNH CÔNG BỐ DANH MỤC"], [], ["STT", *HEADER, "Căn cứ pháp lý"],
            ["1", "1.000894.000.00.00.H44", "Đăng ký kết hôn", "Hộ tịch", "Cấp xã", "UBND cấp xã",
             "05 ngày làm việc", "Luật Hộ tịch 2014"]]
    table = table_from_rows(rows)
    assert table.header_row == 3 and table.ignored == ["STT", "Căn cứ pháp lý"]
    (procedure,) = check_table(table).procedures
    assert (procedure.code, procedure.processing_amount, procedure.time_unit) == (
        "1.000894.000.00.00.H44", Decimal(5), "working_days")
    assert table.rows[0].row == 4


def test_heading_rows_give_level_and_field_to_the_rows_below() -> None:
    rows = [["STT", "Mã thủ tục", "Tên thủ tục", "Thời hạn giải quyết"],
            ["A", "THỦ TỤC HÀNH CHÍNH CẤP XÃ", None, None],
            ["I", "Lĩnh vực Hộ tịch", None, None],
            ["1", "1.001193", "Đăng ký khai sinh", "Trong ngày"],
            ["II.", "Lĩnh vực Chứng thực", None, None],
            ["2", "2.000815", "Chứng thực bản sao từ bản chính", "Trong ngày"],
            ["3", None, "Thủ tục không mã, không thời hạn", None]]
    check = check_table(table_from_rows(rows))
    assert check.headings == 3
    assert [(p.code, p.field, p.level) for p in check.procedures] == [
        ("1.001193", "Hộ tịch", "commune"), ("2.000815", "Chứng thực", "commune")]
    assert {(e.row, e.column) for e in check.errors} == {(7, "code"), (7, "time")}  # not mistaken for a heading


def test_default_level_for_a_decision_of_one_level() -> None:
    rows = [["Mã TTHC", "Tên TTHC", "Lĩnh vực", "Thời hạn"], ["1.001612", "Đăng ký hộ kinh doanh", "Kinh doanh",
                                                                "03 ngày làm việc"]]
    assert check_table(table_from_rows(rows)).errors[0].column == "level"
    assert check_table(table_from_rows(rows), default_level="commune").procedures[0].level == "commune"


@pytest.mark.parametrize(("level", "expected"), [("Cấp tỉnh", "province"), ("cấp Xã", "commune"),
                                                 ("Cấp xã, phường", "commune"), ("Tỉnh", "province")])
def test_levels(level: str, expected: str) -> None:
    rows = [HEADER, ["1.000001", "Thủ tục", "Lĩnh vực", level, "", "05 ngày"]]
    assert check_table(table_from_rows(rows)).procedures[0].level == expected


@pytest.mark.parametrize("level", ["Cấp huyện", "Cấp tỉnh, Cấp xã", "Cấp bộ"])
def test_levels_that_are_refused(level: str) -> None:
    rows = [HEADER, ["1.000001", "Thủ tục", "Lĩnh vực", level, "", "05 ngày"]]
    (error,) = check_table(table_from_rows(rows)).errors
    assert (error.row, error.column) == (2, "level")


def test_semicolon_csv_with_a_bom_and_a_file_without_a_header(tmp_path: Path) -> None:
    path = tmp_path / "danh-muc.csv"
    path.write_bytes("\ufeff" .encode() + ";".join(HEADER).encode() + "\n1.000894;Đăng ký kết hôn;Hộ tịch;Cấp xã;;"
                     "05 ngày làm việc\n".encode())
    assert len(check_table(read_table(path)).procedures) == 1
    path.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    with pytest.raises(CatalogueFileError, match="dòng tiêu đề"):
        read_table(path)
    path.write_bytes("Mã thủ tục,Tên\n".encode("utf-16"))
    with pytest.raises(CatalogueFileError, match="UTF-8"):
        read_table(path)


def test_codes_match_on_their_national_core() -> None:
    catalogue = Catalogue(check_table(table_from_rows([HEADER, ["1.000894.000.00.00.H44", "Đăng ký kết hôn",
                                                                "Hộ tịch", "Cấp xã", "", "05 ngày làm việc"]]))
                          .procedures)
    for form in ("1.000894", "1.000894.H44", "1.000894.000.00.00.H44", " 1.000894.000.00.00.H44 "):
        assert catalogue.get(form) is not None, form
    assert catalogue.get("1.000895") is None and catalogue.get("TTHC-894") is None
    assert procedure_key("2.002156.000.00.00.H44") == "2.002156" and procedure_key("2.00215") is None

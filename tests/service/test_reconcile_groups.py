"""Every Decision-766 group beside the national portal's, per unit (reconcile_groups.py), on SQLite and PostgreSQL:
the file's shape (CSV and XLSX), bad rows named with column and reason, the province first and the units by points
at stake, inferred groups marked in the answer, the table and the workbook; ``cchc reconcile`` picks the
reconciliation by the file's columns."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from cchc.cli import main
from services.dossiers.cli import read_portal_file
from services.dossiers.index766 import reads, store
from services.dossiers.reconcile import ReconcileError
from services.dossiers.reconcile_groups import is_group_file, parse_group_rows, reconcile_groups
from services.dossiers.reconcile_xlsx import groups_workbook_bytes
from shared.events import parse_event
from tests.service.test_index766_store import NOW, RULES, SAMPLE, month_of_events

PORTAL = Path(__file__).resolve().parents[2] / "services/dossiers/data/portal/766_phutho_group_scores_2026-08.csv"


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


FILE = rows_of(
    "departmentCode,departmentName,level,CKMB,TDGQ,CLGQ,MDSH,MDHL,TTTT,totalScore\n"
    "H44,UBND tỉnh Phú Thọ,PARENT,7.96,15.68,8.83,8.22,12.97,6.25,59.91\n"
    "H44.100,UBND Phường Việt Trì,COMMUNE,,10.00,,8.67,,6.69,\n"
    "H44.101,UBND Phường Nông Trang,COMMUNE,,,,,18,,\n"
    "H44.999,Xã không có,COMMUNE,,1,,,,,\n"
    "H44.102,UBND Phường Thanh Miếu,COMMUNE,19,,,,,,\n"
    "H44.100,UBND Phường Việt Trì,COMMUNE,,1,,,,,\n"
    "H44.103,UBND Phường Vân Phú,COMMUNE,,,,,,,\n"
)


@pytest.fixture
def result(database):
    with database.transaction() as session:
        store.ingest_with_facts(session, [parse_event(e) for e in month_of_events()], RULES, NOW)
        reads.import_procedure_facts(session, RULES, "2026-08", SAMPLE.name, SAMPLE.read_bytes(), "test", NOW)
    with database.transaction() as session:
        return reconcile_groups(session, RULES, FILE, "2026-08", NOW)


def test_the_file_shape_is_told_apart_and_bad_rows_are_named():
    assert is_group_file(["departmentCode", "ckmb"]) and is_group_file(["departmentCode", "timeliness"])
    assert not is_group_file(["departmentCode", "totalReceived", "totalOnTime", "score", "totalScore"])
    parsed, errors = parse_group_rows(FILE)
    assert [p["code"] for p in parsed] == ["H44", "H44.100", "H44.101", "H44.999"]
    assert parsed[1]["scores"]["timeliness"] == Decimal("10.00") and parsed[1]["scores"]["transparency"] is None
    assert errors == [
        {"row": 6, "column": "CKMB", "reason": "19 không nằm trong khoảng 0 đến 18 điểm của nhóm"},
        {"row": 7, "column": "departmentCode", "reason": "mã H44.100 xuất hiện hai lần"},
        {"row": 8, "column": "scores", "reason": "dòng không có điểm nhóm nào"},
    ]
    # every bad field of a row, not only the first
    _, errors = parse_group_rows(rows_of("departmentCode,CKMB,TDGQ\n,abc,99\n"))
    assert [(e["row"], e["column"]) for e in errors] == [(2, "departmentCode"), (2, "CKMB"), (2, "TDGQ")]
    with pytest.raises(ReconcileError, match="departmentCode and at least one group column"):
        parse_group_rows(rows_of("code,CKMB\nH44,1\n"))


def test_every_group_side_by_side_province_first_units_by_points_at_stake(result):
    province = result["province"]
    assert province["unit_code"] == "P25" and province["total"]["portal"] == "59.91"
    by_code = {g["code"]: g for g in province["groups"]}
    assert by_code["transparency"]["portal"] == "7.96" and by_code["transparency"]["ours"] is not None
    assert Decimal(by_code["timeliness"]["diff"]) == Decimal(by_code["timeliness"]["ours"]) - Decimal("15.68")
    assert {line["unit_code"] for line in result["lines"]} == {"07900", "07894"}
    stakes = [Decimal(line["points_at_stake"]) for line in result["lines"]]
    assert stakes == sorted(stakes, reverse=True) and stakes[0] > 0
    viet_tri = {g["code"]: g for g in next(x for x in result["lines"] if x["unit_code"] == "07900")["groups"]}
    assert viet_tri["transparency"]["portal"] is None and viet_tri["transparency"]["diff"] is None  # not stated
    assert result["unmatched"] == [{"row": 5, "code": "H44.999", "name": "Xã không có", "level": "COMMUNE"}]
    assert not any("không có hồ sơ nào" in n for n in result["lines"][0]["notes"] + result["lines"][1]["notes"])
    assert len(result["errors"]) == 3


def test_inferred_groups_say_so(result):
    inferred = {g["code"]: g["inferred_indicators"] for g in result["groups"]}
    assert inferred["transparency"] == ["1.1", "1.2", "1.4"]
    assert inferred["online_services"] == ["3.1", "3.2", "3.3"]
    assert inferred["timeliness"] == [] and inferred["satisfaction"] == []
    line = result["lines"][0]
    assert all(g["inferred"] == bool(inferred[g["code"]]) for g in line["groups"])
    noted = [n for line in (result["province"], *result["lines"]) for n in line["notes"] if "suy luận" in n]
    assert noted, "a difference on an inferred group says the method is inferred"


def test_the_workbook(result):
    book = load_workbook(io.BytesIO(groups_workbook_bytes(result, "nhom.csv")))
    assert book.sheetnames == ["Đối soát 6 nhóm", "Chưa khớp", "Ghi chú, căn cứ", "Lỗi tệp"]
    sheet = book["Đối soát 6 nhóm"]
    assert sheet["E5"].value == "Công khai, minh bạch (18) (*)" and sheet["H5"].value == "Tiến độ giải quyết (20)"
    assert [sheet.cell(row=6, column=c).value for c in (5, 6, 7)] == ["Cổng", "Hệ thống", "Chênh lệch"]
    assert sheet["B7"].value == "H44" and sheet["E7"].value == 7.96
    assert {sheet["B8"].value, sheet["B9"].value} == {"H44.100", "H44.101"}


def test_cchc_reconcile_reads_a_group_file_as_csv_or_xlsx(month_cli_database, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    book = Workbook()
    for row in csv.reader(io.StringIO(PORTAL.read_text(encoding="utf-8"))):
        book.active.append([float(v) if v.replace(".", "").isdigit() and "." in v else v for v in row])
    book.save(tmp_path / "nhom.xlsx")
    from_xlsx, from_csv = (parse_group_rows(read_portal_file(str(p))) for p in (tmp_path / "nhom.xlsx", PORTAL))
    assert from_xlsx == from_csv and len(from_csv[0]) == 10 and not from_csv[1]
    for source in (str(PORTAL), str(tmp_path / "nhom.xlsx")):
        assert main(["reconcile", source, "--period", "2026-08", "--xlsx", str(tmp_path / "out.xlsx")]) == 0
        shown = capsys.readouterr().out
        assert "Đối soát sáu nhóm" in shown and "CKMB*" in shown and "suy luận" in shown
        assert "UBND tỉnh Phú Thọ" in shown
        book = load_workbook(tmp_path / "out.xlsx")
        assert book.sheetnames[0] == "Đối soát 6 nhóm"
        notes = [str(row[-1]) for row in book["Đối soát 6 nhóm"].iter_rows(min_row=7, values_only=True)]
        assert any("hồ sơ chưa gửi về hệ thống?" in n for n in notes)  # H44.03 has no dossier here

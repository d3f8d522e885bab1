"""``cchc index766``: import procedure facts, show a unit, rank the province, write the workbooks — on the dossiers
service's own SQLite database, as an operator would with the service stopped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from cchc.cli import main
from tests.service.test_index766_store import SAMPLE


def test_import_show_and_rank_from_the_command_line(month_cli_database, tmp_path, capsys):
    assert main(["index766", "import", str(SAMPLE), "--period", "2026-08", "--actor", "Văn phòng UBND tỉnh",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accepted"] and report["rows_imported"] == 13

    assert main(["index766", "show", "07900", "--period", "2026-08", "--items", "3"]) == 0
    shown = capsys.readouterr().out
    assert "Phường Việt Trì" in shown and "Tiến độ giải quyết" in shown and "Điểm bị mất" in shown
    assert "B2: Kết thúc xử lý ngày 14/08/2026, hạn 11/08/2026" in shown

    xlsx = tmp_path / "ranking.xlsx"
    assert main(["index766", "ranking", "--period", "2026-08", "--kind", "commune", "--xlsx", str(xlsx)]) == 0
    shown = capsys.readouterr().out
    assert "UBND tỉnh Phú Thọ" in shown and "* nhóm có chỉ tiêu tính theo cách suy luận" in shown
    assert load_workbook(xlsx).sheetnames == ["Xếp hạng", "Ghi chú, căn cứ"]

    assert main(["index766", "show", "07900", "--period", "2026-08", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["procedure_facts"]["actor"] == "Văn phòng UBND tỉnh"

    assert main(["index766", "imports", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["period"] == "2026-08" and listed["rows"] == 13
    assert listed["imported_at"].endswith("+07:00")  # people read Vietnam's time

    assert main(["index766", "imports"]) == 0  # a readable table by default
    shown = capsys.readouterr().out
    assert "Văn phòng UBND tỉnh" in shown and "2026-08" in shown and "{" not in shown


def test_a_refused_import_exits_non_zero_and_lists_why(month_cli_database, tmp_path, capsys):
    bad = tmp_path / "facts.csv"
    bad.write_bytes(Path(SAMPLE).read_bytes() + "9.999999.H44,cấp xã,,,,,,,,,,\n".encode())
    assert main(["index766", "import", str(bad), "--period", "2026-08", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert not report["accepted"] and report["unknown_procedures"][0]["procedure_code"] == "9.999999.H44"
    assert main(["index766", "imports", "--json"]) == 0 and json.loads(capsys.readouterr().out) == []
    assert main(["index766", "import", str(bad), "--period", "2026-08"]) == 1
    shown = capsys.readouterr().out
    assert "Không nhập" in shown and "9.999999.H44 không có trong danh mục" in shown


@pytest.mark.parametrize(("argv", "message"), [
    (["index766", "show", "07900", "--period", "2026-H1"], "unrecognised board period"),
    (["index766", "show", "NOPE", "--period", "2026-08"], "no unit 'NOPE'"),
    (["index766", "import", "/nonexistent.csv", "--period", "2026-08"], "không tồn tại"),
])
def test_bad_input_is_one_clear_line(month_cli_database, capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_a_period_that_starts_after_today_is_refused_by_show_and_ranking(month_cli_database, capsys):
    """The clock is pinned at 2026-09-03: 2026-10 and 2030-01 have no figures yet (they were computed before)."""
    for args in (["show", "07900", "--period", "2030-01"], ["show", "07900", "--period", "2026-10"],
                 ["ranking", "--period", "2027-Q1"]):
        assert main(["index766", *args]) != 0
        assert "after today" in capsys.readouterr().err
    assert main(["index766", "show", "07900", "--period", "2026-09", "--items", "1"]) == 0

"""Bad input on the ``cchc`` command line: one line "lỗi: …" naming the argument or file, exit 2, no traceback.

Called in-process (``main([...])``) with a throw-away SQLite configuration: these never reach a database or
broker, they must be refused before.
"""

from __future__ import annotations

import pytest
import yaml

from cchc.cli import main


@pytest.fixture()
def config(tmp_path):
    path = tmp_path / "cchc.yaml"
    path.write_text(yaml.safe_dump({"DATABASE_URL": f"sqlite:///{tmp_path}/<service>.db"}))
    return str(path)


def _refused(capsys, argv: list[str], *names: str) -> str:
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own refusal
        status = exc.code
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("lỗi: "), err
    for name in names:
        assert name in lines[0], err
    return lines[0]


def test_catalogue_import_of_a_missing_file(config, capsys, tmp_path):
    missing = str(tmp_path / "nonexist.csv")
    line = _refused(capsys, ["--config", config, "catalogue", "import", missing], missing)
    assert "không tồn tại" in line


def test_catalogue_import_of_a_directory(config, capsys, tmp_path):
    line = _refused(capsys, ["--config", config, "catalogue", "import", str(tmp_path)], str(tmp_path))
    assert "thư mục" in line


def test_reconcile_of_a_file_that_is_no_workbook(config, capsys, tmp_path):
    bogus = tmp_path / "random.xlsx"
    bogus.write_bytes(b"not a zip at all" * 10)
    line = _refused(capsys, ["--config", config, "reconcile", str(bogus), "--period", "2026-08"], str(bogus))
    assert "XLSX" in line


def test_reconcile_of_a_missing_file(config, capsys, tmp_path):
    _refused(capsys, ["--config", config, "reconcile", str(tmp_path / "x.csv"), "--period", "2026-08"], "x.csv")


def test_scoring_survey_of_a_missing_file(config, capsys, tmp_path):
    missing = str(tmp_path / "nonexist.csv")
    _refused(capsys, ["--config", config, "scoring", "survey", "department-2026", missing], missing, "không tồn tại")


def test_scoring_survey_of_a_csv_that_is_not_utf8(config, capsys, tmp_path):
    latin = tmp_path / "survey.csv"
    latin.write_bytes("unit_code,leaf_id,points\nD227,1.1,Đ\n".encode("cp1258"))
    _refused(capsys, ["--config", config, "scoring", "survey", "department-2026", str(latin)], str(latin), "UTF-8")


def test_scoring_import_table_of_a_missing_file(config, capsys, tmp_path):
    _refused(capsys, ["--config", config, "scoring", "import-table", str(tmp_path / "t.xlsx")], "t.xlsx")


@pytest.mark.parametrize("argv", [
    ["stats", "verify", "--period", "2026-13"],
    ["index766", "imports", "--period", "2026-99"],
    ["index766", "ranking", "--period", "2026-13"],
    ["reconcile", "x.csv", "--period", "2026-13"],
])
def test_a_period_that_does_not_exist(config, capsys, argv):
    _refused(capsys, ["--config", config, *argv], "--period", "kỳ")


@pytest.mark.parametrize("value", ["notatime", "2026-08-15T09:00:00"])
def test_stats_verify_with_a_bad_now(config, capsys, value):
    _refused(capsys, ["--config", config, "stats", "verify", "--now", value], "--now", value)


def test_publish_of_a_missing_file(config, capsys, tmp_path):
    _refused(capsys, ["--config", config, "publish", "--file", str(tmp_path / "e.json")], "e.json")


def test_generate_with_a_bad_start(config, capsys, tmp_path):
    _refused(capsys, ["--config", config, "generate", "--out", str(tmp_path / "o.jsonl"), "--start", "2026-02-30"],
             "--start", "2026-02-30")

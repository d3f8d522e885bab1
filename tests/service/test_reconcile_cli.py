"""``cchc reconcile`` refuses what it cannot reconcile: an empty file, unreadable rows (every field listed,
exit 1 unless --skip-invalid), and warns when the file states another period. In-process, SQLite."""

from __future__ import annotations

import csv
import io

import pytest
import yaml

from cchc.cli import main
from services.dossiers.reconcile import parse_portal_rows
from tests.support import handbook_data

PORTAL_FILE = handbook_data("766_phutho_tien_do_giai_quyet_2026-08.csv")


@pytest.fixture()
def config(tmp_path):
    path = tmp_path / "cchc.yaml"
    path.write_text(yaml.safe_dump({"DATABASE_URL": f"sqlite:///{tmp_path}/<service>.db"}))
    return str(path)


def _rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(PORTAL_FILE.read_text(encoding="utf-8-sig"), newline="")))


def _write(path, rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return str(path)


def test_an_empty_file_is_refused(config, tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    xlsx = tmp_path / "out.xlsx"
    assert main(["--config", config, "reconcile", str(empty), "--period", "2026-08", "--xlsx", str(xlsx)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lỗi: ") and "empty.csv" in err and "không có dòng số liệu" in err
    assert not xlsx.exists()


def test_every_bad_field_of_a_row_is_listed() -> None:
    rows = _rows()[:3]
    rows[1] = {**rows[1], "totalReceived": "abc", "score": "-5"}
    rows[2] = {**rows[2], "totalOnTime": str(int(rows[2]["totalReceived"]) + 1), "avgProcessingDays": "x"}
    parsed, errors = parse_portal_rows(rows)
    assert [p.code for p in parsed] == ["H44"]
    assert [(e["row"], e["column"]) for e in errors] == [(3, "totalReceived"), (3, "score"), (4, "totalOnTime"),
                                                         (4, "avgProcessingDays")]
    assert "không phải số nguyên" in errors[0]["reason"] and "nhiều hơn" in errors[2]["reason"]


def test_refused_rows_exit_non_zero_unless_skipped(config, tmp_path, capsys):
    rows = _rows()[:6]
    rows[2] = {**rows[2], "totalReceived": "abc", "score": "-5"}
    rows[3] = {**rows[3], "totalOnTime": str(int(rows[3]["totalReceived"]) + 1)}
    path = _write(tmp_path / "portal.csv", rows)
    xlsx = tmp_path / "out.xlsx"
    assert main(["--config", config, "reconcile", path, "--period", "2026-08", "--xlsx", str(xlsx)]) == 1
    out = capsys.readouterr().out
    assert "dòng 4, cột totalReceived" in out and "dòng 4, cột score" in out and "dòng 5, cột totalOnTime" in out
    assert "--skip-invalid" in out and not xlsx.exists()

    assert main(["--config", config, "reconcile", path, "--period", "2026-08", "--xlsx", str(xlsx),
                 "--skip-invalid"]) == 0
    out = capsys.readouterr().out
    assert "dòng 4, cột totalReceived" in out and xlsx.exists()


def test_a_file_stating_another_period_is_warned_about(config, tmp_path, capsys):
    rows = [{**row, "period": "2026-07"} for row in _rows()[:4]]
    path = _write(tmp_path / "portal.csv", rows)
    xlsx = tmp_path / "out.xlsx"
    assert main(["--config", config, "reconcile", path, "--period", "2026-08", "--xlsx", str(xlsx)]) == 0
    err = capsys.readouterr().err
    assert "cảnh báo:" in err and "2026-07" in err and "2026-08" in err

    same = _write(tmp_path / "same.csv", [{**row, "period": "2026-8"} for row in _rows()[:4]])
    assert main(["--config", config, "reconcile", same, "--period", "2026-08", "--xlsx", str(xlsx)]) == 0
    assert "cảnh báo" not in capsys.readouterr().err

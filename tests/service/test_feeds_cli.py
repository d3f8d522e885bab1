"""The office's commands as they are typed: `cchc catalogue …`, `cchc reconcile …`, `cchc intake tokens …`
(on the zero-install SQLite files; the operations behind them are tested on both databases elsewhere)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook

from cchc.cli import main
from tests.support import handbook

ROOT = Path(__file__).resolve().parents[2]
MALFORMED = ROOT / "tests" / "data" / "catalogue_malformed.csv"
SAMPLE = ROOT / "services" / "dossiers" / "data" / "catalogue" / "phu_tho_tthc_sample.csv"


@pytest.fixture
def cfg(tmp_path: Path) -> str:
    path = tmp_path / "cchc.yaml"
    path.write_text(yaml.safe_dump({"AMQP_URI": "memory://", "DATABASE_URL": f"sqlite:///{tmp_path}/<service>.db"}),
                    encoding="utf-8")
    return str(path)


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_catalogue_commands(cfg, capsys):
    code, out = run(capsys, "--config", cfg, "catalogue", "import", str(MALFORMED))
    assert code == 1 and "Không nhập" in out
    listed = sorted(int(n) for n in re.findall(r"dòng (\d+), ", out))
    assert listed == [59, 212, 335, 482, 704, 907, 1113, 1302]  # exactly the broken rows, one line each
    assert run(capsys, "--config", cfg, "catalogue", "versions")[1].count("phiên bản 0") == 1  # nothing imported
    code, out = run(capsys, "--config", cfg, "catalogue", "import", str(MALFORMED), "--skip-invalid", "--by", "Hoa")
    assert code == 0 and "Đã nhập phiên bản 1" in out and "1,492 thủ tục" in out
    code, out = run(capsys, "--config", cfg, "catalogue", "import", str(SAMPLE), "--dry-run")
    assert code == 0 and "1,500 thủ tục hợp lệ, 0 dòng lỗi" in out
    code, out = run(capsys, "--config", cfg, "catalogue", "show", "1.000894.H44")
    assert code == 0 and "Đăng ký kết hôn" in out and "5 ngày làm việc" in out and "(+0700)" in out
    code, out = run(capsys, "--config", cfg, "catalogue", "versions")
    assert code == 0 and "catalogue_malformed.csv" in out and "Hoa" in out
    code, out = run(capsys, "--config", cfg, "catalogue", "gaps")
    assert code == 0 and "phiên bản 1" in out
    assert run(capsys, "--config", cfg, "catalogue", "show", "not-a-code")[0] == 2


def test_reconcile_command_prints_both_periods_and_writes_the_workbook(cfg, capsys, tmp_path):
    portal = handbook() / "data" / "766_phutho_tien_do_giai_quyet_2026-08.csv"
    out_file = tmp_path / "doi-soat.xlsx"
    code, out = run(capsys, "--config", cfg, "reconcile", str(portal), "--period", "2026-08", "--xlsx", str(out_file))
    assert code == 0
    assert "Cổng DVCQG: 01/08/2026 – 31/08/2026" in out and "Hệ thống:   01/08/2026 – 31/08/2026" in out
    assert "H44 UBND tỉnh Phú Thọ" in out and "184,513" in out
    assert load_workbook(out_file)["Đối soát"].max_row == 7 + 163
    code, out = run(capsys, "--config", cfg, "reconcile", str(portal), "--period", "2026-08", "--basis", "reporting",
                    "--xlsx", str(out_file))
    assert code == 0 and "15/07/2026 – 14/08/2026" in out
    assert run(capsys, "--config", cfg, "reconcile", str(portal), "--period", "2026-13")[0] == 2


def test_intake_token_commands(cfg, capsys):
    code, out = run(capsys, "--config", cfg, "intake", "tokens", "add", "vnpt-igate", "--source", "onedoor.phutho")
    token = re.search(r"cchc_[0-9a-f]{8}_\S{43}", out).group(0)
    assert code == 0
    code, out = run(capsys, "--config", cfg, "intake", "tokens", "rotate", "vnpt-igate", "--grace-seconds", "60")
    assert code == 0 and re.search(r"cchc_[0-9a-f]{8}_\S{43}", out).group(0) != token
    code, out = run(capsys, "--config", cfg, "intake", "tokens", "list")
    (listed,) = [json.loads(line) for line in out.splitlines()]
    assert token not in out and len(listed["tokens"]) == 2 and all(t["live"] for t in listed["tokens"])
    assert listed["tokens"][0]["created_at"].endswith("+07:00")
    code, out = run(capsys, "--config", cfg, "intake", "tokens", "revoke", "vnpt-igate")
    assert code == 0 and "2 mã" in out
    assert run(capsys, "--config", cfg, "intake", "tokens", "revoke", "nobody")[0] == 2
    assert run(capsys, "--config", cfg, "intake", "tokens", "add", "Bad Name!")[0] == 2

"""Reconciliation with the national portal on the shared Phú Thọ file (month 8/2026), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from services.dossiers.cli import read_portal_csv
from services.dossiers.ingest import ingest_batch
from services.dossiers.reconcile import ReconcileError, calendar_period, parse_portal_rows, reconcile
from services.dossiers.reconcile_xlsx import AT_STAKE, COLUMNS, DIFFERS, workbook_bytes
from services.dossiers.rules import rules_from_config
from shared.config import load_config
from shared.events import make_envelope, parse_event
from tests.support import handbook

ROOT = Path(__file__).resolve().parents[2]
TZ = dt.timezone(dt.timedelta(hours=7))
RULES = rules_from_config(load_config())
PORTAL_FILE = handbook() / "data" / "766_phutho_tien_do_giai_quyet_2026-08.csv"
NOW = dt.datetime(2026, 9, 20, 10, tzinfo=TZ)
MARRIAGE = "1.000894.H44"  # 5 working days


def portal_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(PORTAL_FILE.read_text(encoding="utf-8"))))


def test_the_packaged_copy_is_the_shared_file() -> None:
    """The demo ships the same month (with its source note) so that it runs on a fresh clone."""
    packaged = ROOT / "services" / "dossiers" / "data" / "portal" / PORTAL_FILE.name
    assert read_portal_csv(str(packaged)) == portal_rows()


def test_calendar_periods_are_the_portals() -> None:
    august = calendar_period("2026-08")
    assert (august.start, august.end) == (dt.date(2026, 8, 1), dt.date(2026, 8, 31))
    assert (calendar_period("2026-Q3").start, calendar_period("2026-Q3").end) == (dt.date(2026, 7, 1),
                                                                                   dt.date(2026, 9, 30))
    assert calendar_period("2024-2").end == dt.date(2024, 2, 29)
    with pytest.raises(ReconcileError, match="period"):
        calendar_period("2026-13")


def test_unreadable_portal_rows_are_listed_and_the_rest_kept() -> None:
    rows = portal_rows()[:3]
    rows[1] = {**rows[1], "totalOnTime": "x"}
    rows[2] = {**rows[2], "totalOnTime": str(int(rows[2]["totalReceived"]) + 1)}
    parsed, errors = parse_portal_rows(rows)
    assert [p.code for p in parsed] == ["H44"]
    assert [(e["row"], e["column"]) for e in errors] == [(3, "totalOnTime"), (4, "totalOnTime")]
    with pytest.raises(ReconcileError, match="departmentCode"):
        parse_portal_rows([{"code": "H44"}])


def envelopes() -> list[dict]:
    """August 2026 at Phường Việt Trì (H44.100 = 07900): 4 dossiers, one late, one still within its time; and one
    at Sở Tư pháp (H44.19)."""
    out = []

    def add(code: str, unit: str, received: dt.datetime, resolved: dt.datetime | None) -> None:
        payload = {"dossier_code": code, "procedure_code": MARRIAGE, "unit_code": unit, "received_at": received}
        out.append(make_envelope("dossier.received", payload, occurred_at=received))
        if resolved:
            out.append(make_envelope("dossier.resolved", {"dossier_code": code, "resolved_at": resolved},
                                     occurred_at=resolved))

    aug = dt.datetime(2026, 8, 3, 9, tzinfo=TZ)  # Monday
    add("VT-1", "07900", aug, aug + dt.timedelta(days=2))
    add("VT-2", "07900", aug, aug + dt.timedelta(days=4))
    add("VT-3", "07900", aug, aug + dt.timedelta(days=14))  # late
    add("VT-4", "07900", dt.datetime(2026, 8, 28, 9, tzinfo=TZ), None)  # open, due in September
    add("TP-1", "H44.19", aug, aug + dt.timedelta(days=1))
    add("JULY", "07900", dt.datetime(2026, 7, 20, 9, tzinfo=TZ), dt.datetime(2026, 7, 22, 9, tzinfo=TZ))
    return out


@pytest.fixture
def result(database):
    with database.transaction() as session:
        ingest_batch(session, [parse_event(e) for e in envelopes()], RULES, NOW)
    with database.transaction() as session:
        return reconcile(session, RULES, portal_rows(), "2026-08", NOW)


def test_every_portal_unit_is_matched_and_set_beside_ours(result) -> None:
    assert result.errors == [] and result.unmatched == []
    assert len(result.lines) == 163
    assert result.province.unit_code == "P25" and result.province.portal.received == 184513
    assert (result.province.ours.received, result.province.ours.on_time) == (5, 4)
    viet_tri = next(line for line in result.lines if line.portal_code == "H44.100")
    assert viet_tri.unit_code == "07900" and not viet_tri.name_differs
    assert (viet_tri.portal.received, viet_tri.portal.on_time, viet_tri.portal.score) == (2971, 2348, Decimal("15.81"))
    ours = viet_tri.ours
    assert (ours.received, ours.on_time, ours.finished_on_time, ours.in_progress) == (4, 3, 2, 1)
    assert (ours.score, ours.rate) == (Decimal("15.00"), Decimal("75.00"))  # July's dossier is not August's
    assert viet_tri.received_diff == 4 - 2971 and viet_tri.score_diff == Decimal("-0.81")
    assert any("chưa gửi về hệ thống" in note for note in viet_tri.notes)


def test_units_are_sorted_by_points_at_stake(result) -> None:
    stakes = [line.points_at_stake for line in result.lines]
    assert stakes == sorted(stakes, reverse=True)
    justice = next(line for line in result.lines if line.portal_code == "H44.19")
    assert justice.ours.score == Decimal("20.00") and justice.points_at_stake == Decimal("1.87")  # 20 − 18.13


def test_an_empty_unit_is_zero_on_the_portal_and_no_rate_with_us(result) -> None:
    office = next(line for line in result.lines if line.portal_code == "H44.01")
    assert office.portal.score == 0 and office.ours.score is None and office.points_at_stake == 0
    assert any("không tính tỷ lệ" in note for note in office.notes)


def test_each_side_says_which_period_it_counts(database, result) -> None:
    assert result.period["portal"]["start"] == "2026-08-01" and result.period["portal"]["end"] == "2026-08-31"
    assert result.period["ours"]["start"] == "2026-08-01" and "cùng khoảng" in result.period["ours"]["basis"]
    with database.transaction() as session:
        reporting = reconcile(session, RULES, portal_rows(), "2026-08", NOW, basis="reporting")
    assert (reporting.period["ours"]["start"], reporting.period["ours"]["end"]) == ("2026-07-15", "2026-08-14")
    assert "15–14" in reporting.period["ours"]["basis"]
    assert reporting.province.ours.received == 5  # July 20's dossier is in the reporting month, Aug 28's is not
    assert result.as_of.endswith("+07:00")


def test_the_workbook_has_vietnamese_headers_and_highlights_differences(result) -> None:
    book = load_workbook(io.BytesIO(workbook_bytes(result.as_dict(), PORTAL_FILE.name)))
    sheet = book["Đối soát"]
    headers = [cell.value for cell in sheet[6]]
    assert headers == ["STT", *(c[0] for c in COLUMNS)]
    assert "01/08/2026 – 31/08/2026" in sheet["A2"].value and "dương lịch" in sheet["A2"].value
    assert sheet["A7"].value == "Toàn tỉnh"
    assert sheet.max_row == 7 + 163
    score_diff = headers.index("Chênh lệch điểm") + 1
    rows = {sheet.cell(row=r, column=2).value: r for r in range(8, sheet.max_row + 1)}
    justice = sheet.cell(row=rows["H44.19"], column=score_diff)
    assert justice.value == pytest.approx(1.87) and justice.fill.fgColor.rgb.endswith(AT_STAKE.fgColor.rgb[-6:])
    received_diff = headers.index("Chênh lệch hồ sơ (hệ thống − Cổng)") + 1
    assert sheet.cell(row=rows["H44.19"], column=received_diff).fill.fgColor.rgb.endswith(AT_STAKE.fgColor.rgb[-6:])
    assert DIFFERS.fgColor.rgb != AT_STAKE.fgColor.rgb
    assert "Chưa khớp" in book.sheetnames

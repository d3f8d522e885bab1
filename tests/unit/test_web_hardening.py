"""What a reviewer sent the web application and its services to break them: ids of 23 digits, periods years ahead,
names with NUL bytes and right-to-left overrides, 100,000-character reasons, and an audit log in Python syntax.
Pure functions and SQLite only (the HTTP answers are in tests/web/test_hostile_requests.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from services.dossiers.index766.periods import parse_board_period, require_begun
from services.dossiers.periods import PeriodError
from services.notifications import delivery
from services.web.audit import detail_vi
from services.web.context import PageNotFound, free_text_problem, url_id
from services.web.pages.scores import _appraisal_errors
from shared.calendar import LOCAL_TZ
from shared.config import load_config
from shared.db import open_database
from shared.inputs import MAX_ID, echo_safe, parse_id, text_problem, valid_id

HUGE = "99999999999999999999999"


@pytest.mark.parametrize("text", [HUGE, str(MAX_ID + 1), "0", "", "-1", "+1", " 1", "1 ", "²", "١٢", "1e3", "0x10"])
def test_an_id_from_a_url_outside_ascii_digits_1_to_2_63_is_a_vietnamese_404(text):
    assert parse_id(text) is None
    with pytest.raises(PageNotFound) as refused:
        url_id(text, "tệp")
    assert str(refused.value).startswith("Không có tệp số")


def test_ids_up_to_2_63_minus_1_pass_and_rpc_ids_must_be_real_ints_in_range():
    assert parse_id("1") == 1 and parse_id(str(MAX_ID)) == MAX_ID and url_id("0042", "tệp") == 42
    assert valid_id(1) and valid_id(MAX_ID)
    for bad in (0, -1, MAX_ID + 1, int(HUGE), True, "1", 1.0, None):
        assert not valid_id(bad)


def test_resending_a_notification_id_beyond_any_row_is_not_found_not_an_overflow(tmp_path):
    db = open_database(load_config(DATABASE_URL=f"sqlite:///{tmp_path}/<service>.db"), "notifications")
    try:
        for bad in (int(HUGE), 2**63, -1):
            with pytest.raises(delivery.NotFound), db.transaction() as session:
                delivery.resend(session, bad, dt.datetime.now(dt.UTC))
    finally:
        db.engine.dispose()


@pytest.mark.parametrize("label", ["2027-01", "2030-01", "2026-12", "2027-Q1", "2027"])
def test_a_board_period_that_starts_after_today_is_refused(label):
    now = dt.datetime(2026, 11, 30, 23, 30, tzinfo=LOCAL_TZ)
    with pytest.raises(PeriodError, match="after today"):
        require_begun(parse_board_period(label), now)


@pytest.mark.parametrize("label", ["2026-11", "2026-Q4", "2026", "2025-12"])
def test_a_board_period_that_has_begun_is_kept(label):
    now = dt.datetime(2026, 11, 1, 0, 5, tzinfo=LOCAL_TZ)  # the first minutes of November, local time
    assert require_begun(parse_board_period(label), now).label == parse_board_period(label).label


@pytest.mark.parametrize(("value", "fragment"), [
    ("Nguyễn\x00Văn A", "U+0000"), ("Nguyễn\x07", "U+0007"), ("abc\u202edcba", "U+202E"), ("x\u2066y", "U+2066"),
    ("a\x85b", "U+0085"), ("x" * 201, "Tối đa 200"), ("x" * 100_000, "đã nhập 100.000"),
])
def test_a_name_with_control_or_bidi_characters_or_too_long_is_refused_with_a_reason(value, fragment):
    assert fragment in (text_problem(value, 200) or "")


def test_free_text_keeps_line_breaks_and_vietnamese_but_refuses_nul_and_100000_characters():
    assert text_problem("Nguyễn Văn Ánh – Phó Giám đốc", 200) is None
    assert free_text_problem("Dòng một\r\nDòng hai\tcó tab") is None
    assert text_problem("a\nb", 200) is not None  # a one-line field (a name) takes no line break
    assert "U+0000" in (free_text_problem("lý do\x00") or "")
    assert "Tối đa 4.000" in (free_text_problem("x" * 100_000) or "")
    assert free_text_problem("x" * 4000) is None


def test_the_old_appraisal_form_refuses_a_reason_of_100000_characters_before_any_call():
    form = {"leaf_id": "1.1", "points": "0,5", "reason": "x" * 100_000}
    assert "Tối đa 4.000" in _appraisal_errors(form, {"1.1"})["reason"]


def test_echoed_values_carry_no_control_or_bidi_character():
    assert echo_safe("1.1\x00<b>\u202e") == "1.1\ufffd<b>\ufffd"
    assert len(echo_safe("x" * 10_000)) == 200


def test_the_audit_detail_reads_as_vietnamese_not_python():
    shown = detail_vi({"roles": ["leader", "unit_officer"], "unit_codes": ["07900"], "password": True})
    assert shown == "Vai trò: Lãnh đạo, Cán bộ đơn vị; Đơn vị: 07900; Mật khẩu: đã đặt"
    assert detail_vi({"password": "***", "disabled": False, "email": None}) == \
        "Mật khẩu: đã đặt; Vô hiệu hóa: không; Thư điện tử: –"
    assert detail_vi({"method": "oidc"}) == "Cách đăng nhập: đăng nhập một lần (SSO)"
    assert detail_vi({"files": ["a.pdf", "b.pdf"], "custom": 3}) == "Tệp đính kèm: a.pdf, b.pdf; custom: 3"
    assert detail_vi({}) == "" and detail_vi(None) == ""
    for text in (detail_vi({"roles": ["leader"], "password": True}), detail_vi({"reason": "x\x00y"})):
        assert "[" not in text and "True" not in text and "\x00" not in text

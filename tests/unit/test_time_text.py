"""Processing times as provinces write them: every form seen in announcement decisions, and what is refused."""

from __future__ import annotations

import unicodedata
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.dossiers.deadlines import ProcessingTime, TimeUnit
from services.dossiers.time_text import SAME_DAY, ParsedTime, TimeTextError, parse_time_text

WD, CD, WH, NONE = TimeUnit.WORKING_DAYS, TimeUnit.CALENDAR_DAYS, TimeUnit.WORKING_HOURS, TimeUnit.NONE


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("05 ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ", "5", WD),
        ("05 Ngày làm việc", "5", WD),
        ("5 ngày làm việc", "5", WD),
        ("10 ngày làm việc kể từ ngày nhận được hồ sơ đầy đủ, hợp lệ.", "10", WD),
        ("Trong thời hạn 05 ngày làm việc kể từ ngày nhận đủ hồ sơ", "5", WD),
        ("Không quá 05 ngày làm việc", "5", WD),
        ("Tối đa 10 ngày làm việc", "10", WD),
        ("Trong vòng 07 ngày làm việc", "7", WD),
        ("Không quá 15 ngày", "15", CD),
        ("30 ngày", "30", CD),
        ("45 ngày (không kể thời gian trưng cầu giám định)", "45", CD),
        ("02 giờ làm việc", "2", WH),
        ("04 giờ làm việc kể từ khi nhận đủ hồ sơ", "4", WH),
        ("08h làm việc", "8", WH),
        ("0,5 ngày làm việc", "0.5", WD),
        ("0.5 ngày làm việc", "0.5", WD),
        ("1/2 ngày làm việc", "0.5", WD),
        ("½ ngày làm việc", "0.5", WD),
        ("02 tuần", "14", CD),
        ("03 ngày làm việc (cắt giảm 30%)", "3", WD),
        ("03 ngày làm việc (quy định 05 ngày làm việc)", "3", WD),
        ("15 ngày làm việc (giảm 05 ngày so với quy định)", "15", WD),
        ("05 ngày làm việc; trường hợp phải xác minh thì không quá 10 ngày làm việc", "5", WD),
        ("05 ngày làm việc. Trường hợp cần xác minh thì không quá 10 ngày làm việc", "5", WD),
        ("20 ngày\nTrường hợp phức tạp: 30 ngày", "20", CD),
        ("Trực tiếp: 05 ngày làm việc; Trực tuyến: 05 ngày làm việc; Dịch vụ bưu chính: 05 ngày làm việc", "5", WD),
        ("  05   ngày  làm  việc  ", "5", WD),
        ("\u00a005\u00a0ngày làm việc", "5", WD),
    ],
)
def test_times_with_an_amount(text: str, amount: str, unit: TimeUnit) -> None:
    parsed = parse_time_text(text)
    assert (parsed.amount, parsed.unit) == (Decimal(amount), unit)
    assert not parsed.same_day


@pytest.mark.parametrize(
    "text",
    ["Trong ngày", "Ngay trong ngày làm việc", "Trong ngày làm việc", "Ngay trong ngày", "TRONG NGÀY",
     "Trong ngày; trường hợp nhận hồ sơ sau 15 giờ thì trả kết quả trong ngày làm việc tiếp theo",
     "Trong ngày, nhận sau 15 giờ trả kết quả ngày làm việc tiếp theo",
     "Ngay sau khi nhận đủ hồ sơ hợp lệ", "Giải quyết ngay", "Trong buổi làm việc"],
)
def test_same_day_is_two_working_hours_with_the_cutoff(text: str) -> None:
    """docs/decisions.md: same day = 2 working hours from the receipt, or from the next morning after 15:00."""
    parsed = parse_time_text(text)
    assert parsed.same_day
    assert (parsed.amount, parsed.unit, parsed.cutoff_15h) == (Decimal(2), WH, True)
    assert parsed.describe() == "Trong ngày"


@pytest.mark.parametrize("text", ["Không quy định", "không quy định thời hạn", "Không có thời hạn", "Không",
                                  "Không quy định thời hạn giải quyết", "Chưa quy định"])
def test_no_time_limit(text: str) -> None:
    parsed = parse_time_text(text)
    assert parsed == ParsedTime(amount=None, unit=NONE)
    assert parsed.describe() == "Không quy định"


def test_cutoff_and_reduction_are_noted() -> None:
    assert parse_time_text("03 ngày làm việc; nhận sau 15 giờ tính từ ngày làm việc tiếp theo").cutoff_15h
    assert parse_time_text("03 ngày làm việc; hồ sơ nhận sau 15h00 chuyển sang ngày hôm sau").cutoff_15h
    assert not parse_time_text("03 ngày làm việc").cutoff_15h
    assert parse_time_text("03 ngày làm việc (cắt giảm 30%)").reduced
    assert parse_time_text("15 ngày làm việc (giảm 05 ngày so với quy định)").reduced
    assert not parse_time_text("05 ngày làm việc").reduced


def test_decomposed_text_reads_like_composed() -> None:
    text = "05 ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ"
    assert parse_time_text(unicodedata.normalize("NFD", text)) == parse_time_text(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "bỏ trống"),
        ("   ", "bỏ trống"),
        (None, "bỏ trống"),
        ("02 tháng", "tính bằng tháng"),
        ("01 năm", "tính bằng năm"),
        ("24 giờ", "'giờ' không kèm 'làm việc'"),
        ("05 - 07 ngày làm việc", "một khoảng thời hạn"),
        ("05 đến 07 ngày làm việc", "một khoảng thời hạn"),
        ("07 ngày làm việc và 03 ngày làm việc", "nhiều thời hạn khác nhau"),
        ("Mười lăm ngày", "không tìm thấy thời hạn"),
        ("Theo quy định của pháp luật", "không tìm thấy thời hạn"),
        ("Trực tiếp: 05 ngày làm việc; Trực tuyến: 03 ngày làm việc", "khác nhau theo cách nộp"),
        ("00 ngày làm việc", "lớn hơn 0"),
        ("-3 ngày làm việc", "số âm"),
        ("− 3 ngày làm việc", "số âm"),
        ("Không quá -15 ngày", "số âm"),
        ("Trực tiếp: -5 ngày làm việc; Trực tuyến: -5 ngày làm việc", "số âm"),
        ("500 ngày làm việc", "dài bất thường"),
        ("30 phút", "không phải đơn vị thời hạn"),
    ],
)
def test_what_cannot_be_read_is_refused_with_the_reason(text: str | None, reason: str) -> None:
    with pytest.raises(TimeTextError) as caught:
        parse_time_text(text)
    assert reason in caught.value.reason
    assert caught.value.text == ("" if text is None else text)


def test_describe_round_trips() -> None:
    for text in ("05 ngày làm việc", "15 ngày", "02 giờ làm việc", "0,5 ngày làm việc"):
        parsed = parse_time_text(text)
        assert parse_time_text(parsed.describe()) == parsed
    assert SAME_DAY.describe() == "Trong ngày"


@given(st.integers(min_value=1, max_value=365), st.sampled_from(["ngày làm việc", "ngày", "giờ làm việc"]))
def test_every_readable_time_is_one_the_deadline_rules_accept(amount: int, word: str) -> None:
    parsed = parse_time_text(f"{amount:02d} {word} kể từ ngày nhận đủ hồ sơ hợp lệ")
    assert parsed.amount == amount
    ProcessingTime(amount=parsed.amount, unit=parsed.unit)  # raises if the deadline rules would refuse it


@given(st.text(max_size=80))
def test_arbitrary_text_is_read_or_refused_never_crashes(text: str) -> None:
    try:
        parsed = parse_time_text(text)
    except TimeTextError as exc:
        assert exc.reason
    else:
        assert (parsed.amount is None) == (parsed.unit is NONE)

"""Due dates: counting start, units of processing time, cut-off, and supplement rounds."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

import pytest

from services.dossiers.deadlines import (
    Deadline,
    ProcessingTime,
    SupplementPolicy,
    SupplementRound,
    TimeUnit,
    compute_deadline,
    counting_start,
)
from shared.calendar import LOCAL_TZ, WorkingCalendar

CAL = WorkingCalendar()
CUTOFF = time(15)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ)


def working_days(amount: str) -> ProcessingTime:
    return ProcessingTime(Decimal(amount), TimeUnit.WORKING_DAYS)


def due(received_at: datetime, processing_time: ProcessingTime, **kwargs: object) -> datetime | None:
    return compute_deadline(received_at, processing_time, CAL, **kwargs).due_at  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ counting start


@pytest.mark.parametrize(
    ("received_at", "cutoff", "expected"),
    [
        (at(2025, 3, 10, 9), None, at(2025, 3, 10, 9)),
        (at(2025, 3, 10, 12), None, at(2025, 3, 10, 13)),  # at lunch: the afternoon session
        (at(2025, 3, 10, 18), None, at(2025, 3, 11, 7, 30)),  # after hours: next morning
        (at(2025, 3, 9, 10), None, at(2025, 3, 10, 7, 30)),  # Sunday
        (at(2025, 3, 10, 14, 59), CUTOFF, at(2025, 3, 10, 14, 59)),  # just before the cut-off
        (at(2025, 3, 10, 15), CUTOFF, at(2025, 3, 11, 7, 30)),  # at the cut-off: next working day
        (at(2025, 3, 10, 16, 30), CUTOFF, at(2025, 3, 11, 7, 30)),
        (at(2025, 3, 10, 12), CUTOFF, at(2025, 3, 10, 13)),  # lunch, before the cut-off
        (at(2025, 3, 10, 6), CUTOFF, at(2025, 3, 10, 7, 30)),  # before opening
        (at(2025, 3, 9, 10), CUTOFF, at(2025, 3, 10, 7, 30)),  # a Sunday morning is before 15:00 but off
        (at(2025, 1, 24, 15), CUTOFF, at(2025, 2, 3, 7, 30)),  # Friday before Tết 2025, at the cut-off
        (at(2025, 4, 26, 10), CUTOFF, at(2025, 4, 26, 10)),  # the make-up Saturday is a working day
    ],
)
def test_counting_start(received_at: datetime, cutoff: time | None, expected: datetime) -> None:
    assert counting_start(received_at, CAL, cutoff) == expected


# ----------------------------------------------------------------------------- units of processing time


@pytest.mark.parametrize(
    ("received_at", "processing_time", "expected"),
    [
        # The DOMAIN example: Friday 24/1/2025 15:00, 3 working days, Tết 27/1-31/1: Wednesday 5/2 15:00.
        (at(2025, 1, 24, 15), working_days("3"), at(2025, 2, 5, 15)),
        # Tết 2026 (16/2-20/2 off): Friday 13/2 10:00 + 1 working day is Monday 23/2 10:00.
        (at(2026, 2, 13, 10), working_days("1"), at(2026, 2, 23, 10)),
        # The make-up Saturday 26/4/2025 counts, Friday 2/5/2025 does not.
        (at(2025, 4, 25, 9), working_days("1"), at(2025, 4, 26, 9)),
        (at(2025, 4, 29, 9), working_days("1"), at(2025, 5, 5, 9)),
        # 2024: 29/4 off (with 30/4 and 1/5), Saturday 4/5 worked.
        (at(2024, 4, 26, 9), working_days("3"), at(2024, 5, 4, 9)),
        # 2026: Saturday 22/8 worked, 31/8, 1/9 and 2/9 off.
        (at(2026, 8, 21, 9), working_days("1"), at(2026, 8, 22, 9)),
        (at(2026, 8, 28, 9), working_days("1"), at(2026, 9, 3, 9)),
        # 24/11/2026 is off.
        (at(2026, 11, 23, 9), working_days("1"), at(2026, 11, 25, 9)),
        # Received after hours / at lunch / on a Sunday: counting starts at the next session.
        (at(2025, 3, 10, 18), working_days("1"), at(2025, 3, 11, 17)),
        # From 13:00 a full day ends at Tuesday's 11:30, the earliest instant with 480 minutes behind it.
        (at(2025, 3, 10, 12), working_days("1"), at(2025, 3, 11, 11, 30)),
        (at(2025, 3, 9, 10), working_days("2"), at(2025, 3, 11, 17)),
        # Half a working day (240 minutes) and one and a half.
        (at(2025, 3, 10, 10), working_days("0.5"), at(2025, 3, 10, 15, 30)),
        (at(2025, 3, 10, 10), working_days("1.5"), at(2025, 3, 11, 15, 30)),
        # A fraction of a minute rounds up: the legal time is never shortened.
        (at(2025, 3, 10, 10), working_days("0.001"), at(2025, 3, 10, 10, 1)),
        # 4 working hours, from Friday afternoon across the weekend, and from lunch.
        (at(2025, 3, 7, 15), ProcessingTime(Decimal(4), TimeUnit.WORKING_HOURS), at(2025, 3, 10, 9, 30)),
        (at(2025, 3, 10, 12), ProcessingTime(Decimal(4), TimeUnit.WORKING_HOURS), at(2025, 3, 10, 17)),
        (at(2025, 3, 10, 8), ProcessingTime(Decimal("1.5"), TimeUnit.WORKING_HOURS), at(2025, 3, 10, 9, 30)),
        # Calendar days: same clock time n days later, moved off a day off (Civil Code art. 148).
        (at(2025, 1, 20, 9), ProcessingTime(Decimal(4), TimeUnit.CALENDAR_DAYS), at(2025, 1, 24, 9)),
        (at(2025, 1, 20, 9), ProcessingTime(Decimal(7), TimeUnit.CALENDAR_DAYS), at(2025, 2, 3, 9)),
        (at(2025, 8, 22, 10), ProcessingTime(Decimal(10), TimeUnit.CALENDAR_DAYS), at(2025, 9, 3, 10)),
        (at(2025, 3, 7, 10), ProcessingTime(Decimal(1), TimeUnit.CALENDAR_DAYS), at(2025, 3, 10, 10)),
        # Fractional calendar days round up to whole days.
        (at(2025, 3, 10, 10), ProcessingTime(Decimal("1.5"), TimeUnit.CALENDAR_DAYS), at(2025, 3, 12, 10)),
        # Calendar days start the day after the receipt whatever its hour (Civil Code art. 147): Monday 18:00 + 2
        # days is Wednesday; received outside working time, the period runs to the end of that office day.
        (at(2025, 3, 10, 18), ProcessingTime(Decimal(2), TimeUnit.CALENDAR_DAYS), at(2025, 3, 12, 17)),
        # DOMAIN.md: received Saturday 1/2/2025 + 15 calendar days ends Sunday 16/2, so Monday 17/2 (not 18/2).
        (at(2025, 2, 1, 10), ProcessingTime(Decimal(15), TimeUnit.CALENDAR_DAYS), at(2025, 2, 17, 17)),
        # Received on a Tết holiday (Friday 31/1/2025): 15 days end Saturday 15/2, so Monday 17/2.
        (at(2025, 1, 31, 9), ProcessingTime(Decimal(15), TimeUnit.CALENDAR_DAYS), at(2025, 2, 17, 17)),
    ],
)
def test_due_date(received_at: datetime, processing_time: ProcessingTime, expected: datetime) -> None:
    result = compute_deadline(received_at, processing_time, CAL)
    assert result == Deadline(due_at=expected, paused=False)
    assert result.due_at is not None
    assert result.due_at.tzinfo is LOCAL_TZ


def test_tet_2025_by_date_and_same_time() -> None:
    result = due(at(2025, 1, 24, 15), working_days("3"))
    assert result is not None
    assert (result.date(), result.time()) == (CAL.add_working_days(at(2025, 1, 24).date(), 3), time(15))


def test_calendar_days_with_a_cutoff_still_start_the_next_working_day() -> None:
    """A 15:00 cut-off moves the start whatever the unit: received Monday 16:00, counted from Tuesday's session."""
    two_days = ProcessingTime(Decimal(2), TimeUnit.CALENDAR_DAYS)
    assert compute_deadline(at(2025, 3, 10, 16), two_days, CAL, cutoff=time(15)).due_at == at(2025, 3, 13, 7, 30)
    assert compute_deadline(at(2025, 3, 10, 16), two_days, CAL).due_at == at(2025, 3, 12, 16)


def test_receipt_in_another_zone_is_counted_in_local_time() -> None:
    # 08:00 UTC is 15:00 in Hà Nội.
    assert due(datetime(2025, 1, 24, 8, tzinfo=UTC), working_days("3")) == at(2025, 2, 5, 15)


def test_no_due_date() -> None:
    assert compute_deadline(at(2025, 3, 10, 9), ProcessingTime(Decimal(0), TimeUnit.NONE), CAL) == Deadline(
        due_at=None, paused=False
    )
    open_round = [SupplementRound(at(2025, 3, 11, 9), None)]
    assert compute_deadline(
        at(2025, 3, 10, 9), ProcessingTime(Decimal(0), TimeUnit.NONE), CAL, rounds=open_round
    ) == Deadline(due_at=None, paused=True)


@pytest.mark.parametrize(
    ("received_at", "with_cutoff", "without_cutoff"),
    [
        (at(2025, 3, 10, 14, 59), at(2025, 3, 11, 14, 59), at(2025, 3, 11, 14, 59)),
        (
            at(2025, 3, 10, 15),
            at(2025, 3, 11, 17),
            at(2025, 3, 11, 15),
        ),  # with: counting starts Tuesday 07:30
        (at(2025, 1, 24, 15), at(2025, 2, 3, 17), at(2025, 2, 3, 15)),  # ... or after Tết
    ],
)
def test_cutoff(received_at: datetime, with_cutoff: datetime, without_cutoff: datetime) -> None:
    assert due(received_at, working_days("1"), cutoff=CUTOFF) == with_cutoff
    assert due(received_at, working_days("1")) == without_cutoff


def test_custom_sessions_change_the_length_of_a_day() -> None:
    cal = WorkingCalendar.from_config({"sessions": ["08:00-12:00", "13:30-17:00"]})  # 450 minutes a day
    result = compute_deadline(at(2025, 3, 10, 16), working_days("1"), cal)
    assert result.due_at == at(2025, 3, 11, 16)
    result = compute_deadline(at(2025, 3, 10, 16), working_days("0.5"), cal)
    assert result.due_at == at(2025, 3, 11, 10, 45)  # 225 minutes: 60 on Monday, 165 on Tuesday


def test_province_holiday_moves_the_due_date() -> None:
    cal = WorkingCalendar.from_config({"extra_holidays": ["2025-03-11"]})
    assert compute_deadline(at(2025, 3, 10, 9), working_days("1"), cal).due_at == at(2025, 3, 12, 9)


# --------------------------------------------------------------------------------------- supplements

# Received Monday 6/1/2025 09:00, 10 working days: due Monday 20/1 09:00 without supplements.
RECEIVED = at(2025, 1, 6, 9)
TEN_DAYS = working_days("10")
# Round 1: Wednesday 8/1 10:00 to Thursday 9/1 14:00: 330 + 300 = 630 working minutes waited.
ROUND_1 = SupplementRound(at(2025, 1, 8, 10), at(2025, 1, 9, 14))
# Round 2 spans Tết 2025: Monday 20/1 10:00 to Tuesday 4/2 09:00:
# 330 (20/1) + 4 x 480 (21/1-24/1) + 480 (3/2) + 90 (4/2) = 2820 working minutes waited.
ROUND_2 = SupplementRound(at(2025, 1, 20, 10), at(2025, 2, 4, 9))


def test_without_supplements() -> None:
    assert due(RECEIVED, TEN_DAYS) == at(2025, 1, 20, 9)


@pytest.mark.parametrize(
    ("policy", "rounds", "expected"),
    [
        # RESTART: 10 full working days from 9/1 14:00.
        (SupplementPolicy.RESTART, [ROUND_1], at(2025, 1, 23, 14)),
        # ... then 10 full working days from 4/2 09:00 (after Tết).
        (SupplementPolicy.RESTART, [ROUND_1, ROUND_2], at(2025, 2, 18, 9)),
        # EXTEND: 20/1 09:00 + 630 minutes = 150 + 240 on 20/1, 240 on 21/1: the morning session's end.
        (SupplementPolicy.EXTEND, [ROUND_1], at(2025, 1, 21, 11, 30)),
        # ... + 2820 minutes: 21/1 11:30 is 240 into the day; 240 + 2820 = 6 days and 180 minutes.
        (SupplementPolicy.EXTEND, [ROUND_1, ROUND_2], at(2025, 2, 5, 10, 30)),
    ],
)
def test_supplement_policies(
    policy: SupplementPolicy, rounds: list[SupplementRound], expected: datetime
) -> None:
    assert compute_deadline(RECEIVED, TEN_DAYS, CAL, rounds=rounds, policy=policy) == Deadline(
        expected, False
    )


def test_restart_is_the_default_policy() -> None:
    assert due(RECEIVED, TEN_DAYS, rounds=[ROUND_1, ROUND_2]) == at(2025, 2, 18, 9)


def test_restart_uses_the_cutoff_on_the_supplement() -> None:
    late_supply = SupplementRound(at(2025, 1, 8, 10), at(2025, 1, 9, 15, 30))
    assert due(RECEIVED, TEN_DAYS, rounds=[late_supply], cutoff=CUTOFF) == at(2025, 1, 23, 17)
    assert due(RECEIVED, TEN_DAYS, rounds=[late_supply]) == at(2025, 1, 23, 15, 30)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [(SupplementPolicy.RESTART, at(2025, 1, 23, 14)), (SupplementPolicy.EXTEND, at(2025, 1, 21, 11, 30))],
)
def test_open_round_pauses_with_the_last_known_due(policy: SupplementPolicy, expected: datetime) -> None:
    rounds = [ROUND_1, SupplementRound(at(2025, 1, 20, 10), None)]
    assert compute_deadline(RECEIVED, TEN_DAYS, CAL, rounds=rounds, policy=policy) == Deadline(expected, True)


def test_round_requested_after_the_due_date_still_applies() -> None:
    # Due 20/1 09:00; supplement asked Wednesday 22/1 09:00, supplied Thursday 23/1 09:00 (480 minutes).
    late_round = [SupplementRound(at(2025, 1, 22, 9), at(2025, 1, 23, 9))]
    assert due(RECEIVED, TEN_DAYS, rounds=late_round, policy=SupplementPolicy.EXTEND) == at(2025, 1, 21, 9)
    assert due(RECEIVED, TEN_DAYS, rounds=late_round, policy=SupplementPolicy.RESTART) == at(2025, 2, 13, 9)


def test_extend_with_no_working_time_waited_keeps_the_due_date() -> None:
    # Due exactly at the end of a day; asked Saturday, supplied Sunday: nothing moves, not even to 07:30.
    received = at(2025, 3, 10, 7, 30)
    weekend = [SupplementRound(at(2025, 3, 15, 9), at(2025, 3, 16, 9))]
    assert due(received, working_days("1")) == at(2025, 3, 10, 17)
    assert due(received, working_days("1"), rounds=weekend, policy=SupplementPolicy.EXTEND) == at(
        2025, 3, 10, 17
    )


def test_extend_calendar_days_by_the_calendar_time_waited() -> None:
    seven_days = ProcessingTime(Decimal(7), TimeUnit.CALENDAR_DAYS)
    assert due(RECEIVED, seven_days) == at(2025, 1, 13, 9)
    two_days = [SupplementRound(at(2025, 1, 8, 9), at(2025, 1, 10, 9))]
    assert due(RECEIVED, seven_days, rounds=two_days, policy=SupplementPolicy.EXTEND) == at(2025, 1, 15, 9)
    # 14 days waited moves the due date to 27/1, in Tết: the next working day.
    into_tet = [SupplementRound(at(2025, 1, 8, 9), at(2025, 1, 22, 9))]
    assert due(RECEIVED, seven_days, rounds=into_tet, policy=SupplementPolicy.EXTEND) == at(2025, 2, 3, 9)
    # RESTART: 7 calendar days from Friday 10/1 14:00.
    restart = [SupplementRound(at(2025, 1, 8, 9), at(2025, 1, 10, 14))]
    assert due(RECEIVED, seven_days, rounds=restart, policy=SupplementPolicy.RESTART) == at(2025, 1, 17, 14)


# ---------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("amount", "unit"),
    [
        (Decimal(0), TimeUnit.WORKING_DAYS),
        (Decimal(-1), TimeUnit.WORKING_HOURS),
        (Decimal(0), "calendar_days"),
    ],
)
def test_amount_must_be_positive(amount: Decimal, unit: TimeUnit) -> None:
    with pytest.raises(ValueError, match="amount: must be > 0"):
        ProcessingTime(amount, unit)


def test_processing_time_coercion_and_rejections() -> None:
    assert ProcessingTime(3, "working_days") == ProcessingTime(Decimal(3), TimeUnit.WORKING_DAYS)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="amount: must be > 0"):
        ProcessingTime(Decimal("NaN"), TimeUnit.WORKING_DAYS)
    with pytest.raises(ValueError, match="amount: expected a Decimal"):
        ProcessingTime(0.5, TimeUnit.WORKING_DAYS)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unit: expected one of"):
        ProcessingTime(Decimal(1), "days")  # type: ignore[arg-type]


def test_supplied_before_requested_is_rejected() -> None:
    backwards = [SupplementRound(at(2025, 1, 9, 14), at(2025, 1, 8, 10))]
    with pytest.raises(ValueError, match=r"rounds\[0\]\.supplied_at: .* is before requested_at"):
        compute_deadline(RECEIVED, TEN_DAYS, CAL, rounds=backwards)


def test_only_the_last_round_may_be_open() -> None:
    rounds = [SupplementRound(at(2025, 1, 8, 10), None), ROUND_2]
    with pytest.raises(ValueError, match=r"rounds\[0\]\.supplied_at: only the last round may still be open"):
        compute_deadline(RECEIVED, TEN_DAYS, CAL, rounds=rounds)


def test_rounds_must_follow_the_receipt_and_each_other() -> None:
    with pytest.raises(ValueError, match=r"rounds\[0\]\.requested_at: .* before the receipt"):
        compute_deadline(
            RECEIVED, TEN_DAYS, CAL, rounds=[SupplementRound(at(2025, 1, 5, 9), at(2025, 1, 7, 9))]
        )
    with pytest.raises(ValueError, match=r"rounds\[1\]\.requested_at"):
        compute_deadline(RECEIVED, TEN_DAYS, CAL, rounds=[ROUND_2, ROUND_1])


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="received_at: a timezone-aware datetime is required"):
        compute_deadline(datetime(2025, 1, 24, 15), TEN_DAYS, CAL)
    with pytest.raises(ValueError, match="received_at: a timezone-aware datetime is required"):
        counting_start(datetime(2025, 1, 24, 15), CAL, CUTOFF)
    naive_round = [SupplementRound(at(2025, 1, 8, 10), datetime(2025, 1, 9, 14))]
    with pytest.raises(ValueError, match=r"rounds\[0\]\.supplied_at: a timezone-aware datetime is required"):
        compute_deadline(RECEIVED, TEN_DAYS, CAL, rounds=naive_round)

"""The Vietnamese working calendar: national holidays and swaps, provincial overrides, working sessions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import holidays
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from shared.calendar import DEFAULT_SESSIONS, LOCAL_TZ, WorkingCalendar, WorkSession

CAL = WorkingCalendar()


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ)


# ------------------------------------------------------------------------------------------ working days


@pytest.mark.parametrize(
    ("day", "working"),
    [
        # Tết 2025: closed Monday 27/1 to Friday 31/1, open again Monday 3/2.
        (date(2025, 1, 24), True),
        (date(2025, 1, 27), False),
        (date(2025, 1, 28), False),
        (date(2025, 1, 29), False),
        (date(2025, 1, 30), False),
        (date(2025, 1, 31), False),
        (date(2025, 2, 3), True),
        # Tết 2026: closed Monday 16/2 to Friday 20/2.
        (date(2026, 2, 13), True),
        (date(2026, 2, 16), False),
        (date(2026, 2, 17), False),
        (date(2026, 2, 18), False),
        (date(2026, 2, 19), False),
        (date(2026, 2, 20), False),
        (date(2026, 2, 23), True),
        # 2/9/2025 and its adjacent day 1/9.
        (date(2025, 8, 29), True),
        (date(2025, 9, 1), False),
        (date(2025, 9, 2), False),
        (date(2025, 9, 3), True),
        # 2025 swap: Friday 2/5 off, Saturday 26/4 worked; an ordinary Saturday and Sunday stay off.
        (date(2025, 4, 26), True),
        (date(2025, 4, 27), False),
        (date(2025, 4, 19), False),
        (date(2025, 4, 30), False),
        (date(2025, 5, 1), False),
        (date(2025, 5, 2), False),
        # 2024 swap: Monday 29/4 off, Saturday 4/5 worked.
        (date(2024, 4, 29), False),
        (date(2024, 5, 4), True),
        # 2026 swap: Monday 31/8 off, Saturday 22/8 worked; 1/9 and 2/9 off.
        (date(2026, 8, 22), True),
        (date(2026, 8, 31), False),
        (date(2026, 9, 1), False),
        (date(2026, 9, 2), False),
        # Vietnam Cultural Day 24/11 is a holiday from 2026 only.
        (date(2025, 11, 24), True),
        (date(2026, 11, 24), False),
        # Hùng Kings' day 2026 falls on Sunday 26/4: Monday 27/4 is off instead.
        (date(2026, 4, 27), False),
        # Beyond the years `holidays` knows: plain Monday-Friday, no error.
        (date(2150, 1, 1), True),
        (date(2150, 1, 3), False),
    ],
)
def test_is_working_day(day: date, working: bool) -> None:
    assert CAL.is_working_day(day) is working


def test_is_working_day_rejects_a_datetime() -> None:
    with pytest.raises(ValueError, match="a date is required"):
        CAL.is_working_day(at(2025, 1, 24, 15))


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2025, 1, 24), 3, date(2025, 2, 5)),  # the DOMAIN example: Tết 2025
        (date(2025, 1, 24), 1, date(2025, 2, 3)),
        (date(2026, 2, 13), 1, date(2026, 2, 23)),  # Tết 2026
        (date(2025, 4, 25), 1, date(2025, 4, 26)),  # make-up Saturday counts
        (date(2025, 4, 29), 1, date(2025, 5, 5)),  # 30/4, 1/5, 2/5 and the weekend off
        (date(2025, 8, 29), 1, date(2025, 9, 3)),
        (date(2025, 12, 31), 1, date(2026, 1, 2)),  # across the year end, 1/1 off
        (date(2025, 12, 26), 30, date(2026, 2, 9)),
        (date(2025, 1, 27), 0, date(2025, 2, 3)),  # n = 0: the day itself if working, else the next one
        (date(2025, 1, 24), 0, date(2025, 1, 24)),
    ],
)
def test_add_working_days(start: date, n: int, expected: date) -> None:
    assert CAL.add_working_days(start, n) == expected


def test_add_working_days_rejects_negative() -> None:
    with pytest.raises(ValueError, match="n must be >= 0"):
        CAL.add_working_days(date(2025, 1, 24), -1)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2025, 1, 20), 4, date(2025, 1, 24)),
        (date(2025, 1, 20), 7, date(2025, 2, 3)),  # lands on Tết (27/1): moves to the next working day
        (date(2025, 4, 21), 5, date(2025, 4, 26)),  # lands on the make-up Saturday, which is a working day
        (date(2025, 4, 21), 6, date(2025, 4, 28)),  # lands on a Sunday
        (date(2025, 8, 25), 7, date(2025, 9, 3)),  # lands on 1/9 (off with 2/9)
        (date(2026, 11, 17), 7, date(2026, 11, 25)),  # lands on 24/11/2026
    ],
)
def test_add_calendar_days(start: date, n: int, expected: date) -> None:
    assert CAL.add_calendar_days(start, n) == expected


# --------------------------------------------------------------------------------------------- instants


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        (at(2025, 3, 10, 9, 15), at(2025, 3, 10, 9, 15)),  # inside the morning session
        (at(2025, 3, 10, 6), at(2025, 3, 10, 7, 30)),  # before opening
        (at(2025, 3, 10, 12), at(2025, 3, 10, 13)),  # lunch
        (at(2025, 3, 10, 11, 30), at(2025, 3, 10, 13)),  # a session end is already outside it
        (at(2025, 3, 10, 17), at(2025, 3, 11, 7, 30)),  # after hours
        (at(2025, 3, 7, 18), at(2025, 3, 10, 7, 30)),  # Friday evening
        (at(2025, 3, 9, 10), at(2025, 3, 10, 7, 30)),  # Sunday
        (at(2025, 1, 24, 17, 30), at(2025, 2, 3, 7, 30)),  # the evening before Tết 2025
    ],
)
def test_next_working_instant(t: datetime, expected: datetime) -> None:
    result = CAL.next_working_instant(t)
    assert result == expected
    assert result.tzinfo is LOCAL_TZ


def test_instants_in_another_zone_are_read_as_local_time() -> None:
    # 08:00 UTC is 15:00 in Hà Nội, inside the afternoon session.
    result = CAL.next_working_instant(datetime(2025, 1, 24, 8, tzinfo=UTC))
    assert (result.tzinfo, result.replace(tzinfo=None)) == (LOCAL_TZ, datetime(2025, 1, 24, 15))
    # 10:30 UTC is 17:30 local: after hours, so Monday after Tết.
    assert CAL.next_working_instant(datetime(2025, 1, 24, 10, 30, tzinfo=UTC)) == at(2025, 2, 3, 7, 30)


@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        (at(2025, 1, 24, 15), 3 * 480, at(2025, 2, 5, 15)),  # Friday 15:00 + 3 days across Tết 2025
        (at(2026, 2, 13, 15), 480, at(2026, 2, 23, 15)),  # across Tết 2026
        (at(2025, 3, 10, 13), 240, at(2025, 3, 10, 17)),  # lands on the day's end: 17:00, not next morning
        (at(2025, 3, 10, 7, 30), 240, at(2025, 3, 10, 11, 30)),  # lands on the morning's end
        (at(2025, 3, 10, 11, 29), 2, at(2025, 3, 10, 13, 1)),  # across lunch
        (at(2025, 3, 10, 7, 30), 480, at(2025, 3, 10, 17)),
        (at(2025, 3, 7, 15), 240, at(2025, 3, 10, 9, 30)),  # 4 working hours across a weekend
        (at(2025, 3, 10, 10), 240, at(2025, 3, 10, 15, 30)),  # half a day across lunch
        (at(2025, 3, 9, 10), 60, at(2025, 3, 10, 8, 30)),  # a Sunday start counts from Monday 07:30
        (at(2025, 3, 10, 12, 15), 30, at(2025, 3, 10, 13, 30)),  # a lunch start counts from 13:00
        (at(2025, 3, 10, 12, 15), 0, at(2025, 3, 10, 13)),  # zero minutes: the next working instant
        (at(2025, 4, 25, 15), 480, at(2025, 4, 26, 15)),  # into the make-up Saturday
        (at(2025, 4, 29, 10), 480, at(2025, 5, 5, 10)),  # over 30/4, 1/5, the swapped 2/5 and a weekend
        (at(2025, 12, 31, 16), 120, at(2026, 1, 2, 8, 30)),  # over New Year's day
    ],
)
def test_add_working_minutes(start: datetime, minutes: int, expected: datetime) -> None:
    result = CAL.add_working_minutes(start, minutes)
    assert result == expected
    assert result.tzinfo is LOCAL_TZ


def test_add_working_minutes_keeps_seconds() -> None:
    start = datetime(2025, 3, 10, 9, 0, 30, 250, tzinfo=LOCAL_TZ)
    assert CAL.add_working_minutes(start, 480) == datetime(2025, 3, 11, 9, 0, 30, 250, tzinfo=LOCAL_TZ)


def test_add_working_minutes_rejects_negative() -> None:
    with pytest.raises(ValueError, match="minutes must be >= 0"):
        CAL.add_working_minutes(at(2025, 3, 10, 9), -1)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (at(2025, 3, 10, 11), at(2025, 3, 10, 13, 30), 60),  # across lunch
        (at(2025, 3, 10, 12), at(2025, 3, 10, 12, 45), 0),  # inside lunch
        (at(2025, 3, 7, 16), at(2025, 3, 10, 8), 90),  # across a weekend
        (at(2025, 3, 8, 10), at(2025, 3, 10, 8), 30),  # from a Saturday
        (at(2025, 3, 7, 16), at(2025, 3, 8, 10), 60),  # to a Saturday
        (at(2025, 1, 24, 15), at(2025, 2, 5, 15), 3 * 480),  # across Tết
        (at(2025, 3, 10, 9), at(2025, 3, 10, 9), 0),
        (at(2025, 3, 10, 10), at(2025, 3, 10, 9), 0),  # b before a
        (at(2024, 12, 31, 7, 30), at(2026, 1, 1, 7, 30), 251 * 480),  # working days in 2025, plus 31/12
    ],
)
def test_working_minutes_between(a: datetime, b: datetime, expected: int) -> None:
    assert CAL.working_minutes_between(a, b) == expected


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2025, 3, 10, 9)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.next_working_instant(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.add_working_minutes(naive, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.working_minutes_between(at(2025, 3, 10, 9), naive)


# ---------------------------------------------------------------------------------------- configuration


def test_config_adds_a_holiday_removes_one_and_adds_a_workday() -> None:
    cal = WorkingCalendar.from_config(
        {
            "extra_holidays": ["2025-03-14", date(2025, 4, 26)],  # a local holiday; cancel a make-up Saturday
            "removed_holidays": ["2025-05-02"],
            "extra_workdays": ["2025-03-15"],
        }
    )
    assert [cal.is_working_day(d) for d in (date(2025, 3, 14), date(2025, 4, 26), date(2025, 5, 2))] == [
        False,
        False,
        True,
    ]
    assert cal.is_working_day(date(2025, 3, 15)) is True
    assert cal.add_working_days(date(2025, 3, 13), 1) == date(2025, 3, 15)
    assert cal.add_working_days(date(2025, 4, 29), 1) == date(2025, 5, 2)
    assert cal.add_working_minutes(at(2025, 3, 13, 15), 480) == at(2025, 3, 15, 15)
    # Overrides belong to that calendar only: the national one is unchanged.
    assert [CAL.is_working_day(d) for d in (date(2025, 3, 14), date(2025, 4, 26), date(2025, 5, 2))] == [
        True,
        True,
        False,
    ]


def test_removing_a_weekend_holiday_does_not_open_the_weekend() -> None:
    cal = WorkingCalendar.from_config({"removed_holidays": ["2025-02-01"]})  # Saturday, 4th day of Tết
    assert cal.is_working_day(date(2025, 2, 1)) is False


def test_config_sessions() -> None:
    cal = WorkingCalendar.from_config({"sessions": ["08:00-12:00", "13:30-17:00"]})
    assert cal.minutes_per_day == 450
    assert cal.sessions == (WorkSession(time(8), time(12)), WorkSession(time(13, 30), time(17)))
    assert cal.next_working_instant(at(2025, 3, 10, 7, 45)) == at(2025, 3, 10, 8)
    assert cal.add_working_minutes(at(2025, 3, 10, 11), 450) == at(2025, 3, 11, 11)
    assert cal.add_working_minutes(at(2025, 3, 10, 11), 60) == at(2025, 3, 10, 12)
    assert cal.add_working_minutes(at(2025, 3, 10, 11), 61) == at(2025, 3, 10, 13, 31)


def test_default_calendar() -> None:
    assert CAL.minutes_per_day == 480
    assert CAL.sessions == DEFAULT_SESSIONS
    assert WorkingCalendar.from_config({}).minutes_per_day == 480
    assert WorkingCalendar.from_config({"extra_holidays": None}).is_working_day(date(2025, 3, 14)) is True


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({"extra_holidays": ["2025-13-01"]}, r"extra_holidays: not an ISO date.*'2025-13-01'"),
        ({"extra_workdays": ["26/04/2025"]}, r"extra_workdays: not an ISO date.*'26/04/2025'"),
        ({"removed_holidays": [20250502]}, r"removed_holidays: not an ISO date.*20250502"),
        ({"extra_holidays": [datetime(2025, 3, 14, 8)]}, r"extra_holidays: not an ISO date"),
        ({"extra_holidays": "2025-03-14"}, r"extra_holidays: expected a list, got '2025-03-14'"),
        ({"sessions": ["7h30-11h30"]}, r"sessions: expected 'HH:MM-HH:MM', got '7h30-11h30'"),
        ({"sessions": ["11:30-07:30"]}, r"sessions: invalid session '11:30-07:30'"),
        ({"sessions": ["25:00-26:00"]}, r"sessions: invalid session '25:00-26:00'"),
        ({"sessions": ["07:30-11:30", "11:00-17:00"]}, r"sessions: must be in order and not overlap"),
        ({"sessions": []}, r"sessions: at least one"),
        ({"extra_holiday": ["2025-03-14"]}, r"unknown working-calendar setting\(s\) \['extra_holiday'\]"),
        (
            {"extra_holidays": ["2025-03-14"], "extra_workdays": ["2025-03-14"]},
            r"extra_holidays and extra_workdays both contain \['2025-03-14'\]",
        ),
        (
            {"extra_holidays": ["2025-05-02"], "removed_holidays": ["2025-05-02"]},
            r"extra_holidays and removed_holidays both contain \['2025-05-02'\]",
        ),
    ],
)
def test_invalid_config_names_the_key_and_the_value(cfg: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkingCalendar.from_config(cfg)


def test_work_session_validation() -> None:
    with pytest.raises(ValueError, match="start before it ends"):
        WorkSession(time(13), time(13))
    with pytest.raises(ValueError, match="whole minute"):
        WorkSession(time(7, 30, 15), time(11, 30))


# ------------------------------------------------------------------------------------------- properties

NATIONAL = holidays.country_holidays("VN")

minute_instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda t: t.replace(second=0, microsecond=0, tzinfo=LOCAL_TZ)
)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2110, 12, 31)), st.integers(1, 400))
def test_add_working_days_agrees_with_holidays(start: date, n: int) -> None:
    assert CAL.add_working_days(start, n) == NATIONAL.get_nth_working_day(start, n)


@given(minute_instants, st.integers(0, 30 * 480))
def test_working_minutes_between_measures_what_add_working_minutes_added(
    start: datetime, minutes: int
) -> None:
    assert CAL.working_minutes_between(start, CAL.add_working_minutes(start, minutes)) == minutes


def inside_session(day: date, session: WorkSession, minute: int) -> datetime:
    """The instant ``minute`` minutes into ``session`` on the first working day from ``day``."""
    return datetime.combine(CAL.add_working_days(day, 0), session.start, tzinfo=LOCAL_TZ) + timedelta(
        minutes=minute
    )


# Instants strictly inside a session of a working day (never at a session start). A session start has the same
# working position as the previous session's end, and add_working_minutes answers with the earlier of the two,
# so only instants strictly inside a session are reached exactly.
inside_sessions = st.builds(
    inside_session,
    st.dates(date(2024, 1, 1), date(2027, 12, 31)),
    st.sampled_from(DEFAULT_SESSIONS),
    st.integers(1, 239),  # both default sessions last 240 minutes
)


@given(minute_instants, st.integers(0, 40), st.sampled_from(DEFAULT_SESSIONS), st.integers(1, 239))
def test_add_working_minutes_reaches_b_inside_working_time(
    a: datetime, days_later: int, session: WorkSession, minute: int
) -> None:
    b = inside_session(a.date() + timedelta(days=days_later), session, minute)
    assume(b >= CAL.next_working_instant(a))
    assert CAL.add_working_minutes(a, CAL.working_minutes_between(a, b)) == b


@given(minute_instants, minute_instants, minute_instants)
def test_working_minutes_between_is_additive(a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    assert CAL.working_minutes_between(a, b) + CAL.working_minutes_between(b, c) == (
        CAL.working_minutes_between(a, c)
    )


@given(minute_instants, st.integers(0, 5000), st.integers(1, 5000))
def test_add_working_minutes_composes(start: datetime, first: int, second: int) -> None:
    assert CAL.add_working_minutes(CAL.add_working_minutes(start, first), second) == (
        CAL.add_working_minutes(start, first + second)
    )


@given(inside_sessions, st.integers(1, 30))
def test_working_day_spans_match_the_date_rule(received: datetime, n: int) -> None:
    # Received inside a session, n working days of minutes end on the n-th working day after, same time.
    due = CAL.add_working_minutes(received, n * CAL.minutes_per_day)
    assert (due.date(), due.time()) == (CAL.add_working_days(received.date(), n), received.time())


def test_a_year_boundary_walk_matches_day_by_day_counting() -> None:
    start = date(2024, 12, 20)
    days = [start + timedelta(days=i) for i in range(1, 80)]
    expected = [d for d in days if CAL.is_working_day(d)]
    assert [CAL.add_working_days(start, n) for n in range(1, len(expected) + 1)] == expected
    assert expected[:3] == [date(2024, 12, 23), date(2024, 12, 24), date(2024, 12, 25)]

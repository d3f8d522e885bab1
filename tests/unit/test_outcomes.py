"""Early / on time / late, and overdue, at date and at minute granularity."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.dossiers.outcomes import Granularity, Outcome, classify_finished, is_overdue
from shared.calendar import LOCAL_TZ

DUE = datetime(2025, 2, 5, 15, tzinfo=LOCAL_TZ)  # Wednesday after Tết 2025, 15:00


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=LOCAL_TZ)


@pytest.mark.parametrize(
    ("finished_at", "by_date", "by_minute"),
    [
        (at(2025, 2, 4, 16), Outcome.EARLY, Outcome.EARLY),  # the day before
        (at(2025, 2, 5, 8), Outcome.ON_TIME, Outcome.ON_TIME),  # due day, before the due time
        (at(2025, 2, 5, 15), Outcome.ON_TIME, Outcome.ON_TIME),  # exactly at the due time
        (at(2025, 2, 5, 15, 0, 59), Outcome.ON_TIME, Outcome.ON_TIME),  # same minute: truncated
        (at(2025, 2, 5, 15, 1), Outcome.ON_TIME, Outcome.LATE),  # the two granularities disagree here
        (at(2025, 2, 5, 23, 59), Outcome.ON_TIME, Outcome.LATE),
        (at(2025, 2, 6, 7, 30), Outcome.LATE, Outcome.LATE),  # the next day
    ],
)
def test_classify_finished(finished_at: datetime, by_date: Outcome, by_minute: Outcome) -> None:
    assert classify_finished(finished_at, DUE) is by_date
    assert classify_finished(finished_at, DUE, Granularity.DATE) is by_date
    assert classify_finished(finished_at, DUE, Granularity.MINUTE) is by_minute


def test_dates_are_local_dates() -> None:
    # 18:00 UTC on 4/2 is 01:00 on 5/2 in Hà Nội: the due date itself, not the day before.
    assert classify_finished(datetime(2025, 2, 4, 18, tzinfo=UTC), DUE) is Outcome.ON_TIME
    # 17:30 UTC on 5/2 is already 00:30 on 6/2 in Hà Nội: the day after the due date.
    assert classify_finished(datetime(2025, 2, 5, 17, 30, tzinfo=UTC), DUE) is Outcome.LATE


def test_no_deadline_is_on_time() -> None:
    assert classify_finished(at(2030, 1, 1), None) is Outcome.ON_TIME
    assert classify_finished(at(2030, 1, 1), None, Granularity.MINUTE) is Outcome.ON_TIME


@pytest.mark.parametrize(
    ("as_of", "by_date", "by_minute"),
    [
        (at(2025, 2, 4, 16), False, False),
        (at(2025, 2, 5, 15), False, False),
        (at(2025, 2, 5, 15, 0, 30), False, False),  # same minute as the due time
        (at(2025, 2, 5, 15, 1), False, True),  # past the due minute, still the due date
        (at(2025, 2, 5, 23, 59), False, True),
        (at(2025, 2, 6, 0, 0), True, True),  # the day after the due date
    ],
)
def test_is_overdue(as_of: datetime, by_date: bool, by_minute: bool) -> None:
    assert is_overdue(DUE, as_of) is by_date
    assert is_overdue(DUE, as_of, Granularity.DATE) is by_date
    assert is_overdue(DUE, as_of, Granularity.MINUTE) is by_minute


def test_paused_or_no_deadline_is_never_overdue() -> None:
    long_after = at(2025, 6, 1, 9)
    assert is_overdue(DUE, long_after) is True
    assert is_overdue(DUE, long_after, paused=True) is False
    assert is_overdue(DUE, long_after, Granularity.MINUTE, paused=True) is False
    assert is_overdue(None, long_after) is False
    assert is_overdue(None, long_after, Granularity.MINUTE) is False


def test_overdue_dates_are_local_dates() -> None:
    # 17:00 UTC on 5/2 is already 00:00 on 6/2 in Hà Nội.
    assert is_overdue(DUE, datetime(2025, 2, 5, 17, tzinfo=UTC)) is True
    assert is_overdue(DUE, datetime(2025, 2, 5, 16, 59, tzinfo=UTC)) is False


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2025, 2, 5, 15)
    with pytest.raises(ValueError, match="finished_at: a timezone-aware datetime is required"):
        classify_finished(naive, DUE)
    with pytest.raises(ValueError, match="due_at: a timezone-aware datetime is required"):
        classify_finished(DUE, naive)
    with pytest.raises(ValueError, match="finished_at: a timezone-aware datetime is required"):
        classify_finished(naive, None)
    with pytest.raises(ValueError, match="as_of: a timezone-aware datetime is required"):
        is_overdue(DUE, naive)
    with pytest.raises(ValueError, match="due_at: a timezone-aware datetime is required"):
        is_overdue(naive, DUE)

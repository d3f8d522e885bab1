"""Timeliness of a dossier: finished early, on time or late, and whether an unfinished one is overdue.

Peers disagree on granularity. Decision 766/QĐ-TTg reports compare calendar dates, so a dossier finished at
16:00 on its due date is on time even if it was due at 09:00; others compare to the minute. Both are
supported, the date comparison is the default, and every report must say which it used. Dates are local
(Asia/Ho_Chi_Minh) dates, whatever zone the instants arrive in.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum

from shared.calendar import LOCAL_TZ


class Outcome(StrEnum):
    """How a finished dossier met its due date."""

    EARLY = "early"  # trước hạn
    ON_TIME = "on_time"  # đúng hạn
    LATE = "late"  # trễ hạn


class Granularity(StrEnum):
    """What "before" and "after" the due date are measured in."""

    DATE = "date"  # local calendar dates (Decision 766 reports; the default)
    MINUTE = "minute"  # instants truncated to the minute


def classify_finished(
    finished_at: datetime, due_at: datetime | None, granularity: Granularity = Granularity.DATE
) -> Outcome:
    """Outcome of a dossier finished at ``finished_at`` against ``due_at`` (None: no deadline, so on time).

    DATE: an earlier local date is EARLY, the same date ON_TIME, a later date LATE. MINUTE: LATE only if
    finished after the due minute; otherwise EARLY on an earlier local date and ON_TIME on the due date, so
    the two granularities disagree only about a finish later on the due date itself.
    """
    finished = _local_minute(finished_at, "finished_at")
    if due_at is None:
        return Outcome.ON_TIME
    due = _local_minute(due_at, "due_at")
    if granularity is Granularity.MINUTE and finished > due:
        return Outcome.LATE
    if finished.date() < due.date():
        return Outcome.EARLY
    if finished.date() == due.date():
        return Outcome.ON_TIME
    return Outcome.LATE


def overdue_bound(as_of: datetime, granularity: Granularity = Granularity.DATE) -> datetime:
    """The instant before which a due date is past at ``as_of``: unfinished and ``due_at < bound`` is overdue.

    The one definition of "overdue" (quá hạn): :func:`is_overdue`, the statistics' SQL and their counters and the
    deadline scan all compare ``due_at`` with this bound. DATE: local midnight of ``as_of``'s date, so a dossier due
    today is never overdue today. MINUTE: ``as_of`` truncated to the minute, so a dossier that would be on time if
    finished now (see ``classify_finished``) is not overdue now. An instant keeps the SQL a range on ``due_at``.
    """
    now = _local_minute(as_of, "as_of")
    if granularity is Granularity.MINUTE:
        return now
    return now.replace(hour=0, minute=0)


def is_overdue(
    due_at: datetime | None,
    as_of: datetime,
    granularity: Granularity = Granularity.DATE,
    *,
    paused: bool = False,
) -> bool:
    """Whether a dossier still unfinished at ``as_of`` is past its due date (quá hạn), by :func:`overdue_bound`.

    A paused dossier (waiting for the applicant) or one without a deadline is never overdue.
    """
    bound = overdue_bound(as_of, granularity)
    if paused or due_at is None:
        return False
    _local_minute(due_at, "due_at")  # refuses a naive due date like every other input
    return due_at < bound


def end_of_day(day: date) -> datetime:
    """The instant a closed period ending on ``day`` is judged at (statistics' ``as_of``): 23:59:59 local."""
    return datetime.combine(day, time(23, 59, 59), LOCAL_TZ)


def first_overdue_day(due_at: datetime, granularity: Granularity = Granularity.DATE) -> date:
    """The first day ``e`` whose end (:func:`end_of_day`) finds an unfinished dossier due at ``due_at`` overdue.

    A period ending on ``e`` or later, judged at its end, counts the dossier overdue if it is still open then:
    the statistics' counters use this to turn "overdue at the period's end" into a day interval.
    """
    due_day = due_at.astimezone(LOCAL_TZ).date()
    if is_overdue(due_at, end_of_day(due_day), granularity):
        return due_day
    return due_day + timedelta(days=1)


def _local_minute(t: datetime, field: str) -> datetime:
    """``t`` in local time, truncated to the minute; naive datetimes are refused as ambiguous."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{field}: a timezone-aware datetime is required, got naive {t!r}")
    return t.astimezone(LOCAL_TZ).replace(second=0, microsecond=0)

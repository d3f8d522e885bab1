"""Timeliness of a dossier: finished early, on time or late, and whether an unfinished one is overdue.

Peers disagree on granularity. Decision 766/QĐ-TTg reports compare calendar dates, so a dossier finished at
16:00 on its due date is on time even if it was due at 09:00; others compare to the minute. Both are
supported, the date comparison is the default, and every report must say which it used. Dates are local
(Asia/Ho_Chi_Minh) dates, whatever zone the instants arrive in.
"""

from __future__ import annotations

from datetime import datetime
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


def is_overdue(
    due_at: datetime | None,
    as_of: datetime,
    granularity: Granularity = Granularity.DATE,
    *,
    paused: bool = False,
) -> bool:
    """Whether a dossier still unfinished at ``as_of`` is past its due date (quá hạn).

    DATE: only once the local date is after the due date, so a dossier due today is never overdue today.
    MINUTE: once ``as_of`` is past the due minute (truncated like ``classify_finished``, so a dossier that
    would be on time if finished now is not overdue now). A paused dossier (waiting for the applicant) or one
    without a deadline is never overdue.
    """
    now = _local_minute(as_of, "as_of")
    if paused or due_at is None:
        return False
    due = _local_minute(due_at, "due_at")
    if granularity is Granularity.MINUTE:
        return now > due
    return now.date() > due.date()


def _local_minute(t: datetime, field: str) -> datetime:
    """``t`` in local time, truncated to the minute; naive datetimes are refused as ambiguous."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{field}: a timezone-aware datetime is required, got naive {t!r}")
    return t.astimezone(LOCAL_TZ).replace(second=0, microsecond=0)

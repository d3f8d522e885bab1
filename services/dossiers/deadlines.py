"""Due dates of dossiers (ngày hẹn trả): where the legal processing time starts, and where it ends.

A procedure's processing time is counted in working days, calendar days or working hours, or the procedure
has no due date at all; the national catalogue says which. One-door systems count working days as working
time (8 hours a day in a morning and an afternoon session), so "3 working days" from a receipt at 15:00 on a
Friday ends at 15:00 on the third working day after. Some procedures have a cut-off (e.g. 15:00): a dossier
received later starts counting on the next working day.

A supplement request (yêu cầu bổ sung) stops the clock until the applicant supplies the missing papers.
What happens then is a provincial policy: the decree's practice restarts the full processing time from the
complete supplement (RESTART), the alternative pushes the due date later by the working time spent waiting
(EXTEND). Every round is kept and the rule is applied again for each, in order.

Pure functions of their inputs: no clock, no database, so the same events always give the same due date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum

from shared.calendar import LOCAL_TZ, WorkingCalendar


class TimeUnit(StrEnum):
    """How a procedure's processing time is counted (the catalogue's "ngày làm việc" / "ngày" / "giờ")."""

    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"
    WORKING_HOURS = "working_hours"
    NONE = "none"  # no due date (không quy định thời hạn)


class SupplementPolicy(StrEnum):
    """What a completed supplement does to the clock (configurable per province)."""

    RESTART = "restart"  # the full processing time starts again from the complete supplement
    EXTEND = "extend"  # the due date moves later by the time spent waiting for the applicant


@dataclass(frozen=True)
class ProcessingTime:
    """A procedure's legal processing time (thời hạn giải quyết).

    ``amount`` may be fractional (0.5 working day is 240 working minutes with the default sessions); it is a
    Decimal so that catalogue values such as 0.5 or 1.5 are exact. It must be positive unless ``unit`` is
    NONE, where it is ignored.
    """

    amount: Decimal
    unit: TimeUnit

    def __post_init__(self) -> None:
        try:
            unit = TimeUnit(self.unit)
        except ValueError:
            raise ValueError(
                f"unit: expected one of {[u.value for u in TimeUnit]}, got {self.unit!r}"
            ) from None
        object.__setattr__(self, "unit", unit)
        amount = self.amount
        if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
            raise ValueError(f"amount: expected a Decimal, got {amount!r}")
        amount = Decimal(amount)
        object.__setattr__(self, "amount", amount)
        if unit is not TimeUnit.NONE and not (amount.is_finite() and amount > 0):
            raise ValueError(f"amount: must be > 0 for {unit.value}, got {amount}")


@dataclass(frozen=True)
class SupplementRound:
    """One supplement round (yêu cầu bổ sung): asked of the applicant at ``requested_at``, supplied at
    ``supplied_at``, or None while the applicant has not yet supplied (the clock is stopped)."""

    requested_at: datetime
    supplied_at: datetime | None


@dataclass(frozen=True)
class Deadline:
    """The due date of one dossier.

    ``due_at`` is None when the procedure has no due date. ``paused`` is True while the last supplement round
    is open: the clock is stopped and ``due_at`` is the last known due, which will move once the applicant
    supplies.
    """

    due_at: datetime | None
    paused: bool


def counting_start(received_at: datetime, calendar: WorkingCalendar, cutoff: time | None) -> datetime:
    """Where the processing clock starts for a dossier received (or completed by a supplement) at
    ``received_at``.

    Normally the next working instant: a receipt after hours or at lunch starts at the next session. With a
    ``cutoff`` (e.g. 15:00), a receipt at or after the cut-off, or on a day off, starts at the first session
    of the next working day, because the desk cannot start on it that day.
    """
    if cutoff is None:
        return calendar.next_working_instant(received_at)
    local = _local(received_at, "received_at")
    if calendar.is_working_day(local.date()) and local.time() < cutoff:
        return calendar.next_working_instant(local)
    return calendar.day_start(calendar.add_working_days(local.date(), 1))


def compute_deadline(
    received_at: datetime,
    processing_time: ProcessingTime,
    calendar: WorkingCalendar,
    *,
    cutoff: time | None = None,
    rounds: Sequence[SupplementRound] = (),
    policy: SupplementPolicy = SupplementPolicy.RESTART,
) -> Deadline:
    """The due date of a dossier, after every supplement round.

    Working days and working hours are counted as working minutes from ``counting_start`` (a day is
    ``calendar.minutes_per_day``). Calendar days end at the same local clock time ``n`` days after the
    counting start's date, moved to the next working day if that is a day off (Civil Code art. 148);
    fractional calendar days round up, since a period may not be shortened.

    Supplement rounds are applied in order, each one whatever the due date was when it was requested (a
    round requested after the due date still applies). RESTART recomputes the full time from
    ``counting_start(supplied_at)``. EXTEND moves the due date later by the working minutes waited
    (``working_minutes_between(requested_at, supplied_at)``), or for calendar days by the calendar time
    waited, again moved off a day off. An open round (``supplied_at`` None) must be the last one: the
    result is then ``paused`` with the due date known before it.
    """
    _local(received_at, "received_at")
    checked_rounds = _checked_rounds(received_at, rounds)
    paused = bool(checked_rounds) and checked_rounds[-1].supplied_at is None
    if processing_time.unit is TimeUnit.NONE:
        return Deadline(due_at=None, paused=paused)

    due = _due_from(_begin(received_at, calendar, cutoff, processing_time), processing_time, calendar)
    for supplement in checked_rounds:
        if supplement.supplied_at is None:
            break
        if policy is SupplementPolicy.RESTART:
            due = _due_from(
                _begin(supplement.supplied_at, calendar, cutoff, processing_time), processing_time, calendar
            )
        else:
            due = _extended(due, supplement.requested_at, supplement.supplied_at, processing_time, calendar)
    return Deadline(due_at=due, paused=paused)


def _begin(event_at: datetime, calendar: WorkingCalendar, cutoff: time | None,
           processing_time: ProcessingTime) -> datetime:
    """Where the period runs from: the counting start, except for calendar days without a cut-off, which run from
    the event itself — the Civil Code (art. 147) starts a period in days on the day after the event, whether the
    event fell in office hours, after them or on a day off (received Saturday 1/2/2025 + 15 days: Monday 17/2)."""
    if processing_time.unit is TimeUnit.CALENDAR_DAYS and cutoff is None:
        return event_at.astimezone(LOCAL_TZ)
    return counting_start(event_at, calendar, cutoff)


def _due_from(start: datetime, processing_time: ProcessingTime, calendar: WorkingCalendar) -> datetime:
    """The due date for the full processing time counted from ``start`` (see :func:`_begin`).

    Calendar days end at the same clock time ``n`` days later when ``start`` is working time, else at the end of
    that day's last session (art. 148: a period in days runs to the end of its last day; the office's day ends
    with its last session); a last day that is a day off moves to the next working day."""
    if processing_time.unit is TimeUnit.CALENDAR_DAYS:
        local = start.astimezone(LOCAL_TZ)
        due_date = calendar.add_calendar_days(local.date(), _ceil(processing_time.amount))
        in_hours = calendar.next_working_instant(local) == local
        return datetime.combine(due_date, local.time() if in_hours else calendar.sessions[-1].end, tzinfo=LOCAL_TZ)
    return calendar.add_working_minutes(start, _working_minutes(processing_time, calendar))


def _extended(
    due: datetime,
    requested_at: datetime,
    supplied_at: datetime,
    processing_time: ProcessingTime,
    calendar: WorkingCalendar,
) -> datetime:
    """``due`` moved later by the time the applicant took to supply (EXTEND policy)."""
    if processing_time.unit is TimeUnit.CALENDAR_DAYS:
        moved = (due + (supplied_at - requested_at)).astimezone(LOCAL_TZ)
        if calendar.is_working_day(moved.date()):
            return moved
        return datetime.combine(calendar.add_calendar_days(moved.date(), 0), moved.timetz())
    waited = calendar.working_minutes_between(requested_at, supplied_at)
    # With nothing waited (asked and supplied outside working time) the due date must not move at all, not
    # even from a session end to the next morning as add_working_minutes(due, 0) would.
    return calendar.add_working_minutes(due, waited) if waited else due


def _working_minutes(processing_time: ProcessingTime, calendar: WorkingCalendar) -> int:
    """The processing time in working minutes, rounded up so that the legal time is never shortened."""
    per_unit = calendar.minutes_per_day if processing_time.unit is TimeUnit.WORKING_DAYS else 60
    return _ceil(processing_time.amount * per_unit)


def _ceil(amount: Decimal) -> int:
    return int(amount.to_integral_value(rounding=ROUND_CEILING))


def _checked_rounds(received_at: datetime, rounds: Sequence[SupplementRound]) -> list[SupplementRound]:
    """The rounds in order, rejecting impossible histories (they would silently give a wrong due date)."""
    checked = list(rounds)
    previous_end = received_at
    for index, supplement in enumerate(checked):
        requested_at = _local(supplement.requested_at, f"rounds[{index}].requested_at")
        if requested_at < previous_end:
            raise ValueError(
                f"rounds[{index}].requested_at: {requested_at.isoformat()} is before the receipt or the end "
                f"of the previous round ({previous_end.isoformat()})"
            )
        if supplement.supplied_at is None:
            if index != len(checked) - 1:
                raise ValueError(f"rounds[{index}].supplied_at: only the last round may still be open")
            break
        supplied_at = _local(supplement.supplied_at, f"rounds[{index}].supplied_at")
        if supplied_at < requested_at:
            raise ValueError(
                f"rounds[{index}].supplied_at: {supplied_at.isoformat()} is before requested_at "
                f"{requested_at.isoformat()}"
            )
        previous_end = supplied_at
    return checked


def _local(t: datetime, field: str) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{field}: a timezone-aware datetime is required, got naive {t!r}")
    return t.astimezone(LOCAL_TZ)

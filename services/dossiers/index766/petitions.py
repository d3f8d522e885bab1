"""Petitions (phản ánh, kiến nghị — PAKN): their deadlines and the board's verdicts (indicators 5.1–5.3).

766-INDEX.md §2, group 5 (V-text S1, scores V-data on 492 observations):

* deadlines count from the sending, or from the latest transfer by VPCP or another agency: a refusal within
  2 working days; handling (reaching "chờ công khai / đã công khai") within 15 working days;
* a petition still in progress is within time while the period's end (the as-of instant here) is no more
  than 15 working days after the start;
* 5.2 counts petitions handled or being handled in the period, on time being handled on or before the
  deadline or still within it; 5.3 counts petitions first received in the period, less those whose answer
  drew more dislikes than likes and those handled late.

When the petition system sends its own deadline (``due_at``), that deadline is used for the handling; the
refusal deadline stays 2 working days. S1 also subtracts petitions followed by a repeat complaint about the
result, but marks that test as not implemented on the portal: it is not applied here either (a petition's
``repeat_of`` is kept and shown).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.dossiers.index766.periods import BoardPeriod
from services.dossiers.index766.views import PetitionView
from shared.calendar import LOCAL_TZ, WorkingCalendar

__all__ = ["HANDLING_WORKING_DAYS", "REFUSAL_WORKING_DAYS", "PetitionJudgement", "judge_petition"]

HANDLING_WORKING_DAYS = 15
REFUSAL_WORKING_DAYS = 2


@dataclass(frozen=True, slots=True)
class PetitionJudgement:
    handled_or_in_progress: bool  # in 5.2's population
    received_in_period: bool  # in 5.1's and 5.3's population
    on_time: bool
    dissatisfied: bool  # more dislikes than likes on the answer, by the as-of instant
    handle_by: dt.date
    reason: str | None = None  # why 5.2 misses it (Vietnamese)


def _day(value: dt.datetime) -> dt.date:
    return value.astimezone(LOCAL_TZ).date()


def deadlines(view: PetitionView, calendar: WorkingCalendar) -> tuple[dt.date, dt.date]:
    """(handle by, refuse by), local dates."""
    start = _day(view.transferred_at or view.received_at)
    handle_by = _day(view.due_at) if view.due_at is not None else calendar.add_working_days(start,
                                                                                            HANDLING_WORKING_DAYS)
    return handle_by, calendar.add_working_days(start, REFUSAL_WORKING_DAYS)


def judge_petition(view: PetitionView, period: BoardPeriod, as_of: dt.datetime,
                   calendar: WorkingCalendar) -> PetitionJudgement:
    handle_by, refuse_by = deadlines(view, calendar)
    received = view.received_at <= as_of
    answered = view.answered_at is not None and view.answered_at <= as_of
    in_progress_population = received and _day(view.received_at) <= period.end and (
        not answered or _day(view.answered_at) >= period.start)  # type: ignore[arg-type]
    received_in_period = received and period.contains(_day(view.received_at))
    reason = None
    if answered:
        assert view.answered_at is not None
        limit = refuse_by if view.outcome == "rejected" else handle_by
        on_time = _day(view.answered_at) <= limit
        if not on_time:
            what = "Từ chối tiếp nhận" if view.outcome == "rejected" else "Trả lời"
            reason = f"{what} ngày {_day(view.answered_at):%d/%m/%Y}, hạn {limit:%d/%m/%Y}"
    else:
        on_time = _day(as_of) <= handle_by
        if not on_time:
            reason = f"Chưa trả lời, quá hạn {handle_by:%d/%m/%Y}"
    rated = view.rated_at is not None and view.rated_at <= as_of
    dissatisfied = rated and view.dislikes > view.likes
    return PetitionJudgement(in_progress_population, received_in_period, on_time, dissatisfied, handle_by, reason)

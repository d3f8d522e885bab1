"""The board's on-time test of one dossier (indicator 2.1), and which dossiers a period counts.

766-INDEX.md §2, group 2 (V-text S1; the arithmetic of the score is V-data on 164/164 published rows):

* the population is every dossier **received or processed in the period**: received in it, plus carried over
  and still processed in it (V-data: 184,513 counted vs 152,595 newly received in 8/2026);
* on time ⇔ the end of processing, less the time spent waiting for the applicant's supplements, falls on or
  before NgayHenTra (a date comparison);
* the end is the first terminal status — resolved (9), returned (10), stopped or refused (8/3), withdrawn (7,
  which counts because every dossier here was received);
* a dossier still processed at the period's end is judged at the period's end;
* a dossier waiting for a supplement the applicant has not returned is judged at the time of the request;
* more than one supplement request makes the dossier late, whatever its dates;
* without NgayHenTra, the procedure's maximum time decides: the caller passes the due date at receipt that our
  own calendar gives for it (``deadline``), or None when the procedure has no time limit (always on time).

These rules apply to the 766 figure whatever supplement policy (restart or extend) the province applies to its
own statistics (``timeliness.supplement_policy``): the board has one rule for every province.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.dossiers.deadlines import SupplementRound
from services.dossiers.index766.periods import BoardPeriod
from services.dossiers.lifecycle import TYPE_RANK
from shared.calendar import LOCAL_TZ

__all__ = ["Judgement", "in_population", "judge", "received_in_period", "rounds_from_steps"]

SUPPLEMENT_STEPS = ("dossier.supplement_requested", "dossier.supplement_received")
CLOSINGS_VI = {"finished": "Kết thúc xử lý", "withdrawn": "Rút hồ sơ", "rejected": "Từ chối, trả lại"}


@dataclass(frozen=True, slots=True)
class Judgement:
    """The board's verdict on one dossier at the as-of instant; ``reason`` says why it is late (Vietnamese)."""

    on_time: bool
    end_at: dt.datetime  # the instant compared with NgayHenTra (after subtracting supplement waits)
    state: str  # finished | withdrawn | rejected | in_progress | awaiting_supplement
    requests: int = 0  # supplement requests made by the as-of instant
    raw_end: dt.datetime | None = None  # the end before the waits were subtracted
    deadline: dt.datetime | None = None
    waited: dt.timedelta = dt.timedelta()

    @property
    def reason(self) -> str | None:
        """Why the dossier is late, as an official reads it (written only when asked: most are never shown)."""
        if self.on_time:
            return None
        if self.requests > 1:
            return f"Yêu cầu bổ sung hồ sơ {self.requests} lần (quá một lần tính là trễ hạn)"
        assert self.deadline is not None and self.raw_end is not None
        due = _vi(_day(self.deadline))
        if self.state == "in_progress":
            return f"Đang giải quyết, quá hạn {due}"
        if self.state == "awaiting_supplement":
            return f"Yêu cầu bổ sung ngày {_vi(_day(self.raw_end))}, sau hạn {due}"
        note = f" (đã trừ {_waited_vi(self.waited)} chờ bổ sung)" if self.waited else ""
        return f"{CLOSINGS_VI[self.state]} ngày {_vi(_day(self.raw_end))}{note}, hạn {due}"


def _day(value: dt.datetime) -> dt.date:
    return value.astimezone(LOCAL_TZ).date()


def _vi(day: dt.date) -> str:
    return f"{day:%d/%m/%Y}"


def in_population(received_at: dt.datetime, closed_at: dt.datetime | None, period: BoardPeriod,
                  as_of: dt.datetime) -> bool:
    """Received or processed in the period: received by its end (and by ``as_of``), and not closed before it."""
    if received_at > as_of or _day(received_at) > period.end:
        return False
    return closed_at is None or closed_at > as_of or _day(closed_at) >= period.start


def received_in_period(received_at: dt.datetime, period: BoardPeriod, as_of: dt.datetime) -> bool:
    """Newly received in the period (the population of the channel and payment indicators)."""
    return received_at <= as_of and period.contains(_day(received_at))


def judge(
    received_at: dt.datetime,
    deadline: dt.datetime | None,
    rounds: Sequence[SupplementRound],
    closing: str | None,
    closed_at: dt.datetime | None,
    as_of: dt.datetime,
) -> Judgement:
    """Whether the board counts the dossier on time at ``as_of`` (see the module's rules)."""
    closed = closing is not None and closed_at is not None and closed_at <= as_of
    if not rounds:  # most dossiers: no supplement, nothing to subtract
        raw_end = closed_at if closed else as_of
        assert raw_end is not None
        on_time = deadline is None or _day(raw_end) <= _day(deadline)
        return Judgement(on_time, raw_end, closing if closed else "in_progress", 0, raw_end,  # type: ignore[arg-type]
                         deadline)
    requests = [r for r in rounds if r.requested_at <= as_of]
    if closed:
        assert closed_at is not None and closing is not None
        raw_end, state = closed_at, closing
    else:
        open_round = requests[-1] if requests and (requests[-1].supplied_at is None
                                                   or requests[-1].supplied_at > as_of) else None
        if open_round is not None:
            raw_end, state = open_round.requested_at, "awaiting_supplement"
        else:
            raw_end, state = as_of, "in_progress"
    waited = sum(
        ((r.supplied_at - r.requested_at) for r in requests
         if r.supplied_at is not None and r.supplied_at <= raw_end),
        dt.timedelta(),
    )
    end_at = raw_end - waited
    on_time = len(requests) <= 1 and (deadline is None or _day(end_at) <= _day(deadline))
    return Judgement(on_time, end_at, state, len(requests), raw_end, deadline, waited)


def _waited_vi(waited: dt.timedelta) -> str:
    days = waited.total_seconds() / 86_400
    return f"{days:.1f}".rstrip("0").rstrip(".").replace(".", ",") + " ngày"


def rounds_from_steps(steps: Iterable[tuple[str, dt.datetime, str]],
                      closed_at: dt.datetime | None) -> tuple[SupplementRound, ...]:
    """Supplement rounds from a dossier's stored steps ``(event type, time, event id)``, paired as the
    dossier's own derivation pairs them (services.dossiers.lifecycle): in business-time order, a request opens a
    round unless one is open, a receipt of the supplement closes the open round, nothing counts after the
    closing, and a round still open at the closing ends there."""
    rounds: list[SupplementRound] = []
    ordered = sorted(steps, key=lambda s: (s[1], TYPE_RANK[s[0]], s[2]))
    for kind, time, _ in ordered:
        if closed_at is not None and time > closed_at:
            break
        is_open = bool(rounds) and rounds[-1].supplied_at is None
        if kind == "dossier.supplement_requested" and not is_open:
            rounds.append(SupplementRound(requested_at=time, supplied_at=None))
        elif kind == "dossier.supplement_received" and is_open:
            rounds[-1] = SupplementRound(requested_at=rounds[-1].requested_at, supplied_at=time)
    if closed_at is not None and rounds and rounds[-1].supplied_at is None:
        rounds[-1] = SupplementRound(requested_at=rounds[-1].requested_at, supplied_at=closed_at)
    return tuple(rounds)

"""A dossier's state, derived from all of its events — never from the order they arrived in.

Events can arrive twice, late or shuffled (several workers, replicas, redeliveries). So the state is a pure
function of the full set of a dossier's events sorted by business time: replaying any permutation gives
the same row. Events that contradict the dossier (a resolution before its receipt, a second closing) are
returned as rejections to be dead-lettered with their reason; the rest still count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from services.dossiers.catalogue import Catalogue
from services.dossiers.deadlines import (
    ProcessingTime,
    SupplementPolicy,
    SupplementRound,
    TimeUnit,
    compute_deadline,
)
from services.dossiers.outcomes import Granularity, Outcome, classify_finished
from services.dossiers.time_precedence import (
    LegalTime,
    PayloadTimeError,
    TimePrecedence,
    catalogue_time,
    legal_time,
    payload_time,
)
from services.dossiers.units import UnitTree
from shared.calendar import LOCAL_TZ, WorkingCalendar
from shared.events import CATALOGUE
from shared.local_time import local_iso

# Tie-break for events at the same instant: the natural order of a dossier's life.
TYPE_RANK = {
    "dossier.received": 0,
    "dossier.supplement_requested": 1,
    "dossier.supplement_received": 2,
    "dossier.late": 3,
    "dossier.resolved": 4,
    "dossier.returned": 5,
    "dossier.withdrawn": 6,
    "dossier.rejected": 7,
}

# National portal status codes (TrangThaiHoSo) for the derived state.
STATUS_CODES = {
    "in_progress": 4,
    "paused": 5,
    "resolved": 9,
    "returned": 10,
    "withdrawn": 7,
    "rejected": 3,
    "awaiting_receipt": 1,
}


class StoredEvent(NamedTuple):
    """An accepted event as kept in the event table: its payload is the JSON as received.

    A named tuple, not a frozen dataclass: a batch builds a couple of hundred thousand of them (each dossier's whole
    history), and a frozen dataclass's ``__init__`` sets every field through ``object.__setattr__``."""

    event_id: str
    event_type: str
    time: dt.datetime
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class TimelinessRules:
    """Everything the derivation depends on besides the events; built once per service from config."""

    calendar: WorkingCalendar
    catalogue: Catalogue
    units: UnitTree
    policy: SupplementPolicy = SupplementPolicy.RESTART
    granularity: Granularity = Granularity.DATE
    time_precedence: TimePrecedence = TimePrecedence.PAYLOAD  # whose processing time wins (time_precedence.py)


@dataclass(frozen=True)
class RejectedEvent:
    event_id: str
    field: str
    reason: str


@dataclass(frozen=True)
class PendingEvent:
    """An event that does not fit yet (its predecessor may still be in flight): ignored, kept, re-tried."""

    event_id: str
    reason: str


@dataclass
class DossierState:
    dossier_code: str
    status: str = "awaiting_receipt"
    unit_code: str | None = None
    procedure_code: str | None = None
    channel: str | None = None
    received_at: dt.datetime | None = None
    receipt_event_id: str | None = None
    processing_amount: Decimal | None = None  # the legal time in force (None when the unit is "none")
    time_unit: str | None = None
    time_source: str | None = None  # payload | catalogue
    payload_amount: Decimal | None = None
    payload_unit: str | None = None
    catalogue_amount: Decimal | None = None
    catalogue_unit: str | None = None
    time_mismatch: bool = False
    cutoff: dt.time | None = None
    due_at: dt.datetime | None = None
    onedoor_due_at: dt.datetime | None = None
    due_mismatch: bool = False
    paused: bool = False
    supplement_rounds: int = 0
    closing: str | None = None  # finished | withdrawn | rejected
    closed_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    returned_at: dt.datetime | None = None
    outcome: Outcome | None = None
    on_time_766: bool | None = None
    late_reported_at: dt.datetime | None = None
    new_due_at: dt.datetime | None = None
    applicant: dict[str, Any] | None = None

    @property
    def status_code(self) -> int:
        return STATUS_CODES[self.status]

    @staticmethod
    def local_date(value: dt.datetime | None) -> dt.date | None:
        return value.astimezone(LOCAL_TZ).date() if value is not None else None


@dataclass
class Derivation:
    state: DossierState
    rejected: list[RejectedEvent] = field(default_factory=list)
    pending: list[PendingEvent] = field(default_factory=list)


def sort_key(event: StoredEvent) -> tuple[dt.datetime, int, str]:
    return (event.time, TYPE_RANK[event.event_type], event.event_id)


def _parse_time(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def derive(dossier_code: str, events: Iterable[StoredEvent], rules: TimelinessRules) -> Derivation:
    """The dossier's state from all its events; deterministic for any permutation of ``events``."""
    # A re-sent event counts once; events that only carry Decision 766 facts (dossier.paid, .rated, …) never change
    # a dossier's timeliness: services/dossiers/index766 folds them.
    ordered = sorted({e.event_id: e for e in events if e.event_type in TYPE_RANK}.values(), key=sort_key)
    state = DossierState(dossier_code=dossier_code)
    result = Derivation(state=state)
    receipt = _accept_receipt(ordered, rules, result)
    if receipt is None:
        return result  # still waiting for dossier.received (or it was refused): nothing else can count yet
    received_at = state.received_at
    assert received_at is not None
    rounds: list[SupplementRound] = []
    for event in ordered:
        if event is receipt or event.event_type == "dossier.received":
            continue
        time_field = f"payload.{CATALOGUE[event.event_type].time_field}"
        if event.time < received_at:
            result.rejected.append(
                RejectedEvent(
                    event.event_id,
                    time_field,
                    f"{local_iso(event.time)} is before the dossier was received ({local_iso(received_at)})",
                )
            )
            continue
        problem = _apply(state, event, rounds)
        if problem is None:
            continue
        reason, final = problem
        if final:
            result.rejected.append(RejectedEvent(event.event_id, time_field, reason))
        else:
            result.pending.append(PendingEvent(event.event_id, reason))
    _settle_deadline(state, rounds, rules)
    return result


def _accept_receipt(ordered: list[StoredEvent], rules: TimelinessRules, result: Derivation) -> StoredEvent | None:
    """The first valid dossier.received; later ones for the same dossier are refused as duplicates."""
    state = result.state
    receipt: StoredEvent | None = None
    for event in ordered:
        if event.event_type != "dossier.received":
            continue
        if receipt is not None:
            result.rejected.append(
                RejectedEvent(
                    event.event_id,
                    "payload.dossier_code",
                    f"dossier {state.dossier_code} was already received by event {receipt.event_id}",
                )
            )
            continue
        payload = event.payload
        procedure = rules.catalogue.get(str(payload["procedure_code"]))
        try:
            legal = legal_time(payload_time(payload), catalogue_time(procedure), rules.time_precedence)
        except PayloadTimeError as exc:
            result.rejected.append(RejectedEvent(event.event_id, exc.field, exc.reason))
            continue
        if legal is None:
            result.rejected.append(
                RejectedEvent(
                    event.event_id,
                    "payload.procedure_code",
                    f"no processing time: procedure {payload['procedure_code']!r} is not in the procedure catalogue "
                    f"(version {rules.catalogue.version}) and the payload gives no processing_time and "
                    "processing_time_unit; import the procedure (cchc catalogue import), then replay (cchc dlq replay)",
                )
            )
            continue
        received_at = event.time
        unit = rules.units.resolve(str(payload["unit_code"]), received_at.astimezone(LOCAL_TZ).date())
        if unit is None:
            result.rejected.append(
                RejectedEvent(
                    event.event_id,
                    "payload.unit_code",
                    f"unknown unit {payload['unit_code']!r} on {received_at.astimezone(LOCAL_TZ).date().isoformat()}",
                )
            )
            continue
        receipt = event
        state.status = "in_progress"
        state.unit_code = unit.code
        state.procedure_code = procedure.code if procedure is not None else str(payload["procedure_code"])
        state.channel = payload.get("channel")
        state.received_at = received_at
        state.receipt_event_id = event.event_id
        _set_legal_time(state, legal)
        state.cutoff = procedure.cutoff if procedure is not None else None
        state.onedoor_due_at = _parse_time(payload.get("due_at"))
        state.applicant = dict(payload["applicant"]) if payload.get("applicant") else None
    return receipt


def _set_legal_time(state: DossierState, legal: LegalTime) -> None:
    """Record the time the dossier is judged by, where it came from, and both candidates (for the flag)."""

    def amount(time: ProcessingTime | None) -> Decimal | None:
        return time.amount if time is not None and time.unit is not TimeUnit.NONE else None

    state.processing_amount = amount(legal.time)
    state.time_unit = legal.time.unit.value
    state.time_source = legal.source
    state.payload_amount = amount(legal.payload)
    state.payload_unit = legal.payload.unit.value if legal.payload else None
    state.catalogue_amount = amount(legal.catalogue)
    state.catalogue_unit = legal.catalogue.unit.value if legal.catalogue else None
    state.time_mismatch = legal.mismatch


def _apply(state: DossierState, event: StoredEvent, rounds: list[SupplementRound]) -> tuple[str, bool] | None:
    """Apply one post-receipt event; returns (why it does not fit, whether that is final), or None.

    A contradiction with a closing is final. A supplement step without its counterpart is not: the other
    half may still be on its way, and the full set of events decides once it arrives.
    """
    kind = event.event_type
    if kind == "dossier.late":
        state.late_reported_at = state.late_reported_at or event.time
        state.new_due_at = _parse_time(event.payload.get("new_due_at")) or state.new_due_at
        return None
    if kind == "dossier.returned":
        if state.closing not in (None, "finished"):
            return _closed(state), True
        if state.returned_at is not None:
            return "the result was already returned", True
        state.returned_at = event.time
        state.status = "returned"
        if state.closing is None:  # result returned with no separate resolution: it finished now
            _close(state, "finished", event.time, rounds)
        return None
    if state.closing is not None:
        return _closed(state), True
    if kind == "dossier.supplement_requested":
        if rounds and rounds[-1].supplied_at is None:
            return "a supplement request is already open", False
        rounds.append(SupplementRound(requested_at=event.time, supplied_at=None))
        state.status = "paused"
        return None
    if kind == "dossier.supplement_received":
        if not rounds or rounds[-1].supplied_at is not None:
            return "no open supplement request to answer", False
        rounds[-1] = SupplementRound(requested_at=rounds[-1].requested_at, supplied_at=event.time)
        state.status = "in_progress"
        return None
    closing = {"dossier.resolved": "finished", "dossier.withdrawn": "withdrawn", "dossier.rejected": "rejected"}[kind]
    _close(state, closing, event.time, rounds)
    state.status = {"finished": "resolved", "withdrawn": "withdrawn", "rejected": "rejected"}[closing]
    return None


def _closed(state: DossierState) -> str:
    assert state.closed_at is not None
    return f"the dossier was already {state.closing} at {local_iso(state.closed_at)}"


def _close(state: DossierState, closing: str, at: dt.datetime, rounds: list[SupplementRound]) -> None:
    if rounds and rounds[-1].supplied_at is None:
        # Closed while waiting for the applicant: the wait ends here, so the clock stays stopped until now.
        rounds[-1] = SupplementRound(requested_at=rounds[-1].requested_at, supplied_at=at)
    state.closing = closing
    state.closed_at = at
    if closing == "finished":
        state.finished_at = at


def _settle_deadline(state: DossierState, rounds: list[SupplementRound], rules: TimelinessRules) -> None:
    state.supplement_rounds = len(rounds)
    assert state.received_at is not None
    unit = TimeUnit(state.time_unit or "none")
    amount = state.processing_amount if unit is not TimeUnit.NONE else None
    processing_time = ProcessingTime(amount=amount or Decimal(0), unit=unit)
    deadline = compute_deadline(
        state.received_at, processing_time, rules.calendar, cutoff=state.cutoff, rounds=rounds, policy=rules.policy
    )
    state.due_at = deadline.due_at
    state.paused = deadline.paused and state.closing is None
    if state.onedoor_due_at is not None:
        # The one-door's NgayHenTra is fixed at receipt: compare it with our due date at receipt, not after
        # supplement rounds moved it.
        at_receipt = (
            compute_deadline(state.received_at, processing_time, rules.calendar, cutoff=state.cutoff).due_at
            if rounds
            else state.due_at
        )
        if at_receipt is None:
            state.due_mismatch = True
        elif rules.granularity is Granularity.DATE:
            state.due_mismatch = state.local_date(state.onedoor_due_at) != state.local_date(at_receipt)
        else:
            state.due_mismatch = abs((state.onedoor_due_at - at_receipt).total_seconds()) >= 60
    if state.closing == "finished":
        assert state.finished_at is not None
        state.outcome = classify_finished(state.finished_at, state.due_at, rules.granularity)
        # Decision 766: more than one supplement request counts the dossier as late.
        state.on_time_766 = state.outcome is not Outcome.LATE and state.supplement_rounds <= 1

"""The Decision 766 index's adapter to the dossiers service's database: what the ingest stores, and the views the
formulas read.

**Ingest hook** (:func:`ingest_with_facts`, what the service's batch handler calls in the batch's transaction):
petition events are taken out of the batch before the timeliness ingest (``services.dossiers.ingest``, unchanged;
they have no dossier); after it, the batch's Decision 766 facts are folded into ``index766_dossier_facts`` and its
petitions into ``index766_petitions``.
Folding is order-free and idempotent (facts.py), so redeliveries and shuffled events change nothing. A dossier's row
is rewritten while the timeliness ingest holds that dossier's lock (every event of the batch is in it); petitions
are locked here, in code order. A batch without any Decision 766 fact costs nothing more than a look at its events.

**Views** (:func:`dossier_views`, :func:`petition_views`, :func:`procedure_facts`): the rows of a board period as the
pure modules expect them, with each dossier's supplement rounds rebuilt from its stored steps and its NgayHenTra
(or, without one, the due date at receipt that our calendar gives for its legal time).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.dossiers.deadlines import ProcessingTime, TimeUnit, compute_deadline
from services.dossiers.index766.facts import (
    FACT_EVENTS,
    FACT_FIELDS,
    DossierFacts,
    PetitionRecord,
    facts_of,
    fold,
    merge_petition,
    petition_facts_of,
)
from services.dossiers.index766.periods import BoardPeriod, parse_board_period
from services.dossiers.index766.tables import DossierFactsRow, PetitionRow, ProcedureFactRow, ProcedureImportRow
from services.dossiers.index766.timeliness import SUPPLEMENT_STEPS, rounds_from_steps
from services.dossiers.index766.views import DossierView, PetitionView, ProcedureFacts
from services.dossiers.ingest import IngestReport, ingest_batch
from services.dossiers.lifecycle import TimelinessRules
from services.dossiers.models import Dossier, DossierEvent
from shared.batch_consumer import Rejection
from shared.calendar import LOCAL_TZ
from shared.db import insert_ignore, upsert
from shared.events import PETITION_EVENTS, Event

__all__ = ["dossier_views", "ingest_with_facts", "petition_views", "procedure_facts", "record", "split",
           "store_import"]

_CHUNK = 5_000  # codes per IN list (SQLite's limit on variables is far above, PostgreSQL has none)
_FACT_COLUMNS = [c.name for c in DossierFactsRow.__table__.columns if c.name != "dossier_code"]  # + updated_at
_PETITION_COLUMNS = [c.name for c in PetitionRow.__table__.columns if c.name not in ("petition_code", "first_seen_at")]


# --- the ingest hook -------------------------------------------------------------------------------------------


def split(events: Sequence[Event]) -> tuple[list[Event], list[Event]]:
    """(dossier events, petition events): petitions have no dossier, so they bypass the timeliness ingest."""
    dossiers: list[Event] = []
    petitions: list[Event] = []
    for event in events:
        (petitions if event.event_type in PETITION_EVENTS else dossiers).append(event)
    return dossiers, petitions


def ingest_with_facts(session: Session, events: Sequence[Event], rules: TimelinessRules, now: dt.datetime
                      ) -> tuple[IngestReport, dict[str, Rejection]]:
    """One batch of the dossiers service: the timeliness ingest of its dossier events, then the Decision 766 facts
    of the same events and the petitions, in the caller's transaction; returns the report and every refusal. The
    dossier events' refusals are already dead-lettered through the outbox, in this transaction (marked
    ``dead_lettered``: the consumer counts them and publishes nothing); the petitions' (never stored, so refused
    again on a redelivery) are the consumer's to dead-letter."""
    dossier_events, petition_events = split(events)
    report = ingest_batch(session, dossier_events, rules, now) if dossier_events else IngestReport()
    refused = record(session, dossier_events, petition_events, report.rejections, rules, now)
    durable = {event_id: dataclasses.replace(r, dead_lettered=True) for event_id, r in report.rejections.items()}
    return report, {**durable, **refused}


def record(session: Session, dossier_events: Sequence[Event], petition_events: Sequence[Event],
           refused: Mapping[str, Rejection], rules: TimelinessRules, now: dt.datetime) -> dict[str, Rejection]:
    """Store the batch's Decision 766 facts; returns the petition events refused (with field and reason)."""
    _record_dossier_facts(session, dossier_events, refused, now)
    return _record_petitions(session, petition_events, rules, now) if petition_events else {}


def _chunks(codes: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(codes), _CHUNK):
        yield list(codes[start:start + _CHUNK])


def _record_dossier_facts(session: Session, events: Sequence[Event], refused: Mapping[str, Rejection],
                          now: dt.datetime) -> None:
    found: dict[str, list[DossierFacts]] = defaultdict(list)
    for event in events:
        kind = event.event_type
        if kind != "dossier.received" and kind not in FACT_EVENTS:
            continue
        event_id = str(event.event_id)
        if event_id in refused:
            continue
        facts = facts_of(event_id, kind, event.payload)
        if facts is not None:
            found[event.dossier_code].append(facts)
    if not found:
        return
    table = DossierFactsRow.__table__
    codes = sorted(found)
    stored: dict[str, DossierFacts] = {}
    for chunk in _chunks(codes):
        for row in session.execute(sa.select(table).where(table.c.dossier_code.in_(chunk))).mappings():
            stored[row["dossier_code"]] = DossierFacts.from_row(row)
    rows = []
    for code in codes:
        merged = fold(found[code], stored.get(code))
        if merged != stored.get(code):
            rows.append({"dossier_code": code, **merged.as_row(), "updated_at": now})
    if rows:
        session.execute(upsert(session, table, ["dossier_code"], [*_FACT_COLUMNS]), rows)


def _record_petitions(session: Session, events: Sequence[Event], rules: TimelinessRules,
                      now: dt.datetime) -> dict[str, Rejection]:
    refused: dict[str, Rejection] = {}
    found: dict[str, list[PetitionRecord]] = defaultdict(list)
    for event in events:
        payload = event.payload
        if event.event_type == "petition.received":
            day = payload["received_at"].astimezone(LOCAL_TZ).date()
            unit = rules.units.resolve(payload["unit_code"], day)
            if unit is None:
                refused[str(event.event_id)] = Rejection(
                    field="payload.unit_code", reason=f"unknown unit {payload['unit_code']!r} on {day.isoformat()}")
                continue
            payload = {**payload, "unit_code": unit.code}
        found[payload["petition_code"]].append(petition_facts_of(str(event.event_id), event.event_type, payload))
    if not found:
        return refused
    table = PetitionRow.__table__
    codes = sorted(found)
    # Create missing rows, then lock every row in code order: two batches touching one petition take turns.
    session.execute(insert_ignore(session, table), [
        {"petition_code": c, "likes": 0, "dislikes": 0, "first_seen_at": now, "updated_at": now} for c in codes])
    stored = {
        row["petition_code"]: PetitionRecord.from_row(row)
        for chunk in _chunks(codes)
        for row in session.execute(
            sa.select(table).where(table.c.petition_code.in_(chunk)).order_by(table.c.petition_code).with_for_update()
        ).mappings()
    }
    updates = []
    for code in codes:
        merged = stored[code]
        for item in found[code]:
            merged = merge_petition(merged, item)
        if merged != stored[code]:
            updates.append({**merged.as_row(), "updated_at": now})
    if updates:
        session.execute(upsert(session, table, ["petition_code"], _PETITION_COLUMNS),
                        [{**u, "first_seen_at": now} for u in updates])
    return refused


def progress(session: Session) -> dict[str, int]:
    """How many petitions and dossiers with Decision 766 facts are stored (tools wait on it)."""
    petitions = session.scalar(sa.select(sa.func.count()).select_from(PetitionRow)) or 0
    received = session.scalar(
        sa.select(sa.func.count()).select_from(PetitionRow).where(PetitionRow.received_at.is_not(None))) or 0
    facts = session.scalar(sa.select(sa.func.count()).select_from(DossierFactsRow)) or 0
    return {"petitions": int(petitions), "petitions_received": int(received), "dossiers_with_766_facts": int(facts)}


# --- views -----------------------------------------------------------------------------------------------------


def _deadline(row: Any, rules: TimelinessRules) -> dt.datetime | None:
    """NgayHenTra as the one-door sent it; else our due date at receipt (the procedure's legal time)."""
    if row.onedoor_due_at is not None:
        return row.onedoor_due_at  # type: ignore[no-any-return]
    unit = row.time_unit or "none"
    if unit == TimeUnit.NONE or row.processing_amount is None:
        return None
    if not row.supplement_rounds:
        return row.due_at  # type: ignore[no-any-return]  # no round moved it: our due date is the one at receipt
    procedure = rules.catalogue.get(row.procedure_code or "")
    time = ProcessingTime(Decimal(row.processing_amount), TimeUnit(unit))
    return compute_deadline(row.received_at, time, rules.calendar,
                            cutoff=procedure.cutoff if procedure else None).due_at


def _steps(session: Session, codes: Sequence[str]) -> dict[str, list[tuple[str, dt.datetime, str]]]:
    table = DossierEvent.__table__
    steps: dict[str, list[tuple[str, dt.datetime, str]]] = defaultdict(list)
    for chunk in _chunks(codes):
        query = sa.select(table.c.dossier_code, table.c.event_type, table.c.time, table.c.event_id).where(
            table.c.dossier_code.in_(chunk), table.c.event_type.in_(SUPPLEMENT_STEPS),
            table.c.dead_lettered_at.is_(None))
        for code, kind, time, event_id in session.execute(query):
            steps[code].append((kind, time, event_id))
    return steps


def _complaints(session: Session) -> dict[str, dt.datetime]:
    """The first petition about each dossier that has one."""
    table = PetitionRow.__table__
    query = sa.select(table.c.dossier_code, sa.func.min(table.c.received_at)).where(
        table.c.dossier_code.is_not(None), table.c.received_at.is_not(None)).group_by(table.c.dossier_code)
    return {code: first for code, first in session.execute(query)}


_VIEW_COLUMNS = ("dossier_code", "unit_code", "procedure_code", "channel", "received_at", "onedoor_due_at", "due_at",
                 "supplement_rounds", "closing", "closed_at", "processing_amount", "time_unit")
_FACTS_AT = len(_VIEW_COLUMNS)  # the facts' columns follow, in DossierFacts' order


def dossier_views(session: Session, rules: TimelinessRules, period: BoardPeriod, units: Iterable[str] | None = None,
                  *, with_applicants: bool = False, codes: Iterable[str] | None = None) -> list[DossierView]:
    """Every dossier received by the period's end and not closed before it began (of ``units``, or with these
    ``codes``, if given)."""
    d, f = Dossier.__table__, DossierFactsRow.__table__
    columns = [*(d.c[name] for name in _VIEW_COLUMNS), *(f.c[name] for name in FACT_FIELDS)]
    if with_applicants:
        columns.append(d.c.applicant)
    query = (
        sa.select(*columns)
        .select_from(d.outerjoin(f, f.c.dossier_code == d.c.dossier_code))
        .where(d.c.unit_code.is_not(None), d.c.received_date <= period.end,
               sa.or_(d.c.closed_date.is_(None), d.c.closed_date >= period.start))
        .order_by(d.c.received_at, d.c.dossier_code)
    )
    column = d.c.unit_code if codes is None else d.c.dossier_code
    wanted = sorted(set(units if codes is None else codes)) if units is not None or codes is not None else None
    rows: list[Any] = []
    if wanted is None:
        rows = list(session.execute(query))
    else:
        for chunk in _chunks(wanted):
            rows.extend(session.execute(query.where(column.in_(chunk))))
        rows.sort(key=lambda r: (r.received_at, r.dossier_code))
    steps = _steps(session, [r.dossier_code for r in rows if r.supplement_rounds])
    complaints = _complaints(session)
    empty = DossierFacts()
    facts_end = _FACTS_AT + len(FACT_FIELDS)
    pushed_at = _FACTS_AT + FACT_FIELDS.index("result_pushed")
    views = []
    for row in rows:
        code = row.dossier_code
        facts = DossierFacts(*row[_FACTS_AT:facts_end]) if row[pushed_at] is not None else empty  # a facts row
        if facts.receipt_at is not None and facts.receipt_at != row.received_at:
            facts = facts.without_receipt()  # they came with a receipt the dossier's derivation refused
        applicant = row[-1] if with_applicants else None
        views.append(DossierView(
            code, row.unit_code, row.procedure_code, row.channel, row.received_at, _deadline(row, rules),
            rounds_from_steps(steps.get(code, ()), row.closed_at) if row.supplement_rounds else (),
            row.closing, row.closed_at, facts, complaints.get(code),
            applicant.get("name") if isinstance(applicant, dict) else None,
        ))
    return views


def petition_views(session: Session, period: BoardPeriod, units: Iterable[str] | None = None) -> list[PetitionView]:
    """Petitions received by the period's end and not answered before it began."""
    p = PetitionRow.__table__
    query = sa.select(p).where(
        p.c.unit_code.is_not(None), p.c.received_at <= period.end_instant,
        sa.or_(p.c.answered_at.is_(None), p.c.answered_at >= period.start_instant)).order_by(p.c.received_at)
    if units is not None:
        query = query.where(p.c.unit_code.in_(sorted(set(units))))
    return [
        PetitionView(code=r["petition_code"], unit_code=r["unit_code"], received_at=r["received_at"],
                     transferred_at=r["transferred_at"], due_at=r["due_at"], category=r["category"],
                     dossier_code=r["dossier_code"], repeat_of=r["repeat_of"], answered_at=r["answered_at"],
                     outcome=r["outcome"], likes=r["likes"], dislikes=r["dislikes"], rated_at=r["rated_at"])
        for r in session.execute(query).mappings()
    ]


# --- procedure facts -------------------------------------------------------------------------------------------


def store_import(session: Session, period: BoardPeriod, facts: Sequence[ProcedureFacts], *, actor: str,
                 file_name: str, content: bytes, report: Mapping[str, Any], now: dt.datetime) -> int:
    """Keep one accepted import as the period's newest version; returns its id."""
    imports = ProcedureImportRow.__table__
    import_id = session.execute(imports.insert().returning(imports.c.id), {
        "period": period.label, "imported_at": now, "actor": actor, "file_name": file_name[:300],
        "sha256": hashlib.sha256(content).hexdigest(), "rows": len(facts), "report": dict(report)}).scalar_one()
    session.execute(ProcedureFactRow.__table__.insert(), [
        {"import_id": import_id, "procedure_code": f.procedure_code, "agency_code": f.agency_code or "",
         "level": f.level, "online_level": f.online_level,
         **{name: getattr(f, name) for name in _BOOLEAN_FACTS}}
        for f in facts
    ])
    return int(import_id)


_BOOLEAN_FACTS = ("published_in_period", "published_on_time", "public_update_due", "public_update_on_time",
                  "public_content_complete", "fee_bearing", "citizen_subject", "e_certified_copy")


def imports(session: Session, period: str | None = None) -> list[dict[str, Any]]:
    """Every import (newest first), or those of one period."""
    table = ProcedureImportRow.__table__
    query = sa.select(table).order_by(table.c.id.desc())
    if period is not None:
        query = query.where(table.c.period == period)
    return [dict(row) for row in session.execute(query).mappings()]


def procedure_facts(session: Session, period: BoardPeriod) -> tuple[list[ProcedureFacts], dict[str, Any] | None]:
    """The facts of the period's newest import; without one, of the newest import of a period that overlaps it,
    else of the newest earlier one (facts change slowly: the import used is named in the result)."""
    chosen = None
    candidates = imports(session)
    for rule in (lambda p: p.label == period.label,
                 lambda p: p.start <= period.end and p.end >= period.start,
                 lambda p: p.end < period.start):
        matching = [i for i in candidates if rule(parse_board_period(i["period"]))]
        if matching:
            chosen = max(matching, key=lambda i: (parse_board_period(i["period"]).end, i["id"]))
            break
    if chosen is None:
        return [], None
    table = ProcedureFactRow.__table__
    rows = session.execute(sa.select(table).where(table.c.import_id == chosen["id"]).order_by(
        table.c.procedure_code, table.c.agency_code)).mappings()
    facts = [ProcedureFacts(procedure_code=r["procedure_code"], level=r["level"], agency_code=r["agency_code"] or None,
                            online_level=r["online_level"], **{name: r[name] for name in _BOOLEAN_FACTS})
             for r in rows]
    return facts, chosen

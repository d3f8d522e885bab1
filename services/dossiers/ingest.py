"""One batch of inbound events → stored events, re-derived dossiers and dirty statistics, in one transaction.

Idempotency is the event table's primary key: an event already stored is a duplicate and changes nothing.
Concurrency (several workers, several replicas) is handled by locking the batch's dossier rows in a fixed
order before anything is read, so two batches touching one dossier serialise instead of racing; the
state is then re-derived from *all* of the dossier's events (those stored before, read under the lock, and
the batch's new ones), so arrival order never matters.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.dossiers import ingest_pg, stats_counters
from services.dossiers.ingest_pg import PAYLOAD_READ_FOR
from services.dossiers.lifecycle import Derivation, DossierState, StoredEvent, TimelinessRules, derive
from services.dossiers.models import Dossier, DossierEvent, OutboxEvent, StatsDirty
from services.dossiers.periods import PeriodKind, period_containing
from shared.batch_consumer import Rejection
from shared.db import insert_ignore, upsert
from shared.events import Event
from shared.outbox import enqueue

log = logging.getLogger(__name__)
DEAD_LETTER_EVENT = "__dead_letter__"  # outbox rows the relay sends to the dead-letter queue, not the bus
# Events one dossier may have: its whole history is loaded and re-derived for each new event, so a vendor looping
# on one dossier would otherwise make every batch touching it slower without bound. A real dossier has a few dozen.
MAX_EVENTS_PER_DOSSIER = 500


@dataclass
class IngestReport:
    rejections: dict[str, Rejection] = field(default_factory=dict)  # event_id -> why (this batch's events)
    stored: int = 0
    duplicates: int = 0
    dossiers_changed: int = 0
    receipts: list[DossierState] = field(default_factory=list)  # dossiers whose receipt this batch stored
    refused_again: int = 0  # replayed (`cchc dlq replay`) events still refused: dead-lettered again


def ingest_batch(session: Session, events: Sequence[Event], rules: TimelinessRules, now: dt.datetime, *,
                 max_events_per_dossier: int = MAX_EVENTS_PER_DOSSIER) -> IngestReport:
    report = IngestReport()
    unique: dict[str, Event] = {}
    for event in events:
        unique.setdefault(str(event.event_id), event)
    codes = sorted({e.dossier_code for e in unique.values()})
    postgres = session.get_bind().dialect.name == "postgresql"
    # Under the lock no other batch can add events to these dossiers: what is stored now is each dossier's
    # history, an event already in it is a duplicate, and the rest are new (written below, never read back).
    history, old = ingest_pg.lock_and_load(session, codes, now) if postgres else _lock_and_load(session, codes, now)
    known = {e.event_id for stored in history.values() for e in stored}
    fresh = {event_id: event for event_id, event in unique.items() if event_id not in known}
    report.duplicates = len(events) - len(fresh)
    replayed = {event_id: e for event_id, e in unique.items() if e.replayed and event_id in known}
    if replayed:
        report.refused_again = _refuse_replayed_again(session, replayed, history, rules)
    over_limit = _refuse_beyond_limit(session, fresh, history, max_events_per_dossier, report)
    report.duplicates -= over_limit
    if not fresh:
        return report
    for event_id, event in fresh.items():
        history[event.dossier_code].append(_stored(event_id, event))
    changed = sorted({e.dossier_code for e in fresh.values()})
    derivations = {code: derive(code, history[code], rules) for code in changed}
    rows = [_row(d.state, now) for d in derivations.values()]
    old_rows = [old[code] for code in changed if code in old]
    dirty = _periods_touched(rows) | _periods_touched(old_rows)  # a dossier that moved leaves a period too
    counters = stats_counters.changes(old_rows, rows, rules.granularity)  # its old contribution out, the new in
    token = uuid.uuid4().hex
    write = ingest_pg.write if postgres else _write
    new_ids = write(session, rows, dirty, fresh, now, token, counters)
    if len(new_ids) < len(fresh):
        # An event id some dossier outside the batch already uses: a duplicate after all, so it must not count.
        written = {row["dossier_code"]: row for row in rows}
        derivations.update(_without_lost(session, history, fresh, new_ids, rules, now, postgres, written))
    report.stored = len(new_ids)
    report.duplicates = len(events) - len(new_ids) - over_limit
    report.dossiers_changed = len(derivations)
    report.receipts = [d.state for d in derivations.values() if d.state.receipt_event_id in new_ids]
    rejected_rows = [r for d in derivations.values() for r in d.rejected]
    _record_rejections(session, rejected_rows, new_ids, report, now, fresh)
    return report


def _stored(event_id: str, event: Event) -> StoredEvent:
    payload = event.raw.get("payload", {}) if event.event_type in PAYLOAD_READ_FOR else {}
    return StoredEvent(event_id, event.event_type, event.time, payload)


def _without_lost(
    session: Session,
    history: dict[str, list[StoredEvent]],
    fresh: dict[str, Event],
    new_ids: set[str],
    rules: TimelinessRules,
    now: dt.datetime,
    postgres: bool,
    written: dict[str, dict[str, object]],
) -> dict[str, Derivation]:
    """Re-derive the dossiers whose events were not stored (their ids were taken) and rewrite their rows (and the
    counters: the row just written out, the re-derived one in)."""
    lost = fresh.keys() - new_ids
    codes = sorted({fresh[event_id].dossier_code for event_id in lost})
    derivations = {}
    for code in codes:
        history[code] = [e for e in history[code] if e.event_id not in lost]
        derivations[code] = derive(code, history[code], rules)
    rows = [_row(d.state, now) for d in derivations.values()]
    counters = stats_counters.changes([written[code] for code in codes], rows, rules.granularity)
    if postgres:
        ingest_pg.update_dossiers(session, rows, counters)
    else:
        session.execute(sa.update(Dossier), rows)
        stats_counters.apply(session, counters)
    return derivations


def _lock_and_load(
    session: Session, codes: list[str], now: dt.datetime
) -> tuple[dict[str, list[StoredEvent]], dict[str, dict[str, object]]]:
    """The portable lock-and-load (SQLite): every stored event of these dossiers, and the stored rows' statistics
    fields (received dossiers only), whose contribution to the counters the new rows replace."""
    _lock_dossiers(session, codes, now)
    fields = [Dossier.__table__.c[name] for name in stats_counters.ROW_FIELDS]
    old = {
        row.dossier_code: {name: getattr(row, name) for name in stats_counters.ROW_FIELDS}
        for row in session.execute(
            sa.select(Dossier.dossier_code, *fields).where(
                Dossier.dossier_code.in_(codes), Dossier.unit_code.is_not(None))
        )
    }
    return _load_events(session, codes), old


def _write(
    session: Session,
    rows: list[dict[str, object]],
    dirty: set[tuple[str, str]],
    events: dict[str, Event],
    now: dt.datetime,
    token: str,
    counters: stats_counters.Deltas,
) -> set[str]:
    """The portable writes (SQLite): dossiers, marks, counters, then the events (by id); returns the ids stored."""
    session.execute(sa.update(Dossier), rows)
    _mark_dirty(session, dirty, now, token)
    stats_counters.apply(session, counters)
    return _store_events(session, events, now)


def _lock_dossiers(session: Session, codes: list[str], now: dt.datetime) -> None:
    """Create missing rows (SQLite has a single writer, so nothing more is needed to serialise batches)."""
    session.execute(
        insert_ignore(session, Dossier.__table__),
        [
            {
                "dossier_code": c,
                "status": "awaiting_receipt",
                "status_code": 1,
                "due_mismatch": False,
                "paused": False,
                "supplement_rounds": 0,
                "first_seen_at": now,
                "updated_at": now,
            }
            for c in codes
        ],
    )


def _store_events(session: Session, events: dict[str, Event], now: dt.datetime) -> set[str]:
    rows = [
        {
            "event_id": event_id,
            "dossier_code": e.dossier_code,
            "event_type": e.event_type,
            "time": e.time,
            "occurred_at": e.occurred_at,
            "payload": e.raw.get("payload", {}),
            "source": e.source,
            "stored_at": now,
        }
        for event_id, e in events.items()
    ]
    stmt = insert_ignore(session, DossierEvent.__table__).returning(DossierEvent.__table__.c.event_id)
    return {row[0] for row in session.execute(stmt, rows)}


def _load_events(session: Session, codes: list[str]) -> dict[str, list[StoredEvent]]:
    """All stored events of these dossiers; payloads only where the derivation reads them (JSON decoding
    every payload was a third of the load time)."""
    table = DossierEvent.__table__
    payload = sa.case((table.c.event_type.in_(PAYLOAD_READ_FOR), table.c.payload), else_=sa.null())
    result = session.execute(
        sa.select(table.c.event_id, table.c.dossier_code, table.c.event_type, table.c.time, payload).where(
            table.c.dossier_code.in_(codes)
        )
    )
    by_code: dict[str, list[StoredEvent]] = defaultdict(list)
    for event_id, code, event_type, time, body in result:
        by_code[code].append(StoredEvent(event_id, event_type, time, body or {}))
    return by_code


def _row(state: DossierState, now: dt.datetime) -> dict[str, object]:
    local = DossierState.local_date
    return {
        "dossier_code": state.dossier_code,
        "status": state.status,
        "status_code": state.status_code,
        "unit_code": state.unit_code,
        "procedure_code": state.procedure_code,
        "channel": state.channel,
        "received_at": state.received_at,
        "received_date": local(state.received_at),
        "processing_amount": state.processing_amount,
        "time_unit": state.time_unit,
        "time_source": state.time_source,
        "payload_amount": state.payload_amount,
        "payload_unit": state.payload_unit,
        "catalogue_amount": state.catalogue_amount,
        "catalogue_unit": state.catalogue_unit,
        "time_mismatch": state.time_mismatch,
        "due_at": state.due_at,
        "due_date": local(state.due_at),
        "onedoor_due_at": state.onedoor_due_at,
        "due_mismatch": state.due_mismatch,
        "paused": state.paused,
        "supplement_rounds": state.supplement_rounds,
        "closing": state.closing,
        "closed_at": state.closed_at,
        "closed_date": local(state.closed_at),
        "finished_at": state.finished_at,
        "returned_at": state.returned_at,
        "outcome": state.outcome.value if state.outcome else None,
        "on_time_766": state.on_time_766,
        "late_reported_at": state.late_reported_at,
        "new_due_at": state.new_due_at,
        "applicant": state.applicant,
        "updated_at": now,
    }


def _periods_touched(rows: list[dict[str, object]]) -> set[tuple[str, str]]:
    """The yearly periods whose figures these dossiers feed: their receipt's and their closing's."""
    return {
        (unit, _year_label(day))  # type: ignore[arg-type]
        for row in rows
        if (unit := row["unit_code"]) is not None
        for day in (row["received_date"], row["closed_date"])
        if day is not None
    }


@functools.lru_cache(maxsize=4096)
def _year_label(day: dt.date) -> str:
    """Cached: a batch asks for a few hundred distinct days a thousand times."""
    return period_containing(day, PeriodKind.YEAR).label


def _record_rejections(
    session: Session, rejected: list, new_ids: set[str], report: IngestReport, now: dt.datetime,
    fresh: dict[str, Event] | None = None,
) -> None:
    """Final refusals are dead-lettered once, through the outbox, in the batch's transaction: a crash between the
    commit and the consumer's ack cannot lose the dead letter (the redelivered event is then a duplicate and adds
    no second one). This batch's own refusals keep their bytes as received; ``report.rejections`` lists them."""
    if not rejected:
        return
    table = DossierEvent.__table__
    ids = [r.event_id for r in rejected]
    already = {
        row[0]
        for row in session.execute(
            sa.select(table.c.event_id).where(table.c.event_id.in_(ids), table.c.dead_lettered_at.is_not(None))
        )
    }
    for r in rejected:
        if r.event_id in already:
            continue
        session.execute(
            sa.update(table)
            .where(table.c.event_id == r.event_id)
            .values(rejected_field=r.field, rejected_reason=r.reason[:1000], dead_lettered_at=now)
        )
        if r.event_id in new_ids and fresh and r.event_id in fresh:
            report.rejections[r.event_id] = Rejection(field=r.field, reason=r.reason)
            _dead_letter_event(session, fresh[r.event_id], r.field, r.reason, "rejected")
        else:
            _dead_letter_stored(session, r.event_id, r.field, r.reason, "rejected")


def _refuse_beyond_limit(session: Session, fresh: dict[str, Event], history: dict[str, list[StoredEvent]],
                         limit: int, report: IngestReport) -> int:
    """Take the batch's new events of a dossier only up to ``limit`` events in all; refuse (dead-letter through the
    outbox, never store) the rest. Removes them from ``fresh``; returns how many."""
    refused = 0
    room = {code: limit - len(stored) for code, stored in history.items()}
    for event_id, event in list(fresh.items()):
        code = event.dossier_code
        room.setdefault(code, limit)
        if room[code] > 0:
            room[code] -= 1
            continue
        del fresh[event_id]
        reason = f"dossier {code} already has {limit} events, the limit per dossier"
        report.rejections[event_id] = Rejection(field="payload.dossier_code", reason=reason)
        _dead_letter_event(session, event, "payload.dossier_code", reason, "rejected")
        refused += 1
    return refused


def _refuse_replayed_again(
    session: Session, replayed: dict[str, Event], history: dict[str, list[StoredEvent]], rules: TimelinessRules
) -> int:
    """Replayed events already stored and refused: if the dossier still refuses them (the cause was not fixed),
    dead-letter them again with the reason, so a replay never makes a refusal vanish as a duplicate."""
    table = DossierEvent.__table__
    marked = dict(session.execute(
        sa.select(table.c.event_id, table.c.rejected_reason)
        .where(table.c.event_id.in_(list(replayed)), table.c.dead_lettered_at.is_not(None))).all())
    count = 0
    for code in sorted({replayed[event_id].dossier_code for event_id in marked}):
        derivation = derive(code, history[code], rules)
        refused_now = {r.event_id: r for r in derivation.rejected}
        for event_id, stored_reason in marked.items():
            event = replayed[event_id]
            if event.dossier_code != code:
                continue
            refusal = refused_now.get(event_id)
            if refusal is not None:
                field_path, reason, kind = refusal.field, refusal.reason, "rejected"
            elif derivation.state.receipt_event_id is None:  # an orphan whose receipt still has not come
                field_path, reason, kind = "payload.dossier_code", str(stored_reason or "no dossier.received"), "orphan"
            else:
                continue  # the cause is gone (receipt arrived, catalogue imported): a harmless duplicate
            log.warning("replayed event %s still refused (%s: %s): dead-lettered again", event_id, field_path, reason)
            _dead_letter_event(session, event, field_path, f"still refused after a replay: {reason}", kind)
            count += 1
    return count


def _dead_letter_event(session: Session, event: Event, field_path: str, reason: str, kind: str) -> None:
    """Queue this event's dead letter for the relay, with its body as received (or as parsed, if there were no
    bytes: an event built in code)."""
    body = event.body.decode("utf-8") if event.body is not None else json.dumps(event.raw, ensure_ascii=False)
    enqueue(session, OutboxEvent, DEAD_LETTER_EVENT,
            {"body": body, "routing_key": event.event_type, "field": field_path, "reason": reason, "kind": kind})


def _dead_letter_stored(session: Session, event_id: str, field_path: str, reason: str, kind: str) -> None:
    """Rebuild the original envelope from the stored row and queue it for the dead-letter relay."""
    row = session.get(DossierEvent, event_id)
    assert row is not None
    body = {
        "event_id": row.event_id,
        "event_type": row.event_type,
        "occurred_at": row.occurred_at.isoformat(),
        "source": row.source,
        "schema_version": 1,
        "payload": row.payload,
    }
    enqueue(
        session,
        OutboxEvent,
        DEAD_LETTER_EVENT,
        {
            "body": json.dumps(body, ensure_ascii=False),
            "routing_key": row.event_type,
            "field": field_path,
            "reason": reason,
            "kind": kind,
        },
    )


def _mark_dirty(session: Session, dirty: set[tuple[str, str]], now: dt.datetime, token: str) -> None:
    """Mark (or re-mark, with a new token) the changed figures, in key order so batches cannot deadlock."""
    if not dirty:
        return
    session.execute(
        upsert(session, StatsDirty.__table__, ["unit_code", "period"], ["marked_at", "token"]),
        [{"unit_code": unit, "period": period, "marked_at": now, "token": token} for unit, period in sorted(dirty)],
    )


def dead_letter_orphans(session: Session, older_than: dt.datetime, now: dt.datetime, wait_seconds: int) -> int:
    """Events of dossiers whose dossier.received never came: dead-letter them (they stay stored, so a late
    receipt still completes the dossier and a replay is a harmless duplicate)."""
    table = DossierEvent.__table__
    orphans = session.scalars(
        sa.select(Dossier.dossier_code)
        .where(Dossier.status == "awaiting_receipt", Dossier.first_seen_at < older_than)
        .limit(1000)
    ).all()
    count = 0
    for code in orphans:
        rows = session.execute(
            sa.select(table.c.event_id, table.c.event_type).where(
                table.c.dossier_code == code, table.c.dead_lettered_at.is_(None)
            )
        ).all()
        for event_id, _ in rows:
            reason = f"no dossier.received for dossier {code} arrived within {wait_seconds} s"
            session.execute(
                sa.update(table)
                .where(table.c.event_id == event_id)
                .values(rejected_field="payload.dossier_code", rejected_reason=reason, dead_lettered_at=now)
            )
            _dead_letter_stored(session, event_id, "payload.dossier_code", reason, "orphan")
            count += 1
        session.execute(
            sa.update(Dossier).where(Dossier.dossier_code == code).values(status="orphaned", updated_at=now)
        )
    return count


def progress(session: Session) -> dict[str, int]:
    table = DossierEvent.__table__
    events, refused = session.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(sa.case((table.c.dead_lettered_at.is_not(None), 1), else_=0)), 0),
        )
    ).one()
    dossiers = session.scalar(sa.select(sa.func.count()).select_from(Dossier)) or 0
    dirty = session.scalar(sa.select(sa.func.count()).select_from(StatsDirty)) or 0
    outbox = session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent)) or 0
    return {"events_stored": int(events), "events_refused": int(refused), "dossiers": int(dossiers),
            "stats_pending": int(dirty), "outbox_pending": int(outbox)}


def rederive(session: Session, codes: list[str], rules: TimelinessRules, now: dt.datetime) -> dict[str, Derivation]:
    """Re-derive dossiers that received no new event because the rules they depend on changed (a catalogue import
    made refused receipts acceptable), under the same row locks as a batch. Events that now count lose their
    refusal; those still refused and not yet dead-lettered are dead-lettered through the outbox."""
    if not codes:
        return {}
    codes = sorted(set(codes))
    postgres = session.get_bind().dialect.name == "postgresql"
    history, old = ingest_pg.lock_and_load(session, codes, now) if postgres else _lock_and_load(session, codes, now)
    derivations = {code: derive(code, history[code], rules) for code in codes}
    rows = [_row(d.state, now) for d in derivations.values()]
    old_rows = [old[code] for code in codes if code in old]
    counters = stats_counters.changes(old_rows, rows, rules.granularity)  # as a batch: old contribution out, new in
    if postgres:
        ingest_pg.update_dossiers(session, rows, counters)
    else:
        session.execute(sa.update(Dossier), rows)
        stats_counters.apply(session, counters)
    _mark_dirty(session, _periods_touched(rows) | _periods_touched(old_rows), now, uuid.uuid4().hex)
    rejected = [r for d in derivations.values() for r in d.rejected]
    table = DossierEvent.__table__
    cleared = sa.update(table).where(table.c.dossier_code.in_(codes), table.c.rejected_field.is_not(None))
    if rejected:
        cleared = cleared.where(table.c.event_id.not_in([r.event_id for r in rejected]))
    session.execute(cleared.values(rejected_field=None, rejected_reason=None, dead_lettered_at=None))
    _record_rejections(session, rejected, set(), IngestReport(), now)
    return derivations

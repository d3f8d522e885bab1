"""The deadline scan: dossiers that just became overdue or are due soon, each announced exactly once.

"Exactly once per dossier" holds across replicas because the marker column and the outbox row are written
in one transaction, on rows locked with SKIP LOCKED: a dossier is claimed by one scanner, or by none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.dossiers.lifecycle import TimelinessRules
from services.dossiers.models import Dossier, DossierEvent, OutboxEvent, StatsDirty
from services.dossiers.outcomes import overdue_bound
from services.dossiers.periods import parse_period
from services.dossiers.statistics import build, rollup
from services.dossiers.stats_query import as_of_for, counts_by_unit
from shared.calendar import LOCAL_TZ
from shared.outbox import enqueue

SCAN_LIMIT = 1000


def backfill_in_progress(session: Session, now: dt.datetime, lag_seconds: float, quiet_seconds: float) -> bool:
    """True while events that happened long before they were stored keep arriving (a replay or catch-up)."""
    if quiet_seconds <= 0:
        return False
    recent = now - dt.timedelta(seconds=quiet_seconds)
    lag = dt.timedelta(seconds=lag_seconds)
    rows = session.execute(
        sa.select(DossierEvent.time, DossierEvent.stored_at).where(DossierEvent.stored_at > recent).limit(5000)
    )
    return any(stored_at - time > lag for time, stored_at in rows)


class HeldForBackfill(Exception):
    """Raised inside the scan's transaction to undo what it claimed: a backfill started while it ran."""


def announce_deadlines(session: Session, rules: TimelinessRules, now: dt.datetime, due_soon_working_days: int,
                       backfilling: Callable[[Session], bool]) -> tuple[int, int]:
    """Claim and announce overdue and due-soon dossiers, unless ``backfilling`` — asked before and again after.

    PostgreSQL reads each statement of a READ COMMITTED transaction at its own start, so a batch of old events
    committed between the guard's read and the claim would be announced as if the backfill had not begun: its
    dossiers' closing events may still be unread. Every dossier the claim saw was committed with its events, so
    the second look sees them; then everything claimed is undone (``HeldForBackfill``) and nothing is announced.
    """
    if backfilling(session):
        raise HeldForBackfill
    late = scan_overdue(session, rules, now)
    soon = scan_due_soon(session, rules, now, due_soon_working_days)
    if (late or soon) and backfilling(session):
        raise HeldForBackfill
    return late, soon


def _open(d: type[Dossier]) -> sa.ColumnElement[bool]:
    return sa.and_(d.closing.is_(None), sa.not_(d.paused), d.unit_code.is_not(None), d.due_at.is_not(None))


def _past_due(rules: TimelinessRules, now: dt.datetime) -> sa.ColumnElement[bool]:
    """Overdue by the one definition (``outcomes.overdue_bound``): a range on ``due_at``, so an index serves it."""
    return Dossier.due_at < overdue_bound(now, rules.granularity)


def _unannounced(d: type[Dossier]) -> sa.ColumnElement[bool]:
    """The predicate of ix_dossiers_unannounced_due, spelled as the index is, so the planner uses it."""
    return sa.and_(d.closing.is_(None), d.late_notified_at.is_(None))


def _claim(session: Session, condition: sa.ColumnElement[bool]) -> list[Dossier]:
    query = sa.select(Dossier).where(condition).order_by(Dossier.due_at).limit(SCAN_LIMIT)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def _payload(dossier: Dossier, rules: TimelinessRules, now: dt.datetime) -> dict[str, Any]:
    procedure = rules.catalogue.get(dossier.procedure_code or "")
    unit = rules.units.get(dossier.unit_code or "")
    return {
        "dossier_code": dossier.dossier_code,
        "unit_code": dossier.unit_code,
        "unit_name": unit.name if unit else None,
        "procedure_code": dossier.procedure_code,
        "procedure_name": procedure.name if procedure else None,
        "field": procedure.field if procedure else None,
        "channel": dossier.channel,
        "received_at": dossier.received_at.isoformat() if dossier.received_at else None,
        "due_at": dossier.due_at.isoformat() if dossier.due_at else None,
        "new_due_at": dossier.new_due_at.isoformat() if dossier.new_due_at else None,
        "applicant": dossier.applicant,  # personal data: needed for the apology letter
        "detected_at": now.isoformat(),
    }


def scan_overdue(session: Session, rules: TimelinessRules, now: dt.datetime) -> int:
    """Emit dossier_late for open dossiers past their due date that were never announced."""
    claimed = _claim(session, sa.and_(_unannounced(Dossier), _open(Dossier), _past_due(rules, now)))
    for dossier in claimed:
        dossier.late_notified_at = now
        enqueue(session, OutboxEvent, "dossier_late", _payload(dossier, rules, now))
    return len(claimed)


def scan_due_soon(session: Session, rules: TimelinessRules, now: dt.datetime, working_days: int) -> int:
    """Emit dossier_due_soon once for open dossiers due within ``working_days`` working days."""
    today = now.astimezone(LOCAL_TZ).date()
    horizon = rules.calendar.add_working_days(today, working_days) if working_days > 0 else today
    after_horizon = dt.datetime.combine(horizon + dt.timedelta(days=1), dt.time(0), LOCAL_TZ)  # due_date <= horizon
    claimed = _claim(
        session,
        sa.and_(
            _unannounced(Dossier),
            _open(Dossier),
            Dossier.due_at >= overdue_bound(now, rules.granularity),
            Dossier.due_at < after_horizon,
            Dossier.due_soon_notified_at.is_(None),
        ),
    )
    for dossier in claimed:
        dossier.due_soon_notified_at = now
        payload = _payload(dossier, rules, now)
        payload.pop("applicant")  # the lead's digest needs no personal data
        enqueue(session, OutboxEvent, "dossier_due_soon", payload)
    return len(claimed)


def count_overdue(session: Session, rules: TimelinessRules, now: dt.datetime) -> int:
    return session.scalar(sa.select(sa.func.count()).where(_open(Dossier), _past_due(rules, now))) or 0


def publish_timeliness(session: Session, rules: TimelinessRules, now: dt.datetime, limit: int = 500) -> int:
    """Turn coalesced 'statistics changed' marks into timeliness_updated events (unit and its ancestors).

    Replicas publish one at a time (a transaction-scoped advisory lock; the others skip their turn), and each
    event carries ``computed_at`` read after taking the lock, so a later figure always has a later stamp and
    scoring keeps it whatever order the events arrive in. A mark is deleted only if its token is unchanged:
    a batch that changed the unit's figures while this one computed has re-marked it for the next turn.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    computed_at = now
    if postgres:
        if not session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(sa.func.hashtext(
                sa.func.current_schema() + ".publish_timeliness")))):
            return 0
        computed_at = session.scalar(sa.select(sa.func.clock_timestamp()))
    marks = session.execute(
        sa.select(StatsDirty.unit_code, StatsDirty.period, StatsDirty.token)
        .order_by(StatsDirty.unit_code, StatsDirty.period).limit(limit)
    ).all()
    if not marks:
        return 0
    by_period: dict[str, set[str]] = {}
    for unit_code, period_label, _ in marks:
        codes = by_period.setdefault(period_label, set())
        if unit_code in rules.units:
            codes.add(unit_code)
            codes.update(rules.units.ancestors(unit_code))
    published = 0
    for label, codes in sorted(by_period.items()):
        period = parse_period(label)
        members = sorted({m for code in codes for m in rules.units.descendants(code)})
        totals = rollup(rules.units, counts_by_unit(session, period, now, rules.granularity, members), codes)
        as_of = as_of_for(period, now).date()
        for code in sorted(codes):
            unit = rules.units.get(code)
            assert unit is not None
            stats = build(code, unit.name, period, as_of, rules.granularity.value, totals[code])
            enqueue(session, OutboxEvent, "timeliness_updated",
                    {**stats.to_dict(), "unit_kind": unit.kind.value, "computed_at": computed_at.isoformat()})
            published += 1
    _clear_marks(session, marks)
    return published


def _clear_marks(session: Session, marks: list[Any]) -> None:
    """Delete the marks still carrying the token read; rows are locked in key order, as batches lock them."""
    table = StatsDirty.__table__
    keys = sa.tuple_(table.c.unit_code, table.c.period)
    wanted = [(unit_code, period) for unit_code, period, _ in marks]
    tokens = {(unit_code, period): token for unit_code, period, token in marks}
    locked = session.execute(
        sa.select(table.c.unit_code, table.c.period, table.c.token).where(keys.in_(wanted))
        .order_by(table.c.unit_code, table.c.period).with_for_update()
    ).all()
    unchanged = [(u, p) for u, p, token in locked if tokens.get((u, p), "") == token]
    if unchanged:
        session.execute(sa.delete(table).where(keys.in_(unchanged)))

"""The one SQL query behind every statistics figure: counts per unit for a period, grouped in the database.

Figures are computed from the dossier rows at query time rather than kept as running totals: an
unfinished dossier turns overdue merely because time passes, and a late event can change a closed
period; a grouped scan over the (unit_code, received_date) index stays in milliseconds for a province.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.dossiers.models import Dossier
from services.dossiers.outcomes import Granularity
from services.dossiers.periods import Period
from services.dossiers.statistics import Counts
from shared.calendar import LOCAL_TZ


def _count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def as_of_for(period: Period, now: dt.datetime) -> dt.datetime:
    """Unfinished dossiers are judged at the period's end, or now for a period still running."""
    end_of_period = dt.datetime.combine(period.end, dt.time(23, 59, 59), LOCAL_TZ)
    return min(end_of_period, now.astimezone(LOCAL_TZ))


def counts_by_unit(
    session: Session, period: Period, now: dt.datetime, granularity: Granularity, unit_codes: list[str] | None = None
) -> dict[str, Counts]:
    d = Dossier
    start, end = period.start, period.end
    as_of = as_of_for(period, now)
    closed_in_period = sa.and_(d.closed_date.is_not(None), d.closed_date <= end)
    finished = sa.and_(closed_in_period, d.closing == "finished")
    open_at_end = sa.or_(d.closed_date.is_(None), d.closed_date > end)
    past_due = d.due_date < as_of.date() if granularity is Granularity.DATE else d.due_at < as_of
    overdue = sa.and_(open_at_end, d.paused.is_(False), d.due_at.is_not(None), past_due)
    within = sa.and_(open_at_end, sa.not_(sa.and_(d.paused.is_(False), d.due_at.is_not(None), past_due)))
    query = (
        sa.select(
            d.unit_code,
            _count(d.received_date < start),
            _count(d.received_date >= start),
            _count(sa.and_(finished, d.outcome == "early")),
            _count(sa.and_(finished, d.outcome == "on_time")),
            _count(sa.and_(finished, d.outcome == "late")),
            _count(within),
            _count(overdue),
            _count(sa.and_(closed_in_period, d.closing == "withdrawn")),
            _count(sa.and_(closed_in_period, d.closing == "rejected")),
            _count(sa.or_(sa.and_(finished, d.on_time_766.is_(True)), sa.and_(within, d.supplement_rounds <= 1))),
            _count(sa.and_(d.received_date >= start, d.channel == "online")),
        )
        .where(
            d.unit_code.is_not(None),
            d.received_date <= end,
            sa.or_(d.closed_date.is_(None), d.closed_date >= start),
        )
        .group_by(d.unit_code)
    )
    if unit_codes is not None:
        query = query.where(d.unit_code.in_(unit_codes))
    return {row[0]: Counts(*(int(v) for v in row[1:])) for row in session.execute(query)}

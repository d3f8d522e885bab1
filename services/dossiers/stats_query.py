"""Counts per unit for a period: from the kept counters (what every figure reads), and by a full recomputation.

:func:`counts_by_unit` sums per-day counters (services/dossiers/stats_counters.py): its cost follows the number of
units and days, never the number of dossiers, so a province's year answers in the time of a month.
:func:`recount_by_unit` is the definition — one grouped scan over the dossiers — kept as the oracle that tests and
``cchc stats verify`` hold the counters to. Both judge "overdue" with ``outcomes.overdue_bound``.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.dossiers.models import Dossier, StatsDay
from services.dossiers.outcomes import Granularity, end_of_day, overdue_bound
from services.dossiers.periods import Period
from services.dossiers.statistics import Counts
from shared.calendar import LOCAL_TZ


def _count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def as_of_for(period: Period, now: dt.datetime) -> dt.datetime:
    """Unfinished dossiers are judged at the period's end, or now for a period still running."""
    return min(end_of_day(period.end), now.astimezone(LOCAL_TZ))


def recount_by_unit(
    session: Session, period: Period, now: dt.datetime, granularity: Granularity, unit_codes: list[str] | None = None
) -> dict[str, Counts]:
    """The figures' definition, recomputed from every dossier row of the period (the oracle: O(dossiers))."""
    d = Dossier
    start, end = period.start, period.end
    bound = overdue_bound(as_of_for(period, now), granularity)
    closed_in_period = sa.and_(d.closed_date.is_not(None), d.closed_date <= end)
    finished = sa.and_(closed_in_period, d.closing == "finished")
    open_at_end = sa.or_(d.closed_date.is_(None), d.closed_date > end)
    past_due = sa.and_(d.paused.is_(False), d.due_at.is_not(None), d.due_at < bound)
    overdue = sa.and_(open_at_end, past_due)
    within = sa.and_(open_at_end, sa.not_(past_due))
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


def _sum(column: sa.ColumnElement[int], condition: sa.ColumnElement[bool] | None = None) -> sa.ColumnElement[int]:
    value = column if condition is None else sa.case((condition, column), else_=0)
    return sa.func.coalesce(sa.func.sum(value), 0)


def counts_by_unit(
    session: Session, period: Period, now: dt.datetime, granularity: Granularity, unit_codes: list[str] | None = None
) -> dict[str, Counts]:
    """The period's counts per unit from the counters: equal to :func:`recount_by_unit`, at a cost of units × days.

    Ended period (judged at its end): "overdue at the end of day e" is a prefix sum. Running period (judged now):
    overdue = currently open dossiers due on a day before today (``open_due``), plus — read from the dossiers —
    those due earlier today than the bound (MINUTE) and those closed after the period's end (future-dated).
    """
    s = StatsDay
    start, end = period.start, period.end
    as_of = as_of_for(period, now)
    running = as_of < end_of_day(end)
    bound = overdue_bound(as_of, granularity)
    today = as_of.date()
    in_period = s.day >= start
    query = (
        sa.select(
            s.unit_code,
            _sum(s.open_delta, s.day < start),
            _sum(s.received, in_period),
            _sum(s.finished_early, in_period),
            _sum(s.finished_on_time, in_period),
            _sum(s.finished_late, in_period),
            _sum(s.withdrawn, in_period),
            _sum(s.rejected, in_period),
            _sum(s.finished_766, in_period),
            _sum(s.received_online, in_period),
            _sum(s.open_delta),
            _sum(s.open_le1_delta),
            _sum(s.overdue_delta),
            _sum(s.overdue_le1_delta),
            _sum(s.open_due, s.day < today),
            _sum(s.open_due_le1, s.day < today),
        )
        .where(s.day <= end)
        .group_by(s.unit_code)
    )
    if unit_codes is not None:
        query = query.where(s.unit_code.in_(unit_codes))
    sums = {row[0]: [int(v) for v in row[1:]] for row in session.execute(query)}
    extra = _overdue_from_dossiers(session, end, bound, today, unit_codes) if running else {}
    result: dict[str, Counts] = {}
    for unit, (carried, received, early, on_time, late, withdrawn, rejected, finished_766, online, open_end,
               open_le1, overdue_end, overdue_le1_end, open_due, open_due_le1) in sums.items():
        if running:
            more, more_le1 = extra.get(unit, (0, 0))
            overdue, overdue_le1 = open_due + more, open_due_le1 + more_le1
        else:
            overdue, overdue_le1 = overdue_end, overdue_le1_end
        counts = Counts(
            carried_over=carried, received_new=received, finished_early=early, finished_on_time=on_time,
            finished_late=late, unfinished_within=open_end - overdue, unfinished_overdue=overdue,
            withdrawn=withdrawn, returned=rejected, on_time_766=finished_766 + open_le1 - overdue_le1,
            received_online=online,
        )
        if counts != Counts():
            result[unit] = counts
    return result


def _overdue_from_dossiers(
    session: Session, end: dt.date, bound: dt.datetime, today: dt.date, unit_codes: list[str] | None
) -> dict[str, tuple[int, int]]:
    """A running period's overdue dossiers the due-day buckets cannot see: open ones due today before ``bound``
    (MINUTE; at DATE the bound is midnight and there are none) and ones whose closing is dated after the period's
    end. Both are read through an index and are few (what is due now, what is dated in the future)."""
    d = Dossier
    midnight = dt.datetime.combine(today, dt.time(0), LOCAL_TZ)
    due_today = sa.and_(d.closing.is_(None), sa.not_(d.paused), d.due_at >= midnight, d.due_at < bound)
    closed_later = sa.and_(d.closed_date > end, d.due_at < bound, sa.not_(d.paused), d.received_date <= end)
    result: dict[str, tuple[int, int]] = {}
    for condition in (due_today, closed_later):
        query = (
            sa.select(d.unit_code, sa.func.count(), _count(d.supplement_rounds <= 1))
            .where(condition, d.unit_code.is_not(None))
            .group_by(d.unit_code)
        )
        if unit_codes is not None:
            query = query.where(d.unit_code.in_(unit_codes))
        for unit, count, le1 in session.execute(query):
            have = result.get(unit, (0, 0))
            result[unit] = (have[0] + int(count), have[1] + int(le1))
    return result


def subtree_counts(
    session: Session, periods: list[Period], now: dt.datetime, granularity: Granularity, unit_codes: list[str]
) -> list[Counts]:
    """The counts of ``unit_codes`` together (a unit's subtree), for each of ``periods``: equal to summing
    :func:`counts_by_unit` per period, in one query for every ended period instead of one or three each.

    Every counter adds up across units and days, so the subtree's per-day sums (one row a day) answer every ended
    period by its day ranges, with the arithmetic of :func:`counts_by_unit`; a period still running (at most the
    last of a twelve-month trend) is judged now, so it goes through :func:`counts_by_unit` itself."""
    s = StatsDay
    ended = [p for p in periods if as_of_for(p, now) >= end_of_day(p.end)]
    days: list[tuple[dt.date, list[int]]] = []
    if ended:
        query = (
            sa.select(s.day, *(sa.func.sum(getattr(s, name)) for name in _DAY_COUNTERS))
            .where(s.day <= max(p.end for p in ended), s.unit_code.in_(unit_codes))
            .group_by(s.day)
            .order_by(s.day)
        )
        days = [(row[0], [int(v or 0) for v in row[1:]]) for row in session.execute(query)]
    result = []
    for period in periods:
        if period not in ended:
            result.append(Counts.total_of(counts_by_unit(session, period, now, granularity, unit_codes).values()))
            continue
        sums = dict.fromkeys(_DAY_COUNTERS, 0)
        carried = 0
        for day, values in days:
            if day > period.end:
                break
            row = dict(zip(_DAY_COUNTERS, values, strict=True))
            if day < period.start:
                carried += row["open_delta"]
                for name in _PREFIX_COUNTERS:
                    sums[name] += row[name]
            else:
                for name in _DAY_COUNTERS:
                    sums[name] += row[name]
        overdue, overdue_le1 = sums["overdue_delta"], sums["overdue_le1_delta"]
        result.append(Counts(
            carried_over=carried, received_new=sums["received"], finished_early=sums["finished_early"],
            finished_on_time=sums["finished_on_time"], finished_late=sums["finished_late"],
            unfinished_within=sums["open_delta"] - overdue, unfinished_overdue=overdue,
            withdrawn=sums["withdrawn"], returned=sums["rejected"],
            on_time_766=sums["finished_766"] + sums["open_le1_delta"] - overdue_le1,
            received_online=sums["received_online"]))
    return result


# the counters an ended period reads: those of its days, and the running totals (deltas) from the beginning
_DAY_COUNTERS = ("received", "received_online", "finished_early", "finished_on_time", "finished_late",
                 "finished_766", "withdrawn", "rejected", "open_delta", "open_le1_delta", "overdue_delta",
                 "overdue_le1_delta")
_PREFIX_COUNTERS = ("open_delta", "open_le1_delta", "overdue_delta", "overdue_le1_delta")

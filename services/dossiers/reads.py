"""Read models behind the RPC API: one dossier, period statistics for a unit or a whole tree level, a unit's late
and overdue dossiers, and its last twelve months."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.dossiers.lifecycle import TimelinessRules
from services.dossiers.models import Dossier, DossierEvent
from services.dossiers.outcomes import Granularity
from services.dossiers.periods import PeriodKind, parse_period, period_containing
from services.dossiers.statistics import PeriodStats, build, rollup
from services.dossiers.stats_query import as_of_for, counts_by_unit, subtree_counts
from shared.calendar import LOCAL_TZ, WorkingCalendar


class NotFound(LookupError):
    """A dossier, unit or period the caller named does not exist (mapped to a not-found error at the edge)."""


def dossier_view(session: Session, code: str) -> dict[str, Any]:
    dossier = session.get(Dossier, code)
    if dossier is None:
        raise NotFound(f"dossier_code: no dossier {code!r}")
    events = session.query(DossierEvent).filter(DossierEvent.dossier_code == code).order_by(DossierEvent.time).all()
    return {"dossier": dossier, "events": events}


def period_stats(
    session: Session,
    rules: TimelinessRules,
    unit_code: str,
    period_label: str,
    now: dt.datetime,
    include_children: bool = False,
) -> list[PeriodStats]:
    """The unit's figures (its own dossiers plus everything below it), optionally each child's too."""
    unit = rules.units.get(unit_code)
    if unit is None:
        parse_period(period_label)  # a malformed period is named first, as before
        raise NotFound(f"unit_code: no unit {unit_code!r}")
    wanted = [unit_code] + ([c.code for c in rules.units.children(unit_code)] if include_children else [])
    return _stats_of(session, rules, wanted, period_label, now)


MAX_UNITS = 1000  # units of one period_stats_many request: a person's scope, not a national tree


def period_stats_many(
    session: Session, rules: TimelinessRules, unit_codes: list[str], period_label: str, now: dt.datetime
) -> list[PeriodStats]:
    """Each named unit's figures (rolled up over its subtree), in the order named, duplicates once: a unit
    officer's several units in one request and one query, instead of one request each."""
    parse_period(period_label)
    if not isinstance(unit_codes, list) or not all(isinstance(c, str) for c in unit_codes):
        raise ValueError("unit_codes: must be a list of unit codes")
    wanted = list(dict.fromkeys(unit_codes))
    if len(wanted) > MAX_UNITS:
        raise ValueError(f"unit_codes: at most {MAX_UNITS} units, not {len(wanted)}")
    for code in wanted:
        if rules.units.get(code) is None:
            raise NotFound(f"unit_codes: no unit {code!r}")
    return _stats_of(session, rules, wanted, period_label, now)


def _stats_of(
    session: Session, rules: TimelinessRules, wanted: list[str], period_label: str, now: dt.datetime
) -> list[PeriodStats]:
    period = parse_period(period_label)
    members = sorted({m for code in wanted for m in rules.units.descendants(code)})
    # the whole tree (the province's table): no IN list of every unit code — 3,000 bound parameters rendered
    # and planned in each of up to three queries — since the roll-up reads only the tree's units anyway
    scope = None if len(members) == len(rules.units) else members
    own = counts_by_unit(session, period, now, rules.granularity, scope)
    totals = rollup(rules.units, own, wanted)
    as_of = as_of_for(period, now).date()
    names = {code: rules.units.get(code).name for code in wanted}  # type: ignore[union-attr]
    return [build(code, names[code], period, as_of, rules.granularity.value, totals[code]) for code in wanted]


# -- read models for the web pages: a unit's late and overdue dossiers, and its last twelve months ---------------

LISTED_STATUSES = ("late", "overdue")
MAX_PAGE = 200


def working_days_late(calendar: WorkingCalendar, due: dt.date, end: dt.date) -> int:
    """Working days after the due date up to and including ``end`` (0 if ``end`` is not after it)."""
    days, day = 0, due
    for _ in range(min(max((end - due).days, 0), 3660)):  # a decade at most: a bad date must not spin
        day += dt.timedelta(days=1)
        days += calendar.is_working_day(day)
    return days


def unit_dossiers(
    session: Session,
    rules: TimelinessRules,
    unit_code: str,
    period_label: str,
    status: str,
    now: dt.datetime,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """The dossiers behind a unit's ``finished_late`` (``status="late"``) or ``unfinished_overdue``
    (``"overdue"``) figure in a period, over the unit's subtree (late: latest finished first; overdue: longest overdue
    first), without personal data.

    The conditions are those of ``stats_query.counts_by_unit`` for the same two columns, so a page listing them
    shows exactly the dossiers its figures count (a test compares the two)."""
    if status not in LISTED_STATUSES:
        raise ValueError(f"status: must be one of {', '.join(LISTED_STATUSES)}, not {status!r}")
    period = parse_period(period_label)
    if rules.units.get(unit_code) is None:
        raise NotFound(f"unit_code: no unit {unit_code!r}")
    members = rules.units.descendants(unit_code)
    as_of = as_of_for(period, now)
    d = Dossier
    in_period = sa.and_(d.unit_code.in_(members), d.received_date <= period.end,
                        sa.or_(d.closed_date.is_(None), d.closed_date >= period.start))
    if status == "late":
        condition = sa.and_(d.closed_date.is_not(None), d.closed_date <= period.end, d.closing == "finished",
                            d.outcome == "late")
        order = (d.closed_date.desc(), d.dossier_code)
    else:
        past_due = d.due_date < as_of.date() if rules.granularity is Granularity.DATE else d.due_at < as_of
        condition = sa.and_(sa.or_(d.closed_date.is_(None), d.closed_date > period.end), d.paused.is_(False),
                            d.due_at.is_not(None), past_due)
        order = (d.due_at, d.dossier_code)
    where = sa.and_(in_period, condition)
    total = int(session.scalar(sa.select(sa.func.count()).select_from(d).where(where)) or 0)
    rows = session.execute(
        sa.select(d.dossier_code, d.unit_code, d.procedure_code, d.channel, d.received_at, d.due_at, d.due_date,
                  d.finished_at, d.closed_date, d.supplement_rounds, d.new_due_at)
        .where(where).order_by(*order).limit(max(1, min(limit, MAX_PAGE))).offset(max(0, offset))
    ).all()
    items = []
    for row in rows:
        procedure = rules.catalogue.get(row.procedure_code or "")
        unit = rules.units.get(row.unit_code or "")
        end = row.closed_date if status == "late" and row.closed_date else as_of.date()
        items.append({
            "dossier_code": row.dossier_code,
            "unit_code": row.unit_code,
            "unit_name": unit.name if unit else row.unit_code,
            "procedure_code": row.procedure_code,
            "procedure_name": procedure.name if procedure else None,
            "procedure_field": procedure.field if procedure else None,
            "channel": row.channel,
            "received_at": _iso(row.received_at),
            "due_at": _iso(row.due_at),
            "finished_at": _iso(row.finished_at),
            "new_due_at": _iso(row.new_due_at),
            "supplement_rounds": row.supplement_rounds,
            "days_late": working_days_late(rules.calendar, row.due_date, end) if row.due_date else None,
            "calendar_days_late": (end - row.due_date).days if row.due_date else None,
        })
    return {"unit_code": unit_code, "period": period.label, "period_title": period.title_vi, "status": status,
            "as_of": as_of.date().isoformat(), "total": total, "offset": max(0, offset), "items": items}


def monthly_series(
    session: Session,
    rules: TimelinessRules,
    unit_code: str,
    period_label: str,
    now: dt.datetime,
    months: int = 12,
) -> list[dict[str, Any]]:
    """The unit's figures for each of the ``months`` reporting months ending with the month in which the named
    period ends (or the current month, for a period still running), oldest first — one ``period_stats`` each."""
    if not 1 <= months <= 36:
        raise ValueError(f"months: must be 1–36, not {months}")
    period = parse_period(period_label)
    last_day = min(period.end, now.astimezone(LOCAL_TZ).date())
    month = period_containing(last_day, PeriodKind.MONTH)
    labels = []
    for _ in range(months):
        labels.append(month.label)
        month = month.previous()
    if rules.units.get(unit_code) is None:
        raise NotFound(f"unit_code: no unit {unit_code!r}")
    periods = [parse_period(label) for label in reversed(labels)]
    members = sorted(rules.units.descendants(unit_code))
    counts = subtree_counts(session, periods, now, rules.granularity, members)  # one query, not twelve
    name = rules.units.get(unit_code).name  # type: ignore[union-attr]
    return [build(unit_code, name, p, as_of_for(p, now).date(), rules.granularity.value, c).to_dict()
            for p, c in zip(periods, counts, strict=True)]


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None

"""The dossier indicators of every unit counted by the database: what makes a province's ranking answer in well
under a second instead of loading and judging each of its ~180,000 dossiers of a month in Python.

One grouped query per period (``GROUP BY unit_code``) sums, for each dossier indicator, the dossiers in its
population (denominator) and those that meet it (numerator), and gathers per unit the procedures its dossiers used
(online, paid online, with fee data, with population data) for the procedure indicators. Each ``CASE`` below
restates, in SQL, the verdict of one indicator function of ``indicators.py`` — the function stays the definition
(its docstring is the formula and cites its evidence); ``tests/service/test_index766_aggregate.py`` proves on
SQLite and PostgreSQL that both give the same counts for every unit of a generated month, and
``tests/integration/test_index766_month.py`` that they equal the generator's ground truth.

What SQL does not judge: the board's on-time test of a dossier **with supplement rounds** (its steps paired, its
waits subtracted, more than one request late: ``timeliness.judge``). For those — a few percent of a month — only
the columns the two on-time indicators read are loaded (:func:`round_views`), and ``counting.tally`` applies the
indicator functions themselves (``counting.JUDGED_IN_PYTHON``).

Local dates: the board compares days in Vietnam's time (UTC+7 all year, no daylight saving): PostgreSQL converts
with ``timezone('Asia/Ho_Chi_Minh', …)``, SQLite (UTC text) with ``date(…, '+7 hours')``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.dossiers.index766.counting import Counted, ProcedureUses, UnitCounts
from services.dossiers.index766.facts import DossierFacts
from services.dossiers.index766.indicators import INDICATORS, Kind
from services.dossiers.index766.periods import BoardPeriod
from services.dossiers.index766.tables import DossierFactsRow, PetitionRow
from services.dossiers.index766.timeliness import SUPPLEMENT_STEPS, rounds_from_steps
from services.dossiers.index766.views import DISSATISFIED, DossierView
from services.dossiers.lifecycle import TimelinessRules
from services.dossiers.models import Dossier, DossierEvent
from shared.calendar import LOCAL_TZ

__all__ = ["Coverage", "count_dossiers", "missing_codes", "round_views"]

_SEPARATOR = "|"  # procedure codes never hold one (catalogue codes: digits, dots, letters)


@dataclass(frozen=True)
class Coverage:
    """Which sources the one-door sent at all in the period (coverage_warnings says what a silent one costs)."""

    dossiers: int = 0
    synced: int = 0
    e_result: int = 0
    components: int = 0
    fees: int = 0
    ratings: int = 0
    paid_exempt: int = 0


def _local_date(column: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return sa.cast(sa.func.timezone(str(LOCAL_TZ), column), sa.Date)
    return sa.func.date(column, "+7 hours")


def _flag(condition: Any) -> Any:
    """1 where ``condition`` holds, else 0 (NULL included): conditions below combine flags, never three-valued."""
    return sa.case((condition, 1), else_=0)


def _base(period: BoardPeriod) -> Any:
    d = Dossier.__table__
    return sa.and_(d.c.unit_code.is_not(None), d.c.received_date <= period.end,
                   sa.or_(d.c.closed_date.is_(None), d.c.closed_date >= period.start))


def _complaints() -> Any:
    p = PetitionRow.__table__
    return (sa.select(p.c.dossier_code, sa.func.min(p.c.received_at).label("first"))
            .where(p.c.dossier_code.is_not(None), p.c.received_at.is_not(None))
            .group_by(p.c.dossier_code).subquery("complaints"))


def _flags(dialect: str, period: BoardPeriod, as_of: dt.datetime, bearing: Mapping[str, bool]) -> Any:
    """One row per dossier of the period with each fact the indicators read as a 0/1 flag."""
    d, f = Dossier.__table__, DossierFactsRow.__table__
    c = _complaints()
    as_of_day = as_of.astimezone(LOCAL_TZ).date()

    # timeliness.in_population and received_in_period
    processed = sa.and_(d.c.received_at <= as_of, d.c.received_date <= period.end,
                        sa.or_(d.c.closed_at.is_(None), d.c.closed_at > as_of, d.c.closed_date >= period.start))
    new = sa.and_(d.c.received_at <= as_of, d.c.received_date >= period.start, d.c.received_date <= period.end)
    P, N = _flag(processed), _flag(new)
    simple = _flag(sa.func.coalesce(d.c.supplement_rounds, 0) == 0)

    # the facts as store.dossier_views reads them: a receipt block not of the dossier's own receipt is dropped
    receipt = sa.or_(f.c.receipt_at.is_(None), f.c.receipt_at == d.c.received_at)

    def of_receipt(condition: Any) -> Any:
        return _flag(sa.and_(receipt, condition))

    synced = _flag(f.c.synced_at <= as_of)
    e_result = _flag(f.c.e_result_at <= as_of)
    digitised = of_receipt(f.c.digitised == sa.true())
    reused = of_receipt(f.c.reused == sa.true())
    from_store = of_receipt(f.c.from_store == sa.true())
    pushed = _flag(f.c.result_pushed == sa.true())
    citizen = of_receipt(sa.or_(f.c.vneid == sa.true(), f.c.population_data == sa.true(),
                                f.c.from_store == sa.true()))
    fee_nonzero = of_receipt(f.c.fee_nonzero == sa.true())
    exempt = of_receipt(sa.and_(f.c.fee_lines > 0, f.c.fee_nonzero == sa.false()))  # DossierFacts.exempt
    paid_any = _flag(sa.or_(sa.and_(receipt, f.c.receipt_paid_at.is_not(None)), f.c.paid_at.is_not(None)))
    paid = _flag(sa.or_(sa.and_(receipt, f.c.receipt_paid_at <= as_of), f.c.paid_at <= as_of))
    # indicators.owes_fees: the procedure's fee-bearing fact when imported, else a non-zero fee line
    bearing_yes = sorted(code for code, value in bearing.items() if value)
    bearing_no = sorted(code for code, value in bearing.items() if not value)
    bears = sa.case((d.c.procedure_code.in_(bearing_yes), 1), (d.c.procedure_code.in_(bearing_no), 0),
                    else_=fee_nonzero)
    owes = (1 - exempt) * bears
    online = _flag(d.c.channel == "online")
    dissatisfied = _flag(sa.and_(f.c.rating.in_(sorted(DISSATISFIED)), f.c.rated_at <= as_of))
    complained = _flag(c.c.first <= as_of)

    # timeliness.judge without rounds: the end's day (closing, else the as-of day) on or before NgayHenTra's day
    closed = sa.and_(d.c.closing.is_not(None), d.c.closed_at.is_not(None), d.c.closed_at <= as_of)
    end_day = sa.case((closed, d.c.closed_date), else_=sa.literal(as_of_day, sa.Date()))
    no_limit = sa.or_(d.c.time_unit.is_(None), d.c.time_unit == "none", d.c.processing_amount.is_(None))
    deadline_day = sa.case((d.c.onedoor_due_at.is_not(None), _local_date(d.c.onedoor_due_at, dialect)),
                           (no_limit, sa.null()), else_=_local_date(d.c.due_at, dialect))
    on_time = _flag(sa.or_(deadline_day.is_(None), end_day <= deadline_day))

    # each flag computed once per row: repeating the expressions inside every SUM made PostgreSQL evaluate the
    # deadline's time-zone conversion a dozen times per dossier
    flags = {
        "p": P, "n": N, "simple": simple, "synced": synced, "e_result": e_result, "digitised": digitised,
        "reused": reused, "personal": _flag(sa.or_(from_store == 1, pushed == 1)), "citizen": citizen,
        "fee_nonzero": fee_nonzero, "owes": owes, "paid": paid, "online": online, "dissatisfied": dissatisfied,
        "complained": complained, "on_time": on_time,
        "components": of_receipt(sa.or_(f.c.component_count.is_not(None), f.c.digitised.is_not(None))),
        "fees": of_receipt(f.c.fee_lines.is_not(None)), "ratings": _flag(f.c.rating.is_not(None)),
        "has_synced": _flag(f.c.synced_at.is_not(None)), "has_e_result": _flag(f.c.e_result_at.is_not(None)),
        "paid_exempt": exempt * paid_any,
    }
    return (sa.select(d.c.unit_code, d.c.procedure_code, d.c.dossier_code, d.c.received_at,
                      *(value.label(name) for name, value in flags.items()))
            .select_from(d.outerjoin(f, f.c.dossier_code == d.c.dossier_code)
                         .outerjoin(c, c.c.dossier_code == d.c.dossier_code))
            .where(_base(period)))


def _terms(r: Any) -> dict[str, tuple[Any, Any]]:
    return {  # indicator: (in its population, met) — indicators.py, one function each
        "DOSSIER_SYNC": (r.p, r.p * r.synced),
        "PROGRESS_ON_TIME": (r.p * r.simple, r.p * r.simple * r.on_time),
        "ONLINE_CHANNEL": (r.n, r.n * r.online),
        "ORIGINAL_RESULT_AVAILABLE": (r.p, r.p * r.e_result),
        "SO_HOA_GIAY_TO_GIAI_QUYET": (r.p, r.p * r.digitised * r.e_result),
        "REUSED_DIGITIZED_DATA": (r.p, r.p * r.reused),
        "SYNCED_WITH_DVCQG_PERSONAL_STORAGE": (r.p, r.p * r.personal),
        "CITIZEN_DATA_CONNECTED_DOSSIER": (r.p, r.p * r.citizen),
        "DOSSIER_RECEIVING_SATISFACTION": (r.p * r.simple,
                                           r.p * r.simple * r.on_time * (1 - r.dissatisfied) * (1 - r.complained)),
        "ONLINE_PAYMENT_DOSSIERS": (r.n * r.owes, r.n * r.owes * r.paid),
    }


# every dossier indicator has its SQL above, or the ranking would silently count it 0/0
_MISSING_SQL = {i.code for i in INDICATORS.values() if i.kind is Kind.DOSSIER} ^ set(
    _terms(sa.table("flags", *(sa.column(name) for name in ("p", "n", "simple", "synced", "e_result", "digitised",
                                                              "reused", "personal", "citizen", "owes", "paid",
                                                              "online", "dissatisfied", "complained", "on_time"))).c))
if _MISSING_SQL:
    raise RuntimeError(f"aggregate._terms and indicators.py disagree on dossier indicators: {sorted(_MISSING_SQL)}")


def count_dossiers(session: Session, period: BoardPeriod, as_of: dt.datetime, bearing: Mapping[str, bool]
                   ) -> tuple[Counted, Coverage]:
    """Every unit's counts of the dossier indicators and its procedures' use, in one grouped query; the on-time
    indicators count only dossiers without supplement rounds (the rest: :func:`round_views`)."""
    dialect = session.get_bind().dialect.name
    # each dossier's flags once (a subquery the planner keeps apart: OFFSET 0), then plain sums per unit
    rows = _flags(dialect, period, as_of, bearing).offset(0).subquery("flags")
    r = rows.c
    terms = _terms(r)
    uses = {  # counting._record_use
        "online": r.n * r.online, "paid": r.n * r.paid * r.owes, "fee_data": r.n * r.fee_nonzero,
        "citizen": r.p * r.citizen,
    }
    coverage = {"synced": r.has_synced, "e_result": r.has_e_result, "components": r.components, "fees": r.fees,
                "ratings": r.ratings, "paid_exempt": r.paid_exempt}
    columns = [r.unit_code, sa.func.count().label("dossiers")]
    for code, (den, num) in terms.items():
        columns += [sa.func.sum(den).label(f"den_{code}"), sa.func.sum(num).label(f"num_{code}")]
    for name, flag in uses.items():
        columns.append(sa.func.aggregate_strings(sa.case((flag == 1, r.procedure_code)), _SEPARATOR)
                       .label(f"use_{name}"))
    for name, flag in coverage.items():
        columns.append(sa.func.sum(flag).label(f"cov_{name}"))
    query = sa.select(*columns).group_by(r.unit_code)
    if dialect == "postgresql":
        # 3,321 groups of ~180,000 rows: hashed in memory rather than sorted on disk (default work_mem is 4 MB);
        # SET LOCAL ends with the transaction
        session.execute(sa.text("SET LOCAL work_mem = '64MB'"))
    counted = Counted()
    totals = dict.fromkeys(("dossiers", *coverage), 0)
    for row in session.execute(query).mappings():
        counts = UnitCounts()
        for code in terms:
            counts.den[code] = int(row[f"den_{code}"] or 0)
            counts.num[code] = int(row[f"num_{code}"] or 0)
        unit = row["unit_code"]
        counted.own[unit] = counts
        counted.use[unit] = ProcedureUses(*(set(filter(None, (row[f"use_{name}"] or "").split(_SEPARATOR)))
                                           for name in uses))
        totals["dossiers"] += int(row["dossiers"])
        for name in coverage:
            totals[name] += int(row[f"cov_{name}"] or 0)
    return counted, Coverage(**totals)


def missing_codes(session: Session, period: BoardPeriod, as_of: dt.datetime, bearing: Mapping[str, bool],
                  limit: int) -> list[str]:
    """The first ``limit`` dossiers (by receipt) that miss each dossier indicator — on-time ones among dossiers
    without supplement rounds — in one query over the flags: the province's page lists what costs it points
    without judging its ~180,000 dossiers one by one (the functions then judge these few, with their reasons)."""
    flags = _flags(session.get_bind().dialect.name, period, as_of, bearing).cte("flags")
    branches = []
    for den, num in _terms(flags.c).values():
        first = (sa.select(flags.c.dossier_code).where(den == 1, num == 0)
                 .order_by(flags.c.received_at, flags.c.dossier_code).limit(limit).subquery())
        branches.append(sa.select(first.c.dossier_code))
    return sorted({code for (code,) in session.execute(sa.union_all(*branches))})


def round_views(session: Session, rules: TimelinessRules, period: BoardPeriod, as_of: dt.datetime
                ) -> list[DossierView]:
    """The dossiers with supplement rounds that the on-time indicators count, with only what those read: dates,
    deadline, rounds, closing, rating and the first petition about them."""
    from services.dossiers.index766.store import _deadline  # the views' own rule

    d, f = Dossier.__table__, DossierFactsRow.__table__
    c = _complaints()
    query = (sa.select(d.c.dossier_code, d.c.unit_code, d.c.procedure_code, d.c.channel, d.c.received_at,
                       d.c.onedoor_due_at, d.c.due_at, d.c.supplement_rounds, d.c.closing, d.c.closed_at,
                       d.c.processing_amount, d.c.time_unit, f.c.rating, f.c.rated_at, c.c.first)
             .select_from(d.outerjoin(f, f.c.dossier_code == d.c.dossier_code)
                          .outerjoin(c, c.c.dossier_code == d.c.dossier_code))
             .where(_base(period), d.c.supplement_rounds > 0, d.c.received_at <= as_of)
             .order_by(d.c.received_at, d.c.dossier_code))  # as the views: the first misses are the earliest
    rows: Sequence[Any] = list(session.execute(query))
    e = DossierEvent.__table__
    steps: dict[str, list[tuple[str, dt.datetime, str]]] = defaultdict(list)
    for code, kind, time, event_id in session.execute(
            sa.select(e.c.dossier_code, e.c.event_type, e.c.time, e.c.event_id)
            .select_from(e.join(d, d.c.dossier_code == e.c.dossier_code))
            .where(_base(period), d.c.supplement_rounds > 0, d.c.received_at <= as_of,
                   e.c.event_type.in_(SUPPLEMENT_STEPS), e.c.dead_lettered_at.is_(None))):
        steps[code].append((kind, time, event_id))
    return [
        DossierView(r.dossier_code, r.unit_code, r.procedure_code, r.channel, r.received_at, _deadline(r, rules),
                    rounds_from_steps(steps.get(r.dossier_code, ()), r.closed_at), r.closing, r.closed_at,
                    DossierFacts(rating=r.rating, rated_at=r.rated_at), r.first)
        for r in rows
    ]

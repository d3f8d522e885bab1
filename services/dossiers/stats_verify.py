"""The counters held to a full recomputation: ``cchc stats verify`` and the tests' oracle; and the rebuild.

Two checks. The kept counters (``stats_days``) against the counters recomputed from every dossier row — what the
incremental maintenance must equal at every commit. And, for every period that has data, each unit's figures read
from the counters (``stats_query.counts_by_unit``) against the figures' definition, a grouped scan over the
dossiers (``stats_query.recount_by_unit``) — which also checks the period arithmetic over the counters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, fields

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.dossiers import stats_counters
from services.dossiers.lifecycle import TimelinessRules
from services.dossiers.models import Dossier, StatsDay, StatsMeta
from services.dossiers.outcomes import Granularity
from services.dossiers.periods import Period, PeriodKind, parse_period, period_containing
from services.dossiers.statistics import Counts
from services.dossiers.stats_query import counts_by_unit, recount_by_unit
from shared.calendar import LOCAL_TZ

GRANULARITY_KEY = "granularity"


@dataclass(frozen=True)
class Difference:
    """One figure that the counters get wrong: where, which, what they say and what it should be."""

    where: str  # "counters unit/day" or "period P unit U"
    field: str
    kept: int
    recomputed: int

    def __str__(self) -> str:
        return f"{self.where} {self.field}: kept {self.kept}, recomputed {self.recomputed}"


def _rows(session: Session) -> Iterable[dict[str, object]]:
    fields_ = [Dossier.__table__.c[name] for name in stats_counters.ROW_FIELDS]
    result = session.execute(sa.select(*fields_).where(Dossier.unit_code.is_not(None)).execution_options(
        yield_per=10_000))
    for row in result:
        yield dict(row._mapping)


def kept_counters(session: Session) -> stats_counters.Deltas:
    table = StatsDay.__table__
    columns = [table.c[c] for c in stats_counters.COLUMNS]
    return {(unit, day): [int(v) for v in values]
            for unit, day, *values in session.execute(sa.select(table.c.unit_code, table.c.day, *columns))
            if any(values)}


def counter_differences(session: Session, granularity: Granularity) -> list[Difference]:
    kept = kept_counters(session)
    recomputed = stats_counters.recompute(_rows(session), granularity)
    zero = [0] * len(stats_counters.COLUMNS)
    out = []
    for key in sorted(kept.keys() | recomputed.keys()):
        have, want = kept.get(key, zero), recomputed.get(key, zero)
        for name, a, b in zip(stats_counters.COLUMNS, have, want, strict=True):
            if a != b:
                out.append(Difference(f"counters {key[0]}/{key[1].isoformat()}", name, a, b))
    return out


def periods_with_data(session: Session, now: dt.datetime) -> list[Period]:
    """Every month, quarter, half-year and year from the first receipt to the period containing now."""
    first = session.scalar(sa.select(sa.func.min(Dossier.received_date)))
    if first is None:
        return []
    today = now.astimezone(LOCAL_TZ).date()
    last = max(today, session.scalar(sa.select(sa.func.max(Dossier.closed_date))) or today)
    out: list[Period] = []
    for kind in (PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.HALF_YEAR, PeriodKind.YEAR):
        period = period_containing(first, kind)
        while period.start <= last:
            out.append(period)
            period = period_containing(period.end + dt.timedelta(days=1), kind)
    return out


def figure_differences(session: Session, rules: TimelinessRules, now: dt.datetime,
                       periods: list[Period]) -> list[Difference]:
    out = []
    for period in periods:
        kept = counts_by_unit(session, period, now, rules.granularity)
        recomputed = recount_by_unit(session, period, now, rules.granularity)
        for unit in sorted(kept.keys() | recomputed.keys()):
            have, want = kept.get(unit, Counts()), recomputed.get(unit, Counts())
            for f in fields(Counts):
                if getattr(have, f.name) != getattr(want, f.name):
                    out.append(Difference(f"period {period.label} unit {unit}", f.name, getattr(have, f.name),
                                          getattr(want, f.name)))
    return out


def differences(session: Session, rules: TimelinessRules, now: dt.datetime,
                period_labels: list[str] | None = None) -> list[Difference]:
    """Every difference between the counters (and the figures read from them) and a full recomputation."""
    periods = [parse_period(p) for p in period_labels] if period_labels else periods_with_data(session, now)
    return counter_differences(session, rules.granularity) + figure_differences(session, rules, now, periods)


def rebuild(session: Session, granularity: Granularity) -> int:
    """Replace the counters by a recomputation from every dossier and record the granularity they were made for.

    On PostgreSQL the counters' table is locked first (EXCLUSIVE: batches block when they add to it): a batch
    that changed dossiers but has not added its deltas yet adds them after the rebuild, which read its old rows."""
    table = StatsDay.__table__
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("LOCK TABLE stats_days IN EXCLUSIVE MODE"))
    session.execute(sa.delete(table))
    counters = stats_counters.recompute(_rows(session), granularity)
    stats_counters.apply(session, counters)
    session.merge(StatsMeta(key=GRANULARITY_KEY, value=granularity.value))
    return len(counters)


def made_for(session: Session) -> str | None:
    """The granularity the counters were built for (None: never built — a new table, or a tool migrated the
    database before the service ever started)."""
    return session.scalar(sa.select(StatsMeta.value).where(StatsMeta.key == GRANULARITY_KEY))


def ensure(session: Session, granularity: Granularity) -> bool:
    """Rebuild the counters if they were not made for ``granularity`` (new table, or the setting changed); True
    if it rebuilt. Replicas starting together serialise on the table lock; the second finds them made."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("LOCK TABLE stats_days IN EXCLUSIVE MODE"))
    if made_for(session) == granularity.value:
        return False
    rebuild(session, granularity)
    return True

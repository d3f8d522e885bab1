"""The statistics counters equal a full recomputation — after every batch, whatever the order, redeliveries,
granularity, supplement policy and backend — and every figure read from them equals the figures' definition
(``stats_query.recount_by_unit``) for every period, judged at the period's end or at any moment inside it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import pytest
import sqlalchemy as sa

from cchc.traffic import TrafficSpec, generate
from services.dossiers import stats_counters, stats_verify
from services.dossiers.deadlines import SupplementPolicy
from services.dossiers.ingest import ingest_batch
from services.dossiers.models import Dossier, StatsDay, StatsMeta
from services.dossiers.outcomes import Granularity
from services.dossiers.periods import parse_period
from services.dossiers.rules import rules_from_config
from services.dossiers.statistics import Counts
from services.dossiers.stats_query import counts_by_unit, recount_by_unit
from shared.calendar import LOCAL_TZ
from shared.config import load_config
from shared.events import make_envelope, parse_event

BASE = rules_from_config(load_config())
NOW = dt.datetime(2026, 1, 20, 16, 0, tzinfo=LOCAL_TZ)  # the stream's present: it crosses the 2026 year start
SPEC = TrafficSpec(start=dt.date(2025, 10, 1), end=NOW.date(), now=NOW, dossiers=450, seed=18,
                   supplement_share=0.25, late_share=0.2)


@pytest.fixture(scope="module")
def stream() -> list[dict]:
    traffic = generate(SPEC, BASE.units, BASE.catalogue, BASE.calendar)
    messages = list(traffic.messages)
    # A dossier that moves: a second receipt dated before the first, at another unit, arriving last. The earlier
    # receipt wins, so the dossier's old contribution must leave the first unit's counters.
    first = next(m for m in messages if m["event_type"] == "dossier.received")
    moved = dict(first["payload"], unit_code="D228",
                 received_at=(dt.datetime.fromisoformat(first["payload"]["received_at"]) - dt.timedelta(days=3)))
    messages.append(make_envelope("dossier.received", moved, occurred_at=moved["received_at"]))
    return messages


def rules_for(granularity: Granularity, policy: SupplementPolicy):
    return dataclasses.replace(BASE, granularity=granularity, policy=policy)


def replay(database, stream: list[dict], rules, seed: int, check_every_batch: bool) -> None:
    """Random batch sizes, a tenth of the batches delivered twice (a redelivery after a lost ack)."""
    rng = random.Random(seed)
    events = [parse_event(m) for m in stream]
    i = 0
    while i < len(events):
        size = rng.randint(1, 160)
        batch = events[i:i + size]
        i += size
        for _ in range(2 if rng.random() < 0.1 else 1):
            with database.transaction() as session:
                ingest_batch(session, batch, rules, NOW)
        if check_every_batch:
            with database.transaction() as session:
                assert stats_verify.counter_differences(session, rules.granularity) == []


def judged_at(database) -> list[dt.datetime]:
    """Moments to judge running periods at: the present, mid-stream (closings dated after it look future-dated),
    a period's last second, and around the due minutes of open dossiers (MINUTE: overdue from the next minute)."""
    moments = [NOW, NOW - dt.timedelta(days=41, hours=3), dt.datetime(2025, 12, 14, 23, 59, 58, tzinfo=LOCAL_TZ),
               dt.datetime(2025, 12, 14, 23, 59, 59, tzinfo=LOCAL_TZ)]
    with database.transaction() as session:
        dues = session.scalars(
            sa.select(Dossier.due_at).where(Dossier.due_at.is_not(None), Dossier.due_at < NOW)
            .order_by(Dossier.dossier_code).limit(3)).all()
    for due in dues:
        moments += [due + dt.timedelta(seconds=30), due + dt.timedelta(seconds=61), due - dt.timedelta(minutes=1)]
    return moments


@pytest.mark.parametrize("granularity", list(Granularity))
@pytest.mark.parametrize("policy", list(SupplementPolicy))
def test_counters_equal_a_full_recomputation(database, stream, granularity, policy):
    rules = rules_for(granularity, policy)
    replay(database, stream, rules, seed=hash((granularity.value, policy.value)) % 1000, check_every_batch=True)
    with database.transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(StatsDay)) > 100
        periods = stats_verify.periods_with_data(session, NOW)
        assert {p.label for p in periods} >= {"2025-10", "2026-01", "2025-Q4", "2026-Q1", "2025-H2", "2026"}
        for moment in judged_at(database):
            assert stats_verify.differences(session, rules, moment) == [], moment
        # not vacuous: the stream has overdue, paused and multi-round dossiers, and figures in every column
        total = sum(counts_by_unit(session, parse_period("2026"), NOW, granularity).values(),
                    start=Counts())
        assert min(total.finished_early, total.finished_late, total.unfinished_overdue, total.unfinished_within,
                   total.carried_over, total.withdrawn, total.on_time_766) > 0, total


def test_verify_reports_each_difference(database, stream):
    rules = rules_for(Granularity.DATE, SupplementPolicy.RESTART)
    replay(database, stream[:400], rules, seed=1, check_every_batch=False)
    with database.transaction() as session:
        assert stats_verify.differences(session, rules, NOW) == []
        unit, day = session.execute(sa.select(StatsDay.unit_code, StatsDay.day).where(StatsDay.received > 0)
                                    .order_by(StatsDay.unit_code, StatsDay.day).limit(1)).one()
        session.execute(sa.update(StatsDay).where(StatsDay.unit_code == unit, StatsDay.day == day)
                        .values(received=StatsDay.received + 1))
    with database.transaction() as session:
        found = stats_verify.differences(session, rules, NOW)
    assert f"counters {unit}/{day.isoformat()} received: kept" in str(found[0])
    assert any(d.where.startswith("period ") and d.field == "received_new" and d.kept == d.recomputed + 1
               for d in found)


def test_a_changed_granularity_rebuilds_the_counters(database, stream):
    date_rules = rules_for(Granularity.DATE, SupplementPolicy.RESTART)
    replay(database, stream, date_rules, seed=2, check_every_batch=False)
    with database.transaction() as session:
        assert stats_verify.ensure(session, Granularity.DATE) is True  # first start after the migration
    with database.transaction() as session:
        assert stats_verify.ensure(session, Granularity.DATE) is False  # made for it already
        assert session.get(StatsMeta, "granularity").value == "date"
    minute_rules = rules_for(Granularity.MINUTE, SupplementPolicy.RESTART)
    with database.transaction() as session:
        assert stats_verify.counter_differences(session, Granularity.MINUTE) != []  # made for DATE
        assert stats_verify.ensure(session, Granularity.MINUTE) is True
    with database.transaction() as session:
        assert stats_verify.differences(session, minute_rules, NOW) == []


def test_reads_match_the_definition_for_a_unit_subset(database, stream):
    rules = rules_for(Granularity.MINUTE, SupplementPolicy.EXTEND)
    replay(database, stream, rules, seed=3, check_every_batch=False)
    with database.transaction() as session:
        units = sorted(recount_by_unit(session, parse_period("2026"), NOW, rules.granularity))[:5]
        for label in ("2026", "2026-01", "2025-12", "2025-Q4"):
            period = parse_period(label)
            assert counts_by_unit(session, period, NOW, rules.granularity, units) == \
                recount_by_unit(session, period, NOW, rules.granularity, units)


def test_a_dossier_contributes_nothing_before_its_receipt():
    assert stats_counters.contribution({"unit_code": None, "received_date": None}, Granularity.DATE) == []

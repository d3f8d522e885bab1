"""A deadline scan that starts just before a backfill's first batch commits announces nothing of that batch.

On PostgreSQL each statement of a READ COMMITTED transaction reads the data committed at its own start: the scan
asked "is a backfill arriving?" (no: nothing stored yet), then a consumer committed a batch of 75-day-old events,
then the scan claimed that batch's overdue dossiers and announced them, although their closing events were still
in the queue. The three-replica fault test caught it under load (8 apologies during a replay). Here the batch is
committed by another connection exactly between the scan's guard and its claim, every time.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from cchc.traffic import TrafficSpec, generate
from services.dossiers import alerts
from services.dossiers.ingest import ingest_batch
from services.dossiers.models import Dossier, OutboxEvent
from services.dossiers.rules import rules_from_config
from shared.config import load_config
from shared.db import open_database
from shared.events import parse_event
from tests.support import PG_URL, PINNED_TIMES, pg_schema_prefix

pytestmark = pytest.mark.integration

NOW = PINNED_TIMES["weekend"]
LAG, QUIET = 86400.0, 3600.0


def test_a_batch_committed_between_the_guard_and_the_claim_is_not_announced():
    with pg_schema_prefix() as schema:
        config = load_config(DATABASE_URL=PG_URL, DATABASE_SCHEMA=schema)
        rules = rules_from_config(config)
        traffic = generate(TrafficSpec(start=NOW.date() - dt.timedelta(days=75), end=NOW.date(), now=NOW,
                                       dossiers=200, late_share=0.3, seed=11), rules.units, rules.catalogue,
                           rules.calendar)
        owed = traffic.open_past_due(rules.granularity.value)
        assert owed, "the stream holds no open overdue dossier: nothing would be announced either way"
        scanner, consumer = open_database(config, "dossiers"), open_database(config, "dossiers")
        events = [parse_event(m) for m in traffic.messages]
        committed: list[int] = []

        def backfilling(session) -> bool:
            held = alerts.backfill_in_progress(session, NOW, LAG, QUIET)
            if not committed:  # the consumer's batch lands right after the scan's first look
                with consumer.transaction() as other:
                    ingest_batch(other, events, rules, NOW)
                committed.append(1)
            return held

        try:
            with pytest.raises(alerts.HeldForBackfill), scanner.transaction() as session:
                alerts.announce_deadlines(session, rules, NOW, 2, backfilling)
            with scanner.transaction() as session:
                announced = session.scalar(sa.select(sa.func.count()).select_from(Dossier)
                                           .where(Dossier.late_notified_at.is_not(None)))
                queued = session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent))
                stored = session.scalar(sa.select(sa.func.count()).select_from(Dossier))
            assert committed and stored == len(traffic.truth)
            assert (announced, queued) == (0, 0)
            # once the backfill is over (the guard says so), the same scan announces exactly what is owed
            with scanner.transaction() as session:
                late, _ = alerts.announce_deadlines(session, rules, NOW, 2, lambda _: False)
            assert late == len(owed)
        finally:
            scanner.engine.dispose()
            consumer.engine.dispose()

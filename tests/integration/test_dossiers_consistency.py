"""The same shuffled stream with 20% duplicates gives identical statistics through one consumer and through
three concurrent consumers, on the real RabbitMQ and PostgreSQL, and both equal the generator's truth."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from cchc.runner import rpc_proxy, running
from cchc.traffic import TrafficSpec, generate
from services.dossiers import stats_verify
from services.dossiers.periods import parse_period
from services.dossiers.rules import rules_from_config
from services.dossiers.service import DossiersService
from shared import deadletter
from shared.config import load_config
from shared.db import open_database
from shared.messaging import connect
from shared.publisher import publisher_for
from tests.support import PG_URL, pg_schema_prefix, rabbit_vhost, wait_until

pytestmark = pytest.mark.integration

PERIOD = parse_period("2026-H1")
NOW = dt.datetime(2026, 6, 10, 17, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
SNAPSHOT_COLUMNS = (
    "dossier_code",
    "status",
    "unit_code",
    "procedure_code",
    "received_at",
    "due_at",
    "paused",
    "supplement_rounds",
    "closing",
    "closed_at",
    "outcome",
    "on_time_766",
    "due_mismatch",
    "new_due_at",
)


@pytest.fixture(scope="module")
def traffic():
    rules = rules_from_config(load_config())
    spec = TrafficSpec(start=PERIOD.start, end=NOW.date(), now=NOW, dossiers=1500, seed=2026)
    return generate(spec, rules.units, rules.catalogue, rules.calendar)


def replay_through(consumers: int, traffic, batch_size: int) -> tuple[list[dict], list[tuple], int]:
    with rabbit_vhost() as amqp_uri, pg_schema_prefix() as schema:
        config = load_config(
            AMQP_URI=amqp_uri,
            DATABASE_URL=PG_URL,
            DATABASE_SCHEMA=schema,
            ingest={"batch_size": batch_size, "batches_in_flight": 2},
            timeliness={"scan_interval_seconds": 3600, "stats_publish_interval_seconds": 3600},
        )
        with running([DossiersService] * consumers, config):
            publisher = publisher_for(config)
            publisher.publish_many(traffic.messages)
            publisher.close()
            database = open_database(config, "dossiers", auto_migrate=False)
            wait_until(
                lambda: _stored(database) == traffic.distinct_events,
                timeout=120,
                message=f"{traffic.distinct_events} distinct events committed",
            )
            with rpc_proxy(config) as rpc:
                rows = rpc.dossiers.period_stats("P25", PERIOD.label, include_children=True)
            with database.engine.connect() as conn:
                snapshot = conn.execute(
                    sa.text(f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM dossiers ORDER BY dossier_code")
                ).all()
            with database.transaction() as session:  # the counters the replicas kept equal a full recomputation
                assert stats_verify.differences(session, rules_from_config(config), NOW) == []
            database.engine.dispose()
        with connect(config) as connection:
            dead = deadletter.count(connection, "dossiers")
    return rows, [tuple(r) for r in snapshot], dead


def _stored(database) -> int:
    with database.engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM dossier_events")).scalar_one()


def test_one_and_three_consumers_agree_with_each_other_and_the_truth(traffic):
    duplicates = len(traffic.messages) - traffic.distinct_events
    assert duplicates >= 0.15 * traffic.distinct_events  # the stream really carries ~20% re-sent messages

    one_rows, one_snapshot, one_dead = replay_through(1, traffic, batch_size=500)
    three_rows, three_snapshot, three_dead = replay_through(3, traffic, batch_size=50)

    assert one_dead == three_dead == 0
    assert len(one_snapshot) == traffic.dossiers
    assert one_snapshot == three_snapshot
    assert one_rows == three_rows

    by_unit = {row["unit_code"]: row for row in one_rows}
    province = by_unit.pop("P25")
    for unit_code, row in by_unit.items():
        truth = traffic.expected.get(unit_code, {})
        assert (
            row["finished_early"],
            row["finished_on_time"],
            row["finished_late"],
            row["withdrawn"],
            row["returned"],
            row["unfinished"],
        ) == (
            truth.get("finished_early", 0),
            truth.get("finished_on_time", 0),
            truth.get("finished_late", 0),
            truth.get("withdrawn", 0),
            truth.get("rejected", 0),
            truth.get("unfinished", 0),
        ), unit_code
    assert province["total"] == traffic.dossiers == sum(r["total"] for r in by_unit.values())

"""What the timers run costs what is due or what changed, not the size of the tables (issue 18): on a PostgreSQL
schema holding 60,000 dossiers and their events (most of them closed, as in a real year), every statement the
deadline scan, the orphan check, the backfill guard, the outbox relay, the timeliness publisher and a running
period's statistics send is EXPLAINed, and none scans ``dossiers`` or ``dossier_events`` sequentially."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa

from services.dossiers import alerts, ingest, stats_verify
from services.dossiers.models import OutboxEvent
from services.dossiers.outcomes import Granularity
from services.dossiers.periods import parse_period
from services.dossiers.rules import rules_from_config
from services.dossiers.stats_query import counts_by_unit
from shared.calendar import LOCAL_TZ
from shared.config import load_config
from shared.db import open_database
from shared.outbox import relay
from tests.support import PG_URL, pg_schema_prefix

pytestmark = pytest.mark.integration
BASE = rules_from_config(load_config())
NOW = dt.datetime(2025, 11, 20, 10, 7, tzinfo=LOCAL_TZ)
DOSSIERS = 60_000

FILL = f"""
INSERT INTO dossiers (dossier_code, status, status_code, unit_code, procedure_code, channel, received_at, received_date,
                      due_at, due_date, due_mismatch, paused, supplement_rounds, closing, closed_at, closed_date,
                      outcome, on_time_766, late_notified_at, first_seen_at, updated_at)
SELECT 'H' || i,
       CASE WHEN i % 100 = 0 THEN 'awaiting_receipt' WHEN i % 20 = 1 THEN 'in_progress' ELSE 'resolved' END, 4,
       CASE WHEN i % 100 = 0 THEN NULL ELSE (ARRAY['D227', 'D228', 'D229'])[1 + i % 3] END, '1.000894.H44', 'online',
       r, (r AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, r + interval '7 days',
       ((r + interval '7 days') AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, false, false, 0,
       CASE WHEN i % 20 = 1 OR i % 100 = 0 THEN NULL ELSE 'finished' END,
       CASE WHEN i % 20 = 1 OR i % 100 = 0 THEN NULL ELSE r + interval '5 days' END,
       CASE WHEN i % 20 = 1 OR i % 100 = 0 THEN NULL
            ELSE ((r + interval '5 days') AT TIME ZONE 'Asia/Ho_Chi_Minh')::date END,
       CASE WHEN i % 20 = 1 OR i % 100 = 0 THEN NULL ELSE 'early' END,
       CASE WHEN i % 20 = 1 OR i % 100 = 0 THEN NULL ELSE true END,
       CASE WHEN i % 40 = 1 THEN r + interval '8 days' END, r, r
FROM generate_series(1, {DOSSIERS}) AS i,
     LATERAL (SELECT timestamptz '2025-01-01 09:00+07' + (i * interval '7 minutes') AS r) AS t;
INSERT INTO dossier_events (event_id, dossier_code, event_type, time, occurred_at, payload, source, stored_at)
SELECT 'e' || i, 'H' || i, 'dossier.received', received_at, received_at, '{{}}', 'test', received_at
FROM (SELECT i, timestamptz '2025-01-01 09:00+07' + (i * interval '7 minutes') AS received_at
      FROM generate_series(1, {DOSSIERS}) AS i) AS s;
ANALYZE dossiers; ANALYZE dossier_events; ANALYZE stats_days;
"""


@pytest.fixture(scope="module")
def database():
    with pg_schema_prefix() as schema:
        db = open_database(load_config(DATABASE_URL=PG_URL, DATABASE_SCHEMA=schema), "dossiers")
        with db.transaction() as session:
            session.connection().connection.cursor().execute(FILL)  # no parameters: "%" is modulo
            stats_verify.rebuild(session, Granularity.MINUTE)
        yield db
        db.engine.dispose()


def plans_of(database, work) -> list[tuple[str, str]]:
    """Run ``work(session)`` (rolled back), then EXPLAIN every SELECT / UPDATE / DELETE it sent."""
    sent: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH")) and not executemany:
            sent.append((statement, parameters))

    sa.event.listen(database.engine, "before_cursor_execute", capture)
    try:
        with database.engine.connect() as connection:
            transaction = connection.begin()
            from sqlalchemy.orm import Session
            with Session(bind=connection) as session:
                work(session)
                session.flush()
            transaction.rollback()
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", capture)
    plans = []
    with database.engine.connect() as connection:
        cursor = connection.connection.cursor()
        for statement, parameters in sent:
            cursor.execute("EXPLAIN " + statement, parameters)
            plans.append((statement, "\n".join(row[0] for row in cursor.fetchall())))
    assert plans, "nothing was sent"
    return plans


def assert_no_full_scan(plans: list[tuple[str, str]]) -> None:
    for statement, plan in plans:
        for table in ("dossiers", "dossier_events"):
            assert f"Seq Scan on {table}" not in plan, f"{statement}\n{plan}"


@pytest.mark.parametrize("granularity", list(Granularity))
def test_the_deadline_scan_reads_what_is_due(database, granularity):
    rules = dataclasses.replace(BASE, granularity=granularity)
    plans = plans_of(database, lambda s: (alerts.scan_overdue(s, rules, NOW), alerts.scan_due_soon(s, rules, NOW, 2),
                                          alerts.count_overdue(s, rules, NOW)))
    assert_no_full_scan(plans)
    assert any("ix_dossiers_unannounced_due" in plan for _, plan in plans)
    assert any("ix_dossiers_open_due" in plan for _, plan in plans)


def test_the_orphan_check_and_backfill_guard_read_what_is_recent(database):
    plans = plans_of(database, lambda s: (
        ingest.dead_letter_orphans(s, NOW - dt.timedelta(hours=1), NOW, 3600),
        alerts.backfill_in_progress(s, NOW, 86400, 60)))
    assert_no_full_scan(plans)
    assert any("ix_dossiers_awaiting" in plan for _, plan in plans)


def test_the_relay_reads_the_outbox_by_its_key(database):
    def work(session):
        for i in range(5):
            session.add(OutboxEvent(event_type="x", payload="{}", created_at=NOW + dt.timedelta(seconds=i)))
        session.flush()
        relay(session, OutboxEvent, lambda *_: None, "dossiers")

    assert_no_full_scan(plans_of(database, work))


@pytest.mark.parametrize("label", ["2025", "2025-12", "2025-H2"])
def test_statistics_read_counters_not_dossiers(database, label):
    # 2025, 2025-12 and 2025-H2 are running at NOW: their reads of the dossiers (due earlier today, closings dated
    # after the period) are EXPLAINed with those of an ended period (2025-06).
    plans = plans_of(database, lambda s: (counts_by_unit(s, parse_period(label), NOW, Granularity.MINUTE),
                                          counts_by_unit(s, parse_period("2025-06"), NOW, Granularity.MINUTE)))
    assert_no_full_scan(plans)
    assert any("stats_days" in statement for statement, _ in plans)


def test_the_timeliness_publisher_reads_counters_not_dossiers(database):
    def work(session):
        session.connection().exec_driver_sql(
            "INSERT INTO stats_dirty (unit_code, period, marked_at, token) VALUES ('D227', '2025', now(), 't')")
        assert alerts.publish_timeliness(session, dataclasses.replace(BASE, granularity=Granularity.MINUTE), NOW)

    assert_no_full_scan(plans_of(database, work))

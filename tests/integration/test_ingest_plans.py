"""The ingest's lookups stay lookups as the tables grow (issue 18): on PostgreSQL, with tens of thousands of dossiers
and their events analysed, the plans for a batch of 1,000 codes — loading their stored events and rows, updating
the derived rows — find each dossier by its index and never scan a whole table. With ``= ANY(array)`` and a
hash join the planner chose sequential scans for most batches of bench/ingest_scale.py's stream, so each batch
cost grew with the tables."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from services.dossiers import ingest_pg
from shared.config import load_config
from shared.db import Database, open_database
from shared.pg_arrays import array_literal
from tests.support import PG_URL, pg_schema_prefix

pytestmark = pytest.mark.integration

DOSSIERS, EVENTS_EACH, BATCH = 60_000, 3, 1_000


@pytest.fixture(scope="module")
def filled() -> Iterator[Database]:
    with pg_schema_prefix() as schema:
        db = open_database(load_config(DATABASE_URL=PG_URL, DATABASE_SCHEMA=schema), "dossiers")
        with db.engine.begin() as connection:
            # statistics from when the tables were a tenth of their size, as a growing table's are between two
            # automatic ANALYZE runs (the planner scales row counts to the table's size, not the rest)
            for first, last in ((1, DOSSIERS // 10), (DOSSIERS // 10 + 1, DOSSIERS)):
                connection.exec_driver_sql(f"""
                    INSERT INTO dossiers (dossier_code, status, status_code, due_mismatch, paused, supplement_rounds,
                                          first_seen_at, updated_at, unit_code, received_date)
                    SELECT 'H44.01-' || lpad(g::text, 6, '0'), 'in_progress', 2, false, false, 0, now(), now(),
                           'H44.01', current_date - mod(g, 150)
                    FROM generate_series({first}, {last}) AS g""")
                connection.exec_driver_sql(f"""
                    INSERT INTO dossier_events (event_id, dossier_code, event_type, time, occurred_at, payload,
                                                source, stored_at)
                    SELECT md5(g::text || '-' || e), 'H44.01-' || lpad(g::text, 6, '0'), 'dossier.received', now(),
                           now(), '{{"note": "một sự kiện"}}', 'test', now()
                    FROM generate_series({first}, {last}) AS g, generate_series(1, {EVENTS_EACH}) AS e""")
                if first == 1:
                    connection.exec_driver_sql("ANALYZE dossiers; ANALYZE dossier_events")
        yield db
        db.engine.dispose()


def scans(plan: dict[str, Any]) -> list[tuple[str, str]]:
    """(node type, relation) of every scan in a plan tree."""
    found = [(plan["Node Type"], plan["Relation Name"])] if "Relation Name" in plan else []
    for child in plan.get("Plans", []):
        found += scans(child)
    return found


def explain(connection: sa.Connection, sql: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    [[answer]] = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql, params).all()
    return scans((answer if isinstance(answer, list) else json.loads(answer))[0]["Plan"])


def batch(step: int = 59) -> list[str]:
    """1,000 codes spread over the whole table, as a shuffled stream's batch is."""
    return sorted(f"H44.01-{1 + (i * step) % DOSSIERS:06d}" for i in range(BATCH))


def test_loading_a_batch_looks_each_dossier_up_by_its_index(filled) -> None:
    with filled.engine.connect() as connection:
        found = explain(connection, ingest_pg.LOAD, {"codes": array_literal(batch())})
    assert {relation for _, relation in found} >= {"dossiers", "dossier_events"}
    assert not [scan for scan in found if scan[0] == "Seq Scan"], found


def test_updating_a_batch_finds_each_row_by_its_key(filled) -> None:
    with filled.engine.connect() as connection, connection.begin():
        table = sa.table("dossiers", *(sa.column(c) for c in ["dossier_code", *ingest_pg.UPDATE_COLUMNS]))
        rows = [dict(r._mapping) for r in connection.execute(
            sa.select(table).where(table.c.dossier_code.in_(batch(step=61))))]
        assert len(rows) == BATCH
        connection.exec_driver_sql(ingest_pg.ONLY_NESTED_LOOPS)
        found = explain(connection, ingest_pg.UPDATE, ingest_pg._update_params(rows))
        connection.exec_driver_sql(ingest_pg.ALL_JOINS)
        assert connection.exec_driver_sql("SHOW enable_hashjoin").scalar() == "on"  # the rest of the transaction
    assert ("Seq Scan", "dossiers") not in found and ("Index Scan", "dossiers") in found, found

"""PostgreSQL fast path of the ingest: a batch is two round trips — lock-and-load, then write — plus the commit.

Each step is a set-based statement over arrays (``unnest``): row-by-row executemany costs a parameter conversion
and, under eventlet, a hub switch per row; sending the batch as a handful of arrays (one text literal per
column, shared/pg_arrays.py) leaves PostgreSQL the rest (ARCHITECTURE.md: ``INSERT … SELECT FROM unnest(...)
ON CONFLICT DO NOTHING`` was as fast as COPY). The statements of a step go as one multi-statement string
straight to the driver: every round trip is an eventlet wait, and with eight per batch the service spent a fifth of
its time with every batch in flight waiting on the database. SQLite, the embedded default, keeps the portable
statements in ingest.py.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from services.dossiers.lifecycle import StoredEvent
from services.dossiers.models import Dossier
from services.dossiers.stats_counters import COLUMNS as COUNTER_COLUMNS
from services.dossiers.stats_counters import ROW_FIELDS, Deltas, row_from_json
from shared.events import Event
from shared.pg_arrays import array_literal

PAYLOAD_READ_FOR = ("dossier.received", "dossier.late")  # the only events whose payload the derivation reads

# Two statements, each with its own snapshot (READ COMMITTED): create the missing rows and lock the existing ones,
# in code order — ``ON CONFLICT DO UPDATE … WHERE false`` locks every conflicting row without writing it (PostgreSQL
# documents that all such rows are locked), waiting for a batch that inserted or changed one meanwhile, with one
# index descent per code where an INSERT … DO NOTHING then a SELECT … FOR UPDATE took two (issue 18: that lock
# read was the second most expensive statement at 1.6M messages) — then read the
# dossiers' events — all committed by whoever held a lock before us — and, as rows without an event id, the
# fields of the stored rows that the statistics counters read (their old contribution is subtracted). Payloads
# only where the derivation reads them (decoding every payload was a third of the load time).
# Each code is looked up by itself (``LATERAL (… OFFSET 0)``: a subquery the planner cannot flatten into a join):
# with ``= ANY(array of 1,000 codes)`` it chose a sequential scan of both tables for most batches (auto_explain in
# bench/ingest_scale.py's cluster, issue 18) — the cost of a batch then grew with the tables, not with the batch.
LOCK = """
INSERT INTO dossiers (dossier_code, status, status_code, due_mismatch, paused, supplement_rounds,
                      first_seen_at, updated_at)
SELECT c, 'awaiting_receipt', 1, false, false, 0, %(now)s, %(now)s FROM unnest(CAST(%(codes)s AS text[])) AS c
ORDER BY c
ON CONFLICT (dossier_code) DO UPDATE SET dossier_code = excluded.dossier_code WHERE false
"""
LOAD = f"""
SELECT e.event_id, e.dossier_code, e.event_type, e.time,
       CASE WHEN e.event_type IN ({", ".join(f"'{t}'" for t in PAYLOAD_READ_FOR)}) THEN e.payload END
FROM unnest(CAST(%(codes)s AS text[])) AS c(code)
CROSS JOIN LATERAL (SELECT event_id, dossier_code, event_type, time, payload FROM dossier_events
                    WHERE dossier_code = c.code OFFSET 0) AS e
UNION ALL
SELECT NULL, d.dossier_code, NULL, NULL, json_build_array({", ".join(f"d.{f}" for f in ROW_FIELDS)})
FROM unnest(CAST(%(codes)s AS text[])) AS c(code)
CROSS JOIN LATERAL (SELECT * FROM dossiers WHERE dossier_code = c.code AND unit_code IS NOT NULL OFFSET 0) AS d
"""
LOCK_AND_LOAD = LOCK + ";" + LOAD

# Columns the ingest never writes: the deadline scan's markers and the row's creation stamp (set by the INSERT).
NOT_DERIVED = frozenset({"dossier_code", "late_notified_at", "due_soon_notified_at", "first_seen_at"})


def _array_type(column: sa.Column[Any]) -> str:
    """The PostgreSQL array element type a column's values travel in (JSON as text, cast back in the UPDATE)."""
    kind = column.type
    if isinstance(kind, sa.JSON):
        return "text"
    if isinstance(kind, sa.String):
        return "text"
    return str(kind.compile(dialect=postgresql.dialect())).lower()


def update_columns(table: sa.Table) -> dict[str, str]:
    """Column name -> PostgreSQL array type for the UPDATE … FROM unnest(...): every column of the table but those
    the ingest never writes, derived from the model so that a new column cannot silently go unwritten on PostgreSQL
    (the derivation's row must then carry it, or the batch fails loudly on the missing key)."""
    return {c.name: _array_type(c) for c in table.columns if c.name not in NOT_DERIVED}


UPDATE_COLUMNS = update_columns(Dossier.__table__)
JSON_COLUMNS = frozenset(c.name for c in Dossier.__table__.columns if isinstance(c.type, sa.JSON))
# A nested loop over the batch's rows, each finding its dossier by the primary key: given the choice, the planner
# hashed the batch and scanned the whole table for most batches (issue 18), a cost that grew with the table. The
# server's settings come back for whatever else the transaction runs.
ONLY_NESTED_LOOPS = "SET LOCAL enable_hashjoin = off;\nSET LOCAL enable_mergejoin = off"
ALL_JOINS = "SET LOCAL enable_hashjoin TO DEFAULT;\nSET LOCAL enable_mergejoin TO DEFAULT"
UPDATE = (
    "UPDATE dossiers AS d SET "
    + ", ".join(f"{c} = CAST(v.{c} AS json)" if c in JSON_COLUMNS else f"{c} = v.{c}" for c in UPDATE_COLUMNS)
    + " FROM unnest(CAST(%(dossier_code)s AS text[]), "
    + ", ".join(f"CAST(%({c})s AS {t}[])" for c, t in UPDATE_COLUMNS.items())
    + ") AS v(dossier_code, "
    + ", ".join(UPDATE_COLUMNS)
    + ") WHERE d.dossier_code = v.dossier_code"
)
# Marks in key order (as every batch takes them), so two batches cannot deadlock on them.
MARK_DIRTY = """
INSERT INTO stats_dirty (unit_code, period, marked_at, token)
SELECT u, p, %(now)s, %(token)s FROM unnest(CAST(%(units)s AS text[]), CAST(%(periods)s AS text[])) AS m(u, p)
ORDER BY u, p
ON CONFLICT (unit_code, period) DO UPDATE SET marked_at = excluded.marked_at, token = excluded.token
"""
# Statistics counters: deltas added in key order (every batch locks them in that order: no deadlock).
ADD_COUNTERS = (
    "INSERT INTO stats_days (unit_code, day, " + ", ".join(COUNTER_COLUMNS) + ") "
    "SELECT * FROM unnest(CAST(%(c_units)s AS text[]), CAST(%(c_days)s AS date[]), "
    + ", ".join(f"CAST(%(c_{c})s AS integer[])" for c in COUNTER_COLUMNS)
    + ") AS v(unit_code, day, " + ", ".join(COUNTER_COLUMNS) + ") ORDER BY unit_code, day "
    "ON CONFLICT (unit_code, day) DO UPDATE SET "
    + ", ".join(f"{c} = stats_days.{c} + excluded.{c}" for c in COUNTER_COLUMNS)
)
STORE = """
INSERT INTO dossier_events (event_id, dossier_code, event_type, time, occurred_at, payload, source, stored_at)
SELECT e.id, e.code, e.type, e.time, e.occurred, CAST(e.payload AS json), e.source, %(now)s
FROM unnest(CAST(%(ids)s AS text[]), CAST(%(codes)s AS text[]), CAST(%(types)s AS text[]),
            CAST(%(times)s AS timestamptz[]), CAST(%(occurred)s AS timestamptz[]), CAST(%(payloads)s AS text[]),
            CAST(%(sources)s AS text[])) AS e(id, code, type, time, occurred, payload, source)
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""



def _execute(session: Session, sql: str, params: dict[str, Any]) -> Any:
    """The statements as written, straight to psycopg2 in the session's transaction (no compilation), with
    SQLAlchemy still wrapping driver errors: the batch consumer tells a lost connection or a deadlock (retried)
    from a bad message (dead-lettered) by SQLAlchemy's exception types."""
    return session.connection().exec_driver_sql(sql, params)


def lock_and_load(
    session: Session, codes: list[str], now: dt.datetime
) -> tuple[dict[str, list[StoredEvent]], dict[str, dict[str, Any]]]:
    """Lock the batch's dossiers (creating missing rows); return every event already stored for them, and the
    stored rows' statistics fields (received dossiers only)."""
    rows = _execute(session, LOCK_AND_LOAD, {"codes": array_literal(codes), "now": now})
    by_code: dict[str, list[StoredEvent]] = defaultdict(list)
    old: dict[str, dict[str, Any]] = {}
    for event_id, code, event_type, time, body in rows:
        if event_id is None:
            old[code] = row_from_json(body)
        else:
            by_code[code].append(StoredEvent(event_id, event_type, time, body or {}))
    return by_code, old


def write(
    session: Session,
    rows: list[dict[str, Any]],
    dirty: Iterable[tuple[str, str]],
    events: Mapping[str, Event],
    now: dt.datetime,
    token: str,
    counters: Deltas,
) -> set[str]:
    """Update the derived dossiers, mark the changed figures, add to the statistics counters and store the events
    (by id); returns the ids stored (an id already used by a dossier outside the batch is not)."""
    marks = sorted(dirty)
    sql = [ONLY_NESTED_LOOPS, UPDATE, ALL_JOINS] if rows else []
    params: dict[str, Any] = _update_params(rows) if rows else {}
    if marks:
        sql.append(MARK_DIRTY)
        params.update(units=array_literal(u for u, _ in marks), periods=array_literal(p for _, p in marks),
                      token=token)
    if counters:
        sql.append(ADD_COUNTERS)
        params.update(_counter_params(counters))
    sql.append(STORE)
    params.update(
        ids=array_literal(events),
        codes=array_literal(e.dossier_code for e in events.values()),
        types=array_literal(e.event_type for e in events.values()),
        times=array_literal(e.time for e in events.values()),
        occurred=array_literal(e.occurred_at for e in events.values()),
        payloads=array_literal(json.dumps(e.raw.get("payload", {}), ensure_ascii=False) for e in events.values()),
        sources=array_literal(e.source for e in events.values()),
        now=now,
    )
    return {row[0] for row in _execute(session, ";\n".join(sql), params)}


def update_dossiers(session: Session, rows: list[dict[str, Any]], counters: Deltas) -> None:
    sql, params = [ONLY_NESTED_LOOPS, UPDATE, ALL_JOINS], _update_params(rows)
    if counters:
        sql.append(ADD_COUNTERS)
        params.update(_counter_params(counters))
    _execute(session, ";\n".join(sql), params)


def _counter_params(counters: Deltas) -> dict[str, str]:
    keys = sorted(counters)
    params = {"c_units": array_literal(u for u, _ in keys), "c_days": array_literal(d for _, d in keys)}
    for i, column in enumerate(COUNTER_COLUMNS):
        params[f"c_{column}"] = array_literal(counters[key][i] for key in keys)
    return params


def _update_params(rows: list[dict[str, Any]]) -> dict[str, str]:
    params: dict[str, str] = {"dossier_code": array_literal(r["dossier_code"] for r in rows)}
    for column in UPDATE_COLUMNS:
        if column in JSON_COLUMNS:
            params[column] = array_literal(
                None if r[column] is None else json.dumps(r[column], ensure_ascii=False) for r in rows
            )
        else:
            params[column] = array_literal(r[column] for r in rows)
    return params

"""PostgreSQL fast path of the ingest: each step is one set-based statement over arrays (``unnest``).

Row-by-row executemany costs a parameter conversion and, under eventlet, a hub switch per row; sending the
batch as a handful of arrays (one text literal per column, shared/pg_arrays.py) leaves PostgreSQL the rest
(ARCHITECTURE.md: ``INSERT … SELECT FROM unnest(...) ON CONFLICT DO NOTHING`` was as fast as COPY). SQLite, the embedded
default, keeps the portable statements in ingest.py.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.events import Event
from shared.pg_arrays import array_literal

LOCK = sa.text(
    """
    WITH missing AS (
        INSERT INTO dossiers (dossier_code, status, status_code, due_mismatch, paused, supplement_rounds,
                              first_seen_at, updated_at)
        SELECT c, 'awaiting_receipt', 1, false, false, 0, :now, :now FROM unnest(CAST(:codes AS text[])) AS c
        ORDER BY c
        ON CONFLICT (dossier_code) DO NOTHING
        RETURNING dossier_code
    )
    SELECT count(*) FROM missing
    """
)
LOCK_EXISTING = sa.text(
    "SELECT dossier_code FROM dossiers WHERE dossier_code = ANY(CAST(:codes AS text[])) "
    "ORDER BY dossier_code FOR UPDATE"
)
STORE = sa.text(
    """
    INSERT INTO dossier_events (event_id, dossier_code, event_type, time, occurred_at, payload, source, stored_at)
    SELECT e.id, e.code, e.type, e.time, e.occurred, CAST(e.payload AS json), e.source, :now
    FROM unnest(CAST(:ids AS text[]), CAST(:codes AS text[]), CAST(:types AS text[]),
                CAST(:times AS timestamptz[]), CAST(:occurred AS timestamptz[]), CAST(:payloads AS text[]),
                CAST(:sources AS text[])) AS e(id, code, type, time, occurred, payload, source)
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id
    """
)

# Column name -> PostgreSQL array type for the final UPDATE … FROM unnest(...).
UPDATE_COLUMNS: dict[str, str] = {
    "status": "text",
    "status_code": "smallint",
    "unit_code": "text",
    "procedure_code": "text",
    "channel": "text",
    "received_at": "timestamptz",
    "received_date": "date",
    "processing_amount": "numeric",
    "time_unit": "text",
    "due_at": "timestamptz",
    "due_date": "date",
    "onedoor_due_at": "timestamptz",
    "due_mismatch": "boolean",
    "paused": "boolean",
    "supplement_rounds": "smallint",
    "closing": "text",
    "closed_at": "timestamptz",
    "closed_date": "date",
    "finished_at": "timestamptz",
    "returned_at": "timestamptz",
    "outcome": "text",
    "on_time_766": "boolean",
    "late_reported_at": "timestamptz",
    "new_due_at": "timestamptz",
    "applicant": "text",
    "updated_at": "timestamptz",
}
UPDATE = sa.text(
    "UPDATE dossiers AS d SET "
    + ", ".join(f"{c} = CAST(v.{c} AS json)" if c == "applicant" else f"{c} = v.{c}" for c in UPDATE_COLUMNS)
    + " FROM unnest(CAST(:dossier_code AS text[]), "
    + ", ".join(f"CAST(:{c} AS {t}[])" for c, t in UPDATE_COLUMNS.items())
    + ") AS v(dossier_code, "
    + ", ".join(UPDATE_COLUMNS)
    + ") WHERE d.dossier_code = v.dossier_code"
)


def lock_dossiers(session: Session, codes: list[str], now: dt.datetime) -> None:
    literal = array_literal(codes)
    session.execute(LOCK, {"codes": literal, "now": now})
    session.execute(LOCK_EXISTING, {"codes": literal}).all()


def store_events(session: Session, events: Sequence[Event], now: dt.datetime) -> set[str]:
    params = {
        "ids": array_literal(str(e.event_id) for e in events),
        "codes": array_literal(e.dossier_code for e in events),
        "types": array_literal(e.event_type for e in events),
        "times": array_literal(e.time for e in events),
        "occurred": array_literal(e.occurred_at for e in events),
        "payloads": array_literal(json.dumps(e.raw.get("payload", {}), ensure_ascii=False) for e in events),
        "sources": array_literal(e.source for e in events),
        "now": now,
    }
    return {row[0] for row in session.execute(STORE, params)}


def update_dossiers(session: Session, rows: list[dict[str, Any]]) -> None:
    params: dict[str, str] = {"dossier_code": array_literal(r["dossier_code"] for r in rows)}
    for column in UPDATE_COLUMNS:
        if column == "applicant":
            params[column] = array_literal(
                None if r[column] is None else json.dumps(r[column], ensure_ascii=False) for r in rows
            )
        else:
            params[column] = array_literal(r[column] for r in rows)
    session.execute(UPDATE, params)

"""A submission moves the ranking's version; the table is ranked again by the next reader, on SQLite and
PostgreSQL. The read's table equals a full recalculation's, is kept for the readers after it, and is never
kept as current when a change committed while it was being ranked."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from services.scoring import reads, recalc, submissions
from services.scoring.criteria import DATA_DIR, load_criteria_set, parse_criteria_set
from services.scoring.models import OutboxEvent, Ranking

TZ = dt.timezone(dt.timedelta(hours=7))
NOW = dt.datetime(2026, 11, 10, 9, tzinfo=TZ)
UNITS = [{"code": c, "name": f"Sở {c}", "kind": "department"} for c in ("H44.01", "H44.02", "H44.42")]


def publish(session) -> object:
    data = json.loads(load_criteria_set(DATA_DIR / "department-2026.yaml").to_json())
    cs = parse_criteria_set(data, "department-2026.yaml")
    submissions.publish_set(session, cs, json.loads(cs.to_json()), NOW)
    submissions.upsert_units(session, UNITS)
    return cs


def submit(db, cs, unit: str, points: str, leaf: str = "1.1.1") -> dict:
    with db.transaction() as session:
        return submissions.submit_scores(session, cs.id, unit, [{"leaf_id": leaf, "points": points,
                                                                  "evidence": ["KH 1"]}], "u", NOW)


def stored(db, set_id: str) -> tuple[int, int | None]:
    with db.transaction() as session:
        row = session.get(Ranking, set_id)
        return row.version, row.table_version


def test_submissions_move_the_version_and_the_next_read_ranks_the_stored_results_as_a_full_recalculation(
        scoring_database) -> None:
    db = scoring_database
    with db.transaction() as session:
        cs = publish(session)
    answers = [submit(db, cs, "H44.01", "0.25"), submit(db, cs, "H44.02", "0.5"), submit(db, cs, "H44.42", "0.5"),
               submit(db, cs, "H44.01", "0.5", leaf="1.1.2")]
    assert [a["ranking_version"] for a in answers] == [1, 2, 3, 4]
    assert stored(db, cs.id) == (4, None)  # nothing ranked yet: no submission rewrote the table
    with db.transaction() as session:  # each submission announced its version, with the units ranked then
        events = session.scalars(sa.select(OutboxEvent).where(OutboxEvent.event_type == "ranking_updated")
                                 .order_by(OutboxEvent.id)).all()
        announced = [json.loads(e.payload) for e in events]
        assert [(a["version"], a["units"]) for a in announced] == [(1, 1), (2, 2), (3, 3), (4, 3)]

    with db.transaction() as session:
        read = reads.ranking(session, cs.id)
    assert read["version"] == 4
    assert [(r["unit_code"], r["rank"], r["total_points"]) for r in read["table"]] == [
        ("H44.01", 1, "0.75"), ("H44.02", 2, "0.50"), ("H44.42", 2, "0.50")]
    assert stored(db, cs.id) == (4, 4)  # kept for the next reader
    with db.transaction() as session:
        again = reads.ranking(session, cs.id)
        full = submissions.recalculate_set(session, cs.id, NOW)
    assert again == read
    assert full["version"] == 5 and full["table"] == read["table"]
    assert stored(db, cs.id) == (5, 5)  # a full recalculation ranks and keeps the table at once


def test_a_change_committed_while_a_reader_ranks_is_not_kept_as_the_readers_version(scoring_database,
                                                                                      monkeypatch) -> None:
    """The reader read version 2 and its results; version 3 commits before it stores its table: the table is not
    kept as version 3's, and the reader ranks again — its answer is version 3 with version 3's units (answering
    "version 2" with a table holding version 3's change would label a ranking document wrongly)."""
    if scoring_database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: no change can commit inside another transaction")
    db = scoring_database
    with db.transaction() as session:
        cs = publish(session)
    submit(db, cs, "H44.01", "0.25")
    submit(db, cs, "H44.02", "0.5")
    read_results = recalc._all_rows
    stored_tables: list[tuple[int, int | None]] = []

    def results_then_a_submission_commits(session, cs_, fresh):
        rows = read_results(session, cs_, fresh)  # the reader has read version 2 and the results of version 2…
        if not stored_tables:
            submit(db, cs, "H44.42", "0.5")  # …and version 3 commits from another connection before it stores
        stored_tables.append(stored(db, cs.id))
        return rows

    monkeypatch.setattr(recalc, "_all_rows", results_then_a_submission_commits)
    with db.transaction() as session:
        read = reads.ranking(session, cs.id)
    monkeypatch.setattr(recalc, "_all_rows", read_results)
    assert stored_tables == [(3, None), (3, None)]  # ranked twice; version 2's table never kept as version 3's
    assert read["version"] == 3 and {r["unit_code"] for r in read["table"]} == {"H44.01", "H44.02", "H44.42"}
    assert stored(db, cs.id) == (3, 3)

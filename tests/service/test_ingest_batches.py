"""What one ingest batch stores and derives, on SQLite and PostgreSQL: duplicates are recognised whether they
repeat an event of a dossier in the batch, of one outside it, or of the batch itself, and nothing a duplicate
says reaches a dossier's state or the statistics marks."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid

import pytest
import sqlalchemy as sa

from services.dossiers.ingest import ingest_batch
from services.dossiers.models import Dossier, DossierEvent, StatsDirty
from services.dossiers.rules import rules_from_config
from shared.batch_consumer import is_transient
from shared.config import load_config
from shared.db import open_database
from shared.events import make_envelope, parse_event
from tests.support import PG_URL, pg_schema_prefix

TZ = dt.timezone(dt.timedelta(hours=7))
RULES = rules_from_config(load_config())
NOW = dt.datetime(2026, 1, 1, tzinfo=TZ)
PROCEDURE = "1.000894.H44"  # 5 working days
RECEIVED = dt.datetime(2025, 3, 3, 9, tzinfo=TZ)  # Monday: due Monday 10/3


def received(code: str, event_id: str, unit: str = "D227") -> dict:
    payload = {"dossier_code": code, "procedure_code": PROCEDURE, "unit_code": unit, "received_at": RECEIVED}
    return make_envelope("dossier.received", payload, occurred_at=RECEIVED, event_id=event_id)


def resolved(code: str, event_id: str, day: int) -> dict:
    when = RECEIVED.replace(day=day, hour=10)
    return make_envelope("dossier.resolved", {"dossier_code": code, "resolved_at": when}, occurred_at=when,
                         event_id=event_id)


def returned(code: str, event_id: str, day: int) -> dict:
    when = RECEIVED.replace(day=day, hour=15)
    return make_envelope("dossier.returned", {"dossier_code": code, "returned_at": when}, occurred_at=when,
                         event_id=event_id)


def ingest(database, *envelopes: dict):
    with database.transaction() as session:
        return ingest_batch(session, [parse_event(e) for e in envelopes], RULES, NOW)


def state(database, code: str) -> tuple:
    with database.transaction() as session:
        dossier = session.get(Dossier, code)
        return dossier.status, dossier.unit_code, dossier.outcome


def owners(database) -> dict[str, str]:
    with database.transaction() as session:
        return dict(session.execute(sa.select(DossierEvent.event_id, DossierEvent.dossier_code)).all())


def test_an_event_id_another_dossier_already_uses_counts_as_a_duplicate(database):
    x, y, z = (str(uuid.uuid4()) for _ in range(3))
    first = ingest(database, received("A", x), resolved("A", y, 5))
    assert (first.stored, first.duplicates, first.dossiers_changed) == (2, 0, 1)
    assert state(database, "A") == ("resolved", "D227", "early")

    # B's receipt reuses A's receipt id (A is not in the batch): it is not stored, so B has no receipt
    second = ingest(database, received("B", x, unit="D228"), resolved("B", z, 12))
    assert (second.stored, second.duplicates) == (1, 1)
    assert state(database, "B") == ("awaiting_receipt", None, None)
    assert state(database, "A") == ("resolved", "D227", "early")

    # C's receipt reuses A's resolution id while A is in the same batch: known from A's history
    w, v = str(uuid.uuid4()), str(uuid.uuid4())
    third = ingest(database, returned("A", w, 6), received("C", y, unit="D228"), received("C", v, unit="D228"),
                   received("C", v, unit="D228"))
    assert (third.stored, third.duplicates, third.rejections) == (2, 2, {})
    assert state(database, "C") == ("in_progress", "D228", None)
    assert state(database, "A") == ("returned", "D227", "early")
    assert owners(database) == {x: "A", y: "A", z: "B", w: "A", v: "C"}


def test_a_redelivered_batch_changes_nothing(database):
    batch = [received("R", str(uuid.uuid4()), unit="D228"), resolved("R", str(uuid.uuid4()), 11)]
    first = ingest(database, *batch)
    assert (first.stored, first.dossiers_changed) == (2, 1)
    assert state(database, "R") == ("resolved", "D228", "late")
    with database.transaction() as session:
        marks = {(m.unit_code, m.period, m.token) for m in session.scalars(sa.select(StatsDirty))}
    assert {(u, p) for u, p, _ in marks} == {("D228", "2025")}

    again = ingest(database, *batch)
    assert (again.stored, again.duplicates, again.dossiers_changed) == (0, 2, 0)
    with database.transaction() as session:
        assert {(m.unit_code, m.period, m.token) for m in session.scalars(sa.select(StatsDirty))} == marks


@pytest.mark.integration
def test_database_failures_mid_batch_reach_the_consumer_as_transient():
    """The PostgreSQL path sends its statements straight to the driver; its errors must still reach the batch
    consumer as SQLAlchemy's, or a lock time-out or a database restart would dead-letter good messages instead
    of retrying them."""
    with pg_schema_prefix() as schema:
        database = open_database(load_config(DATABASE_URL=PG_URL, DATABASE_SCHEMA=schema), "dossiers")
        try:
            ingest(database, received("K1", str(uuid.uuid4())))
            batch = [parse_event(resolved("K1", str(uuid.uuid4()), 4))]

            def failure_of(interfere) -> BaseException:
                """What ingest_batch itself raises (not what the rollback after it may raise)."""
                caught: list[BaseException] = []
                with contextlib.suppress(sa.exc.SQLAlchemyError), database.transaction() as session:
                    interfere(session)
                    try:
                        ingest_batch(session, batch, RULES, NOW)
                    except Exception as exc:
                        caught.append(exc)
                        raise  # the transaction rolls back, as in the service
                assert caught, "ingest_batch did not fail"
                return caught[0]

            with database.engine.connect() as holder:  # another batch holds K1's row lock
                holder.execute(sa.text("SELECT 1 FROM dossiers WHERE dossier_code = 'K1' FOR UPDATE"))
                timed_out = failure_of(lambda s: s.execute(sa.text("SET LOCAL lock_timeout = '200ms'")))
                holder.rollback()
            assert "lock timeout" in str(timed_out) and is_transient(timed_out)

            def lose_connection(session) -> None:
                pid = session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
                with database.engine.connect() as other:
                    other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

            assert is_transient(failure_of(lose_connection))
            with database.transaction() as session:  # the pool recovers: the same batch then succeeds
                assert ingest_batch(session, batch, RULES, NOW).stored == 1
        finally:
            database.engine.dispose()


def dead_letters_in_outbox(database) -> list[dict]:
    import json

    from services.dossiers.ingest import DEAD_LETTER_EVENT
    from services.dossiers.models import OutboxEvent

    with database.transaction() as session:
        rows = session.scalars(sa.select(OutboxEvent).where(OutboxEvent.event_type == DEAD_LETTER_EVENT)).all()
        return [json.loads(r.payload) for r in rows]


def test_a_refusal_is_durable_and_a_redelivery_after_commit_dead_letters_nothing_twice(database):
    """A refused event's dead letter is written with the batch (outbox), so a crash between the commit and the
    consumer's ack cannot lose it; the redelivery is then a duplicate that adds no second letter. The same bad
    event twice in one batch is one dead letter (issue 12: refused events redelivered after commit)."""
    from services.dossiers.index766.store import ingest_with_facts

    bad_id = str(uuid.uuid4())
    bad = received("BAD-UNIT", bad_id, unit="99999")  # an unknown unit: refused by the lifecycle
    batch = [parse_event(e) for e in (bad, bad, received("OK", str(uuid.uuid4())))]
    with database.transaction() as session:
        _, to_consumer = ingest_with_facts(session, batch, RULES, NOW)
    letters = dead_letters_in_outbox(database)  # committed with the batch: durable before any ack
    assert [json_id(letter) for letter in letters] == [bad_id]
    assert letters[0]["field"] == "payload.unit_code" and letters[0]["body"] == __import__("json").dumps(bad)
    # the consumer only counts it: publishing a letter itself would be a second one
    assert list(to_consumer) == [bad_id] and to_consumer[bad_id].dead_lettered
    with database.transaction() as session:  # the broker redelivers the batch (no ack reached it)
        again, to_consumer = ingest_with_facts(session, batch, RULES, NOW)
    assert (again.stored, to_consumer) == (0, {})
    assert [json_id(letter) for letter in dead_letters_in_outbox(database)] == [bad_id]


def json_id(letter: dict) -> str:
    import json

    return json.loads(letter["body"])["event_id"]


def test_a_replayed_refused_event_that_is_still_refused_is_dead_lettered_again(database):
    """`cchc dlq replay` of a refusal whose cause is not fixed: refused again, visibly (a new dead letter), never
    silently swallowed as a duplicate; a plain redelivery (no replay header) adds nothing."""
    import dataclasses

    bad = parse_event(received("STILL-BAD", str(uuid.uuid4()), unit="99999"))
    ingest_batch_in(database, [bad])
    assert len(dead_letters_in_outbox(database)) == 1
    ingest_batch_in(database, [bad])  # redelivered, not replayed
    assert len(dead_letters_in_outbox(database)) == 1
    report = ingest_batch_in(database, [dataclasses.replace(bad, replayed=True)])
    letters = dead_letters_in_outbox(database)
    assert len(letters) == 2 and letters[1]["field"] == "payload.unit_code"
    assert "still refused" in letters[1]["reason"] and report.refused_again == 1


def ingest_batch_in(database, events):
    with database.transaction() as session:
        return ingest_batch(session, events, RULES, NOW)


def test_events_beyond_a_dossiers_limit_are_refused_not_stored(database):
    """A dossier's whole history is loaded and re-derived for every new event: a vendor looping on one dossier
    must not make that unbounded. Past the limit, its events are refused (dead-lettered, field and reason)."""
    ids = [str(uuid.uuid4()) for _ in range(5)]
    with database.transaction() as session:
        first = ingest_batch(session, [parse_event(received("LOOP", ids[0])), parse_event(resolved("LOOP", ids[1], 5))],
                             RULES, NOW, max_events_per_dossier=3)
    assert first.stored == 2
    with database.transaction() as session:
        more = [parse_event(returned("LOOP", ids[n], 4 + n)) for n in (2, 3, 4)]
        second = ingest_batch(session, more, RULES, NOW, max_events_per_dossier=3)
    assert (second.stored, second.duplicates) == (1, 0) and set(second.rejections) == {ids[3], ids[4]}
    assert {r.field for r in second.rejections.values()} == {"payload.dossier_code"}
    assert all("limit" in r.reason for r in second.rejections.values())
    assert sorted(json_id(letter) for letter in dead_letters_in_outbox(database)) == sorted(ids[3:])
    assert sorted(owners(database)) == sorted(ids[:3])

"""The batch entrypoint's promises, on both backends: transient failures are retried (never acked, never
dead-lettered), a poison message is isolated and dead-lettered alone, and the rest are processed once."""

from __future__ import annotations

import datetime as dt

import sqlalchemy.exc
from kombu import Exchange, Producer

from cchc.runner import running
from shared import deadletter
from shared.batch_consumer import batch_event_handler
from shared.events import make_envelope
from shared.messaging import connect
from shared.metrics import batch_retries
from shared.publisher import publisher_for
from shared.reliable_handler import reliable_event_handler
from tests.support import wait_until

TZ = dt.timezone(dt.timedelta(hours=7))


class Recorder:
    """A service whose handler fails on purpose: ``failures`` transient errors first, and always on POISON."""

    name = "recorder"
    processed: list[str] = []  # noqa: RUF012
    failures = 0

    @batch_event_handler(["#"], queue_name="recorder.ingest")
    def take(self, events):
        if Recorder.failures > 0:
            Recorder.failures -= 1
            raise sqlalchemy.exc.OperationalError("SELECT 1", {}, ConnectionRefusedError("database is down"))
        if any(e.dossier_code == "POISON" for e in events):
            raise ValueError("cannot handle POISON")
        Recorder.processed.extend(e.dossier_code for e in events)
        return {}


def resolved(code: str) -> dict:
    at = dt.datetime(2026, 7, 6, 9, tzinfo=TZ)
    return make_envelope("dossier.resolved", {"dossier_code": code, "resolved_at": at}, occurred_at=at)


def publish(config, messages) -> None:
    publisher = publisher_for(config)
    publisher.publish_many(messages)
    publisher.close()


def test_transient_failures_are_retried_with_backoff_until_they_succeed(backend_config):
    config = backend_config(ingest={"batch_size": 50, "max_wait_ms": 20})
    Recorder.processed, Recorder.failures = [], 3
    retries_before = batch_retries.labels("recorder")._value.get()
    with running([Recorder], config):
        publish(config, [resolved(f"D{i}") for i in range(20)])
        wait_until(lambda: len(Recorder.processed) >= 20, timeout=30, message="20 events processed")
        with connect(config) as connection:
            dead = deadletter.count(connection, "recorder")
    assert sorted(Recorder.processed) == sorted(f"D{i}" for i in range(20))  # each once, none lost
    assert dead == 0
    assert batch_retries.labels("recorder")._value.get() - retries_before >= 3


def test_a_poison_message_is_isolated_and_dead_lettered_alone(backend_config):
    config = backend_config(ingest={"batch_size": 64, "max_wait_ms": 200})
    Recorder.processed, Recorder.failures = [], 0
    codes = [f"D{i}" for i in range(40)]
    messages = [resolved(c) for c in codes]
    messages.insert(17, resolved("POISON"))
    with running([Recorder], config):
        publish(config, messages)
        wait_until(lambda: len(Recorder.processed) >= 40, timeout=30, message="the 40 good events")
        with connect(config) as connection:
            letters = wait_until(
                lambda: deadletter.browse(connection, "recorder"), timeout=10, message="the poison dead letter"
            )
    assert sorted(Recorder.processed) == sorted(codes)
    assert len(letters) == 1
    assert letters[0].kind == "failed" and "cannot handle POISON" in letters[0].reason
    assert b"POISON" in letters[0].body


class Listener:
    """A nameko event handler made reliable: transient failures retried in place, poison dead-lettered."""

    name = "listener"
    seen: list[str] = []  # noqa: RUF012
    failures = 0

    @reliable_event_handler("cchc_portal", "ping")
    def on_ping(self, payload):
        if payload.get("poison"):
            raise ValueError("cannot handle this ping")
        if Listener.failures > 0:
            Listener.failures -= 1
            raise sqlalchemy.exc.OperationalError("SELECT 1", {}, ConnectionRefusedError("database is down"))
        Listener.seen.append(payload["n"])


def test_reliable_event_handler_retries_transient_failures_and_parks_poison(backend_config):
    from nameko.standalone.events import event_dispatcher

    config = backend_config()
    Listener.seen, Listener.failures = [], 3
    with running([Listener], config):
        dispatch = event_dispatcher(config)
        dispatch("cchc_portal", "ping", {"n": 1})
        dispatch("cchc_portal", "ping", {"n": 2, "poison": True})
        with connect(config) as connection:  # a body that cannot even be decoded
            Producer(connection.default_channel).publish(
                b"{not json",
                exchange=Exchange("cchc_portal.events", "topic", durable=True),
                routing_key="ping",
                content_type="application/json",
                content_encoding="utf-8",
            )
        wait_until(lambda: Listener.seen == [1], timeout=30, message="the ping processed after 3 transient failures")
        with connect(config) as connection:
            letters = wait_until(
                lambda: (lambda p: p if len(p) >= 2 else None)(deadletter.browse(connection, "listener")),
                timeout=10,
                message="the poison ping and the undecodable body dead-lettered",
            )
    assert Listener.seen == [1] and Listener.failures == 0
    by_kind = {letter.kind: letter for letter in letters}
    assert len(letters) == 2 and set(by_kind) == {"failed", "invalid"}
    assert "cannot handle this ping" in by_kind["failed"].reason
    assert "could not be decoded" in by_kind["invalid"].reason and by_kind["invalid"].body == b"{not json"


def test_a_255_byte_routing_key_is_dead_lettered_once_and_ingest_goes_on(backend_config, caplog):
    """The dead letter's routing key is ``<service>.<original key>``: past AMQP's 255 bytes it would not even frame
    (py-amqp raised struct.error, the consumer reconnected, got the same message and looped). It is bounded (a
    hash), the original kept in a header; the valid events behind it are stored."""
    config = backend_config(ingest={"batch_size": 8, "max_wait_ms": 20})
    Recorder.processed, Recorder.failures = [], 0
    long_key = "dossier." + "x" * 247
    assert len(long_key.encode()) == 255
    with running([Recorder], config):
        with connect(config) as connection:
            Producer(connection.default_channel).publish(
                b"{not json", exchange=Exchange("onedoor.events", "topic", durable=True), routing_key=long_key,
                content_type="application/json", content_encoding="binary")
        publish(config, [resolved(f"D{i}") for i in range(10)])
        wait_until(lambda: len(Recorder.processed) >= 10, timeout=30, message="the 10 valid events behind it")
        with connect(config) as connection:
            letters = wait_until(lambda: deadletter.browse(connection, "recorder"), timeout=10,
                                 message="the dead letter")
            assert deadletter.count(connection, "recorder") == 1
    assert sorted(Recorder.processed) == sorted(f"D{i}" for i in range(10))
    assert len(letters) == 1 and letters[0].original_routing_key == long_key and letters[0].body == b"{not json"
    assert "lost its connection" not in caplog.text

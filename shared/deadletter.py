"""Dead-lettering: a message that can never succeed is parked with its reason, counted and replayable.

Dead letters keep the original body byte for byte and, in headers, where it came from and why it was
refused, so ``cchc dlq replay`` can send it back to its exchange once the cause is fixed.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from kombu import Connection, Producer
from nameko.extensions import DependencyProvider

from shared.clock import utcnow
from shared.events import ONEDOOR_EXCHANGE
from shared.messaging import dead_letter_exchange, dead_letter_queue, declare_topology
from shared.metrics import dead_letters

log = logging.getLogger(__name__)

REASON = "x-cchc-reason"
FIELD = "x-cchc-field"
KIND = "x-cchc-kind"
ORIGINAL_EXCHANGE = "x-cchc-original-exchange"
ORIGINAL_ROUTING_KEY = "x-cchc-original-routing-key"
DEAD_LETTERED_AT = "x-cchc-dead-lettered-at"
REPLAYED_AT = "x-cchc-replayed-at"  # set by `cchc dlq replay`: the consumer reports a still-refused event again
# AMQP frames a routing key (and an exchange name) as a short string: 255 bytes at most. Header values are long
# strings, but the whole header must fit in one frame (frame_max, 128 KiB by default); what a vendor controls is cut
# well below both.
MAX_KEY_BYTES = 255
MAX_HEADER_CHARS = 1000
MAX_FIELD_CHARS = 200


def bounded(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, never inside a character."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", "ignore")


def dead_letter_routing_key(service: str, routing_key: str) -> str:
    """``<service>.<original key>``, or ``<service>.overlong.<sha256 prefix>`` when that would not fit in AMQP's
    255 bytes (a vendor's key can be 255 bytes by itself): the original stays in ORIGINAL_ROUTING_KEY."""
    key = f"{service}.{routing_key or 'unrouted'}"
    if len(key.encode("utf-8", "surrogatepass")) <= MAX_KEY_BYTES:
        return key
    digest = hashlib.sha256(routing_key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{service}.overlong.{digest}"


@dataclass(frozen=True)
class DeadLetter:
    """One message to park: ``kind`` is invalid (schema), rejected (domain rule), failed (bug) or orphan."""

    body: bytes
    exchange: str
    routing_key: str
    reason: str
    field: str = "_body"
    kind: str = "invalid"


def publish_dead_letters(producer: Producer, service: str, letters: list[DeadLetter]) -> None:
    """Publish persistently to the service's dead-letter queue; the caller acks the originals afterwards."""
    now = utcnow().isoformat()
    for letter in letters:
        producer.publish(
            letter.body,
            exchange=dead_letter_exchange,
            routing_key=dead_letter_routing_key(service, letter.routing_key),
            delivery_mode=2,
            content_type="application/json",
            content_encoding="binary",
            headers={
                REASON: letter.reason[:MAX_HEADER_CHARS],
                FIELD: letter.field[:MAX_FIELD_CHARS],
                KIND: letter.kind[:MAX_FIELD_CHARS],
                ORIGINAL_EXCHANGE: bounded(letter.exchange, MAX_KEY_BYTES),
                ORIGINAL_ROUTING_KEY: bounded(letter.routing_key, MAX_KEY_BYTES),
                DEAD_LETTERED_AT: now,
            },
            declare=[dead_letter_queue(service)],
            retry=True,
        )
        dead_letters.labels(service, letter.kind).inc()


@dataclass(frozen=True)
class ParkedMessage:
    body: bytes
    reason: str
    field: str
    kind: str
    original_exchange: str
    original_routing_key: str
    dead_lettered_at: str

    @classmethod
    def from_message(cls, message: Any) -> ParkedMessage:
        headers = message.headers or {}
        exchange, routing_key = headers.get(ORIGINAL_EXCHANGE), headers.get(ORIGINAL_ROUTING_KEY)
        if exchange is None:
            # dead-lettered by the broker itself (delivery limit, rejection): the origin is in x-death
            deaths = headers.get("x-death") or [{}]
            exchange = deaths[0].get("exchange", "")
            routing_key = (deaths[0].get("routing-keys") or [""])[0]
            reason = str(headers.get(REASON) or f"dead-lettered by the broker: {deaths[0].get('reason', 'unknown')}")
        else:
            reason = str(headers.get(REASON, ""))
        return cls(
            body=message.body if isinstance(message.body, bytes) else str(message.body).encode(),
            reason=reason,
            field=str(headers.get(FIELD, "")),
            kind=str(headers.get(KIND, "broker")),
            original_exchange=str(exchange or ""),
            original_routing_key=str(routing_key or ""),
            dead_lettered_at=str(headers.get(DEAD_LETTERED_AT, "")),
        )


def browse(connection: Connection, service: str, limit: int = 100) -> list[ParkedMessage]:
    """Read without removing: fetch unacknowledged, then requeue every one (not every transport restores
    unacked messages when a channel closes, so they are put back explicitly)."""
    declare_topology(connection, service)
    fetched = []
    with connection.channel() as channel:
        queue = dead_letter_queue(service)(channel)
        try:
            for _ in range(limit):
                message = queue.get(no_ack=False, accept=None)
                if message is None:
                    break
                fetched.append(message)
            return [ParkedMessage.from_message(m) for m in fetched]
        finally:
            for message in fetched:
                message.requeue()


# Where ``cchc dlq replay`` may send a service's dead letters back to: the exchanges (and routing keys) its queues
# are bound to in deploy/rabbitmq/topology.yaml (tests/deploy/test_rabbitmq_topology.py checks they agree). The
# origin headers can be forged by anyone who may publish to the dead-letter exchange, so they choose among these
# targets, never beyond them ("#": any routing key).
REPLAY_TARGETS: dict[str, frozenset[tuple[str, str]]] = {
    "dossiers": frozenset({(ONEDOOR_EXCHANGE, "#")}),
    "scoring": frozenset({("dossiers.events", "timeliness_updated"), ("cchc_portal.events", "score_submitted")}),
    "reports": frozenset({("scoring.events", "ranking_updated")}),
    "notifications": frozenset({("dossiers.events", "dossier_late"), ("dossiers.events", "dossier_due_soon"),
                                ("scoring.events", "ranking_updated"),
                                ("scoring.events", "season_explanation_requested"),
                                ("scoring.events", "season_explanation_answered")}),
}


def replay_refusal(service: str, parked: ParkedMessage) -> str | None:
    """Why this dead letter may not be sent where its headers say (None: it may)."""
    if not parked.original_exchange:
        return "origin exchange unknown"
    if len(parked.original_routing_key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        return "routing key longer than 255 bytes"
    for exchange, key in REPLAY_TARGETS.get(service, frozenset()):
        if parked.original_exchange == exchange and key in ("#", parked.original_routing_key):
            return None
    return (f"{parked.original_exchange!r} / {parked.original_routing_key!r} is not a queue of {service!r} "
            "(forged or foreign origin headers)")


@dataclass
class ReplayReport:
    """What a replay did: letters sent back, and letters kept parked because their origin is not allowed."""

    replayed: int = 0
    kept: list[tuple[ParkedMessage, str]] = field(default_factory=list)


def replay_report(connection: Connection, service: str, limit: int | None = None) -> ReplayReport:
    """Send parked messages back to their original exchange and routing key, if that is one of the service's
    own (REPLAY_TARGETS); the others stay parked, listed with why. Messages are held unacknowledged until the
    end, so a refused one (requeued at the end) is not fetched again in the same run."""
    declare_topology(connection, service)
    report = ReplayReport()
    with connection.channel() as channel:
        queue = dead_letter_queue(service)(channel)
        producer = Producer(channel)
        held = []
        try:
            while limit is None or report.replayed + len(held) < limit:
                message = queue.get(no_ack=False, accept=None)
                if message is None:
                    break
                parked = ParkedMessage.from_message(message)
                refusal = replay_refusal(service, parked)
                if refusal is not None:
                    log.warning("dead letter of %s kept parked: %s", service, refusal)
                    held.append(message)
                    report.kept.append((parked, refusal))
                    continue
                producer.publish(
                    parked.body,
                    exchange=parked.original_exchange,
                    routing_key=parked.original_routing_key,
                    delivery_mode=2,
                    content_type="application/json",
                    content_encoding="binary",
                    headers={REPLAYED_AT: utcnow().isoformat()},
                    retry=True,
                )
                message.ack()
                report.replayed += 1
        finally:
            for message in held:
                message.requeue()
    return report


def replay(connection: Connection, service: str, limit: int | None = None) -> int:
    """:func:`replay_report`, returning how many were sent back."""
    return replay_report(connection, service, limit).replayed


def count(connection: Connection, service: str) -> int:
    declare_topology(connection, service)
    with connection.channel() as channel:
        _, message_count, _ = dead_letter_queue(service)(channel).queue_declare(passive=True)
        return int(message_count)


class DeadLetterPublisher(DependencyProvider):
    """nameko dependency for dead letters found after the original was acked (orphans, late contradictions).

    Those come out of the database through the outbox relay, as dicts: body, routing_key, field, reason, kind.
    """

    def setup(self) -> None:
        from shared.messaging import connect

        self.service = self.container.service_name
        self.connection = connect(self.container.config)
        self.lock = threading.Lock()

    def stop(self) -> None:
        self.connection.release()

    def get_dependency(self, worker_ctx: Any) -> DeadLetterPublisher:
        return self

    def publish(self, letter: dict[str, Any]) -> None:
        dead = DeadLetter(
            body=str(letter["body"]).encode(),
            exchange=letter.get("exchange") or ONEDOOR_EXCHANGE,
            routing_key=str(letter["routing_key"]),
            reason=str(letter["reason"]),
            field=str(letter.get("field") or "_body"),
            kind=str(letter.get("kind") or "rejected"),
        )
        with self.lock:
            publish_dead_letters(Producer(self.connection.default_channel), self.service, [dead])

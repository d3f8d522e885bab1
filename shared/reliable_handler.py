"""``@reliable_event_handler``: nameko's ``@event_handler`` without its silent-loss default.

nameko acknowledges a message whose handler raised (``requeue_on_error=False``): the event is gone. Here the
outcome is decided per failure: a body that fails its schema, or a handler error that is not transient, is
dead-lettered with the reason and then acked; a transient failure (database down) is retried in place with exponential
backoff, unacknowledged, for as long as it lasts: never acknowledged as done, never requeued in a loop.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import eventlet
from kombu import Producer
from marshmallow import Schema, ValidationError
from nameko.events import EventHandler
from nameko.messaging import QueueConsumer

from shared.batch_consumer import is_transient
from shared.deadletter import DeadLetter, publish_dead_letters
from shared.events import first_error
from shared.messaging import connect, declare_topology
from shared.metrics import batch_retries, events_consumed

log = logging.getLogger(__name__)

TRANSIENT_BACKOFF_SECONDS = 0.5
TRANSIENT_BACKOFF_MAX_SECONDS = 30.0


class DeadLetteringQueueConsumer(QueueConsumer):
    """nameko's queue consumer, except that a body that cannot even be decoded is dead-lettered with the reason
    (kombu's default logs it and acks it: the message would be gone)."""

    def on_decode_error(self, message: Any, exc: Exception) -> None:
        info = message.delivery_info or {}
        letter = DeadLetter(body=message.body if isinstance(message.body, bytes) else str(message.body).encode(),
                            exchange=info.get("exchange") or "", routing_key=info.get("routing_key") or "",
                            reason=f"body could not be decoded: {exc}", field="_body", kind="invalid")
        service = self.container.service_name
        with connect(self.container.config) as connection:
            publish_dead_letters(Producer(connection.default_channel), service, [letter])
        events_consumed.labels(service, "dead_lettered").inc()
        message.ack()


class ReliableEventHandler(EventHandler):
    queue_consumer = DeadLetteringQueueConsumer()

    def __init__(self, source_service: str, event_type: str, schema: type[Schema] | None = None, **kwargs: Any) -> None:
        self.schema = schema
        super().__init__(source_service, event_type, **kwargs)

    def setup(self) -> None:
        super().setup()
        self._attempts: dict[int, int] = {}
        with connect(self.container.config) as connection:
            declare_topology(connection, self.container.service_name)

    def handle_message(self, body: Any, message: Any) -> None:
        if self.schema is not None:
            try:
                body = self.schema().load(body)
            except ValidationError as exc:
                field, reason = first_error(exc.messages)
                self._dead_letter(message, reason, field, "invalid")
                return
        super().handle_message(body, message)

    def handle_message_processed(self, message: Any, result: Any = None, exc_info: Any = None) -> None:
        service = self.container.service_name
        if exc_info is None:
            self._attempts.pop(message.delivery_tag, None)
            events_consumed.labels(service, "processed").inc()
            self.queue_consumer.ack_message(message)
            return
        exc = exc_info[1]
        if is_transient(exc):
            # Retry in place (the message stays unacked, no redelivery counted against the broker's delivery
            # limit), with exponential backoff, for as long as the failure lasts.
            attempt = self._attempts.get(message.delivery_tag, 0) + 1
            self._attempts[message.delivery_tag] = attempt
            delay = min(TRANSIENT_BACKOFF_MAX_SECONDS, TRANSIENT_BACKOFF_SECONDS * 2 ** (attempt - 1))
            batch_retries.labels(service).inc()
            log.warning("%s: transient failure (%r); retry %d in %.1fs", self.method_name, exc, attempt, delay)
            eventlet.spawn_after(delay, self._retry, message)
            return
        self._attempts.pop(message.delivery_tag, None)
        log.error("%s: dead-lettering after a processing failure: %r", self.method_name, exc)
        self._dead_letter(message, f"processing failed: {exc!r}", "_processing", "failed")

    def _retry(self, message: Any) -> None:
        super().handle_message(message.payload if self.schema is None else self.schema().load(message.payload), message)

    def _dead_letter(self, message: Any, reason: str, field: str, kind: str) -> None:
        service = self.container.service_name
        body = message.body if isinstance(message.body, bytes) else json.dumps(message.body).encode()
        letter = DeadLetter(
            body=body,
            exchange=f"{self.source_service}.events",
            routing_key=self.event_type,
            reason=reason,
            field=field,
            kind=kind,
        )
        with connect(self.container.config) as connection:
            publish_dead_letters(Producer(connection.default_channel), service, [letter])
        events_consumed.labels(service, "dead_lettered").inc()
        self.queue_consumer.ack_message(message)


reliable_event_handler = ReliableEventHandler.decorator

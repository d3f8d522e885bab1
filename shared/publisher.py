"""Publishing one-door events: what a vendor's system does, shipped for vendors, tools, the demo and bench.

``PikaPublisher`` talks to RabbitMQ with publisher confirms and persistent delivery, so ``publish`` returns
only once the broker has taken responsibility for every message. ``KombuPublisher`` serves the in-process
``memory://`` broker of the demo (which has no confirms to wait for).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import pika
from kombu import Connection, Producer

from shared.events import ONEDOOR_EXCHANGE

Progress = Callable[[int], None]


class Publisher(Protocol):
    def publish_many(self, messages: Iterable[dict[str, Any] | bytes], progress: Progress | None = None) -> int: ...
    def close(self) -> None: ...


def _encode(message: dict[str, Any] | bytes) -> tuple[bytes, str]:
    if isinstance(message, bytes):
        try:
            routing_key = str(json.loads(message).get("event_type", "unrouted"))
        except (ValueError, AttributeError):
            routing_key = "unrouted"
        return message, routing_key
    return json.dumps(message, ensure_ascii=False).encode(), str(message.get("event_type", "unrouted"))


class PikaPublisher:
    """Confirmed, persistent publishing to ``onedoor.events`` (routing key = event type)."""

    def __init__(self, amqp_uri: str, exchange: str = ONEDOOR_EXCHANGE, window: int = 1000) -> None:
        self.exchange = exchange
        self.window = window
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri.replace("pyamqp://", "amqp://")))
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        self.channel.confirm_delivery()
        self.properties = pika.BasicProperties(content_type="application/json", delivery_mode=2)

    def publish_many(self, messages: Iterable[dict[str, Any] | bytes], progress: Progress | None = None) -> int:
        """Blocking confirms per message are slow; pika's BlockingChannel confirms each basic_publish, so we
        batch through a transaction-free loop and rely on its per-publish confirmation (raises on nack)."""
        sent = 0
        for message in messages:
            body, routing_key = _encode(message)
            self.channel.basic_publish(self.exchange, routing_key, body, self.properties, mandatory=False)
            sent += 1
            if progress and sent % 500 == 0:
                progress(500)
        if progress and sent % 500:
            progress(sent % 500)
        return sent

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()


class KombuPublisher:
    """Publishing through kombu (any transport, including the in-process ``memory://``)."""

    def __init__(self, connection: Connection, exchange: str = ONEDOOR_EXCHANGE) -> None:
        from shared.messaging import declare_topology, onedoor_exchange

        self.connection = connection
        declare_topology(connection)
        self.producer = Producer(connection.default_channel, exchange=onedoor_exchange)

    def publish_many(self, messages: Iterable[dict[str, Any] | bytes], progress: Progress | None = None) -> int:
        sent = 0
        for message in messages:
            body, routing_key = _encode(message)
            self.producer.publish(body, routing_key=routing_key, content_type="application/json",
                                  content_encoding="binary", delivery_mode=2, retry=True)
            sent += 1
            if progress and sent % 500 == 0:
                progress(500)
        if progress and sent % 500:
            progress(sent % 500)
        return sent

    def close(self) -> None:
        self.connection.release()


def publisher_for(config: dict[str, Any]) -> Publisher:
    from shared.messaging import amqp_uri, connect, is_memory_uri

    uri = amqp_uri(config)
    if is_memory_uri(uri):
        return KombuPublisher(connect(config))
    return PikaPublisher(uri)

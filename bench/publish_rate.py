"""Publish rate to the real RabbitMQ: one blocking confirm per message vs ``PikaPublisher``'s confirm window.

No asserts: numbers to watch, not a test. Both publish persistent one-door envelopes with publisher confirms
to a throw-away durable topic exchange bound to a throw-away durable queue (so the broker really routes and
persists every message), deleted afterwards.

Run: .venv/bin/python bench/publish_rate.py [--eventlet] [--uri URI] [--old N] [--new N] [--window N]
(``--eventlet`` calls ``eventlet.monkey_patch()`` first, as in nameko services and the test suite.)
"""

from __future__ import annotations

import sys

if __name__ == "__main__" and "--eventlet" in sys.argv:  # before anything imports socket, select, threading
    import eventlet

    eventlet.monkey_patch()

import argparse
import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import pika

from shared.events import make_envelope
from shared.publisher import PikaPublisher, _encode

DEFAULT_URI = "amqp://guest:guest@127.0.0.1:5672/%2F"
TZ = dt.timezone(dt.timedelta(hours=7))


class BlockingConfirmPublisher:
    """The previous ``PikaPublisher``: BlockingConnection in confirm mode, which waits for each message's ack."""

    def __init__(self, amqp_uri: str, exchange: str) -> None:
        self.exchange = exchange
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        self.channel.confirm_delivery()
        self.properties = pika.BasicProperties(content_type="application/json", delivery_mode=2)

    def publish_many(self, messages: Iterable[dict[str, Any] | bytes]) -> int:
        sent = 0
        for message in messages:
            body, routing_key = _encode(message)
            self.channel.basic_publish(self.exchange, routing_key, body, self.properties)
            sent += 1
        return sent

    def close(self) -> None:
        self.connection.close()


def envelopes(count: int) -> list[dict[str, Any]]:
    at = dt.datetime(2026, 1, 5, 9, 0, tzinfo=TZ)
    payload = {"dossier_code": "", "procedure_code": "1.000948.H44", "unit_code": "07900", "received_at": at,
               "channel": "online", "applicant": {"name": "Nguyễn Văn An", "kind": "citizen"}}
    return [make_envelope("dossier.received", {**payload, "dossier_code": f"H12.34-260105-{i:06d}"}, occurred_at=at)
            for i in range(count)]


def measure(label: str, uri: str, count: int, publisher_factory: Callable[[str, str], Any]) -> float:
    """Publish ``count`` envelopes to a fresh exchange + queue; print and return messages per second."""
    name = f"bench.publish.{uuid.uuid4().hex[:12]}"
    admin_connection = pika.BlockingConnection(pika.URLParameters(uri))
    admin = admin_connection.channel()
    admin.exchange_declare(name, exchange_type="topic", durable=True)
    admin.queue_declare(name, durable=True)
    admin.queue_bind(name, name, routing_key="#")
    messages = envelopes(count)
    try:
        publisher = publisher_factory(uri, name)
        try:
            began, cpu_began = time.perf_counter(), time.process_time()
            sent = publisher.publish_many(messages)
            elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_began
        finally:
            publisher.close()
        queued = admin.queue_declare(name, passive=True).method.message_count
    finally:
        admin.queue_delete(name)
        admin.exchange_delete(name)
        admin_connection.close()
    rate = sent / elapsed
    print(f"{label:<34} {sent:>7,} msgs in {elapsed:6.2f} s  {rate:>9,.0f} msgs/s"
          f"  (client CPU {cpu:5.2f} s, queued {queued:,})")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eventlet", action="store_true", help="eventlet.monkey_patch() first (done at import)")
    parser.add_argument("--uri", default=DEFAULT_URI)
    parser.add_argument("--old", type=int, default=3_000, help="messages for the blocking-confirm publisher")
    parser.add_argument("--new", type=int, default=50_000, help="messages for PikaPublisher")
    parser.add_argument("--window", type=int, default=1000, help="PikaPublisher's unconfirmed window")
    args = parser.parse_args()

    print(f"eventlet.monkey_patch(): {'yes' if args.eventlet else 'no'}")
    old = measure("blocking confirm per message", args.uri, args.old, BlockingConfirmPublisher)
    new = measure(f"PikaPublisher (window {args.window})", args.uri, args.new,
                  lambda uri, exchange: PikaPublisher(uri, exchange=exchange, window=args.window))
    print(f"{'ratio':<34} {new / old:>41.1f}x")


if __name__ == "__main__":
    main()

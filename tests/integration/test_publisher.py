"""``PikaPublisher`` on the real RabbitMQ: pipelined publisher confirms, and every way it must fail loudly.

Each test declares its own uniquely named exchange and queue and deletes them afterwards. No sleeps: when
``publish_many`` returns, the broker has confirmed every message, so the queue already holds them all.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pika
import pytest

from shared.publisher import PikaPublisher, PublishError

pytestmark = pytest.mark.integration

AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/%2F"
EVENT_TYPES = ("dossier.received", "dossier.resolved", "dossier.returned")


@dataclass
class Route:
    exchange: str
    queue: str
    admin: pika.adapters.blocking_connection.BlockingChannel

    def depth(self) -> int:
        return self.admin.queue_declare(self.queue, passive=True).method.message_count


@contextlib.contextmanager
def route(binding: str = "dossier.#", queue_arguments: dict | None = None) -> Iterator[Route]:
    """A fresh durable topic exchange with one durable queue bound to it, both deleted afterwards."""
    name = f"test.publisher.{uuid.uuid4().hex[:12]}"
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URI))
    try:
        admin = connection.channel()
        admin.exchange_declare(name, exchange_type="topic", durable=True)
        admin.queue_declare(name, durable=True, arguments=queue_arguments)
        admin.queue_bind(name, name, routing_key=binding)
        try:
            yield Route(name, name, admin)
        finally:
            admin.queue_delete(name)
            admin.exchange_delete(name)
    finally:
        connection.close()


def envelope(i: int) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": EVENT_TYPES[i % len(EVENT_TYPES)],
        "occurred_at": "2026-01-05T09:00:00+07:00",
        "source": "test",
        "schema_version": 1,
        "payload": {"dossier_code": f"H12.34-260105-{i:06d}", "note": "Tiếp nhận hồ sơ"},
    }


def messages(count: int) -> Iterator[dict | bytes]:
    """Dicts, and every third one as pre-encoded bytes (routing key read from its ``event_type``)."""
    for i in range(count):
        yield json.dumps(envelope(i)).encode() if i % 3 == 0 else envelope(i)


def test_publish_many_returns_once_all_20000_are_confirmed() -> None:
    with route() as r:
        publisher = PikaPublisher(AMQP_URI, exchange=r.exchange)
        try:
            progress: list[int] = []
            sent = publisher.publish_many(messages(20_000), progress.append)
            assert sent == 20_000
            assert r.depth() == 20_000  # confirmed means queued: no waiting needed
            assert sum(progress) == 20_000
            assert all(step > 0 for step in progress)

            # The same connection again, with a window that divides nothing evenly.
            publisher.window = 7
            assert publisher.publish_many(messages(1000)) == 1000
            assert r.depth() == 21_000
            assert publisher.publish_many([]) == 0
        finally:
            publisher.close()
        publisher.close()  # idempotent


def test_kombu_style_uri_reaches_the_default_vhost() -> None:
    # kombu reads "//" as the vhost "/", pika as the empty vhost: the publisher must agree with kombu.
    with route() as r:
        publisher = PikaPublisher("pyamqp://guest:guest@127.0.0.1:5672//", exchange=r.exchange)
        try:
            assert publisher.publish_many(messages(3)) == 3
            assert r.depth() == 3
        finally:
            publisher.close()


def test_publishing_to_an_exchange_that_no_longer_exists_raises() -> None:
    with route() as r:
        publisher = PikaPublisher(AMQP_URI, exchange=r.exchange, confirm_timeout=10)
        try:
            r.admin.exchange_delete(r.exchange)  # gone behind the publisher's back
            began = time.monotonic()
            with pytest.raises(PublishError, match="404") as caught:
                publisher.publish_many(messages(5000))
            assert time.monotonic() - began < 10, "must fail on the channel close, not on the confirm timeout"
            assert "NOT_FOUND" in str(caught.value)
            assert caught.value.confirmed == 0
            assert "0 of" in str(caught.value)

            # The publisher only checks the exchange (passive: a one-door user may not configure it), so the
            # next call keeps failing clearly until the topology is restored, then starts over on a fresh channel.
            with pytest.raises(PublishError, match="404"):
                publisher.publish_many(messages(10))
            r.admin.exchange_declare(r.exchange, exchange_type="topic", durable=True)
            r.admin.queue_bind(r.queue, r.exchange, routing_key="#")
            assert publisher.publish_many(messages(10)) == 10
        finally:
            publisher.close()
            r.admin.exchange_delete(r.exchange)


def test_a_nack_raises_after_the_confirms_in_flight_with_the_final_tally() -> None:
    # A queue that refuses publishes beyond 10 messages: RabbitMQ nacks the 11th and every later one.
    with route(queue_arguments={"x-max-length": 10, "x-overflow": "reject-publish"}) as r:
        publisher = PikaPublisher(AMQP_URI, exchange=r.exchange)
        try:
            with pytest.raises(PublishError, match="nacked") as caught:
                publisher.publish_many(messages(200))
            error = caught.value
            assert (error.confirmed, error.rejected, error.unconfirmed) == (10, error.published - 10, 0)
            assert f"10 of {error.published} published message(s) were confirmed" in str(error)
            assert r.depth() == 10
        finally:
            publisher.close()


def test_unroutable_messages_raise_only_when_mandatory() -> None:
    with route(binding="dossier.received") as r:  # one event type in three has a queue
        relaxed = PikaPublisher(AMQP_URI, exchange=r.exchange)
        strict = PikaPublisher(AMQP_URI, exchange=r.exchange, mandatory=True)
        try:
            assert relaxed.publish_many(messages(30)) == 30  # all confirmed; 20 dropped by the broker
            assert r.depth() == 10
            with pytest.raises(PublishError, match=r"unroutable \(the first: 312 NO_ROUTE") as caught:
                strict.publish_many(messages(30))
            assert (caught.value.confirmed, caught.value.rejected, caught.value.unconfirmed) == (10, 20, 0)
            assert r.depth() == 20
        finally:
            relaxed.close()
            strict.close()


class CuttableProxy:
    """A TCP relay to RabbitMQ whose connections can be cut mid-stream (threads, or greenthreads if patched)."""

    def __init__(self, upstream: tuple[str, int] = ("127.0.0.1", 5672)) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.threads: list[threading.Thread] = []
        self.closed = False
        self._start(self._accept)

    def _start(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self.threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError, EOFError):
            while True:
                client, _ = self.listener.accept()
                if self.closed:
                    client.close()
                    return
                server = socket.create_connection(self.upstream)
                self.sockets += [client, server]
                for source, sink in ((client, server), (server, client)):
                    self._start(self._relay, source, sink)

    @staticmethod
    def _relay(source: socket.socket, sink: socket.socket) -> None:
        try:
            with contextlib.suppress(OSError, EOFError):  # eventlet's green socket: EOFError once closed under it
                while data := source.recv(65536):
                    sink.sendall(data)
        finally:
            # Each relay closes only the socket it reads, once it has woken: a socket closed under a blocked green
            # reader never wakes it (it would stay registered with the hub). A shutdown wakes the other relay.
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_RDWR)
            source.close()

    def cut(self) -> None:
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # the relays see EOF and close

    def close(self) -> None:
        """Also ends the accept loop and waits for every relay: a green thread left blocked on a closed socket
        stays registered with the hub and breaks a later test that reads a socket with the same number."""
        self.closed = True
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", self.port), timeout=5).close()  # wakes the accept loop
        self.cut()
        self.listener.close()
        for thread in self.threads:
            thread.join(timeout=10)


def test_losing_the_connection_mid_stream_raises() -> None:
    with route() as r:
        proxy = CuttableProxy()
        publisher = PikaPublisher(f"amqp://guest:guest@127.0.0.1:{proxy.port}/%2F", exchange=r.exchange)
        reported: list[int] = []

        def cut_after_first_progress(confirmed: int) -> None:
            reported.append(confirmed)
            proxy.cut()

        try:
            with pytest.raises(PublishError, match="connection to RabbitMQ lost") as caught:
                publisher.publish_many(messages(20_000), cut_after_first_progress)
            error = caught.value
            assert sum(reported) <= error.confirmed < error.published <= 20_000
            # No silent loss: everything confirmed is in the queue (some unconfirmed ones may be too).
            assert error.confirmed <= r.depth() <= error.published

            # The next call reconnects; so does one after the connection died while the publisher was idle.
            assert publisher.publish_many(messages(100)) == 100
            proxy.cut()
            assert publisher.publish_many(messages(100)) == 100
            assert error.confirmed + 200 <= r.depth() <= error.published + 200
        finally:
            publisher.close()
            proxy.close()

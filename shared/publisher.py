"""Publishing one-door events: what a vendor's system does, shipped for vendors, tools, the demo and bench.

``PikaPublisher`` talks to RabbitMQ with publisher confirms and persistent delivery, so ``publish`` returns
only once the broker has taken responsibility for every message. ``KombuPublisher`` serves the in-process
``memory://`` broker of the demo (which has no confirms to wait for).
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import pika
import pika.spec
from kombu import Connection, Producer
from pika.adapters.select_connection import IOLoop, SelectConnection
from pika.channel import Channel

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


class PublishError(RuntimeError):
    """RabbitMQ did not take responsibility for every message of a ``publish_many`` call.

    ``confirmed`` messages were acknowledged by the broker before the failure (they are safe);
    ``published`` were handed to the connection. The ``published - confirmed`` others may or may not have
    been routed: republishing them (one-door events carry an ``event_id``) is the safe recovery.
    """

    def __init__(self, reason: str, *, confirmed: int = 0, published: int = 0) -> None:
        super().__init__(f"{reason}; {confirmed} of {published} published message(s) were confirmed before it")
        self.reason = reason
        self.confirmed = confirmed
        self.published = published


def _noop() -> None:
    pass


class PikaPublisher:
    """Confirmed, persistent publishing to ``onedoor.events`` (routing key = event type).

    Pipelined publisher confirms: up to ``window`` messages are in flight unconfirmed; the broker's
    ``Basic.Ack`` (single or ``multiple``) frees the window. ``publish_many`` returns only after every
    message was confirmed and raises :class:`PublishError` on a nack, a closed channel (e.g. 404: no such
    exchange), a lost connection, a returned message (only with ``mandatory=True``) or no confirm for
    ``confirm_timeout`` seconds (e.g. a broker resource alarm blocking publishers).

    Drives pika's ``SelectConnection`` I/O loop in the calling thread (no background thread), one
    ``poll()`` at a time: under ``eventlet.monkey_patch()`` pika picks its ``select.select`` poller, which
    is green, so other greenthreads keep running while this one waits for confirms; in a plain process it
    uses epoll. Not thread-safe: use one publisher per thread / greenthread.
    """

    PROGRESS_EVERY = 500  # report confirmed messages to ``progress`` in steps of about this many
    FLUSH_EVERY = 100  # turn the I/O loop without waiting after this many publishes

    def __init__(
        self,
        amqp_uri: str,
        exchange: str = ONEDOOR_EXCHANGE,
        window: int = 1000,
        *,
        mandatory: bool = False,
        confirm_timeout: float = 60.0,
    ) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self.exchange = exchange
        self.window = window
        self.mandatory = mandatory
        self.confirm_timeout = confirm_timeout
        self.parameters = pika.URLParameters(amqp_uri.replace("pyamqp://", "amqp://"))
        self.properties = pika.BasicProperties(content_type="application/json", delivery_mode=2)
        self.connection: SelectConnection | None = None
        self.channel: Channel | None = None
        self._failure: PublishError | None = None
        self._cause: BaseException | None = None
        # delivery tag -> routing key of every published, not yet confirmed message (insertion = tag order)
        self._pending: OrderedDict[int, str] = OrderedDict()
        self._next_tag = 0
        self._confirmed = 0
        self._published = 0
        self._ensure_open()

    # -- the I/O loop -------------------------------------------------------------------------------

    def _pump(self, *, wait: bool = True) -> None:
        """One turn of pika's I/O loop: flush writes, read frames, run their callbacks and due timers.

        With ``wait`` it blocks (at most pika's 5 s poll cap or the next timer) until something happens."""
        assert self.connection is not None
        ioloop = self.connection.ioloop
        if not wait:
            ioloop.call_later(0, _noop)  # a due timer makes the poll return at once
        ioloop.poll()
        ioloop.process_timeouts()

    def _fail(self, reason: str, cause: BaseException | None = None) -> None:
        if self._failure is None:  # the first failure is the cause; what follows is its consequence
            self._failure = PublishError(reason, confirmed=self._confirmed, published=self._published)
            self._cause = cause

    def _raise_failure(self) -> None:
        failure, cause = self._failure, self._cause
        assert failure is not None
        raise failure from cause

    def _wait_for(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + self.confirm_timeout
        while not done():
            if self._failure is not None:
                self._raise_failure()
            if time.monotonic() > deadline:
                self._fail(f"RabbitMQ did not answer within {self.confirm_timeout:g} s while {what}")
                self._raise_failure()
            self._pump()

    # -- connection and channel ---------------------------------------------------------------------

    def _ensure_open(self) -> None:
        """Open (or reopen after a failure or an idle drop) the connection, the channel and confirm mode."""
        if self.connection is not None and self.connection.is_open:
            self._pump(wait=False)  # notice a connection the broker dropped while we were idle
        if self.connection is None or not self.connection.is_open:
            self._drop_connection()
            self._failure = self._cause = None
            opened: list[bool] = []
            # We drive the loop with poll() instead of start(), so activate it ourselves (as pika's
            # BlockingConnection does): an inactive EPollPoller/PollPoller has no poll object yet.
            ioloop = IOLoop()
            ioloop.activate_poller()
            self.connection = SelectConnection(
                self.parameters,
                custom_ioloop=ioloop,
                on_open_callback=lambda _conn: opened.append(True),
                on_open_error_callback=lambda _conn, exc: self._fail(f"cannot connect to RabbitMQ ({exc!r})", exc),
                on_close_callback=self._on_connection_closed,
            )
            self._wait_for(lambda: bool(opened), "connecting")
        if self.channel is None or not self.channel.is_open:
            self._failure = self._cause = None
            self._open_channel()

    def _open_channel(self) -> None:
        assert self.connection is not None
        ready: list[str] = []
        self.channel = self.connection.channel(on_open_callback=lambda _ch: ready.append("open"))
        self._wait_for(lambda: "open" in ready, "opening a channel")
        channel = self.channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        channel.exchange_declare(
            self.exchange, exchange_type="topic", durable=True, callback=lambda _frame: ready.append("exchange")
        )
        self._wait_for(lambda: "exchange" in ready, f"declaring exchange {self.exchange!r}")
        channel.confirm_delivery(self._on_confirm, callback=lambda _frame: ready.append("confirm"))
        self._wait_for(lambda: "confirm" in ready, "turning on publisher confirms")
        self._pending.clear()
        self._next_tag = 0  # delivery tags count from 1 on each channel in confirm mode

    def _on_connection_closed(self, _connection: Any, exc: BaseException) -> None:
        self._fail(f"connection to RabbitMQ lost ({exc!r})", exc)

    def _on_channel_closed(self, channel: Channel, exc: BaseException) -> None:
        if channel is self.channel:
            self._fail(f"RabbitMQ closed the channel ({exc!r})", exc)

    def _on_return(self, _channel: Any, method: Any, _properties: Any, _body: bytes) -> None:
        self._fail(
            f"RabbitMQ returned a message as unroutable ({method.reply_code} {method.reply_text}, "
            f"exchange {method.exchange!r}, routing key {method.routing_key!r})"
        )

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        tag, pending = method.delivery_tag, self._pending
        settled, first_key = 0, None
        if method.multiple:
            while pending:
                first = next(iter(pending))
                if first > tag:
                    break
                _, key = pending.popitem(last=False)
                first_key = key if first_key is None else first_key
                settled += 1
        elif tag in pending:
            first_key = pending.pop(tag)
            settled = 1
        if not settled:
            return  # a confirm left over from an earlier call that was interrupted
        if isinstance(method, pika.spec.Basic.Ack):
            self._confirmed += settled
        else:
            self._fail(
                f"RabbitMQ nacked {settled} message(s) up to delivery tag {tag} (first routing key {first_key!r})"
            )

    # -- publishing ---------------------------------------------------------------------------------

    def publish_many(self, messages: Iterable[dict[str, Any] | bytes], progress: Progress | None = None) -> int:
        """Publish every message and wait for the broker's confirms; return how many were sent (= confirmed).

        ``progress`` gets the number of newly *confirmed* messages, in steps of about ``PROGRESS_EVERY``.
        Raises :class:`PublishError` (see the class docstring); an exception from ``messages`` or ``progress``
        propagates as is, its in-flight messages left unconfirmed."""
        self._ensure_open()
        assert self.channel is not None
        channel, pending, window = self.channel, self._pending, self.window
        exchange, properties, mandatory = self.exchange, self.properties, self.mandatory
        pending.clear()
        self._failure = self._cause = None  # e.g. the nack that ended the previous call
        self._confirmed = self._published = 0
        reported = 0
        source = iter(messages)
        exhausted = False
        last_progress, last_confirmed = time.monotonic(), 0
        while True:
            while not exhausted and len(pending) < window and self._failure is None:
                try:
                    message = next(source)
                except StopIteration:
                    exhausted = True
                    break
                body, routing_key = _encode(message)
                channel.basic_publish(exchange, routing_key, body, properties, mandatory=mandatory)
                self._next_tag += 1
                pending[self._next_tag] = routing_key
                self._published += 1
                if not self._published % self.FLUSH_EVERY:
                    self._pump(wait=False)  # get them onto the wire (and read acks) while we keep encoding
            if self._failure is None and pending:
                self._pump()
            unreported = self._confirmed - reported
            if progress and unreported and (unreported >= self.PROGRESS_EVERY or not pending or self._failure):
                progress(unreported)
                reported = self._confirmed
            if self._failure is not None:
                self._raise_failure()
            if exhausted and not pending:
                return self._published
            now = time.monotonic()
            if self._confirmed != last_confirmed:
                last_progress, last_confirmed = now, self._confirmed
            elif now - last_progress > self.confirm_timeout:
                self._fail(
                    f"no publisher confirm from RabbitMQ for {self.confirm_timeout:g} s "
                    "(is the broker blocking publishers on a memory or disk alarm?)"
                )

    def _drop_connection(self) -> None:
        connection, self.connection, self.channel = self.connection, None, None
        if connection is None:
            return
        if connection.is_open:
            closed: list[bool] = []
            connection.add_on_close_callback(lambda _conn, _exc: closed.append(True))
            connection.close()
            deadline = time.monotonic() + 5
            while not closed and time.monotonic() < deadline:
                connection.ioloop.poll()
                connection.ioloop.process_timeouts()
        connection.ioloop.close()

    def close(self) -> None:
        self._drop_connection()


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

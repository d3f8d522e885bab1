"""Publishing one-door events: what a vendor's system does, shipped for vendors, tools, the demo and bench.

``PikaPublisher`` talks to RabbitMQ with publisher confirms and persistent delivery, so ``publish`` returns
only once the broker has taken responsibility for every message. ``KombuPublisher`` serves the in-process
``memory://`` broker of the demo (which has no confirms to wait for).
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import pika
import pika.exceptions
import pika.spec
from kombu import Connection, Producer
from pika.adapters.select_connection import IOLoop, SelectConnection
from pika.channel import Channel

from shared.events import ONEDOOR_EXCHANGE
from shared.tls import client_context

log = logging.getLogger(__name__)

Progress = Callable[[int], None]


class Publisher(Protocol):
    def publish_many(self, messages: Iterable[dict[str, Any] | bytes], progress: Progress | None = None) -> int: ...
    def close(self) -> None: ...


class RoutedBody(bytes):
    """An encoded message that knows its routing key (the intake has it already: no second JSON parse)."""

    routing_key: str

    def __new__(cls, body: bytes, routing_key: str) -> RoutedBody:
        routed = super().__new__(cls, body)
        routed.routing_key = routing_key
        return routed


def _encode(message: dict[str, Any] | bytes) -> tuple[bytes, str]:
    if isinstance(message, RoutedBody):
        return message, message.routing_key
    if isinstance(message, bytes):
        try:
            routing_key = str(json.loads(message).get("event_type", "unrouted"))
        except (ValueError, AttributeError, RecursionError):  # too deeply nested: the consumer dead-letters it
            routing_key = "unrouted"
        return message, routing_key
    return json.dumps(message, ensure_ascii=False).encode(), str(message.get("event_type", "unrouted"))


class PublishError(RuntimeError):
    """RabbitMQ did not take responsibility for every message of a ``publish_many`` call.

    Of the ``published`` messages handed to the connection, ``confirmed`` were acknowledged by the broker
    (they are safe), ``rejected`` were nacked or returned unroutable (they are not) and ``unconfirmed`` got
    no answer before the channel or connection went away (they may or may not have been routed).
    Republishing all but the confirmed ones is the safe recovery (events carry an ``event_id``).
    """

    def __init__(self, reason: str, *, published: int = 0, confirmed: int = 0, rejected: int = 0) -> None:
        self.reason = reason
        self.published = published
        self.confirmed = confirmed
        self.rejected = rejected
        if not published:
            outcome = "nothing was published"
        else:
            outcome = f"{confirmed} of {published} published message(s) were confirmed"
            if rejected:
                outcome += f", {rejected} rejected"
            if self.unconfirmed:
                outcome += f", {self.unconfirmed} left unconfirmed"
        super().__init__(f"{reason}; {outcome}")

    @property
    def unconfirmed(self) -> int:
        return self.published - self.confirmed - self.rejected


def _noop() -> None:
    pass


def _root_cause(exc: BaseException) -> str:
    """pika wraps a failed connection (refused, TLS certificate not trusted, …) in workflow errors whose own text
    is empty: name the innermost one, so the operator reads why."""
    while True:
        inner = getattr(exc, "exceptions", None) or None
        if inner:
            exc = inner[-1]
        elif isinstance(getattr(exc, "exception", None), BaseException):
            exc = exc.exception
        else:
            return f"{type(exc).__name__}: {exc}"


def _pika_parameters(amqp_uri: str) -> pika.URLParameters:
    """pika's parameters for a kombu-style URI: ``pyamqp://`` scheme, and ``//`` for the vhost ``/`` (which
    pika would read as the empty vhost; it spells it ``/%2F``)."""
    parts = urlsplit(amqp_uri)
    scheme = {"pyamqp": "amqp", "librabbitmq": "amqp"}.get(parts.scheme, parts.scheme)
    path = "/%2F" if parts.path == "//" else parts.path
    return pika.URLParameters(urlunsplit(parts._replace(scheme=scheme, path=path)))


def _describe_close(exc: BaseException) -> str:
    if isinstance(exc, pika.exceptions.ChannelClosedByBroker):
        return f"RabbitMQ closed the channel ({exc.reply_code} {exc.reply_text})"
    if isinstance(exc, pika.exceptions.ConnectionClosedByBroker):
        return f"RabbitMQ closed the connection ({exc.reply_code} {exc.reply_text})"
    if isinstance(exc, pika.exceptions.ChannelClosedByClient | pika.exceptions.ConnectionClosedByClient):
        return f"the publisher's channel or connection was closed ({exc!r})"
    return f"connection to RabbitMQ lost ({exc!r})"


class PikaPublisher:
    """Confirmed, persistent publishing to ``onedoor.events`` (routing key = event type).

    Pipelined publisher confirms: up to ``window`` messages are in flight unconfirmed, and the broker's
    ``Basic.Ack`` (single or ``multiple``) frees the window. ``publish_many`` returns only once every message
    was confirmed. It raises :class:`PublishError` when the broker nacks a message, or returns one as
    unroutable (only with ``mandatory=True``; by default an unbound routing key is silently dropped by
    the broker, as for any topic exchange): publishing stops, the confirms still in flight are awaited, and
    the error gives the final tally. It raises at once when the channel is closed (e.g. 404: the exchange
    is gone), the connection is lost, or no confirm arrives for ``confirm_timeout`` seconds (e.g. a broker
    memory or disk alarm blocking publishers). The next ``publish_many`` reopens what was lost.

    pika's ``SelectConnection`` I/O loop is driven in the calling thread, one ``poll()`` at a time, with no
    background thread: in a plain process pika picks epoll; after ``eventlet.monkey_patch()`` the patched
    ``select`` module has no epoll/poll, so pika falls back to its ``select.select`` poller, which is green,
    and other greenthreads keep running while this one waits. Not thread-safe: one publisher per thread or
    greenthread. Between calls nothing reads the socket, so heartbeats go unanswered; a connection the
    broker dropped meanwhile is noticed and reopened at the start of the next call.
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
        tls: bool | dict[str, Any] | None = None,
    ) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self.exchange = exchange
        self.window = window
        self.mandatory = mandatory
        self.confirm_timeout = confirm_timeout
        self.parameters = _pika_parameters(amqp_uri)
        context = client_context(tls)  # AMQP_SSL, as kombu and nameko use it
        if context is not None:
            host = (tls.get("server_hostname") if isinstance(tls, dict) else None) or self.parameters.host
            self.parameters.ssl_options = pika.SSLOptions(context, server_hostname=host)
        self.properties = pika.BasicProperties(content_type="application/json", delivery_mode=2)
        self.connection: SelectConnection | None = None
        self.channel: Channel | None = None
        # delivery tag -> routing key of each published, not yet confirmed message (insertion = tag order)
        self._pending: OrderedDict[int, str] = OrderedDict()
        self._next_tag = 0
        self._reset()
        try:
            self._ensure_open()
        except BaseException:
            self._drop_connection()
            raise

    def _reset(self) -> None:
        self._problem: str | None = None  # what went wrong first; what follows is its consequence
        self._cause: BaseException | None = None
        self._fatal = False  # the channel or connection is gone: no confirm will come any more
        self._published = self._acked = self._nacked = self._returned = 0

    @property
    def _confirmed(self) -> int:
        return self._acked - self._returned  # a returned message is acked too, after its Basic.Return

    # -- the I/O loop -------------------------------------------------------------------------------

    def _pump(self, *, wait: bool = True) -> None:
        """One turn of pika's I/O loop: flush writes, read frames, run their callbacks and due timers.

        With ``wait`` it blocks until something happens (at most until pika's next timer or 5 s)."""
        assert self.connection is not None
        ioloop = self.connection.ioloop
        if not wait:
            ioloop.call_later(0, _noop)  # a due timer makes the poll return at once
        ioloop.poll()
        ioloop.process_timeouts()

    def _fail(self, problem: str, cause: BaseException | None = None, *, fatal: bool = True) -> None:
        if self._problem is None:
            self._problem, self._cause = problem, cause
        self._fatal = self._fatal or fatal

    def _raise(self) -> None:
        assert self._problem is not None
        raise PublishError(
            self._problem,
            published=self._published,
            confirmed=self._confirmed,
            rejected=self._nacked + self._returned,
        ) from self._cause

    def _wait_for(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + self.confirm_timeout
        while not done():
            if self._problem is None and time.monotonic() > deadline:
                self._fail(f"RabbitMQ did not answer within {self.confirm_timeout:g} s while {what}")
            if self._problem is not None:
                self._raise()
            self._pump()

    # -- connection and channel ---------------------------------------------------------------------

    def _ensure_open(self) -> None:
        """Open (or reopen after a failure or an idle drop) the connection, the channel and confirm mode."""
        self._reset()
        if self.connection is not None and self.connection.is_open:
            self._pump(wait=False)  # notice a connection the broker dropped while we were idle
            self._reset()
        if self.connection is None or not self.connection.is_open:
            self._drop_connection()
            self._reset()
            opened: list[bool] = []
            # We drive the loop with poll() instead of start(), so activate the poller ourselves (as pika's
            # BlockingConnection does): an inactive EPollPoller/PollPoller has no poll object yet.
            ioloop = IOLoop()
            ioloop.activate_poller()
            self.connection = SelectConnection(
                self.parameters,
                custom_ioloop=ioloop,
                on_open_callback=lambda _conn: opened.append(True),
                on_open_error_callback=lambda _conn, exc: self._fail(
                    f"cannot connect to RabbitMQ ({_root_cause(exc)})", exc),
                on_close_callback=self._on_connection_closed,
            )
            self._wait_for(lambda: bool(opened), "connecting")
        if self.channel is None or not self.channel.is_open:
            self._open_channel()

    def _open_channel(self) -> None:
        assert self.connection is not None
        ready: list[str] = []
        self.channel = channel = self.connection.channel(on_open_callback=lambda _ch: ready.append("open"))
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        self._wait_for(lambda: "open" in ready, "opening a channel")
        # Passive: a one-door user may publish but not configure; the topology (or publisher_for) declares it.
        channel.exchange_declare(
            self.exchange, exchange_type="topic", durable=True, passive=True,
            callback=lambda _frame: ready.append("exchange"),
        )
        self._wait_for(lambda: "exchange" in ready, f"declaring exchange {self.exchange!r}")
        channel.confirm_delivery(self._on_confirm, callback=lambda _frame: ready.append("confirm"))
        self._wait_for(lambda: "confirm" in ready, "turning on publisher confirms")
        self._pending.clear()
        self._next_tag = 0  # delivery tags count from 1 on each channel in confirm mode

    def _on_connection_closed(self, _connection: Any, exc: BaseException) -> None:
        self._fail(_describe_close(exc), exc)

    def _on_channel_closed(self, channel: Channel, exc: BaseException) -> None:
        if channel is self.channel:  # not one we dropped ourselves
            self._fail(_describe_close(exc), exc)

    def _on_return(self, _channel: Any, method: Any, _properties: Any, _body: bytes) -> None:
        self._returned += 1
        self._fail(
            f"RabbitMQ returned message(s) as unroutable (the first: {method.reply_code} {method.reply_text}, "
            f"exchange {method.exchange!r}, routing key {method.routing_key!r})",
            fatal=False,
        )

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        tag, pending = method.delivery_tag, self._pending
        settled, first = 0, None
        if method.multiple:
            while pending and next(iter(pending)) <= tag:
                item = pending.popitem(last=False)
                first = first or item
                settled += 1
        elif tag in pending:
            first = (tag, pending.pop(tag))
            settled = 1
        if not settled:
            return  # left over from an earlier call that an exception interrupted
        if isinstance(method, pika.spec.Basic.Ack):
            self._acked += settled
        else:
            self._nacked += settled
            assert first is not None
            self._fail(
                f"RabbitMQ nacked message(s) (the first: delivery tag {first[0]}, routing key {first[1]!r})",
                fatal=False,
            )

    # -- publishing ---------------------------------------------------------------------------------

    def publish_many(self, messages: Iterable[dict[str, Any] | bytes], progress: Progress | None = None) -> int:
        """Publish every message and wait for the broker's confirms; return how many were sent (= confirmed).

        ``progress`` gets the number of newly *confirmed* messages, in steps of about ``PROGRESS_EVERY``.
        Raises :class:`PublishError` (see the class docstring); an exception from ``messages`` or ``progress``
        propagates as is, leaving the messages then in flight unconfirmed."""
        self._ensure_open()
        assert self.channel is not None
        channel, pending, window = self.channel, self._pending, self.window
        exchange, properties, mandatory = self.exchange, self.properties, self.mandatory
        pending.clear()
        source = iter(messages)
        exhausted = False
        reported = 0
        last_answer, answers = time.monotonic(), 0
        while True:
            while not exhausted and len(pending) < window and self._problem is None:
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
                    self._pump(wait=False)  # get them onto the wire (and read confirms) while we keep encoding
            if pending and not self._fatal:
                self._pump()
            unreported = self._confirmed - reported
            if progress and unreported > 0 and (unreported >= self.PROGRESS_EVERY or not pending or self._problem):
                progress(unreported)
                reported += unreported
            if self._fatal or (self._problem is not None and not pending):
                self._raise()
            if exhausted and not pending:
                return self._published
            now = time.monotonic()
            if self._acked + self._nacked != answers:
                last_answer, answers = now, self._acked + self._nacked
            elif now - last_answer > self.confirm_timeout:
                self._fail(
                    f"no publisher confirm from RabbitMQ for {self.confirm_timeout:g} s "
                    "(is the broker blocking publishers on a memory or disk alarm?)"
                )

    def _drop_connection(self) -> None:
        connection, self.connection, self.channel = self.connection, None, None
        if connection is None:
            return
        try:
            if not (connection.is_closed or connection.is_closing):
                connection.close()  # also aborts a connection still opening
            deadline = time.monotonic() + 5
            while not connection.is_closed and time.monotonic() < deadline:
                connection.ioloop.poll()
                connection.ioloop.process_timeouts()
        finally:
            connection.ioloop.close()

    def close(self) -> None:
        """Close the connection (idempotent); a later ``publish_many`` would open a new one."""
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
    """The publisher our tools use. It first declares the topology (exchanges and the ingest queue), so events
    sent before the dossiers service ever started wait in its queue instead of being dropped; a vendor's
    least-privilege user may not declare queues, and then the deployed topology must already hold them."""
    from shared.messaging import amqp_uri, connect, declare_topology, is_memory_uri

    uri = amqp_uri(config)
    if is_memory_uri(uri):
        return KombuPublisher(connect(config))
    try:
        with connect(config, connect_timeout=5) as connection:
            declare_topology(connection)
    except Exception as exc:  # e.g. ACCESS_REFUSED for a publish-only user: the publisher itself still works
        log.warning("could not declare the topology (%r); relying on the deployed one", exc)
    return PikaPublisher(uri, tls=config.get("AMQP_SSL"))

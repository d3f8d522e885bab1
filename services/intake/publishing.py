"""Publishing a request's events with publisher confirms, and knowing which ones the broker took.

``shared.publisher.PikaPublisher`` pipelines confirms and raises :class:`PublishError` with counts when something
fails; an HTTP caller needs more: *which* events were taken, so that it resends exactly the others. The subclass
here records each delivery tag's answer (ack or nack, and messages returned as unroutable — published with
``mandatory``, so an exchange with no queue bound is a failure, not a silent loss) and maps them back to the
request's events.

A small pool of publishers serves the request workers (one connection each; a publisher is used by one greenthread
at a time, as PikaPublisher requires). The in-memory broker of the demo has no confirms: every message handed to it
is taken.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import pika
import pika.spec
from eventlet.queue import LightQueue

from shared.messaging import amqp_uri, is_memory_uri
from shared.publisher import KombuPublisher, PikaPublisher, PublishError

log = logging.getLogger(__name__)

__all__ = ["BrokerUnavailable", "PublisherPool", "TrackingPublisher"]


class BrokerUnavailable(RuntimeError):
    """The broker could not be reached, or confirmed only part of a request: ``confirmed`` says which."""

    def __init__(self, reason: str, confirmed: list[bool]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.confirmed = confirmed


def _coalesce_writes(connection: Any) -> None:
    """Send each message as one buffer, and whatever is buffered in one ``send``.

    pika buffers a message as three frames (method, header, body) and writes every buffered frame with its own
    ``send``: under eventlet each is a green socket call, and they were a third of the intake's CPU. The bytes on
    the wire are identical. Applied to this publisher's own connection and transport only."""
    if connection is None or getattr(connection, "_cchc_coalesced", False):
        return
    emit = connection._adapter_emit_data

    def output_marshaled_frames(frames: Sequence[bytes]) -> None:
        data = b"".join(frames)
        connection.bytes_sent += len(data)
        connection.frames_sent += len(frames)
        emit(data)

    transport = connection._transport
    produce = transport._produce

    def produce_joined() -> None:
        buffers = transport._tx_buffers
        if len(buffers) > 1:
            joined = b"".join(buffers)
            buffers.clear()
            buffers.append(joined)
        produce()

    connection._output_marshaled_frames = output_marshaled_frames
    transport._produce = produce_joined
    connection._cchc_coalesced = True


class TrackingPublisher(PikaPublisher):
    """A PikaPublisher that answers, per message, whether the broker confirmed it."""

    _base_tag: int | None = None  # the delivery tag before this call's first message, once the channel is open
    _answers: dict[int, bool]
    _returned_bodies: set[bytes]

    def _ensure_open(self) -> None:
        super()._ensure_open()
        self._base_tag = self._next_tag  # publish_many numbers its messages from here
        _coalesce_writes(self.connection)

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        tag = method.delivery_tag
        if method.multiple:
            settled = []
            for pending in self._pending:
                if pending > tag:
                    break
                settled.append(pending)
        else:
            settled = [tag] if tag in self._pending else []
        ack = isinstance(method, pika.spec.Basic.Ack)
        for pending in settled:
            self._answers[pending] = ack
        super()._on_confirm(frame)

    def _on_return(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        self._returned_bodies.add(body)
        super()._on_return(channel, method, properties, body)

    def publish_each(self, bodies: Iterable[bytes]) -> list[bool]:
        """Publish ``bodies`` (each knows its routing key) and wait for the confirms; the list says, for each body
        taken from ``bodies``, whether the broker took it. Raises :class:`BrokerUnavailable` (with that list) unless
        it took them all; then the bodies not yet taken from ``bodies`` were not published."""
        published: list[bytes] = []

        def counted() -> Iterator[bytes]:
            for body in bodies:
                published.append(body)
                yield body

        self._base_tag, self._answers, self._returned_bodies = None, {}, set()
        try:
            self.publish_many(counted())
        except PublishError as exc:
            base = self._base_tag
            if base is None:  # the connection or channel could not be opened: nothing went out
                raise BrokerUnavailable(str(exc), [False] * len(published)) from exc
            confirmed = [self._answers.get(base + i + 1, False) and body not in self._returned_bodies
                         for i, body in enumerate(published)]
            raise BrokerUnavailable(str(exc), confirmed) from exc
        return [True] * len(published)


class PublisherPool:
    """Up to ``size`` confirmed publishers, opened on first use and reused; a broken one reopens on its next use."""

    def __init__(self, config: Mapping[str, Any], size: int, confirm_timeout: float) -> None:
        self.config = config
        self.uri = amqp_uri(config)
        self.confirm_timeout = confirm_timeout
        self._free: LightQueue = LightQueue()
        for _ in range(size):
            self._free.put(None)  # a slot; the publisher is created when first needed

    @contextlib.contextmanager
    def _publisher(self) -> Iterator[Any]:
        publisher = self._free.get()
        try:
            if publisher is None:
                if is_memory_uri(self.uri):
                    from shared.messaging import connect

                    publisher = KombuPublisher(connect(self.config))
                else:
                    self._declare_topology()
                    try:
                        publisher = TrackingPublisher(self.uri, mandatory=True, confirm_timeout=self.confirm_timeout,
                                                      tls=self.config.get("AMQP_SSL"))
                    except PublishError as exc:
                        raise BrokerUnavailable(str(exc), []) from exc
            yield publisher
        finally:
            self._free.put(publisher)

    def _declare_topology(self) -> None:
        """Declare the exchange and the ingest queue as the tools do (publisher_for): a deployment's intake user may
        only publish, and then the deployed topology holds them; an unbound exchange is caught by ``mandatory``."""
        from shared.messaging import connect, declare_topology

        try:
            with connect(self.config, connect_timeout=5) as connection:
                declare_topology(connection)
        except Exception as exc:  # ACCESS_REFUSED for a publish-only user, or the broker down (the publish says so)
            log.info("intake: could not declare the topology (%r); relying on the deployed one", exc)

    def publish(self, bodies: Iterable[bytes]) -> list[bool]:
        """Publish (consuming ``bodies`` as it goes) and wait for the broker: for each body taken, whether the
        broker took it. Raises BrokerUnavailable saying which; the bodies it did not reach stay in ``bodies``."""
        taken = 0

        def counted() -> Iterator[bytes]:
            nonlocal taken
            for body in bodies:
                taken += 1
                yield body

        try:
            with self._publisher() as publisher:
                if isinstance(publisher, TrackingPublisher):
                    return publisher.publish_each(counted())
                sent = publisher.publish_many(counted())  # memory:// (the demo): no confirms to wait for
                return [True] * sent
        except BrokerUnavailable as exc:
            exc.confirmed = exc.confirmed + [False] * (taken - len(exc.confirmed))
            raise

    def close(self) -> None:
        while not self._free.empty():
            publisher = self._free.get_nowait()
            if publisher is not None:
                with contextlib.suppress(Exception):
                    publisher.close()

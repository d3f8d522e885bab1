"""A nameko entrypoint that consumes inbound events in batches: one transaction, one ack per batch.

Why not ``@event_handler``: a per-message handler cannot beat nameko's own ~5,000 msg/s no-op rate and
commits once per message; measured on this machine kind, a batch committed in one transaction and acked
with ``multiple=True`` runs at about the speed of a raw consumer (ARCHITECTURE.md, "Throughput").

The promises this module keeps:
- nothing is acknowledged before the worker that processed it has committed;
- batches are acknowledged in delivery-tag order, so a ``multiple`` ack never covers an uncommitted batch;
- a message that fails validation, or that the handler refuses, is dead-lettered with its reason, then acked;
- a transient failure (database or broker down) retries the same batch in place with exponential backoff,
  while heartbeats continue; nothing is acked meanwhile;
- any other exception splits the batch in halves until the failing message is isolated and dead-lettered,
  so one poison message never blocks or crash-loops the rest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import socket
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import eventlet
import sqlalchemy.exc
from eventlet.event import Event as GreenEvent
from kombu import Consumer, Producer, Queue
from nameko.extensions import Entrypoint

from shared.amqp_reads import buffer_reads, drain_buffered
from shared.config import section
from shared.deadletter import REPLAYED_AT, DeadLetter, publish_dead_letters
from shared.events import Event, InvalidEvent, parse_event
from shared.messaging import connect, declare_topology, onedoor_exchange
from shared.metrics import ack_refusals, batch_retries, batch_seconds, dead_letters, events_consumed

log = logging.getLogger(__name__)
# Frames handled from the read buffer per turn of the consume loop (three per message): enough to skip most of
# drain_events' per-frame overhead, few enough that batches are dispatched and acked without delay.
FRAMES_PER_TURN = 300


@dataclass(frozen=True)
class Rejection:
    """The handler's verdict on one event that can never succeed (dead-lettered, not retried). ``dead_lettered``:
    the handler already wrote the dead letter durably (its outbox, in the batch's transaction), so the consumer
    only counts it and publishes nothing (a second letter)."""

    field: str
    reason: str
    dead_lettered: bool = False


BatchResult = Mapping[str, Rejection]  # event_id (str) -> rejection; everything else was processed


def is_transient(exc: BaseException) -> bool:
    """Failures that are not the message's fault: retry them, never dead-letter or ack."""
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError):
        return True  # connection refused, server restart, deadlock / serialization failure
    return isinstance(exc, sqlalchemy.exc.TimeoutError | ConnectionError | socket.timeout)


@dataclass(eq=False)  # identity, never field equality: two batches with equal fields are still two batches
class _Batch:
    """Contiguous deliveries of one channel; ``items`` pairs each valid message with its parsed event."""

    messages: list[Any]
    items: list[tuple[Any, Event]]
    letters: list[DeadLetter] = field(default_factory=list)
    dead_lettered_by_handler: int = 0
    done: bool = False
    failed: BaseException | None = None
    attempts: int = 0
    retry_at: float = 0.0
    running: bool = False

    @property
    def events(self) -> list[Event]:
        return [event for _, event in self.items]


class BatchEventHandler(Entrypoint):
    """``@batch_event_handler(routing_keys)``: the decorated method gets ``list[Event]``, returns BatchResult."""

    def __init__(
        self,
        routing_keys: Sequence[str],
        exchange: str = onedoor_exchange.name,
        queue_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.routing_keys = list(routing_keys)
        self.exchange_name = exchange
        self.queue_name = queue_name
        super().__init__(**kwargs)

    # -- nameko lifecycle -------------------------------------------------------------------------------
    def setup(self) -> None:
        cfg = section(self.container.config, "ingest")
        self.batch_size = int(cfg["batch_size"])
        self.max_wait = float(cfg["max_wait_ms"]) / 1000.0
        self.in_flight_limit = max(1, int(cfg["batches_in_flight"]))
        self.max_bytes = int(cfg["max_message_bytes"])
        self.backoff_max = float(cfg["retry_backoff_max_seconds"])
        self.service = self.container.service_name
        self.queue = Queue(
            self.queue_name or f"{self.service}.{self.method_name}",
            exchange=onedoor_exchange if self.exchange_name == onedoor_exchange.name else None,
            bindings=None,
            durable=True,
            no_declare=True,
        )
        ack_refusals.labels(self.service)  # exists at 0: an alert can fire on its first increase
        for kind in ("invalid", "rejected", "failed", "orphan"):
            dead_letters.labels(self.service, kind)  # every series exists at 0 before the first dead letter
        self._stopping = False
        self._stopped = GreenEvent()
        self._thread: Any = None

    def start(self) -> None:
        # Declare the queue and its bindings before start() returns: a message published right after the
        # service reports started must already have a queue to land in.
        try:
            with connect(self.container.config) as connection:
                connection.ensure_connection(max_retries=3)
                self._declare(connection)
        except Exception as exc:  # the consume loop declares again once the broker is back
            log.warning("could not declare %s at start-up (%r); will retry", self.queue.name, exc)
        self._thread = self.container.spawn_managed_thread(self._run, identifier=f"batch-consumer:{self.method_name}")

    def stop(self) -> None:
        """Graceful: stop taking messages, let in-flight batches commit and be acked, then close."""
        self._stopping = True
        if self._thread is not None:
            self._stopped.wait()

    def kill(self) -> None:
        self._stopping = True
        if self._thread is not None:
            self._thread.kill()

    # -- consume loop ---------------------------------------------------------------------------------
    def _run(self) -> None:
        delay = 0.5
        try:
            while not self._stopping:
                try:
                    self._consume()
                    delay = 0.5
                except Exception as exc:  # broker gone: unacked deliveries return to the queue by themselves
                    if self._stopping:
                        break
                    log.warning(
                        "batch consumer %s lost its connection (%r); reconnecting in %.1fs",
                        self.method_name,
                        exc,
                        delay,
                    )
                    eventlet.sleep(delay)
                    delay = min(delay * 2, self.backoff_max)
        finally:
            self._stopped.send(None)

    def _declare(self, connection: Any) -> None:
        declare_topology(connection, self.service)
        channel = connection.default_channel
        exchange = onedoor_exchange(channel) if self.exchange_name == onedoor_exchange.name else None
        queue = Queue(self.queue.name, durable=True, channel=channel)
        queue.declare()
        for key in self.routing_keys:
            queue.bind_to(exchange=exchange or self.exchange_name, routing_key=key)

    def _consume(self) -> None:
        pending: list[Any] = []
        batches: deque[_Batch] = deque()
        with connect(self.container.config) as connection:
            connection.ensure_connection(max_retries=1)
            buffer_reads(connection)
            self._declare(connection)
            channel = connection.channel()
            channel.basic_qos(0, self.batch_size * (self.in_flight_limit + 1), False)
            producer = Producer(connection.default_channel)
            multiple_ack = connection.transport.driver_type == "amqp"
            cancel = self._subscribe(channel, pending.append, raw=multiple_ack)
            oldest = 0.0
            consuming = True
            while True:
                if self._stopping and consuming:
                    cancel()
                    consuming = False
                if not consuming:
                    pending.clear()  # never dispatched: the broker redelivers them after we close
                if not consuming and not pending and not batches:
                    return
                if pending and not oldest:
                    oldest = time.monotonic()
                running = sum(1 for b in batches if b.running)
                full = len(pending) >= self.batch_size
                waited = bool(pending) and time.monotonic() - oldest >= self.max_wait
                if (full or waited) and running < self.in_flight_limit:
                    taken, pending[:] = pending[: self.batch_size], pending[self.batch_size :]
                    oldest = 0.0
                    batch = self._prepare(taken)
                    batches.append(batch)
                    self._dispatch(batch)
                self._retry_due(batches)
                self._settle(batches, producer, multiple_ack)
                if consuming:
                    with contextlib.suppress(TimeoutError):
                        connection.drain_events(timeout=0.005 if pending or batches else 0.2)
                        drain_buffered(connection, FRAMES_PER_TURN)
                    connection.heartbeat_check()
                else:
                    eventlet.sleep(0.005)

    def _subscribe(self, channel: Any, on_message: Callable[[Any], None], raw: bool) -> Callable[[], Any]:
        """Start consuming; returns how to stop. On py-amqp the callback gets py-amqp's own messages (``body``,
        ``delivery_info``, ``channel``: all the loop needs): kombu's Message wrapper around each one, which copies
        its properties and headers, is work per message that nothing here uses. Other transports keep kombu's."""
        if raw:
            # Bodies stay bytes on every transport: py-amqp would otherwise decode a body by its content_encoding (and
            # raise and swallow an AttributeError for each message that has none).
            channel.auto_decode = False
            tag = channel.basic_consume(queue=self.queue.name, callback=on_message)
            return partial(channel.basic_cancel, tag)
        consumer = Consumer(
            channel,
            queues=[Queue(self.queue.name, durable=True, no_declare=True)],
            on_message=on_message,
            accept=None,
        )
        consumer.consume()
        return consumer.cancel

    def _prepare(self, messages: list[Any]) -> _Batch:
        """Validate at the edge: invalid messages become dead letters without reaching a worker."""
        batch = _Batch(messages=messages, items=[])
        for message in messages:
            try:
                event = parse_event(message.body, max_bytes=self.max_bytes)
                if REPLAYED_AT in (getattr(message, "headers", None) or {}):
                    event = dataclasses.replace(event, replayed=True)
                batch.items.append((message, event))
            except InvalidEvent as exc:
                batch.letters.append(self._letter(message, exc.reason, exc.field, "invalid"))
            except Exception as exc:  # a validation bug must not crash-loop the consumer on one message
                log.error("unparseable message dead-lettered: %r", exc)
                batch.letters.append(self._letter(message, f"could not be validated: {exc!r}", "_body", "invalid"))
        return batch

    def _letter(self, message: Any, reason: str, field_name: str, kind: str) -> DeadLetter:
        info = message.delivery_info or {}
        body = message.body if isinstance(message.body, bytes) else str(message.body).encode()
        return DeadLetter(
            body=body,
            exchange=info.get("exchange") or self.exchange_name,
            routing_key=info.get("routing_key") or "",
            reason=reason,
            field=field_name,
            kind=kind,
        )

    def _dispatch(self, batch: _Batch) -> None:
        if not batch.items:
            batch.done = True
            return
        batch.running = True
        batch.attempts += 1
        started = time.monotonic()
        self.container.spawn_worker(
            self,
            (batch.events,),
            {},
            handle_result=partial(self._handle_result, batch, started),
        )

    def _handle_result(
        self, batch: _Batch, started: float, worker_ctx: Any, result: Any, exc_info: Any
    ) -> tuple[Any, Any]:
        batch.running = False
        batch_seconds.labels(self.service).observe(time.monotonic() - started)
        if exc_info is not None:
            batch.failed = exc_info[1]
            return result, None  # handled here: nameko must not treat it as a crash
        by_id = {str(k): v for k, v in (result or {}).items()}
        for message, event in batch.items:
            rejection = by_id.pop(str(event.event_id), None)  # popped: the same event twice is one dead letter
            if rejection is not None and rejection.dead_lettered:
                batch.dead_lettered_by_handler += 1
            elif rejection is not None:
                batch.letters.append(self._letter(message, rejection.reason, rejection.field, "rejected"))
        batch.done = True
        return result, None

    def _retry_due(self, batches: deque[_Batch]) -> None:
        """Transient failures retry in place after backoff; other failures split to isolate the culprit."""
        now = time.monotonic()
        for batch in list(batches):  # a copy: halves are inserted while we go
            exc = batch.failed
            if exc is None or batch.running:
                continue
            if is_transient(exc):
                if not batch.retry_at:
                    batch.retry_at = now + min(self.backoff_max, 0.2 * 2 ** min(batch.attempts, 10))
                    batch_retries.labels(self.service).inc()
                    log.warning("batch of %d failed transiently (%r); retry %d", len(batch.events), exc, batch.attempts)
                if now >= batch.retry_at:
                    batch.failed, batch.retry_at = None, 0.0
                    self._dispatch(batch)
                continue
            batch.failed = None
            if len(batch.items) == 1:
                message, event = batch.items[0]
                log.error("event %s dead-lettered after a processing failure: %r", event.event_id, exc)
                batch.letters.append(self._letter(message, f"processing failed: {exc!r}", "_processing", "failed"))
                batch.done = True
                continue
            # The batch's place now, found by identity: an index taken from the copy is stale as soon as an
            # earlier batch of this same pass was split, and halves at a stale place break delivery order.
            index = next(i for i, b in enumerate(batches) if b is batch)
            del batches[index]
            for offset, half in enumerate(self._split(batch)):
                batches.insert(index + offset, half)
                self._dispatch(half)

    def _split(self, batch: _Batch) -> list[_Batch]:
        middle = len(batch.messages) // 2
        halves = []
        for part in (batch.messages[:middle], batch.messages[middle:]):
            halves.append(self._prepare(part))
        return [h for h in halves if h.messages]

    def _settle(self, batches: deque[_Batch], producer: Producer, multiple_ack: bool) -> None:
        """Ack finished batches from the front only, in delivery order; dead letters go out first."""
        while batches and batches[0].done:
            batch = batches.popleft()
            if batch.letters:
                publish_dead_letters(producer, self.service, batch.letters)
            rejected = len(batch.letters) + batch.dead_lettered_by_handler
            if multiple_ack and self._covers_only_settled(batch, batches):
                batch.messages[-1].channel.basic_ack(batch.messages[-1].delivery_tag, multiple=True)
            elif multiple_ack:  # refused: ack exactly this batch's (committed) deliveries, one by one
                for message in batch.messages:
                    message.channel.basic_ack(message.delivery_tag, multiple=False)
            else:
                for message in batch.messages:
                    message.ack()
            events_consumed.labels(self.service, "dead_lettered").inc(rejected)
            events_consumed.labels(self.service, "processed").inc(len(batch.messages) - rejected)

    def _covers_only_settled(self, batch: _Batch, waiting: deque[_Batch]) -> bool:
        """A ``multiple`` ack up to this batch's last tag also acks every lower tag of the channel: allowed only
        when no batch still waiting holds one. Refused loudly (log + metric): a crash would lose those events."""
        last = batch.messages[-1].delivery_tag
        lower = [m.delivery_tag for b in waiting for m in b.messages[:1] if m.delivery_tag < last]
        if not lower:
            return True
        log.error(
            "refusing a multiple ack up to delivery tag %d: delivery tag %d is not committed yet; "
            "acking the batch's %d deliveries one by one (batch order broken: a bug)",
            last, min(lower), len(batch.messages),
        )
        ack_refusals.labels(self.service).inc()
        return False


batch_event_handler: Callable[..., Any] = BatchEventHandler.decorator

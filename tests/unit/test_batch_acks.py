"""The batch consumer's bookkeeping without a broker: several batches in flight, poison in two of them, workers
finishing out of order. Every ``basic_ack(multiple=True)`` must cover only committed (or dead-lettered)
deliveries, and the acked tags must only grow: a crash between two acks then loses nothing."""

from __future__ import annotations

import datetime as dt
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import pytest

from shared import batch_consumer
from shared.batch_consumer import BatchEventHandler, _Batch
from shared.events import make_envelope

TZ = dt.timezone(dt.timedelta(hours=7))


@dataclass
class FakeChannel:
    acks: list[tuple[int, bool]] = field(default_factory=list)

    def basic_ack(self, tag: int, multiple: bool = False) -> None:
        self.acks.append((tag, multiple))


@dataclass
class FakeMessage:
    body: bytes
    delivery_tag: int
    channel: FakeChannel
    delivery_info: dict[str, Any] = field(default_factory=lambda: {"exchange": "onedoor.events",
                                                                   "routing_key": "dossier.resolved"})


class FakeContainer:
    """Holds the spawned workers; the test decides when each one finishes, in any order."""

    service_name = "acktest"

    def __init__(self) -> None:
        self.workers: list[tuple[list[Any], Any]] = []

    def spawn_worker(self, entrypoint: Any, args: tuple, kwargs: dict, handle_result: Any) -> None:
        self.workers.append((args[0], handle_result))


def handler() -> BatchEventHandler:
    entry = BatchEventHandler(["#"])
    entry.container = FakeContainer()  # type: ignore[assignment]
    entry.service = "acktest"
    entry.max_bytes = 1_000_000
    entry.backoff_max = 1.0
    entry.exchange_name = "onedoor.events"
    return entry


def body(code: str) -> bytes:
    at = dt.datetime(2026, 7, 6, 9, tzinfo=TZ)
    return json.dumps(make_envelope("dossier.resolved", {"dossier_code": code, "resolved_at": at},
                                    occurred_at=at)).encode()


class Ledger:
    """What the fake database committed, and the acks' safety checked at every ack."""

    def __init__(self, channel: FakeChannel, tags: dict[str, int]) -> None:
        self.channel = channel
        self.tags = tags  # dossier code -> delivery tag
        self.safe: set[int] = set()  # committed or dead-lettered
        self.violations: list[str] = []

    def commit(self, events: list[Any]) -> None:
        self.safe.update(self.tags[e.dossier_code] for e in events)

    def letters(self, producer: Any, service: str, letters: list[Any]) -> None:
        for letter in letters:
            self.safe.add(self.tags[json.loads(letter.body)["payload"]["dossier_code"]])

    def check(self, acked_upto: int) -> None:
        for tag in range(1, acked_upto + 1):
            if tag not in self.safe:
                self.violations.append(f"tag {tag} acked (multiple up to {acked_upto}) before it was committed")


def test_two_poison_batches_in_one_pass_never_ack_past_an_uncommitted_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    channel = FakeChannel()
    codes = [f"D{i}" for i in range(16)]
    codes[1], codes[9] = "POISON-A", "POISON-C"  # batch A (tags 1-4) and batch C (tags 9-12) each hold one
    tags = {code: n + 1 for n, code in enumerate(codes)}
    ledger = Ledger(channel, tags)
    original_ack = channel.basic_ack

    def checked_ack(tag: int, multiple: bool = False) -> None:
        ledger.check(tag) if multiple else None
        original_ack(tag, multiple)

    channel.basic_ack = checked_ack  # type: ignore[method-assign]
    monkeypatch.setattr(batch_consumer, "publish_dead_letters", ledger.letters)
    entry = handler()
    container: FakeContainer = entry.container  # type: ignore[assignment]
    messages = [FakeMessage(body(c), tags[c], channel) for c in codes]
    batches: deque[_Batch] = deque()
    for start in range(0, 16, 4):  # A, B, C, D in flight
        batch = entry._prepare(messages[start:start + 4])
        batches.append(batch)
        entry._dispatch(batch)

    def finish(worker: tuple[list[Any], Any]) -> None:
        events, handle_result = worker
        if any(e.dossier_code.startswith("POISON") for e in events):
            handle_result(None, None, (ValueError, ValueError("poison"), None))
        else:
            ledger.commit(events)
            handle_result(None, {}, None)

    a, b, c, d = container.workers
    finish(a)
    finish(c)  # A and C fail before the next pass: both are split in the same _retry_due
    container.workers = []
    entry._retry_due(batches)
    entry._settle(batches, None, True)  # type: ignore[arg-type]
    # Keep B and D running while every half (and their halves) finishes, newest first.
    while container.workers:
        finish(container.workers.pop())
        entry._retry_due(batches)
        entry._settle(batches, None, True)  # type: ignore[arg-type]
    finish(d)
    entry._settle(batches, None, True)  # type: ignore[arg-type]
    finish(b)
    entry._settle(batches, None, True)  # type: ignore[arg-type]

    assert ledger.violations == []
    acked = [tag for tag, _ in channel.acks]
    assert acked == sorted(acked), f"acks out of delivery order: {acked}"
    assert acked[-1] == 16 and not batches
    assert ledger.safe == set(range(1, 17))


def test_settle_refuses_a_multiple_ack_past_an_uncommitted_delivery(monkeypatch: pytest.MonkeyPatch,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    """Even if the order were ever wrong again, the ack itself is the last line of defence: it is refused, logged
    and counted; the finished batch's own deliveries are acked one by one instead."""
    from shared.metrics import ack_refusals

    channel = FakeChannel()
    monkeypatch.setattr(batch_consumer, "publish_dead_letters", lambda *a: None)
    entry = handler()
    early = _Batch(messages=[FakeMessage(b"{}", t, channel) for t in (1, 2)], items=[], running=True)
    late = _Batch(messages=[FakeMessage(b"{}", t, channel) for t in (3, 4)], items=[], done=True)
    before = ack_refusals.labels("acktest")._value.get()
    batches = deque([late, early])
    entry._settle(batches, None, True)  # type: ignore[arg-type]
    assert (4, True) not in channel.acks
    assert channel.acks == [(3, False), (4, False)]
    assert ack_refusals.labels("acktest")._value.get() == before + 1
    assert "refusing a multiple ack" in caplog.text


def test_the_same_refused_event_twice_in_one_batch_is_one_dead_letter() -> None:
    from shared.batch_consumer import Rejection

    channel = FakeChannel()
    entry = handler()
    container: FakeContainer = entry.container  # type: ignore[assignment]
    twice = body("TWICE")
    batch = entry._prepare([FakeMessage(twice, 1, channel), FakeMessage(twice, 2, channel),
                            FakeMessage(body("OK"), 3, channel)])
    entry._dispatch(batch)
    (events, handle_result), = container.workers
    handle_result(None, {str(events[0].event_id): Rejection("payload.unit_code", "unknown unit")}, None)
    assert len(batch.letters) == 1 and batch.done


def test_a_refusal_the_handler_already_dead_lettered_is_counted_not_published_again() -> None:
    from shared.batch_consumer import Rejection

    channel = FakeChannel()
    entry = handler()
    container: FakeContainer = entry.container  # type: ignore[assignment]
    batch = entry._prepare([FakeMessage(body("DURABLE"), 1, channel)])
    entry._dispatch(batch)
    (events, handle_result), = container.workers
    handle_result(None, {str(events[0].event_id): Rejection("payload.unit_code", "unknown unit", True)}, None)
    assert batch.letters == [] and batch.dead_lettered_by_handler == 1

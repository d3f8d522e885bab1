"""The outbox relay's pending gauge says what is still queued after a run (issue 12: it was decremented twice,
once by the flushed deletes in the count and again by the rows relayed)."""

from __future__ import annotations

from services.dossiers.models import OutboxEvent
from shared.metrics import outbox_pending
from shared.outbox import enqueue, relay


def test_the_pending_gauge_counts_what_is_left_after_a_relay(database):
    with database.transaction() as session:
        for n in range(5):
            enqueue(session, OutboxEvent, "timeliness_updated", {"n": n})
    sent: list = []
    with database.transaction() as session:
        assert relay(session, OutboxEvent, lambda kind, payload: sent.append(payload), "outbox-test", limit=2) == 2
    assert outbox_pending.labels("outbox-test")._value.get() == 3
    with database.transaction() as session:
        relay(session, OutboxEvent, lambda kind, payload: sent.append(payload), "outbox-test", limit=10)
    assert outbox_pending.labels("outbox-test")._value.get() == 0
    assert [p["n"] for p in sent] == [0, 1, 2, 3, 4]

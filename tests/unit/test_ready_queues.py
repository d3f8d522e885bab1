"""/ready waits for the service's queues to be consumed (shared.ops.QueuesConsumed): nameko starts the web server
beside the RPC consumer, and a replica said "ready" while its RPC queue did not exist yet — a call made then was
returned unroutable (NO_ROUTE; tests/integration/test_reports_replicas.py met it on a clean CI run)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from nameko.messaging import QueueConsumer

from shared.ops import QueuesConsumed


def test_ready_says_no_until_every_queue_consumer_consumes():
    consumer, other = QueueConsumer(), QueueConsumer()
    provider = QueuesConsumed()
    provider.container = SimpleNamespace(extensions={consumer, other, object()})
    consuming = provider.get_dependency(None)
    with pytest.raises(RuntimeError, match="2 queue consumer"):
        consuming()
    consumer._consumers_ready.send(None)
    with pytest.raises(RuntimeError, match="1 queue consumer"):
        consuming()
    other._consumers_ready.send(None)
    consuming()  # every queue consumed: ready

"""/health, /ready and /metrics answer over HTTP on both backends, and /metrics carries the service's figures."""

from __future__ import annotations

import json
import re
import urllib.request

from cchc.runner import running
from services.dossiers.service import DossiersService
from shared.publisher import publisher_for
from tests.support import free_port, wait_until

PORT = free_port()


def get(path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


SERIES = 'cchc_dead_letters_total{kind="invalid",service="dossiers"}'


def dead_letters_counted(text: str) -> float:
    """The counter is process-wide: earlier tests in the same run have already dead-lettered invalid messages."""
    found = re.search(re.escape(SERIES) + r" ([0-9.e+]+)", text)
    return float(found.group(1)) if found else 0.0


def test_health_ready_and_metrics(backend_config):
    config = backend_config()
    with running([DossiersService], config, http_base_port=PORT):
        status, body = get("/health")
        assert status == 200 and json.loads(body)["service"] == "dossiers"
        status, body = get("/ready")
        assert status == 200 and json.loads(body)["checks"] == {"database": "ok", "broker": "ok", "queues": "ok"}
        before = dead_letters_counted(get("/metrics")[1])
        publisher = publisher_for(config)
        publisher.publish_many([b"{broken"])
        publisher.close()
        metrics = wait_until(lambda: (lambda text: text if dead_letters_counted(text) == before + 1 else None)(
            get("/metrics")[1]), timeout=30, message=f"the dead letter counted in /metrics (was {before})")
    assert 'cchc_events_consumed_total{outcome="dead_lettered",service="dossiers"}' in metrics

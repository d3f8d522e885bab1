"""/health, /ready and /metrics answer over HTTP on both backends, and /metrics carries the service's figures."""

from __future__ import annotations

import json
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


def test_health_ready_and_metrics(backend_config):
    config = backend_config()
    with running([DossiersService], config, http_base_port=PORT):
        status, body = get("/health")
        assert status == 200 and json.loads(body)["service"] == "dossiers"
        status, body = get("/ready")
        assert status == 200 and json.loads(body)["checks"] == {"database": "ok", "broker": "ok"}
        publisher = publisher_for(config)
        publisher.publish_many([b"{broken"])
        publisher.close()
        counted = 'cchc_dead_letters_total{kind="invalid",service="dossiers"} 1.0'  # the series exists at 0 before
        metrics = wait_until(lambda: (lambda text: text if counted in text else None)(get("/metrics")[1]),
                             timeout=30, message="the dead letter counted in /metrics")
    assert 'cchc_dead_letters_total{kind="invalid",service="dossiers"}' in metrics
    assert 'cchc_events_consumed_total{outcome="dead_lettered",service="dossiers"}' in metrics

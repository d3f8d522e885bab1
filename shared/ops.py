"""/health, /ready and /metrics for every service: one mixin, so each service class just inherits it.

Only one HTTP listener may exist per process (two nameko services with @http in one process answer each
other's requests with 404), so the in-process demo gives each service its own WEB_SERVER_ADDRESS.
"""

from __future__ import annotations

import json
from typing import Any

from nameko.web.handlers import http
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.wrappers import Response

from shared.heap import FrozenStartupHeap
from shared.messaging import connect


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")


def broker_reachable(config: dict[str, Any]) -> None:
    with connect(config, connect_timeout=2) as connection:
        connection.ensure_connection(max_retries=1)


class OpsEndpoints:
    """Mixin for a nameko service class that has ``db`` (DatabaseProvider) and ``config`` (Config)."""

    name: str
    db: Any
    config: Any
    heap = FrozenStartupHeap()

    @http("GET", "/health")
    def health(self, request: Any) -> Response:
        """Alive: the process answers. Kubernetes restarts the pod when this fails."""
        return _json(200, {"status": "ok", "service": self.name})

    @http("GET", "/ready")
    def ready(self, request: Any) -> Response:
        """Ready: database and broker reachable; traffic is withheld while this fails."""
        checks: dict[str, str] = {}
        for name, probe in (("database", self.db.ping), ("broker", lambda: broker_reachable(self.config))):
            try:
                probe()
                checks[name] = "ok"
            except Exception as exc:  # a probe reports, it never raises
                checks[name] = f"unavailable: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        return _json(200 if ok else 503, {"status": "ready" if ok else "not ready", "checks": checks})

    @http("GET", "/metrics")
    def metrics(self, request: Any) -> Response:
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

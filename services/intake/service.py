"""The intake service: one-door events over HTTP for vendors that do not speak AMQP (LGSP integrations).

``POST /v1/events`` takes a JSON array or NDJSON of event envelopes, checks the vendor (bearer token or the
Ingress's verified client certificate), its rate, validates every event with the bus's own schemas, publishes the
valid ones to ``onedoor.events`` with publisher confirms and answers — only after the broker confirmed — which were
accepted and which refused, with field and reason. Contract: docs/contract/openapi.yaml. Entrypoints only; the rules
are in vendors.py, submission.py, ratelimit.py and publishing.py.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Histogram
from werkzeug.wrappers import Request, Response

from services.intake.publishing import BrokerUnavailable, PublisherPool
from services.intake.ratelimit import RateLimiter
from services.intake.submission import BadRequest, Verdicts, answer, decode, judging
from services.intake.vendors import Credential, Directory
from shared import ops
from shared.clock import utcnow
from shared.config import section
from shared.db import DatabaseProvider
from shared.ops import http

log = logging.getLogger(__name__)

requests_total = Counter("cchc_intake_requests_total", "HTTP requests to POST /v1/events, by response status.",
                         ["status"])
events_total = Counter("cchc_intake_events_total", "Events posted over HTTP, by vendor and outcome (accepted, "
                       "refused, not_taken).", ["vendor", "outcome"])
publish_seconds = Histogram("cchc_intake_publish_seconds", "Time from handing a request's events to the broker "
                            "until it confirmed them.", buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10))


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    requests_total.labels(str(status)).inc()
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers,
                    mimetype="application/json")


class Intake(DependencyProvider):
    """What a request worker needs, built once per container: the credential directory, the vendors' rate
    limiter and the pool of confirmed publishers."""

    def setup(self) -> None:
        config = self.container.config
        cfg = section(config, "intake")
        self.max_body = int(cfg["max_body_bytes"])
        self.max_events = int(cfg["max_events"])
        self.max_message_bytes = int(section(config, "ingest")["max_message_bytes"])
        self.retry_after = str(int(cfg["retry_after_seconds"]))
        limit = cfg["rate_limit"]
        self.limiter = RateLimiter(float(limit["events_per_second"]), float(limit["burst_events"]))
        if self.max_events > self.limiter.burst:
            raise ValueError(f"intake.max_events ({self.max_events}) must not exceed intake.rate_limit.burst_events "
                             f"({self.limiter.burst:g}): such a request could never pass")
        mtls = cfg["mtls"]
        self.mtls = str(mtls.get("enabled")).strip().lower() in ("1", "true", "yes", "on")
        self.subject_header = str(mtls["subject_header"])
        self.verify_header = str(mtls["verify_header"])
        self.pool = PublisherPool(config, int(cfg["publishers"]), float(cfg["confirm_timeout_seconds"]))
        self.ttl = float(cfg["token_cache_seconds"])
        self.directory: Directory | None = None

    def stop(self) -> None:
        self.pool.close()

    def get_dependency(self, worker_ctx: Any) -> Intake:
        if self.directory is None:  # the database provider is set up by now
            database = next(d for d in self.container.dependencies if isinstance(d, DatabaseProvider)).database
            self.directory = Directory(database.transaction, self.ttl, utcnow)
        return self

    def authenticate(self, request: Request) -> Credential | None:
        authorization = request.headers.get("Authorization", "")
        if authorization[:7].lower() == "bearer ":
            assert self.directory is not None
            return self.directory.by_token(authorization[7:].strip())
        if self.mtls and request.headers.get(self.verify_header, "") == "SUCCESS":
            subject = request.headers.get(self.subject_header, "")
            assert self.directory is not None
            return self.directory.by_subject(subject) if subject else None
        return None

    def read_body(self, request: Request) -> bytes:
        """The body, refusing before reading it when it is too large or of unknown length."""
        length = request.content_length
        if length is None:
            raise BadRequest(411, "send the body with a Content-Length (chunked bodies are not accepted)")
        if length > self.max_body:
            raise BadRequest(413, f"the body of {length} bytes exceeds the {self.max_body}-byte limit; split the batch")
        body = request.get_data(cache=False)
        if len(body) != length:
            raise BadRequest(400, f"the body ended after {len(body)} of {length} bytes")
        return body


class IntakeService(ops.OpsEndpoints):
    name = "intake"

    config = Config()
    db = DatabaseProvider()
    intake = Intake()

    @http("POST", "/v1/events")
    def post_events(self, request: Request) -> Response:
        """Publish a vendor's events; the answer lists each as accepted, refused (field, reason) or not taken."""
        vendor = self.intake.authenticate(request)
        if vendor is None:
            return _json(401, {"error": "unauthorized", "reason": "a valid bearer token (Authorization: Bearer …) "
                               "or a verified client certificate is required"}, {"WWW-Authenticate": "Bearer"})
        if (wait := self.intake.limiter.blocked(vendor.vendor)) > 0:
            return self._too_many(vendor, wait)
        try:
            items = decode(request.content_type, self.intake.read_body(request), self.intake.max_events)
        except BadRequest as exc:
            return _json(exc.status, {"error": "bad_request", "reason": exc.reason})
        if (wait := self.intake.limiter.take(vendor.vendor, len(items))) > 0:
            return self._too_many(vendor, wait)
        verdicts = Verdicts(items)
        bodies = judging(verdicts, source=vendor.source, max_message_bytes=self.intake.max_message_bytes)
        started = time.monotonic()
        try:
            confirmed = self.intake.pool.publish(bodies)  # validates the next events while the broker stores
        except BrokerUnavailable as exc:
            for _ in bodies:  # judge the rest too: the answer gives every event its verdict
                pass
            confirmed = exc.confirmed + [False] * (len(verdicts.bodies) - len(exc.confirmed))
            log.warning("intake: broker unavailable for %s (%s); %d of %d confirmed", vendor.vendor, exc.reason,
                        sum(confirmed), len(verdicts.bodies))
            body = answer(verdicts, confirmed, "the broker is unavailable and did not take it; resend it later "
                          "(the same event_id is harmless)")
            self._count(vendor, body)
            return _json(503, {"error": "broker_unavailable", "reason": exc.reason, **body},
                         {"Retry-After": self.intake.retry_after})
        publish_seconds.observe(time.monotonic() - started)
        body = answer(verdicts, confirmed)
        self._count(vendor, body)
        return _json(200, body)

    def _too_many(self, vendor: Credential, wait: float) -> Response:
        return _json(429, {"error": "rate_limited", "reason": f"vendor {vendor.vendor} is over its rate of "
                           f"{self.intake.limiter.rate:g} events a second; retry later"},
                     {"Retry-After": self.intake.limiter.retry_after(wait)})

    @staticmethod
    def _count(vendor: Credential, body: dict[str, Any]) -> None:
        for outcome in ("accepted", "refused", "not_taken"):
            if body[outcome]:
                events_total.labels(vendor.vendor, outcome).inc(body[outcome])

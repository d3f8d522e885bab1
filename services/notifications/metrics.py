"""Prometheus metrics of the notifications service. Labels are the service and the channel only: never a
recipient, a unit or a dossier (personal data and unbounded cardinality stay out of metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

sent = Counter(
    "cchc_notifications_sent_total",
    "Notifications delivered (accepted by the SMTP server or gateway, answered 2xx, or written to a folder).",
    ["service", "channel"],
)
failed = Counter(
    "cchc_notifications_failed_total",
    "Notifications that reached the final failed state (permanent error or attempts exhausted; replayable).",
    ["service", "channel"],
)
retried = Counter(
    "cchc_notifications_retried_total",
    "Delivery attempts that failed transiently and were scheduled again with backoff.",
    ["service", "channel"],
)
queue_age = Gauge(
    "cchc_notifications_queue_age_seconds",
    "Age of the oldest notification still waiting to be delivered (0 when the queue is empty).",
    ["service"],
)

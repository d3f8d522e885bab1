"""Prometheus metrics shared by every service (``cchc_`` prefix, base units, no per-dossier labels).

All services in one process (the demo) share the default registry; the ``service`` label keeps them apart.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

events_consumed = Counter(
    "cchc_events_consumed_total",
    "Inbound messages handled, by outcome (processed, duplicate, dead_lettered).",
    ["service", "outcome"],
)
dead_letters = Counter(
    "cchc_dead_letters_total",
    "Messages moved to the dead-letter queue, by kind of reason (invalid, rejected, failed, orphan).",
    ["service", "kind"],
)
batch_seconds = Histogram(
    "cchc_batch_duration_seconds",
    "Time to process and commit one batch of inbound messages.",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
batch_retries = Counter(
    "cchc_batch_retries_total",
    "Batches retried after a transient failure (database or broker unavailable).",
    ["service"],
)
ack_refusals = Counter(
    "cchc_ack_refusals_total",
    "Multiple acks the batch consumer refused because they would have covered an uncommitted delivery (a bug).",
    ["service"],
)
outbox_pending = Gauge(
    "cchc_outbox_pending_events",
    "Committed outgoing events not yet relayed to the bus.",
    ["service"],
)
events_published = Counter(
    "cchc_events_published_total",
    "Events this service published to the bus, by type.",
    ["service", "event_type"],
)
dossiers_overdue = Gauge(
    "cchc_dossiers_overdue",
    "Unfinished dossiers past their due date at the last deadline scan.",
    ["service"],
)
ranking_version = Gauge(
    "cchc_ranking_version",
    "Version of a criteria set's latest ranking (reports compare the version their documents were built from).",
    ["service", "set_id"],
)
catalogue_version = Gauge(
    "cchc_catalogue_version",
    "Version of the procedure catalogue this process uses (0 = the packaged seed).",
    ["service"],
)
processing_time_mismatches = Counter(
    "cchc_processing_time_mismatches_total",
    "Receipts whose payload processing time differs from the catalogue's, by the source that was applied.",
    ["service", "applied"],
)
uncatalogued_receipts = Counter(
    "cchc_uncatalogued_receipts_total",
    "Receipts stored with the payload's processing time for a procedure the catalogue does not have.",
    ["service"],
)

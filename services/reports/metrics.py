"""The reports service's Prometheus metrics (``cchc_`` prefix; the ``service`` label as in shared/metrics.py)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

documents_built = Counter(
    "cchc_documents_built_total",
    "Document files built and kept, by kind (ranking, commitment, commitment_result, statistics) and format.",
    ["service", "kind", "format"],
)
ranking_version = Gauge(
    "cchc_documents_ranking_version",
    "The scoring ranking version the latest ranking document of a criteria set was built from.",
    ["service", "set_id"],
)

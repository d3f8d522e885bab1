"""The ranking-version gauge only moves forward: a timer that read the built versions before a newer build
finished must not set it back (the CchcRankingDocumentsNotBuilt alert compares it with scoring's version)."""

from prometheus_client import REGISTRY

from services.reports.builder import report_built_version


def gauge(set_id: str) -> float | None:
    return REGISTRY.get_sample_value("cchc_documents_ranking_version", {"service": "reports", "set_id": set_id})


def test_the_ranking_version_gauge_never_goes_back():
    report_built_version("gauge-test-set", 3)
    assert gauge("gauge-test-set") == 3
    report_built_version("gauge-test-set", 2)  # a stale reading, reported late
    assert gauge("gauge-test-set") == 3
    report_built_version("gauge-test-set", 4)
    assert gauge("gauge-test-set") == 4

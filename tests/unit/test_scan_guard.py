"""The "no apologies during a backlog" guard fails closed: when the broker cannot tell the ingest queue's depth,
the deadline scan is skipped (and says so), never run as if the queue were empty (issue 12)."""

from __future__ import annotations

from nameko.testing.services import worker_factory

from services.dossiers.service import DossiersService, ingest_backlog
from shared.config import load_config
from tests.support import free_port


def unreachable() -> dict:
    return load_config(AMQP_URI=f"pyamqp://guest:guest@127.0.0.1:{free_port()}//")


def test_an_unreachable_broker_is_an_unknown_backlog_not_an_empty_one() -> None:
    assert ingest_backlog(unreachable()) is None


def test_the_deadline_scan_is_skipped_when_the_backlog_is_unknown(caplog) -> None:
    service = worker_factory(DossiersService)
    service.config = unreachable()
    assert service.scan_deadlines() == {"skipped_backlog_unknown": 1}
    assert not service.db.transaction.called  # nothing judged, nothing announced
    assert "backlog is unknown" in caplog.text

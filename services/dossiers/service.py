"""The dossiers (timeliness) service: entrypoints only; the rules live in the modules they import."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from nameko.dependency_providers import Config
from nameko.events import EventDispatcher
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc

from services.dossiers import alerts, ingest, reads, retention
from services.dossiers.lifecycle import TimelinessRules
from services.dossiers.models import OutboxEvent
from services.dossiers.rules import rules_from_config
from services.dossiers.schemas import DossierSchema, StatsSchema
from shared import ops
from shared.batch_consumer import batch_event_handler
from shared.clock import retention_cutoff, utcnow
from shared.config import section
from shared.db import DatabaseProvider
from shared.deadletter import DeadLetterPublisher
from shared.messaging import connect, ingest_queue
from shared.metrics import dossiers_overdue, events_consumed
from shared.outbox import relay
from shared.timers import configured_timer

log = logging.getLogger(__name__)


class Rules(DependencyProvider):
    """Calendar, catalogue and unit tree, loaded once per container from configuration."""

    def setup(self) -> None:
        self.rules = rules_from_config(self.container.config)

    def get_dependency(self, worker_ctx: Any) -> TimelinessRules:
        return self.rules


def ingest_backlog(config: Any) -> int:
    """Messages waiting in the ingest queue (0 if the broker cannot say: the scan then proceeds)."""
    try:
        with connect(config, connect_timeout=2) as connection:
            _, count, _ = ingest_queue()(connection.default_channel).queue_declare(passive=True)
            return int(count)
    except Exception:  # a scan must not fail because the broker is briefly unreachable
        return 0



class DossiersService(ops.OpsEndpoints):
    name = "dossiers"

    config = Config()
    db = DatabaseProvider()
    rules = Rules()
    dispatch = EventDispatcher()
    dead_letters = DeadLetterPublisher()

    # Bound to "#": a message with an unknown or missing event type must reach us to be dead-lettered with
    # its reason; bound to the known types only, the exchange would drop it silently.
    @batch_event_handler(["#"])
    def ingest(self, events: list) -> dict[str, Any]:
        with self.db.transaction() as session:
            report = ingest.ingest_batch(session, events, self.rules, utcnow())
        events_consumed.labels(self.name, "duplicate").inc(report.duplicates)
        return report.rejections

    @rpc(expected_exceptions=(reads.NotFound,))
    def get_dossier(self, dossier_code: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return DossierSchema().dump(reads.dossier_view(session, dossier_code))

    @rpc(expected_exceptions=(reads.NotFound, ValueError))
    def period_stats(self, unit_code: str, period: str, include_children: bool = False) -> Any:
        """Figures for ``unit_code`` (rolled up over its subtree) in ``period`` ("2023", "2023-H1", …)."""
        with self.db.transaction() as session:
            rows = reads.period_stats(session, self.rules, unit_code, period, utcnow(), include_children)
        dumped = StatsSchema(many=True).dump([r.to_dict() for r in rows])
        return dumped if include_children else dumped[0]

    @rpc(expected_exceptions=(reads.NotFound, ValueError))
    def unit_dossiers(self, unit_code: str, period: str, status: str, limit: int = 50,
                      offset: int = 0) -> dict[str, Any]:
        """The unit's (and its subtree's) dossiers finished late (``status="late"``) or overdue (``"overdue"``) in
        ``period`` (latest finished / longest overdue first), without personal data: the web page's drill-down."""
        with self.db.transaction() as session:
            return reads.unit_dossiers(session, self.rules, unit_code, period, status, utcnow(), limit, offset)

    @rpc(expected_exceptions=(reads.NotFound, ValueError))
    def monthly_series(self, unit_code: str, period: str, months: int = 12) -> list[dict[str, Any]]:
        """The unit's figures (as ``period_stats``) for the ``months`` reporting months up to ``period``'s end."""
        with self.db.transaction() as session:
            rows = reads.monthly_series(session, self.rules, unit_code, period, utcnow(), months)
        return StatsSchema(many=True).dump(rows)

    @rpc
    def ingest_progress(self) -> dict[str, int]:
        """How much has been committed: tools wait on this instead of sleeping."""
        with self.db.transaction() as session:
            return ingest.progress(session)

    @rpc
    def units(self) -> list[dict[str, Any]]:
        """The unit tree this service counts against (other services keep no copy of the registry)."""
        return [
            {
                "code": u.code,
                "name": u.name,
                "kind": u.kind.value,
                "parent_code": u.parent_code,
                "valid_from": u.valid_from.isoformat() if u.valid_from else None,
                "valid_to": u.valid_to.isoformat() if u.valid_to else None,
            }
            for u in self.rules.units
        ]

    @rpc  # also callable: tools run the scan right after a bulk replay instead of waiting for the timer
    @configured_timer("timeliness", "scan_interval_seconds")
    def scan_deadlines(self, force: bool = False) -> dict[str, int]:
        """Announce newly overdue / due-soon dossiers, unless unread events may still close some of them: a
        backlog in the queue, or a backfill still arriving (``force``: the caller knows the replay is complete).
        Otherwise a dossier whose closing event is not yet read would get an apology it is not owed."""
        cfg = section(self.config, "timeliness")
        backlog = ingest_backlog(self.config)
        if backlog > int(cfg["scan_max_backlog"]) and not force:
            log.info("deadline scan skipped: %d inbound events still queued", backlog)
            return {"skipped_backlog": backlog}
        now = utcnow()
        late = soon = 0
        with self.db.transaction() as session:
            backfill = not force and alerts.backfill_in_progress(
                session, now, float(cfg["backfill_lag_seconds"]), float(cfg["backfill_quiet_seconds"]))
            if backfill:
                log.info("overdue announcements held: a backfill of old events is still arriving")
            else:
                late = alerts.scan_overdue(session, self.rules, now)
                soon = alerts.scan_due_soon(session, self.rules, now, int(cfg["due_soon_working_days"]))
            dossiers_overdue.labels(self.name).set(alerts.count_overdue(session, self.rules, now))
        wait = int(cfg["orphan_wait_seconds"])
        with self.db.transaction() as session:
            orphans = ingest.dead_letter_orphans(session, now - dt.timedelta(seconds=wait), now, wait)
        return {"late": late, "due_soon": soon, "orphans": orphans, "held_for_backfill": int(backfill)}

    @configured_timer("privacy", "retention_scan_interval_seconds")
    def erase_personal_data(self) -> None:
        cutoff, days = retention_cutoff(self.config)
        with self.db.transaction() as session:
            erased = retention.erase_personal_data(session, cutoff)
        if erased:
            log.info("erased the applicant's personal data of %d dossiers closed over %d days ago", erased, days)

    @configured_timer("timeliness", "stats_publish_interval_seconds")
    def publish_timeliness(self) -> None:
        with self.db.transaction() as session:
            alerts.publish_timeliness(session, self.rules, utcnow())

    @configured_timer("outbox", "relay_interval_seconds")
    def relay_outbox(self) -> None:
        with self.db.transaction() as session:
            relay(session, OutboxEvent, self._publish, self.name)

    def _publish(self, event_type: str, payload: dict[str, Any]) -> None:
        if event_type == ingest.DEAD_LETTER_EVENT:
            self.dead_letters.publish(payload)
        else:
            self.dispatch(event_type, payload)

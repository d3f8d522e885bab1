"""The dossiers (timeliness) service: entrypoints only; the rules live in the modules they import."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from typing import Any

from nameko.dependency_providers import Config
from nameko.events import EventDispatcher
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from sqlalchemy.orm import Session

from services.dossiers import (
    alerts,
    catalogue_store,
    ingest,
    reads,
    reconcile,
    reconcile_groups,
    retention,
    stats_verify,
)
from services.dossiers.catalogue import Catalogue
from services.dossiers.catalogue_import import CatalogueFileError, table_from_rows
from services.dossiers.index766 import reads as index766_reads
from services.dossiers.index766 import store as index766_store
from services.dossiers.index766.cache import RankingCache
from services.dossiers.lifecycle import TimelinessRules
from services.dossiers.models import OutboxEvent
from services.dossiers.outcomes import Granularity
from services.dossiers.rules import rules_from_config
from services.dossiers.schemas import (
    STATS_FIELDS,
    CatalogueProcedureSchema,
    CatalogueVersionSchema,
    DossierSchema,
    GapSchema,
    dump_stats,
)
from shared import ops
from shared.batch_consumer import batch_event_handler
from shared.calendar import LOCAL_TZ
from shared.clock import retention_cutoff, utcnow
from shared.config import section
from shared.db import DatabaseProvider
from shared.deadletter import DeadLetterPublisher
from shared.messaging import connect, ingest_queue
from shared.metrics import (
    catalogue_version,
    dossiers_overdue,
    events_consumed,
    processing_time_mismatches,
    uncatalogued_receipts,
)
from shared.outbox import relay
from shared.timers import configured_timer, interval_from

log = logging.getLogger(__name__)


class Rules(DependencyProvider):
    """Calendar, catalogue and unit tree, built once per container from configuration; the catalogue is the newest
    version in the database (read by the first worker, before it touches any dossier), swapped for a newer one by
    :class:`CatalogueKeeper` without a restart."""

    def setup(self) -> None:
        self.rules = rules_from_config(self.container.config)
        self.seed = self.rules.catalogue  # version 0: the packaged or configured file
        self.loaded = False
        self.lock = threading.Lock()

    def install(self, catalogue: Catalogue) -> None:
        if catalogue is not self.rules.catalogue:
            self.rules = dataclasses.replace(self.rules, catalogue=catalogue)
            log.info("procedure catalogue version %d in use (%d procedures)", catalogue.version, len(catalogue))
        catalogue_version.labels(self.container.service_name).set(catalogue.version)
        self.loaded = True

    def database(self) -> Any:
        return next(d for d in self.container.dependencies if isinstance(d, DatabaseProvider)).database

    def get_dependency(self, worker_ctx: Any) -> TimelinessRules:
        if not self.loaded:
            with self.lock:  # a database error here fails the worker: a batch retries it as a transient failure
                if not self.loaded:
                    with self.database().transaction() as session:
                        self.install(catalogue_store.load(session, self.seed))
        return self.rules


class CatalogueKeeper(DependencyProvider):
    """What the catalogue entrypoints use: the seed, and installing a newer version into this container's rules."""

    def setup(self) -> None:
        self.provider = next(d for d in self.container.dependencies if isinstance(d, Rules))

    def get_dependency(self, worker_ctx: Any) -> Rules:
        return self.provider


def ingest_backlog(config: Any) -> int | None:
    """Messages ready in the ingest queue, or None when the broker cannot say (the caller then fails closed: an
    unknown backlog may hold the closing events of dossiers that would otherwise get an apology).

    Ready messages only: AMQP's passive declare does not count deliveries held unacknowledged by consumers (the
    management API would; the local setup has none). Those are at most ``batch_size × (batches_in_flight + 1)``
    per consumer and belong to batches being committed (docs/operations.md, "Deadline scan")."""
    try:
        with connect(config, connect_timeout=2) as connection:
            _, count, _ = ingest_queue()(connection.default_channel).queue_declare(passive=True)
            return int(count)
    except Exception as exc:  # never raise out of a timer; the scan is skipped instead
        log.warning("could not read the ingest queue's depth (%r)", exc)
        return None



class DossiersDatabase(DatabaseProvider):
    """The service's database, with statistics counters made for the configured granularity: after the migration
    that created them, or a change of ``timeliness.granularity``, they are rebuilt from the dossiers once."""

    def setup(self) -> None:
        super().setup()
        assert self.database is not None
        granularity = Granularity(section(self.container.config, "timeliness")["granularity"])
        with self.database.transaction() as session:
            if stats_verify.ensure(session, granularity):
                log.info("statistics counters rebuilt for granularity %s", granularity.value)


class Rankings(DependencyProvider):
    """The Decision 766 rankings this container keeps in memory (index766/cache.py), built once."""

    def setup(self) -> None:
        seconds = interval_from(section(self.container.config, "index766"), "index766", "ranking_max_age_seconds")
        self.cache = RankingCache(seconds)

    def get_dependency(self, worker_ctx: Any) -> RankingCache:
        return self.cache


class DossiersService(ops.OpsEndpoints):
    name = "dossiers"

    config = Config()
    db = DossiersDatabase()
    rules = Rules()
    catalogue = CatalogueKeeper()
    rankings = Rankings()
    dispatch = EventDispatcher()
    dead_letters = DeadLetterPublisher()

    # Bound to "#": a message with an unknown or missing event type must reach us to be dead-lettered with
    # its reason; bound to the known types only, the exchange would drop it silently.
    @batch_event_handler(["#"])
    def ingest(self, events: list) -> dict[str, Any]:
        with self.db.transaction() as session:  # timeliness, then the batch's Decision 766 facts and petitions
            report, rejections = index766_store.ingest_with_facts(session, events, self.rules, utcnow())
        events_consumed.labels(self.name, "duplicate").inc(report.duplicates)
        for state in report.receipts:
            if state.time_mismatch:
                processing_time_mismatches.labels(self.name, state.time_source).inc()
            if state.catalogue_unit is None:
                uncatalogued_receipts.labels(self.name).inc()
        return rejections

    @rpc(expected_exceptions=(reads.NotFound,))
    def get_dossier(self, dossier_code: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return DossierSchema().dump(reads.dossier_view(session, dossier_code))

    @rpc(expected_exceptions=(reads.NotFound, ValueError))
    def period_stats(self, unit_code: str, period: str, include_children: bool = False,
                     child_fields: list[str] | None = None) -> Any:
        """Figures for ``unit_code`` (rolled up over its subtree) in ``period`` ("2023", "2023-H1", …).

        ``child_fields``: the children's rows carry only these (the unit's own row stays whole) — a table of a
        national tree's 3,000 communes needs 7 of 27 figures, and the answer is JSON end to end."""
        if child_fields is not None:
            unknown = [f for f in child_fields if f not in STATS_FIELDS] if isinstance(child_fields, list) else None
            if unknown is None or unknown:
                raise ValueError(f"child_fields: unknown field {unknown[0] if unknown else child_fields!r}")
        with self.db.transaction() as session:
            rows = reads.period_stats(session, self.rules, unit_code, period, utcnow(), include_children)
        dumped = dump_stats([r.to_dict() for r in rows])
        if not include_children:
            return dumped[0]
        if child_fields is not None:
            dumped[1:] = [{name: row[name] for name in child_fields} for row in dumped[1:]]
        return dumped

    @rpc(expected_exceptions=(reads.NotFound, ValueError))
    def period_stats_many(self, unit_codes: list[str], period: str) -> list[dict[str, Any]]:
        """``period_stats`` of several units (each over its subtree) in one request and one query, in the order
        named: a web page showing a person's units asks once, not once per unit."""
        with self.db.transaction() as session:
            rows = reads.period_stats_many(session, self.rules, unit_codes, period, utcnow())
        return dump_stats([r.to_dict() for r in rows])

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
        return dump_stats(rows)

    @rpc
    def ingest_progress(self) -> dict[str, int]:
        """How much has been committed: tools wait on this instead of sleeping."""
        with self.db.transaction() as session:
            return {**ingest.progress(session), **index766_store.progress(session)}

    @rpc(expected_exceptions=(reads.NotFound, ValueError))
    def index766(self, unit_code: str, period: str, max_items: int = 50) -> dict[str, Any]:
        """The unit's whole Decision 766 index for a board period ("2026-08", "2026-Q3", "2026"), with where its
        points go (up to ``max_items`` dossiers or procedures per indicator, personal data masked)."""
        with self.db.transaction() as session:
            return index766_reads.unit_index(session, self.rules, unit_code, period, utcnow(), max_items=max_items)

    @rpc(expected_exceptions=(ValueError,))
    def index766_ranking(self, period: str, unit_kind: str | None = None) -> dict[str, Any]:
        """The province's units (or one kind: department, commune) by the points they have at stake; kept in
        memory between changes, at most ``index766.ranking_max_age_seconds`` old (index766/cache.py)."""
        with self.db.transaction() as session:
            return index766_reads.ranking(session, self.rules, period, utcnow(), unit_kind, cache=self.rankings)

    @configured_timer("index766", "ranking_refresh_seconds")
    def refresh_index766_ranking(self) -> None:
        """Recompute the running month's ranking when it is half its maximum age and something changed, so a page
        view finds it in memory."""
        now = utcnow()
        period = now.astimezone(LOCAL_TZ).strftime("%Y-%m")
        with self.db.transaction() as session:
            index766_reads.ranking(session, self.rules, period, now, cache=self.rankings,
                                   max_age=self.rankings.max_age / 2)

    @rpc(expected_exceptions=(ValueError,))
    def index766_import_procedure_facts(self, period: str, file_name: str, content_base64: str, actor: str,
                                        skip_invalid: bool = False, skip_unknown: bool = False) -> dict[str, Any]:
        """Import procedure-level facts (CSV or XLSX, base64) for a board period; the answer names every refused
        row and unknown procedure, and nothing is stored unless the file passes or they are skipped."""
        content = index766_reads.decode_file(content_base64)
        with self.db.transaction() as session:
            return index766_reads.import_procedure_facts(session, self.rules, period, file_name, content, actor,
                                                         utcnow(), skip_invalid=skip_invalid,
                                                         skip_unknown=skip_unknown)

    @rpc(expected_exceptions=(reads.NotFound, ValueError))
    def index766_workbook(self, period: str, unit_code: str | None = None) -> str:
        """The XLSX (base64) of the ranking, or of one unit with the items behind its lost points."""
        with self.db.transaction() as session:
            return index766_reads.workbook_base64(session, self.rules, period, utcnow(), unit_code)

    # -- the procedure catalogue ------------------------------------------------------------------------
    @configured_timer("timeliness", "catalogue_refresh_seconds")
    def refresh_catalogue(self) -> int:
        """Every replica switches to a newer imported catalogue within this interval, and receives the dossiers
        it unblocks (the import did so already; doing it again is a no-op)."""
        with self.db.transaction() as session:
            if catalogue_store.newest_version(session) == self.rules.catalogue.version:
                return self.rules.catalogue.version
            catalogue = catalogue_store.load(session, self.catalogue.seed)
            received = catalogue_store.rederive_unblocked(session, dataclasses.replace(self.rules, catalogue=catalogue),
                                                          utcnow())
        self.catalogue.install(catalogue)
        if received:
            log.info("catalogue version %d: %d refused dossier(s) received", catalogue.version, received)
        return catalogue.version

    @rpc(expected_exceptions=(ValueError,))
    def import_catalogue(self, rows: list[list[Any]], numbers: list[int], source_name: str, source_sha256: str,
                         actor: str, mode: str = "replace", skip_invalid: bool = False,
                         default_level: str | None = None) -> dict[str, Any]:
        """A catalogue file's rows (as ``cchc catalogue import`` reads them) stored as a new version; refused as a
        whole when a row is invalid unless ``skip_invalid``. The answer lists every refused row."""
        try:
            table = table_from_rows(rows, numbers)
            with self.db.transaction() as session:
                provenance = catalogue_store.Provenance(source_name, source_sha256, actor, utcnow())
                result, catalogue = catalogue_store.import_table(
                    session, table, self.rules, self.catalogue.seed, provenance, mode=mode,
                    skip_invalid=skip_invalid, default_level=default_level)
        except (catalogue_store.ImportRefused, CatalogueFileError) as exc:
            errors = getattr(exc, "errors", [])
            return {"imported": False, "reason": str(exc), "errors": [e.as_dict() for e in errors]}
        self.catalogue.install(catalogue)
        return {"imported": True, **result.as_dict()}

    @rpc(expected_exceptions=(LookupError,))
    def catalogue_procedure(self, code: str) -> dict[str, Any]:
        """One procedure in the catalogue in force, and how it stood in every version (``cchc catalogue show``)."""
        with self.db.transaction() as session:
            found = catalogue_store.procedure_history(session, code, self.catalogue.seed)
        return CatalogueProcedureSchema().dump(found)

    @rpc
    def catalogue_gaps(self) -> list[dict[str, Any]]:
        """Procedures seen in receipts but not in the catalogue in force, with counts (``cchc catalogue gaps``)."""
        with self.db.transaction() as session:
            return GapSchema(many=True).dump(catalogue_store.gaps(session, self.rules.catalogue))

    @rpc
    def catalogue_versions(self) -> list[dict[str, Any]]:
        with self.db.transaction() as session:
            return CatalogueVersionSchema(many=True).dump(catalogue_store.versions(session))

    @rpc(expected_exceptions=(ValueError,))
    def reconcile(self, rows: list[dict[str, Any]], period: str, basis: str = "calendar") -> dict[str, Any]:
        """The national portal's Decision-766 figures (its CSV rows) beside ours per unit (``cchc reconcile``)."""
        with self.db.transaction() as session:
            return reconcile.reconcile(session, self.rules, rows, period, utcnow(), basis=basis).as_dict()

    @rpc(expected_exceptions=(ValueError,))
    def reconcile_groups(self, rows: list[dict[str, Any]], period: str) -> dict[str, Any]:
        """The portal's six Decision-766 group scores per unit (its export's rows) beside ours, every group side by
        side, units by points at stake, inferred groups marked (``cchc reconcile`` with a group-scores file)."""
        with self.db.transaction() as session:
            return reconcile_groups.reconcile_groups(session, self.rules, rows, period, utcnow())

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
        if backlog is None and not force:
            log.warning("deadline scan skipped: the ingest backlog is unknown (broker unreachable)")
            return {"skipped_backlog_unknown": 1}
        if backlog is not None and backlog > int(cfg["scan_max_backlog"]) and not force:
            log.info("deadline scan skipped: %d inbound events still queued", backlog)
            return {"skipped_backlog": backlog}
        now = utcnow()
        late = soon = 0
        backfill = False

        def backfilling(session: Session) -> bool:
            return not force and alerts.backfill_in_progress(
                session, now, float(cfg["backfill_lag_seconds"]), float(cfg["backfill_quiet_seconds"]))

        try:
            with self.db.transaction() as session:
                late, soon = alerts.announce_deadlines(session, self.rules, now, int(cfg["due_soon_working_days"]),
                                                       backfilling)
        except alerts.HeldForBackfill:
            backfill, late, soon = True, 0, 0
            log.info("overdue announcements held: a backfill of old events is still arriving")
        with self.db.transaction() as session:
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
            log.info("erased the applicant's personal data of %d dossiers or refused receipts (over %d days old)",
                     erased, days)

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

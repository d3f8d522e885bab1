"""The notifications service: entrypoints only; who hears what is in rules, the letter in apology, the outbox
in delivery, the wires in channels."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.standalone.rpc import ClusterRpcProxy

from services.notifications import apology, delivery, intake, registry, retention
from services.notifications.channels import Attachment, Transport, transports_from
from services.notifications.schemas import DossierAlert, ExplanationEvent, RankingUpdated
from services.notifications.settings import SettingsError, settings_from
from shared import ops
from shared.calendar import WorkingCalendar
from shared.clock import retention_cutoff, utcnow
from shared.config import section
from shared.db import DatabaseProvider
from shared.messaging import transport_options
from shared.reliable_handler import reliable_event_handler
from shared.timers import configured_timer

log = logging.getLogger(__name__)

UNITS_RPC_TIMEOUT_SECONDS = 30


class Notifier:
    """Settings, the working calendar (new return dates), the delivery policy and the channel transports."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.settings = settings_from(config)
        self.calendar = WorkingCalendar.from_config(section(config, "calendar"))
        self.policy = delivery.Policy.from_settings(self.settings)
        self.transports: dict[str, Transport] = transports_from(self.settings)


class NotifierProvider(DependencyProvider):
    def setup(self) -> None:
        """Settings are checked here, so a service configured to deliver nowhere (or to leak its SMTP password)
        stops at start-up with every reason, instead of marking messages sent that nobody receives."""
        try:
            self.notifier = Notifier(self.container.config)
        except SettingsError as exc:
            log.error("%s", exc)
            raise

    def get_dependency(self, worker_ctx: Any) -> Notifier:
        return self.notifier


class NotificationsService(ops.OpsEndpoints):
    name = "notifications"

    config = Config()
    db = DatabaseProvider()
    notifier = NotifierProvider()

    # -- what events produce ------------------------------------------------------------------------------
    @reliable_event_handler("dossiers", "dossier_late", schema=DossierAlert)
    def on_dossier_late(self, payload: dict[str, Any]) -> None:
        self._ensure_units()  # the letter's header names the unit's parent body
        with self.db.transaction() as session:
            intake.on_dossier_late(session, payload, self.notifier.settings, self.notifier.calendar, utcnow())

    @reliable_event_handler("dossiers", "dossier_due_soon", schema=DossierAlert)
    def on_dossier_due_soon(self, payload: dict[str, Any]) -> None:
        with self.db.transaction() as session:
            intake.add_digest_item(session, "due_soon", payload, utcnow())

    @reliable_event_handler("scoring", "ranking_updated", schema=RankingUpdated)
    def on_ranking_updated(self, payload: dict[str, Any]) -> None:
        with self.db.transaction() as session:
            intake.schedule_ranking(session, payload, self.notifier.settings, utcnow())

    @reliable_event_handler("scoring", "season_explanation_requested", schema=ExplanationEvent)
    def on_explanation_requested(self, payload: dict[str, Any]) -> None:
        self._ensure_units()
        with self.db.transaction() as session:
            intake.on_explanation(session, "explanation_requested", payload, self.notifier.settings, utcnow())

    @reliable_event_handler("scoring", "season_explanation_answered", schema=ExplanationEvent)
    def on_explanation_answered(self, payload: dict[str, Any]) -> None:
        self._ensure_units()
        with self.db.transaction() as session:
            intake.on_explanation(session, "explanation_answered", payload, self.notifier.settings, utcnow())

    @rpc(expected_exceptions=(ValueError,))
    def schedule_window_reminders(self, set_id: str, opens: str, closes: str, unit_codes: list[str] | None = None,
                                  unit_kind: str | None = None, title: str | None = None) -> list[dict[str, Any]]:
        """Remind each unit (``unit_codes``, or every unit of ``unit_kind``, or every unit) when a criteria set's
        self-assessment window opens and before it closes; ISO 8601 times with an offset."""
        self._ensure_units()
        with self.db.transaction() as session:
            return intake.schedule_window(session, set_id, _instant("opens", opens), _instant("closes", closes),
                                          unit_codes, unit_kind, title, self.notifier.settings, utcnow())

    # -- timers -----------------------------------------------------------------------------------------------
    @configured_timer("notifications", "delivery_interval_seconds")
    def deliver(self) -> None:
        delivery.deliver_due(self.db, self.notifier.transports, self.notifier.policy, self._attachments, self.name,
                             utcnow)

    @configured_timer("notifications", "digest_interval_seconds")
    def send_digests(self) -> None:
        self.flush_digests()

    @configured_timer("privacy", "retention_scan_interval_seconds")
    def erase_personal_data(self) -> None:
        cutoff, days = retention_cutoff(self.config)
        with self.db.transaction() as session:
            erased = retention.erase_personal_data(session, cutoff)
        if erased:
            log.info("erased personal data from %d notifications older than %d days", erased, days)
        swept = retention.sweep_files(self.notifier.settings, cutoff)
        if swept:
            log.info("deleted %d mail and letter files older than %d days", swept, days)

    @configured_timer("notifications", "schedule_interval_seconds")
    def send_scheduled(self) -> None:
        self._ensure_units()
        with self.db.transaction() as session:
            intake.flush_scheduled(session, self.notifier.settings, utcnow())

    @configured_timer("notifications", "units_refresh_seconds", eager=True)
    def refresh_units(self) -> None:
        self._ensure_units(force=True)

    # -- operators ----------------------------------------------------------------------------------------------
    @rpc(expected_exceptions=(ValueError,))
    def list_notifications(self, status: str | None = None, kind: str | None = None, channel: str | None = None,
                           unit_code: str | None = None, dossier_code: str | None = None,
                           limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Newest first; recipients masked."""
        with self.db.transaction() as session:
            return delivery.list_notifications(session, status=status, kind=kind, channel=channel,
                                               unit_code=unit_code, dossier_code=dossier_code, limit=limit,
                                               offset=offset)

    @rpc(expected_exceptions=(delivery.NotFound,))
    def get_notification(self, notification_id: int, reveal: bool = False) -> dict[str, Any]:
        """Text and every attempt; personal data masked unless ``reveal``."""
        with self.db.transaction() as session:
            return delivery.detail(session, notification_id, reveal)

    @rpc(expected_exceptions=(delivery.NotFound, delivery.NotReplayable))
    def resend(self, notification_id: int) -> dict[str, Any]:
        with self.db.transaction() as session:
            return delivery.resend(session, notification_id, utcnow())

    @rpc
    def resend_failed(self, kind: str | None = None, channel: str | None = None) -> int:
        with self.db.transaction() as session:
            return delivery.resend_failed(session, utcnow(), kind, channel)

    @rpc
    def flush_digests(self) -> int:
        """Send the waiting due-soon and overdue digests now (the timer does it every digest_interval_seconds)."""
        with self.db.transaction() as session:
            return intake.flush_digests(session, self.notifier.settings, utcnow())

    @rpc
    def summary(self) -> dict[str, Any]:
        with self.db.transaction() as session:
            return delivery.summary(session, utcnow())

    # -- helpers (not entrypoints) ------------------------------------------------------------------------------
    def _attachments(self, item: delivery.Claimed) -> tuple[Attachment, ...]:
        with self.db.transaction() as session:
            directory = registry.directory(session, self.notifier.settings)
            pdf = apology.letter_pdf(session, item.dossier_code or "", self.notifier.settings["apology"], directory)
        return (Attachment(apology.letter_filename(item.dossier_code or ""), "application/pdf", pdf),)

    def _ensure_units(self, force: bool = False) -> None:
        """Copy the unit registry from dossiers.units() (with a timeout: never hang on another service)."""
        with self.db.transaction() as session:
            if not force and not registry.is_empty(session):
                return
        config = dict(self.config)
        config["TRANSPORT_OPTIONS"] = transport_options(config)
        try:
            with ClusterRpcProxy(config, timeout=UNITS_RPC_TIMEOUT_SECONDS) as proxy:
                units = proxy.dossiers.units()
        except Exception as exc:  # the registry is refreshed again later; messages use the names they carry
            log.warning("unit registry not refreshed from dossiers.units(): %r", exc)
            return
        with self.db.transaction() as session:
            registry.store_units(session, units, utcnow())


def _instant(name: str, value: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: not an ISO 8601 datetime: {value!r}") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{name}: must carry a UTC offset")
    return parsed

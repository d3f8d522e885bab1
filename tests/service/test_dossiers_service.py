"""The dossiers service end to end over a bus, on both backends (memory+SQLite and RabbitMQ+PostgreSQL):
dead-lettering with reasons, orphans and replay, and deadline events emitted exactly once."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from nameko.events import event_handler

from cchc.runner import rpc_proxy, running
from services.dossiers.service import DossiersService
from shared import deadletter
from shared.events import make_envelope
from shared.messaging import connect
from shared.publisher import publisher_for
from tests.support import wait_until

TZ = dt.timezone(dt.timedelta(hours=7))
COMMUNE = "07900"  # Phường Việt Trì
PROCEDURE = "1.000894.H44"  # Đăng ký kết hôn: 5 working days


def received(code: str, at: dt.datetime, **extra) -> dict:
    payload = {"dossier_code": code, "procedure_code": PROCEDURE, "unit_code": COMMUNE, "received_at": at, **extra}
    return make_envelope("dossier.received", payload, occurred_at=at, source="test")


def resolved(code: str, at: dt.datetime) -> dict:
    return make_envelope("dossier.resolved", {"dossier_code": code, "resolved_at": at}, occurred_at=at, source="test")


def publish(config, messages) -> None:
    publisher = publisher_for(config)
    try:
        publisher.publish_many(messages)
    finally:
        publisher.close()


def parked(config) -> list[deadletter.ParkedMessage]:
    with connect(config) as connection:
        return list(deadletter.browse(connection, "dossiers", limit=100))


def test_bad_messages_are_dead_lettered_with_reasons_and_good_ones_still_count(backend_config):
    config = backend_config(timeliness={"scan_interval_seconds": 3600})
    monday = dt.datetime(2026, 7, 6, 9, 0, tzinfo=TZ)
    good = [received("OK-1", monday), resolved("OK-1", monday + dt.timedelta(days=1)), received("OK-2", monday)]
    naive = received("BAD-NAIVE", monday)
    naive["occurred_at"] = "2026-07-06T09:00:00"
    extra_field = received("BAD-EXTRA", monday)
    extra_field["payload"]["colour"] = "blue"
    bad = [
        b"{this is not json",
        json.dumps(naive).encode(),
        json.dumps(extra_field).encode(),
        json.dumps({**received("BAD-TYPE", monday), "event_type": "dossier.teleported"}).encode(),
        received("BAD-PROC", monday, procedure_code="9.999999.H44"),
        received("BAD-UNIT", monday, unit_code="99999"),
        resolved("OK-2", monday - dt.timedelta(days=3)),  # resolved before it was received
    ]
    with running([DossiersService], config):
        publish(config, [good[0], bad[0], bad[1], good[1], bad[2], bad[3], bad[4], good[2], bad[5], bad[6]])
        letters = wait_until(
            lambda: (lambda p: p if len(p) >= len(bad) else None)(parked(config)), timeout=30, message="7 dead letters"
        )
        with rpc_proxy(config) as rpc:
            ok1 = rpc.dossiers.get_dossier("OK-1")["dossier"]
            ok2 = rpc.dossiers.get_dossier("OK-2")["dossier"]

    reasons = {(p.field, p.kind) for p in letters}
    assert ("_body", "invalid") in reasons
    assert ("occurred_at", "invalid") in reasons
    assert ("payload.colour", "invalid") in reasons
    assert ("event_type", "invalid") in reasons
    assert ("payload.procedure_code", "rejected") in reasons
    assert ("payload.unit_code", "rejected") in reasons
    assert ("payload.resolved_at", "rejected") in reasons
    assert len(letters) == len(bad)
    by_field = {p.field: p for p in letters}
    assert "9.999999.H44" in by_field["payload.procedure_code"].reason
    assert "before the dossier was received" in by_field["payload.resolved_at"].reason
    assert by_field["payload.unit_code"].original_routing_key == "dossier.received"
    assert json.loads(by_field["payload.unit_code"].body)["payload"]["unit_code"] == "99999"  # body kept intact
    assert ok1["closing"] == "finished" and ok1["outcome"] == "early"
    assert ok2["closing"] is None and ok2["status"] == "in_progress"


def test_orphan_events_are_dead_lettered_then_a_replay_after_the_receipt_is_harmless(backend_config):
    config = backend_config(timeliness={"scan_interval_seconds": 0.2, "orphan_wait_seconds": 0})
    at = dt.datetime(2026, 7, 6, 9, 0, tzinfo=TZ)
    with running([DossiersService], config):
        publish(config, [resolved("LATE-RECEIPT", at + dt.timedelta(days=2))])
        letters = wait_until(lambda: parked(config), timeout=30, message="the orphan dead letter")
        assert letters[0].kind == "orphan" and letters[0].field == "payload.dossier_code"
        assert "no dossier.received" in letters[0].reason

        publish(config, [received("LATE-RECEIPT", at)])
        with rpc_proxy(config) as rpc:
            wait_until(
                lambda: rpc.dossiers.get_dossier("LATE-RECEIPT")["dossier"]["closing"] == "finished",
                timeout=30,
                message="the dossier completed by its late receipt",
            )
            with connect(config) as connection:
                assert deadletter.replay(connection, "dossiers") == 1
            wait_until(lambda: not parked(config), timeout=10, message="the replayed message consumed")
            progress = rpc.dossiers.ingest_progress()
            dossier = rpc.dossiers.get_dossier("LATE-RECEIPT")
    assert progress["events_stored"] == 2  # the replay was recognised as a duplicate
    assert dossier["dossier"]["outcome"] == "early"
    assert len(dossier["events"]) == 2


class LateListener:
    name = "late_listener"
    seen: list = []  # noqa: RUF012 - class-level on purpose: the test reads it

    @event_handler("dossiers", "dossier_late")
    def on_late(self, payload):
        LateListener.seen.append(("late", payload["dossier_code"]))

    @event_handler("dossiers", "dossier_due_soon")
    def on_due_soon(self, payload):
        LateListener.seen.append(("due_soon", payload["dossier_code"]))


def test_overdue_and_due_soon_are_announced_exactly_once(backend_config):
    # 5-working-day procedure received now: due within 10 working days, so "due soon" but not overdue
    config = backend_config(
        timeliness={"scan_interval_seconds": 0.1, "due_soon_working_days": 10, "backfill_quiet_seconds": 0.5},
        outbox={"relay_interval_seconds": 0.1},
    )
    LateListener.seen = []
    now = dt.datetime.now(TZ)
    with running([DossiersService, LateListener], config):
        publish(
            config,
            [
                received(
                    "OVERDUE-1",
                    now - dt.timedelta(days=30),
                    applicant={"name": "Nguyễn Văn An", "email": "an@example.vn"},
                ),
                received("OVERDUE-1", now - dt.timedelta(days=30)),  # same dossier re-sent with a new event id
                received("SOON-1", now),
            ],
        )
        wait_until(
            lambda: {s[0] for s in LateListener.seen} >= {"late", "due_soon"}, timeout=30, message="both announcements"
        )
        # Later scans must not announce again: each new overdue dossier proves one more full scan ran.
        for n in (2, 3, 4):
            publish(config, [received(f"OVERDUE-{n}", now - dt.timedelta(days=30))])
            wait_until(
                lambda n=n: ("late", f"OVERDUE-{n}") in LateListener.seen, timeout=30, message=f"OVERDUE-{n} announced"
            )
    assert LateListener.seen.count(("late", "OVERDUE-1")) == 1
    assert LateListener.seen.count(("due_soon", "SOON-1")) == 1
    assert ("late", "SOON-1") not in LateListener.seen
    assert sorted(LateListener.seen).count(("late", "OVERDUE-2")) == 1


def test_unknown_dossier_and_bad_period_are_clear_errors(backend_config):
    config = backend_config()
    with running([DossiersService], config), rpc_proxy(config) as rpc:
        for call, expected in (
            (lambda: rpc.dossiers.get_dossier(str(uuid.uuid4())), "dossier_code"),
            (lambda: rpc.dossiers.period_stats("P25", "2026-13"), "2026-13"),
            (lambda: rpc.dossiers.period_stats("NOPE", "2026"), "unit_code"),
        ):
            try:
                call()
            except Exception as exc:  # nameko RemoteError carries the remote message
                assert expected in str(exc)
            else:
                raise AssertionError("expected an error")


def test_deadline_scan_waits_while_a_backlog_is_queued(backend_config):
    """After an outage the queue holds closings not yet read: scanning then would send false apologies."""
    from nameko.testing.services import worker_factory

    config = backend_config(timeliness={"scan_max_backlog": 100})
    at = dt.datetime(2026, 7, 6, 9, 0, tzinfo=TZ)
    publish(config, [resolved(f"Q{i}", at) for i in range(150)])  # nobody consumes: the queue holds them
    service = worker_factory(DossiersService)
    service.config = config
    assert service.scan_deadlines() == {"skipped_backlog": 150}
    assert not service.db.transaction.called  # nothing was scanned, nothing announced


def test_overdue_announcements_wait_while_a_backfill_is_arriving(backend_config):
    """Events stored long after they happened (a replay) hold the announcements until the backfill is quiet."""
    config = backend_config(timeliness={"scan_interval_seconds": 3600, "backfill_quiet_seconds": 3600})
    with running([DossiersService], config), rpc_proxy(config) as rpc:
        publish(config, [received("BACKFILLED", dt.datetime.now(TZ) - dt.timedelta(days=30))])
        wait_until(lambda: rpc.dossiers.ingest_progress()["events_stored"] == 1, timeout=30, message="stored")
        held = rpc.dossiers.scan_deadlines()
        forced = rpc.dossiers.scan_deadlines(force=True)
        dossier = rpc.dossiers.get_dossier("BACKFILLED")["dossier"]
    assert held["held_for_backfill"] == 1 and held["late"] == 0
    assert forced["held_for_backfill"] == 0 and forced["late"] == 1
    assert dossier["late_notified_at"] is not None

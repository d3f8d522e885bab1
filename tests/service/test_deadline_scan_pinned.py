"""The deadline scan announces late exactly the dossiers the generator's truth says are open, not waiting for a
supplement and past their due date — at every pinned time of day (tests/support.py PINNED_TIMES: an early
morning, a lunch break, an evening, a weekend, the day after a holiday), on both backends.

The stream and the service's clock are pinned to the same instant, so the result never depends on the hour the
suite runs at; the announced set is read from the ``dossier_late`` events the service really emits.
"""

from __future__ import annotations

import datetime as dt

from nameko.events import event_handler

from cchc.runner import rpc_proxy, running
from cchc.traffic import TrafficSpec, generate
from services.dossiers.rules import rules_from_config
from services.dossiers.service import DossiersService
from shared.clock import pinned
from shared.config import load_config
from shared.publisher import publisher_for
from tests.support import wait_until


class Announcements:
    name = "announcements"
    late: list[str] = []  # noqa: RUF012 - class-level on purpose: the test reads it

    @event_handler("dossiers", "dossier_late")
    def on_late(self, payload):
        Announcements.late.append(payload["dossier_code"])


def test_the_announced_late_dossiers_are_exactly_the_open_overdue_ones(backend_config, pinned_now):
    rules = rules_from_config(load_config())
    spec = TrafficSpec(start=pinned_now.date() - dt.timedelta(days=75), end=pinned_now.date(), now=pinned_now,
                       dossiers=500, late_share=0.25, seed=11)
    traffic = generate(spec, rules.units, rules.catalogue, rules.calendar)
    owed = traffic.open_past_due(rules.granularity.value)
    assert len(owed) >= 5, f"the stream for {pinned_now} holds {len(owed)} open overdue dossiers: too few to judge"
    config = backend_config(timeliness={"scan_interval_seconds": 3600}, outbox={"relay_interval_seconds": 0.1})
    Announcements.late = []
    with pinned(pinned_now), running([DossiersService, Announcements], config):
        publisher = publisher_for(config)
        try:
            publisher.publish_many(traffic.messages)
        finally:
            publisher.close()
        with rpc_proxy(config) as rpc:
            wait_until(lambda: rpc.dossiers.ingest_progress()["events_stored"] == traffic.distinct_events,
                       timeout=60, message=f"{traffic.distinct_events} events stored")
            result = rpc.dossiers.scan_deadlines(force=True)  # the replay is complete: judge now
            assert result["late"] == len(owed)
            wait_until(lambda: len(Announcements.late) >= len(owed), timeout=30, message=f"{len(owed)} dossier_late")
            assert rpc.dossiers.scan_deadlines(force=True)["late"] == 0  # each is announced once
    announced = set(Announcements.late)
    assert len(Announcements.late) == len(announced)
    assert announced == owed, (f"announced but not owed: {sorted(announced - owed)}; "
                               f"owed but not announced: {sorted(owed - announced)}")

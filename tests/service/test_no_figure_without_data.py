"""No figure where there is nothing to measure (issue 13, item 6): a unit with no dossiers, or none finished, in a
period has no on-time rate and no Decision 766 rate — absent (None / null), never 0% — in ``period_stats`` and in
the ``timeliness_updated`` events the publisher queues; tables print "—"."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import sqlalchemy as sa

from services.dossiers import alerts, reads
from services.dossiers.ingest import ingest_batch
from services.dossiers.models import OutboxEvent
from services.dossiers.rules import rules_from_config
from services.dossiers.statistics import display
from shared.config import load_config
from shared.events import make_envelope, parse_event

RULES = rules_from_config(load_config())
TZ = dt.timezone(dt.timedelta(hours=7))
RECEIVED = dt.datetime(2025, 3, 3, 9, tzinfo=TZ)
NOW = dt.datetime(2025, 3, 5, 10, tzinfo=TZ)  # the dossier is in progress, within its deadline


def test_units_without_finished_dossiers_have_no_rate(database):
    payload = {"dossier_code": "N1", "procedure_code": "1.000894.H44", "unit_code": "D227", "received_at": RECEIVED}
    event = make_envelope("dossier.received", payload, occurred_at=RECEIVED, event_id=str(uuid.uuid4()))
    with database.transaction() as session:
        ingest_batch(session, [parse_event(event)], RULES, NOW)
        busy, = reads.period_stats(session, RULES, "D227", "2025-03", NOW)
        idle, = reads.period_stats(session, RULES, "D228", "2025-03", NOW)
    figures = busy.to_dict()
    assert (figures["received_new"], figures["finished"], figures["on_time_766"]) == (1, 0, 1)
    assert figures["on_time_rate"] is None  # nothing finished: no on-time rate
    assert (figures["progress_766_rate"], figures["progress_766_score"]) == ("100.00", "20.00")
    assert figures["online_share"] == "0.00"
    empty = idle.to_dict()
    assert empty["total"] == 0
    assert [empty[k] for k in ("on_time_rate", "progress_766_rate", "progress_766_score", "online_share")] == \
        [None, None, None, None]
    assert [display(empty["on_time_rate"]), display(figures["progress_766_rate"])] == ["—", "100.00"]

    with database.transaction() as session:
        assert alerts.publish_timeliness(session, RULES, NOW) > 0
        events = {json.loads(p)["unit_code"]: json.loads(p) for p in session.scalars(
            sa.select(OutboxEvent.payload).where(OutboxEvent.event_type == "timeliness_updated"))}
    assert events["D227"]["on_time_rate"] is None and "on_time_rate" in events["D227"]
    assert events["D227"]["progress_766_rate"] == "100.00"

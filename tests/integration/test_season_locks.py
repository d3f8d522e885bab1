"""A published (or locked) season sheet does not move, whatever comes in by the older doors — an outside review
found a ``score_submitted`` event from the portal changing a published sheet (the RPC was refused, the event was
not), and a ``timeliness_updated`` after publication moving the unit's index away from the published one. Real
RabbitMQ and PostgreSQL: the event is dead-lettered with the refusal's reason, the figure is stored but the
locked sheet keeps its points."""

from __future__ import annotations

from decimal import Decimal

import pytest
from kombu import Connection
from nameko.exceptions import RemoteError
from nameko.standalone.events import event_dispatcher

from cchc.runner import rpc_proxy, running
from services.scoring import submissions
from services.scoring.evidence import encode
from services.scoring.service import ScoringService
from shared.clock import utcnow
from shared.config import load_config
from shared.db import open_database
from shared.deadletter import browse
from shared.local_time import local_iso
from tests.season_files import PDF
from tests.service.test_scoring_service import open_window_copy, self_leaves
from tests.support import PG_URL, pg_schema_prefix, rabbit_vhost, wait_until

pytestmark = pytest.mark.integration
UNIT = "H44.07"


def test_after_publication_neither_a_portal_event_nor_a_new_rate_moves_the_published_sheet(tmp_path) -> None:
    path, cs = open_window_copy(tmp_path, "department-2026.yaml", "dept-season-locks", season=True)
    leaf, other = self_leaves(cs)[:2]
    with rabbit_vhost() as amqp, pg_schema_prefix() as schema:
        config = load_config(AMQP_URI=amqp, DATABASE_URL=PG_URL, DATABASE_SCHEMA=schema)
        with running([ScoringService], config), rpc_proxy(config) as rpc:
            rpc.scoring.publish_criteria_set(str(path))
            db = open_database(config, "scoring", auto_migrate=False)
            with db.transaction() as session:
                submissions.upsert_units(session, [{"code": UNIT, "name": "Sở Nội vụ", "kind": "department"}])
            rpc.scoring.season_save_leaf(cs.id, UNIT, leaf.id, str(leaf.max_points), "Thuyết minh",
                                         [{"filename": "kh.pdf", "data": encode(PDF)}], [], "canbo")
            rpc.scoring.season_submit(cs.id, UNIT, "truong")
            version = next(x for x in rpc.scoring.season_sheet(cs.id, UNIT)["leaves"]
                           if x["leaf_id"] == leaf.id)["version"]
            rpc.scoring.season_appraise(cs.id, UNIT, leaf.id, "accept", None, "", version, "hoidong")
            rpc.scoring.season_lock(cs.id, UNIT, "hoidong")
            rpc.scoring.season_publish(cs.id, "sonoivu")
            published = rpc.scoring.unit_result(cs.id, UNIT)
            history = rpc.scoring.history(cs.id, UNIT)
            change = [{"leaf_id": other.id, "points": str(other.max_points), "evidence": ["KH 1"]}]

            with pytest.raises(RemoteError, match="đã khóa"):  # the RPC, as before
                rpc.scoring.submit_scores(cs.id, UNIT, change, "canbo", True)
            dispatch = event_dispatcher(config)
            dispatch("cchc_portal", "score_submitted", {"set_id": cs.id, "unit_code": UNIT, "actor": "portal",
                                                        "final": True, "scores": change})
            with Connection(amqp) as connection:
                [parked] = wait_until(lambda: browse(connection, "scoring") or None, timeout=30,
                                      message="the portal's event dead-lettered")
            assert "đã khóa" in parked.reason and parked.original_routing_key == "score_submitted", parked

            # a new on-time rate for the unit's year: stored, but the published sheet keeps its points
            dispatch("dossiers", "timeliness_updated", {
                "unit_code": UNIT, "unit_kind": "department", "unit_name": "Sở Nội vụ", "period": str(cs.year),
                "on_time_rate": "100.00", "progress_766_rate": "100.00", "online_share": "100.00",
                "computed_at": local_iso(utcnow()), "as_of": utcnow().date().isoformat()})
            with db.transaction() as session:
                wait_until(lambda: session.connection().exec_driver_sql(
                    "SELECT count(*) FROM metric_values WHERE unit_code = %(u)s", {"u": UNIT}).scalar() == 3,
                    timeout=30, message="the rates stored")
            db.engine.dispose()
            after = rpc.scoring.unit_result(cs.id, UNIT)
            # the lock kept the computed leaves' points as the council's: the index, the appraised total, every
            # area and leaf stay as published (the self-assessment column of a computed leaf shows the latest rate)
            for key in ("index", "index_unrounded", "total_points", "appraised_total", "applicable_max", "areas"):
                assert after[key] == published[key], key
            assert [(x["leaf_id"], x["points"], x["source"]) for x in after["leaves"]] == [
                (x["leaf_id"], x["points"], x["source"]) for x in published["leaves"]]
            assert rpc.scoring.history(cs.id, UNIT) == history
            assert Decimal(rpc.scoring.ranking(cs.id)["table"][0]["index"]) == Decimal(published["index"])

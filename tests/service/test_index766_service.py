"""The Decision 766 RPCs of the running dossiers service, on both backends: facts and petitions published on the
bus, then the unit's index, the ranking, a procedure-facts import and the workbook over RPC."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from nameko.exceptions import RemoteError
from openpyxl import load_workbook

from cchc.runner import rpc_proxy, running
from services.dossiers.cli import read_portal_file
from services.dossiers.service import DossiersService
from shared.clock import pinned
from shared.publisher import publisher_for
from tests.service.test_index766_store import NOW, SAMPLE, month_of_events
from tests.support import wait_until

GROUP_SCORES = Path(__file__).resolve().parents[2] / "services/dossiers/data/portal/766_phutho_group_scores_2026-08.csv"


def test_index766_over_rpc(backend_config):
    config = backend_config(timeliness={"scan_interval_seconds": 3600})
    envelopes = month_of_events()
    with pinned(NOW), running([DossiersService], config):
        publisher = publisher_for(config)
        try:
            publisher.publish_many(envelopes)
        finally:
            publisher.close()
        with rpc_proxy(config) as rpc:
            dossier_events = sum(1 for e in envelopes if e["event_type"].startswith("dossier."))
            wait_until(lambda: (lambda p: p["events_stored"] == dossier_events and p["petitions_received"] == 2)(
                rpc.dossiers.ingest_progress()), timeout=60, message="every event stored")
            imported = rpc.dossiers.index766_import_procedure_facts(
                "2026-08", SAMPLE.name, base64.b64encode(SAMPLE.read_bytes()).decode(), "vp.ubnd")
            unit = rpc.dossiers.index766("07900", "2026-08", max_items=10)
            ranking = rpc.dossiers.index766_ranking("2026-08", "commune")
            xlsx = base64.b64decode(rpc.dossiers.index766_workbook("2026-08", "07900"))
            groups = rpc.dossiers.reconcile_groups(read_portal_file(str(GROUP_SCORES)), "2026-08")
            with pytest.raises(RemoteError, match="departmentCode and at least one group column"):
                rpc.dossiers.reconcile_groups([{"code": "H44", "CKMB": "1"}], "2026-08")
    assert groups["province"]["total"]["portal"] == "59.91" and "07900" in {x["unit_code"] for x in groups["lines"]}
    assert next(g for g in groups["groups"] if g["code"] == "transparency")["inferred_indicators"] == ["1.1", "1.2",
                                                                                                       "1.4"]
    assert imported["accepted"] and imported["rows_imported"] == 13
    assert unit["unit_code"] == "07900" and unit["procedure_facts"]["import_id"] == imported["import_id"]
    progress = next(i for g in unit["groups"] for i in g["indicators"] if i["code"] == "PROGRESS_ON_TIME")
    assert (progress["numerator"], progress["denominator"], progress["score"]) == (1, 2, "10.00")
    assert [u["unit_kind"] for u in ranking["units"]] == ["commune"] * len(ranking["units"])
    assert next(u for u in ranking["units"] if u["unit_code"] == "07900")["total"] == unit["total"]
    assert load_workbook(io.BytesIO(xlsx)).sheetnames[0] == "Chỉ số"


def test_contradictory_facts_and_petitions_to_unknown_units_are_dead_lettered_with_field_and_reason(backend_config):
    from shared.events import make_envelope
    from tests.service.test_dossiers_service import parked
    from tests.service.test_index766_store import at, event

    config = backend_config(timeliness={"scan_interval_seconds": 3600})
    paid_but_exempt = event("dossier.received", {
        "dossier_code": "X1", "procedure_code": "1.000894.H44", "unit_code": "07900", "received_at": at("2026-08-03"),
        "fees": [{"amount": "0"}], "payment": {"channel": "national_platform", "paid_at": at("2026-08-03", 10)}},
        at("2026-08-03"))
    digitised_without_components = event("dossier.received", {
        "dossier_code": "X2", "procedure_code": "1.000894.H44", "unit_code": "07900", "received_at": at("2026-08-03"),
        "components": [], "has_digitised_components": True}, at("2026-08-03"))
    nowhere = make_envelope("petition.received", {"petition_code": "PX", "unit_code": "00000",
                                                  "received_at": at("2026-08-03")}, occurred_at=at("2026-08-03"))
    with pinned(NOW), running([DossiersService], config):
        publisher = publisher_for(config)
        try:
            publisher.publish_many([paid_but_exempt, digitised_without_components, nowhere])
        finally:
            publisher.close()
        letters = wait_until(lambda: (lambda p: p if len(p) >= 3 else None)(parked(config)), timeout=30,
                             message="three dead letters")
    by_field = {p.field: p for p in letters}
    assert set(by_field) == {"payload.payment", "payload.has_digitised_components", "payload.unit_code"}
    assert "every fee line is exempt" in by_field["payload.payment"].reason
    assert by_field["payload.payment"].kind == "invalid" and by_field["payload.unit_code"].kind == "rejected"
    assert "00000" in by_field["payload.unit_code"].reason

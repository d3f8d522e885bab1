"""The contract's version 2 (Decision 766 facts): old messages stay valid, new ones name their version, and
contradictory facts are refused with the field and the reason."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from shared.events import CATALOGUE, InvalidEvent, make_envelope, parse_event, schema_version_for
from tests.unit.test_hostile_input import PAYLOADS, envelope

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
V1_TYPES = {"dossier.received", "dossier.supplement_requested", "dossier.supplement_received", "dossier.resolved",
            "dossier.returned", "dossier.withdrawn", "dossier.rejected", "dossier.late"}


def test_every_version_1_example_published_before_version_2_still_validates():
    """tests/fixtures/contract_v1_examples.jsonl: the examples of docs/contract as published with version 1."""
    messages = [json.loads(line) for line in (FIXTURES / "contract_v1_examples.jsonl").read_text("utf-8").splitlines()]
    assert {m["event_type"] for m in messages} == V1_TYPES
    for message in messages:
        assert message["schema_version"] == 1
        event = parse_event(json.dumps(message, ensure_ascii=False).encode())
        assert event.schema_version == 1 and event.event_type == message["event_type"]


def test_a_version_1_message_keeps_version_1_and_a_version_2_fact_asks_for_2():
    at = "2026-08-03T09:00:00+07:00"
    plain = {"dossier_code": "D", "procedure_code": "1.000894.H44", "unit_code": "07900", "received_at": at}
    assert schema_version_for("dossier.received", plain) == 1
    assert schema_version_for("dossier.received", {**plain, "vneid_verified": True}) == 2
    assert {t for t in CATALOGUE if schema_version_for(t, {}) == 1} == V1_TYPES
    when = dt.datetime.fromisoformat(at)
    assert make_envelope("dossier.received", plain, occurred_at=when)["schema_version"] == 1
    assert make_envelope("dossier.synced", {"dossier_code": "D", "synced_at": at}, occurred_at=when)[
        "schema_version"] == 2


@pytest.mark.parametrize(("change", "field", "reason"), [
    ({"fees": [{"amount": "0"}], "payment": {"channel": "national_platform", "paid_at": "2026-02-13T15:30:00+07:00"}},
     "payload.payment", "every fee line is exempt"),
    ({"components": [], "has_digitised_components": True},
     "payload.has_digitised_components", "no component in components is"),
    ({"components": [{"component_code": "TK", "digitised": True}], "has_digitised_components": False},
     "payload.has_digitised_components", "a component in components is"),
    ({"fees": [{"amount": "-5"}]}, "payload.fees.0.amount", "greater than or equal to 0"),
])
def test_contradictory_facts_are_refused_with_field_and_reason(change, field, reason):
    body = envelope("dossier.received")
    body["payload"].update(change)
    with pytest.raises(InvalidEvent) as refused:
        parse_event(json.dumps(body, ensure_ascii=False))
    assert refused.value.field == field and reason in refused.value.reason


def test_petition_events_are_about_a_petition_not_a_dossier():
    event = parse_event(envelope("petition.received"))
    assert event.subject_code == "PAKN-1" and event.payload["dossier_code"] == "D-1"
    assert parse_event(envelope("dossier.rated")).subject_code == "D-1"
    assert set(PAYLOADS) == set(CATALOGUE)

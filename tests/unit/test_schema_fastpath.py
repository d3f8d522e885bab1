"""The compiled fast path of validation (shared/schema_fastpath.py) against marshmallow itself.

The promise: whatever the fast path accepts, marshmallow accepts with an identical result; everything else is
left to marshmallow (``Defer``). Checked on valid examples, on random and mutated envelopes and payloads (the
hostile-input strategies), and on a generated one-door stream, which must take the fast path throughout or the
speed-up would be vacuous.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields, pre_load, validate

from cchc.traffic import TrafficSpec, generate
from services.dossiers.catalogue import Catalogue
from services.dossiers.units import UnitTree
from shared.calendar import LOCAL_TZ, WorkingCalendar
from shared.events import CATALOGUE, EnvelopeSchema, parse_event
from shared.schema_fastpath import Defer, compile_loader
from tests.unit.test_hostile_input import PAYLOADS, envelope, hostile_values, json_values, mutated_envelopes

MANY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCHEMAS: dict[str, Schema] = {"envelope": EnvelopeSchema(), **{name: e.schema() for name, e in CATALOGUE.items()}}
LOADERS = {name: compile_loader(schema) for name, schema in SCHEMAS.items()}


def verdicts(name: str, data: Any) -> tuple[Any, Any]:
    """(fast result or Defer, marshmallow result or ValidationError) for one schema and one input."""
    try:
        fast: Any = LOADERS[name](copy.deepcopy(data))
    except Defer:
        fast = Defer
    try:
        slow: Any = SCHEMAS[name].load(copy.deepcopy(data))
    except ValidationError:
        slow = ValidationError
    return fast, slow


def assert_agrees(name: str, data: Any) -> bool:
    """True when the fast path accepted (and agreed); fails the test when it accepted something else."""
    fast, slow = verdicts(name, data)
    if fast is Defer:
        return False
    assert slow is not ValidationError, f"fast path accepted what marshmallow refuses: {name} {data!r}"
    assert fast == slow and [type(v) for v in fast.values()] == [type(slow[k]) for k in fast]
    return True


def test_every_schema_of_the_contract_compiles():
    assert all(loader is not None for loader in LOADERS.values())


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_valid_examples_take_the_fast_path_with_marshmallows_result(event_type):
    body = envelope(event_type)
    assert assert_agrees("envelope", body)
    assert assert_agrees(event_type, body["payload"])


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_refused_examples_are_left_to_marshmallow(event_type):
    payload = copy.deepcopy(PAYLOADS[event_type])
    del payload["petition_code" if event_type.startswith("petition.") else "dossier_code"]
    assert verdicts(event_type, payload) == (Defer, ValidationError)
    payload = {**PAYLOADS[event_type], "unexpected": 1}
    assert verdicts(event_type, payload) == (Defer, ValidationError)
    naive = {**PAYLOADS[event_type], CATALOGUE[event_type].time_field: "2026-02-13T15:30:00"}
    assert verdicts(event_type, naive) == (Defer, ValidationError)


def test_a_schema_rule_is_applied_by_the_fast_path_too():
    payload = {k: v for k, v in PAYLOADS["dossier.received"].items() if k != "processing_time_unit"}
    assert verdicts("dossier.received", payload) == (Defer, ValidationError)


@MANY
@given(mutated_envelopes())
def test_mutated_envelopes_accepted_fast_only_when_marshmallow_agrees(body):
    assert_agrees("envelope", body)
    if isinstance(body.get("payload"), dict) and isinstance(body.get("event_type"), str) \
            and body["event_type"] in CATALOGUE:
        assert_agrees(body["event_type"], body["payload"])


@MANY
@given(st.sampled_from(sorted(CATALOGUE)), st.data())
def test_mutated_payload_values_accepted_fast_only_when_marshmallow_agrees(event_type, data):
    payload = copy.deepcopy(PAYLOADS[event_type])
    for key in data.draw(st.lists(st.sampled_from(sorted(payload)), min_size=1, max_size=3)):
        payload[key] = data.draw(st.one_of(hostile_values, st.integers(), st.floats(), st.booleans()))
    assert_agrees(event_type, payload)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(CATALOGUE)), json_values)
def test_random_payloads_accepted_fast_only_when_marshmallow_agrees(event_type, payload):
    assert_agrees(event_type, payload)


def test_processing_time_forms_agree():
    for value in ["5", "0.5", 5, 2.5, "1e2", "-1", "0", "NaN", "Infinity", "abc", True, None, "", " 5 "]:
        assert_agrees("dossier.received", {**PAYLOADS["dossier.received"], "processing_time": value})


@pytest.mark.parametrize("index766", [False, True], ids=["version-1", "with-766-facts"])
def test_a_generated_stream_takes_the_fast_path_throughout(index766):
    spec = TrafficSpec(start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31), dossiers=300,
                       now=dt.datetime(2026, 4, 15, 16, 0, tzinfo=LOCAL_TZ), seed=11, index766=index766)
    traffic = generate(spec, UnitTree.for_province(25), Catalogue.load(), WorkingCalendar())
    fast_payloads = 0
    for message in traffic.messages:
        assert assert_agrees("envelope", message)
        fast_payloads += assert_agrees(message["event_type"], message["payload"])
        assert parse_event(message).event_id == uuid.UUID(message["event_id"])
    assert fast_payloads == len(traffic.messages)


def test_unknown_features_are_not_compiled():
    class WithHook(Schema):
        name = fields.String()

        @pre_load
        def strip(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
            return data

    class WithUnknownField(Schema):
        when = fields.Date()

    class WithPlaces(Schema):
        amount = fields.Decimal(places=2)

    class Fine(Schema):
        name = fields.String(required=True, validate=validate.Length(max=3))

    assert compile_loader(WithHook()) is None
    assert compile_loader(WithUnknownField()) is None
    assert compile_loader(WithPlaces()) is None
    loader = compile_loader(Fine())
    assert loader is not None and loader({"name": "abc"}) == {"name": "abc"}
    with pytest.raises(Defer):
        loader({"name": "abcd"})


def test_marshmallows_own_aware_datetime_compiles_and_an_override_does_not():
    class Plain(Schema):
        at = fields.AwareDateTime(required=True)

    class Shifted(fields.AwareDateTime):
        def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dt.datetime:
            return super()._deserialize(value, attr, data, **kwargs) + dt.timedelta(hours=1)

    class Overridden(Schema):
        at = Shifted(required=True)

    loader = compile_loader(Plain())
    assert loader is not None
    assert loader({"at": "2026-02-13T15:30:00+07:00"}) == Plain().load({"at": "2026-02-13T15:30:00+07:00"})
    assert compile_loader(Overridden()) is None


def test_booleans_and_lists_of_the_766_facts_agree():
    received = PAYLOADS["dossier.received"]
    for value in [True, False, "true", "yes", 1, 0, None, "", [], {}]:
        assert_agrees("dossier.received", {**received, "vneid_verified": value})
    for value in [[], [{}], [{"component_code": "X"}], {"component_code": "X"}, "X", [1], [None],
                  [{"component_code": "X", "digitised": "true"}], [{"component_code": "X", "colour": "red"}],
                  [{"component_code": "X"}] * 201]:
        assert_agrees("dossier.received", {**received, "components": value, "has_digitised_components": False})
    for value in [[{"amount": "1"}], [{"amount": 1}], [{"amount": "-1"}], [{"amount": "NaN"}], [{}]]:
        assert_agrees("dossier.received", {**received, "fees": value})
    assert assert_agrees("dossier.received", received)  # the full version-2 receipt takes the fast path


def test_contradictory_766_facts_are_left_to_marshmallow_which_refuses_them():
    received = PAYLOADS["dossier.received"]
    exempt = {**received, "fees": [{"amount": "0"}]}
    assert verdicts("dossier.received", exempt) == (Defer, ValidationError)
    no_components = {**received, "components": []}
    assert verdicts("dossier.received", no_components) == (Defer, ValidationError)

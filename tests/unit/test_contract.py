"""The published event contract: generated from shared.events, in step with it, and true to parse_event.

The ``jsonschema`` package is not a dependency, so ``check`` below is a small validator for exactly the keywords
the contract uses; it fails on any other keyword rather than ignoring it, and asserts ``uuid`` / ``date-time``.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema, fields, validate, validates_schema

from cchc.cli import main
from shared import contract
from shared.contract import (
    ASYNCAPI_FILE,
    DATE_TIME_PATTERN,
    SCHEMA_RULES,
    SCHEMA_SUFFIX,
    ContractError,
    contract_is_current,
    render_contract,
    stale_contract_files,
    translate,
    write_contract,
)
from shared.events import CATALOGUE, ONEDOOR_EXCHANGE, EnvelopeSchema, InvalidEvent, parse_event

PUBLISHED = Path(__file__).resolve().parents[2] / "docs" / "contract"
TYPES = sorted(CATALOGUE)

# --- a validator for the contract's subset of JSON Schema 2020-12 -------------------------------------------------

ANNOTATIONS = {"$schema", "$comment", "$defs", "title", "description", "examples", "default", "format"}
# RFC 3339's shape; fromisoformat checks the calendar.
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
FORMATS: dict[str, Callable[[str], bool]] = {
    "uuid": lambda s: re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", s) is not None,
    "date-time": lambda s: RFC3339.fullmatch(s) is not None and _parses(s),
    "email": lambda s: re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", s) is not None,
}
TYPES_OF: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and float(v).is_integer(),
}


def _parses(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def errors(schema: dict[str, Any], instance: Any, root: dict[str, Any] | None = None, at: str = "$") -> list[str]:
    """Every way ``instance`` breaks ``schema`` (empty when valid)."""
    root = root if root is not None else schema
    found: list[str] = []
    for keyword, value in schema.items():
        if keyword in ANNOTATIONS or keyword in {"properties", "additionalProperties"}:
            continue
        if keyword == "$ref":
            assert value.startswith("#/$defs/"), value
            found += errors(root["$defs"][value.removeprefix("#/$defs/")], instance, root, at)
        elif keyword == "type":
            if not any(TYPES_OF[t](instance) for t in ([value] if isinstance(value, str) else value)):
                found.append(f"{at}: not of type {value}")
        elif keyword == "const":
            if not _json_equal(instance, value):
                found.append(f"{at}: not {value!r}")
        elif keyword == "enum":
            if not any(_json_equal(instance, v) for v in value):
                found.append(f"{at}: not one of {value}")
        elif keyword == "required":
            if isinstance(instance, dict):
                found += [f"{at}.{name}: missing" for name in value if name not in instance]
        elif keyword == "dependentRequired":
            if isinstance(instance, dict):
                found += [
                    f"{at}.{needed}: required with {name}"
                    for name, needs in value.items()
                    if name in instance
                    for needed in needs
                    if needed not in instance
                ]
        elif keyword == "allOf":
            for part in value:
                found += errors(part, instance, root, at)
        elif keyword == "if":
            branch = schema.get("then") if not errors(value, instance, root, at) else schema.get("else")
            if branch is not None:
                found += errors(branch, instance, root, at)
        elif keyword in {"then", "else"}:
            continue  # applied with their "if"
        elif keyword == "items":
            if isinstance(instance, list):
                for i, item in enumerate(instance):
                    found += errors(value, item, root, f"{at}[{i}]")
        elif keyword == "contains":
            if isinstance(instance, list) and not any(not errors(value, item, root, at) for item in instance):
                found.append(f"{at}: contains no item as required")
        elif keyword in {"minItems", "maxItems"}:
            if isinstance(instance, list) and not (len(instance) >= value if keyword == "minItems"
                                                   else len(instance) <= value):
                found.append(f"{at}: fails {keyword} {value}")
        elif keyword == "minLength":
            if isinstance(instance, str) and len(instance) < value:
                found.append(f"{at}: shorter than {value}")
        elif keyword == "maxLength":
            if isinstance(instance, str) and len(instance) > value:
                found.append(f"{at}: longer than {value}")
        elif keyword == "pattern":
            if isinstance(instance, str) and not re.search(value, instance):
                found.append(f"{at}: does not match {value}")
        elif keyword in {"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"}:
            if TYPES_OF["number"](instance):
                ok = {
                    "minimum": instance >= value,
                    "exclusiveMinimum": instance > value,
                    "maximum": instance <= value,
                    "exclusiveMaximum": instance < value,
                }[keyword]
                if not ok:
                    found.append(f"{at}: fails {keyword} {value}")
        else:
            raise AssertionError(f"the test validator does not know the keyword {keyword!r}: teach it")
    if "format" in schema and isinstance(instance, str) and not FORMATS[schema["format"]](instance):
        found.append(f"{at}: not a {schema['format']}")
    if isinstance(instance, dict):
        properties = schema.get("properties", {})
        for name, value in instance.items():
            if name in properties:
                found += errors(properties[name], value, root, f"{at}.{name}")
            elif schema.get("additionalProperties") is False:
                found.append(f"{at}.{name}: unknown field")
    return found


def check(schema: dict[str, Any], instance: Any) -> bool:
    return not errors(schema, instance)


def accepted(message: dict[str, Any]) -> bool:
    try:
        parse_event(json.dumps(message).encode())
    except InvalidEvent:
        return False
    return True


# --- fixtures -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return render_contract()


@pytest.fixture(scope="module")
def schemas(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {event_type: json.loads(files[f"{event_type}{SCHEMA_SUFFIX}"]) for event_type in TYPES}


@pytest.fixture(scope="module")
def asyncapi(files: dict[str, str]) -> dict[str, Any]:
    return yaml.safe_load(files[ASYNCAPI_FILE])


def example_of(schemas: dict[str, dict[str, Any]], event_type: str) -> dict[str, Any]:
    return copy.deepcopy(schemas[event_type]["examples"][0])


# --- the files, and that the published ones are current --------------------------------------------------------------


def test_there_is_one_schema_per_catalogue_type_and_the_asyncapi_document(files: dict[str, str]) -> None:
    assert set(files) == {f"{event_type}{SCHEMA_SUFFIX}" for event_type in CATALOGUE} | {ASYNCAPI_FILE}


def test_the_published_contract_is_current() -> None:
    stale = stale_contract_files(PUBLISHED)
    assert not stale, f"docs/contract is stale ({', '.join(stale)}): run `cchc contract --out docs/contract`"
    assert contract_is_current(PUBLISHED)


def test_rendering_is_deterministic(files: dict[str, str]) -> None:
    assert render_contract() == files


def test_staleness_is_detected_and_rewriting_cures_it(tmp_path: Path) -> None:
    out = tmp_path / "contract"
    assert not contract_is_current(out)
    written = write_contract(out)
    assert sorted(p.name for p in written) == sorted(render_contract())
    assert contract_is_current(out)

    schema = out / f"dossier.received{SCHEMA_SUFFIX}"
    schema.write_text(schema.read_text(encoding="utf-8").replace('"maxLength": 64', '"maxLength": 65'), "utf-8")
    (out / f"dossier.retired{SCHEMA_SUFFIX}").write_text("{}", encoding="utf-8")
    (out / ASYNCAPI_FILE).unlink()
    assert stale_contract_files(out) == [
        f"dossier.received{SCHEMA_SUFFIX}",
        ASYNCAPI_FILE,
        f"dossier.retired{SCHEMA_SUFFIX}",
    ]

    write_contract(out)
    assert contract_is_current(out)
    assert not (out / f"dossier.retired{SCHEMA_SUFFIX}").exists()


def test_the_cli_writes_the_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contract", "--out", str(tmp_path)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(CATALOGUE) + 2  # + asyncapi.yaml, openapi.yaml (intake)
    assert contract_is_current(tmp_path)


# --- the JSON Schemas --------------------------------------------------------------------------------------------


def _declared(schema: type[Schema]) -> tuple[set[str], set[str]]:
    loaded = {name: f for name, f in schema().fields.items() if not f.dump_only}
    return {f.data_key or n for n, f in loaded.items()}, {f.data_key or n for n, f in loaded.items() if f.required}


@pytest.mark.parametrize("event_type", TYPES)
def test_schema_is_the_envelope_with_the_types_payload(schemas: dict[str, dict[str, Any]], event_type: str) -> None:
    schema = schemas[event_type]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "UTC offset" in schema["description"]
    assert CATALOGUE[event_type].description in schema["description"]

    envelope_fields, envelope_required = _declared(EnvelopeSchema)
    assert set(schema["properties"]) == envelope_fields
    assert set(schema["required"]) == envelope_required
    assert schema["additionalProperties"] is False
    assert schema["properties"]["event_type"] == {"type": "string", "const": event_type}
    assert schema["properties"]["event_id"]["format"] == "uuid"
    assert schema["properties"]["occurred_at"]["format"] == "date-time"

    payload_schema = CATALOGUE[event_type].schema
    payload = schema["$defs"][schema["properties"]["payload"]["$ref"].removeprefix("#/$defs/")]
    payload_fields, payload_required = _declared(payload_schema)
    assert set(payload["properties"]) == payload_fields
    assert set(payload["required"]) == payload_required
    for name, field in payload_schema().fields.items():
        if isinstance(field, fields.AwareDateTime):
            assert payload["properties"][name]["format"] == "date-time"
            assert payload["properties"][name]["pattern"] == DATE_TIME_PATTERN
    # every object, nested ones included, refuses unknown fields as the marshmallow schemas do
    assert all(definition["additionalProperties"] is False for definition in schema["$defs"].values())


def test_custom_fields_map_to_json_types(schemas: dict[str, dict[str, Any]]) -> None:
    received = schemas["dossier.received"]["$defs"]
    assert received["DossierReceived"]["properties"]["processing_time"]["type"] == "string"  # Decimal as_string
    assert "minimum" not in received["DossierReceived"]["properties"]["processing_time"]
    assert received["DossierReceived"]["properties"]["applicant"] == {"$ref": "#/$defs/Applicant"}
    assert received["DossierReceived"]["dependentRequired"] == {"processing_time": ["processing_time_unit"]}
    assert received["Applicant"]["properties"]["email"] == {"type": "string", "format": "email", "maxLength": 254}


@pytest.mark.parametrize("event_type", TYPES)
def test_the_example_is_valid_for_the_schema_and_for_parse_event(
    schemas: dict[str, dict[str, Any]], asyncapi: dict[str, Any], event_type: str
) -> None:
    message = example_of(schemas, event_type)
    assert errors(schemas[event_type], message) == []
    event = parse_event(json.dumps(message, ensure_ascii=False).encode())
    assert event.event_type == event_type
    assert asyncapi["components"]["messages"][event_type]["examples"][0]["payload"] == message


@pytest.mark.parametrize("event_type", TYPES)
@pytest.mark.parametrize("where", ["envelope", "payload"])
def test_an_unknown_field_is_rejected_by_the_schema_and_by_parse_event(
    schemas: dict[str, dict[str, Any]], event_type: str, where: str
) -> None:
    message = example_of(schemas, event_type)
    (message if where == "envelope" else message["payload"])["priority"] = "high"
    path = "$.priority" if where == "envelope" else "$.payload.priority"
    assert errors(schemas[event_type], message) == [f"{path}: unknown field"]
    assert not accepted(message)


def test_an_unknown_applicant_field_is_rejected(schemas: dict[str, dict[str, Any]]) -> None:
    message = example_of(schemas, "dossier.received")
    message["payload"]["applicant"]["national_id"] = "001234567890"
    assert errors(schemas["dossier.received"], message) == ["$.payload.applicant.national_id: unknown field"]
    assert not accepted(message)


# Changes to the dossier.received example that both the schema and parse_event refuse.
REJECTED: dict[str, Callable[[dict[str, Any]], None]] = {
    "no event_id": lambda m: m.pop("event_id"),
    "no payload": lambda m: m.pop("payload"),
    "event_id not a uuid": lambda m: m.update(event_id="evt-1"),
    "another event_type": lambda m: m.update(event_type="dossier.resolved"),
    "unknown event_type": lambda m: m.update(event_type="dossier.archived"),
    "schema_version 3": lambda m: m.update(schema_version=3),
    "schema_version as a string": lambda m: m.update(schema_version="1"),
    "empty source": lambda m: m.update(source=""),
    "naive occurred_at": lambda m: m.update(occurred_at="2025-03-03T08:15:00"),
    "date-only occurred_at": lambda m: m.update(occurred_at="2025-03-03"),
    "naive received_at": lambda m: m["payload"].update(received_at="2025-03-03T08:15:00"),
    "offset hours only": lambda m: m["payload"].update(received_at="2025-03-03T08:15:00+24:00"),
    "no dossier_code": lambda m: m["payload"].pop("dossier_code"),
    "padded dossier_code": lambda m: m["payload"].update(dossier_code=" H44-1"),
    "blank unit_code": lambda m: m["payload"].update(unit_code="   "),
    "dossier_code too long": lambda m: m["payload"].update(dossier_code="H" * 65),
    "processing_time zero": lambda m: m["payload"].update(processing_time="0"),
    "processing_time 0.00": lambda m: m["payload"].update(processing_time="0.00"),
    "processing_time negative": lambda m: m["payload"].update(processing_time="-2"),
    "processing_time not a number": lambda m: m["payload"].update(processing_time="five"),
    "processing_time without its unit": lambda m: m["payload"].pop("processing_time_unit"),
    "unknown channel": lambda m: m["payload"].update(channel="fax"),
    "applicant phone": lambda m: m["payload"]["applicant"].update(phone="call me"),
    "applicant email": lambda m: m["payload"]["applicant"].update(email="not-an-email"),
    "applicant as a string": lambda m: m["payload"].update(applicant="Nguyễn Văn An"),
    # schema_version 2: contradictory Decision 766 facts
    "paid online for an exempt fee": lambda m: m["payload"].update(
        payment={"channel": "national_platform", "paid_at": "2025-03-03T08:20:00+07:00"}),
    "digitised flag without a digitised component": lambda m: m["payload"].update(
        components=[{"component_code": "TK", "digitised": False}]),
    "digitised flag on a dossier without components": lambda m: m["payload"].update(components=[]),
    "no digitised flag but a digitised component": lambda m: m["payload"].update(has_digitised_components=False),
    "negative fee": lambda m: m["payload"]["fees"][0].update(amount="-1"),
    "unknown payment channel": lambda m: m["payload"].update(
        fees=[{"amount": "50000"}], payment={"channel": "cash", "paid_at": "2025-03-03T08:20:00+07:00"}),
    "component without its code": lambda m: m["payload"]["components"][0].pop("component_code"),
    "components not a list": lambda m: m["payload"].update(components={"component_code": "TK"}),
}
# Changes that both accept.
RECEIVED_REQUIRED = ("dossier_code", "procedure_code", "unit_code", "received_at")
ACCEPTED: dict[str, Callable[[dict[str, Any]], None]] = {
    "UTC as Z": lambda m: m.update(occurred_at="2025-03-03T01:15:00Z"),
    "fractional seconds": lambda m: m["payload"].update(received_at="2025-03-03T08:15:00.123456+07:00"),
    "negative offset": lambda m: m["payload"].update(due_at="2025-03-09T20:15:00-05:00"),
    "upper-case uuid": lambda m: m.update(event_id=m["event_id"].upper()),
    "decimal processing_time": lambda m: m["payload"].update(processing_time="0.5"),
    "no optional fields": lambda m: m.update(payload={k: m["payload"][k] for k in RECEIVED_REQUIRED}),
    "unit without time": lambda m: m["payload"].pop("processing_time"),
    "paid online with a fee to pay": lambda m: m["payload"].update(
        fees=[{"amount": "0"}, {"amount": "50000.00", "kind": "fee"}],
        payment={"channel": "provincial_gateway", "paid_at": "2025-03-03T08:20:00+07:00"}),
    "no digitised component and the flag says so": lambda m: m["payload"].update(
        has_digitised_components=False, components=[{"component_code": "TK"}]),
    "version 1 envelope": lambda m: m.update(schema_version=1),
}
# What parse_event tolerates but the published contract does not: it is stricter, never looser.
STRICTER: dict[str, Callable[[dict[str, Any]], None]] = {
    "processing_time as a JSON number": lambda m: m["payload"].update(processing_time=5),
    "space instead of T": lambda m: m.update(occurred_at="2025-03-03 08:15:00+07:00"),
    "basic ISO 8601": lambda m: m.update(occurred_at="20250303T081500+0700"),
    "uuid without hyphens": lambda m: m.update(event_id=uuid.UUID(m["event_id"]).hex),
    "fee as a JSON number": lambda m: m["payload"]["fees"][0].update(amount=0),
    "flag as a string": lambda m: m["payload"].update(vneid_verified="yes"),
}


@pytest.mark.parametrize("change", sorted(REJECTED))
def test_schema_and_parse_event_agree_on_rejection(schemas: dict[str, dict[str, Any]], change: str) -> None:
    message = example_of(schemas, "dossier.received")
    REJECTED[change](message)
    assert not check(schemas["dossier.received"], message)
    assert not accepted(message)


@pytest.mark.parametrize("change", sorted(ACCEPTED))
def test_schema_and_parse_event_agree_on_acceptance(schemas: dict[str, dict[str, Any]], change: str) -> None:
    message = example_of(schemas, "dossier.received")
    ACCEPTED[change](message)
    assert errors(schemas["dossier.received"], message) == []
    assert accepted(message)


@pytest.mark.parametrize("change", sorted(STRICTER))
def test_where_they_differ_the_contract_is_the_stricter(schemas: dict[str, dict[str, Any]], change: str) -> None:
    message = example_of(schemas, "dossier.received")
    STRICTER[change](message)
    assert not check(schemas["dossier.received"], message)
    assert accepted(message)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_every_decimal_the_pattern_allows_is_accepted(data: st.DataObject) -> None:
    schema = json.loads(render_contract()[f"dossier.received{SCHEMA_SUFFIX}"])
    pattern = schema["$defs"]["DossierReceived"]["properties"]["processing_time"]["pattern"]
    message = example_of({"dossier.received": schema}, "dossier.received")
    message["payload"]["processing_time"] = data.draw(st.from_regex(pattern, fullmatch=True).filter(str.isascii))
    assert accepted(message)


@settings(max_examples=200, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59)),
    offset=st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59),
    zulu=st.booleans(),
)
def test_aware_date_times_match_the_pattern_and_naive_ones_do_not(moment: datetime, offset: int, zulu: bool) -> None:
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=offset))).isoformat()
    if zulu:
        aware = moment.isoformat() + "Z"
    assert re.search(DATE_TIME_PATTERN, aware)
    assert accepted({**contract.example("dossier.resolved"), "occurred_at": aware})
    assert not re.search(DATE_TIME_PATTERN, moment.isoformat())
    assert not accepted({**contract.example("dossier.resolved"), "occurred_at": moment.isoformat()})


# --- the AsyncAPI document --------------------------------------------------------------------------------------------


def test_asyncapi_describes_the_broker_and_one_channel_per_routing_key(asyncapi: dict[str, Any]) -> None:
    assert asyncapi["asyncapi"] == "2.6.0"
    assert asyncapi["defaultContentType"] == "application/json"
    (server,) = asyncapi["servers"].values()
    assert server["protocol"] == "amqp"
    assert server["protocolVersion"] == "0.9.1"
    assert set(asyncapi["channels"]) == set(CATALOGUE)
    for routing_key, channel in asyncapi["channels"].items():
        binding = channel["bindings"]["amqp"]
        assert binding["is"] == "routingKey"
        assert binding["exchange"] == {"name": ONEDOOR_EXCHANGE, "type": "topic", "durable": True, "autoDelete": False}
        operation = channel["publish"]
        assert operation["bindings"]["amqp"]["deliveryMode"] == 2
        message = asyncapi["components"]["messages"][operation["message"]["$ref"].rsplit("/", 1)[1]]
        assert message["name"] == routing_key
        assert message["contentType"] == "application/json"
        assert message["summary"] == CATALOGUE[routing_key].description
        assert message["payload"]["$ref"].rsplit("/", 1)[1] in asyncapi["components"]["schemas"]


def test_yaml_keeps_codes_that_look_like_numbers_as_strings(files: dict[str, str]) -> None:
    assert "unit_code: '07900'" in files[ASYNCAPI_FILE]
    assert "protocolVersion: '0.9.1'" in files[ASYNCAPI_FILE]


def _dereference(node: Any, lookup: Callable[[str], Any]) -> Any:
    if isinstance(node, dict):
        if set(node) == {"$ref"}:
            return _dereference(lookup(node["$ref"]), lookup)
        return {key: _dereference(value, lookup) for key, value in node.items()}
    if isinstance(node, list):
        return [_dereference(value, lookup) for value in node]
    return node


@pytest.mark.parametrize("event_type", TYPES)
def test_asyncapi_and_json_schema_say_the_same(
    schemas: dict[str, dict[str, Any]], asyncapi: dict[str, Any], event_type: str
) -> None:
    components = asyncapi["components"]["schemas"]
    ref = asyncapi["components"]["messages"][event_type]["payload"]["$ref"]
    in_asyncapi = _dereference({"$ref": ref}, lambda r: components[r.rsplit("/", 1)[1]])
    in_asyncapi = json.loads(json.dumps(in_asyncapi).replace('"dependencies"', '"dependentRequired"'))
    schema = schemas[event_type]
    in_json_schema = _dereference(schema, lambda r: schema["$defs"][r.rsplit("/", 1)[1]])
    for annotation in ("$schema", "$comment", "$defs", "title", "description", "examples"):
        in_json_schema.pop(annotation)
    assert in_asyncapi == in_json_schema


# --- what cannot be translated fails the generation -------------------------------------------------------------------


class Strict(Schema):
    class Meta:
        unknown = "raise"
        description = "apispec would drop additionalProperties because of this description."


def test_the_schemas_own_hooks_all_have_a_translation_and_no_translation_is_dead() -> None:
    hooks = {
        getattr(schema, name).__qualname__
        for schema in [EnvelopeSchema, *(e.schema for e in CATALOGUE.values())]
        for tag, entries in schema._hooks.items()
        if tag in {"validates", "validates_schema", "pre_load"}
        for name, *_ in entries
    }
    assert set(SCHEMA_RULES) == hooks


def test_range_bounds_keep_their_inclusiveness_and_meta_description_keeps_strictness() -> None:
    class Counted(Strict):
        count = fields.Integer(validate=validate.Range(min=0, max=10, min_inclusive=False, max_inclusive=True))

    counted = translate(Counted)["Counted"]
    assert counted["properties"]["count"] == {"type": "integer", "exclusiveMinimum": 0, "maximum": 10}
    assert counted["additionalProperties"] is False


class CustomValidator(Strict):
    code = fields.String(validate=lambda value: value.isupper())


class UnknownHook(Strict):
    start = fields.Integer()
    end = fields.Integer()

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        pass


class Naive(Strict):
    at = fields.NaiveDateTime()


class CaseInsensitive(Strict):
    code = fields.String(validate=validate.Regexp("^[a-z]+$", flags=re.IGNORECASE))


class BoundedDecimal(Strict):
    amount = fields.Decimal(as_string=True, validate=validate.Range(min=1, max=9))


class Partial(Strict):
    applicant = fields.Nested(Naive, only=("at",))


@pytest.mark.parametrize(
    ("schema", "complaint"),
    [
        (CustomValidator, "validator"),
        (UnknownHook, "SCHEMA_RULES"),
        (Naive, "NaiveDateTime"),
        (CaseInsensitive, "Regexp"),
        (BoundedDecimal, "decimal string"),
        (Partial, "Nested"),
    ],
)
def test_an_untranslatable_construct_stops_the_generation(schema: type[Schema], complaint: str) -> None:
    with pytest.raises(ContractError, match=complaint):
        translate(schema)


def test_a_catalogue_type_without_an_example_stops_the_generation() -> None:
    with pytest.raises(ContractError, match="no example"):
        contract.example("dossier.archived")

"""The published contract with one-door vendors, generated from the marshmallow schemas in :mod:`shared.events`.

``cchc contract --out docs/contract`` writes one JSON Schema (draft 2020-12) per event type, the whole envelope
with ``payload`` narrowed to that type, and an AsyncAPI 2.6 document for the RabbitMQ exchange. apispec's
marshmallow converter does the translation. This module adds only what apispec cannot know (which payload goes
with which ``event_type``, the wire format of our fields, the cross-field rules) and refuses any field, validator
or hook it cannot translate, so a change to the schemas either shows up in the contract or fails loudly.
``contract_is_current`` lets a test fail when the committed files are stale.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin, resolver
from apispec.ext.marshmallow.common import resolve_schema_instance
from apispec.ext.marshmallow.field_converter import make_type_list
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from marshmallow import RAISE, Schema, fields, validate

from shared.events import (
    CATALOGUE,
    ONEDOOR_EXCHANGE,
    SUPPORTED_SCHEMA_VERSIONS,
    EnvelopeSchema,
    PlausibleInstant,
    make_envelope,
)

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ASYNCAPI_VERSION = "2.6.0"
AMQP_BINDING_VERSION = "0.2.0"  # the AMQP binding version for AsyncAPI 2.x (0.3.0 onwards targets AsyncAPI 3)
ASYNCAPI_FILE = "asyncapi.yaml"
SCHEMA_SUFFIX = ".schema.json"
GENERATED_BY = "Generated from shared/events.py by `cchc contract --out docs/contract`: do not edit by hand."

# The wire formats of our field types. Each pattern accepts only strings that parse_event accepts (it is stricter
# than marshmallow, never looser), because JSON Schema's ``format`` is an annotation that most validators skip.
DATE_TIME_PATTERN = (
    r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_DECIMAL_PATTERNS: dict[tuple[int, bool] | None, str] = {
    None: r"^-?[0-9]+(\.[0-9]+)?$",
    (0, True): r"^[0-9]+(\.[0-9]+)?$",  # >= 0
    (0, False): r"^([0-9]*[1-9][0-9]*(\.[0-9]+)?|[0-9]+\.[0-9]*[1-9][0-9]*)$",  # > 0: some digit is not zero
}
DATE_TIME_RULE = (
    "Date-times are RFC 3339 strings that must carry a UTC offset (e.g. 2025-01-24T15:00:00+07:00, or Z for UTC): "
    "a time without an offset is ambiguous and is rejected."
)

# Rules marshmallow states in code (``@validates_schema``) and apispec cannot see, keyed by the hook's qualified
# name. A hook missing here stops the generation: translate it, or the contract would promise too much.
SCHEMA_RULES: dict[str, dict[str, Any]] = {
    "DossierReceived._time_needs_unit": {"dependentRequired": {"processing_time": ["processing_time_unit"]}},
    "DossierReceived._facts_agree": {"allOf": [
        # paid online needs a fee line that is not exempt
        {"if": {"required": ["payment", "fees"]},
         "then": {"properties": {"fees": {"contains": {"required": ["amount"], "properties": {
             "amount": {"pattern": _DECIMAL_PATTERNS[(0, False)]}}}}}}},
        # has_digitised_components agrees with the components' own flags
        {"if": {"required": ["has_digitised_components", "components"],
                "properties": {"has_digitised_components": {"const": True}}},
         "then": {"properties": {"components": {"contains": {"required": ["digitised"], "properties": {
             "digitised": {"const": True}}}}}}},
        {"if": {"required": ["has_digitised_components", "components"],
                "properties": {"has_digitised_components": {"const": False}}},
         "then": {"properties": {"components": {"items": {"properties": {"digitised": {"const": False}}}}}}},
    ]},
}
_HOOKS_WITHOUT_EFFECT_ON_INPUT = {"post_load", "pre_dump", "post_dump"}
_FIELD_TYPES = (
    fields.String,  # also Email
    fields.UUID,
    fields.Integer,
    fields.Float,
    fields.Boolean,
    fields.Decimal,
    fields.AwareDateTime,
    fields.Nested,
    fields.Dict,
    fields.List,
)
_VALIDATORS = (validate.Length, validate.Range, validate.Regexp, validate.OneOf, validate.Email)
_PYTHON_ONLY_REGEX = re.compile(r"\(\?P|\\A|\\Z|\(\?[aiLmsux]")

# One example per event type: a dossier's life at a ward of Phú Thọ, plus the two other ways a dossier ends.
_ICT = timezone(timedelta(hours=7))
_DOSSIER = "H44.100-250303-0003"
_EXAMPLES: dict[str, tuple[datetime, dict[str, Any]]] = {
    "dossier.received": (
        datetime(2025, 3, 3, 8, 15, tzinfo=_ICT),
        {
            "dossier_code": _DOSSIER,
            "procedure_code": "1.000894.H44",
            "unit_code": "07900",
            "received_at": datetime(2025, 3, 3, 8, 15, tzinfo=_ICT),
            "due_at": datetime(2025, 3, 10, 8, 15, tzinfo=_ICT),
            "processing_time": Decimal("5"),
            "processing_time_unit": "working_days",
            "channel": "online",
            "field_code": "Hộ tịch",
            "applicant": {
                "name": "Nguyễn Văn An",
                "kind": "citizen",
                "email": "nguyen.van.an@example.vn",
                "phone": "+84 912 345 678",
                "address": "Số 12, đường Hùng Vương, phường Thanh Miếu, Phú Thọ",
            },
            "components": [
                {"component_code": "TK-KH", "digitised": True},
                {"component_code": "CCCD", "digitised": True, "from_national_store": True},
                {"component_code": "XNTTHN", "reused": True, "replacing_result_code": "KQ-H44.101-250120-0042"},
            ],
            "has_digitised_components": True,
            "fees": [{"fee_code": "LP-KH", "kind": "charge", "amount": Decimal("0")}],
            "vneid_verified": True,
            "population_data_used": True,
        },
    ),
    "dossier.supplement_requested": (
        datetime(2025, 3, 4, 10, 0, tzinfo=_ICT),
        {
            "dossier_code": _DOSSIER,
            "requested_at": datetime(2025, 3, 4, 10, 0, tzinfo=_ICT),
            "reason": "Thiếu giấy xác nhận tình trạng hôn nhân.",
        },
    ),
    "dossier.supplement_received": (
        datetime(2025, 3, 5, 14, 30, tzinfo=_ICT),
        {"dossier_code": _DOSSIER, "supplied_at": datetime(2025, 3, 5, 14, 30, tzinfo=_ICT)},
    ),
    "dossier.late": (
        datetime(2025, 3, 12, 0, 5, tzinfo=_ICT),
        {
            "dossier_code": _DOSSIER,
            "detected_at": datetime(2025, 3, 12, 0, 5, tzinfo=_ICT),
            "reason": "Chờ kết quả xác minh tại nơi cư trú trước đây.",
            "new_due_at": datetime(2025, 3, 14, 17, 0, tzinfo=_ICT),
        },
    ),
    "dossier.resolved": (
        datetime(2025, 3, 13, 16, 0, tzinfo=_ICT),
        {"dossier_code": _DOSSIER, "resolved_at": datetime(2025, 3, 13, 16, 0, tzinfo=_ICT)},
    ),
    "dossier.returned": (
        datetime(2025, 3, 14, 9, 30, tzinfo=_ICT),
        {"dossier_code": _DOSSIER, "returned_at": datetime(2025, 3, 14, 9, 30, tzinfo=_ICT)},
    ),
    "dossier.withdrawn": (
        datetime(2025, 3, 4, 9, 0, tzinfo=_ICT),
        {
            "dossier_code": "H44.100-250303-0004",
            "withdrawn_at": datetime(2025, 3, 4, 9, 0, tzinfo=_ICT),
            "reason": "Công dân xin rút hồ sơ.",
        },
    ),
    "dossier.rejected": (
        datetime(2025, 3, 3, 10, 20, tzinfo=_ICT),
        {
            "dossier_code": "H44.100-250303-0005",
            "rejected_at": datetime(2025, 3, 3, 10, 20, tzinfo=_ICT),
            "reason": "Thủ tục không thuộc thẩm quyền giải quyết của UBND phường.",
        },
    ),
    "dossier.paid": (
        datetime(2025, 3, 3, 8, 40, tzinfo=_ICT),
        {"dossier_code": _DOSSIER, "paid_at": datetime(2025, 3, 3, 8, 40, tzinfo=_ICT), "channel": "national_platform"},
    ),
    "dossier.result_issued": (
        datetime(2025, 3, 13, 16, 5, tzinfo=_ICT),
        {
            "dossier_code": _DOSSIER,
            "issued_at": datetime(2025, 3, 13, 16, 5, tzinfo=_ICT),
            "result_code": "KQ-H44.100-250313-0003",
            "file_url": "https://motcua.phutho.gov.vn/ketqua/KQ-H44.100-250313-0003.pdf",
            "pushed_to_personal_store": True,
        },
    ),
    "dossier.rated": (
        datetime(2025, 3, 14, 9, 40, tzinfo=_ICT),
        {"dossier_code": _DOSSIER, "rated_at": datetime(2025, 3, 14, 9, 40, tzinfo=_ICT), "rating": "satisfied"},
    ),
    "dossier.synced": (
        datetime(2025, 3, 3, 8, 16, tzinfo=_ICT),
        {"dossier_code": _DOSSIER, "synced_at": datetime(2025, 3, 3, 8, 16, tzinfo=_ICT), "status_code": 2},
    ),
    "petition.received": (
        datetime(2025, 3, 17, 10, 0, tzinfo=_ICT),
        {
            "petition_code": "PAKN-2025-000123",
            "unit_code": "07900",
            "received_at": datetime(2025, 3, 17, 10, 0, tzinfo=_ICT),
            "category": "procedure",
            "dossier_code": _DOSSIER,
        },
    ),
    "petition.answered": (
        datetime(2025, 3, 24, 15, 0, tzinfo=_ICT),
        {"petition_code": "PAKN-2025-000123", "answered_at": datetime(2025, 3, 24, 15, 0, tzinfo=_ICT),
         "outcome": "handled"},
    ),
    "petition.rated": (
        datetime(2025, 3, 31, 0, 0, tzinfo=_ICT),
        {"petition_code": "PAKN-2025-000123", "rated_at": datetime(2025, 3, 31, 0, 0, tzinfo=_ICT), "likes": 4,
         "dislikes": 1},
    ),
}
EXAMPLE_SOURCE = "motcua-h44"


class ContractError(ValueError):
    """A marshmallow construct the published contract cannot express faithfully."""


def _is_decimal_string(field: fields.Field) -> bool:
    return isinstance(field, fields.Decimal) and bool(field.as_string)


def _where(field: fields.Field) -> str:
    parent = getattr(field, "parent", None)
    return f"{type(parent).__name__ if parent is not None else '?'}.{field.name}"


def _check_field(field: fields.Field) -> None:
    """Refuse what apispec would translate silently but wrongly (or not at all)."""
    where = _where(field)
    if not isinstance(field, _FIELD_TYPES) or isinstance(field, fields.Pluck):
        raise ContractError(f"{where}: no JSON Schema translation for {type(field).__name__}")
    if field.dump_only:
        raise ContractError(f"{where}: a dump-only field is refused on input; leave it out of inbound schemas")
    for validator in field.validators:
        if isinstance(field, fields.AwareDateTime) and isinstance(validator, PlausibleInstant):
            continue  # DATE_TIME_PATTERN's 20YY says the same
        if not isinstance(validator, _VALIDATORS):
            raise ContractError(f"{where}: validator {validator!r} has no JSON Schema translation")
    if isinstance(field, fields.AwareDateTime) and field.format not in (None, "iso", "iso8601"):
        raise ContractError(f"{where}: only ISO 8601 date-times are translated, not {field.format!r}")
    if isinstance(field, fields.Nested) and (field.only or field.exclude or field.unknown is not None):
        raise ContractError(f"{where}: Nested with only/exclude/unknown overrides is not translated")
    has_own_pattern = _is_decimal_string(field) or isinstance(field, fields.AwareDateTime | fields.UUID)
    if has_own_pattern and any(isinstance(v, validate.Regexp) for v in field.validators):
        raise ContractError(f"{where}: a Regexp on a {type(field).__name__} field is not translated")


def _check_hooks(schema: Schema) -> dict[str, Any]:
    """The JSON Schema keywords for the schema's validation hooks; refuse hooks nobody translated."""
    keywords: dict[str, Any] = {}
    for tag, hooks in type(schema)._hooks.items():
        if tag in _HOOKS_WITHOUT_EFFECT_ON_INPUT:
            continue
        for attr_name, *_ in hooks:
            qualname = getattr(type(schema), attr_name).__qualname__
            if qualname not in SCHEMA_RULES:
                raise ContractError(
                    f"{qualname}: the @{tag} hook has no JSON Schema translation; add it to SCHEMA_RULES"
                )
            keywords.update(SCHEMA_RULES[qualname])
    return keywords


def _json_number(value: Any) -> int | float:
    return int(value) if value == int(value) else float(value)


class ContractConverter(OpenAPIConverter):
    """apispec's converter with our wire formats; refuses what it cannot translate faithfully."""

    def field2type_and_format(self, field: fields.Field, **kwargs: Any) -> dict[str, Any]:
        _check_field(field)
        if _is_decimal_string(field):
            return {"type": "string"}  # apispec says number: the value travels as a string to keep its precision
        return super().field2type_and_format(field, **kwargs)

    def field2range(self, field: fields.Field, ret: dict[str, Any]) -> dict[str, Any]:
        # apispec drops min_inclusive / max_inclusive and, for a Decimal, writes the bound as a string.
        ranges = [v for v in field.validators if isinstance(v, validate.Range)]
        if not ranges or _is_decimal_string(field):
            return {}  # a decimal string's range is in its pattern
        if len(ranges) > 1 or not set(make_type_list(ret.get("type"))) & {"number", "integer"}:
            raise ContractError(f"{_where(field)}: only one Range on a number is translated")
        (bounds,) = ranges
        out: dict[str, Any] = {}
        if bounds.min is not None:
            out["minimum" if bounds.min_inclusive else "exclusiveMinimum"] = _json_number(bounds.min)
        if bounds.max is not None:
            out["maximum" if bounds.max_inclusive else "exclusiveMaximum"] = _json_number(bounds.max)
        return out

    def field2pattern(self, field: fields.Field, **kwargs: Any) -> dict[str, Any]:
        if _is_decimal_string(field):
            return {"pattern": _decimal_pattern(field)}
        if isinstance(field, fields.AwareDateTime):
            return {"pattern": DATE_TIME_PATTERN}
        if isinstance(field, fields.UUID):
            return {"pattern": UUID_PATTERN}
        regexps = [v for v in field.validators if isinstance(v, validate.Regexp)]
        if not regexps:
            return {}
        if len(regexps) > 1 or regexps[0].regex.flags & ~re.UNICODE:
            raise ContractError(f"{_where(field)}: only one Regexp without flags is translated")
        pattern = regexps[0].regex.pattern
        if _PYTHON_ONLY_REGEX.search(pattern):
            raise ContractError(f"{_where(field)}: {pattern!r} uses Python-only regex syntax")
        # marshmallow uses re.match (anchored at the start); a JSON Schema pattern matches anywhere.
        return {"pattern": pattern if pattern.startswith("^") else f"^(?:{pattern})"}

    def field2property(self, field: fields.Field) -> dict[str, Any]:
        prop = super().field2property(field)
        if "description" not in prop:
            if isinstance(field, fields.AwareDateTime):
                prop["description"] = "Date-time with a UTC offset (RFC 3339), e.g. 2025-01-24T15:00:00+07:00."
            elif _is_decimal_string(field):
                prop["description"] = _decimal_description(field)
        return prop

    def schema2jsonschema(self, schema: Any) -> dict[str, Any]:
        instance = resolve_schema_instance(schema)
        rules = _check_hooks(instance)
        out = super().schema2jsonschema(instance)
        # apispec skips additionalProperties when Meta has a description; state it from the schema itself.
        if instance.unknown == RAISE:
            out["additionalProperties"] = False
        else:
            out.pop("additionalProperties", None)
        out.update(rules)
        doc = type(instance).__doc__
        if doc and "description" not in out:
            out["description"] = " ".join(doc.split())
        return out


def _range_key(field: fields.Field) -> tuple[int, bool] | None:
    ranges = [v for v in field.validators if isinstance(v, validate.Range)]
    if not ranges:
        return None
    if len(ranges) > 1 or ranges[0].max is not None or ranges[0].min != 0:
        raise ContractError(f"{_where(field)}: a decimal string is translated only with no range, or min=0")
    return (0, bool(ranges[0].min_inclusive))


def _decimal_pattern(field: fields.Field) -> str:
    return _DECIMAL_PATTERNS[_range_key(field)]


def _decimal_description(field: fields.Field) -> str:
    bound = {None: "", (0, True): ", at least 0", (0, False): ", greater than 0"}[_range_key(field)]
    return f'Decimal number written as a JSON string, e.g. "5" or "1.5"{bound}.'


class ContractPlugin(MarshmallowPlugin):
    Converter = ContractConverter


# --- building the documents ------------------------------------------------------------------------------------


def translate(*schemas: type[Schema], names: dict[type[Schema], str] | None = None) -> dict[str, dict[str, Any]]:
    """apispec's JSON Schema of each marshmallow schema and of the schemas nested in them, by component name.

    References between them read ``#/components/schemas/<name>``; names default to apispec's (class name less
    any ``Schema`` suffix). Raises :class:`ContractError` on anything the contract cannot express faithfully.
    """
    names = names or {}
    spec = APISpec(title="cchc one-door events", version="1", openapi_version="3.1.0", plugins=[ContractPlugin()])
    for schema in dict.fromkeys(schemas):  # a schema shared by several event types is translated once
        spec.components.schema(names.get(schema) or resolver(schema), schema=schema)
    return spec.to_dict().get("components", {}).get("schemas", {})


def _components() -> dict[str, dict[str, Any]]:
    """The envelope (as ``Envelope``) and every payload schema of the catalogue, nested ones included."""
    payloads = [event_type.schema for event_type in CATALOGUE.values()]
    return translate(*payloads, EnvelopeSchema, names={EnvelopeSchema: "Envelope"})


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            yield ref.rsplit("/", 1)[1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _closure(components: dict[str, Any], root: Any) -> list[str]:
    """Names of the components ``root`` refers to, directly or not."""
    seen: list[str] = []
    pending = list(_refs(root))
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.append(name)
            pending.extend(_refs(components[name]))
    return sorted(seen)


def _rewrite(node: Any, fn: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    if isinstance(node, dict):
        return fn({key: _rewrite(value, fn) for key, value in node.items()})
    if isinstance(node, list):
        return [_rewrite(value, fn) for value in node]
    return node


def _to_defs(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        return {**node, "$ref": "#/$defs/" + ref.rsplit("/", 1)[1]}
    return node


def _to_draft7(node: dict[str, Any]) -> dict[str, Any]:
    """AsyncAPI 2.6 schemas are a superset of draft-07, which spells dependentRequired as dependencies."""
    if "dependentRequired" not in node:
        return node
    return {("dependencies" if key == "dependentRequired" else key): value for key, value in node.items()}


def _payload_name(event_type: str) -> str:
    return resolver(CATALOGUE[event_type].schema)


def _event_schema(components: dict[str, Any], event_type: str) -> dict[str, Any]:
    """The envelope with ``event_type`` fixed and ``payload`` narrowed to the type's payload schema."""
    envelope = copy.deepcopy(components["Envelope"])
    properties = envelope.get("properties", {})
    if "payload" not in properties or event_type not in properties.get("event_type", {}).get("enum", ()):
        raise ContractError(
            f"EnvelopeSchema no longer has the payload / event_type the contract narrows ({event_type})"
        )
    properties["event_type"] = {"type": "string", "const": event_type}
    properties["payload"] = _ref(_payload_name(event_type))
    return envelope


def _description(event_type: str) -> str:
    entry = CATALOGUE[event_type]
    return (
        f"{entry.description} The business time of the step is payload.{entry.time_field}. "
        f"Routing key `{event_type}` on the topic exchange `{ONEDOOR_EXCHANGE}`. {DATE_TIME_RULE} "
        "Unknown fields are rejected at every level."
    )


def example(event_type: str) -> dict[str, Any]:
    """The published example message of ``event_type``: a whole envelope, as JSON."""
    if event_type not in _EXAMPLES:
        raise ContractError(f"{event_type}: no example message; add one to shared.contract._EXAMPLES")
    occurred_at, payload = _EXAMPLES[event_type]
    event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"urn:cchc:contract-example:{event_type}")
    return make_envelope(event_type, payload, occurred_at=occurred_at, source=EXAMPLE_SOURCE, event_id=event_id)


def json_schema(event_type: str, components: dict[str, Any] | None = None) -> dict[str, Any]:
    """The standalone JSON Schema (draft 2020-12) of one event type's message."""
    components = components if components is not None else _components()
    body = _event_schema(components, event_type)
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$comment": GENERATED_BY,
        "title": f"{event_type} (schema_version {max(SUPPORTED_SCHEMA_VERSIONS)})",
        "description": _description(event_type),
        **_rewrite(body, _to_defs),
        "examples": [example(event_type)],
        "$defs": {name: _rewrite(components[name], _to_defs) for name in _closure(components, body)},
    }


def _camel(event_type: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[._]", event_type))


def asyncapi(components: dict[str, Any] | None = None) -> dict[str, Any]:
    """The AsyncAPI 2.6 document: the broker, one channel per routing key, one message per event type."""
    components = components if components is not None else _components()
    exchange = {"name": ONEDOOR_EXCHANGE, "type": "topic", "durable": True, "autoDelete": False}
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for event_type in sorted(CATALOGUE):
        body = _event_schema(components, event_type)
        name = f"{_camel(event_type)}Event"  # the payload schema already goes by the bare name
        schemas[name] = _rewrite(body, _to_draft7)
        for ref_name in _closure(components, body):
            schemas[ref_name] = _rewrite(components[ref_name], _to_draft7)
        messages[event_type] = {
            "name": event_type,
            "title": event_type,
            "summary": CATALOGUE[event_type].description,
            "description": _description(event_type) + f" JSON Schema: `{event_type}{SCHEMA_SUFFIX}`.",
            "contentType": "application/json",
            "payload": _ref(name),
            "examples": [
                {"name": event_type, "summary": CATALOGUE[event_type].description, "payload": example(event_type)}
            ],
        }
        channels[event_type] = {
            "description": f"Routing key `{event_type}` on the durable topic exchange `{ONEDOOR_EXCHANGE}`.",
            "bindings": {"amqp": {"is": "routingKey", "exchange": exchange, "bindingVersion": AMQP_BINDING_VERSION}},
            # AsyncAPI 2.x: "publish" = what other applications send to this one, here the one-door systems.
            "publish": {
                "operationId": f"publish{_camel(event_type)}",
                "summary": CATALOGUE[event_type].description,
                "bindings": {"amqp": {"deliveryMode": 2, "bindingVersion": AMQP_BINDING_VERSION}},
                "message": {"$ref": f"#/components/messages/{event_type}"},
            },
        }
    versions = ", ".join(str(v) for v in SUPPORTED_SCHEMA_VERSIONS)
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:cchc:onedoor-events",
        "info": {
            "title": "CCHC one-door events",
            "version": str(max(SUPPORTED_SCHEMA_VERSIONS)),
            "description": (
                f"What a one-door (một cửa) system publishes to CCHC. {GENERATED_BY}\n\n"
                f"Publish each event to the durable topic exchange `{ONEDOOR_EXCHANGE}` with routing key = "
                "`event_type`, as one UTF-8 JSON object (content type application/json), persistent "
                "(delivery mode 2), with publisher confirms. Every message is an envelope (`event_id`, `event_type`, "
                f"`occurred_at`, `source`, `schema_version` in {{{versions}}}, `payload`); the payload depends on "
                f"the event type.\n\n{DATE_TIME_RULE} Unknown fields are rejected at every level. A message that "
                "fails validation is moved to a dead-letter queue with the field and the reason, and is never "
                "retried as it is. Events may arrive more than once and in any order: `event_id` makes a "
                "redelivery harmless, so resend with the same `event_id` when in doubt."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "rabbitmq": {
                "url": "{host}:{port}",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "The province's RabbitMQ broker; the operator gives each vendor a host, user and vhost.",
                "variables": {"host": {"default": "localhost"}, "port": {"default": "5672"}},
                "security": [{"userPassword": []}],
            }
        },
        "channels": channels,
        "components": {
            "messages": messages,
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {"userPassword": {"type": "userPassword"}},
        },
    }


# --- files -----------------------------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """No anchors for repeated objects; paragraphs as literal blocks, for a file people read and diff."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


# Strings a YAML 1.2 reader (js-yaml, the AsyncAPI tools) would take for numbers: PyYAML, a YAML 1.1 writer, leaves
# some unquoted (unit code 07900 would arrive as the integer 7900).
_NUMBER_LIKE = re.compile(r"[-+]?(\.?[0-9][0-9_.]*([eE][-+]?[0-9]+)?|0[xXoO][0-9a-fA-F_]+|\.(inf|Inf|INF|nan|NaN|NAN))")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else "'" if _NUMBER_LIKE.fullmatch(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def to_yaml(document: dict[str, Any]) -> str:
    """A contract document as the YAML we publish (no anchors, paragraphs as blocks, number-like strings quoted)."""
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1_000_000)


def render_contract() -> dict[str, str]:
    """Every contract file's name and exact text."""
    components = _components()
    files = {
        f"{event_type}{SCHEMA_SUFFIX}": json.dumps(json_schema(event_type, components), indent=2, ensure_ascii=False)
        + "\n"
        for event_type in sorted(CATALOGUE)
    }
    files[ASYNCAPI_FILE] = f"# {GENERATED_BY}\n{to_yaml(asyncapi(components))}"
    return files


def _obsolete(out_dir: Path, expected: Iterable[str]) -> list[Path]:
    """Schema files left behind by event types that no longer exist."""
    return sorted(path for path in out_dir.glob(f"*{SCHEMA_SUFFIX}") if path.name not in set(expected))


def write_contract(out_dir: Path) -> list[Path]:
    """Write the contract into ``out_dir`` (removing schemas of retired event types); return the files written."""
    files = render_contract()
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in _obsolete(out_dir, files):
        path.unlink()
    written = []
    for name, text in files.items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


def stale_contract_files(out_dir: Path) -> list[str]:
    """Names of files in ``out_dir`` that differ from what the schemas generate (missing, changed or obsolete)."""
    files = render_contract()
    stale = [
        name
        for name, text in files.items()
        if not (out_dir / name).is_file() or (out_dir / name).read_text(encoding="utf-8") != text
    ]
    return stale + [path.name for path in _obsolete(out_dir, files)]


def contract_is_current(out_dir: Path) -> bool:
    """Whether ``out_dir`` holds exactly the contract the schemas generate today."""
    return not stale_contract_files(out_dir)

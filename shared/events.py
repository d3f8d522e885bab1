"""The event envelope and the catalogue of inbound one-door events.

This module is the contract with one-door vendors: the same marshmallow schemas validate every message at
the edge and generate the published JSON Schema / AsyncAPI document (``cchc contract``), so the two can
never drift apart. A message that fails here is dead-lettered with the field and the reason.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from shared.schema_fastpath import Defer, compile_loader

ONEDOOR_EXCHANGE = "onedoor.events"
SUPPORTED_SCHEMA_VERSIONS = (1,)


class InvalidEvent(ValueError):
    """A message that can never be processed; ``field`` names where it is wrong (dotted path)."""

    def __init__(self, field_path: str, reason: str) -> None:
        super().__init__(f"{field_path}: {reason}")
        self.field = field_path
        self.reason = reason


class AwareDateTime(fields.AwareDateTime):
    """ISO 8601 timestamp that must carry its UTC offset: a naive time is ambiguous across time zones."""

    default_error_messages = {  # noqa: RUF012 - marshmallow merges this class attribute
        "invalid": "Not a valid ISO 8601 datetime.",
        "invalid_awareness": "Must include a UTC offset (e.g. 2025-01-24T15:00:00+07:00).",
    }


def _code(description: str, max_length: int = 64) -> fields.String:
    return fields.String(
        required=True,
        metadata={"description": description},
        validate=[
            validate.Length(min=1, max=max_length),
            validate.Regexp(r"^\S(.*\S)?$", error="Must not be blank or padded."),
        ],
    )


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class ApplicantSchema(StrictSchema):
    """Chủ hồ sơ: personal data, kept only where a notification needs it."""

    name = fields.String(validate=validate.Length(min=1, max=300))
    kind = fields.String(
        validate=validate.OneOf(["citizen", "business"]),
        metadata={"description": "LoaiDoiTuong: 1 citizen, 2 business."},
    )
    email = fields.Email(validate=validate.Length(max=254))
    phone = fields.String(validate=validate.Regexp(r"^\+?[0-9 .-]{8,20}$", error="Not a valid phone number."))
    address = fields.String(validate=validate.Length(max=500))


class DossierReceived(StrictSchema):
    dossier_code = _code("MaHoSo: the dossier code in the one-door system.")
    procedure_code = _code("MaTTHC: national procedure code, e.g. 1.001193.H44.")
    unit_code = _code("DonViXuLy: handling unit code (commune ward code, department or legacy district code).")
    received_at = AwareDateTime(required=True, metadata={"description": "NgayTiepNhan: when the dossier was received."})
    due_at = AwareDateTime(
        metadata={
            "description": "NgayHenTra: the due date the one-door system computed (kept; differences are flagged)."
        }
    )
    processing_time = fields.Decimal(validate=validate.Range(min=0, min_inclusive=False), as_string=True)
    processing_time_unit = fields.String(
        validate=validate.OneOf(["working_days", "calendar_days", "working_hours", "none"])
    )
    channel = fields.String(
        validate=validate.OneOf(["in_person", "online", "post"]),
        metadata={"description": "KenhThucHien: 1 in person, 2 online, 3 by post."},
    )
    field_code = fields.String(validate=validate.Length(max=64), metadata={"description": "MaLinhVuc: field code."})
    applicant = fields.Nested(ApplicantSchema)

    @validates_schema
    def _time_needs_unit(self, data: dict[str, Any], **_: Any) -> None:
        if "processing_time" in data and "processing_time_unit" not in data:
            raise ValidationError("Required when processing_time is given.", "processing_time_unit")


class DossierSupplementRequested(StrictSchema):
    dossier_code = _code("MaHoSo: the dossier code, as in its dossier.received.")
    requested_at = AwareDateTime(required=True)
    reason = fields.String(validate=validate.Length(max=2000))


class DossierSupplementReceived(StrictSchema):
    dossier_code = _code("MaHoSo: the dossier code, as in its dossier.received.")
    supplied_at = AwareDateTime(required=True)


class DossierResolved(StrictSchema):
    dossier_code = _code("MaHoSo: the dossier code, as in its dossier.received.")
    resolved_at = AwareDateTime(required=True, metadata={"description": "NgayKetThucXuLy: processing finished."})


class DossierReturned(StrictSchema):
    dossier_code = _code("MaHoSo: the dossier code, as in its dossier.received.")
    returned_at = AwareDateTime(required=True, metadata={"description": "NgayTra: result returned to the applicant."})


class DossierWithdrawn(StrictSchema):
    dossier_code = _code("MaHoSo: the dossier code, as in its dossier.received.")
    withdrawn_at = AwareDateTime(required=True)
    reason = fields.String(validate=validate.Length(max=2000))


class DossierRejected(StrictSchema):
    dossier_code = _code("MaHoSo: the dossier code, as in its dossier.received.")
    rejected_at = AwareDateTime(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class DossierLate(StrictSchema):
    dossier_code = _code("MaHoSo: the dossier code, as in its dossier.received.")
    detected_at = AwareDateTime(required=True)
    reason = fields.String(validate=validate.Length(max=2000))
    new_due_at = AwareDateTime(metadata={"description": "The new return date promised in the apology letter."})


@dataclass(frozen=True)
class EventType:
    name: str
    schema: type[Schema]
    time_field: str
    description: str


# The catalogue: routing key = event type. ``time_field`` is the business time that orders a dossier's events.
CATALOGUE: dict[str, EventType] = {
    e.name: e
    for e in (
        EventType("dossier.received", DossierReceived, "received_at", "Tiếp nhận hồ sơ: the clock starts."),
        EventType(
            "dossier.supplement_requested",
            DossierSupplementRequested,
            "requested_at",
            "Yêu cầu bổ sung hồ sơ: the clock pauses.",
        ),
        EventType(
            "dossier.supplement_received",
            DossierSupplementReceived,
            "supplied_at",
            "Nhận hồ sơ bổ sung đầy đủ: the clock resumes (or restarts, by policy).",
        ),
        EventType("dossier.resolved", DossierResolved, "resolved_at", "Kết thúc xử lý (trạng thái 9)."),
        EventType("dossier.returned", DossierReturned, "returned_at", "Trả kết quả (trạng thái 10)."),
        EventType("dossier.withdrawn", DossierWithdrawn, "withdrawn_at", "Công dân rút hồ sơ (trạng thái 7)."),
        EventType(
            "dossier.rejected",
            DossierRejected,
            "rejected_at",
            "Không tiếp nhận / trả lại hồ sơ (trạng thái 3 hoặc 8).",
        ),
        EventType("dossier.late", DossierLate, "detected_at", "Hồ sơ quá hạn, optionally with a new return date."),
    )
}


class EnvelopeSchema(StrictSchema):
    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True, validate=validate.OneOf(sorted(CATALOGUE)))
    occurred_at = AwareDateTime(required=True)
    source = fields.String(required=True, validate=validate.Length(min=1, max=200))
    schema_version = fields.Integer(required=True, strict=True, validate=validate.OneOf(SUPPORTED_SCHEMA_VERSIONS))
    payload = fields.Dict(required=True)


@dataclass(frozen=True)
class Event:
    """A validated inbound event; ``payload`` holds deserialised values (aware datetimes, Decimals)."""

    event_id: uuid.UUID
    event_type: str
    occurred_at: datetime
    source: str
    schema_version: int
    payload: dict[str, Any]
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def time(self) -> datetime:
        """The business time of the step (received_at, resolved_at, …)."""
        return self.payload[CATALOGUE[self.event_type].time_field]

    @property
    def dossier_code(self) -> str:
        return self.payload["dossier_code"]


def first_error(messages: Any, prefix: str = "") -> tuple[str, str]:
    """Flatten marshmallow's nested error dict into the first (dotted field, reason)."""
    if isinstance(messages, dict):
        key = sorted(messages, key=str)[0]
        path = f"{prefix}.{key}" if prefix else str(key)
        return first_error(messages[key], path)
    if isinstance(messages, list) and messages:
        return first_error(messages[0], prefix)
    return prefix or "_schema", str(messages)


@cache
def _schema(schema_class: type[Schema]) -> Schema:
    """One reusable instance per schema class: building one deep-copies every declared field (~85 µs)."""
    return schema_class()


@cache
def _loader(schema_class: type[Schema]) -> Callable[[Any], dict[str, Any]]:
    """The schema's load: the compiled fast path first, marshmallow itself when that is not sure (the verdict
    and the error message of a refused message always come from marshmallow)."""
    schema = _schema(schema_class)
    fast = compile_loader(schema)
    if fast is None:
        return schema.load

    def load(data: Any) -> dict[str, Any]:
        try:
            return fast(data)
        except Defer:
            return schema.load(data)

    return load


def parse_event(body: bytes | str | dict[str, Any], *, max_bytes: int | None = None) -> Event:
    """Decode and validate one message; raise :class:`InvalidEvent` naming the first bad field."""
    if isinstance(body, bytes | str):
        size = len(body) if isinstance(body, bytes) else len(body.encode("utf-8", "surrogatepass"))
        if max_bytes is not None and size > max_bytes:
            raise InvalidEvent("_body", f"message of {size} bytes exceeds the {max_bytes}-byte limit")
        try:
            raw = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidEvent("_body", f"not valid UTF-8 JSON ({exc})") from exc
        except RecursionError as exc:  # a few kB of "[[[[…": must be refused, not crash the consumer
            raise InvalidEvent("_body", "JSON nested too deeply") from exc
        except ValueError as exc:  # e.g. an integer beyond Python's digit limit for int conversion
            raise InvalidEvent("_body", f"not acceptable JSON ({exc})") from exc
    else:
        raw = body
    if not isinstance(raw, dict):
        raise InvalidEvent("_body", "must be a JSON object")
    try:
        envelope = _loader(EnvelopeSchema)(raw)
    except ValidationError as exc:
        raise InvalidEvent(*first_error(exc.messages)) from exc
    event_type = CATALOGUE[envelope["event_type"]]
    try:
        payload = _loader(event_type.schema)(envelope["payload"])
    except ValidationError as exc:
        raise InvalidEvent(*first_error(exc.messages, "payload")) from exc
    return Event(
        event_id=envelope["event_id"],
        event_type=envelope["event_type"],
        occurred_at=envelope["occurred_at"],
        source=envelope["source"],
        schema_version=envelope["schema_version"],
        payload=payload,
        raw=raw,
    )


def make_envelope(
    event_type: str,
    payload: dict[str, Any],
    *,
    occurred_at: datetime,
    source: str = "cchc",
    event_id: uuid.UUID | str | None = None,
) -> dict[str, Any]:
    """Build a JSON-ready envelope (what a one-door system sends); datetimes become ISO 8601 strings."""

    def _jsonable(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: _jsonable(v) for k, v in value.items()}
        return str(value) if not isinstance(value, str | int | float | bool | type(None)) else value

    return {
        "event_id": str(event_id or uuid.uuid4()),
        "event_type": event_type,
        "occurred_at": occurred_at.isoformat(),
        "source": source,
        "schema_version": 1,
        "payload": _jsonable(payload),
    }

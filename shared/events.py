"""The event envelope and the catalogue of inbound one-door events.

This module is the contract with one-door vendors: the same marshmallow schemas validate every message at
the edge and generate the published JSON Schema / AsyncAPI document (``cchc contract``), so the two can
never drift apart. A message that fails here is dead-lettered with the field and the reason.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from shared.schema_fastpath import Defer, compile_loader

ONEDOOR_EXCHANGE = "onedoor.events"
# Version 2 adds the Decision 766 facts (VERSION_2 below); a version-1 message stays valid and means what it meant.
SUPPORTED_SCHEMA_VERSIONS = (1, 2)


class InvalidEvent(ValueError):
    """A message that can never be processed; ``field`` names where it is wrong (dotted path)."""

    def __init__(self, field_path: str, reason: str) -> None:
        super().__init__(f"{field_path}: {reason}")
        self.field = field_path
        self.reason = reason


# Plausible instants: the one-door mechanism dates from 2003, and no deadline runs into the next century. A year
# outside (1, 1850, 9999, a swapped field) is a vendor's bug and would poison every period it lands in. The year is
# read as written (in the value's own offset), so the contract's pattern (20YY) says exactly the same.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2099


class PlausibleInstant(validate.Validator):
    """Refuses an instant whose year (as written) lies outside EARLIEST_YEAR..LATEST_YEAR."""

    error = f"Not a plausible date: the year must be from {EARLIEST_YEAR} to {LATEST_YEAR}."

    def __call__(self, value: datetime) -> datetime:
        if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
            raise ValidationError(self.error)
        return value


PLAUSIBLE_INSTANT = PlausibleInstant()


class AwareDateTime(fields.AwareDateTime):
    """ISO 8601 timestamp that must carry its UTC offset (a naive time is ambiguous across time zones), in a
    plausible year."""

    default_error_messages = {  # noqa: RUF012 - marshmallow merges this class attribute
        "invalid": "Not a valid ISO 8601 datetime.",
        "invalid_awareness": "Must include a UTC offset (e.g. 2025-01-24T15:00:00+07:00).",
    }

    def __init__(self, **kwargs: Any) -> None:
        given = kwargs.pop("validate", None)
        extra = [] if given is None else list(given) if isinstance(given, list | tuple) else [given]
        super().__init__(validate=[PLAUSIBLE_INSTANT, *extra], **kwargs)


# Characters no code or source may hold: C0/C1 controls and DEL, the soft hyphen, bidirectional marks, embeddings,
# overrides and isolates, zero-width characters, line/paragraph separators, the BOM and interlinear annotations.
# In a code they make two codes look the same, reverse what a report shows, or break a terminal or PostgreSQL (NUL).
# Written as a character class so the contract's JSON Schema pattern says exactly the same (ECMA-262 escapes).
_UNPRINTABLE = (r"\x00-\x1f\x7f-\x9f\xad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f"
                r"\ufeff\ufff9-\ufffb")
PRINTABLE_ERROR = "Must not be blank or padded, nor contain control, format or bidirectional characters."


def printable() -> validate.Regexp:
    """Printable text, not blank or padded (at the ends: no whitespace)."""
    return validate.Regexp(rf"^[^\s{_UNPRINTABLE}](?:[^{_UNPRINTABLE}]*[^\s{_UNPRINTABLE}])?$",
                           error=PRINTABLE_ERROR)


def _code(description: str, max_length: int = 64, *, required: bool = True) -> fields.String:
    return fields.String(
        required=required,
        metadata={"description": description},
        validate=[
            validate.Length(min=1, max=max_length),
            printable(),
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


# --- Decision 766 facts (schema_version 2) ---------------------------------------------------------------------
# Each field names the national sync field (DVCQG "Hệ thống điều phối") it maps to; 766-INDEX.md §5 lists them.


class DossierComponent(StrictSchema):
    """TaiLieuNop: one component (thành phần hồ sơ) of the dossier and how it was supplied."""

    component_code = _code("MaThanhPhanHoSo: the component's code in the procedure.")
    digitised = fields.Boolean(
        metadata={"description": "DuocSoHoa (a file in DuongDanTaiTepTin): the component was digitised, at reception, "
                                 "by post or online."})
    reused = fields.Boolean(
        metadata={"description": "DuocTaiSuDung: the component re-uses data digitised before instead of paper."})
    from_national_store = fields.Boolean(
        metadata={"description": "DuocLayTuKhoDMQG: taken from the applicant's data store on the national portal."})
    replacing_result_code = _code(
        "MaKetQuaThayThe: code of an earlier result (an electronic document) that replaces this component.",
        required=False)


class FeeLine(StrictSchema):
    """DanhSachLePhi: one fee line of the dossier."""

    fee_code = _code("MaPhiLePhi: the fee's code.", required=False)
    kind = fields.String(validate=validate.OneOf(["fee", "charge"]),
                         metadata={"description": "LoaiPhiLePhi: fee (phí) or charge (lệ phí)."})
    amount = fields.Decimal(
        required=True, as_string=True, validate=validate.Range(min=0),
        metadata={"description": "Gia: the amount in VND, as a decimal string; \"0\" = exempt (miễn phí)."})


def _payment_channel() -> fields.String:
    return fields.String(
        required=True, validate=validate.OneOf(["national_platform", "provincial_gateway"]),
        metadata={"description": "DuocThanhToanTrucTuyen: 1 the national payment platform (national_platform), "
                                 "2 the province's payment gateway (provincial_gateway)."})


class OnlinePayment(StrictSchema):
    """A successful online payment of the dossier's fees at submission (766: 3.6); a payment made later is a
    dossier.paid event."""

    channel = _payment_channel()
    paid_at = AwareDateTime(required=True, metadata={
        "description": "When the payment succeeded (no national sync field confirmed for it)."})


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
    field_code = fields.String(validate=[validate.Length(max=64), printable()],
                               metadata={"description": "MaLinhVuc: field code."})
    applicant = fields.Nested(ApplicantSchema)
    # schema_version 2: Decision 766 facts.
    components = fields.List(
        fields.Nested(DossierComponent), validate=validate.Length(max=200),
        metadata={"description": "TaiLieuNop: the dossier's components and their digitisation flags (766: 4.2-4.5)."})
    has_digitised_components = fields.Boolean(
        metadata={"description": "HoSoCoThanhPhanSoHoa: some component is digitised (must agree with components)."})
    fees = fields.List(
        fields.Nested(FeeLine), validate=validate.Length(max=50),
        metadata={"description": "DanhSachLePhi: the fee lines; every amount 0 = exempt (766: group 6)."})
    payment = fields.Nested(OnlinePayment)  # described by OnlinePayment: a $ref takes no sibling in AsyncAPI 2
    vneid_verified = fields.Boolean(metadata={
        "description": "TaiKhoanDuocXacThucVoiVNeID: the applicant signed in with a VNeID-verified account "
                       "(766: 4.5)."})
    population_data_used = fields.Boolean(metadata={
        "description": "DSKetNoiCSDL[].MaCSDL: the national population database was queried for the dossier "
                       "(766: 4.5)."})

    @validates_schema
    def _time_needs_unit(self, data: dict[str, Any], **_: Any) -> None:
        if "processing_time" in data and "processing_time_unit" not in data:
            raise ValidationError("Required when processing_time is given.", "processing_time_unit")

    @validates_schema
    def _facts_agree(self, data: dict[str, Any], **_: Any) -> None:
        """Contradictory Decision 766 facts are refused: each would put the dossier on both sides of an indicator."""
        fees, payment = data.get("fees"), data.get("payment")
        if payment is not None and fees is not None and not any(line["amount"] > 0 for line in fees):
            raise ValidationError("Paid online, but every fee line is exempt (amount 0) or there is none.", "payment")
        flag, components = data.get("has_digitised_components"), data.get("components")
        if flag is not None and components is not None:
            digitised = any(c.get("digitised") for c in components)
            if flag and not digitised:
                raise ValidationError("Says some component is digitised, but no component in components is.",
                                      "has_digitised_components")
            if not flag and digitised:
                raise ValidationError("Says no component is digitised, but a component in components is.",
                                      "has_digitised_components")


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


class DossierPaid(StrictSchema):
    dossier_code = _code("MaHoSo: the dossier code, as in its dossier.received.")
    paid_at = AwareDateTime(required=True, metadata={"description": "When the online payment succeeded."})
    channel = _payment_channel()


class DossierResultIssued(StrictSchema):
    dossier_code = _code("MaHoSo: the dossier code, as in its dossier.received.")
    issued_at = AwareDateTime(required=True, metadata={"description": "When the electronic result was issued."})
    result_code = _code("DanhSachGiayToKetQua[].MaGiayToKetQua: the result document's code.")
    file_url = fields.String(
        required=True, validate=[validate.Length(max=2000), validate.Regexp(r"^https?://\S+$",
                                                                            error="Must be an http(s) link.")],
        metadata={"description": "DanhSachGiayToKetQua[].DuongDanTepTinKetQua: link to the signed result file."})
    pushed_to_personal_store = fields.Boolean(metadata={
        "description": "The result was pushed to the applicant's data store on the national portal (766: 4.4)."})


class DossierRated(StrictSchema):
    dossier_code = _code("MaHoSo: the dossier code, as in its dossier.received.")
    rated_at = AwareDateTime(required=True)
    rating = fields.String(
        required=True, validate=validate.OneOf(["very_satisfied", "satisfied", "neutral", "dissatisfied"]),
        metadata={"description": "The applicant's satisfaction (đánh giá mức độ hài lòng) on the portal or the desk's "
                                 "rating device; dissatisfied counts against 766's indicator 5.4."})


class DossierSynced(StrictSchema):
    dossier_code = _code("MaHoSo: the dossier code, as in its dossier.received.")
    synced_at = AwareDateTime(required=True, metadata={
        "description": "When the national portal (Hệ thống điều phối) acknowledged the dossier (766: 1.4)."})
    status_code = fields.Integer(strict=True, validate=validate.Range(min=1, max=10), metadata={
        "description": "TrangThaiHoSo: the status the acknowledgement was for (1-10)."})


class PetitionReceived(StrictSchema):
    petition_code = _code("The petition's code (phản ánh, kiến nghị) in the petition system.")
    unit_code = _code("The unit the petition was sent to (as in dossier.received).")
    received_at = AwareDateTime(required=True, metadata={"description": "When the petition was sent to the unit."})
    transferred_at = AwareDateTime(metadata={
        "description": "The latest transfer (by VPCP or another agency): the deadlines count from it."})
    due_at = AwareDateTime(metadata={
        "description": "The handling deadline the petition system set; default 15 working days from sending."})
    category = fields.String(validate=validate.OneOf(["procedure", "staff", "other"]), metadata={
        "description": "About regulations or procedures (procedure), officials' behaviour (staff), or other."})
    dossier_code = _code("MaHoSo of the dossier the petition is about.", required=False)
    repeat_of = _code("The earlier petition this one repeats.", required=False)


class PetitionAnswered(StrictSchema):
    petition_code = _code("The petition's code, as in its petition.received.")
    answered_at = AwareDateTime(required=True, metadata={
        "description": "When it was handled (chờ công khai / đã công khai) or refused."})
    outcome = fields.String(required=True, validate=validate.OneOf(["handled", "rejected"]), metadata={
        "description": "handled (đã xử lý) or rejected (từ chối tiếp nhận: deadline 2 working days)."})


class PetitionRated(StrictSchema):
    petition_code = _code("The petition's code, as in its petition.received.")
    rated_at = AwareDateTime(required=True, metadata={"description": "When these counts were read."})
    likes = fields.Integer(required=True, strict=True, validate=validate.Range(min=0),
                           metadata={"description": "Citizens who liked the answer on the portal, so far."})
    dislikes = fields.Integer(required=True, strict=True, validate=validate.Range(min=0),
                              metadata={"description": "Citizens who disliked the answer on the portal, so far."})


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
        EventType("dossier.paid", DossierPaid, "paid_at",
                  "Thanh toán trực tuyến phí, lệ phí: paid online after submission (schema_version 2)."),
        EventType("dossier.result_issued", DossierResultIssued, "issued_at",
                  "Cấp kết quả giải quyết TTHC điện tử: an electronic result with its file (schema_version 2)."),
        EventType("dossier.rated", DossierRated, "rated_at",
                  "Đánh giá mức độ hài lòng: the applicant's rating of the dossier's handling (schema_version 2)."),
        EventType("dossier.synced", DossierSynced, "synced_at",
                  "Cổng DVCQG xác nhận đồng bộ: the national portal acknowledged the dossier (schema_version 2)."),
        EventType("petition.received", PetitionReceived, "received_at",
                  "Tiếp nhận phản ánh, kiến nghị: a petition sent to a unit (schema_version 2)."),
        EventType("petition.answered", PetitionAnswered, "answered_at",
                  "Trả lời phản ánh, kiến nghị: handled or refused (schema_version 2)."),
        EventType("petition.rated", PetitionRated, "rated_at",
                  "Đánh giá trả lời phản ánh, kiến nghị: citizens' likes and dislikes (schema_version 2)."),
    )
}
# What schema_version 2 added: whole event types, and optional fields of dossier.received.
VERSION_2_TYPES = frozenset(name for name in CATALOGUE if name.startswith("petition.")) | {
    "dossier.paid", "dossier.result_issued", "dossier.rated", "dossier.synced"}
VERSION_2_RECEIPT_FIELDS = frozenset(
    {"components", "has_digitised_components", "fees", "payment", "vneid_verified", "population_data_used"})
PETITION_EVENTS = frozenset(name for name in CATALOGUE if name.startswith("petition."))


def schema_version_for(event_type: str, payload: dict[str, Any]) -> int:
    """The lowest schema_version that has everything ``payload`` uses (1 unless it carries version-2 facts)."""
    if event_type in VERSION_2_TYPES:
        return 2
    return 2 if event_type == "dossier.received" and VERSION_2_RECEIPT_FIELDS & payload.keys() else 1


class EnvelopeSchema(StrictSchema):
    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True, validate=validate.OneOf(sorted(CATALOGUE)))
    occurred_at = AwareDateTime(required=True)
    source = fields.String(required=True, validate=[validate.Length(min=1, max=200), printable()])
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
    # The message's bytes as received (a dead letter written later keeps them byte for byte), and whether it came
    # back through `cchc dlq replay` (a replayed event still refused is dead-lettered again, never swallowed).
    body: bytes | None = field(repr=False, compare=False, default=None)
    replayed: bool = field(repr=False, compare=False, default=False)

    @property
    def time(self) -> datetime:
        """The business time of the step (received_at, resolved_at, …)."""
        return self.payload[CATALOGUE[self.event_type].time_field]

    @property
    def dossier_code(self) -> str:
        return self.payload["dossier_code"]

    @property
    def subject_code(self) -> str:
        """The dossier's code, or the petition's for a petition event (which may also name a dossier)."""
        return self.payload["petition_code" if self.event_type in PETITION_EVENTS else "dossier_code"]


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


_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def _refuse_lone_surrogates(value: Any, path: str) -> None:
    """A JSON escape of half a character ("\\ud800" alone) decodes to a string no database or UTF-8 encoder takes;
    only looked for when the text has such an escape (an escaped pair is one character and passes)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidEvent(path or "_body", "contains a lone surrogate escape (half a character)") from exc
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_lone_surrogates(key, path or "_body")
            _refuse_lone_surrogates(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for item in value:
            _refuse_lone_surrogates(item, path)


def parse_event(body: bytes | str | dict[str, Any], *, max_bytes: int | None = None) -> Event:
    """Decode and validate one message; raise :class:`InvalidEvent` naming the first bad field."""
    data: bytes | None = None
    if isinstance(body, bytes | str):
        size = len(body) if isinstance(body, bytes) else len(body.encode("utf-8", "surrogatepass"))
        if max_bytes is not None and size > max_bytes:
            raise InvalidEvent("_body", f"message of {size} bytes exceeds the {max_bytes}-byte limit")
        try:
            # UTF-8 and nothing else: json.loads would guess UTF-16 or UTF-32 from bytes, and the contract says UTF-8.
            data = body if isinstance(body, bytes) else body.encode("utf-8")  # a str with a lone surrogate fails
            text = data.decode("utf-8")
            raw = json.loads(text)
        except (UnicodeError, json.JSONDecodeError) as exc:
            raise InvalidEvent("_body", f"not valid UTF-8 JSON ({exc})") from exc
        except RecursionError as exc:  # a few kB of "[[[[…": must be refused, not crash the consumer
            raise InvalidEvent("_body", "JSON nested too deeply") from exc
        except ValueError as exc:  # e.g. an integer beyond Python's digit limit for int conversion
            raise InvalidEvent("_body", f"not acceptable JSON ({exc})") from exc
        if _ESCAPED_SURROGATE.search(text):
            _refuse_lone_surrogates(raw, "")
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
        body=data if isinstance(body, bytes | str) else None,
    )


def make_envelope(
    event_type: str,
    payload: dict[str, Any],
    *,
    occurred_at: datetime,
    source: str = "cchc",
    event_id: uuid.UUID | str | None = None,
    schema_version: int | None = None,
) -> dict[str, Any]:
    """Build a JSON-ready envelope (what a one-door system sends); datetimes become ISO 8601 strings. The schema
    version defaults to the lowest that has every field used (so version-1 messages stay byte for byte as they
    were)."""

    def _jsonable(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: _jsonable(v) for k, v in value.items()}
        if isinstance(value, list):
            return [_jsonable(v) for v in value]
        return str(value) if not isinstance(value, str | int | float | bool | type(None)) else value

    return {
        "event_id": str(event_id or uuid.uuid4()),
        "event_type": event_type,
        "occurred_at": occurred_at.isoformat(),
        "source": source,
        "schema_version": schema_version or schema_version_for(event_type, payload),
        "payload": _jsonable(payload),
    }

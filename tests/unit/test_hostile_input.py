"""Hostile input at every inbound schema: whatever arrives, validation either accepts it or refuses it with a
field and a reason (which the consumers dead-letter), and never raises anything else.

Covers the one-door envelope and its payloads, schema versions 1 and 2 (``shared.events.parse_event``, used by
the dossiers batch consumer), the size limit ``ingest.max_message_bytes``, and scoring's ``ScoreSubmitted`` /
``TimelinessUpdated`` event schemas. Inputs: random bytes and JSON, and valid examples mutated field by field
(wrong types, missing and extra keys, huge strings, decomposed (NFD) Vietnamese, naive and other-offset
timestamps, dates across Tết and year ends, very long names).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import unicodedata
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from services.scoring.service import ScoreSubmitted, TimelinessUpdated
from shared.batch_consumer import BatchEventHandler
from shared.config import load_config
from shared.events import CATALOGUE, Event, InvalidEvent, first_error, parse_event

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ICT = dt.timezone(dt.timedelta(hours=7))
LIMIT = int(load_config()["ingest"]["max_message_bytes"])

NAME = "Nguyễn Thị Hồng Nhung"
ADDRESS = "Số 12, đường Hùng Vương, phường Nông Trang, tỉnh Phú Thọ"
AT = "2026-02-13T15:30:00+07:00"  # the Friday before Tết Bính Ngọ

PAYLOADS: dict[str, dict[str, Any]] = {
    "dossier.received": {
        "dossier_code": "000.00.25.H44-260213-0001",
        "procedure_code": "1.001193.H44",
        "unit_code": "25",
        "received_at": AT,
        "due_at": "2026-02-27T15:30:00+07:00",
        "processing_time": "5",
        "processing_time_unit": "working_days",
        "channel": "online",
        "field_code": "Hộ tịch",
        "applicant": {"name": NAME, "kind": "citizen", "email": "nhung@example.vn", "phone": "0912 345 678",
                      "address": ADDRESS},
    },
    "dossier.supplement_requested": {"dossier_code": "D-1", "requested_at": AT, "reason": "Thiếu bản sao giấy tờ"},
    "dossier.supplement_received": {"dossier_code": "D-1", "supplied_at": AT},
    "dossier.resolved": {"dossier_code": "D-1", "resolved_at": AT},
    "dossier.returned": {"dossier_code": "D-1", "returned_at": AT},
    "dossier.withdrawn": {"dossier_code": "D-1", "withdrawn_at": AT, "reason": "Công dân rút hồ sơ"},
    "dossier.rejected": {"dossier_code": "D-1", "rejected_at": AT, "reason": "Không đủ điều kiện"},
    "dossier.late": {"dossier_code": "D-1", "detected_at": AT, "reason": "Cần xác minh",
                     "new_due_at": "2026-03-06T15:30:00+07:00"},
    # schema_version 2: Decision 766 facts
    "dossier.paid": {"dossier_code": "D-1", "paid_at": AT, "channel": "national_platform"},
    "dossier.result_issued": {"dossier_code": "D-1", "issued_at": AT, "result_code": "KQ-1",
                              "file_url": "https://motcua.phutho.gov.vn/kq/KQ-1.pdf", "pushed_to_personal_store": True},
    "dossier.rated": {"dossier_code": "D-1", "rated_at": AT, "rating": "dissatisfied"},
    "dossier.synced": {"dossier_code": "D-1", "synced_at": AT, "status_code": 4},
    "petition.received": {"petition_code": "PAKN-1", "unit_code": "07900", "received_at": AT,
                          "transferred_at": AT, "due_at": "2026-03-06T15:30:00+07:00", "category": "staff",
                          "dossier_code": "D-1", "repeat_of": "PAKN-0"},
    "petition.answered": {"petition_code": "PAKN-1", "answered_at": AT, "outcome": "handled"},
    "petition.rated": {"petition_code": "PAKN-1", "rated_at": AT, "likes": 2, "dislikes": 7},
}
# dossier.received with every version-2 field
PAYLOADS["dossier.received"] = {
    **PAYLOADS["dossier.received"],
    "components": [{"component_code": "TK", "digitised": True, "reused": False, "from_national_store": True,
                    "replacing_result_code": "KQ-0"}],
    "has_digitised_components": True,
    "fees": [{"fee_code": "LP", "kind": "charge", "amount": "50000"}],
    "payment": {"channel": "provincial_gateway", "paid_at": AT},
    "vneid_verified": True,
    "population_data_used": False,
}
assert set(PAYLOADS) == set(CATALOGUE)


def envelope(event_type: str) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "occurred_at": AT,
        "source": "motcua.phutho.gov.vn",
        "schema_version": 2,
        "payload": copy.deepcopy(PAYLOADS[event_type]),
    }


def outcome(body: Any) -> Event | InvalidEvent:
    """parse_event's verdict; any exception other than InvalidEvent fails the test by propagating."""
    try:
        event = parse_event(body, max_bytes=LIMIT)
    except InvalidEvent as exc:
        assert isinstance(exc.field, str) and exc.field, exc
        assert isinstance(exc.reason, str) and exc.reason.strip(), exc
        return exc
    assert isinstance(event, Event)
    assert event.occurred_at.utcoffset() is not None and event.time.utcoffset() is not None
    assert event.subject_code.strip() == event.subject_code != ""
    return event


def test_every_valid_example_is_accepted():
    for event_type in CATALOGUE:
        assert isinstance(outcome(json.dumps(envelope(event_type), ensure_ascii=False).encode()), Event)


# -- strategies --------------------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
vietnamese = st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợ"
                              "ùủũúụừửữứựỳỷỹýỵ ĐĂÂÊÔƠƯ", min_size=1, max_size=60)
nfd_vietnamese = vietnamese.map(lambda s: unicodedata.normalize("NFD", s))
huge_strings = st.integers(min_value=250, max_value=30_000).flatmap(
    lambda n: st.sampled_from(["x", "ệ", "\u0065\u0302\u0323", " ", "\x00"]).map(lambda c: c * n))

# Tết (Lunar New Year) holidays and year ends: 2025, 2026, 2027.
EDGE_DAYS = [dt.date(2025, 1, 25), dt.date(2025, 1, 29), dt.date(2025, 2, 2), dt.date(2026, 2, 14),
             dt.date(2026, 2, 17), dt.date(2026, 2, 22), dt.date(2027, 2, 6), dt.date(2027, 2, 10),
             dt.date(2025, 12, 31), dt.date(2026, 1, 1), dt.date(2026, 12, 31), dt.date(2027, 1, 1)]
offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
edge_moments = st.builds(
    lambda day, seconds: dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds),
    st.sampled_from(EDGE_DAYS), st.integers(min_value=-3600, max_value=86_400 + 3600),
)
timestamps = st.one_of(
    edge_moments.map(lambda m: m.isoformat()),  # naive
    st.tuples(edge_moments, offsets).map(lambda t: t[0].replace(tzinfo=t[1]).isoformat()),
    st.tuples(edge_moments, offsets).map(lambda t: t[0].replace(tzinfo=t[1]).isoformat().replace("+00:00", "Z")),
    st.sampled_from(["2026-02-30T08:00:00+07:00", "2026-13-01T08:00:00+07:00", "24:00", "", "2026-02-17",
                     "2026-02-17T08:00:00+25:00", "0000-01-01T00:00:00+07:00", "9999-12-31T23:59:59-12:00",
                     "2026-02-17 08:00:00+07", "２０２６-02-17T08:00:00+07:00", "1e9"]),
)
hostile_values = st.one_of(json_values, huge_strings, nfd_vietnamese, timestamps,
                           st.integers(min_value=10**18, max_value=10**40).map(str))


def paths(body: dict[str, Any]) -> list[tuple[str, ...]]:
    found = [(key,) for key in body]
    found += [("payload", key) for key in body["payload"]]
    if isinstance(body["payload"].get("applicant"), dict):
        found += [("payload", "applicant", key) for key in body["payload"]["applicant"]]
    return found


@st.composite
def mutated_envelopes(draw: st.DrawFn) -> dict[str, Any]:
    body = envelope(draw(st.sampled_from(sorted(CATALOGUE))))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        path = draw(st.sampled_from(paths(body)))
        parent = body
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["delete", "replace", "replace", "extra"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = draw(hostile_values)
        else:
            parent[draw(st.text(min_size=1, max_size=20))] = draw(json_values)
        if not isinstance(body.get("payload"), dict):
            break
    return body


# -- the one-door envelope and payloads ----------------------------------------------------------------------


@FAST
@given(st.binary(max_size=300))
def test_random_bytes_are_refused_with_a_reason(body):
    result = outcome(body)
    assert isinstance(result, InvalidEvent)


@FAST
@given(json_values)
def test_random_json_is_refused_with_a_reason(value):
    assert isinstance(outcome(json.dumps(value).encode()), InvalidEvent)


@FAST
@given(st.sampled_from(sorted(CATALOGUE)), json_values)
def test_random_payloads_are_accepted_or_refused_with_a_field(event_type, payload):
    body = envelope(event_type)
    body["payload"] = payload
    result = outcome(json.dumps(body).encode())
    if isinstance(result, InvalidEvent):
        assert result.field.startswith(("payload", "_body")), result


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_envelopes())
def test_mutated_envelopes_are_accepted_or_refused_with_a_field(body):
    result = outcome(json.dumps(body, ensure_ascii=False).encode())
    if isinstance(result, InvalidEvent):  # the field is an envelope field, something in the payload, or an extra key
        top = result.field.split(".")[0]
        assert top in {"_body", "_schema", "event_id", "event_type", "occurred_at", "source", "schema_version",
                       "payload"} or result.field in body, result


@FAST
@given(st.sampled_from(sorted(CATALOGUE)), edge_moments, st.one_of(st.none(), offsets))
def test_timestamps_across_tet_and_year_ends(event_type, moment, offset):
    """A naive time is refused naming its field; any offset is accepted and means the same instant."""
    body = envelope(event_type)
    field = CATALOGUE[event_type].time_field
    stamp = moment if offset is None else moment.replace(tzinfo=offset)
    body["payload"][field] = stamp.isoformat()
    result = outcome(json.dumps(body).encode())
    if offset is None:
        assert isinstance(result, InvalidEvent) and result.field == f"payload.{field}", result
        assert "offset" in result.reason
    else:
        assert isinstance(result, Event)
        assert result.time == stamp and result.time.utcoffset() == offset.utcoffset(None)


@FAST
@given(nfd_vietnamese, st.sampled_from(["NFC", "NFD"]))
def test_decomposed_vietnamese_text_is_kept_as_sent(text, form):
    text = unicodedata.normalize(form, text).strip() or "Ư"
    body = envelope("dossier.received")
    body["payload"]["applicant"]["name"] = text[:300]
    body["payload"]["applicant"]["address"] = text
    body["payload"]["field_code"] = text[:64]
    body["source"] = text[:200]
    result = outcome(json.dumps(body, ensure_ascii=False).encode())
    assert isinstance(result, Event)
    assert result.payload["applicant"]["address"] == text and result.raw["payload"]["applicant"]["address"] == text


@FAST
@given(st.integers(min_value=1, max_value=2000), st.sampled_from(["a", "ệ", "e\u0302\u0323"]))
def test_very_long_names(length, char):
    """Up to 300 characters a name is accepted; beyond, refused naming the field (counted in code points)."""
    body = envelope("dossier.received")
    name = (char * length)[:length * len(char)]
    body["payload"]["applicant"]["name"] = name
    result = outcome(json.dumps(body, ensure_ascii=False).encode())
    if len(name) <= 300:
        assert isinstance(result, Event)
    else:
        assert isinstance(result, InvalidEvent) and result.field == "payload.applicant.name", result


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 5000,  # deeper than the JSON decoder's recursion limit
        b'{"event_id": ' + b"[" * 3000 + b"]" * 3000 + b"}",
        b'{"schema_version": ' + b"7" * 5000 + b"}",  # beyond Python's int-conversion digit limit
        b'{"event_id": "\\ud800"}',  # a lone surrogate escape
        b"\xef\xbb\xbf{}",  # UTF-8 byte order mark
        b"",
        b"null",
    ],
)
def test_pathological_json_is_refused_not_raised(body):
    assert isinstance(outcome(body), InvalidEvent)


# -- the size limit -------------------------------------------------------------------------------------------


def test_size_limit_is_configured_and_documented():
    text = (Path(__file__).resolve().parents[2] / "shared" / "config.yaml").read_text(encoding="utf-8")
    assert "max_message_bytes:" in text and "dead-lettered unread" in text
    assert LIMIT == 65536


@FAST
@given(st.integers(min_value=1, max_value=40_000), st.sampled_from(["x", "ệ"]))
def test_oversized_messages_are_refused_with_the_limit(extra, char):
    body = envelope("dossier.withdrawn")
    body["payload"]["reason"] = ""
    base = len(json.dumps(body, ensure_ascii=False).encode())
    body["payload"]["reason"] = char * ((LIMIT - base) // len(char.encode()) + extra)
    text = json.dumps(body, ensure_ascii=False)
    size = len(text.encode())
    assume(size > LIMIT)
    for raw in (text.encode(), text):  # bytes from the broker, or text from a tool: the limit is in bytes
        result = outcome(raw)
        assert isinstance(result, InvalidEvent) and result.field == "_body", result
        assert f"{size} bytes exceeds the {LIMIT}-byte limit" in result.reason


class _Message:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.delivery_info = {"exchange": "onedoor.events", "routing_key": "dossier.resolved"}


def test_the_consumer_applies_the_configured_limit():
    """ingest.max_message_bytes reaches the batch consumer: too large is dead-lettered unread, with the reason."""
    handler = BatchEventHandler(["#"])
    handler.exchange_name = "onedoor.events"
    handler.max_bytes = 5000
    small = json.dumps(envelope("dossier.resolved")).encode()
    large_body = envelope("dossier.rejected")
    large_body["payload"]["reason"] = "ệ" * 1900  # 1,900 characters (valid: max 2,000), 5,700 bytes
    large = json.dumps(large_body, ensure_ascii=False).encode()
    batch = handler._prepare([_Message(small), _Message(large), _Message(b"[" * 3000)])
    assert [event.event_type for _, event in batch.items] == ["dossier.resolved"]
    [too_big, too_deep] = batch.letters
    assert too_big.field == "_body" and "exceeds the 5000-byte limit" in too_big.reason and too_big.body == large
    assert too_deep.field == "_body" and "nested too deeply" in too_deep.reason


# -- scoring's inbound events -----------------------------------------------------------------------------

SCORING = {
    "score_submitted": (ScoreSubmitted, {"set_id": "phu-tho-2026-so-nganh", "unit_code": "000.00.25.H44",
                                          "actor": "Trần Văn Bình", "final": False,
                                          "scores": [{"leaf_id": "1.1.1", "points": 1.5, "evidence": "QĐ 12"}]}),
    "timeliness_updated": (TimelinessUpdated, {"unit_code": "25", "unit_kind": "province", "period": "2026",
                                               "on_time_rate": "0.97"}),
}


def scoring_outcome(schema: type, body: Any) -> Any:
    """What ReliableEventHandler does: load, or dead-letter with first_error's field and reason."""
    try:
        return schema().load(body)
    except ValidationError as exc:
        field, reason = first_error(exc.messages)
        assert isinstance(field, str) and field and reason, exc.messages
        return None


def test_scoring_valid_examples_are_accepted():
    for schema, example in SCORING.values():
        assert scoring_outcome(schema, copy.deepcopy(example)) is not None


@FAST
@given(st.sampled_from(sorted(SCORING)), json_values)
def test_scoring_random_bodies_are_accepted_or_refused_with_a_field(name, body):
    scoring_outcome(SCORING[name][0], body)


@st.composite
def mutated_scoring(draw: st.DrawFn) -> tuple[type, dict[str, Any]]:
    schema, example = SCORING[draw(st.sampled_from(sorted(SCORING)))]
    body = copy.deepcopy(example)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        action = draw(st.sampled_from(["delete", "replace", "extra"]))
        if action == "extra" or not body:
            body[draw(st.text(min_size=1, max_size=20))] = draw(hostile_values)
        elif action == "delete":
            del body[draw(st.sampled_from(sorted(body)))]
        else:
            body[draw(st.sampled_from(sorted(body)))] = draw(hostile_values)
    return schema, body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_scoring())
def test_scoring_mutated_bodies_are_accepted_or_refused_with_a_field(case):
    schema, body = case
    loaded = scoring_outcome(schema, body)
    if loaded is not None and schema is ScoreSubmitted:
        assert isinstance(loaded["scores"], list) and all(isinstance(s, dict) for s in loaded["scores"])
        assert 1 <= len(loaded["actor"]) <= 200

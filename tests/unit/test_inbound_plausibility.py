"""Inbound plausibility (issue 12): what is well-formed JSON of the right types but cannot be true is refused
with the field and the reason, so the consumer dead-letters it instead of storing it."""

from __future__ import annotations

import json
import uuid

import pytest

from shared.events import InvalidEvent, parse_event

AT = "2026-02-13T15:30:00+07:00"


def envelope(**payload_over) -> dict:
    payload = {"dossier_code": "000.00.08.H44-260213-0001", "procedure_code": "1.000894.H44", "unit_code": "D227",
               "received_at": AT, **payload_over}
    return {"event_id": str(uuid.uuid4()), "event_type": "dossier.received", "occurred_at": AT,
            "source": "motcua.phutho.gov.vn", "schema_version": 1, "payload": payload}


def refused(body) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(body if isinstance(body, bytes) else json.dumps(body).encode())
    return caught.value


@pytest.mark.parametrize("code", [
    "D227\u202e",  # RIGHT-TO-LEFT OVERRIDE: shows the code reversed in every report
    "D2\u200b27",  # ZERO WIDTH SPACE: two codes that look the same
    "D22\x007",  # NUL: PostgreSQL refuses it in text
    "D22\x1b[2J7",  # an ANSI escape in a terminal
    "D227\u2066x",  # LEFT-TO-RIGHT ISOLATE
])
def test_codes_with_control_or_bidi_characters_are_refused(code) -> None:
    error = refused(envelope(unit_code=code))
    assert error.field == "payload.unit_code" and "control" in error.reason


def test_the_source_is_held_to_the_same_rule() -> None:
    body = envelope()
    body["source"] = "motcua\u202e"
    assert refused(body).field == "source"


@pytest.mark.parametrize("field_name, value", [
    ("received_at", "0001-01-01T00:00:00+07:00"),
    ("received_at", "1850-06-01T08:00:00+07:00"),
    ("due_at", "9999-12-31T23:00:00+07:00"),
    ("due_at", "2999-01-01T08:00:00+07:00"),
])
def test_dates_centuries_away_are_refused(field_name, value) -> None:
    error = refused(envelope(**{field_name: value}))
    assert error.field == f"payload.{field_name}" and "plausible" in error.reason


def test_an_occurred_at_centuries_away_is_refused() -> None:
    body = envelope()
    body["occurred_at"] = "3026-02-13T15:30:00+07:00"
    assert refused(body).field == "occurred_at"


@pytest.mark.parametrize("raw", [
    json.dumps(envelope(), ensure_ascii=False).encode("utf-16"),  # json.loads would guess UTF-16 and accept it
    json.dumps(envelope(), ensure_ascii=False).encode("utf-32"),
    json.dumps(envelope(unit_code="Phường Nông Trang")).encode().replace(b"\\u01b0", b"\xc6"),  # a cut sequence
    json.dumps(envelope(dossier_code="X\ud800Y")).encode(),  # "\\ud800": a lone surrogate, not a character
])
def test_bodies_that_are_not_utf8_text_are_refused(raw) -> None:
    error = refused(raw)
    assert error.field in ("_body", "payload.dossier_code") and ("UTF-8" in error.reason or "surrogate" in
                                                                  error.reason)


def test_plausible_messages_still_pass() -> None:
    body = envelope(applicant={"name": "Nguyễn Thị Hồng Nhung"}, due_at="2026-02-27T15:30:00+07:00")
    event = parse_event(json.dumps(body, ensure_ascii=False).encode())
    assert event.payload["unit_code"] == "D227"
    emoji = envelope(applicant={"name": "Nhung \U0001f600"})  # an escaped surrogate *pair* is one character: fine
    assert parse_event(json.dumps(emoji).encode()).payload["applicant"]["name"] == "Nhung \U0001f600"


def test_a_text_body_with_a_lone_surrogate_character_is_refused_not_raised() -> None:
    text = json.dumps(envelope(dossier_code="X\ud800Y"), ensure_ascii=False)  # the character itself, unescaped
    with pytest.raises(InvalidEvent) as caught:
        parse_event(text)
    assert caught.value.field == "_body" and "UTF-8" in caught.value.reason

"""The intake's pure rules: reading a request, judging its events, the answer, the rate limit, the tokens."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.ratelimit import RateLimiter
from services.intake.submission import BadRequest, answer, decode, judge
from services.intake.vendors import TOKEN_RE, hash_token, new_token
from shared.events import make_envelope
from shared.publisher import RoutedBody, _encode

TZ = dt.timezone(dt.timedelta(hours=7))
AT = dt.datetime(2026, 7, 6, 9, tzinfo=TZ)


def event(code: str, **extra) -> dict:
    payload = {"dossier_code": code, "procedure_code": "1.000894", "unit_code": "07900", "received_at": AT, **extra}
    return make_envelope("dossier.received", payload, occurred_at=AT, source="onedoor.phutho")


def test_array_events_are_published_byte_for_byte_as_sent() -> None:
    first = json.dumps(event("A", applicant={"name": "Nguyễn Văn An"}), ensure_ascii=False, indent=1)
    second = json.dumps(event("B"))
    body = f" [\n {first} ,\t{second}\n]\n".encode()
    items = decode("application/json; charset=utf-8", body, 10)
    assert [item.body for item in items] == [first.encode(), second.encode()]
    verdicts = judge(items, source="onedoor.phutho", max_message_bytes=65536)
    assert verdicts.bodies == [first.encode(), second.encode()]
    assert [_encode(b)[1] for b in verdicts.bodies] == ["dossier.received", "dossier.received"]
    assert all(isinstance(b, RoutedBody) for b in verdicts.bodies)


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [(b"[", 400, "not valid"), (b"[1,]", 400, "not valid"), (b"[1] 2", 400, "extra data"), (b"{}", 400, "array"),
     (b"\xff[]", 400, "UTF-8"), (b"[]", 400, "no event"), (b"[" + b"[" * 100_000, 400, "JSON")],
)
def test_unreadable_bodies(body: bytes, status: int, reason: str) -> None:
    with pytest.raises(BadRequest) as caught:
        decode("application/json", body, 10)
    assert caught.value.status == status and reason in caught.value.reason


def test_too_many_events_and_unknown_media_types() -> None:
    with pytest.raises(BadRequest) as caught:
        decode("application/json", json.dumps([1, 2, 3]).encode(), 2)
    assert caught.value.status == 413
    with pytest.raises(BadRequest) as caught:
        decode("text/csv", b"a,b", 2)
    assert caught.value.status == 415


def test_ndjson_refuses_a_bad_line_alone() -> None:
    body = json.dumps(event("A")).encode() + b"\r\n\n{oops\n" + json.dumps(event("B")).encode()
    items = decode("application/x-ndjson", body, 10)
    assert [i.problem is None for i in items] == [True, False, True]
    assert items[1].problem[0] == "_body" and "line 2" in items[1].problem[1]


def test_judging_refuses_with_field_and_publishes_a_repeated_id_once() -> None:
    good = event("A")
    items = decode("application/json", json.dumps([good, {**good, "schema_version": 7}, good, event("C"),
                                                   {**event("D"), "source": "other"}]).encode(), 10)
    verdicts = judge(items, source="onedoor.phutho", max_message_bytes=65536)
    assert len(verdicts.bodies) == 2  # A once, C
    body = answer(verdicts, [True, True])
    assert [(r["status"], r.get("field")) for r in body["results"]] == [
        ("accepted", None), ("refused", "schema_version"), ("accepted", None), ("accepted", None),
        ("refused", "source")]
    partial = answer(verdicts, [True, False], "broker gone")
    assert [r["status"] for r in partial["results"]] == ["accepted", "refused", "accepted", "not_taken", "refused"]
    assert partial["results"][3]["reason"] == "broker gone" and partial["not_taken"] == 1


def test_an_event_larger_than_the_bus_allows_is_refused() -> None:
    items = decode("application/json", json.dumps([event("A", applicant={"address": "x" * 400})]).encode(), 10)
    (item,) = judge(items, source=None, max_message_bytes=300).items
    assert item.problem[0] == "_body" and "300-byte limit" in item.problem[1]


def test_rate_limit_buckets_refill_and_say_how_long_to_wait() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=10, burst=20, clock=lambda: now[0])
    assert limiter.take("a", 15) == 0 and limiter.take("b", 20) == 0
    assert limiter.take("a", 10) == pytest.approx(0.5)  # 5 left, 5 missing at 10/s
    assert limiter.blocked("b") == pytest.approx(0.1)
    now[0] = 0.5
    assert limiter.take("a", 10) == 0
    now[0] = 100
    assert limiter.take("a", 20) == 0  # refilled to the burst, never beyond
    assert limiter.take("a", 1) > 0 and limiter.retry_after(0.01) == "1"
    with pytest.raises(ValueError):
        RateLimiter(rate=0, burst=1)


@given(st.lists(st.tuples(st.floats(min_value=0, max_value=5), st.integers(min_value=1, max_value=30)),
                max_size=40))
def test_a_vendor_never_gets_more_than_burst_plus_rate_times_time(steps) -> None:
    now = [0.0]
    limiter = RateLimiter(rate=10, burst=30, clock=lambda: now[0])
    taken = 0
    for pause, events in steps:
        now[0] += pause
        if limiter.take("v", events) == 0:
            taken += events
    assert taken <= 30 + 10 * now[0] + 1e-6


def test_tokens_are_random_formatted_and_only_their_hash_is_kept() -> None:
    token_id, token = new_token()
    match = TOKEN_RE.fullmatch(token)
    assert match and match.group(1) == token_id
    assert new_token()[1] != token
    assert len(hash_token(token)) == 64 and token not in hash_token(token)


def test_the_published_openapi_document_is_current_and_refers_to_published_schemas() -> None:
    from pathlib import Path

    import yaml

    from services.intake import openapi

    contract = Path(__file__).resolve().parents[2] / "docs" / "contract"
    assert openapi.is_current(contract), "run `cchc contract --out docs/contract`"
    document = yaml.safe_load((contract / openapi.OPENAPI_FILE).read_text(encoding="utf-8"))
    assert document["openapi"] == "3.1.0"
    for ref in document["components"]["schemas"]["Event"]["oneOf"]:
        assert (contract / ref["$ref"]).is_file()
    responses = document["paths"]["/v1/events"]["post"]["responses"]
    assert set(responses) == {"200", "400", "401", "411", "413", "415", "429", "503"}
    assert "Retry-After" in responses["503"]["headers"] and "Retry-After" in responses["429"]["headers"]
    assert "curl" in document["info"]["description"]

"""A vendor's POST /v1/events: the body read into events, each judged by the bus's own schemas, and the answer.

The body is a JSON array of envelopes (``application/json``) or one envelope per line (NDJSON,
``application/x-ndjson``). A body that is not one of those is refused whole (400) — nothing of it is published; in
NDJSON a line that is not JSON is refused alone (its neighbours are fine). Every event is validated by
:func:`shared.events.parse_event`, exactly as the dossiers service validates what arrives on the bus, so an event
the intake accepts is never dead-lettered as invalid later; what it refuses is answered with the field and the
reason instead of being published. An event whose ``source`` is not its vendor's is refused too. An accepted event
is published byte for byte as the vendor wrote it (its slice of the array, or its line).

A repeated ``event_id`` is accepted: the dossiers service stores an event once whatever arrives twice, so a
vendor resends without fear (within one request it is published once).

Pure functions; the HTTP entrypoint and the publisher are in service.py and publishing.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.events import InvalidEvent, parse_event
from shared.publisher import RoutedBody

__all__ = ["BadRequest", "Item", "Verdicts", "answer", "decode", "judge", "judging"]

JSON_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines")


class BadRequest(ValueError):
    """The request as a whole cannot be read: ``status`` is 400, 413 or 415."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Item:
    """One event of the request: its position, its decoded JSON and its bytes as sent (or why it is refused)."""

    index: int
    raw: Any = None
    body: bytes = b""  # the event exactly as the vendor wrote it: what is published
    problem: tuple[str, str] | None = None  # (field, reason) when refused


_DECODER = json.JSONDecoder()
_SPACE = " \t\n\r"


def _array_items(body: bytes) -> list[Item]:
    """The elements of a JSON array with each one's own text, so an event is published byte for byte as sent."""
    text = body.decode("utf-8")
    end = len(text)
    position = len(text) - len(text.lstrip(_SPACE))
    if position >= end or text[position] != "[":
        raise BadRequest(400, "the body must be a JSON array of event envelopes (or NDJSON, one per line)")
    items: list[Item] = []
    position += 1
    while True:
        while position < end and text[position] in _SPACE:
            position += 1
        if position < end and text[position] == "]" and not items:
            position += 1
            break
        raw, stop = _DECODER.raw_decode(text, position)
        items.append(Item(len(items), raw, text[position:stop].encode()))
        position = stop
        while position < end and text[position] in _SPACE:
            position += 1
        if position < end and text[position] == ",":
            position += 1
            continue
        if position < end and text[position] == "]":
            position += 1
            break
        raise json.JSONDecodeError("expected ',' or ']'", text, position)
    if text[position:].strip(_SPACE):
        raise json.JSONDecodeError("extra data after the array", text, position)
    return items


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def decode(content_type: str | None, body: bytes, max_events: int) -> list[Item]:
    """The request's events, in order; raises :class:`BadRequest` when the body as a whole is unreadable."""
    media = _media_type(content_type)
    if media in JSON_TYPES:
        try:
            items = _array_items(body)
        except BadRequest:
            raise
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadRequest(400, f"the body is not valid UTF-8 JSON ({exc})") from None
        except (RecursionError, ValueError) as exc:
            raise BadRequest(400, f"the body is not acceptable JSON ({type(exc).__name__})") from None
    elif media in NDJSON_TYPES:
        items = []
        for index, line in enumerate(line for line in body.splitlines() if line.strip()):
            try:
                items.append(Item(index, json.loads(line), line.strip()))
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as exc:
                items.append(Item(index, problem=("_body", f"line {index + 1} is not valid UTF-8 JSON ({exc})")))
    else:
        raise BadRequest(415, f"Content-Type {media or '(none)'!r}: send application/json (an array of envelopes) "
                              "or application/x-ndjson (one envelope per line)")
    if not items:
        raise BadRequest(400, "the body holds no event")
    if len(items) > max_events:
        raise BadRequest(413, f"{len(items)} events in one request: at most {max_events}; split the batch")
    return items


@dataclass
class Verdicts:
    """Which events go to the broker (bodies, in order, one per distinct event_id) and every item's verdict."""

    items: list[Item]
    bodies: list[bytes] = field(default_factory=list)  # RoutedBody: each knows its routing key (event type)
    body_of: dict[int, int] = field(default_factory=dict)  # item index → position in bodies
    event_ids: dict[int, str] = field(default_factory=dict)


def judging(verdicts: Verdicts, *, source: str | None, max_message_bytes: int) -> Iterator[RoutedBody]:
    """Validate each event as the bus would, recording every verdict in ``verdicts``, and yield the bodies to
    publish as they are found (a repeated event_id within the request once): a publisher consuming this
    validates the next events while the broker stores the previous ones."""
    positions: dict[str, int] = {}
    for item in verdicts.items:
        if item.problem is not None:
            continue
        if isinstance(item.raw, dict) and isinstance(item.raw.get("event_id"), str):
            verdicts.event_ids[item.index] = item.raw["event_id"]
        try:
            event = parse_event(item.raw)
        except InvalidEvent as exc:
            item.problem = (exc.field, exc.reason)
            continue
        except Exception as exc:  # a validator bug must refuse one event, not fail the request
            item.problem = ("_body", f"could not be validated ({type(exc).__name__})")
            continue
        if source is not None and event.source != source:
            item.problem = ("source", f"{event.source!r} is not this vendor's source {source!r}")
            continue
        event_id = str(event.event_id)
        verdicts.event_ids[item.index] = event_id
        if event_id in positions:
            verdicts.body_of[item.index] = positions[event_id]
            continue
        if len(item.body) > max_message_bytes:
            item.problem = ("_body", f"event of {len(item.body)} bytes exceeds the {max_message_bytes}-byte limit")
            continue
        positions[event_id] = len(verdicts.bodies)
        verdicts.body_of[item.index] = len(verdicts.bodies)
        body = RoutedBody(item.body, event.event_type)
        verdicts.bodies.append(body)
        yield body


def judge(items: Sequence[Item], *, source: str | None, max_message_bytes: int) -> Verdicts:
    """Every verdict at once (:func:`judging` run to the end)."""
    verdicts = Verdicts(items=list(items))
    for _ in judging(verdicts, source=source, max_message_bytes=max_message_bytes):
        pass
    return verdicts


def answer(verdicts: Verdicts, confirmed: Sequence[bool], not_taken_reason: str | None = None) -> dict[str, Any]:
    """The response body: each event accepted (the broker confirmed it), refused (field, reason: do not resend
    as is) or not_taken (the broker did not confirm it: resend it, the same event_id is harmless)."""
    results = []
    counts = {"accepted": 0, "refused": 0, "not_taken": 0}
    for item in verdicts.items:
        result: dict[str, Any] = {"index": item.index, "event_id": verdicts.event_ids.get(item.index)}
        if item.problem is not None:
            result.update(status="refused", field=item.problem[0], reason=item.problem[1])
        elif confirmed[verdicts.body_of[item.index]]:
            result["status"] = "accepted"
        else:
            result.update(status="not_taken", reason=not_taken_reason or "the broker did not confirm it; resend it")
        counts[result["status"]] += 1
        results.append(result)
    return {**counts, "results": results}

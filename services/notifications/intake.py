"""What each inbound event and each timer stores: the apology letter, notifications, digest items, scheduled
sends. One transaction each, idempotent: every write is an ``INSERT … ON CONFLICT DO NOTHING`` or an upsert
keyed by what the event is about, so a redelivered event changes nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.notifications import apology, delivery, rules
from services.notifications.models import DigestItem, ScheduledSend
from services.notifications.registry import directory as load_directory
from shared.calendar import WorkingCalendar
from shared.db import insert_ignore, upsert


def on_dossier_late(session: Session, payload: Mapping[str, Any], settings: Mapping[str, Any],
                    calendar: WorkingCalendar, now: dt.datetime) -> int:
    """The letter (numbered once), the apology and the lead's alerts, and an overdue digest item."""
    directory = load_directory(session, settings)
    letter = apology.ensure_letter(session, payload, calendar, settings["apology"], now)
    context = apology.letter_context(letter, settings["apology"], directory)
    created = delivery.enqueue(session, rules.for_dossier_late(payload, context, directory), now)
    add_digest_item(session, "overdue", payload, now, new_due_on=context["new_due_on"])
    return created


def add_digest_item(session: Session, kind: str, payload: Mapping[str, Any], now: dt.datetime,
                    new_due_on: str | None = None) -> None:
    session.execute(insert_ignore(session, DigestItem.__table__), {
        "kind": kind, "dossier_code": payload["dossier_code"], "unit_code": payload["unit_code"],
        "data": rules.digest_item(payload, new_due_on), "created_at": now})


def flush_digests(session: Session, settings: Mapping[str, Any], now: dt.datetime) -> int:
    """Turn the waiting items into one digest per unit and kind; returns the number of digests."""
    query = (sa.select(DigestItem).where(DigestItem.digest.is_(None))
             .order_by(DigestItem.kind, DigestItem.unit_code, DigestItem.id).limit(5000))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    groups: dict[tuple[str, str], list[DigestItem]] = defaultdict(list)
    for item in session.scalars(query):
        groups[(item.kind, item.unit_code)].append(item)
    if not groups:
        return 0
    directory = load_directory(session, settings)
    for (kind, unit_code), items in groups.items():
        digest_id = f"digest:{kind}:{unit_code}:{uuid.uuid4().hex[:12]}"
        for item in items:
            item.digest = digest_id
        delivery.enqueue(session, rules.for_digest(kind, unit_code, digest_id, [i.data for i in items], now,
                                                   directory), now)
    return len(groups)


def schedule_window(session: Session, set_id: str, opens: dt.datetime, closes: dt.datetime,
                    unit_codes: list[str] | None, unit_kind: str | None, title: str | None,
                    settings: Mapping[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
    """Two scheduled sends: at the opening, and ``closing_reminder_hours_before`` the closing (not before the
    opening). Scheduling the same set again replaces its times; reminders already sent for the same window are
    not sent twice (the notifications' topic is the set and its window)."""
    if opens.tzinfo is None or closes.tzinfo is None:
        raise ValueError("opens, closes: must carry a UTC offset")
    if closes <= opens:
        raise ValueError("closes: must be after opens")
    payload = {"set_id": set_id, "opens": opens.isoformat(), "closes": closes.isoformat(),
               "unit_codes": list(unit_codes or []), "unit_kind": unit_kind, "title": title}
    before = dt.timedelta(hours=float(settings["closing_reminder_hours_before"]))
    plan = [("window_opening", opens), ("window_closing", max(opens, closes - before))]
    rows = [{"key": f"{kind}:{set_id}", "kind": kind, "version": 0, "send_at": at, "payload": payload,
             "sent_at": None, "updated_at": now} for kind, at in plan]
    session.execute(upsert(session, ScheduledSend.__table__, ["key"],
                           ["kind", "send_at", "payload", "sent_at", "updated_at"]), rows)
    return [{"kind": kind, "send_at": at.isoformat()} for kind, at in plan]


def schedule_ranking(session: Session, payload: Mapping[str, Any], settings: Mapping[str, Any],
                     now: dt.datetime) -> None:
    """Keep the newest version of a set's ranking, to be announced once no newer one came for the debounce."""
    version = int(payload["version"])
    send_at = now + dt.timedelta(seconds=float(settings["ranking_debounce_seconds"]))
    key = f"ranking:{payload['set_id']}"
    session.execute(insert_ignore(session, ScheduledSend.__table__), {
        "key": key, "kind": "ranking_published", "version": version, "send_at": send_at,
        "payload": dict(payload), "sent_at": None, "updated_at": now})
    session.execute(sa.update(ScheduledSend).where(ScheduledSend.key == key, ScheduledSend.version < version)
                    .values(version=version, send_at=send_at, payload=dict(payload), sent_at=None, updated_at=now))


def flush_scheduled(session: Session, settings: Mapping[str, Any], now: dt.datetime) -> int:
    """Expand the sends that are due into notifications; returns how many notifications were created."""
    query = (sa.select(ScheduledSend).where(ScheduledSend.sent_at.is_(None), ScheduledSend.send_at <= now)
             .order_by(ScheduledSend.send_at))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    due = list(session.scalars(query))
    if not due:
        return 0
    directory = load_directory(session, settings)
    created = 0
    for send in due:
        if send.kind == "ranking_published":
            drafts = rules.for_ranking(send.payload, directory)
        else:
            drafts = rules.for_window(send.kind, send.payload, directory)
        created += delivery.enqueue(session, drafts, now)
        send.sent_at = now
    return created


def on_explanation(session: Session, kind: str, payload: Mapping[str, Any], settings: Mapping[str, Any],
                   now: dt.datetime) -> int:
    """A request for explanation, or its answer, from the season (scoring): the messages, once per request."""
    return delivery.enqueue(session, rules.for_explanation(kind, payload, load_directory(session, settings)), now)

"""The notification outbox: stored once, delivered with retries, failures kept visible and replayable.

* ``enqueue`` renders each draft and inserts it with ``ON CONFLICT DO NOTHING`` on (topic, kind, channel,
  recipient): the same event delivered twice produces one message.
* ``deliver_due`` works the queue per channel: it claims due rows (``SKIP LOCKED`` on PostgreSQL, so replicas
  share the work) by marking them ``sending`` with a lease, sends outside any transaction, then records the
  outcome: ``sent``; a transient failure back to ``pending`` after an exponential backoff
  (base × 2^(attempt-1), capped, with jitter); a permanent failure, or the last allowed attempt, ``failed``
  with its reason. A worker that dies mid-send leaves its rows to be claimed again when the lease expires
  (at-least-once: a message may then go out twice, never zero times).
* The per-channel rate limit counts the attempts of the last minute plus the rows being sent, across replicas;
  local transports (mail folder, letter folder, console) are not limited.
* ``resend`` puts a failed (or sent) notification back in the queue; nothing is ever deleted.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.notifications import metrics, rendering
from services.notifications.channels import Attachment, DeliveryError, Outgoing, Transport
from services.notifications.models import DeliveryAttempt, Notification
from services.notifications.privacy import mask_recipient, redact
from services.notifications.rules import Draft
from services.notifications.settings import CHANNELS
from shared.inputs import valid_id
from shared.local_time import local_iso

log = logging.getLogger(__name__)

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
STATUSES = (PENDING, SENDING, SENT, FAILED)


class NotFound(LookupError):
    """No such notification."""


class NotReplayable(ValueError):
    """A notification being sent right now cannot be put back in the queue."""


@dataclass(frozen=True)
class Policy:
    max_attempts: int
    retry_base_seconds: float
    retry_max_seconds: float
    retry_jitter: float
    lease_seconds: float
    batch_size: int
    rate_limits: Mapping[str, int]

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Policy:
        return cls(
            max_attempts=max(1, int(settings["max_attempts"])),
            retry_base_seconds=float(settings["retry_base_seconds"]),
            retry_max_seconds=float(settings["retry_max_seconds"]),
            retry_jitter=float(settings["retry_jitter"]),
            lease_seconds=float(settings["lease_seconds"]),
            batch_size=int(settings["batch_size"]),
            rate_limits={k: int(v) for k, v in (settings.get("rate_limits_per_minute") or {}).items()},
        )

    def backoff(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` failed tries: base × 2^(attempts-1), capped, ± jitter."""
        delay = min(self.retry_max_seconds, self.retry_base_seconds * 2 ** max(0, attempts - 1))
        return delay * (1 + random.uniform(-self.retry_jitter, self.retry_jitter)) if self.retry_jitter else delay


# -- enqueue ------------------------------------------------------------------------------------------------
def materialise(draft: Draft) -> tuple[str, str]:
    """(subject, body) as stored: texts from the templates; for webhooks the exact JSON bytes to POST."""
    rendered = rendering.render(draft.kind, draft.channel, draft.context)
    if draft.channel != "webhook":
        return rendered.subject, rendered.body
    body = {"kind": draft.kind, "topic": draft.topic, "unit_code": draft.unit_code,
            "dossier_code": draft.dossier_code, "text": rendered.body.strip(), "data": dict(draft.context)}
    return draft.kind, json.dumps(body, ensure_ascii=False, sort_keys=True, default=str)


def enqueue(session: Session, drafts: Iterable[Draft], now: dt.datetime) -> int:
    """Store the drafts not stored before; returns how many are new."""
    created = 0
    for draft in drafts:
        subject, body = materialise(draft)
        created += session.execute(
            _insert_ignore(session),
            {"topic": draft.topic, "kind": draft.kind, "channel": draft.channel, "recipient": draft.recipient,
             "recipient_masked": mask_recipient(draft.channel, draft.recipient), "unit_code": draft.unit_code,
             "dossier_code": draft.dossier_code, "subject": subject[:500], "body": body, "document": draft.document,
             "personal": list(draft.personal), "status": PENDING, "attempts": 0, "next_attempt_at": now,
             "created_at": now, "updated_at": now},
        ).rowcount
    return created


def _insert_ignore(session: Session) -> Any:
    from shared.db import insert_ignore

    return insert_ignore(session, Notification.__table__)


# -- delivery -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Claimed:
    id: int
    claim: str
    kind: str
    channel: str
    recipient: str
    recipient_masked: str
    topic: str
    subject: str
    body: str
    document: str | None
    dossier_code: str | None
    personal: tuple[str, ...]


def allowance(session: Session, channel: str, per_minute: int, now: dt.datetime) -> int | None:
    """How many more messages ``channel`` may send now (None = unlimited)."""
    if per_minute <= 0:
        return None
    recent = session.scalar(sa.select(sa.func.count()).select_from(DeliveryAttempt).where(
        DeliveryAttempt.channel == channel, DeliveryAttempt.at > now - dt.timedelta(seconds=60))) or 0
    in_flight = session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.channel == channel, Notification.status == SENDING, Notification.lease_until > now)) or 0
    return max(0, per_minute - recent - in_flight)


def claim(session: Session, channel: str, limit: int, now: dt.datetime, lease_seconds: float) -> list[Claimed]:
    """Mark up to ``limit`` due notifications of ``channel`` as being sent by this worker."""
    due = sa.or_(
        sa.and_(Notification.status == PENDING, Notification.next_attempt_at <= now),
        sa.and_(Notification.status == SENDING, Notification.lease_until < now),  # its worker died
    )
    query = (sa.select(Notification).where(Notification.channel == channel, due)
             .order_by(Notification.next_attempt_at, Notification.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed = []
    for row in session.scalars(query).all():
        row.status, row.claim = SENDING, str(uuid.uuid4())
        row.lease_until = now + dt.timedelta(seconds=lease_seconds)
        row.updated_at = now
        claimed.append(Claimed(row.id, row.claim, row.kind, row.channel, row.recipient, row.recipient_masked,
                               row.topic, row.subject, row.body, row.document, row.dossier_code,
                               tuple(row.personal or ())))
    return claimed


def record(session: Session, item: Claimed, error: DeliveryError | None, note: str, now: dt.datetime,
           policy: Policy) -> str:
    """Store the outcome of one try: "sent", "retry", "failed", or "stale" if the lease was lost meanwhile."""
    row = session.get(Notification, item.id)
    if row is None or row.claim != item.claim:
        return "stale"
    row.attempts += 1
    row.claim, row.lease_until, row.updated_at = None, None, now
    if error is None:
        outcome, detail = "sent", note
        row.status, row.sent_at, row.last_error = SENT, now, None
    else:
        detail = redact(error.reason, (*item.personal, item.recipient))[:1000]
        if not error.permanent and row.attempts < policy.max_attempts:
            outcome = "retry"
            row.status = PENDING
            row.next_attempt_at = now + dt.timedelta(seconds=policy.backoff(row.attempts))
            row.last_error = detail
        else:
            outcome = FAILED
            row.status = FAILED
            row.last_error = detail if error.permanent else f"gave up after {row.attempts} attempts: {detail}"
    session.add(DeliveryAttempt(notification_id=item.id, channel=item.channel, at=now, outcome=outcome,
                                detail=detail[:1000] if detail else None))
    return outcome


AttachmentLoader = Callable[[Claimed], tuple[Attachment, ...]]


def deliver_due(db: Any, transports: Mapping[str, Transport], policy: Policy, attachments: AttachmentLoader,
                service: str, now: Callable[[], dt.datetime]) -> Counter[str]:
    """One pass over the queue, channel by channel; returns outcome counts."""
    outcomes: Counter[str] = Counter()
    for channel in CHANNELS:
        transport = transports.get(channel)
        if transport is None:
            continue
        with db.transaction() as session:
            moment = now()
            limit = policy.batch_size
            per_minute = 0 if getattr(transport, "local", False) else policy.rate_limits.get(channel, 0)
            allowed = allowance(session, channel, per_minute, moment)
            if allowed is not None:
                limit = min(limit, allowed)
            claimed = claim(session, channel, limit, moment, policy.lease_seconds) if limit > 0 else []
        for item in claimed:
            outcome = _deliver_one(db, transport, item, policy, attachments, now)
            outcomes[outcome] += 1
            _count(service, channel, outcome)
            log.log(logging.WARNING if outcome in ("retry", FAILED) else logging.INFO,
                    "notification %s (%s by %s to %s): %s", item.id, item.kind, channel, item.recipient_masked,
                    outcome)
            time.sleep(0)  # a cooperative yield under eventlet: many sends in a row must not starve the hub
    with db.transaction() as session:
        metrics.queue_age.labels(service).set(queue_age(session, now()))
    return outcomes


def _deliver_one(db: Any, transport: Transport, item: Claimed, policy: Policy, attachments: AttachmentLoader,
                 now: Callable[[], dt.datetime]) -> str:
    error: DeliveryError | None = None
    note = ""
    try:
        message = Outgoing(id=item.id, kind=item.kind, channel=item.channel, recipient=item.recipient,
                           subject=item.subject, body=item.body, topic=item.topic,
                           attachments=attachments(item) if item.document else (), personal=item.personal)
        note = transport.send(message)
    except DeliveryError as exc:
        error = exc
    except Exception as exc:  # a bug or an unexpected library error: keep the row, retry, say what happened
        reason = f"unexpected error: {type(exc).__name__}: {redact(str(exc), (*item.personal, item.recipient))}"
        log.error("notification %s: %s", item.id, reason)  # no traceback: its message could carry an address
        error = DeliveryError(reason, permanent=False)
    with db.transaction() as session:
        return record(session, item, error, note, now(), policy)


def _count(service: str, channel: str, outcome: str) -> None:
    if outcome == "sent":
        metrics.sent.labels(service, channel).inc()
    elif outcome == "retry":
        metrics.retried.labels(service, channel).inc()
    elif outcome == FAILED:
        metrics.failed.labels(service, channel).inc()


def queue_age(session: Session, now: dt.datetime) -> float:
    """Seconds since the oldest notification still waiting (pending or being sent) was created; 0 if none."""
    oldest = session.scalar(sa.select(sa.func.min(Notification.created_at))
                            .where(Notification.status.in_((PENDING, SENDING))))
    if oldest is None:
        return 0.0
    oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=dt.UTC)
    return max(0.0, (now - oldest).total_seconds())


# -- operators: list, inspect, resend -----------------------------------------------------------------------
def view(row: Notification, reveal: bool = False) -> dict[str, Any]:
    personal = [] if reveal else [*list(row.personal or ()), row.recipient]
    return {
        "id": row.id,
        "kind": row.kind,
        "channel": row.channel,
        "recipient": row.recipient if reveal else row.recipient_masked,
        "status": row.status,
        "attempts": row.attempts,
        "topic": row.topic,
        "unit_code": row.unit_code,
        "dossier_code": row.dossier_code,
        "subject": redact(row.subject, personal) if personal else row.subject,
        "last_error": row.last_error,
        "created_at": _iso(row.created_at),
        "next_attempt_at": _iso(row.next_attempt_at) if row.status == PENDING else None,
        "sent_at": _iso(row.sent_at),
    }


def _iso(value: dt.datetime | None) -> str | None:
    return local_iso(value) if value else None


def list_notifications(session: Session, *, status: str | None = None, kind: str | None = None,
                       channel: str | None = None, unit_code: str | None = None, dossier_code: str | None = None,
                       limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    if status is not None and status not in STATUSES:
        raise ValueError(f"status: must be one of {list(STATUSES)}")
    query = sa.select(Notification)
    for column, value in ((Notification.status, status), (Notification.kind, kind), (Notification.channel, channel),
                          (Notification.unit_code, unit_code), (Notification.dossier_code, dossier_code)):
        if value is not None:
            query = query.where(column == value)
    rows = session.scalars(query.order_by(Notification.id.desc()).limit(max(1, min(limit, 1000))).offset(offset))
    return [view(row) for row in rows]


def detail(session: Session, notification_id: int, reveal: bool = False) -> dict[str, Any]:
    """One notification with its text and every attempt; personal data masked unless ``reveal``."""
    row = session.get(Notification, notification_id)
    if row is None:
        raise NotFound(f"id: no notification {notification_id}")
    personal = [] if reveal else [*list(row.personal or ()), row.recipient]
    attempts = session.scalars(sa.select(DeliveryAttempt).where(DeliveryAttempt.notification_id == row.id)
                               .order_by(DeliveryAttempt.id))
    return {
        **view(row, reveal),
        "body": redact(row.body, personal) if personal else row.body,
        "document": row.document,
        "history": [{"at": _iso(a.at), "outcome": a.outcome, "detail": a.detail} for a in attempts],
    }


def resend(session: Session, notification_id: int, now: dt.datetime) -> dict[str, Any]:
    """Put a notification back in the queue (a failed one after its cause was fixed, or a sent one again)."""
    if not valid_id(notification_id):  # beyond any id: SQLite would raise OverflowError, PostgreSQL another
        raise NotFound(f"id: no notification {str(notification_id)[:40]}")
    row = session.get(Notification, notification_id)
    if row is None:
        raise NotFound(f"id: no notification {notification_id}")
    if row.status == SENDING and row.lease_until is not None and row.lease_until > now:
        raise NotReplayable(f"id: notification {notification_id} is being sent right now")
    row.status, row.attempts, row.next_attempt_at = PENDING, 0, now
    row.claim, row.lease_until, row.updated_at = None, None, now
    return view(row)


def resend_failed(session: Session, now: dt.datetime, kind: str | None = None, channel: str | None = None) -> int:
    """Requeue every failed notification (optionally of one kind / channel); returns how many."""
    query = sa.update(Notification).where(Notification.status == FAILED)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    if channel is not None:
        query = query.where(Notification.channel == channel)
    return session.execute(query.values(status=PENDING, attempts=0, next_attempt_at=now, updated_at=now)).rowcount


def summary(session: Session, now: dt.datetime) -> dict[str, Any]:
    """Counts per kind, channel and status, and the age of the oldest waiting notification."""
    rows = session.execute(sa.select(Notification.kind, Notification.channel, Notification.status, sa.func.count())
                           .group_by(Notification.kind, Notification.channel, Notification.status)).all()
    return {
        "counts": [{"kind": k, "channel": c, "status": s, "count": n} for k, c, s, n in sorted(rows)],
        "queue_age_seconds": queue_age(session, now),
    }

"""Tables of the notifications service (its own schema)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime


class Base(DeclarativeBase):
    pass


class Notification(Base):
    """One message to one recipient on one channel: the delivery outbox row (thông báo).

    ``topic`` says what it is about (a dossier code, a digest, a set and version); with ``kind``, ``channel`` and
    ``recipient`` it is unique, so an event delivered twice produces no second message. ``recipient`` is the real
    address (personal data, needed to deliver); listings and logs show ``recipient_masked``.
    Status: pending → sending (claimed, with a lease) → sent, or back to pending with a later
    ``next_attempt_at`` after a transient failure, or failed (permanent error or attempts exhausted; replayable).
    """

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(40))
    channel: Mapped[str] = mapped_column(sa.String(20))
    recipient: Mapped[str] = mapped_column(sa.String(320))
    recipient_masked: Mapped[str] = mapped_column(sa.String(320))
    unit_code: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    dossier_code: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    subject: Mapped[str] = mapped_column(sa.String(500))
    body: Mapped[str] = mapped_column(sa.Text)
    document: Mapped[str | None] = mapped_column(sa.String(40))  # "apology_letter": attached or printed
    personal: Mapped[Any] = mapped_column(sa.JSON)  # values to mask whenever the row is shown
    status: Mapped[str] = mapped_column(sa.String(12))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    claim: Mapped[str | None] = mapped_column(sa.String(36))
    last_error: Mapped[str | None] = mapped_column(sa.String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        sa.UniqueConstraint("topic", "kind", "channel", "recipient", name="uq_notifications_once"),
        sa.Index("ix_notifications_due", "status", "channel", "next_attempt_at"),
    )


class DeliveryAttempt(Base):
    """Every try of a notification (sent, retry, failed), for `show` and for the per-channel rate limit."""

    __tablename__ = "delivery_attempts"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    notification_id: Mapped[int] = mapped_column(sa.Integer, index=True)
    channel: Mapped[str] = mapped_column(sa.String(20))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(sa.String(12))  # sent | retry | failed
    detail: Mapped[str | None] = mapped_column(sa.String(1000))  # masked

    __table_args__ = (sa.Index("ix_delivery_attempts_rate", "channel", "at"),)


class ApologyLetter(Base):
    """The apology (văn bản xin lỗi, TT 03/2025/TT-VPCP Appendix I form 04) for one late dossier, numbered once.

    ``data`` keeps the dossier_late payload (applicant contacts included: the letter is addressed to them);
    ``pdf`` caches the rendered letter so every channel and every resend carries the same document.
    """

    __tablename__ = "apology_letters"
    dossier_code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    unit_code: Mapped[str] = mapped_column(sa.String(64), index=True)
    year: Mapped[int] = mapped_column(sa.Integer)
    number: Mapped[int | None] = mapped_column(sa.Integer)
    issued_on: Mapped[dt.date] = mapped_column(sa.Date)
    new_due_date: Mapped[dt.date] = mapped_column(sa.Date)
    new_due_source: Mapped[str] = mapped_column(sa.String(12))  # one_door | proposed
    data: Mapped[Any] = mapped_column(sa.JSON)
    pdf: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class LetterCounter(Base):
    """The last letter number a unit issued in a year (incremented under the row's lock)."""

    __tablename__ = "letter_counters"
    unit_code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    last: Mapped[int] = mapped_column(sa.Integer, default=0)


class DigestItem(Base):
    """A dossier waiting for the next due-soon or overdue digest of its unit's lead; ``digest`` once sent."""

    __tablename__ = "digest_items"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # due_soon | overdue
    dossier_code: Mapped[str] = mapped_column(sa.String(64))
    unit_code: Mapped[str] = mapped_column(sa.String(64))
    data: Mapped[Any] = mapped_column(sa.JSON)  # no personal data
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    digest: Mapped[str | None] = mapped_column(sa.String(80))

    __table_args__ = (
        sa.UniqueConstraint("kind", "dossier_code", name="uq_digest_items_once"),
        sa.Index("ix_digest_items_pending", "digest", "kind", "unit_code"),
    )


class ScheduledSend(Base):
    """A send due at a time: submission-window reminders, the (debounced) latest ranking announcement."""

    __tablename__ = "scheduled_sends"
    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)  # window_opening:<set> | ranking:<set>
    kind: Mapped[str] = mapped_column(sa.String(40))
    version: Mapped[int] = mapped_column(sa.Integer, default=0)
    send_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    payload: Mapped[Any] = mapped_column(sa.JSON)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Unit(Base):
    """The unit registry, copied from dossiers.units() (never read from its tables)."""

    __tablename__ = "units"
    code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    kind: Mapped[str] = mapped_column(sa.String(20), index=True)
    parent_code: Mapped[str | None] = mapped_column(sa.String(64))
    refreshed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

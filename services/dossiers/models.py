"""Tables of the dossiers service (its own schema; no other service reads them)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime
from shared.outbox import OutboxMixin


class Base(DeclarativeBase):
    pass


class DossierEvent(Base):
    """Every accepted inbound event; the primary key on event_id is what makes consumption idempotent."""

    __tablename__ = "dossier_events"
    event_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    dossier_code: Mapped[str] = mapped_column(sa.String(64), index=True)
    event_type: Mapped[str] = mapped_column(sa.String(40))
    time: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    payload: Mapped[Any] = mapped_column(sa.JSON)
    source: Mapped[str] = mapped_column(sa.String(200))
    stored_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    # Set when the derivation refuses the event for good; it stays stored so a redelivery is a duplicate.
    rejected_field: Mapped[str | None] = mapped_column(sa.String(80))
    rejected_reason: Mapped[str | None] = mapped_column(sa.String(1000))
    dead_lettered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    # Refused receipts are few: a partial index finds them (catalogue gaps, re-derivation after an import)
    # without scanning the events, and costs the ingest nothing for the rest.
    __table_args__ = (
        sa.Index("ix_dossier_events_refused_receipts", "dossier_code",
                 postgresql_where=sa.text("rejected_field IS NOT NULL AND event_type = 'dossier.received'"),
                 sqlite_where=sa.text("rejected_field IS NOT NULL AND event_type = 'dossier.received'")),
    )


class Dossier(Base):
    """The derived state of one dossier (hồ sơ); recomputed from all its events whenever one arrives."""

    __tablename__ = "dossiers"
    dossier_code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # MaHoSo
    status: Mapped[str] = mapped_column(sa.String(20), default="awaiting_receipt")
    status_code: Mapped[int] = mapped_column(sa.SmallInteger, default=1)  # TrangThaiHoSo
    unit_code: Mapped[str | None] = mapped_column(sa.String(64))  # DonViXuLy
    procedure_code: Mapped[str | None] = mapped_column(sa.String(64))  # MaTTHC
    channel: Mapped[str | None] = mapped_column(sa.String(12))  # KenhThucHien
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # NgayTiepNhan
    received_date: Mapped[dt.date | None] = mapped_column(sa.Date)  # local date, for period queries
    processing_amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(8, 2))  # the legal time in force
    time_unit: Mapped[str | None] = mapped_column(sa.String(16))
    # Where the legal time came from (payload | catalogue), both candidates as known, and whether they differ.
    time_source: Mapped[str | None] = mapped_column(sa.String(10))
    payload_amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(8, 2))
    payload_unit: Mapped[str | None] = mapped_column(sa.String(16))
    catalogue_amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(8, 2))
    catalogue_unit: Mapped[str | None] = mapped_column(sa.String(16))
    time_mismatch: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # our due date
    due_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    onedoor_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # NgayHenTra as sent
    due_mismatch: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    paused: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    supplement_rounds: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    closing: Mapped[str | None] = mapped_column(sa.String(12))  # finished | withdrawn | rejected
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # NgayKetThucXuLy
    returned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # NgayTra
    outcome: Mapped[str | None] = mapped_column(sa.String(10))  # early | on_time | late
    on_time_766: Mapped[bool | None] = mapped_column(sa.Boolean)
    late_reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    new_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    applicant: Mapped[Any | None] = mapped_column(sa.JSON(none_as_null=True))  # personal data: for the apology only
    late_notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    due_soon_notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    first_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    # Partial indexes: the deadline scan reads open dossiers only, the orphan check those awaiting receipt;
    # closed dossiers (most rows) then cost no index maintenance when a batch rewrites them.
    __table_args__ = (
        # Statistics read counters (StatsDay), not dossiers; a running period's figures read the few dossiers
        # closed after its end (a closing dated in the future) and those due today before now.
        sa.Index("ix_dossiers_closed_date", "closed_date"),
        sa.Index("ix_dossiers_open_due", "due_at", postgresql_where=sa.text("closing IS NULL AND NOT paused"),
                 sqlite_where=sa.text("closing IS NULL AND NOT paused")),
        # The deadline scan walks only dossiers not yet announced as late: cost follows what is due, not what is
        # open (announced, still-open overdue dossiers pile up).
        sa.Index("ix_dossiers_unannounced_due", "due_at",
                 postgresql_where=sa.text("closing IS NULL AND late_notified_at IS NULL"),
                 sqlite_where=sa.text("closing IS NULL AND late_notified_at IS NULL")),
        sa.Index("ix_dossiers_awaiting", "first_seen_at", postgresql_where=sa.text("status = 'awaiting_receipt'"),
                 sqlite_where=sa.text("status = 'awaiting_receipt'")),
    )


class StatsDirty(Base):
    """Units whose statistics changed since timeliness_updated was last published (coalesced).

    Every batch that changes a unit's figures rewrites its mark's ``token``; the publisher deletes a mark only
    if the token is still the one it read, so a change committed while it computed is published next time."""

    __tablename__ = "stats_dirty"
    unit_code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    period: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    marked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    token: Mapped[str | None] = mapped_column(sa.String(32))


class CatalogueVersion(Base):
    """One import of the province's procedure catalogue: who loaded which file, when, and what was skipped.

    Every version is a whole catalogue (an import in ``merge`` mode copies the previous version's other
    procedures); the services use the highest version, and version 0 is the packaged or configured file."""

    __tablename__ = "catalogue_versions"
    version: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    imported_by: Mapped[str] = mapped_column(sa.String(200))
    source_name: Mapped[str] = mapped_column(sa.String(500))
    source_sha256: Mapped[str] = mapped_column(sa.String(64))
    mode: Mapped[str] = mapped_column(sa.String(10))  # replace | merge
    procedures: Mapped[int] = mapped_column(sa.Integer)
    rows_in_file: Mapped[int] = mapped_column(sa.Integer)
    skipped: Mapped[Any] = mapped_column(sa.JSON)  # the refused rows an import with --skip-invalid left out


class CatalogueProcedure(Base):
    """A procedure of one catalogue version, keyed by its national core code (``1.000894``)."""

    __tablename__ = "catalogue_procedures"
    version: Mapped[int] = mapped_column(sa.ForeignKey("catalogue_versions.version", ondelete="CASCADE"),
                                         primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64))  # as written in the file
    name: Mapped[str] = mapped_column(sa.String(1000))
    field: Mapped[str] = mapped_column(sa.String(300))
    level: Mapped[str] = mapped_column(sa.String(10))
    agency: Mapped[str | None] = mapped_column(sa.String(500))
    time_text: Mapped[str | None] = mapped_column(sa.String(1000))
    processing_amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(8, 2))
    time_unit: Mapped[str] = mapped_column(sa.String(16))
    cutoff_15h: Mapped[bool] = mapped_column(sa.Boolean)
    reduced: Mapped[bool] = mapped_column(sa.Boolean)
    source_row: Mapped[int | None] = mapped_column(sa.Integer)


class StatsDay(Base):
    """Per-unit, per-day statistics counters (services/dossiers/stats_counters.py says what each one counts).

    Kept by the ingest in the batch's transaction (old contribution subtracted, new one added); equal to a full
    recomputation at every commit (``cchc stats verify``)."""

    __tablename__ = "stats_days"
    unit_code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    received: Mapped[int] = mapped_column(sa.Integer, default=0)
    received_online: Mapped[int] = mapped_column(sa.Integer, default=0)
    finished_early: Mapped[int] = mapped_column(sa.Integer, default=0)
    finished_on_time: Mapped[int] = mapped_column(sa.Integer, default=0)
    finished_late: Mapped[int] = mapped_column(sa.Integer, default=0)
    finished_766: Mapped[int] = mapped_column(sa.Integer, default=0)
    withdrawn: Mapped[int] = mapped_column(sa.Integer, default=0)
    rejected: Mapped[int] = mapped_column(sa.Integer, default=0)
    open_delta: Mapped[int] = mapped_column(sa.Integer, default=0)
    open_le1_delta: Mapped[int] = mapped_column(sa.Integer, default=0)
    overdue_delta: Mapped[int] = mapped_column(sa.Integer, default=0)
    overdue_le1_delta: Mapped[int] = mapped_column(sa.Integer, default=0)
    open_due: Mapped[int] = mapped_column(sa.Integer, default=0)
    open_due_le1: Mapped[int] = mapped_column(sa.Integer, default=0)


class StatsMeta(Base):
    """What the counters were computed for (``granularity``): a service configured otherwise rebuilds them."""

    __tablename__ = "stats_meta"
    key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(200))


class OutboxEvent(OutboxMixin, Base):
    pass

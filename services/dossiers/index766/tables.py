"""The dossiers service's tables for the Decision 766 index (migration 0005_index766_facts).

Kept beside the service's own tables (same metadata, same schema) but in their own module: nothing outside
``services.dossiers.index766`` writes them, and the timeliness tables know nothing of them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.dossiers.models import Base
from shared.db import UTCDateTime


class DossierFactsRow(Base):
    """One dossier's Decision 766 facts, folded from its events (index766/facts.py); one row per dossier that has
    any. The dossier's timeliness stays in ``dossiers``: the two are joined on the dossier code."""

    __tablename__ = "index766_dossier_facts"
    dossier_code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    receipt_event_id: Mapped[str | None] = mapped_column(sa.String(36))
    receipt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    component_count: Mapped[int | None] = mapped_column(sa.SmallInteger)
    digitised: Mapped[bool | None] = mapped_column(sa.Boolean)
    reused: Mapped[bool | None] = mapped_column(sa.Boolean)
    from_store: Mapped[bool | None] = mapped_column(sa.Boolean)
    vneid: Mapped[bool | None] = mapped_column(sa.Boolean)
    population_data: Mapped[bool | None] = mapped_column(sa.Boolean)
    fee_lines: Mapped[int | None] = mapped_column(sa.SmallInteger)
    fee_nonzero: Mapped[bool | None] = mapped_column(sa.Boolean)
    receipt_paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    receipt_payment_channel: Mapped[str | None] = mapped_column(sa.String(20))
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    paid_channel: Mapped[str | None] = mapped_column(sa.String(20))
    e_result_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    result_pushed: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    rating_event_id: Mapped[str | None] = mapped_column(sa.String(36))
    rated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    rating: Mapped[str | None] = mapped_column(sa.String(16))
    synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PetitionRow(Base):
    """One petition (phản ánh, kiến nghị), folded from its events; ``unit_code`` is null until its receipt."""

    __tablename__ = "index766_petitions"
    petition_code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    received_event_id: Mapped[str | None] = mapped_column(sa.String(36))
    unit_code: Mapped[str | None] = mapped_column(sa.String(64))
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    transferred_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    category: Mapped[str | None] = mapped_column(sa.String(12))
    dossier_code: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    repeat_of: Mapped[str | None] = mapped_column(sa.String(64))
    answer_event_id: Mapped[str | None] = mapped_column(sa.String(36))
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(sa.String(12))
    rating_event_id: Mapped[str | None] = mapped_column(sa.String(36))
    rated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    likes: Mapped[int] = mapped_column(sa.Integer, default=0)
    dislikes: Mapped[int] = mapped_column(sa.Integer, default=0)
    first_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (sa.Index("ix_index766_petitions_unit_received", "unit_code", "received_at"),)


class ProcedureImportRow(Base):
    """One import of procedure-level facts for a board period: who, when, which file; the latest one counts."""

    __tablename__ = "index766_procedure_imports"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(sa.String(10), index=True)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(sa.String(200))
    file_name: Mapped[str] = mapped_column(sa.String(300))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    rows: Mapped[int] = mapped_column(sa.Integer)
    report: Mapped[Any] = mapped_column(sa.JSON)  # what was skipped, and why


class ProcedureFactRow(Base):
    """One procedure's facts in one import (``agency_code`` '' when the row names no agency)."""

    __tablename__ = "index766_procedure_facts"
    import_id: Mapped[int] = mapped_column(sa.ForeignKey("index766_procedure_imports.id", ondelete="CASCADE"),
                                           primary_key=True)
    procedure_code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    agency_code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    level: Mapped[str | None] = mapped_column(sa.String(10))
    online_level: Mapped[str | None] = mapped_column(sa.String(10))
    published_in_period: Mapped[bool | None] = mapped_column(sa.Boolean)
    published_on_time: Mapped[bool | None] = mapped_column(sa.Boolean)
    public_update_due: Mapped[bool | None] = mapped_column(sa.Boolean)
    public_update_on_time: Mapped[bool | None] = mapped_column(sa.Boolean)
    public_content_complete: Mapped[bool | None] = mapped_column(sa.Boolean)
    fee_bearing: Mapped[bool | None] = mapped_column(sa.Boolean)
    citizen_subject: Mapped[bool | None] = mapped_column(sa.Boolean)
    e_certified_copy: Mapped[bool | None] = mapped_column(sa.Boolean)

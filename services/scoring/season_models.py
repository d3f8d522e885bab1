"""Tables of the season (self-assessment sheets, the appraisal dialogue, evidence files, publications).

In the scoring service's own schema, beside its other tables (models.py); created by migration 0002_season. The
points that count stay in ``leaf_scores`` (models.LeafScore): a draft here becomes self-assessed points there at
submission, and the council's verdicts go there through submissions.appraise — so the computation, the history
and the ranking have one source.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.scoring.models import Base
from shared.blobs import blob_table
from shared.db import UTCDateTime

# Evidence files' bytes (shared/blobs.py): in the database, so every replica serves them and backups hold them.
blobs = blob_table(Base.metadata)

DRAFT_POINTS = sa.Numeric(9, 3)  # a draft keeps what the unit typed, on any step the set allows


class SeasonSheet(Base):
    """One unit's sheet in one set: its season status (season.Status) and a version for optimistic locking."""

    __tablename__ = "season_sheets"
    set_id: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    unit_code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(24))
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(sa.String(200))


class SeasonLeaf(Base):
    """One leaf of a unit's sheet: the draft (points, thuyết minh), the council's verdict and the explanation asked
    for and given. ``version`` grows with every change: a form carries the version it read (optimistic locking)."""

    __tablename__ = "season_leaves"
    set_id: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    unit_code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    leaf_id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    points: Mapped[Decimal | None] = mapped_column(DRAFT_POINTS)
    explanation: Mapped[str | None] = mapped_column(sa.Text)
    verdict: Mapped[str | None] = mapped_column(sa.String(12))  # accepted | adjusted
    verdict_points: Mapped[Decimal | None] = mapped_column(DRAFT_POINTS)
    verdict_reason: Mapped[str | None] = mapped_column(sa.Text)
    request_text: Mapped[str | None] = mapped_column(sa.Text)
    request_deadline: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    answer_text: Mapped[str | None] = mapped_column(sa.Text)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(sa.String(200))


class SeasonFile(Base):
    """An evidence file (or a file given with an explanation): its name, type from its bytes, size and sha256."""

    __tablename__ = "season_files"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    set_id: Mapped[str] = mapped_column(sa.String(80))
    unit_code: Mapped[str] = mapped_column(sa.String(64))
    leaf_id: Mapped[str] = mapped_column(sa.String(40))
    purpose: Mapped[str] = mapped_column(sa.String(12))  # evidence | answer
    filename: Mapped[str] = mapped_column(sa.String(200))
    media_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by: Mapped[str] = mapped_column(sa.String(200))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (sa.Index("ix_season_files_leaf", "set_id", "unit_code", "leaf_id"),)


class SeasonAction(Base):
    """Every step of the season, with who and when: status moves, saves, verdicts, requests, answers."""

    __tablename__ = "season_actions"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    set_id: Mapped[str] = mapped_column(sa.String(80))
    unit_code: Mapped[str | None] = mapped_column(sa.String(64))
    leaf_id: Mapped[str | None] = mapped_column(sa.String(40))
    action: Mapped[str] = mapped_column(sa.String(24))
    from_status: Mapped[str | None] = mapped_column(sa.String(24))
    to_status: Mapped[str | None] = mapped_column(sa.String(24))
    actor: Mapped[str] = mapped_column(sa.String(200))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    detail: Mapped[Any | None] = mapped_column(sa.JSON)

    __table_args__ = (sa.Index("ix_season_actions_unit", "set_id", "unit_code"),)


class SeasonSettings(Base):
    """What the office (Sở Nội vụ) sets for a set's season: the deadline of explanations."""

    __tablename__ = "season_settings"
    set_id: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    explanation_deadline: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(sa.String(200))


class SeasonPublication(Base):
    """A published ranking of a set (công bố): the table as it was published, with the ranking version it was."""

    __tablename__ = "season_publications"
    set_id: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    number: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    ranking_version: Mapped[int] = mapped_column(sa.Integer)
    table: Mapped[Any] = mapped_column(sa.JSON)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    published_by: Mapped[str] = mapped_column(sa.String(200))

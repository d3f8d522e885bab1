"""Tables of the scoring service (its own schema)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime
from shared.outbox import OutboxMixin

# Points and indexes keep up to 3 decimals: a set chooses 2 or 3 (``precision``); values are exact either way.
POINTS = sa.Numeric(9, 3)


class Base(DeclarativeBase):
    pass


class CriteriaSetRow(Base):
    """A published criteria set (bộ tiêu chí); immutable: a correction is a new version."""

    __tablename__ = "criteria_sets"
    set_id: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    version: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer)
    unit_kind: Mapped[str] = mapped_column(sa.String(20))
    checksum: Mapped[str] = mapped_column(sa.String(64))
    definition: Mapped[Any] = mapped_column(sa.JSON)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Unit(Base):
    """The units scoring ranks, copied from the dossiers service (its registry), never read from its tables."""

    __tablename__ = "units"
    unit_code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    kind: Mapped[str] = mapped_column(sa.String(20), index=True)
    parent_code: Mapped[str | None] = mapped_column(sa.String(64))


class LeafScore(Base):
    """One unit's points on one leaf of a set: self-assessed (tự đánh giá), appraised (thẩm định), survey."""

    __tablename__ = "leaf_scores"
    set_id: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    unit_code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    leaf_id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    self_points: Mapped[Decimal | None] = mapped_column(POINTS)
    evidence: Mapped[Any | None] = mapped_column(sa.JSON)  # tài liệu kiểm chứng: references
    status: Mapped[str] = mapped_column(sa.String(12), default="draft")  # draft | submitted
    appraised_points: Mapped[Decimal | None] = mapped_column(POINTS)
    appraisal_reason: Mapped[str | None] = mapped_column(sa.String(2000))
    survey_points: Mapped[Decimal | None] = mapped_column(POINTS)
    not_applicable: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ScoreHistory(Base):
    """Every change to a score: who, when, old, new, why (appraisal disputes need it)."""

    __tablename__ = "score_history"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    set_id: Mapped[str] = mapped_column(sa.String(80))
    unit_code: Mapped[str] = mapped_column(sa.String(64))
    leaf_id: Mapped[str] = mapped_column(sa.String(40))
    kind: Mapped[str] = mapped_column(sa.String(20))  # self | appraisal | survey | status | not_applicable
    old_value: Mapped[str | None] = mapped_column(sa.String(100))
    new_value: Mapped[str | None] = mapped_column(sa.String(100))
    actor: Mapped[str] = mapped_column(sa.String(200))
    reason: Mapped[str | None] = mapped_column(sa.String(2000))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (sa.Index("ix_score_history_unit", "set_id", "unit_code", "leaf_id"),)


class MetricValue(Base):
    """A unit's yearly timeliness figures from timeliness_updated, for computed criteria."""

    __tablename__ = "metric_values"
    unit_code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    metric: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[Decimal | None] = mapped_column(sa.Numeric(7, 2), nullable=True)  # NULL: nothing to measure
    as_of: Mapped[dt.date | None] = mapped_column(sa.Date)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class UnitResultRow(Base):
    """A unit's computed totals for a set (the leaf-level sheet is recomputed on request, ~1 ms); the row is also
    the lock that serialises recalculation per unit."""

    __tablename__ = "unit_results"
    set_id: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    unit_code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    index: Mapped[Decimal | None] = mapped_column(POINTS)
    index_exact: Mapped[str | None] = mapped_column(sa.String(80))  # unrounded fraction "p/q", for the tie rule
    summary: Mapped[Any | None] = mapped_column(sa.JSON)  # totals and area indexes: what the ranking reads
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Ranking(Base):
    """A set's ranking: ``version`` increases with every change (ranking_updated); ``table`` is the table as
    ranked at ``table_version`` — behind ``version`` after a submission, rebuilt by the next read (recalc.py)."""

    __tablename__ = "rankings"
    set_id: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    version: Mapped[int] = mapped_column(sa.Integer, default=0)
    table: Mapped[Any | None] = mapped_column(sa.JSON)
    table_version: Mapped[int | None] = mapped_column(sa.Integer)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PlanItem(Base):
    """An item of a unit's yearly CCHC plan (kế hoạch CCHC)."""

    __tablename__ = "plan_items"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    unit_code: Mapped[str] = mapped_column(sa.String(64), index=True)
    year: Mapped[int] = mapped_column(sa.Integer)
    title: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[str] = mapped_column(sa.String(12))  # done | in_progress | not_started
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class OutboxEvent(OutboxMixin, Base):
    pass

"""Tables of the reports service (its own schema)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.blobs import blob_table
from shared.db import UTCDateTime


class Base(DeclarativeBase):
    pass


# The documents' bytes (shared/blobs.py): in this service's schema, so every replica serves every document and
# the database's backups hold them. DocumentFile.sha256 is the address.
blobs = blob_table(Base.metadata)


class DocumentSeries(Base):
    """One document over time (kind + key, e.g. ranking of "commune-2026"); its row is the lock that makes
    version numbers increase by exactly one per build, even with several replicas building at once."""

    __tablename__ = "document_series"
    kind: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    version: Mapped[int] = mapped_column(sa.Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class DocumentFile(Base):
    """One file of one version of a document: its name, its sha256 (the address of its bytes in ``blobs``), the
    figures it was built from (``sources``, e.g. the ranking version) and the token that downloads it."""

    __tablename__ = "document_files"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    key: Mapped[str] = mapped_column(sa.String(200))
    version: Mapped[int] = mapped_column(sa.Integer)
    format: Mapped[str] = mapped_column(sa.String(8))
    title: Mapped[str] = mapped_column(sa.String(500))
    filename: Mapped[str] = mapped_column(sa.String(300))
    size: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    content_hash: Mapped[str] = mapped_column(sa.String(64))  # of the layout model: same figures, same hash
    sources: Mapped[Any] = mapped_column(sa.JSON)
    token: Mapped[str] = mapped_column(sa.String(64))
    built_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        sa.UniqueConstraint("kind", "key", "version", "format", name="uq_document_files_version"),
        sa.Index("ix_document_files_series", "kind", "key", "version"),
    )


class KnownSet(Base):
    """A criteria set seen in ranking_updated or fetched for a document: which set to read a unit's index
    from for a year and kind of unit (the commitment's index target), the latest ranking version announced,
    and the one its ranking document was last built from (behind = a build is due)."""

    __tablename__ = "known_sets"
    set_id: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, index=True)
    unit_kind: Mapped[str] = mapped_column(sa.String(20))
    ranking_version: Mapped[int] = mapped_column(sa.Integer, default=0)
    built_version: Mapped[int] = mapped_column(sa.Integer, default=0)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class CommitmentTargets(Base):
    """The targets a unit committed to for a year, kept as first proposed so the year-end document compares
    the results with what was signed."""

    __tablename__ = "commitment_targets"
    unit_code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    targets: Mapped[Any] = mapped_column(sa.JSON)
    proposed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

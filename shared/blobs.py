"""Files kept in a service's own database, addressed by their sha256: every replica reads them, backups hold them.

A pod's disk is neither shared nor backed up; the service's database is both (docs/decisions.md). So the bytes of
a file live in a ``blobs`` table of the service's schema — ``bytea`` on PostgreSQL, ``BLOB`` on SQLite — under the
sha256 of their content, and the service's own rows (a document version, later an evidence file a unit uploads)
name them by that sha256. Identical content is stored once (a forced rebuild that renders the same bytes, the
same evidence attached twice); content is checked against its address when read, so a damaged value is never
served as if it were the file.

Each service adds the table to its models with :func:`blob_table` and creates it in its own migration; a
:class:`BlobStore` puts and gets bytes inside the caller's transaction, refusing anything above its size limit
(``max_bytes``: a file goes through memory, and through an RPC answer, whole).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.clock import utcnow
from shared.db import UTCDateTime, insert_ignore

__all__ = ["BlobCorrupted", "BlobMissing", "BlobRef", "BlobStore", "BlobTooLarge", "blob_table", "sha256_of"]


class BlobTooLarge(ValueError):
    """The file is larger than the store's limit: nothing was stored."""


class BlobMissing(LookupError):
    """No content is stored under that sha256 (a row written before the content was kept in the database)."""


class BlobCorrupted(RuntimeError):
    """The stored content no longer hashes to its address: never served."""


@dataclass(frozen=True)
class BlobRef:
    sha256: str
    size: int


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def blob_table(metadata: sa.MetaData, name: str = "blobs") -> sa.Table:
    """The table, in a service's own metadata (its Alembic migration creates it)."""
    return sa.Table(
        name,
        metadata,
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("stored_at", UTCDateTime(), nullable=False),
    )


class BlobStore:
    """Put and get file content by sha256 in the caller's session (so a file and the row naming it commit
    together, or neither does)."""

    def __init__(self, table: sa.Table, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes: {max_bytes} is not a positive size")
        self.table = table
        self.max_bytes = max_bytes

    def put(self, session: Session, data: bytes, *, field: str = "file") -> BlobRef:
        """Keep ``data`` (once, whatever how often it is put) and return its address.

        ``field`` names the input in the error a file above the limit raises (``documents.pdf: 12582912 bytes
        is above the limit of 10485760 bytes``).
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"{field}: expected bytes, got {type(data).__name__}")
        data = bytes(data)
        if len(data) > self.max_bytes:
            raise BlobTooLarge(f"{field}: {len(data)} bytes is above the limit of {self.max_bytes} bytes")
        ref = BlobRef(sha256_of(data), len(data))
        session.execute(insert_ignore(session, self.table),
                        [{"sha256": ref.sha256, "size": ref.size, "content": data, "stored_at": utcnow()}])
        return ref

    def get(self, session: Session, sha256: str) -> bytes:
        row = session.execute(sa.select(self.table.c.content).where(self.table.c.sha256 == sha256)).first()
        if row is None:
            raise BlobMissing(f"no content stored under sha256 {sha256}")
        data = bytes(row.content)
        if sha256_of(data) != sha256:
            raise BlobCorrupted(f"the content stored under sha256 {sha256} no longer matches it")
        return data

    def present(self, session: Session, sha256s: Iterable[str]) -> set[str]:
        """Which of these addresses have content (without reading it)."""
        wanted = sorted(set(sha256s))
        if not wanted:
            return set()
        found: Any = session.execute(sa.select(self.table.c.sha256).where(self.table.c.sha256.in_(wanted)))
        return {row.sha256 for row in found}

"""Where documents are kept: one row per file with version, time, sha256 and token; the bytes in the database.

The bytes go to the service's ``blobs`` table (shared/blobs.py) under their sha256, in the same transaction as
the row that names them: every replica serves every document, a restarted pod loses nothing, the database's
backups hold the documents, and a row is never committed without its content. A build takes the next version of
its (kind, key) under a row lock, so concurrent builds and several replicas never share a number. A file is
served only through its row: by id to the service's RPC callers, and over HTTP with the document's token or a
signed link that expires (links.py).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.reports import links
from services.reports.errors import NotFound
from services.reports.models import DocumentFile, DocumentSeries, blobs
from shared.blobs import BlobMissing, BlobStore
from shared.db import insert_ignore
from shared.local_time import local_iso

__all__ = ["MAX_ID", "StoredFile", "blob_store", "content", "current_files", "file_by_id", "file_for_download",
           "list_files", "record", "safe_segment"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_ID = 2**31 - 1  # document_files.id is an INTEGER: a larger id names no document (and must not reach SQL)


@dataclass(frozen=True)
class StoredFile:
    id: int
    kind: str
    key: str
    version: int
    format: str
    title: str
    filename: str
    size: int
    sha256: str
    token: str
    built_at: dt.datetime
    sources: Mapping[str, Any]

    def to_dict(self, link_expires: int) -> dict[str, Any]:
        """The file as the RPC answers describe it; ``url`` is a download link valid until ``link_expires``."""
        return {"id": self.id, "kind": self.kind, "key": self.key, "version": self.version, "format": self.format,
                "title": self.title, "filename": self.filename, "size": self.size, "sha256": self.sha256,
                "token": self.token, "url": links.signed_path(self.id, self.token, link_expires),
                "url_expires_at": local_iso(dt.datetime.fromtimestamp(link_expires, dt.UTC)),
                "built_at": local_iso(self.built_at), "sources": dict(self.sources)}


def safe_segment(text: str) -> str:
    """A file name part from an id: letters, digits, ".", "_", "-" only, never "." or ".."."""
    cleaned = _UNSAFE.sub("_", text).strip(".")
    return cleaned or "_"


def blob_store(max_bytes: int) -> BlobStore:
    """The documents' byte store, refusing files above ``max_bytes`` (``reports.max_document_bytes``)."""
    return BlobStore(blobs, max_bytes)


def _stored(row: DocumentFile) -> StoredFile:
    return StoredFile(row.id, row.kind, row.key, row.version, row.format, row.title, row.filename, row.size,
                      row.sha256, row.token, row.built_at, row.sources or {})


def current_files(session: Session, store: BlobStore, kind: str, key: str, content_hash: str,
                  formats: Iterable[str]) -> list[StoredFile] | None:
    """The latest version's files if it was built from the same content in every wanted format, else None."""
    latest = session.scalar(sa.select(sa.func.max(DocumentFile.version))
                            .where(DocumentFile.kind == kind, DocumentFile.key == key))
    if latest is None:
        return None
    rows = session.scalars(sa.select(DocumentFile).where(DocumentFile.kind == kind, DocumentFile.key == key,
                                                         DocumentFile.version == latest)).all()
    by_format = {row.format: row for row in rows if row.content_hash == content_hash}
    wanted = list(formats)
    if not all(fmt in by_format for fmt in wanted):
        return None
    files = [_stored(by_format[fmt]) for fmt in wanted]
    kept = store.present(session, (f.sha256 for f in files))
    return files if all(f.sha256 in kept for f in files) else None  # rows from before the bytes were kept here


def _lock_series(session: Session, kind: str, key: str, now: dt.datetime) -> DocumentSeries:
    session.execute(insert_ignore(session, DocumentSeries.__table__),
                    [{"kind": kind, "key": key, "version": 0, "updated_at": now}])
    query = sa.select(DocumentSeries).where(DocumentSeries.kind == kind, DocumentSeries.key == key)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalars(query).one()


def record(session: Session, store: BlobStore, *, kind: str, key: str, title: str, filename: str,
           content_hash: str, sources: Mapping[str, Any], files: Mapping[str, bytes], now: dt.datetime,
           force: bool = False) -> tuple[list[StoredFile], bool]:
    """Store one build: the next version of (kind, key), its bytes and rows, in the caller's transaction.

    Returns the files and whether they are new. Unless ``force``, a build whose content equals the latest
    version's (a concurrent or repeated build) stores nothing and returns the files already kept. A file above
    the store's limit refuses the whole build (BlobTooLarge names the format).
    """
    series = _lock_series(session, kind, key, now)
    if not force:
        existing = current_files(session, store, kind, key, content_hash, files)
        if existing is not None:
            return existing, False
    series.version += 1
    series.updated_at = now
    rows = []
    for fmt, data in files.items():
        ref = store.put(session, data, field=f"documents.{fmt}")
        rows.append(DocumentFile(kind=kind, key=key, version=series.version, format=fmt, title=title,
                                 filename=f"{safe_segment(filename)}.{fmt}", size=ref.size, sha256=ref.sha256,
                                 content_hash=content_hash, sources=dict(sources),
                                 token=secrets.token_urlsafe(24), built_at=now))
    session.add_all(rows)
    session.flush()
    return [_stored(row) for row in rows], True


def file_by_id(session: Session, file_id: Any) -> StoredFile:
    """The file with this id; NotFound for an unknown id, or anything that is not an id at all."""
    if not isinstance(file_id, int) or isinstance(file_id, bool) or not 1 <= file_id <= MAX_ID:
        raise NotFound(f"document_id: no document {file_id!r}")
    row = session.get(DocumentFile, file_id)
    if row is None:
        raise NotFound(f"document_id: no document {file_id!r}")
    return _stored(row)


def file_for_download(session: Session, file_id: int, *, bearer: str, expires: str, signature: str,
                      now: float) -> StoredFile:
    """The file a download names, if it shows the document's token or a valid, unexpired signed link; NotFound
    otherwise (a wrong token and an unknown id look the same)."""
    try:
        found = file_by_id(session, file_id)
    except NotFound:
        raise NotFound("document: no such document, or the link is not valid") from None
    if links.token_valid(found.token, bearer) or links.link_valid(found.token, found.id, expires, signature, now):
        return found
    raise NotFound("document: no such document, or the link is not valid")


def content(session: Session, store: BlobStore, file: StoredFile) -> bytes:
    """The file's bytes; NotFound if they were never kept in the database (a row from before they were)."""
    try:
        return store.get(session, file.sha256)
    except BlobMissing:
        raise NotFound("document: its content is no longer stored; build the document again") from None


def key_unit(session: Session) -> sa.ColumnElement[str]:
    """The unit a document's key names (``"07900/2026-H2"`` → ``"07900"``), as SQL of this database."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.split_part(DocumentFile.key, "/", 1)
    return sa.func.substr(DocumentFile.key, 1, sa.func.instr(DocumentFile.key + "/", "/") - 1)


def list_files(session: Session, kind: str | None = None, key: str | None = None, latest_only: bool = True,
               limit: int = 100, unit_codes: Sequence[str] | None = None) -> list[StoredFile]:
    """Kept files, newest first. ``unit_codes``: only the province-wide ranking decisions and the documents of
    these units (a reader with a scope gets his newest ``limit``, not the province's, filtered afterwards)."""
    query = sa.select(DocumentFile)
    if kind:
        query = query.where(DocumentFile.kind == kind)
    if key:
        query = query.where(DocumentFile.key == key)
    if unit_codes is not None:
        query = query.where(sa.or_(DocumentFile.kind == "ranking", key_unit(session).in_(sorted(set(unit_codes)))))
    if latest_only:
        latest = (sa.select(DocumentFile.kind, DocumentFile.key, sa.func.max(DocumentFile.version).label("v"))
                  .group_by(DocumentFile.kind, DocumentFile.key).subquery())
        query = query.join(latest, sa.and_(DocumentFile.kind == latest.c.kind, DocumentFile.key == latest.c.key,
                                           DocumentFile.version == latest.c.v))
    rows = session.scalars(query.order_by(DocumentFile.built_at.desc(), DocumentFile.id.desc()).limit(limit)).all()
    return [_stored(row) for row in rows]

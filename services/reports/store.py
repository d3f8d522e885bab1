"""Where documents are kept: files under the output folder, one row per file with version, time and sha256.

Layout on disk: ``<output_dir>/<kind>/<key>/v<version>/<filename>.<format>`` (kind and key reduced to safe
path segments). A build takes the next version of its (kind, key) under a row lock, so concurrent builds and
several replicas never share a number; files are written to a temporary name and renamed, so a reader never
sees half a file, and the row is committed only with its file in place. A file is served only through a row
(id + token) and only from inside the output folder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.reports.errors import NotFound
from services.reports.models import DocumentFile, DocumentSeries
from shared.db import insert_ignore
from shared.local_time import local_iso

__all__ = ["StoredFile", "confined", "current_files", "file_by_id", "file_by_token", "list_files", "record",
           "safe_segment"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class StoredFile:
    id: int
    kind: str
    key: str
    version: int
    format: str
    title: str
    path: Path
    size: int
    sha256: str
    token: str
    built_at: dt.datetime
    sources: Mapping[str, Any]

    @property
    def url(self) -> str:
        return f"/documents/{self.id}?token={self.token}"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "key": self.key, "version": self.version, "format": self.format,
                "title": self.title, "path": str(self.path), "filename": self.path.name, "size": self.size,
                "sha256": self.sha256, "token": self.token, "url": self.url, "built_at": local_iso(self.built_at),
                "sources": dict(self.sources)}


def safe_segment(text: str) -> str:
    """A path segment from an id: letters, digits, ".", "_", "-" only, never "." or ".."."""
    cleaned = _UNSAFE.sub("_", text).strip(".")
    return cleaned or "_"


def confined(output_dir: Path, relative: str) -> Path:
    """The absolute path of a stored file, refusing anything that resolves outside the output folder."""
    root = output_dir.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or path == root:
        raise NotFound(f"path: {relative!r} is outside the document folder")
    return path


def _stored(row: DocumentFile, output_dir: Path) -> StoredFile:
    return StoredFile(row.id, row.kind, row.key, row.version, row.format, row.title, confined(output_dir, row.path),
                      row.size, row.sha256, row.token, row.built_at, row.sources or {})


def current_files(session: Session, output_dir: Path, kind: str, key: str, content_hash: str,
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
    files = [_stored(by_format[fmt], output_dir) for fmt in wanted]
    return files if all(f.path.is_file() for f in files) else None


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def _lock_series(session: Session, kind: str, key: str, now: dt.datetime) -> DocumentSeries:
    session.execute(insert_ignore(session, DocumentSeries.__table__),
                    [{"kind": kind, "key": key, "version": 0, "updated_at": now}])
    query = sa.select(DocumentSeries).where(DocumentSeries.kind == kind, DocumentSeries.key == key)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalars(query).one()


def record(session: Session, output_dir: Path, *, kind: str, key: str, title: str, filename: str,
           content_hash: str, sources: Mapping[str, Any], files: Mapping[str, bytes], now: dt.datetime,
           force: bool = False) -> tuple[list[StoredFile], bool]:
    """Store one build: the next version of (kind, key), its files and rows, in the caller's transaction.

    Returns the files and whether they are new. Unless ``force``, a build whose content equals the latest
    version's (a concurrent or repeated build) stores nothing and returns the files already kept.
    """
    series = _lock_series(session, kind, key, now)
    if not force:
        existing = current_files(session, output_dir, kind, key, content_hash, files)
        if existing is not None:
            return existing, False
    series.version += 1
    series.updated_at = now
    folder = Path(safe_segment(kind)) / safe_segment(key) / f"v{series.version}"
    written: list[Path] = []
    try:
        rows = []
        for fmt, data in files.items():
            relative = folder / f"{safe_segment(filename)}.{fmt}"
            path = confined(output_dir, str(relative))
            _write_atomically(path, data)
            written.append(path)
            rows.append(DocumentFile(kind=kind, key=key, version=series.version, format=fmt, title=title,
                                     path=relative.as_posix(), size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                                     content_hash=content_hash, sources=dict(sources),
                                     token=secrets.token_urlsafe(24), built_at=now))
        session.add_all(rows)
        session.flush()
    except BaseException:
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()
        raise
    return [_stored(row, output_dir) for row in rows], True


def file_by_token(session: Session, output_dir: Path, file_id: int, token: str) -> StoredFile:
    """The file a download link names, if the token matches (compared in constant time); else NotFound."""
    row = session.get(DocumentFile, file_id)
    if row is None or not token or not hmac.compare_digest(row.token.encode(), token.encode()):
        raise NotFound("document: no such document, or the token does not match")
    stored = _stored(row, output_dir)
    if not stored.path.is_file():
        raise NotFound("document: the file is no longer in the document folder")
    return stored


def list_files(session: Session, output_dir: Path, kind: str | None = None, key: str | None = None,
               latest_only: bool = True, limit: int = 100) -> list[StoredFile]:
    query = sa.select(DocumentFile)
    if kind:
        query = query.where(DocumentFile.kind == kind)
    if key:
        query = query.where(DocumentFile.key == key)
    if latest_only:
        latest = (sa.select(DocumentFile.kind, DocumentFile.key, sa.func.max(DocumentFile.version).label("v"))
                  .group_by(DocumentFile.kind, DocumentFile.key).subquery())
        query = query.join(latest, sa.and_(DocumentFile.kind == latest.c.kind, DocumentFile.key == latest.c.key,
                                           DocumentFile.version == latest.c.v))
    rows = session.scalars(query.order_by(DocumentFile.built_at.desc(), DocumentFile.id.desc()).limit(limit)).all()
    return [_stored(row, output_dir) for row in rows]


def file_by_id(session: Session, output_dir: Path, file_id: int) -> StoredFile:
    """A kept file by id alone, for callers that checked the reader's rights themselves (the web service)."""
    row = session.get(DocumentFile, file_id)
    if row is None:
        raise NotFound(f"document_id: no document {file_id}")
    stored = _stored(row, output_dir)
    if not stored.path.is_file():
        raise NotFound("document: the file is no longer in the document folder")
    return stored

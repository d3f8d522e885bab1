"""Keeping and reading documents in PostgreSQL (reports' blobs table) against the files on a pod's disk they replace.

Both measured in the same run, on the same bytes (a PDF-sized random payload, incompressible like a PDF), so the
ratio holds on a shared machine: per document, ``store.record`` of one version in one transaction and
``store.content`` of it, against writing the same bytes to a file with fsync and reading it back (what the
service did before). A throw-away PostgreSQL schema; nothing kept. No asserts.

    .venv/bin/python bench/document_store.py [--documents 200] [--kib 250]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from services.reports import store  # noqa: E402
from shared.config import load_config  # noqa: E402
from shared.db import open_database  # noqa: E402
from tests.support import PG_URL, pg_schema_prefix  # noqa: E402


def _files(payloads: list[bytes], folder: Path) -> tuple[list[float], list[float]]:
    writes, reads = [], []
    for i, data in enumerate(payloads):
        path = folder / f"v{i}" / "document.pdf"
        started = time.perf_counter()
        path.parent.mkdir(parents=True)
        with open(path, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        writes.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert path.read_bytes() == data
        reads.append(time.perf_counter() - started)
    return writes, reads


def _database(payloads: list[bytes], db) -> tuple[list[float], list[float]]:
    blobs = store.blob_store(len(payloads[0]) + 1)
    now = dt.datetime.now(dt.UTC)
    writes, reads = [], []
    for i, data in enumerate(payloads):
        started = time.perf_counter()
        with db.transaction() as session:
            [kept], _ = store.record(session, blobs, kind="ranking", key="bench", title="bench", filename="document",
                                     content_hash=str(i), sources={}, files={"pdf": data}, now=now)
        writes.append(time.perf_counter() - started)
        started = time.perf_counter()
        with db.transaction() as session:
            assert store.content(session, blobs, store.file_by_id(session, kept.id)) == data
        reads.append(time.perf_counter() - started)
    return writes, reads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--kib", type=int, default=250, help="size of each document (the ranking PDF: ~250 KiB)")
    args = parser.parse_args()
    payloads = [secrets.token_bytes(args.kib * 1024) for _ in range(args.documents)]
    with pg_schema_prefix() as schema, tempfile.TemporaryDirectory() as folder:
        db = open_database(load_config(DATABASE_URL=PG_URL, DATABASE_SCHEMA=schema), "reports")
        try:
            _database(payloads[:5], db)  # warm-up: pool, statements
            db_write, db_read = _database(payloads, db)
        finally:
            db.engine.dispose()
        file_write, file_read = _files(payloads, Path(folder))
    print(f"{args.documents} documents of {args.kib} KiB (load average {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} CPUs), median per document:")
    for what, database, files in (("keep", db_write, file_write), ("read", db_read, file_read)):
        db_ms, file_ms = statistics.median(database) * 1000, statistics.median(files) * 1000
        print(f"  {what}: PostgreSQL {db_ms:.2f} ms, file with fsync (baseline) {file_ms:.2f} ms, "
              f"ratio {db_ms / file_ms:.2f}")


if __name__ == "__main__":
    main()

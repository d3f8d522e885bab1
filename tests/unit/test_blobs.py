"""shared/blobs.py on its own, as another service would use it (its own table name, its own limit): content stored
once under its sha256, read back checked, anything above the limit or not bytes refused with the field named."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.blobs import BlobMissing, BlobStore, BlobTooLarge, blob_table


@pytest.fixture
def evidence():
    metadata = sa.MetaData()
    table = blob_table(metadata, "evidence_blobs")
    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        yield session, BlobStore(table, max_bytes=16)


def test_content_is_stored_once_under_its_sha256_and_read_back(evidence) -> None:
    session, store = evidence
    first = store.put(session, b"bien-ban.pdf")
    again = store.put(session, bytearray(b"bien-ban.pdf"))
    other = store.put(session, b"")
    assert first == again and first.sha256 == hashlib.sha256(b"bien-ban.pdf").hexdigest() and first.size == 12
    assert session.scalar(sa.select(sa.func.count()).select_from(store.table)) == 2
    assert store.get(session, first.sha256) == b"bien-ban.pdf" and store.get(session, other.sha256) == b""
    assert store.present(session, [first.sha256, "0" * 64]) == {first.sha256} and store.present(session, []) == set()
    with pytest.raises(BlobMissing):
        store.get(session, "0" * 64)


def test_too_large_or_not_bytes_is_refused_naming_the_field(evidence) -> None:
    session, store = evidence
    with pytest.raises(BlobTooLarge, match=r"^evidence\[2\]\.file: 17 bytes is above the limit of 16 bytes$"):
        store.put(session, b"x" * 17, field="evidence[2].file")
    with pytest.raises(TypeError, match="file: expected bytes, got str"):
        store.put(session, "text")  # type: ignore[arg-type]
    assert session.scalar(sa.select(sa.func.count()).select_from(store.table)) == 0
    with pytest.raises(ValueError, match="max_bytes"):
        BlobStore(store.table, max_bytes=0)

"""Fixtures of the service tests that need a database but no broker."""

import contextlib
from collections.abc import Iterator

import pytest

from shared.config import load_config
from shared.db import Database, open_database
from tests.support import PG_URL, pg_schema_prefix


@contextlib.contextmanager
def migrated(request, tmp_path, service: str) -> Iterator[Database]:
    """``service``'s database, migrated, on the backend ``request.param`` names: SQLite (the embedded default) or
    a fresh PostgreSQL schema (dropped afterwards)."""
    if request.param == "sqlite":
        db = open_database(load_config(DATABASE_URL=f"sqlite:///{tmp_path}/<service>.db"), service)
        yield db
        db.engine.dispose()
    else:
        request.applymarker(pytest.mark.integration)
        with pg_schema_prefix() as schema:
            db = open_database(load_config(DATABASE_URL=PG_URL, DATABASE_SCHEMA=schema), service)
            yield db
            db.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """The dossiers service's database on SQLite and on PostgreSQL."""
    with migrated(request, tmp_path, "dossiers") as db:
        yield db


@pytest.fixture(params=["sqlite", "postgresql"])
def notifications_database(request, tmp_path):
    """The notifications service's database on SQLite and on PostgreSQL."""
    with migrated(request, tmp_path, "notifications") as db:
        yield db


@pytest.fixture(params=["sqlite", "postgresql"])
def scoring_database(request, tmp_path):
    """The scoring service's database on SQLite and on PostgreSQL."""
    with migrated(request, tmp_path, "scoring") as db:
        yield db

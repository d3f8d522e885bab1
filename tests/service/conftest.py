"""Fixtures of the service tests that need a database but no broker."""

import contextlib
from collections.abc import Iterator

import pytest

from services.dossiers.index766 import store
from shared.clock import pinned
from shared.config import load_config
from shared.db import Database, open_database
from shared.events import parse_event
from tests.service.test_index766_store import NOW, RULES, month_of_events
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


@pytest.fixture
def month_cli_database(tmp_path, monkeypatch):
    """A generated month of one-door traffic with its 766 facts in a SQLite file the ``cchc`` commands read
    (``DATABASE_URL`` set for them), the clock pinned to the month's end."""
    url = f"sqlite:///{tmp_path}/<service>.db"
    monkeypatch.setenv("DATABASE_URL", url)
    db = open_database(load_config(DATABASE_URL=url), "dossiers")
    with db.transaction() as session:
        store.ingest_with_facts(session, [parse_event(e) for e in month_of_events()], RULES, NOW)
    db.engine.dispose()
    with pinned(NOW):
        yield url

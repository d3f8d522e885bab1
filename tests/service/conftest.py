"""Fixtures of the service tests that need a database but no broker."""

import pytest

from shared.config import load_config
from shared.db import open_database
from tests.support import PG_URL, pg_schema_prefix


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """The dossiers service's database, migrated: SQLite (the embedded default) and a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        db = open_database(load_config(DATABASE_URL=f"sqlite:///{tmp_path}/<service>.db"), "dossiers")
        yield db
    else:
        request.applymarker(pytest.mark.integration)
        with pg_schema_prefix() as schema:
            db = open_database(load_config(DATABASE_URL=PG_URL, DATABASE_SCHEMA=schema), "dossiers")
            yield db
            db.engine.dispose()

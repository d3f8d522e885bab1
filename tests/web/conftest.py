"""Fixtures of the web application's tests: its own database (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config import load_config
from shared.db import open_database
from tests.support import PG_URL, pg_schema_prefix


@pytest.fixture(params=["sqlite", "postgresql"])
def web_config(request, tmp_path):
    """A config whose web schema is fresh: SQLite files in a temporary folder, or a throw-away PostgreSQL schema."""
    if request.param == "sqlite":
        yield load_config(DATABASE_URL=f"sqlite:///{tmp_path}/<service>.db")
    else:
        request.applymarker(pytest.mark.integration)
        with pg_schema_prefix() as schema:
            yield load_config(DATABASE_URL=PG_URL, DATABASE_SCHEMA=schema)


@pytest.fixture
def web_db(web_config):
    db = open_database(web_config, "web")
    yield db
    db.engine.dispose()


# Full-page screenshots of every page the browser tests visit (tests/web/browser_scenarios.py writes them).
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"

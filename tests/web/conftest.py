"""Fixtures of the web application's tests: its own database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.config import load_config
from shared.db import open_database
from tests.support import PG_URL, pg_schema_prefix
from tests.web.stack import LUNCH_BREAK, Stack, web_stack


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


@pytest.fixture(scope="session")
def lunch_stack(tmp_path_factory) -> Iterator[Stack]:
    """One whole running system (tests/web/stack.py) at ``LUNCH_BREAK`` for every browser module that can share it
    (test_browser.py, test_season_browser.py): starting and stopping one took ~20 s of each module. Each module
    keeps to its own data (its own criteria set, units and usernames) and leaves the stack whole (a module that
    stops a service starts it again); each pins its own clock to the stack's with ``Stack.pinned``."""
    with web_stack(tmp_path_factory.mktemp("lunch-stack"), LUNCH_BREAK) as stack:
        yield stack


def pytest_collection_modifyitems(session, config, items) -> None:
    """Run the modules sharing ``lunch_stack`` one after another, where the last of them was: the stack starts with
    the first and stops at the end of the session, so it would otherwise idle, five processes strong, beside the
    modules collected between them."""
    users = [item for item in items if "lunch_stack" in getattr(item, "fixturenames", ())]
    if len(users) < 2:
        return
    last, moved = items.index(users[-1]), set(map(id, users))
    others = [item for item in items[:last] if id(item) not in moved]
    items[:last + 1] = others + users

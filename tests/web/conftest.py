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


# -- a real browser: Playwright driving Debian's chromium ------------------------------------------------------
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-dev-shm-usage"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the whole run (each test opens its own context: cookies never leak between tests).

    Playwright's sync API runs its own asyncio loop in a greenlet; under eventlet's monkey-patching (which the
    services in this process need) its ``stop()`` waits forever for the driver's exit. So at the end the browser
    is closed and the driver process killed, and ``stop()`` is not called."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    manager = sync_playwright()
    playwright = manager.start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield chromium
    finally:
        chromium.close()
        driver = getattr(getattr(manager, "_client", None), "_transport", None)
        process = getattr(driver, "_proc", None)
        if process is not None and process.returncode is None:
            process.kill()

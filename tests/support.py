"""Helpers for tests: wait on a condition with a deadline (never sleep-and-hope), fresh isolated resources."""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

T = TypeVar("T")

_ICT = dt.timezone(dt.timedelta(hours=7))
#: Instants at which tests that judge deadlines replay their streams (``pinned_now`` fixture, option
#: ``--pinned-times``): a test's outcome must not depend on the hour it runs at, so it runs at these instead of
#: the wall clock. Each was chosen so that the streams of the fault tests hold open overdue dossiers then.
PINNED_TIMES = {
    "early-morning": dt.datetime(2026, 12, 7, 6, 0, tzinfo=_ICT),  # Monday, before the offices open
    "lunch-break": dt.datetime(2026, 12, 8, 12, 15, tzinfo=_ICT),  # Tuesday, between the two sessions
    "after-hours": dt.datetime(2026, 12, 9, 19, 0, tzinfo=_ICT),  # Wednesday evening
    "weekend": dt.datetime(2026, 12, 12, 10, 0, tzinfo=_ICT),  # Saturday
    "after-holiday": dt.datetime(2026, 9, 3, 8, 0, tzinfo=_ICT),  # Thursday after 29/8-2/9 (National Day, 2026)
}

PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
RABBIT = "pyamqp://guest:guest@127.0.0.1:5672"


def free_port() -> int:
    """A port nothing listens on now: tests never hard-code one, so several runs on one machine never collide."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, bytes]:
    """Status and body of a GET (an error status is an answer, not an exception; no answer at all is 0)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def wait_until(probe: Callable[[], T], timeout: float = 30.0, interval: float = 0.05, message: str = "condition") -> T:
    """Poll ``probe`` until it returns something truthy; fail loudly with the last value at the deadline."""
    deadline = time.monotonic() + timeout
    value: Any = None
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}; last value: {value!r}")


@contextlib.contextmanager
def rabbit_vhost() -> Iterator[str]:
    """A throw-away RabbitMQ vhost: exchanges and queues of one test never leak into another.

    Deleted in the background (``_delete_vhost_later``): each ``rabbitmqctl`` boots an Erlang VM (~0.5 s, twice
    that on a busy machine) and nothing waits for a deleted vhost."""
    name = f"cchc_test_{uuid.uuid4().hex[:10]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", name], check=True, capture_output=True)
    subprocess.run(
        ["rabbitmqctl", "-q", "set_permissions", "-p", name, "guest", ".*", ".*", ".*"], check=True, capture_output=True
    )
    try:
        yield f"{RABBIT}/{name}"
    finally:
        _delete_vhost_later(name)


_vhost_deletions: dict[str, subprocess.Popen] = {}


def _delete_vhost_later(name: str) -> None:
    for done in [n for n, p in _vhost_deletions.items() if p.poll() == 0]:
        del _vhost_deletions[done]
    _vhost_deletions[name] = subprocess.Popen(["rabbitmqctl", "-q", "delete_vhost", name],
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@atexit.register
def _finish_vhost_deletions() -> None:
    """Wait for the deletions still running and retry, once and in the foreground, those that failed (a fault test
    may have stopped the broker meanwhile), so that no test leaves a vhost behind on the shared broker."""
    for name, process in _vhost_deletions.items():
        try:
            if process.wait(timeout=60) != 0:
                subprocess.run(["rabbitmqctl", "-q", "delete_vhost", name], capture_output=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            pass  # a vhost left behind is litter, not a failure of the run


@contextlib.contextmanager
def pg_schema_prefix() -> Iterator[str]:
    """A unique schema name template (``<service>`` kept) dropped afterwards, with everything in it."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    try:
        yield f"{prefix}_<service>"
    finally:
        engine = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg2://"))
        with engine.begin() as conn:
            schemas = (
                conn.execute(sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"), {"p": f"{prefix}_%"})
                .scalars()
                .all()
            )
            for schema in schemas:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def handbook() -> Path:
    """The read-only handbook (spec/, data/) beside the checkout: ``../shared`` from the main checkout, further up
    from a worktree (``/work/wt/<branch>`` → ``/work/shared``)."""
    here = Path(__file__).resolve().parents[1]
    for folder in (here, *here.parents):
        candidate = folder.parent / "shared"
        if (candidate / "spec").is_dir() and (candidate / "data").is_dir():
            return candidate
    raise FileNotFoundError("the handbook folder (../shared with spec/ and data/) is not beside the checkout")


def handbook_data(name: str) -> Path:
    """A reference file of the handbook's ``data`` folder."""
    return handbook() / "data" / name

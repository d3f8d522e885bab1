"""The time every service stamps and judges with: aware UTC, so comparisons never mix naive and local times.

One clock for every process, with one knob: ``CCHC_CLOCK_SHIFT_SECONDS`` moves it by a fixed amount. Tests and
demos that replay a stream generated for another instant (an early morning, a weekend, the day after a holiday)
set it so that the services judge deadlines at that instant; since the shift is a number, not a start time,
every process of a run agrees on "now" whenever it started, and the clock still moves (timers, back-offs and
time-outs behave as in production). Production never sets it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator, Mapping
from typing import Any

from shared.config import section

SHIFT_ENV = "CCHC_CLOCK_SHIFT_SECONDS"


def _shift_from_env() -> dt.timedelta:
    raw = os.environ.get(SHIFT_ENV, "").strip()
    if not raw:
        return dt.timedelta(0)
    try:
        return dt.timedelta(seconds=float(raw))
    except ValueError:
        raise ValueError(f"{SHIFT_ENV}: expected a number of seconds, got {raw!r}") from None


_shift = _shift_from_env()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + _shift


def shift() -> dt.timedelta:
    """How far this process's clock is from the real one (zero in production)."""
    return _shift


@contextlib.contextmanager
def pinned(at: dt.datetime) -> Iterator[dict[str, str]]:
    """Make ``utcnow()`` read ``at`` now (and move on from there), in this process and in every process started
    with the environment it yields; restores the real clock afterwards."""
    global _shift
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("pinned: `at` must be timezone-aware")
    before, before_env = _shift, os.environ.get(SHIFT_ENV)
    _shift = at - dt.datetime.now(dt.UTC)
    value = f"{_shift.total_seconds():.6f}"
    os.environ[SHIFT_ENV] = value
    try:
        yield {SHIFT_ENV: value}
    finally:
        _shift = before
        if before_env is None:
            os.environ.pop(SHIFT_ENV, None)
        else:
            os.environ[SHIFT_ENV] = before_env


def retention_cutoff(config: Mapping[str, Any]) -> tuple[dt.datetime, int]:
    """Personal data older than this instant is erased (``privacy.retention_days``); returns it and the days."""
    days = int(section(config, "privacy")["retention_days"])
    return utcnow() - dt.timedelta(days=days), days

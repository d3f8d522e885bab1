"""Rough throughput of the working calendar's hot calls (no asserts: a number to watch, not a test).

The dossier service recomputes due dates for every dossier touched by an event batch, so these two calls
run hundreds of thousands of times; a call should stay well under ~20 µs for spans up to 30 working days.

Run: .venv/bin/python bench/calendar_bench.py
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta

from shared.calendar import LOCAL_TZ, WorkingCalendar

CALLS = 100_000


def _random_inputs(rng: random.Random) -> list[tuple[datetime, int, date, int]]:
    """Receipts spread over 2024-2026 at any minute of the day, with spans of up to 30 working days."""
    origin = datetime(2024, 1, 1, tzinfo=LOCAL_TZ)
    inputs = []
    for _ in range(CALLS):
        start = origin + timedelta(minutes=rng.randrange(3 * 366 * 24 * 60))
        inputs.append((start, rng.randrange(1, 30 * 480), start.date(), rng.randrange(1, 31)))
    return inputs


def _rate(label: str, func: Callable[..., object], args: list[tuple[object, ...]]) -> None:
    began = time.perf_counter()
    for call_args in args:
        func(*call_args)
    elapsed = time.perf_counter() - began
    print(f"{label:<24} {len(args) / elapsed:>12,.0f} calls/s  {elapsed / len(args) * 1e6:6.2f} µs/call")


def main() -> None:
    rng = random.Random(766)
    calendar = WorkingCalendar()
    inputs = _random_inputs(rng)
    calendar.add_working_days(date(2027, 6, 1), 1)  # warm the per-year tables: steady state is what counts
    _rate("add_working_minutes", calendar.add_working_minutes, [(s, m) for s, m, _, _ in inputs])
    _rate("add_working_days", calendar.add_working_days, [(d, n) for _, _, d, n in inputs])
    pairs = [(s, s + timedelta(days=n)) for s, _, _, n in inputs]
    _rate("working_minutes_between", calendar.working_minutes_between, pairs)


if __name__ == "__main__":
    main()

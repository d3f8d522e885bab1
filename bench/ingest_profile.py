"""Where the dossiers service's ingest time goes, batch by batch, in one process (helper of ingest_throughput.py).

Feeds the same generated stream through the two pieces the batch consumer runs per batch — ``parse_event``
(validation at the edge, in the consume loop) and ``ingest.ingest_batch`` (one transaction) — on a fresh
PostgreSQL schema, without the broker, and prints the time of each phase plus a cProfile of the top calls.
With ``--eventlet`` the process is monkey-patched first, as ``nameko run`` does (psycopg2 then waits through
eventlet's hub on every round trip).

Run: .venv/bin/python bench/ingest_profile.py [--events 100000] [--batch 500] [--eventlet] [--profile]
"""

from __future__ import annotations

import sys

if "--eventlet" in sys.argv:
    import eventlet

    eventlet.monkey_patch()

import argparse
import cProfile
import datetime as dt
import io
import json
import pstats
import time
import uuid
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402

from bench.ingest_throughput import DATABASE_URL, make_traffic  # noqa: E402
from services.dossiers import ingest, ingest_pg  # noqa: E402
from services.dossiers.rules import rules_from_config  # noqa: E402
from shared.config import load_config  # noqa: E402
from shared.db import open_database  # noqa: E402
from shared.events import parse_event  # noqa: E402

PROFILE_SORT = "tottime" if "--tottime" in sys.argv else "cumulative"
PHASES = ("derive", "_record_rejections", "_without_lost")
PG_PHASES = ("lock_and_load", "write", "update_dossiers")


def instrument(timings: dict[str, float]) -> None:
    """Wrap the module-level helpers ingest_batch calls, so each phase's wall time is summed."""

    def wrap(name: str, func):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                timings[name] += time.perf_counter() - started
        return timed

    for name in PHASES:
        setattr(ingest, name, wrap(name, getattr(ingest, name)))
    for name in PG_PHASES:
        setattr(ingest_pg, name, wrap(name, getattr(ingest_pg, name)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--eventlet", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--tottime", action="store_true", help="sort the profile by own time")
    args = parser.parse_args()

    traffic, _ = make_traffic(args.events, 766)
    bodies = [json.dumps(m, ensure_ascii=False).encode() for m in traffic.messages]
    schema = f"bench_profile_{uuid.uuid4().hex[:8]}"
    config = load_config(DATABASE_URL=DATABASE_URL, DATABASE_SCHEMA=schema)
    rules = rules_from_config(config)
    database = open_database(config, "dossiers")
    timings: dict[str, float] = defaultdict(float)
    instrument(timings)
    profiler = cProfile.Profile() if args.profile else None
    try:
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        parse_seconds = 0.0
        batch_seconds = 0.0
        for offset in range(0, len(bodies), args.batch):
            t0 = time.perf_counter()
            events = [parse_event(body, max_bytes=65536) for body in bodies[offset:offset + args.batch]]
            t1 = time.perf_counter()
            with database.transaction() as session:
                ingest.ingest_batch(session, events, rules, dt.datetime.now(dt.UTC))
            t2 = time.perf_counter()
            parse_seconds += t1 - t0
            batch_seconds += t2 - t1
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - started
        with database.engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT count(*) FROM dossier_events")).scalar_one()
        n = len(bodies)
        print(f"{n:,} messages ({stored:,} stored) in batches of {args.batch}: {elapsed:.1f} s, "
              f"{n / elapsed:,.0f} msg/s"
              f"{' (eventlet)' if args.eventlet else ''}")
        print(f"  parse_event        {parse_seconds:7.2f} s  {parse_seconds / n * 1e6:7.1f} µs/msg")
        print(f"  ingest_batch       {batch_seconds:7.2f} s  {batch_seconds / n * 1e6:7.1f} µs/msg  (incl. commit)")
        accounted = 0.0
        for name in PG_PHASES + PHASES:
            if name in timings:
                accounted += timings[name]
                print(f"    {name:<18} {timings[name]:7.2f} s")
        print(f"    {'rest (row building, commit)':<18} {batch_seconds - accounted:7.2f} s")
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(PROFILE_SORT).print_stats(45)
            print(out.getvalue())
    finally:
        database.engine.dispose()
        engine = sa.create_engine(DATABASE_URL.replace("postgresql://", "postgresql+psycopg2://"))
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


if __name__ == "__main__":
    main()

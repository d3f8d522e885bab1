"""Does ingest stay flat as history grows? Several stream sizes, one run, printed side by side.

Prints figures, asserts nothing (the machine is shared: ratios against a baseline measured in the same run).

For each size in ``--sizes`` (messages, duplicates included) one run:
1. generates the seeded one-door stream (``cchc.traffic.generate``: a half-year, shuffled, 20% duplicates;
   ``--order arrival`` sorts it by event time instead);
2. baseline: a raw pika consumer drains the same stream pre-published into its own queue (messages/s);
3. the dossiers service, one process, drains the pre-published stream with the **production timer intervals**
   (``stats_publish_interval_seconds`` 5, the deadline scan every 60 s, the outbox relay every 1 s): the timers'
   cost grows with history if anything does, so they must run (bench/ingest_throughput.py turns them off);
   completion is polled cheaply (the service's own acknowledged-messages counter, then one ``count(*)``), never
   with a ``count(*)`` per poll, whose cost would itself grow with the table;
4. records msg/s, the service's and PostgreSQL's CPU per message (PostgreSQL: the cluster's own processes only),
   PostgreSQL's work per message (buffers touched and read, WAL bytes, full-page images, checkpoints: counts that
   a busy machine does not change, unlike CPU time), and PostgreSQL's top statements by total time — from
   ``pg_stat_statements`` when the server has it loaded, otherwise from sampling ``pg_stat_activity`` every 20 ms
   (time share per statement);
5. times ``period_stats`` (the province root, the year and the latest month; p50/p95 of ``--reads`` calls,
   in-process on the trial's schema) and checks the run: distinct events, dossiers, per-unit final states against
   the generator's ground truth, and the counters against a full recomputation (``stats_verify``).

The shared PostgreSQL has no ``pg_stat_statements`` loaded and must not be restarted; ``--pg-port`` points the bench
at a private cluster started with ``-c shared_preload_libraries=pg_stat_statements`` (docs/operations.md shows how).
RabbitMQ: a throw-away vhost per run, so the bench never touches the shared ``dossiers.ingest`` queue.

Run: .venv/bin/python bench/ingest_scale.py [--sizes 100000,400000,1600000] [--pg-port 5432] [--reads 40] [--repeat 1]
     [--order shuffled|arrival]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import pika  # noqa: E402
import psycopg2  # noqa: E402

import bench.ingest_throughput as it  # noqa: E402
from cchc.traffic import GeneratedTraffic  # noqa: E402
from services.dossiers import reads  # noqa: E402
from services.dossiers.periods import PeriodKind, period_containing  # noqa: E402
from services.dossiers.rules import rules_from_config  # noqa: E402
from shared.config import load_config  # noqa: E402
from shared.db import make_engine  # noqa: E402

PRODUCTION_TIMERS: dict[str, dict[str, Any]] = {
    "timeliness": {"scan_interval_seconds": 60, "stats_publish_interval_seconds": 5},
    "outbox": {"relay_interval_seconds": 1},
}
log = it.log
BASELINE_MESSAGES = 100_000


@dataclass
class SizeResult:
    messages: int
    distinct: int
    dossiers: int
    baseline: float = 0.0
    rate: float = 0.0
    seconds: float = 0.0
    service_cpu: float = 0.0
    pg_cpu: float = 0.0
    pg_cpu_by_kind: dict[str, float] = field(default_factory=dict)
    reads_year: list[float] = field(default_factory=list)
    reads_month: list[float] = field(default_factory=list)
    exact: bool = False
    verify_differences: int = -1
    pg_counters: dict[str, float] = field(default_factory=dict)
    top: list[tuple[str, float, int]] = field(default_factory=list)
    top_source: str = ""
    error: str | None = None


# ------------------------------------------------------------------------------------------------------------
# PostgreSQL: CPU of one cluster, top statements
# ------------------------------------------------------------------------------------------------------------


def postmaster_pid(port: int) -> int | None:
    """The postmaster listening on ``port`` (its children are the cluster's backends and workers)."""
    with psycopg2.connect(it.PG_DSN) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT setting FROM pg_settings WHERE name = 'data_directory'")
        data_dir = cursor.fetchone()[0]
    try:
        return int(Path(data_dir, "postmaster.pid").read_text().split()[0])
    except OSError:
        return None


class ClusterCpu:
    """Per-process deltas, so backends that exit during the trial are counted up to their last sample; split by
    kind — the sessions serving the service's statements, autovacuum (whose work grows with the tables, not with
    the events), and the server's background processes (WAL writer, checkpointer, background writer…)."""

    def __init__(self, postmaster: int | None) -> None:
        self.postmaster = postmaster
        self.seen: dict[int, float] = {}
        self.kinds: dict[int, str] = {}
        self.start: dict[int, float] = self._sample()
        self.seen.update(self.start)

    def _sample(self) -> dict[int, float]:
        found = {pid: seconds for pid, comm, parent, seconds in it.processes()
                 if comm == "postgres" and (self.postmaster is None or self.postmaster in (pid, parent))}
        for pid in found.keys() - self.kinds.keys():
            self.kinds[pid] = self._kind(pid)
        return found

    def _kind(self, pid: int) -> str:
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return "background"
        if "autovacuum" in title:
            return "autovacuum"
        return "sessions" if "(" in title or "[local]" in title else "background"  # "user db 127.0.0.1(port) …"

    def poll(self) -> None:
        self.seen.update(self._sample())

    def total(self) -> float:
        return sum(self.by_kind().values())

    def by_kind(self) -> dict[str, float]:
        self.poll()
        kinds: dict[str, float] = {"sessions": 0.0, "autovacuum": 0.0, "background": 0.0}
        for pid, seconds in self.seen.items():
            kinds[self.kinds.get(pid, "background")] += seconds - self.start.get(pid, 0.0)
        return kinds


# What the server did besides running statements, per trial: WAL volume and full-page images (the first change of a
# page after a checkpoint logs the whole 8 KiB page, so the more distinct pages a stream touches between
# checkpoints, the more WAL per message), shared-buffer misses (a read from the page cache: system CPU in the
# session), checkpoints, and buffers a session had to write itself to free one.
SERVER_COUNTERS = {
    "wal_bytes": "SELECT wal_bytes FROM pg_stat_wal",
    "wal_fpi": "SELECT wal_fpi FROM pg_stat_wal",
    "wal_records": "SELECT wal_records FROM pg_stat_wal",
    "blks_read": "SELECT blks_read FROM pg_stat_database WHERE datname = current_database()",
    "blks_hit": "SELECT blks_hit FROM pg_stat_database WHERE datname = current_database()",
    "checkpoints": "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter",
    "buffers_backend": "SELECT buffers_backend FROM pg_stat_bgwriter",
}


def server_counters() -> dict[str, float]:
    with psycopg2.connect(it.PG_DSN) as connection, connection.cursor() as cursor:
        values = {}
        for name, sql in SERVER_COUNTERS.items():
            cursor.execute(sql)
            values[name] = float(cursor.fetchone()[0])
        return values


def has_pg_stat_statements() -> bool:
    with psycopg2.connect(it.PG_DSN) as connection, connection.cursor() as cursor:
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            cursor.execute("SELECT pg_stat_statements_reset()")
            return True
        except psycopg2.Error:
            return False


def top_statements(limit: int) -> list[tuple[str, float, int]]:
    with psycopg2.connect(it.PG_DSN) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT query, total_exec_time, calls, (shared_blks_hit + shared_blks_read) / greatest(calls, 1) "
            "FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "ORDER BY total_exec_time DESC LIMIT %s", (limit,))
        return [(f"[{blocks:,.0f} blocks/call] {normalise(q)}", t / 1000, c) for q, t, c, blocks in cursor.fetchall()]


class ActivitySampler(threading.Thread):
    """Fallback without pg_stat_statements: which statements are running, sampled every ``interval`` s."""

    def __init__(self, schema: str, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.schema, self.interval = schema, interval
        self.samples: Counter[str] = Counter()
        self.total = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        connection = psycopg2.connect(it.PG_DSN)
        connection.autocommit = True
        with connection.cursor() as cursor:
            while not self.stopped.is_set():
                cursor.execute("SELECT query FROM pg_stat_activity WHERE state = 'active' "
                               "AND pid <> pg_backend_pid() AND datname = current_database()")
                self.total += 1
                for (query,) in cursor.fetchall():
                    self.samples[normalise(query)] += 1
                time.sleep(self.interval)
        connection.close()

    def top(self, limit: int) -> list[tuple[str, float, int]]:
        return [(f"[{n} samples] {q}", n * self.interval, n) for q, n in self.samples.most_common(limit)]


def normalise(query: str) -> str:
    text = re.sub(r"'(?:[^']|'')*'", "?", query)
    text = re.sub(r"\b\d+(\.\d+)?\b", "?", text)
    return re.sub(r"\s+", " ", text).strip()[:300]


# ------------------------------------------------------------------------------------------------------------
# One size
# ------------------------------------------------------------------------------------------------------------


def time_reads(schema: str, calls: int, now: dt.datetime) -> tuple[list[float], list[float], str, str]:
    """Seconds per in-process period_stats call: the province root over the year and over the latest month."""
    rules = rules_from_config(load_config())
    root = next(u.code for u in rules.units if u.parent_code is None)
    year = period_containing(now.date(), PeriodKind.YEAR).label
    month = period_containing(now.date(), PeriodKind.MONTH).label
    engine = make_engine(it.DATABASE_URL, schema=schema, pool_size=1)
    timings: dict[str, list[float]] = {year: [], month: []}
    try:
        with engine.connect() as connection:
            from sqlalchemy.orm import Session
            with Session(bind=connection) as session:
                for label in (year, month):
                    reads.period_stats(session, rules, root, label, now)  # warm the caches once
                    for _ in range(calls):
                        started = time.perf_counter()
                        reads.period_stats(session, rules, root, label, now)
                        timings[label].append(time.perf_counter() - started)
    finally:
        engine.dispose()
    return timings[year], timings[month], year, month


def verify_counters(schema: str, now: dt.datetime) -> int:
    """Differences between the kept counters and a full recomputation (0 = exact); -1 if not available."""
    try:
        from services.dossiers import stats_verify
    except ImportError:
        return -1
    rules = rules_from_config(load_config())
    engine = make_engine(it.DATABASE_URL, schema=schema, pool_size=1)
    try:
        from sqlalchemy.orm import Session
        with Session(bind=engine) as session:
            return len(stats_verify.differences(session, rules, now))
    finally:
        engine.dispose()


def run_size(broker: it.Broker, traffic: GeneratedTraffic, workdir: Path, run_id: str, index: int,
             reads_calls: int, now: dt.datetime, top_n: int, postmaster: int | None,
             keep: bool = False) -> SizeResult:
    total = len(traffic.messages)
    result = SizeResult(total, traffic.distinct_events, traffic.dossiers)
    # The raw consumer's rate does not depend on the stream's length: its first 100,000 messages measure the machine
    # now (a baseline per size, since other work on a shared machine comes and goes), at a fraction of the time.
    result.baseline = it.baseline(broker, traffic.messages[:BASELINE_MESSAGES])
    log(f"  baseline (raw pika, pre-published, prefetch 100, first {min(total, BASELINE_MESSAGES):,} messages): "
        f"{result.baseline:,.0f} msg/s")
    schema = f"bench_scale_{run_id}_{index}"
    setting = it.Setting(mode="drain")
    service: it.ServiceProcess | None = None
    db: it.Database | None = None
    sampler: ActivitySampler | None = None
    broker.delete(it.INGEST_QUEUE)
    try:
        broker.declare_ingest_queue()
        it.publish(traffic.messages)
        it.wait_until(lambda: (broker.counts(it.INGEST_QUEUE) or (0, 0))[0] >= total, 60, "the pre-published stream")
        statements = has_pg_stat_statements()
        service = it.ServiceProcess(schema, setting, workdir, 0, timers=PRODUCTION_TIMERS)
        it.wait_until(lambda: (broker.counts(it.INGEST_QUEUE) or (total, 0))[0] < total, it.READY_TIMEOUT,
                      "the service to start consuming", interval=0.005, alive=service.alive)
        started = time.perf_counter()
        # The service's CPU from here: its start-up (imports, migrations, ~2 s) is not per message, and counted in
        # it weighed a fifth of the 100k trial — the baseline every ratio divides by (an outside review found it).
        service_cpu_at_start = it.proc_cpu_seconds(service.process.pid) or 0.0
        cpu = ClusterCpu(postmaster)
        counters_before = server_counters()
        if statements:
            has_pg_stat_statements()  # reset: the migrations' statements are not the ingest's
            result.top_source = "pg_stat_statements"
        else:
            sampler = ActivitySampler(schema)
            sampler.start()
            result.top_source = "pg_stat_activity samples (s ≈ samples × 20 ms)"
        it.wait_until(service.ready, it.READY_TIMEOUT, "/ready", alive=service.alive)

        def acked() -> bool:
            cpu.poll()
            return service.acked() >= total

        it.wait_until(acked, max(300.0, total / 200), f"{total:,} messages acked", interval=0.25, alive=service.alive)
        result.seconds = time.perf_counter() - started
        result.pg_cpu_by_kind = cpu.by_kind()
        result.pg_cpu = sum(result.pg_cpu_by_kind.values())
        result.service_cpu = (it.proc_cpu_seconds(service.process.pid) or 0.0) - service_cpu_at_start
        result.rate = total / result.seconds
        if sampler is not None:
            sampler.stopped.set()
            sampler.join(5)
            result.top = sampler.top(top_n)
        else:
            result.top = top_statements(top_n)
        # A session reports its counters when it ends (otherwise up to 10 s late, PostgreSQL 15): stop the service.
        service.stop()
        service = None
        counters_after = server_counters()
        result.pg_counters = {k: counters_after[k] - counters_before[k] for k in SERVER_COUNTERS}
        db = it.Database(schema)
        stored = db.stored()
        dossiers = int(db.scalar(f'SELECT count(*) FROM "{schema}".dossiers'))
        mismatches = it.compare_truth(db, traffic.expected)
        result.exact = stored == traffic.distinct_events and dossiers == traffic.dossiers and not mismatches
        if not result.exact:
            result.error = (f"stored {stored}/{traffic.distinct_events}, dossiers {dossiers}, "
                            f"{len(mismatches)} mismatches")
        result.reads_year, result.reads_month, _, _ = time_reads(schema, reads_calls, now)
        result.verify_differences = verify_counters(schema, now)
    except Exception as exc:  # report and go on with the next size
        result.error = f"{type(exc).__name__}: {exc}"
        if service is not None:
            log(service.tail())
    finally:
        if sampler is not None:
            sampler.stopped.set()
        if service is not None:
            service.stop()
        broker.delete(it.INGEST_QUEUE)
        if keep:
            log(f"  kept schema {schema} (--keep): drop it when done")
        else:
            (db or it.Database(schema)).drop()
    return result


def p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,400000,1600000", help="stream sizes in messages, comma-separated")
    parser.add_argument("--seed", type=int, default=766)
    parser.add_argument("--pg-port", type=int, default=5432, help="PostgreSQL port (a private cluster for statements)")
    parser.add_argument("--reads", type=int, default=40, help="period_stats calls timed per period and size")
    parser.add_argument("--top", type=int, default=8, help="statements printed per size")
    parser.add_argument("--order", choices=("shuffled", "arrival"), default="shuffled",
                        help="shuffled: the generator's order, every batch touching dossiers of the whole half-year; "
                             "arrival: by event time, as a live one-door system or a backfill publishes")
    parser.add_argument("--repeat", type=int, default=1,
                        help="trials per size; the summary keeps each figure's best trial (noise only adds)")
    parser.add_argument("--keep", action="store_true", help="keep each size's schema (to EXPLAIN its statements)")
    args = parser.parse_args()

    it.PG_DSN = f"host=127.0.0.1 port={args.pg_port} user=postgres dbname=postgres"
    it.DATABASE_URL = f"postgresql://postgres@127.0.0.1:{args.pg_port}/postgres"
    vhost = f"bench_scale_{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, capture_output=True)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"], check=True,
                   capture_output=True)
    it.AMQP_URI = f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}"
    it.PIKA_PARAMS = pika.URLParameters(f"amqp://guest:guest@127.0.0.1:5672/{vhost}")

    run_id = uuid.uuid4().hex[:8]
    postmaster = postmaster_pid(args.pg_port)
    log(f"ingest scale bench {run_id}: {os.cpu_count()} CPUs, PostgreSQL port {args.pg_port} (postmaster "
        f"{postmaster}), vhost {vhost}, timers {PRODUCTION_TIMERS}")
    began = time.perf_counter()
    results: list[SizeResult] = []
    broker = it.Broker()
    try:
        with tempfile.TemporaryDirectory(prefix="cchc-scale-") as tmp:
            for index, size in enumerate(int(s) for s in args.sizes.split(",")):
                generated = time.perf_counter()
                traffic, spec = it.make_traffic(size, args.seed)
                if args.order == "arrival":
                    in_arrival_order(traffic.messages)
                log(f"size {size:,}: {len(traffic.messages):,} messages, {traffic.distinct_events:,} distinct, "
                    f"{traffic.dossiers:,} dossiers, {spec.start} .. {spec.now:%Y-%m-%d %H:%M} "
                    f"(generated in {time.perf_counter() - generated:.0f} s)")
                trials = []
                for trial in range(args.repeat):
                    if args.repeat > 1:
                        log(f" trial {trial + 1} of {args.repeat}")
                    result = run_size(broker, traffic, Path(tmp), run_id, index * 100 + trial, args.reads, spec.now,
                                      args.top, postmaster, args.keep)
                    describe(result)
                    trials.append(result)
                results.append(best(trials))
                del traffic
    finally:
        broker.close()
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True)
    if args.repeat > 1:
        log(f"\neach figure below is the best of {args.repeat} trials of its size (every trial is printed above)")
    summary(results)
    log(f"whole run {time.perf_counter() - began:.0f} s")


def describe(r: SizeResult) -> None:
    if r.error and not r.rate:
        log(f"  FAILED: {r.error}")
        return
    log(f"  service: {r.rate:,.0f} msg/s (ratio {r.rate / r.baseline:.2f} of the baseline) in {r.seconds:.1f} s; "
        f"service CPU {r.service_cpu:.1f} s = {r.service_cpu / r.messages * 1e6:.0f} µs/msg; PostgreSQL CPU "
        f"{r.pg_cpu:.1f} s = {r.pg_cpu / r.messages * 1e6:.0f} µs/msg ("
        + ", ".join(f"{kind} {seconds / r.messages * 1e6:.0f}" for kind, seconds in r.pg_cpu_by_kind.items()) + ")")
    per = {k: v / r.messages for k, v in r.pg_counters.items()}
    if per:
        log(f"  PostgreSQL per message: WAL {per['wal_bytes']:,.0f} B in {per['wal_records']:.1f} records, "
            f"{per['wal_fpi']:.2f} full-page images; buffers hit {per['blks_hit']:.1f}, read {per['blks_read']:.2f}; "
            f"{r.pg_counters['checkpoints']:.0f} checkpoints, {r.pg_counters['buffers_backend']:,.0f} buffers "
            f"written by sessions")
    log(f"  period_stats province root: year p50 {p(r.reads_year, .5) * 1000:.1f} ms p95 "
        f"{p(r.reads_year, .95) * 1000:.1f} ms; month p50 {p(r.reads_month, .5) * 1000:.1f} ms p95 "
        f"{p(r.reads_month, .95) * 1000:.1f} ms")
    log(f"  truth: {'EXACT' if r.exact else 'NOT EXACT ' + (r.error or '')}; counters vs full recomputation: "
        f"{'n/a' if r.verify_differences < 0 else f'{r.verify_differences} differences'}")
    log(f"  top statements by total time ({r.top_source}):")
    for query, seconds, calls in r.top:
        log(f"    {seconds:9.2f} s {calls:>8} × {query[:170]}")


def in_arrival_order(messages: list[dict[str, Any]]) -> None:
    """Sort the stream by event time (stable; a duplicate lands beside its original). The generator's shuffle
    sends every batch to dossiers across the whole half-year, so the database's working set is all of history;
    a live system or a backfill publishes in time order, and a batch then touches recent dossiers."""
    messages.sort(key=lambda m: dt.datetime.fromisoformat(m["occurred_at"]))


def best(trials: list[SizeResult]) -> SizeResult:
    """Each figure at its best across the trials: on a shared machine other work only ever adds time and CPU (cache
    and frequency contention), and not to the same figure in every trial — of two 400k trials with the same
    buffers per message, one had the faster drain and the other the cheaper PostgreSQL. Work counts and exactness
    come with the PostgreSQL figure's trial; every trial is printed above the summary."""
    done = [t for t in trials if t.rate and t.exact] or trials
    fastest = max(done, key=lambda t: t.rate)
    cheapest_pg = min(done, key=lambda t: t.pg_cpu)
    return dataclasses.replace(
        fastest,
        service_cpu=min(t.service_cpu for t in done),
        pg_cpu=cheapest_pg.pg_cpu, pg_cpu_by_kind=cheapest_pg.pg_cpu_by_kind, pg_counters=cheapest_pg.pg_counters,
        reads_year=min((t.reads_year for t in done), key=lambda r: p(r, .95)),
        reads_month=min((t.reads_month for t in done), key=lambda r: p(r, .95)),
        exact=all(t.exact for t in trials),
        verify_differences=max(t.verify_differences for t in trials),
    )


def summary(results: list[SizeResult]) -> None:
    done = [r for r in results if r.rate]
    if not done:
        return
    first = done[0]
    log("")
    log("== summary (ratios against the smallest size of this run) ==")
    log(f"{'messages':>10}{'dossiers':>9}{'base/s':>8}{'msg/s':>8}{'ratio':>6}{'vs 1st':>7}{'svc µs':>8}{'vs 1st':>7}"
        f"{'pg µs':>7}{'vs 1st':>7}{'yr p95':>8}{'vs 1st':>7}{'mo p95':>8}  exact")
    for r in done:
        svc, pg = r.service_cpu / r.messages * 1e6, r.pg_cpu / r.messages * 1e6
        svc0, pg0 = first.service_cpu / first.messages * 1e6, first.pg_cpu / first.messages * 1e6
        y95, y95_0 = p(r.reads_year, .95) * 1000, p(first.reads_year, .95) * 1000
        log(f"{r.messages:>10,}{r.dossiers:>9,}{r.baseline:>8,.0f}{r.rate:>8,.0f}{r.rate / r.baseline:>6.2f}"
            f"{r.rate / first.rate:>7.2f}{svc:>8.0f}{svc / svc0:>7.2f}{pg:>7.0f}{pg / pg0:>7.2f}{y95:>7.1f}m"
            f"{y95 / y95_0:>7.2f}{p(r.reads_month, .95) * 1000:>7.1f}m  "
            f"{'yes' if r.exact and r.verify_differences <= 0 else 'NO'}"
            f"{'' if r.verify_differences >= 0 else ' (no verify)'}")
    for r in done:
        per_message = {kind: seconds / r.messages * 1e6 for kind, seconds in r.pg_cpu_by_kind.items()}
        first_per_message = {kind: seconds / first.messages * 1e6 for kind, seconds in first.pg_cpu_by_kind.items()}
        log(f"  PostgreSQL µs/msg by process kind at {r.messages:,}: " + ", ".join(
            f"{kind} {value:.0f} ("
            + (f"{value / first_per_message[kind]:.2f}×" if first_per_message.get(kind) else "— at the first size 0")
            + ")"
            for kind, value in per_message.items()))
    log("PostgreSQL's work per message (counts, not times: a busy machine does not change them):")
    for r in done:
        if not r.pg_counters:
            continue
        blocks = (r.pg_counters["blks_hit"] + r.pg_counters["blks_read"]) / r.messages
        first_blocks = (first.pg_counters["blks_hit"] + first.pg_counters["blks_read"]) / first.messages
        wal, first_wal = r.pg_counters["wal_bytes"] / r.messages, first.pg_counters["wal_bytes"] / first.messages
        log(f"  {r.messages:>10,}: buffers touched {blocks:5.1f} ({blocks / first_blocks:.2f}×), of which read "
            f"{r.pg_counters['blks_read'] / r.messages:.2f}; WAL {wal:,.0f} B ({wal / first_wal:.2f}×), full-page "
            f"images {r.pg_counters['wal_fpi'] / r.messages:.2f}")
    log("targets: msg/s at the largest ≥ 0.9 × the smallest; CPU per message within 20 %; year p95 ratio ≤ 2")


if __name__ == "__main__":
    main()

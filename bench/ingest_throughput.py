"""Persisted ingest throughput of the dossiers service against a raw-consumer baseline, on RabbitMQ + PostgreSQL.

Prints figures, asserts nothing (ARCHITECTURE.md, "Throughput": baselines drift ±15% between runs, so the
baseline is measured in the same run — before and after the service trials — and the ratio is what counts).

One run:
1. generates a seeded one-door stream of >= --events messages (``cchc.traffic.generate``, 20% duplicates);
2. baseline: a raw pika consumer (prefetch 100, one ``basic_ack`` per message, no database) drains the
   whole stream pre-published into its own fresh queue; the "ceiling" (prefetch 1,500, ``multiple`` ack every
   500) is printed beside it for reference, and so is the same raw consumer while the stream is being published
   (the live trials' conditions: publishing with confirms costs the shared cores too), for a like-for-like ratio;
3. for each ingest setting: starts ``python -m nameko run services.dossiers.service:DossiersService`` as
   separate process(es) on a fresh PostgreSQL schema, waits for ``/ready``, publishes the stream with the project's
   publisher and measures messages/s from the start of publishing until every distinct event is committed
   (``dossier_events`` row count polled with a deadline); also the moment every message was acked
   (the service's own ``cchc_events_consumed_total``), peak memory (VmHWM) and CPU of each process;
4. checks every trial: distinct events, dossiers, refused events, dead letters, and the per-unit final
   states against the generator's ground truth (``GeneratedTraffic.expected``);
5. cleans up: SIGTERM (then wait) each service, drops the schema, deletes the queues.
Also per trial: CPU seconds of the machine, service, PostgreSQL, RabbitMQ, this bench and everything else while
ingesting (other sessions on a shared box show up as "other"), and how often a backend waited on a row lock.

Settings tried: the --grid of ingest.batch_size x ingest.batches_in_flight, then DATABASE_POOL_SIZE (--pools) on
the fastest, then two service processes and the "drain" mode (stream pre-published, the service started after:
the baseline's conditions). bench/ingest_profile.py times the ingest phases in one process.

Run: .venv/bin/python bench/ingest_throughput.py [--events 100000] [--quick]
Needs RabbitMQ on 127.0.0.1:5672 (guest/guest) and PostgreSQL on 127.0.0.1:5432 (user postgres, trust).
Uses the default vhost and the service's real queue name ``dossiers.ingest``: do not run two at once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import pika  # noqa: E402
import psycopg2  # noqa: E402
import yaml  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from cchc.traffic import FINAL_STATES, GeneratedTraffic, TrafficSpec, final_state, generate  # noqa: E402
from services.dossiers.periods import PeriodKind, period_containing  # noqa: E402
from services.dossiers.rules import rules_from_config  # noqa: E402
from shared.calendar import LOCAL_TZ  # noqa: E402
from shared.config import load_config  # noqa: E402
from shared.events import CATALOGUE, ONEDOOR_EXCHANGE  # noqa: E402
from shared.publisher import PikaPublisher, publisher_for  # noqa: E402

AMQP_URI = "pyamqp://guest:guest@127.0.0.1:5672/"
PIKA_PARAMS = pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F")
DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
INGEST_QUEUE = "dossiers.ingest"
DEAD_LETTER_QUEUE = "cchc.dead-letter.dossiers"
FIXED_NOW = dt.datetime(2026, 11, 20, 16, 0, tzinfo=LOCAL_TZ)  # same stream every run, if in the past
POLL = 0.05
READY_TIMEOUT = 90.0
# ``services.dossiers.service`` alone makes ``nameko run`` pick up the imported OpsEndpoints mixin too (it has
# @http entrypoints) and stop with "Service class must define a `name` attribute": name the class.
SERVICE_PATH = "services.dossiers.service:DossiersService"
STOP_TIMEOUT = 60.0

T = TypeVar("T")


def log(text: str) -> None:
    print(text, flush=True)


def wait_until(probe: Callable[[], T], timeout: float, what: str, interval: float = POLL,
               alive: Callable[[], None] | None = None) -> T:
    """Poll ``probe`` until truthy; raise with the last value at the deadline (never sleep-and-hope)."""
    deadline = time.monotonic() + timeout
    value: Any = None
    while True:
        value = probe()
        if value:
            return value
        if alive is not None:
            alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}; last value {value!r}")
        time.sleep(interval)


def proc_status(pid: int, key: str) -> int | None:
    """A ``kB`` field of /proc/<pid>/status (VmHWM = peak resident set), in kB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def proc_cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def processes() -> Iterator[tuple[int, str, int, float]]:
    """(pid, command name, parent pid, CPU seconds) of every process alive now, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            head, tail = (entry / "stat").read_text().rsplit(")", 1)
        except OSError:
            continue
        values = tail.split()
        yield int(entry.name), head.split("(", 1)[1], int(values[1]), (int(values[11]) + int(values[12])) / tick


def cpu_snapshot() -> dict[str, Any]:
    """Busy CPU seconds of the whole machine, of PostgreSQL's processes (per pid) and of RabbitMQ."""
    tick = os.sysconf("SC_CLK_TCK")
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    busy = sum(int(v) for i, v in enumerate(fields[:8]) if i not in (3, 4)) / tick  # minus idle, iowait
    iowait = int(fields[4]) / tick
    postgres: dict[int, float] = {}
    rabbit = 0.0
    for pid, comm, _, seconds in processes():
        if comm == "postgres":
            postgres[pid] = seconds
        elif comm == "beam.smp":
            rabbit += seconds
    return {"machine": busy, "iowait": iowait, "postgres": postgres, "rabbit": rabbit, "bench": sum(os.times()[:2])}


def cpu_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    pg = sum(v - before["postgres"].get(pid, 0.0) for pid, v in after["postgres"].items())
    return {"machine": after["machine"] - before["machine"], "iowait": after["iowait"] - before["iowait"],
            "postgres": pg,
            "rabbit": after["rabbit"] - before["rabbit"], "bench": after["bench"] - before["bench"]}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------------------------------------------------
# Traffic
# ------------------------------------------------------------------------------------------------------------


def make_traffic(target: int, seed: int) -> tuple[GeneratedTraffic, TrafficSpec]:
    """The generator's stream with at least ``target`` messages (duplicates included)."""
    rules = rules_from_config(load_config())
    real_now = dt.datetime.now(LOCAL_TZ)
    now = FIXED_NOW if real_now >= FIXED_NOW else real_now.replace(minute=0, second=0, microsecond=0)
    period = period_containing(now.date(), PeriodKind.HALF_YEAR)

    def run(dossiers: int) -> tuple[GeneratedTraffic, TrafficSpec]:
        spec = TrafficSpec(start=period.start, end=now.date(), now=now, dossiers=dossiers, seed=seed)
        return generate(spec, rules.units, rules.catalogue, rules.calendar), spec

    probe, _ = run(3000)
    per_dossier = len(probe.messages) / probe.dossiers
    dossiers = math.ceil(target / per_dossier * 1.01)
    while True:
        traffic, spec = run(dossiers)
        if len(traffic.messages) >= target:
            return traffic, spec
        dossiers = math.ceil(dossiers * target / len(traffic.messages) * 1.01)


# ------------------------------------------------------------------------------------------------------------
# Broker helpers
# ------------------------------------------------------------------------------------------------------------


class Broker:
    """Housekeeping over one blocking pika connection (declare, count, delete), reopened when it dropped:
    a BlockingConnection left idle during a trial sends no heartbeats of its own."""

    def __init__(self) -> None:
        self.connection: Any = None
        self.channel: Any = None
        self._call(lambda ch: ch.exchange_declare(ONEDOOR_EXCHANGE, exchange_type="topic", durable=True))

    def _call(self, operation: Callable[[Any], T]) -> T:
        for attempt in (1, 2):
            try:
                if self.connection is None or not self.connection.is_open:
                    self.connection = pika.BlockingConnection(PIKA_PARAMS)
                    self.channel = None
                if self.channel is None or not self.channel.is_open:
                    self.channel = self.connection.channel()
                self.connection.process_data_events(0)  # heartbeats, and notice a dropped connection
                return operation(self.channel)
            except (pika.exceptions.AMQPConnectionError, pika.exceptions.StreamLostError,
                    pika.exceptions.ChannelWrongStateError, pika.exceptions.ConnectionWrongStateError):
                self.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def counts(self, queue: str) -> tuple[int, int] | None:
        """(ready messages, consumers) of ``queue``, or None if it does not exist."""
        try:
            ok = self._call(lambda ch: ch.queue_declare(queue, passive=True))
        except pika.exceptions.ChannelClosedByBroker:
            return None  # 404: the channel is closed; the next call opens another
        return ok.method.message_count, ok.method.consumer_count

    def delete(self, queue: str, *, if_idle: bool = False) -> None:
        self._call(lambda ch: ch.queue_delete(queue, if_unused=if_idle, if_empty=if_idle))

    def declare(self, queue: str, exchange: str, keys: list[str]) -> None:
        def run(ch: Any) -> None:
            ch.exchange_declare(exchange, exchange_type="topic", durable=True)
            ch.queue_declare(queue, durable=True)
            for key in keys:
                ch.queue_bind(queue, exchange, key)
        self._call(run)

    def delete_exchange(self, exchange: str) -> None:
        self._call(lambda ch: ch.exchange_delete(exchange))

    def declare_ingest_queue(self) -> None:
        """The queue exactly as the batch consumer declares it (durable, one binding per event type)."""
        self.declare(INGEST_QUEUE, ONEDOOR_EXCHANGE, list(CATALOGUE))

    def close(self) -> None:
        if self.connection is not None and self.connection.is_open:
            self.connection.close()


def publish(messages: list[dict[str, Any]], exchange: str | None = None) -> tuple[int, float]:
    """Confirmed, persistent publishing through the project's publisher; returns (sent, seconds)."""
    if exchange is None:
        publisher = publisher_for({"AMQP_URI": AMQP_URI})
    else:
        publisher = PikaPublisher(AMQP_URI, exchange=exchange)
    started = time.perf_counter()
    try:
        sent = publisher.publish_many(messages)
    finally:
        publisher.close()
    return sent, time.perf_counter() - started


# ------------------------------------------------------------------------------------------------------------
# Baseline
# ------------------------------------------------------------------------------------------------------------


def raw_consume(queue: str, total: int, prefetch: int, ack_every: int,
                before: Callable[[], None] | None = None) -> float:
    """Drain ``total`` messages; ack each one (``ack_every`` 1) or every n-th with ``multiple``. Seconds, from
    just before ``before()`` (e.g. starting to publish) or the start of consuming."""
    connection = pika.BlockingConnection(PIKA_PARAMS)
    channel = connection.channel()
    channel.basic_qos(prefetch_count=prefetch)
    seen = 0

    def on_message(ch: Any, method: Any, _properties: Any, _body: bytes) -> None:
        nonlocal seen
        seen += 1
        if ack_every == 1:
            ch.basic_ack(method.delivery_tag)
        elif seen % ack_every == 0 or seen == total:
            ch.basic_ack(method.delivery_tag, multiple=True)
        if seen >= total:
            ch.stop_consuming()

    channel.basic_consume(queue, on_message)
    started = time.perf_counter()
    if before is not None:
        before()
    channel.start_consuming()
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def baseline(broker: Broker, messages: list[dict[str, Any]], prefetch: int = 100, ack_every: int = 1) -> float:
    """Pre-publish the stream into a fresh queue of its own, then drain it raw: messages/s."""
    tag = uuid.uuid4().hex[:8]
    exchange, queue = f"bench.baseline.{tag}", f"bench.baseline.{tag}"
    broker.declare(queue, exchange, ["#"])
    try:
        sent, _ = publish(messages, exchange=exchange)
        wait_until(lambda: (broker.counts(queue) or (0, 0))[0] >= sent, 30, f"{sent} messages in {queue}")
        return sent / raw_consume(queue, sent, prefetch, ack_every)
    finally:
        broker.delete(queue)
        broker.delete_exchange(exchange)


def live_baseline(broker: Broker, messages: list[dict[str, Any]], prefetch: int = 100) -> float:
    """The raw consumer under the live trials' conditions: the stream is published (confirmed, persistent, by the
    same publisher) while it consumes; messages/s from the start of publishing until the last is acked."""
    tag = uuid.uuid4().hex[:8]
    exchange, queue = f"bench.baseline.{tag}", f"bench.baseline.{tag}"
    broker.declare(queue, exchange, ["#"])
    publisher = threading.Thread(target=publish, args=(messages, exchange), daemon=True)
    try:
        seconds = raw_consume(queue, len(messages), prefetch, 1, before=publisher.start)
        publisher.join(60)
        return len(messages) / seconds
    finally:
        broker.delete(queue)
        broker.delete_exchange(exchange)


# ------------------------------------------------------------------------------------------------------------
# The service under test
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    batch_size: int = 1000
    in_flight: int = 2
    pool: int = 5
    processes: int = 1
    mode: str = "live"  # live: publish while the service consumes; drain: pre-published, then start it

    @property
    def label(self) -> str:
        text = f"b{self.batch_size}x{self.in_flight} pool{self.pool}"
        if self.processes > 1:
            text += f" ×{self.processes}proc"
        text += " drain" if self.mode == "drain" else ""
        return text


@dataclass
class Result:
    setting: Setting
    messages: int = 0
    seconds: float = 0.0  # start (publishing, or first take for drain) -> all distinct events committed
    acked_seconds: float | None = None  # start -> every message acked (service's own counter)
    publish_seconds: float = 0.0
    startup_seconds: float = 0.0
    peak_kb: list[int] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    events_stored: int = 0
    events_refused: int = 0
    dossiers: int = 0
    dead_letters: int = 0
    mismatches: list[tuple[str, str, int, int]] = field(default_factory=list)
    batches: float = 0.0
    batch_mean_ms: float = 0.0
    retries: float = 0.0
    log_problems: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # during start -> committed: machine, postgres, ...
    service_cpu_window: float = 0.0
    lock_samples: int = 0
    lock_wait_samples: int = 0  # samples where a service backend waited on a row lock (FOR UPDATE)
    exit_codes: list[int | None] = field(default_factory=list)
    error: str | None = None

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


# Timers off during the classic trials (their cost is measured by bench/ingest_scale.py at production intervals).
QUIET_TIMERS = {"timeliness": {"scan_interval_seconds": 3600, "stats_publish_interval_seconds": 3600},
                "outbox": {"relay_interval_seconds": 3600}}


class ServiceProcess:
    def __init__(self, schema: str, setting: Setting, workdir: Path, index: int,
                 timers: dict[str, dict[str, Any]] | None = None) -> None:
        self.port = free_port()
        self.log_path = workdir / f"{schema}-{index}.log"
        config = {
            "AMQP_URI": AMQP_URI,
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{self.port}",
            "serializer": "json",
            "max_workers": 10,
            "HEARTBEAT": 60,
            "DATABASE_URL": DATABASE_URL,
            "DATABASE_SCHEMA": schema,
            "DATABASE_AUTO_MIGRATE": "true",
            "DATABASE_POOL_SIZE": setting.pool,
            "ingest": {"batch_size": setting.batch_size, "batches_in_flight": setting.in_flight, "max_wait_ms": 50},
            **(QUIET_TIMERS if timers is None else timers),
        }
        config_path = workdir / f"{schema}-{index}.yaml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        env = dict(os.environ, AMQP_URI=AMQP_URI, DATABASE_URL=DATABASE_URL, DATABASE_SCHEMA=schema,
                   WEB_SERVER_ADDRESS=f"127.0.0.1:{self.port}", DATABASE_POOL_SIZE=str(setting.pool),
                   INGEST_BATCH_SIZE=str(setting.batch_size), INGEST_BATCHES_IN_FLIGHT=str(setting.in_flight),
                   DEADLINE_SCAN_INTERVAL=str(config["timeliness"].get("scan_interval_seconds", 60)),
                   PYTHONUNBUFFERED="1")
        launcher = ["-m", "nameko"]
        self.log_file = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            [sys.executable, *launcher, "run", "--config", str(config_path), SERVICE_PATH],
            cwd=REPO, env=env, stdout=self.log_file, stderr=subprocess.STDOUT,
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"service process exited with {self.process.returncode}:\n{self.tail()}")

    def tail(self, lines: int = 25) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url("/ready"), timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        with urllib.request.urlopen(self.url("/metrics"), timeout=5) as response:
            text = response.read().decode()
        values = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return values

    def acked(self) -> int:
        """Messages this process acknowledged (processed + dead-lettered: counted when the batch is acked)."""
        return int(sum(v for (name, labels), v in self.metrics().items()
                       if name == "cchc_events_consumed_total" and dict(labels).get("outcome") != "duplicate"))

    def stop(self) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                log(f"  ! pid {self.process.pid} ignored SIGTERM for {STOP_TIMEOUT:.0f} s: SIGKILL")
                self.process.kill()
                self.process.wait()
        self.log_file.close()
        return self.process.returncode

    def log_problems(self) -> list[str]:
        problems = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if any(word in line for word in ("Traceback", "ERROR", "WARNING", "Error:", "CRITICAL")):
                problems.append(line.strip()[:200])
        return problems


class Database:
    def __init__(self, schema: str) -> None:
        self.schema = schema
        self.connection = psycopg2.connect(PG_DSN)
        self.connection.autocommit = True

    def scalar(self, sql: str) -> Any:
        with self.connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()[0]

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    def stored(self) -> int:
        return int(self.scalar(f'SELECT count(*) FROM "{self.schema}".dossier_events'))

    def lock_waiters(self) -> int:
        """Backends now blocked on a row lock in the ingest's ``SELECT … FOR UPDATE`` of dossiers."""
        return int(self.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE 'SELECT dossiers.dossier_code%'"))  # the text is cut at 1 kB: no 'FOR UPDATE'

    def drop(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        self.connection.close()


def compare_truth(db: Database, expected: dict[str, Counter[str]]) -> list[tuple[str, str, int, int]]:
    """(unit, state, expected, stored) for every per-unit final-state count that differs."""
    stored: dict[str, Counter[str]] = {}
    for unit, closing, outcome, count in db.rows(
        f'SELECT unit_code, closing, outcome, count(*) FROM "{db.schema}".dossiers GROUP BY 1, 2, 3'
    ):
        stored.setdefault(unit or "<no unit>", Counter())[final_state(closing, outcome)] += count
    mismatches = []
    for unit in sorted(set(expected) | set(stored)):
        want, got = expected.get(unit, Counter()), stored.get(unit, Counter())
        for state in sorted(set(FINAL_STATES) | set(want) | set(got)):
            if want.get(state, 0) != got.get(state, 0):
                mismatches.append((unit, state, want.get(state, 0), got.get(state, 0)))
    return mismatches


def run_trial(broker: Broker, traffic: GeneratedTraffic, setting: Setting, workdir: Path, run_id: str,
              index: int) -> Result:
    result = Result(setting)
    total, distinct = len(traffic.messages), traffic.distinct_events
    schema = f"bench_{run_id}_{index}"
    services: list[ServiceProcess] = []
    db: Database | None = None
    before = broker.counts(INGEST_QUEUE)
    if before is not None and before[1]:
        raise RuntimeError(f"{INGEST_QUEUE} already has {before[1]} consumer(s): another dossiers service runs")
    broker.delete(INGEST_QUEUE)  # nothing from an earlier run leaks in
    dead_before = (broker.counts(DEAD_LETTER_QUEUE) or (0, 0))[0]
    try:
        if setting.mode == "drain":
            broker.declare_ingest_queue()
            result.messages, result.publish_seconds = publish(traffic.messages)
            wait_until(lambda: (broker.counts(INGEST_QUEUE) or (0, 0))[0] >= total, 30, "the pre-published stream")
        launched = time.perf_counter()
        for i in range(setting.processes):  # one at a time: concurrent start-ups would race on the migrations
            service = ServiceProcess(schema, setting, workdir, i)
            services.append(service)
            if setting.mode == "drain" and i == 0:
                # the start is when the first process takes its prefetch off the queue
                wait_until(lambda: (broker.counts(INGEST_QUEUE) or (total, 0))[0] < total, READY_TIMEOUT,
                           "the service to start consuming", interval=0.005, alive=service.alive)
                started = time.perf_counter()
                cpu_before = cpu_snapshot()
                service_cpu_before = 0.0
            wait_until(service.ready, READY_TIMEOUT, f"/ready of {service.url('')}", alive=service.alive)
        result.startup_seconds = time.perf_counter() - launched
        db = Database(schema)
        if setting.mode == "live":
            cpu_before = cpu_snapshot()
            service_cpu_before = sum(proc_cpu_seconds(s.process.pid) or 0.0 for s in services)
            started = time.perf_counter()
            result.messages, result.publish_seconds = publish(traffic.messages)

        def all_alive() -> None:
            for s in services:
                s.alive()

        def committed() -> bool:
            result.lock_samples += 1
            result.lock_wait_samples += db.lock_waiters() > 0
            return db.stored() >= distinct

        deadline = max(180.0, total / 400)
        wait_until(committed, deadline, f"{distinct:,} distinct events committed", alive=all_alive)
        result.seconds = time.perf_counter() - started
        result.cpu = cpu_delta(cpu_before, cpu_snapshot())
        result.service_cpu_window = sum(proc_cpu_seconds(s.process.pid) or 0.0 for s in services) - service_cpu_before
        try:
            wait_until(lambda: sum(s.acked() for s in services) >= total, 60, f"{total:,} messages acked",
                       interval=0.1, alive=all_alive)
            result.acked_seconds = time.perf_counter() - started
        except TimeoutError as exc:
            result.error = str(exc)
        metrics = [s.metrics() for s in services]
        label = (("service", "dossiers"),)
        result.batches = sum(m.get(("cchc_batch_duration_seconds_count", label), 0) for m in metrics)
        batch_sum = sum(m.get(("cchc_batch_duration_seconds_sum", label), 0) for m in metrics)
        result.batch_mean_ms = batch_sum / result.batches * 1000 if result.batches else 0.0
        result.retries = sum(m.get(("cchc_batch_retries_total", label), 0) for m in metrics)
        result.peak_kb = [proc_status(s.process.pid, "VmHWM") or 0 for s in services]
        result.cpu_seconds = [proc_cpu_seconds(s.process.pid) or 0.0 for s in services]
        result.events_stored = db.stored()
        result.events_refused = int(db.scalar(
            f'SELECT count(*) FROM "{schema}".dossier_events WHERE dead_lettered_at IS NOT NULL'))
        result.dossiers = int(db.scalar(f'SELECT count(*) FROM "{schema}".dossiers'))
        result.mismatches = compare_truth(db, traffic.expected)
    except Exception as exc:  # report and go on with the next setting
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        for service in services:
            result.exit_codes.append(service.stop())
            result.log_problems.extend(service.log_problems())
        result.dead_letters = (broker.counts(DEAD_LETTER_QUEUE) or (0, 0))[0] - dead_before
        broker.delete(INGEST_QUEUE)
        if db is None:
            db = Database(schema)
        db.drop()
    return result


def describe(result: Result, traffic: GeneratedTraffic, base: float) -> None:
    s = result.setting
    if result.error and not result.seconds:
        log(f"  {s.label}: FAILED — {result.error}")
        for line in result.log_problems[:8]:
            log(f"    log: {line}")
        return
    acked = f"{result.acked_seconds:.2f} s" if result.acked_seconds else "n/a"
    log(f"  {s.label}: {result.rate:,.0f} msg/s ({traffic.distinct_events / result.seconds:,.0f} distinct events/s), "
        f"ratio {result.rate / base:.2f}; committed in {result.seconds:.2f} s, all acked {acked}, "
        f"publish {result.publish_seconds:.2f} s, start-up {result.startup_seconds:.1f} s")
    log(f"    {result.batches:,.0f} batches, mean {result.batch_mean_ms:.0f} ms, retries {result.retries:.0f}; "
        f"peak RSS {', '.join(f'{kb / 1024:.0f} MiB' for kb in result.peak_kb)}; "
        f"CPU {', '.join(f'{c:.1f} s' for c in result.cpu_seconds)}; exit {result.exit_codes}")
    if result.cpu:
        c, wall = result.cpu, result.seconds
        other = c["machine"] - result.service_cpu_window - c["postgres"] - c["rabbit"] - c["bench"]
        cores = os.cpu_count() or 1
        log(f"    CPU while ingesting ({wall:.1f} s wall x {cores} cores = {wall * cores:.0f} s): "
            f"machine {c['machine']:.1f} s = service {result.service_cpu_window:.1f} + postgres {c['postgres']:.1f} "
            f"+ rabbitmq {c['rabbit']:.1f} + bench {c['bench']:.1f} + other {other:.1f}; iowait {c['iowait']:.1f} s; "
            f"row-lock waits in {result.lock_wait_samples}/{result.lock_samples} samples")
    ok = (result.events_stored == traffic.distinct_events and result.dossiers == traffic.dossiers
          and not result.mismatches)
    log(f"    stored {result.events_stored:,}/{traffic.distinct_events:,} distinct events, "
        f"{result.dossiers:,}/{traffic.dossiers:,} dossiers, {result.events_refused} refused, "
        f"{result.dead_letters} dead letters, truth mismatches {len(result.mismatches)} -> "
        f"{'EXACT' if ok else 'NOT EXACT'}")
    for unit, state, want, got in result.mismatches[:20]:
        log(f"    mismatch: unit {unit} {state}: expected {want}, stored {got}")
    if result.error:
        log(f"    ! {result.error}")
    if result.log_problems:
        log(f"    service log: {len(result.log_problems)} warning/error line(s), first: {result.log_problems[0]}")


# ------------------------------------------------------------------------------------------------------------


def parse_grid(text: str) -> list[tuple[int, int]]:
    return [(int(b), int(f)) for b, f in (item.split("x") for item in text.split(","))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="messages to publish (duplicates included)")
    parser.add_argument("--seed", type=int, default=766)
    parser.add_argument("--grid", default="250x2,250x3,500x2,500x3,1000x2,1000x3",
                        help="ingest settings batch_size x batches_in_flight, comma-separated")
    parser.add_argument("--pools", default="2,10", help="DATABASE_POOL_SIZE values tried on the best setting")
    parser.add_argument("--quick", action="store_true", help="only the default setting, 2 processes and drain")
    parser.add_argument("--no-two", action="store_true", help="skip the two-process variant")
    args = parser.parse_args()

    run_id = uuid.uuid4().hex[:8]
    log(f"ingest throughput bench {run_id}: {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    began = time.perf_counter()
    traffic, spec = make_traffic(args.events, args.seed)
    total = len(traffic.messages)
    log(f"traffic: {traffic.dossiers:,} dossiers, {total:,} messages, {traffic.distinct_events:,} distinct "
        f"({total - traffic.distinct_events:,} duplicates), {spec.start} .. {spec.now:%Y-%m-%d %H:%M}, "
        f"seed {spec.seed}; generated in {time.perf_counter() - began:.1f} s")

    broker = Broker()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="cchc-bench-") as tmp:
        workdir = Path(tmp)
        try:
            base_before = baseline(broker, traffic.messages)
            log(f"baseline (raw pika, prefetch 100, ack each): {base_before:,.0f} msg/s")
            ceiling = baseline(broker, traffic.messages, prefetch=1500, ack_every=500)
            log(f"ceiling (raw pika, prefetch 1500, multiple ack every 500): {ceiling:,.0f} msg/s")
            live_base = live_baseline(broker, traffic.messages)
            log(f"baseline while publishing (raw pika, prefetch 100, ack each; the live trials' conditions): "
                f"{live_base:,.0f} msg/s")

            index = 0

            def trial(setting: Setting) -> Result:
                nonlocal index
                index += 1
                result = run_trial(broker, traffic, setting, workdir, run_id, index)
                results.append(result)
                describe(result, traffic, base_before)
                return result

            grid = [(1000, 2)] if args.quick else parse_grid(args.grid)
            log("service, one process, publishing while it consumes:")
            for batch, in_flight in grid:
                trial(Setting(batch, in_flight))
            done = [r for r in results if r.seconds and not r.mismatches and not r.error]
            best = max(done, key=lambda r: r.rate).setting if done else Setting()
            if not args.quick:
                for pool in (int(p) for p in args.pools.split(",") if p):
                    if pool != best.pool:
                        trial(Setting(best.batch_size, best.in_flight, pool))
            if not args.no_two:
                log("service, two processes (competing consumers on one queue):")
                trial(Setting(best.batch_size, best.in_flight, best.pool, processes=2))
            log("service, one process, draining the pre-published stream (same conditions as the baseline):")
            trial(Setting(best.batch_size, best.in_flight, best.pool, mode="drain"))

            base_after = baseline(broker, traffic.messages)
            log(f"baseline again: {base_after:,.0f} msg/s")
        finally:
            for queue, if_idle in ((INGEST_QUEUE, False), ("rpc-dossiers", True)):  # nameko's, if idle and empty
                try:
                    broker.delete(queue, if_idle=if_idle)
                except Exception as exc:  # cleanup reports, never hides the real error
                    if not if_idle:  # a queue in use by someone else is left alone on purpose
                        log(f"! could not delete {queue}: {exc!r}")
            broker.close()

    base = (base_before + base_after) / 2
    bench_peak = proc_status(os.getpid(), "VmHWM") or 0
    log("")
    log(f"== summary: {total:,} messages ({traffic.distinct_events:,} distinct, {traffic.dossiers:,} dossiers); "
        f"baseline {base_before:,.0f} / {base_after:,.0f} msg/s (ratios vs their mean {base:,.0f}) ==")
    log("ratio: against the baseline (pre-published stream, as the issue specifies); like: against the raw consumer "
        "under the same conditions (live trials: the baseline while publishing)")
    log(f"{'path':<34}{'msg/s':>9}{'ratio':>7}{'like':>6}{'commit s':>9}{'acked s':>9}{'peak MiB':>14}{'CPU s':>12}"
        f"  result")
    log(f"{'baseline raw pika, prefetch 100':<34}{base:>9,.0f}{1.0:>7.2f}{1.0:>6.2f}")
    log(f"{'baseline while publishing':<34}{live_base:>9,.0f}{live_base / base:>7.2f}{1.0:>6.2f}")
    log(f"{'ceiling raw pika, pf 1500, ack/500':<34}{ceiling:>9,.0f}{ceiling / base:>7.2f}")
    for r in results:
        exact = (r.events_stored == traffic.distinct_events and r.dossiers == traffic.dossiers
                 and not r.mismatches and not r.error)
        status = "exact" if exact else ("FAILED" if not r.seconds else f"NOT EXACT {r.error or ''}"[:40])
        acked = f"{r.acked_seconds:.2f}" if r.acked_seconds else "-"
        peaks = "/".join(f"{kb / 1024:.0f}" for kb in r.peak_kb) or "-"
        cpu = "/".join(f"{c:.1f}" for c in r.cpu_seconds) or "-"
        like = r.rate / (live_base if r.setting.mode == "live" else base)
        log(f"{'dossiers ' + r.setting.label:<34}{r.rate:>9,.0f}{r.rate / base:>7.2f}{like:>6.2f}{r.seconds:>9.2f}"
            f"{acked:>9}"
            f"{peaks:>14}{cpu:>12}  {status}")
    live = [r for r in results if r.seconds and r.setting.mode == "live" and r.setting.processes == 1]
    if live:
        top = max(live, key=lambda r: r.rate)
        log(f"best one-process live setting: {top.setting.label} at {top.rate:,.0f} msg/s, ratio {top.rate / base:.2f} "
            f"({top.rate / live_base:.2f} of the baseline while publishing); target >= 0.35")
    drained = [r for r in results if r.seconds and r.setting.mode == "drain"]
    if drained:
        log(f"draining the pre-published stream (the baseline's own conditions): {drained[0].rate:,.0f} msg/s, "
            f"ratio {drained[0].rate / base:.2f}")
    log(f"bench process peak RSS (VmHWM): {bench_peak / 1024:.0f} MiB; whole run {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()

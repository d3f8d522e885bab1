"""What every fault test needs: the dossiers service as real OS processes, a stream with its ground truth plus
malformed messages, a publisher that republishes what the broker did not confirm, and the final accounting.

Each test runs on its own RabbitMQ vhost and PostgreSQL schema (tests/support.py); the service processes are
started with ``python -m nameko run --config FILE services.dossiers.service:DossiersService`` exactly as a
Deployment runs them, on free HTTP ports. Every wait is a condition with a deadline, never a sleep-and-hope.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import yaml
from prometheus_client.parser import text_string_to_metric_families

from cchc.traffic import FINAL_STATES, GeneratedTraffic, TrafficSpec, final_state, generate
from services.dossiers.rules import rules_from_config
from shared import deadletter
from shared.clock import pinned
from shared.config import load_config
from shared.messaging import INGEST_QUEUE, connect, declare_topology
from shared.publisher import PikaPublisher, PublishError
from tests.support import PG_URL, free_port, pg_schema_prefix, rabbit_vhost, wait_until

REPO = Path(__file__).resolve().parents[2]
SERVICE_PATH = "services.dossiers.service:DossiersService"  # the module alone also finds the OpsEndpoints mixin
PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=2"
PG_CLUSTER = ["15", "main"]
REPORT = REPO / "var" / "faults-report.txt"
MAX_MESSAGE_BYTES = 65536  # shared/config.yaml ingest.max_message_bytes (the default is what is tested)

SPAN = dt.timedelta(days=177)  # receipts over the half-year before `now` (15/12 → 10/6 when this was 2026-H1)


# ---------------------------------------------------------------------------------------------------------
# The stream
# ---------------------------------------------------------------------------------------------------------


def make_traffic(now: dt.datetime, dossiers: int = 1200, seed: int = 7) -> GeneratedTraffic:
    """About 4,400 messages for 1,200 dossiers received in the half-year before ``now`` (a pinned instant: see
    tests/support.py PINNED_TIMES): ~20% duplicates, shuffled, with the per-unit ground truth."""
    rules = rules_from_config(load_config())
    spec = TrafficSpec(start=now.date() - SPAN, end=now.date(), now=now, dossiers=dossiers, seed=seed)
    return generate(spec, rules.units, rules.catalogue, rules.calendar)


def _envelope(i: int, **over: Any) -> dict[str, Any]:
    body = {
        "event_id": str(uuid.uuid4()),
        "event_type": "dossier.resolved",
        "occurred_at": "2026-03-02T08:00:00+07:00",
        "source": "fault-test",
        "schema_version": 1,
        "payload": {"dossier_code": f"BAD-{i:05d}", "resolved_at": "2026-03-02T08:00:00+07:00"},
    }
    body.update(over)
    return body


def malformed_messages(count: int, seed: int = 1) -> list[bytes]:
    """``count`` distinct messages that can never succeed, of many kinds (each must be dead-lettered)."""
    rng = random.Random(seed)
    out: list[bytes] = []
    for i in range(count):
        kind = i % 15
        if kind == 13:  # deeper than the JSON decoder's recursion limit (a 3 kB message)
            body = f'{{"n": {i}, "event_id": '.encode() + b"[" * 3000 + b"]" * 3000 + b"}"
        elif kind == 14:  # an integer beyond Python's int-conversion digit limit
            body = b'{"schema_version": ' + b"7" * 5000 + f', "n": {i}}}'.encode()
        elif kind == 0:
            body: bytes | dict[str, Any] | list[Any] = f'{{"not json": {i}'.encode()
        elif kind == 1:
            body = [i, "an array, not an object"]
        elif kind == 2:
            body = _envelope(i, occurred_at="2026-03-02T08:00:00")  # naive
        elif kind == 3:
            body = _envelope(i, event_type="dossier.teleported")
        elif kind == 4:
            body = _envelope(i, schema_version=9)
        elif kind == 5:
            body = _envelope(i, payload={"resolved_at": "2026-03-02T08:00:00+07:00", "note": i})  # no dossier_code
        elif kind == 6:
            body = _envelope(i, payload={"dossier_code": f"BAD-{i}", "resolved_at": "2026-03-02T08:00:00+07:00",
                                         "surprise": True})
        elif kind == 7:
            body = _envelope(i, event_id=f"not-a-uuid-{i}")
        elif kind == 8 and i % 39 == 8:  # oversized: refused unread (a few only, they are 70 kB each)
            body = _envelope(i, payload={"dossier_code": f"BAD-{i}", "resolved_at": "2026-03-02T08:00:00+07:00",
                                         "padding": "x" * (MAX_MESSAGE_BYTES + 5000)})
        elif kind == 8:
            body = _envelope(i, payload=f"payload as a string {i}")
        elif kind == 9:
            body = b"\xff\xfe not utf-8 " + str(i).encode()
        elif kind == 10:
            body = _envelope(i, event_type="dossier.received", payload={
                "dossier_code": f"BAD-{i}", "procedure_code": "1.001193.H44", "unit_code": "25",
                "received_at": "2026-02-16T09:00:00"})  # naive, on Tết
        elif kind == 11:
            body = _envelope(i, payload={"dossier_code": " ", "resolved_at": "2026-03-02T08:00:00+07:00"})
        else:
            body = _envelope(i, source="", occurred_at=f"2026-13-{rng.randint(1, 40):02d}T08:00:00+07:00")
        out.append(body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode())
    assert len(set(out)) == count
    return out


def interleave(valid: list[dict[str, Any]], bad: list[bytes], seed: int = 3) -> list[dict[str, Any] | bytes]:
    """The valid stream with the bad messages at random positions (valid order kept)."""
    rng = random.Random(seed)
    slots = sorted(rng.randrange(len(valid) + 1) for _ in bad)
    out: list[dict[str, Any] | bytes] = []
    b = 0
    for position, message in enumerate(valid):
        while b < len(bad) and slots[b] == position:
            out.append(bad[b])
            b += 1
        out.append(message)
    out.extend(bad[b:])
    return out


# ---------------------------------------------------------------------------------------------------------
# The service as OS processes
# ---------------------------------------------------------------------------------------------------------




class ServiceProcess:
    """One ``nameko run`` of the dossiers service; its output goes to a log file shown when it fails."""

    def __init__(self, stack: Stack, index: int) -> None:
        self.port = free_port()
        self.index = index
        self.log_path = stack.workdir / f"dossiers-{index}.log"
        config = dict(stack.settings, WEB_SERVER_ADDRESS=f"127.0.0.1:{self.port}")
        config_path = stack.workdir / f"dossiers-{index}.yaml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
        self.log_file = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop/kill)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AMQP_", "DATABASE_", "INGEST_"))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nameko", "run", "--config", str(config_path), SERVICE_PATH],
            cwd=REPO, env=dict(env, PYTHONUNBUFFERED="1"), stdout=self.log_file, stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            raise AssertionError(f"dossiers process {self.index} exited with {self.process.returncode}:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def _get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=3) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")
        except (urllib.error.URLError, OSError):
            return 0, ""

    def ready(self) -> bool:
        self.check_alive()
        return self._get("/ready")[0] == 200

    def not_ready(self) -> bool:
        self.check_alive()
        return self._get("/ready")[0] == 503

    def metrics(self) -> dict[str, float]:
        """``name{label=value,...}`` -> value for this process's cchc_ samples."""
        status, text = self._get("/metrics")
        if status != 200:
            return {}
        values: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name.startswith("cchc_"):
                    labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()) if k != "service")
                    values[f"{sample.name}{{{labels}}}"] = sample.value
        return values

    def kill(self) -> None:
        """SIGKILL: no graceful stop, in-flight batches die wherever they are."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        self.log_file.close()

    def stop(self) -> int | None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
        self.log_file.close()
        return self.process.returncode

    def log_lines(self, *words: str) -> list[str]:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return [line for line in lines if any(w in line for w in words)]


@dataclass
class Stack:
    """An isolated vhost + schema, the config the processes run with, and what they left behind."""

    amqp_uri: str
    schema_template: str
    workdir: Path
    settings: dict[str, Any]
    processes: list[ServiceProcess] = field(default_factory=list)
    started: int = 0

    @property
    def schema(self) -> str:
        return self.schema_template.replace("<service>", "dossiers")

    @property
    def config(self) -> dict[str, Any]:
        return load_config(AMQP_URI=self.amqp_uri, DATABASE_URL=PG_URL, DATABASE_SCHEMA=self.schema_template)

    def start(self, replicas: int = 1, *, wait_ready: bool = True) -> list[ServiceProcess]:
        """Start ``replicas`` processes and wait until each is ready; the first alone when the schema is new
        (it runs the migrations), the others together."""
        new = []
        for i in range(replicas):
            process = ServiceProcess(self, self.started)
            self.started += 1
            self.processes.append(process)
            new.append(process)
            if wait_ready and (i == 0 or i == replicas - 1):
                for p in new:
                    wait_until(p.ready, timeout=60, interval=0.1, message=f"/ready of dossiers process {p.index}")
        return new

    @property
    def running(self) -> list[ServiceProcess]:
        return [p for p in self.processes if p.alive()]

    def check_alive(self) -> None:
        for p in self.running:
            p.check_alive()

    def metric(self, name: str) -> float:
        """A metric summed over the running processes."""
        return sum(v for p in self.running for k, v in p.metrics().items() if k == name)


@contextlib.contextmanager
def stack(tmp_path: Path, *, now: dt.datetime, **ingest: Any) -> Iterator[Stack]:
    """``now``: the instant the stream was generated for; every process started meanwhile (this one too) reads
    its clock from there, so what the services judge overdue never depends on the hour the test runs at."""
    with pinned(now), rabbit_vhost() as amqp_uri, pg_schema_prefix() as schema:
        settings = {
            "AMQP_URI": amqp_uri,
            "DATABASE_URL": PG_URL,
            "DATABASE_SCHEMA": schema,
            "DATABASE_POOL_SIZE": 4,
            "max_workers": 10,
            "HEARTBEAT": 10,
            "ingest": {"batch_size": 50, "batches_in_flight": 2, "max_wait_ms": 20,
                       "retry_backoff_max_seconds": 2, **ingest},
            "timeliness": {"scan_interval_seconds": 3600, "stats_publish_interval_seconds": 3600},
            "outbox": {"relay_interval_seconds": 1},
        }
        s = Stack(amqp_uri, schema, tmp_path, settings)
        with connect(s.config) as connection:  # the ingest queue exists before anything is published
            declare_topology(connection, "dossiers")
        try:
            yield s
        finally:
            for p in s.processes:
                p.stop()


# ---------------------------------------------------------------------------------------------------------
# Publishing that survives a broker outage
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Publishing:
    """Confirmed publishing in chunks; a chunk not wholly confirmed is published again (at-least-once:
    ``PublishError`` tells how many were confirmed, not which, so the whole chunk goes again)."""

    amqp_uri: str
    chunk: int = 100
    sent: int = 0  # messages handed to the connection, republished copies included
    delivered: int = 0  # messages of the stream wholly confirmed
    failures: list[str] = field(default_factory=list)
    done: bool = False

    @property
    def republished(self) -> int:
        return self.sent - self.delivered

    def run(self, messages: list[Any], deadline: float = 120.0, pace: Callable[[int], None] | None = None,
            before: Callable[[int], None] | None = None) -> None:
        """``pace(start)`` runs before each chunk; ``before(i)`` before the i-th message is handed over."""
        stop_at = time.monotonic() + deadline
        publisher: PikaPublisher | None = None

        def feed(start: int) -> Iterator[Any]:
            for i, message in enumerate(messages[start:start + self.chunk], start):
                if before is not None:
                    before(i)
                yield message

        try:
            for start in range(0, len(messages), self.chunk):
                part = messages[start:start + self.chunk]
                if pace is not None:
                    pace(start)
                while True:
                    try:
                        if publisher is None:
                            publisher = PikaPublisher(self.amqp_uri, window=self.chunk)
                        publisher.publish_many(feed(start))
                        self.sent += len(part)
                        self.delivered += len(part)
                        break
                    except Exception as exc:  # PublishError, or the connection refused while the broker is down
                        self.sent += exc.published if isinstance(exc, PublishError) else 0
                        self.failures.append(f"{type(exc).__name__}: {exc}"[:200])
                        if time.monotonic() > stop_at:
                            raise
                        if publisher is not None and publisher.connection is None:
                            publisher = None  # could not even reopen: build a new one
                        time.sleep(0.2)  # retry pacing while the broker is away, not a wait for a result
            self.done = True
        finally:
            if publisher is not None:
                with contextlib.suppress(Exception):
                    publisher.close()


# ---------------------------------------------------------------------------------------------------------
# Looking at the outcome
# ---------------------------------------------------------------------------------------------------------


class Db:
    """Direct reads of the service's schema from the test, reconnecting across a PostgreSQL restart."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self.connection: Any = None

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        for attempt in (1, 2):
            try:
                if self.connection is None or self.connection.closed:
                    self.connection = psycopg2.connect(PG_DSN)
                    self.connection.autocommit = True
                with self.connection.cursor() as cursor:
                    cursor.execute(sql)
                    return cursor.fetchall()
            except psycopg2.OperationalError:
                self.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def stored(self) -> int:
        """Committed events (0 while the tables do not exist yet or the database is away)."""
        try:
            return int(self.query(f'SELECT count(*) FROM "{self.schema}".dossier_events')[0][0])
        except psycopg2.Error:
            return 0

    def event_ids(self) -> set[str]:
        return {r[0] for r in self.query(f'SELECT event_id FROM "{self.schema}".dossier_events')}

    def states(self) -> dict[str, Counter[str]]:
        stored: dict[str, Counter[str]] = {}
        for unit, closing, outcome, count in self.query(
            f'SELECT unit_code, closing, outcome, count(*) FROM "{self.schema}".dossiers GROUP BY 1, 2, 3'
        ):
            stored.setdefault(unit or "<no unit>", Counter())[final_state(closing, outcome)] += count
        return stored

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                self.connection.close()


def queue_depth(amqp_uri: str, queue: str = INGEST_QUEUE) -> int:
    """Messages in ``queue``, ready *and* delivered-but-unacknowledged (AMQP's passive declare counts only the
    ready ones), from ``rabbitmqctl``."""
    vhost = amqp_uri.rsplit("/", 1)[1]
    result = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost, "--no-table-headers", "name",
                             "messages_ready", "messages_unacknowledged"],
                            check=True, capture_output=True, text=True, timeout=30)
    for line in result.stdout.splitlines():
        parts = line.split()
        if parts and parts[0] == queue:
            return int(parts[1]) + int(parts[2])
    raise AssertionError(f"queue {queue} not found in vhost {vhost}: {result.stdout!r}")


@dataclass
class Outcome:
    scenario: str
    sent: int
    processed: int  # distinct valid events committed
    dead_lettered: int  # messages in the dead-letter queue (redelivered copies included)
    dead_letter_copies: int  # of which extra copies of an already dead-lettered body (at-least-once)
    lost: int
    double_counted: int
    seconds: float
    note: str
    mismatches: list[tuple[str, str, int, int]]
    problems: list[str]


def account(s: Stack, traffic: GeneratedTraffic, bad: list[bytes], sent: int, db: Db, scenario: str,
            seconds: float, note: str) -> Outcome:
    """Compare everything with the ground truth once the queue is drained."""
    expected_ids = {m["event_id"] for m in traffic.messages}
    stored_ids = db.event_ids()
    with connect(s.config) as connection:
        parked = deadletter.browse(connection, "dossiers", limit=100_000)
    bodies = Counter(p.body for p in parked)
    problems = [f"dead letter without reason/field: {p.body[:60]!r}" for p in parked if not (p.reason and p.field)]
    problems += [f"dead letter of kind {p.kind}: {p.reason}" for p in parked if p.kind != "invalid"]
    stored_states = db.states()
    mismatches = []
    over = under = 0
    for unit in sorted(set(traffic.expected) | set(stored_states)):
        want, got = traffic.expected.get(unit, Counter()), stored_states.get(unit, Counter())
        for state in sorted(set(FINAL_STATES) | set(want) | set(got)):
            w, g = want.get(state, 0), got.get(state, 0)
            if w != g:
                mismatches.append((unit, state, w, g))
                over += max(0, g - w)
                under += max(0, w - g)
    left = queue_depth(s.amqp_uri)
    lost = len(expected_ids - stored_ids) + len(set(bad) - set(bodies)) + left + under
    double = len(stored_ids - expected_ids) + len(set(bodies) - set(bad)) + over
    return Outcome(scenario, sent, len(stored_ids & expected_ids), len(parked),
                   len(parked) - len(bodies), lost, double, seconds, note, mismatches, problems)


HEADER = (f"{'scenario':<34}{'sent':>7}{'processed':>10}{'dead-lettered':>15}{'lost':>6}{'double':>8}{'secs':>7}  "
          "notes")


def report(outcome: Outcome) -> str:
    """Append the scenario's row to var/faults-report.txt and return the whole table so far."""
    copies = f" (+{outcome.dead_letter_copies} copies)" if outcome.dead_letter_copies else ""
    dead = f"{outcome.dead_lettered - outcome.dead_letter_copies}{copies}"
    row = (f"{outcome.scenario:<34}{outcome.sent:>7}{outcome.processed:>10}{dead:>15}{outcome.lost:>6}"
           f"{outcome.double_counted:>8}{outcome.seconds:>7.1f}  {outcome.note}")
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with REPORT.open("a", encoding="utf-8") as handle:
        handle.write(row + "\n")
    table = "\n".join([HEADER, *REPORT.read_text(encoding="utf-8").splitlines()])
    print(f"\nfault scenarios (lost and double must be 0; {REPORT.relative_to(REPO)}):\n{table}", flush=True)
    return table


def assert_exact(outcome: Outcome, traffic: GeneratedTraffic, bad: list[bytes], *, exact_dead_letters: bool) -> None:
    assert not outcome.mismatches, f"per-unit statistics differ from the truth (unit, state, want, got): " \
                                   f"{outcome.mismatches[:20]}"
    assert outcome.lost == 0 and outcome.double_counted == 0, outcome
    assert outcome.processed == traffic.distinct_events
    assert not outcome.problems, outcome.problems[:10]
    if exact_dead_letters:
        assert outcome.dead_lettered == len(bad), outcome
    else:  # at-least-once: a copy can only come from a redelivery, never a message of its own
        assert outcome.dead_lettered - outcome.dead_letter_copies == len(bad), outcome


def wait_committed(s: Stack, db: Db, traffic: GeneratedTraffic, timeout: float = 90.0) -> None:
    """Every distinct event committed and the ingest queue drained (every message acked)."""

    def committed() -> bool:
        s.check_alive()
        return db.stored() == traffic.distinct_events

    def drained() -> bool:
        s.check_alive()
        return queue_depth(s.amqp_uri) == 0

    wait_until(committed, timeout=timeout, interval=0.05,
               message=f"{traffic.distinct_events} distinct events committed")
    wait_until(drained, timeout=30, interval=0.2, message="every message of the ingest queue acknowledged")

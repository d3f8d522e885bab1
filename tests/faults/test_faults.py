"""Fault tests: the dossiers service, as separate OS processes on the real RabbitMQ and PostgreSQL, replays a
generated stream (~4,400 messages: ~20% duplicates, shuffled, plus malformed messages) while something goes
wrong, and at the end every per-unit statistic and the dead letters equal the ground truth exactly.

Each scenario prints (with ``-s``) and appends to var/faults-report.txt a row: sent, processed (distinct valid
events committed), dead-lettered, lost (valid events not committed + malformed messages not dead-lettered +
messages left in the queue + per-unit under-counts: must be 0), double-counted (per-unit over-counts + events
or dead letters that were never sent: must be 0).

The RabbitMQ and PostgreSQL scenarios stop the machine's broker / database for a few seconds: they always
restore it in a ``finally`` and wait until it answers before returning.
"""

from __future__ import annotations

import subprocess
import time

import eventlet
import eventlet.event
import pytest
from kombu import Connection

from tests.faults.harness import (
    HEADER,
    PG_CLUSTER,
    REPORT,
    Db,
    Publishing,
    account,
    assert_exact,
    interleave,
    make_traffic,
    malformed_messages,
    report,
    stack,
    wait_committed,
)
from tests.support import RABBIT, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.faults,
              pytest.mark.pinned_times("after-hours")]  # CI's default; `--pinned-times all` runs every one


@pytest.fixture(scope="module")
def traffic(pinned_now):
    return make_traffic(pinned_now)


@pytest.fixture(scope="module", autouse=True)
def fresh_report():
    REPORT.unlink(missing_ok=True)
    yield
    if REPORT.exists():
        print(f"\nall fault scenarios:\n{HEADER}\n{REPORT.read_text(encoding='utf-8')}", flush=True)


def reached(s, db, count: int):
    def probe() -> int:
        s.check_alive()
        n = db.stored()
        return n if n >= count else 0

    return probe


def processed_counter(s) -> float:
    return s.metric("cchc_events_consumed_total{outcome=processed}")


# -------------------------------------------------------------------------------------------------------------


def test_consumer_sigkilled_three_times_mid_stream(traffic, pinned_now, tmp_path):
    bad = malformed_messages(12)
    stream = interleave(traffic.messages, bad)
    began = time.monotonic()
    # Small batches keep the stream long enough (a few seconds) to kill the consumer three times inside it.
    with stack(tmp_path, now=pinned_now, batch_size=10, batches_in_flight=2) as s:
        db = Db(s.schema)
        publishing = Publishing(s.amqp_uri)
        publishing.run(stream)  # all of it waits in the durable queue
        [process] = s.start(1, wait_ready=False)
        killed_at = []
        for fraction in (0.15, 0.4, 0.65):
            stored = wait_until(reached(s, db, int(traffic.distinct_events * fraction)), timeout=60, interval=0.01,
                                message=f"{fraction:.0%} of the events committed")
            process.kill()
            killed_at.append(stored)
            assert db.stored() < traffic.distinct_events, "the kill came after the end of the stream"
            [process] = s.start(1, wait_ready=False)  # the restarted pod
        wait_committed(s, db, traffic)
        outcome = account(s, traffic, bad, publishing.sent, db, "SIGKILL x3 + restart",
                          time.monotonic() - began, f"killed at {'/'.join(map(str, killed_at))} committed")
        db.close()
    report(outcome)
    assert_exact(outcome, traffic, bad, exact_dead_letters=False)


def test_three_replicas_consume_concurrently(traffic, pinned_now, tmp_path):
    bad = malformed_messages(12, seed=2)
    stream = interleave(traffic.messages, bad, seed=4)
    began = time.monotonic()
    with stack(tmp_path, now=pinned_now, batch_size=50, batches_in_flight=2) as s:
        db = Db(s.schema)
        replicas = s.start(3)
        publishing = Publishing(s.amqp_uri)
        publishing.run(stream)
        wait_committed(s, db, traffic)
        shares = [int(p.metrics().get("cchc_events_consumed_total{outcome=processed}", 0)) for p in replicas]
        outcome = account(s, traffic, bad, publishing.sent, db, "3 replicas concurrently",
                          time.monotonic() - began, f"acked per replica {'/'.join(map(str, shares))}")
        db.close()
    report(outcome)
    assert all(shares), f"every replica must have consumed part of the stream: {shares}"
    assert_exact(outcome, traffic, bad, exact_dead_letters=True)


def test_poison_flood_is_dead_lettered_without_a_crash(traffic, pinned_now, tmp_path):
    bad = malformed_messages(300, seed=3)
    stream = interleave(traffic.messages, bad, seed=5)
    began = time.monotonic()
    with stack(tmp_path, now=pinned_now) as s:
        db = Db(s.schema)
        [process] = s.start(1)
        publishing = Publishing(s.amqp_uri)
        publishing.run(stream)
        wait_committed(s, db, traffic)
        metrics = process.metrics()
        outcome = account(s, traffic, bad, publishing.sent, db, "300 poison messages interleaved",
                          time.monotonic() - began, f"1 process, pid {process.pid} never restarted")
        db.close()
        assert process.alive() and s.started == 1
        failures = process.log_lines("Traceback", "CRITICAL")
    report(outcome)
    assert_exact(outcome, traffic, bad, exact_dead_letters=True)
    assert metrics.get("cchc_events_consumed_total{outcome=dead_lettered}") == len(bad)
    assert metrics.get("cchc_dead_letters_total{kind=invalid}") == len(bad)
    assert not failures, failures[:5]


# -------------------------------------------------------------------------------------------------------------


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=120)


def broker_answers() -> bool:
    try:
        with Connection(f"{RABBIT}//", connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1)
            return True
    except Exception:
        return False


def test_rabbitmq_stopped_and_started_mid_stream(traffic, pinned_now, tmp_path):
    bad = malformed_messages(12, seed=6)
    stream = interleave(traffic.messages, bad, seed=7)
    began = time.monotonic()
    with stack(tmp_path, now=pinned_now, batch_size=50, batches_in_flight=2) as s:
        db = Db(s.schema)
        consumers = s.start(2)
        publishing = Publishing(s.amqp_uri, chunk=100)
        schedule = time.monotonic()
        # The broker goes away in the middle of a chunk: 50 messages of it handed over, none confirmed yet.
        cut = (int(len(stream) * 0.35) // 100) * 100 + 50
        paused, resume = eventlet.event.Event(), eventlet.event.Event()

        def pace(start: int) -> None:  # a steady one-door system: ~2,000 messages/s, so the outage hits mid-stream
            eventlet.sleep(max(0.0, schedule + start / 2000 - time.monotonic()))

        def before(i: int) -> None:
            if i == cut and not resume.ready():
                paused.send(True)
                resume.wait()

        publisher = eventlet.spawn(publishing.run, stream, 120.0, pace, before)
        outage = 0.0
        try:
            wait_until(paused.ready, timeout=30, message="the publisher to reach the middle of the stream")
            stored_before = db.stored()
            down = time.monotonic()
            rabbitmqctl("stop_app")
            resume.send(True)
            # Down until both sides noticed: the publisher failed, and every consumer reports the broker gone.
            wait_until(lambda: publishing.failures, timeout=30, message="the publisher to notice the outage")
            for p in consumers:
                wait_until(p.not_ready, timeout=30, interval=0.1, message=f"process {p.index} to report not ready")
            assert not publishing.done
        finally:
            if not resume.ready():
                resume.send(True)
            rabbitmqctl("start_app")
            rabbitmqctl("await_startup")
            wait_until(broker_answers, timeout=60, interval=0.2, message="RabbitMQ to accept connections again")
            outage = time.monotonic() - down
        publisher.wait()  # raises if publishing gave up
        assert stored_before < traffic.distinct_events
        assert publishing.republished >= 50, "the unconfirmed part of the interrupted chunk must go again"
        for p in consumers:  # reconnected by themselves: the same processes, no restart
            wait_until(p.ready, timeout=60, interval=0.1, message=f"process {p.index} ready again")
        wait_committed(s, db, traffic)
        outcome = account(s, traffic, bad, publishing.sent, db, "RabbitMQ stop_app/start_app",
                          time.monotonic() - began,
                          f"down {outage:.1f} s at {stored_before} committed; {len(publishing.failures)} publish "
                          f"failures, {publishing.republished} unconfirmed republished")
        db.close()
        assert all(p.alive() for p in consumers) and s.started == 2
    report(outcome)
    assert_exact(outcome, traffic, bad, exact_dead_letters=False)


# -------------------------------------------------------------------------------------------------------------


def pg_ctl(action: str) -> None:
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *PG_CLUSTER, action], check=True,
                   capture_output=True, timeout=120)


def database_answers(db: Db) -> bool:
    try:
        return db.query("SELECT 1") == [(1,)]
    except Exception:
        return False


def test_postgresql_restarted_mid_stream(traffic, pinned_now, tmp_path):
    bad = malformed_messages(12, seed=8)
    stream = interleave(traffic.messages, bad, seed=9)
    began = time.monotonic()
    with stack(tmp_path, now=pinned_now, batch_size=20, batches_in_flight=2) as s:
        db = Db(s.schema)
        consumers = s.start(2)
        publishing = Publishing(s.amqp_uri)
        publishing.run(stream)
        stored_before = wait_until(reached(s, db, int(traffic.distinct_events * 0.3)), timeout=60, interval=0.01,
                                   message="30% of the events committed")
        retries_before = s.metric("cchc_batch_retries_total{}")
        down = time.monotonic()
        try:
            pg_ctl("stop")
            # The consumers fail transiently and retry with backoff; while the database is away nothing more
            # may be acknowledged as processed (anything acked now could not have been committed).
            wait_until(lambda: s.metric("cchc_batch_retries_total{}") >= retries_before + 2, timeout=30,
                       interval=0.1, message="the consumers to retry failed batches")
            acked_while_down = processed_counter(s)
            wait_until(lambda: s.metric("cchc_batch_retries_total{}") >= retries_before + 6, timeout=30,
                       interval=0.1, message="more retries, with backoff")
            assert processed_counter(s) == acked_while_down, "events were acked while the database was down"
        finally:
            pg_ctl("start")
            wait_until(lambda: database_answers(db), timeout=60, interval=0.2, message="PostgreSQL to answer again")
        outage = time.monotonic() - down
        assert stored_before < traffic.distinct_events
        wait_committed(s, db, traffic)
        retries = s.metric("cchc_batch_retries_total{}") - retries_before
        outcome = account(s, traffic, bad, publishing.sent, db, "PostgreSQL stop/start",
                          time.monotonic() - began,
                          f"down {outage:.1f} s at {stored_before} committed; {retries:.0f} batch retries")
        db.close()
        assert all(p.alive() for p in consumers) and s.started == 2
        dead_failed = [line for p in consumers for line in p.log_lines("dead-lettered after a processing failure")]
    report(outcome)
    assert not dead_failed, dead_failed[:5]
    assert_exact(outcome, traffic, bad, exact_dead_letters=True)

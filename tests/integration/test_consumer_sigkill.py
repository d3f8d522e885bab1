"""SIGKILL the batch consumer at the worst moment, under the real broker: two poison batches split in the same
pass while an earlier-delivered batch is still uncommitted. On restart every event is stored exactly once: a
``multiple`` ack never covered the uncommitted batch (issue 12, critical). Only the service process is killed
(the broker stays up), so this is an integration test, not a fault test."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shared import deadletter
from shared.config import load_config
from shared.events import make_envelope
from shared.messaging import connect
from shared.publisher import publisher_for
from tests.support import free_port, rabbit_vhost, wait_until

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
TZ = dt.timezone(dt.timedelta(hours=7))


def start(workdir: Path, amqp_uri: str, hold: bool, index: int) -> tuple[subprocess.Popen, Path]:
    config = {"AMQP_URI": amqp_uri, "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}", "max_workers": 10,
              "ingest": {"batch_size": 4, "batches_in_flight": 4, "max_wait_ms": 300}}
    path = workdir / f"killable-{index}.yaml"
    path.write_text(yaml.safe_dump(config))
    log = workdir / f"killable-{index}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AMQP_", "DATABASE_", "INGEST_"))}
    env.update(CCHC_TEST_DB=str(workdir / "killable.db"), CCHC_TEST_HOLD="1" if hold else "0", PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "nameko", "run", "--config", str(path), "tests.integration.killable_consumer:Killable"],
        cwd=REPO, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    return process, log


def isolated(log: Path, process: subprocess.Popen) -> int:
    assert process.poll() is None, log.read_text()
    return log.read_text(errors="replace").count("dead-lettered after a processing failure")


def test_sigkill_while_an_earlier_batch_is_uncommitted_loses_and_double_counts_nothing(tmp_path):
    at = dt.datetime(2026, 7, 6, 9, tzinfo=TZ)
    codes = [f"D{i}" for i in range(16)]
    codes[1], codes[5], codes[9] = "POISON-A", "HOLD", "POISON-C"  # batches A (1-4), B (5-8), C (9-12), D
    good = sorted(c for c in codes if not c.startswith("POISON"))
    messages = [make_envelope("dossier.resolved", {"dossier_code": c, "resolved_at": at}, occurred_at=at)
                for c in codes]
    with rabbit_vhost() as amqp_uri:
        config = load_config(AMQP_URI=amqp_uri)
        first, log = start(tmp_path, amqp_uri, hold=True, index=0)
        second = None
        try:
            wait_until(lambda: "killable" in log.read_text(errors="replace") and first.poll() is None
                       and _queue_exists(config), timeout=60, message="the consumer started")
            publisher = publisher_for(config)
            publisher.publish_many(messages)
            publisher.close()
            # Both poison events isolated: on a broken bookkeeping, C's halves were then acked past HOLD's batch.
            wait_until(lambda: isolated(log, first) >= 2, timeout=30, message="both poison events isolated")
            first.send_signal(signal.SIGKILL)
            first.wait(30)
            second, _ = start(tmp_path, amqp_uri, hold=False, index=1)
            db_path = tmp_path / "killable.db"
            wait_until(lambda: len(_stored(db_path)) >= len(good), timeout=30,
                       message=f"the {len(good)} good events stored after the restart")
            with connect(config) as connection:
                letters = wait_until(lambda: (lambda p: p if len(p) >= 2 else None)(
                    deadletter.browse(connection, "killable")), timeout=30, message="the two poison dead letters")
        finally:
            for process in (first, second):
                if process is not None and process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    process.wait(60)
    stored, tally = _stored(db_path), _tally(db_path)
    assert sorted(stored) == good  # none lost (HOLD's batch was redelivered: it had not been acked)
    assert tally == len(good)  # none counted twice
    poisoned = sorted(json.loads(p.body)["payload"]["dossier_code"] for p in letters)
    assert set(poisoned) == {"POISON-A", "POISON-C"}


def _queue_exists(config) -> bool:
    try:
        with connect(config) as connection:
            connection.default_channel.queue_declare("killable.ingest", passive=True)
        return True
    except Exception:
        return False


def _stored(path: Path) -> list[str]:
    if not path.exists():
        return []
    with sqlite3.connect(path, timeout=30) as db:
        try:
            return [row[0] for row in db.execute("SELECT code FROM stored")]
        except sqlite3.OperationalError:
            return []


def _tally(path: Path) -> int:
    with sqlite3.connect(path, timeout=30) as db:
        return int(db.execute("SELECT coalesce(sum(n), 0) FROM tally").fetchone()[0])

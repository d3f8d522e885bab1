"""A minimal batch-consuming service run as an OS process by test_consumer_sigkill.py.

It stores each event once (SQLite file, primary key) and tallies what it stored in the same transaction, so
after a SIGKILL and a restart the test can tell a lost event (not stored) from a double-counted one (tally
above the rows). With ``CCHC_TEST_HOLD=1`` it reproduces the worst moment for the ack bookkeeping: batches
with a POISON event fail together (they wait for each other), while a batch with a HOLD event never commits.
"""

from __future__ import annotations

import os
import sqlite3

import eventlet
from nameko.dependency_providers import Config

from shared.batch_consumer import batch_event_handler

HOLD = os.environ.get("CCHC_TEST_HOLD") == "1"
DB_PATH = os.environ["CCHC_TEST_DB"]
_poison_waiting: list[eventlet.event.Event] = []


def _rendezvous() -> None:
    """The first two poison batches raise in the same turn of the hub, so one consume-loop pass splits both."""
    if len(_poison_waiting) >= 2:
        return
    arrived = eventlet.event.Event()
    _poison_waiting.append(arrived)
    if len(_poison_waiting) == 2:
        for waiting in _poison_waiting:
            if not waiting.ready():
                waiting.send(None)
    with eventlet.Timeout(2, False):
        arrived.wait()


class Killable:
    name = "killable"
    config = Config()

    @batch_event_handler(["#"], queue_name="killable.ingest")
    def take(self, events: list) -> dict:
        codes = [e.dossier_code for e in events]
        if any(c.startswith("POISON") for c in codes):
            if HOLD:
                _rendezvous()
            raise ValueError("cannot handle POISON")
        if HOLD and "HOLD" in codes:
            eventlet.sleep(3600)  # uncommitted until the test kills the process
        with sqlite3.connect(DB_PATH, timeout=30) as db:
            db.execute("CREATE TABLE IF NOT EXISTS stored (code TEXT PRIMARY KEY)")
            db.execute("CREATE TABLE IF NOT EXISTS tally (n INTEGER)")
            new = 0
            for code in codes:
                new += db.execute("INSERT OR IGNORE INTO stored VALUES (?)", (code,)).rowcount
            db.execute("INSERT INTO tally VALUES (?)", (new,))
        return {}

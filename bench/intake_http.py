"""Accepted events per second through the HTTP intake vs direct confirmed AMQP publishing, same run, same batches.

Baseline: ``shared.publisher.PikaPublisher.publish_many`` of each batch (persistent, publisher confirms) — what a
vendor that speaks AMQP does. HTTP: the same batches POSTed as JSON arrays to ``/v1/events`` on an intake service
running as its own process (``nameko run``), each answered only after the broker confirmed every event; the bench
checks that every event of every answer is ``accepted``. Both publish to ``onedoor.events`` in a throw-away vhost
bound to a queue that is purged between phases. Run sequentially (one client) and with ``--clients`` concurrent
clients (one publisher or one HTTP connection each). Phases alternate, ``--rounds`` times; the best of each is
compared. No asserts: numbers to watch (the target is HTTP ≥ 0.5 × baseline).

Run: .venv/bin/python bench/intake_http.py [--events 20000] [--batch 500] [--clients 4] [--rounds 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kombu import Connection  # noqa: E402

from services.intake import vendors  # noqa: E402
from shared.clock import utcnow  # noqa: E402
from shared.config import load_config  # noqa: E402
from shared.db import open_database  # noqa: E402
from shared.events import make_envelope  # noqa: E402
from shared.messaging import declare_topology, ingest_queue  # noqa: E402
from shared.publisher import PikaPublisher  # noqa: E402

RABBIT = "pyamqp://guest:guest@127.0.0.1:5672"
TZ = dt.timezone(dt.timedelta(hours=7))
SOURCE = "onedoor.bench"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def events(count: int) -> list[dict]:
    at = dt.datetime(2026, 7, 6, 9, tzinfo=TZ)
    return [make_envelope("dossier.received", {
        "dossier_code": f"H44.100-260706-{n:06d}", "procedure_code": "1.000894.000.00.00.H44", "unit_code": "07900",
        "received_at": at, "due_at": at + dt.timedelta(days=7), "processing_time": "5",
        "processing_time_unit": "working_days", "channel": "online",
        "applicant": {"name": "Nguyễn Văn An", "kind": "citizen", "email": "an@example.vn"}},
        occurred_at=at, source=SOURCE) for n in range(count)]


def batches(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def run_clients(work: list, clients: int, client: Callable[[list], None]) -> float:
    """Split ``work`` (batches) round-robin among ``clients`` threads; the seconds until all are done."""
    shares = [work[i::clients] for i in range(clients)]
    errors: list[BaseException] = []

    def go(share: list) -> None:
        try:
            client(share)
        except BaseException as exc:  # reported after the timing
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(share,)) for share in shares if share]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return elapsed


def amqp_client(uri: str) -> Callable[[list], None]:
    def client(share: list) -> None:
        publisher = PikaPublisher(uri)
        try:
            for batch in share:
                publisher.publish_many(batch)
        finally:
            publisher.close()
    return client


def http_client(port: int, token: str) -> Callable[[list], None]:
    def client(share: list) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        try:
            for batch in share:
                connection.request("POST", "/v1/events", json.dumps(batch, ensure_ascii=False).encode(), headers)
                response = connection.getresponse()
                body = json.loads(response.read())
                if response.status != 200 or body["accepted"] != len(batch):
                    raise RuntimeError(f"HTTP {response.status}: {str(body)[:300]}")
        finally:
            connection.close()
    return client


def purge(uri: str) -> int:
    with Connection(uri) as connection:
        return int(ingest_queue()(connection.default_channel).purge() or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    vhost = f"cchc_bench_{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, capture_output=True)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"], check=True,
                   capture_output=True)
    uri = f"{RABBIT}/{vhost}"
    tmp = Path(tempfile.mkdtemp(prefix="cchc-intake-bench-"))
    port = free_port()
    config_path = tmp / "config.yaml"
    config_path.write_text(json.dumps({
        "AMQP_URI": uri, "DATABASE_URL": f"sqlite:///{tmp}/<service>.db", "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
        "max_workers": 16,
        "intake": {"publishers": max(4, args.clients), "max_events": max(5000, args.batch),
                   "rate_limit": {"events_per_second": 1e9, "burst_events": 1e9}},
    }), encoding="utf-8")
    config = load_config(config_path)
    db = open_database(config, "intake")
    with db.transaction() as session:
        _, token = vendors.add(session, "bench", "bench", utcnow(), source=SOURCE)
    db.engine.dispose()
    with Connection(uri) as connection:
        declare_topology(connection)
    log = (tmp / "intake.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "nameko", "run", "--config", str(config_path),
                                "services.intake.service"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log,
                               env={**os.environ, "PYTHONWARNINGS": "ignore"})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"the intake did not start; see {tmp / 'intake.log'}") from None
                time.sleep(0.2)
        pika_uri = uri.replace("pyamqp://", "amqp://")
        print(f"{args.events:,} events in batches of {args.batch}; intake as its own process on :{port}, "
              f"vhost {vhost}")
        results: dict[str, list[float]] = {}
        for clients in sorted({1, args.clients}):
            for round_number in range(args.rounds):
                for name, client in (("amqp", amqp_client(pika_uri)), ("http", http_client(port, token))):
                    work = batches(events(args.events), args.batch)
                    elapsed = run_clients(work, clients, client)
                    queued = purge(uri)
                    if queued != args.events:
                        raise RuntimeError(f"{name}: {queued} messages queued, expected {args.events}")
                    rate = args.events / elapsed
                    results.setdefault(f"{name}/{clients}", []).append(rate)
                    print(f"  round {round_number + 1}, {clients} client(s), {name:4}: {rate:9,.0f} events/s "
                          f"({elapsed:.2f} s; {queued:,} confirmed in the queue)")
        print("\nbest of each (events accepted per second):")
        for clients in sorted({1, args.clients}):
            amqp, over_http = max(results[f"amqp/{clients}"]), max(results[f"http/{clients}"])
            print(f"  {clients} client(s): direct confirmed AMQP {amqp:,.0f}/s, HTTP intake {over_http:,.0f}/s, "
                  f"ratio {over_http / amqp:.2f} (target ≥ 0.5)")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True)


if __name__ == "__main__":
    main()

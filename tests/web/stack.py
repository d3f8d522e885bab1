"""A whole running system for the web tests: the four services and the web application, each as its own process
on RabbitMQ and PostgreSQL, half a year of one-door traffic, a criteria set scored, documents built, accounts for
every role — and a real OpenID Connect provider (npm's oidc-provider) as a separate process."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from cchc.demo_scoring import demo_copy, plausible_scores
from cchc.runner import rpc_proxy
from cchc.traffic import TrafficSpec, generate
from services.dossiers.rules import rules_from_config
from services.web import accounts
from services.web.accounts import AccountInput
from shared.clock import pinned, shift, utcnow
from shared.config import load_config
from shared.db import open_database
from shared.messaging import connect, declare_topology
from shared.publisher import publisher_for
from tests.support import PG_URL, PINNED_TIMES, free_port, pg_schema_prefix, rabbit_vhost, wait_until

PROVIDER_DIR = Path(__file__).resolve().parent / "oidc_provider"
PASSWORD = "Mat-khau-thu-2026"
OFFICER_UNIT, OTHER_UNIT, OTHER_DEPARTMENT = "07900", "07894", "H44.44"  # Việt Trì, Nông Trang, Sở Xây dựng
USERS = {  # username: (roles, units)
    "sonoivu": (["province_admin"], []),
    "lanhdao": (["leader"], []),
    "thamdinh": (["appraiser"], []),
    "canbo": (["unit_officer"], [OFFICER_UNIT]),
}
SSO_USER = "sso.lanhdao"  # exists here without a password; signs in at the provider
LUNCH_BREAK = PINNED_TIMES["lunch-break"]  # Tuesday 8/12/2026 12:15: the instant the shared stack's services run at


@contextlib.contextmanager
def oidc_provider(client_id: str, client_secret: str, redirect_uri: str) -> Iterator[str]:
    """Start npm's oidc-provider (installed with `npm ci` on first use) and yield its issuer URL."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is missing: the OpenID Connect tests run npm's oidc-provider (apt-get install nodejs)")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PROVIDER_DIR, check=True,
                       timeout=300)
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([node, "provider.mjs", str(port), client_id, client_secret, redirect_uri],
                                   cwd=PROVIDER_DIR, stdout=log, stderr=subprocess.STDOUT)
        yield from _provider_running(process, log, f"http://127.0.0.1:{port}")


def _provider_running(process: subprocess.Popen, log: Any, issuer: str) -> Iterator[str]:

    def discovery() -> bool:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"oidc-provider exited: {log.read().decode(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=2) as answer:
                return json.load(answer)["issuer"] == issuer
        except OSError:
            return False

    try:
        wait_until(discovery, timeout=60, message="oidc-provider's discovery document")
        yield issuer
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


SERVICE_NAMES = ("dossiers", "scoring", "reports", "notifications", "web")
REPO = Path(__file__).resolve().parents[2]


class ServiceProcess:
    """One service as ``nameko run`` (as in production), its output in a log file shown when it fails.

    ``root``: the checkout whose code runs (bench/web_pages.py runs an older one beside this one as its baseline)."""

    def __init__(self, name: str, settings: dict[str, Any], folder: Path, port: int, root: Path = REPO) -> None:
        self.name, self.port = name, port
        self.log_path = folder / f"{name}.log"
        config_path = folder / f"{name}.yaml"
        config_path.write_text(yaml.safe_dump(dict(settings, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}"),
                                              sort_keys=False, allow_unicode=True))
        self.log_file = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AMQP_", "DATABASE_", "WEB_", "OIDC_"))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nameko", "run", "--config", str(config_path), f"services.{name}.service"],
            cwd=root, env=dict(env, PYTHONUNBUFFERED="1"), stdout=self.log_file, stderr=subprocess.STDOUT)
        self.signalled = False

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ready", timeout=3) as answer:
                return answer.status == 200
        except OSError:
            return False

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def terminate(self) -> None:
        """Ask for a graceful stop (once: a second SIGTERM is not a faster one) without waiting for it."""
        if self.process.poll() is None and not self.signalled:
            self.process.send_signal(signal.SIGTERM)
            self.signalled = True

    def stop(self) -> None:
        self.terminate()
        if self.process.poll() is None:
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
        self.log_file.close()


def stop_all(processes: Iterable[ServiceProcess]) -> None:
    """SIGTERM every process, then wait for each: they wind down side by side (one after another, the five of a
    stack took 13 s)."""
    processes = list(processes)
    for process in processes:
        process.terminate()
    for process in processes:
        process.stop()


@dataclass
class Stack:
    url: str
    config: dict[str, Any]
    processes: dict[str, ServiceProcess]
    settings: dict[str, Any]
    folder: Path
    shift: dt.timedelta
    facts: dict[str, Any] = field(default_factory=dict)

    def rpc(self) -> Any:
        return rpc_proxy(self.config, timeout=60)

    def pinned(self) -> contextlib.AbstractContextManager[dict[str, str]]:
        """This process's clock (and that of processes it starts) set to the services' one: the stack is shared by
        several test modules, so it cannot hold the pin from its start to its end (later modules would inherit it)."""
        return pinned(dt.datetime.now(dt.UTC) + self.shift)

    def restart(self, name: str) -> None:
        """Start ``name`` again after a test stopped it (on a new port: the old one may linger in TIME_WAIT), and
        wait until it is ready, so the next module sharing the stack finds it whole."""
        old = self.processes[name]
        old.stop()
        with self.pinned():
            process = ServiceProcess(name, self.settings, self.folder, free_port())
        self.processes[name] = process
        wait_until(process.ready, timeout=180, interval=0.2, message=f"/ready of {name} restarted")


def _load(rpc: Any, config: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    rules = rules_from_config(config)
    spec = TrafficSpec(start=dt.date(2026, 6, 15), end=now.date(), now=now, dossiers=1500, seed=21,
                       duplicate_share=0.0, late_share=0.12)
    traffic = generate(spec, rules.units, rules.catalogue, rules.calendar)
    publisher = publisher_for(config)
    publisher.publish_many(list(traffic.messages))
    publisher.close()
    wait_until(lambda: rpc.dossiers.ingest_progress()["events_stored"] >= traffic.distinct_events, timeout=300,
               message="the generated events stored")
    rpc.scoring.sync_units()
    with tempfile.TemporaryDirectory() as folder:
        path, cs = demo_copy("department-2026.yaml", now, Path(folder))
        rpc.scoring.publish_criteria_set(str(path))
    import random

    rng = random.Random(7)
    departments = [u["code"] for u in rpc.dossiers.units() if u["kind"] == "department" and not u["valid_to"]]
    for code in departments:
        rpc.scoring.submit_scores(cs.id, code, plausible_scores(cs, code, rng), f"test:{code}", True)
    rpc.scoring.recalculate(cs.id)
    own = rpc.reports.build_statistics(OFFICER_UNIT, "2026-H2", ["xlsx"])
    other = rpc.reports.build_statistics(OTHER_UNIT, "2026-H2", ["xlsx"])
    ranking = rpc.reports.build_ranking([cs.id], ["docx"])
    return {"set_id": cs.id, "own_document": own["files"][0], "other_document": other["files"][0],
            "ranking_document": ranking["files"][0], "departments": departments}


def _accounts(config: dict[str, Any]) -> None:
    db = open_database(config, "web")
    try:
        with db.transaction() as session:
            for username, (roles, units) in USERS.items():
                accounts.create(session, username, AccountInput(display_name=f"Người dùng {username}",
                                                                password=PASSWORD, roles=roles, unit_codes=units),
                                utcnow())
            accounts.create(session, SSO_USER, AccountInput(display_name="Lãnh đạo (SSO)", roles=["leader"]),
                            utcnow(), require_password=False)
    finally:
        db.engine.dispose()


@contextlib.contextmanager
def web_stack(folder: Path, now: dt.datetime) -> Iterator[Stack]:
    """Every service as its own process on a throw-away RabbitMQ vhost and PostgreSQL schema, the clock pinned to
    ``now`` while they start (inherited by the processes; ``Stack.pinned`` pins this process to theirs again), the
    data loaded over RPC; stopped and dropped afterwards.

    Separate processes rather than containers in this one: Playwright's asyncio loop and an in-process
    eventlet web server starve each other (the browser's sub-resource requests never got an answer)."""
    web_port = free_port()
    url = f"http://127.0.0.1:{web_port}"
    client_id, client_secret = "cchc-web-test", "client-secret-for-tests"
    with rabbit_vhost() as amqp_uri, pg_schema_prefix() as schema, \
            oidc_provider(client_id, client_secret, f"{url}/dang-nhap/sso/callback") as issuer:
        settings: dict[str, Any] = {
            "AMQP_URI": amqp_uri, "DATABASE_URL": PG_URL, "DATABASE_SCHEMA": schema, "DATABASE_POOL_SIZE": 4,
            "reports": {"output_dir": str(folder / "documents")},
            "notifications": {"allow_local_channels": True, "email": {"folder": str(folder / "mail")},
                              "letters": {"folder": str(folder / "l")}},
            "web": {"rpc_timeout_seconds": 3, "oidc": {
                "enabled": True, "issuer": issuer, "client_id": client_id, "client_secret": client_secret,
                "redirect_uri": f"{url}/dang-nhap/sso/callback"}}}
        config = load_config(**settings)
        with connect(config) as connection:
            declare_topology(connection)
        processes: dict[str, ServiceProcess] = {}
        try:
            with pinned(now):
                _accounts(config)
                for name in SERVICE_NAMES:
                    processes[name] = ServiceProcess(name, settings, folder,
                                                     web_port if name == "web" else free_port())
                for process in processes.values():
                    wait_until(process.ready, timeout=180, interval=0.2, message=f"/ready of {process.name}")
                stack = Stack(url, config, processes, settings, folder, shift())
                with stack.rpc() as rpc:
                    stack.facts = _load(rpc, config, now)
            yield stack
        finally:
            stop_all(processes.values())


def decimal(text: str) -> Decimal:
    return Decimal(text.replace(".", "").replace(",", "."))

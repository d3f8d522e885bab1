"""The web application's pages: p50/p95 per page, beside the time the same requests spent waiting on RPC.

No asserts: numbers to watch, not a test. Every service runs as its own ``nameko run`` process (as deployed) on a
throw-away RabbitMQ vhost and PostgreSQL schema; requests go over HTTP with a signed-in session, one at a time.
Each response carries ``Server-Timing: rpc;dur=…, total;dur=…`` (services/web/backends.py): the time the page
waited on other services, and its whole server time. The page's own overhead is ``total − rpc`` (templates,
session, sorting), printed with the ratio total / rpc — the baseline measured in the same run, on the same data.

The unit's sheet pages (the PAR Index sheet, and the season sheet of the same set run as a season) are printed
with two floors measured in the same run (issue 15): a bare PostgreSQL transaction writing one row, and a page
that makes one cheap RPC to scoring (HTTP + session + one RabbitMQ round trip), each sheet's p95 as a multiple.

Two scenarios:
1. province — Phú Thọ as configured: 163 units (148 communes and wards, 15 departments), ``--dossiers`` one-door
   dossiers over the current half-year; the department criteria set scored; a statistics report built.
2. national — the same province with every ward of Vietnam added as its communes (3,321, from vietnam-provinces,
   via a unit file): the Decision-766 table then has 3,336 rows; ``--national-dossiers`` dossiers.

Target on the 2-core machine: the overview's p95 under 300 ms for the province.

Baseline in the same run (``--baseline DIR``, a checkout of an earlier commit, e.g.
``git archive <commit> | tar -x -C DIR``): a second, identical system runs that code beside this one, loaded with
the same stream, and each page's requests alternate between the two, so both see the same machine load (other
work on a shared machine moves absolute figures a lot; the ratio baseline / this is what to compare).

Run: .venv/bin/python bench/web_pages.py [--requests 40] [--dossiers 20000] [--national-dossiers 60000]
     [--scenarios province,national] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import eventlet  # noqa: E402

eventlet.monkey_patch()

import requests  # noqa: E402
import yaml  # noqa: E402
from vietnam_provinces import Province, Ward  # noqa: E402

from cchc.demo_scoring import demo_copy, plausible_scores  # noqa: E402
from cchc.runner import rpc_proxy  # noqa: E402
from cchc.traffic import TrafficSpec, generate  # noqa: E402
from services.dossiers.periods import PeriodKind, period_containing  # noqa: E402
from services.dossiers.rules import rules_from_config  # noqa: E402
from services.web import accounts  # noqa: E402
from services.web.accounts import AccountInput  # noqa: E402
from shared.calendar import LOCAL_TZ  # noqa: E402
from shared.clock import utcnow  # noqa: E402
from shared.config import load_config  # noqa: E402
from shared.db import open_database  # noqa: E402
from shared.messaging import connect, declare_topology  # noqa: E402
from shared.publisher import publisher_for  # noqa: E402
from tests.support import PG_URL, free_port, pg_schema_prefix, rabbit_vhost, wait_until  # noqa: E402
from tests.web.stack import SERVICE_NAMES, ServiceProcess  # noqa: E402

PASSWORD = "Mat-khau-do-hieu-nang-2026"
WARMUP = 3
TARGET_MS = 300.0
TIMING = re.compile(r"(\w+);dur=([0-9.]+)")


def national_unit_file(folder: Path) -> Path:
    """Every ward of Vietnam outside Phú Thọ as a commune of P25: a 3,321-commune tree for one service."""
    units = [{"code": f"{int(w.code):05d}", "name": f"{w.name} ({p.name})"}
             for p in Province.iter_all() if int(p.code) != 25 for w in Ward.iter_by_province(p.code)]
    path = folder / "national.yaml"
    path.write_text(yaml.safe_dump({"province_code": 25, "defaults": {
        "kind": "commune", "parent": "P25", "valid_from": "2025-07-01", "valid_to": None}, "units": units},
        allow_unicode=True, sort_keys=False))
    return path


@contextlib.contextmanager
def system(folder: Path, extra_units: Path | None, root: Path = ROOT) -> Iterator[tuple[dict[str, Any], str]]:
    with rabbit_vhost() as amqp_uri, pg_schema_prefix() as schema:
        settings: dict[str, Any] = {"AMQP_URI": amqp_uri, "DATABASE_URL": PG_URL, "DATABASE_SCHEMA": schema,
                                    "reports": {"output_dir": str(folder / "documents")},
                                    "notifications": {"allow_local_channels": True,
                                                      "email": {"folder": str(folder / "mail")},
                                                      "letters": {"folder": str(folder / "letters")}},
                                    "web": {"cookie_secure": False, "rpc_timeout_seconds": 60}}
        if extra_units:
            settings["province"] = {"code": 25, "unit_files": [str(extra_units)]}
        config = load_config(**settings)
        with connect(config) as connection:
            declare_topology(connection)
        db = open_database(config, "web")
        with db.transaction() as session:
            accounts.create(session, "bench", AccountInput(display_name="Bench", password=PASSWORD,
                                                           roles=["province_admin"]), utcnow())
        db.engine.dispose()
        web_port = free_port()
        processes = {}
        try:
            for name in SERVICE_NAMES:
                processes[name] = ServiceProcess(name, settings, folder, web_port if name == "web" else free_port(),
                                                 root)
            for process in processes.values():
                wait_until(process.ready, timeout=300, interval=0.2, message=f"/ready of {process.name}")
            yield config, f"http://127.0.0.1:{web_port}"
        finally:
            for process in processes.values():
                process.stop()


def load(config: dict[str, Any], dossiers: int, now: dt.datetime) -> dict[str, Any]:
    rules = rules_from_config(config)
    half = period_containing(now.astimezone(LOCAL_TZ).date(), PeriodKind.HALF_YEAR)
    started = time.perf_counter()
    traffic = generate(TrafficSpec(start=half.start, end=now.astimezone(LOCAL_TZ).date(), now=now,
                                   dossiers=dossiers, seed=766, duplicate_share=0.0), rules.units, rules.catalogue,
                       rules.calendar)
    publisher = publisher_for(config)
    publisher.publish_many(list(traffic.messages))
    publisher.close()
    with rpc_proxy(config, timeout=600) as rpc:
        wait_until(lambda: rpc.dossiers.ingest_progress()["events_stored"] >= traffic.distinct_events,
                   timeout=3600, interval=1, message="the stream stored")
        print(f"  {dossiers:,} dossiers ({traffic.distinct_events:,} events) stored in "
              f"{time.perf_counter() - started:.0f} s")
        rpc.scoring.sync_units()
        with tempfile.TemporaryDirectory() as tmp:
            path, cs = demo_copy("department-2026.yaml", now, Path(tmp))
            rpc.scoring.publish_criteria_set(str(path))
            season_path = Path(tmp) / "season.json"  # the same set run as a season on the web: its sheet page
            season_path.write_text(json.dumps({**json.loads(path.read_text(encoding="utf-8")),
                                               "id": f"{cs.id}-ky", "season": True}, ensure_ascii=False),
                                   encoding="utf-8")
            season_id = rpc.scoring.publish_criteria_set(str(season_path))["set_id"]
        rng = random.Random(3)
        departments = [u["code"] for u in rpc.dossiers.units() if u["kind"] == "department" and not u["valid_to"]]
        for code in departments:
            rpc.scoring.submit_scores(cs.id, code, plausible_scores(cs, code, rng), "bench", True)
        rpc.scoring.recalculate(season_id)  # every unit with an index (the office's view of a season sheet)
        root = next(u["code"] for u in rpc.dossiers.units() if u["parent_code"] is None)
        rows = rpc.dossiers.period_stats(root, half.label, True)
        busiest = max(rows[1:], key=lambda r: r["finished_late"] + r["unfinished_overdue"])
        rpc.reports.build_statistics(root, half.label, ["xlsx"])
    return {"half": half.label, "set_id": cs.id, "season_set_id": season_id, "busiest": busiest["unit_code"],
            "department": departments[0],
            "units": len(rows) - 1}


def signed_in(url: str) -> requests.Session:
    session = requests.Session()
    form = session.get(f"{url}/dang-nhap", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    answer = session.post(f"{url}/dang-nhap", data={"csrf_token": token, "username": "bench", "password": PASSWORD,
                                                     "next": "/tong-quan"}, timeout=60, allow_redirects=False)
    assert answer.status_code == 303, answer.status_code
    return session


CALLS = re.compile(r'rpc;dur=[0-9.]+;desc="(\d+) calls"')


@dataclass
class Samples:
    wall: list[float] = field(default_factory=list)
    rpc: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)
    calls: int = 0
    size: int = 0

    def add(self, elapsed: float, answer: requests.Response) -> None:
        header = answer.headers.get("Server-Timing", "")
        timing = dict(TIMING.findall(header))
        self.wall.append(elapsed)
        self.rpc.append(float(timing["rpc"]))
        self.total.append(float(timing["total"]))
        found = CALLS.search(header)
        self.calls = int(found.group(1)) if found else -1
        self.size = len(answer.content)

    def figures(self) -> dict[str, float]:
        cuts = statistics.quantiles(self.wall, n=100, method="inclusive")
        own = [t - r for t, r in zip(self.total, self.rpc, strict=True)]
        return {"p50": cuts[49], "p95": cuts[94], "rpc_p50": statistics.median(self.rpc),
                "total_p50": statistics.median(self.total), "own_p50": statistics.median(own),
                "calls": self.calls, "bytes": self.size}


def measure(targets: list[tuple[requests.Session, str]], path: str, n: int) -> list[dict[str, float]]:
    """``n`` timed requests of ``path`` from each system, alternating (who goes first alternates too); anything
    but a 200 stops the run (a redirect is not followed: it would time another page)."""
    samples = [Samples() for _ in targets]
    for i in range(WARMUP + n):
        order = list(range(len(targets)))
        if i % 2:
            order.reverse()
        for k in order:
            session, url = targets[k]
            started = time.perf_counter()
            answer = session.get(url + path, timeout=120, allow_redirects=False)
            elapsed = (time.perf_counter() - started) * 1000
            if answer.status_code != 200:
                raise RuntimeError(f"{path}: HTTP {answer.status_code}")
            if i >= WARMUP:
                samples[k].add(elapsed, answer)
    return [s.figures() for s in samples]


SHEET_RATIO = 10.0  # the unit's sheet page p95 / a bare one-row transaction's p95, same run (issue 15)
# The second floor: a signed-in page whose handler makes one cheap RPC to scoring — "/chi-so" asks
# criteria_sets and lists the two sets (a 2 KiB template). HTTP, the session's read, one RabbitMQ round trip and
# the scoring transaction behind it: what no page that asks scoring anything goes under on this machine.
ONE_RPC_PAGE = "/chi-so"
SHEETS = ("PAR Index sheet of a unit", "PAR Index season sheet of a unit")


def bare_transaction_p95(config: dict, n: int) -> float:
    """The floor any page that reads the database stands on: BEGIN, INSERT one row, COMMIT on the scoring
    service's own database, without SQLAlchemy (bench/scoring_recalc.py's baseline, the same definition)."""
    from scoring_recalc import Baseline  # bench/ is this script's folder

    database = open_database(config, "scoring", auto_migrate=False)
    try:
        baseline = Baseline(database)
        cursor = baseline.connection.cursor()  # measured once per sheet page: go on after the last run's rows
        cursor.execute("SELECT coalesce(max(id), 0) FROM bench_baseline")
        baseline.next_id = cursor.fetchone()[0]
        baseline.connection.commit()
        for _ in range(WARMUP + n):
            baseline.one()
        samples = baseline.take()[WARMUP:]
        return statistics.quantiles(samples, n=100, method="inclusive")[94]
    finally:
        database.engine.dispose()


def print_floors(target: list[tuple[requests.Session, str]], config: dict, sheet: dict[str, float], n: int) -> None:
    """Beside a sheet page (this system's figures), in the same run: the bare one-row transaction and the
    one-RPC page, with the sheet's p95 as a multiple of each."""
    bare = bare_transaction_p95(config, n)
    [floor] = measure(target, ONE_RPC_PAGE, n)
    print(f"  {'':<38} {'bare txn':<8} {'':>8} {bare:8.1f}   <- a bare PostgreSQL transaction writing one row; "
          f"sheet p95 / bare p95 = {sheet['p95'] / bare:.1f}× (target < {SHEET_RATIO:.0f}×)")
    print(f"  {'':<38} {'1 RPC':<8} {floor['p50']:8.1f} {floor['p95']:8.1f} {floor['rpc_p50']:8.1f} "
          f"{floor['calls']:5d} {floor['total_p50']:8.1f} {floor['own_p50']:7.1f}   <- {ONE_RPC_PAGE}: HTTP + one "
          f"RPC to scoring; sheet p95 / this p95 = {sheet['p95'] / floor['p95']:.1f}×")


def run_scenario(name: str, dossiers: int, n: int, national: bool, baseline: Path | None) -> None:
    print(f"\n== {name}: {dossiers:,} dossiers (load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs)")
    now = utcnow()
    roots = [("this", ROOT)] + ([("baseline", baseline)] if baseline else [])
    with contextlib.ExitStack() as stack:
        targets, facts, configs = [], {}, []
        for label, root in roots:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            config, url = stack.enter_context(system(folder, national_unit_file(folder) if national else None, root))
            print(f"  [{label}] ", end="")
            facts = load(config, dossiers, now)  # the same stream into each: the same facts
            targets.append((signed_in(url), url))
            configs.append(config)
        print(f"  {facts['units']:,} units below the province")
        pages = {
            "overview (current month)": "/tong-quan",
            "overview (half-year, 766 table)": f"/tong-quan?period={facts['half']}",
            "overview sorted by points lost": f"/tong-quan?period={facts['half']}&sort=points_lost&dir=desc",
            "unit drill-down (late list, trend)": f"/tong-quan/don-vi/{facts['busiest']}?period={facts['half']}"
                                                   "&status=late",
            "PAR Index ranking (departments)": f"/chi-so/{facts['set_id']}",
            "PAR Index sheet of a unit": f"/chi-so/{facts['set_id']}/don-vi/{facts['department']}",
            "PAR Index season sheet of a unit": f"/chi-so/{facts['season_set_id']}/danh-gia/{facts['department']}",
            "documents": "/van-ban",
            "notifications": "/thong-bao",
            "public page": "/cong-khai",
        }
        print(f"  {'page':<38} {'code':<8} {'p50 ms':>8} {'p95 ms':>8} {'RPC p50':>8} {'calls':>5} {'server':>8} "
              f"{'own':>7} {'total/RPC':>9} {'KiB':>6}")
        for title, path in pages.items():
            results = measure(targets, path, n)
            for (label, _), m in zip(roots, results, strict=True):
                ratio = m["total_p50"] / m["rpc_p50"] if m["rpc_p50"] else float("inf")
                flag = ""
                if title.startswith("overview (current") and name == "province":
                    flag = "  <- target p95 < 300 ms: " + ("met" if m["p95"] < TARGET_MS else "NOT met")
                print(f"  {title if label == 'this' else '':<38} {label:<8} {m['p50']:8.1f} {m['p95']:8.1f} "
                      f"{m['rpc_p50']:8.1f} {m['calls']:5d} {m['total_p50']:8.1f} {m['own_p50']:7.1f} {ratio:9.2f} "
                      f"{m['bytes'] / 1024:6.0f}{flag}")
            if title in SHEETS:
                print_floors(targets[:1], configs[0], results[0], n)
            if len(results) == 2:
                new, old = results
                print(f"  {'':<38} {'old/new':<8} {old['p50'] / new['p50']:8.2f} {old['p95'] / new['p95']:8.2f} "
                      f"{old['rpc_p50'] / max(new['rpc_p50'], 0.01):8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=40, help="timed requests per page (after 3 warm-ups)")
    parser.add_argument("--dossiers", type=int, default=20000, help="dossiers in the province scenario")
    parser.add_argument("--national-dossiers", type=int, default=60000)
    parser.add_argument("--scenarios", default="province,national")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a checkout of an earlier commit, run beside this one as the same run's baseline")
    args = parser.parse_args()
    wanted = args.scenarios.split(",")
    if "province" in wanted:
        run_scenario("province", args.dossiers, args.requests, national=False, baseline=args.baseline)
    if "national" in wanted:
        run_scenario("national", args.national_dossiers, args.requests, national=True, baseline=args.baseline)


if __name__ == "__main__":
    main()

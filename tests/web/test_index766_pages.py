"""The Decision 766 pages in a real browser (Playwright driving Debian's chromium): the province view ranking units
by points at stake, a unit's six groups with the points lost and the dossiers behind them (names masked), inferred
indicators marked, the workbook downloaded, a unit officer limited to his units, bookmarkable URLs, bad input 404.

A smaller system than test_browser.py's: only the dossiers service and the web application, each as its own
process on RabbitMQ and PostgreSQL, with a generated August 2026 carrying every Decision 766 fact and the
procedure facts imported. The scenarios run in a plain Python process (tests/web/index766_scenarios.py; see
browser_scenarios.py why); full-page screenshots go to var/screenshots/."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cchc.traffic import TrafficSpec, generate
from services.dossiers.rules import rules_from_config
from services.web import accounts
from services.web.accounts import AccountInput
from shared.calendar import LOCAL_TZ
from shared.clock import pinned, utcnow
from shared.config import load_config
from shared.db import open_database
from shared.messaging import connect, declare_topology
from shared.publisher import publisher_for
from tests.support import PG_URL, free_port, pg_schema_prefix, rabbit_vhost, wait_until
from tests.web.stack import PASSWORD, ServiceProcess, stop_all

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 9, 3, 8, 0, tzinfo=LOCAL_TZ)
SCRIPT = Path(__file__).with_name("index766_scenarios.py")
OFFICER_UNIT, OTHER_UNIT = "07900", "07894"


def _accounts(config) -> None:
    db = open_database(config, "web")
    try:
        with db.transaction() as session:
            for username, roles, units in (("sonoivu", ["province_admin"], []),
                                           ("canbo", ["unit_officer"], [OFFICER_UNIT])):
                accounts.create(session, username, AccountInput(display_name=f"Người dùng {username}",
                                                                password=PASSWORD, roles=roles, unit_codes=units),
                                utcnow())
    finally:
        db.engine.dispose()


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web766")
    web_port = free_port()
    with pinned(NOW), rabbit_vhost() as amqp_uri, pg_schema_prefix() as schema:
        settings = {"AMQP_URI": amqp_uri, "DATABASE_URL": PG_URL, "DATABASE_SCHEMA": schema, "DATABASE_POOL_SIZE": 4,
                    "timeliness": {"scan_interval_seconds": 3600}, "web": {"rpc_timeout_seconds": 20}}
        config = load_config(**settings)
        with connect(config) as connection:
            declare_topology(connection)
        _accounts(config)
        rules = rules_from_config(config)
        traffic = generate(TrafficSpec(start=dt.date(2026, 7, 15), end=dt.date(2026, 8, 31), now=NOW, dossiers=1200,
                                       seed=14, index766=True), rules.units, rules.catalogue, rules.calendar)
        processes = {name: ServiceProcess(name, settings, folder, web_port if name == "web" else free_port())
                     for name in ("dossiers", "web")}
        try:
            for process in processes.values():
                wait_until(process.ready, timeout=180, interval=0.2, message=f"/ready of {process.name}")
            publisher = publisher_for(config)
            try:
                publisher.publish_many(list(traffic.messages))
            finally:
                publisher.close()
            from cchc.runner import rpc_proxy

            with rpc_proxy(config, timeout=60) as rpc:
                events = len({m["event_id"] for m in traffic.messages if m["event_type"].startswith("dossier.")})
                wait_until(lambda: rpc.dossiers.ingest_progress()["events_stored"] >= events, timeout=300,
                           message="the month stored")
                out = io.StringIO()
                csv.writer(out).writerows(traffic.truth766.procedure_rows())
                imported = rpc.dossiers.index766_import_procedure_facts(
                    "2026-08", "facts.csv", base64.b64encode(out.getvalue().encode()).decode(), "test")
                assert imported["accepted"], imported
                ranking = rpc.dossiers.index766_ranking("2026-08")
                officer = rpc.dossiers.index766(OFFICER_UNIT, "2026-08", 20)
            names = sorted({(m["payload"].get("applicant") or {}).get("name") for m in traffic.messages
                            if m["event_type"] == "dossier.received"} - {None})
            info = {"url": f"http://127.0.0.1:{web_port}", "password": PASSWORD, "ranking": ranking,
                    "officer": officer, "officer_unit": OFFICER_UNIT, "other_unit": OTHER_UNIT,
                    "applicant_names": names}
            info_path, results_path = folder / "info.json", folder / "results.json"
            info_path.write_text(json.dumps(info, ensure_ascii=False, default=str))
            run = subprocess.run([sys.executable, str(SCRIPT), str(info_path), str(results_path)],
                                 capture_output=True, text=True, timeout=900)
            if not results_path.exists():
                pytest.fail(f"the browser scenarios did not run (exit {run.returncode}):\n{run.stderr[-4000:]}")
            yield json.loads(results_path.read_text())
        finally:
            stop_all(processes.values())


def check(results, name):
    outcome = results.get(name)
    assert outcome is not None, f"scenario {name} did not run"
    assert outcome["ok"], outcome["error"]


def test_province_view_ranks_units_by_points_at_stake(results):
    check(results, "province_view")


def test_a_units_six_groups_with_points_lost_and_masked_dossiers(results):
    check(results, "unit_view")


def test_a_unit_officer_sees_his_units_only(results):
    check(results, "officer_scope")


def test_bad_period_kind_or_unit_is_404(results):
    check(results, "bad_input")

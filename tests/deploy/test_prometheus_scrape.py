"""A real Prometheus (Debian's package) scrapes the dossiers service running in-process and evaluates CCHC's own
alert rules: the service's metrics arrive, every rule evaluates without error, the dashboard's queries are
valid PromQL, and after malformed messages are dead-lettered CchcDeadLettersArriving goes from quiet to
firing. Only the `for:` durations and the intervals are shortened, in the test's own copy of the rules."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from cchc.runner import running
from services.dossiers.service import DossiersService
from shared.config import load_config
from shared.publisher import publisher_for
from tests.support import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "cchc-alerts.rules.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "cchc-overview.json"
PROMETHEUS = shutil.which("prometheus")




class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        try:
            with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=5) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:  # 400 on a bad query: return Prometheus' own error
            return json.loads(exc.read())

    def query(self, expr: str) -> list[dict[str, Any]]:
        answer = self.get("/api/v1/query", query=expr)
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def alerts(self, name: str) -> list[dict[str, Any]]:
        return [a for a in self.get("/api/v1/alerts")["data"]["alerts"] if a["labels"]["alertname"] == name]


@contextlib.contextmanager
def prometheus(tmp: Path, target: str) -> Iterator[Prometheus]:
    """Prometheus scraping ``target`` every second, with the real rules made quick; stopped and removed after."""
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for group in rules["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "2s"
    (tmp / "rules.yml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "900ms"},
        "rule_files": [str(tmp / "rules.yml")],
        "scrape_configs": [{"job_name": "dossiers", "static_configs": [{"targets": [target]}]}],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    log = (tmp / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [PROMETHEUS, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    server = Prometheus(f"http://127.0.0.1:{port}")
    try:
        def ready() -> bool:
            assert process.poll() is None, (tmp / "prometheus.log").read_text(errors="replace")[-2000:]
            try:
                with urllib.request.urlopen(f"{server.url}/-/ready", timeout=1) as response:
                    return response.status == 200
            except OSError:
                return False

        wait_until(ready, timeout=20, interval=0.1, message="Prometheus ready")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def _dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [
        t["expr"].replace("$namespace", ".*").replace("$__rate_interval", "1m")
        for panel in dashboard["panels"]
        for t in panel.get("targets", [])
    ]


def test_prometheus_scrapes_the_service_and_the_dead_letter_alert_fires(tmp_path):
    from kombu.transport import memory

    assert PROMETHEUS, "prometheus missing: apt-get install prometheus (Debian's package)"

    memory.Transport.global_state.clear()
    memory.Channel.queues.clear()
    config = load_config(AMQP_URI="memory://", DATABASE_URL=f"sqlite:///{tmp_path}/<service>.db",
                         timeliness={"scan_interval_seconds": 3600})
    port = free_port()
    with running([DossiersService], config, http_base_port=port), prometheus(tmp_path, f"127.0.0.1:{port}") as prom:
        # The service is scraped: up, and its metrics with their `service` label.
        wait_until(lambda: (prom.value('count_over_time(up{job="dossiers"}[15m])') or 0) >= 3, timeout=20,
                   message="three scrapes of the dossiers service")
        assert prom.value('up{job="dossiers"}') == 1
        assert prom.query('cchc_batch_duration_seconds_count{job="dossiers"}') is not None

        # Every rule of the real file evaluates without error on a live Prometheus.
        def rule_health() -> list[dict[str, Any]]:
            groups = prom.get("/api/v1/rules")["data"]["groups"]
            rules = [r for g in groups for r in g["rules"]]
            return rules if rules and all(r.get("lastEvaluation", "").startswith("2") for r in rules) else []

        rules = wait_until(rule_health, timeout=20, message="every rule evaluated once")
        assert len(rules) == sum(len(g["rules"]) for g in yaml.safe_load(RULES.read_text())["groups"])
        assert [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"] == []

        # The dashboard's queries are valid PromQL.
        for expr in _dashboard_queries():
            answer = prom.get("/api/v1/query", query=expr)
            assert answer["status"] == "success", (expr, answer.get("error"))

        # Quiet before: no dead letters since Prometheus started (a counter left by an earlier test in this
        # process has as many samples as `up`, so it is not an arrival).
        before = prom.value('sum(cchc_dead_letters_total{job="dossiers", kind="invalid"})') or 0.0
        assert prom.alerts("CchcDeadLettersArriving") == []
        # The absent-service alert fires for the services this Prometheus does not scrape, not for dossiers.
        def unavailable() -> set[str]:
            return {a["labels"]["service"] for a in prom.alerts("CchcServiceUnavailable") if a["state"] == "firing"}

        wait_until(lambda: unavailable() == {"scoring", "reports", "notifications", "intake", "web"}, timeout=15,
                   message="CchcServiceUnavailable firing for exactly the five unscraped services")

        publisher = publisher_for(config)
        try:
            publisher.publish_many([b"{not json", b"[]", b'{"event_type": "dossier.teleported"}'])
        finally:
            publisher.close()

        wait_until(lambda: prom.value('sum(cchc_dead_letters_total{job="dossiers", kind="invalid"})') == before + 3,
                   timeout=20, message="three more dead letters scraped")
        assert prom.value('sum(cchc_events_consumed_total{job="dossiers", outcome="dead_lettered"})') >= 3

        def firing() -> list[dict[str, Any]]:
            return [a for a in prom.alerts("CchcDeadLettersArriving") if a["state"] == "firing"]

        (alert,) = wait_until(firing, timeout=30, message="CchcDeadLettersArriving firing")
        assert alert["labels"]["service"] == "dossiers" and alert["labels"]["kind"] == "invalid"
        assert alert["annotations"]["runbook_url"] == "docs/operations.md#cchcdeadlettersarriving"

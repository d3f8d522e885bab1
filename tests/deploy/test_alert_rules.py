"""The alert rules as plain files: `promtool check rules` and `promtool test rules` pass, every metric the rules
and the dashboard use is one the code exposes (or one agreed for a service still being written), and every
alert has its runbook section in docs/operations.md."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "cchc-alerts.rules.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "cchc-alerts.test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "cchc-overview.json"
RUNBOOK = ROOT / "docs" / "operations.md"

# Agreed names for metrics of services being written (reports; scoring's ranking version): the rules and the
# dashboard may use them before the code does.
AGREED = {"cchc_ranking_version", "cchc_documents_ranking_version", "cchc_documents_built_total"}
# Exposed by Prometheus itself and by RabbitMQ's rabbitmq_prometheus plugin.
EXTERNAL = re.compile(r"^(up|rabbitmq_queue_messages_ready|rabbitmq_queue_consumers)$")


def _promtool(*args: str) -> subprocess.CompletedProcess:
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: apt-get install prometheus (Debian's package)"
    return subprocess.run([promtool, *args], capture_output=True, text=True, cwd=RULES.parent)


def test_promtool_checks_the_rules():
    result = _promtool("check", "rules", RULES.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_unit_tests_of_the_rules_pass():
    result = _promtool("test", "rules", RULE_TESTS.name)
    assert result.returncode == 0, result.stdout + result.stderr


def _alerts() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"] for rule in group["rules"]]


def _metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers followed by `{`, `[` or ` ` that are not functions,
    keywords or label names."""
    names = set(re.findall(r"\b((?:cchc|rabbitmq)_[a-z_]+|up)\b(?=\s*[{\[)]|\s+(?:==|>|<|offset|unless|or|and))",
                           expr))
    return {re.sub(r"_(bucket|count|sum)$", "", n) if n.startswith("cchc_batch_duration") else n for n in names}


def _exposed_by_code() -> set[str]:
    names = set()
    for path in [*(ROOT / "shared").glob("*.py"), *(ROOT / "services").rglob("*.py")]:
        names |= set(re.findall(r"""["'](cchc_[a-z_]+)["']""", path.read_text(encoding="utf-8")))
    return names


def test_rules_and_dashboard_use_only_metrics_that_exist_or_are_agreed():
    known = _exposed_by_code() | AGREED
    used = set()
    for rule in _alerts():
        used |= _metric_names(rule["expr"])
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            used |= _metric_names(target["expr"])
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    assert {"cchc_dead_letters_total", "cchc_dossiers_overdue", "rabbitmq_queue_messages_ready", "up"} <= used
    unknown = {n for n in used if not EXTERNAL.match(n) and n not in known}
    assert unknown == set()


def test_every_alert_says_what_to_do_and_the_runbook_has_a_section_for_it():
    runbook = RUNBOOK.read_text(encoding="utf-8")
    headings = {m.lower() for m in re.findall(r"^#{2,4} (Cchc[A-Za-z]+)\s*$", runbook, re.M)}
    for rule in _alerts():
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        assert rule["annotations"]["runbook_url"] == f"docs/operations.md#{name.lower()}", name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
        assert name.lower() in headings, f"docs/operations.md has no section `### {name}`"


@pytest.mark.parametrize("alert", sorted({r["alert"] for r in _alerts()}))
def test_every_alert_is_unit_tested_firing(alert):
    tests = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))["tests"]
    fired = {case["alertname"] for t in tests for case in t.get("alert_rule_test", []) if case.get("exp_alerts")}
    assert alert in fired

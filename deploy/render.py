"""Render the generated Kubernetes files of deploy/k8s/base from their single sources.

    python deploy/render.py            # write them
    python deploy/render.py --check    # exit 1 if any is stale (CI)

Sources and what is generated from them:
    deploy/rabbitmq/topology.yaml            -> deploy/k8s/base/rabbitmq/topology.yaml (topology-operator CRs)
    deploy/prometheus/cchc-alerts.rules.yml  -> deploy/k8s/base/monitoring/prometheusrule.yaml (PrometheusRule)
    deploy/grafana/cchc-overview.json        -> deploy/k8s/base/monitoring/grafana-dashboard.yaml (ConfigMap)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared import topology  # noqa: E402

DEPLOY = ROOT / "deploy"
BASE = DEPLOY / "k8s" / "base"
RULES = DEPLOY / "prometheus" / "cchc-alerts.rules.yml"
DASHBOARD = DEPLOY / "grafana" / "cchc-overview.json"
LABELS = {"app.kubernetes.io/part-of": "cchc", "release": "kube-prometheus-stack"}


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line strings (PromQL, JSON), no anchors, keys in source order."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _dump(header: str, obj: Any) -> str:
    return header + yaml.dump(obj, Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True)


def _header(source: Path, what: str) -> str:
    return (
        f"# GENERATED from {source.relative_to(ROOT)} by `python deploy/render.py`: do not edit.\n"
        f"# {what}\n"
    )


def prometheus_rule() -> str:
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    obj = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "cchc-alerts", "labels": dict(LABELS)},
        "spec": {"groups": rules["groups"]},
    }
    return _dump(_header(RULES, "CCHC's alert rules for the Prometheus Operator; runbook: docs/operations.md."), obj)


def grafana_dashboard() -> str:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "cchc-grafana-dashboard",
            # Picked up by Grafana's dashboard sidecar (kube-prometheus-stack: label grafana_dashboard=1).
            "labels": {"app.kubernetes.io/part-of": "cchc", "grafana_dashboard": "1"},
        },
        "data": {"cchc-overview.json": json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"},
    }
    return _dump(_header(DASHBOARD, "CCHC's Grafana dashboard as a ConfigMap for Grafana's sidecar."), obj)


def outputs() -> dict[Path, str]:
    return {
        BASE / "rabbitmq" / "topology.yaml": topology.dump_k8s(topology.load()),
        BASE / "monitoring" / "prometheusrule.yaml": prometheus_rule(),
        BASE / "monitoring" / "grafana-dashboard.yaml": grafana_dashboard(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if a generated file is stale, write nothing")
    args = parser.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print("stale (run `python deploy/render.py`): " + ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    for path in stale:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The web application's Kubernetes objects, as every overlay builds them: TLS through the Ingress with a
cert-manager issuer, only the ingress controller (and Prometheus) may reach the pods, stateless replicas scaled by
an HPA, non-root, probes, credentials from Secrets, and the configuration trusts the proxy's address header."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _validate_module() -> Any:
    spec = importlib.util.spec_from_file_location("deploy_validate_web", ROOT / "deploy" / "validate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


validate = _validate_module()


@pytest.fixture(scope="module", params=[o.name for o in validate.overlays()])
def objects(request) -> list[dict[str, Any]]:
    overlay = next(o for o in validate.overlays() if o.name == request.param)
    return validate.build(overlay, validate.kubectl_path())


def one(objects, kind: str, name: str = "web") -> dict[str, Any]:
    [found] = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def test_https_through_the_ingress_with_a_cert_manager_certificate(objects):
    ingress = one(objects, "Ingress")
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
    [tls] = ingress["spec"]["tls"]
    [rule] = ingress["spec"]["rules"]
    assert rule["host"] in tls["hosts"] and tls["secretName"]
    [path] = rule["http"]["paths"]
    assert path["path"] == "/" and path["backend"]["service"]["name"] == "web"
    service = one(objects, "Service")
    assert service["spec"]["type"] == "ClusterIP" and service["spec"]["ports"][0]["name"] == "http"


def test_only_the_ingress_controller_and_prometheus_reach_the_pods(objects):
    policy = one(objects, "NetworkPolicy")
    sources = [peer for rule in policy["spec"]["ingress"] for peer in rule["from"]]
    namespaces = {p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in sources}
    assert namespaces == {"ingress-nginx", "monitoring"}
    assert all(port["port"] == 8000 for rule in policy["spec"]["ingress"] for port in rule["ports"])


def test_stateless_replicas_scaled_by_an_hpa_and_kept_by_a_pdb(objects):
    deployment = one(objects, "Deployment")
    assert "replicas" not in deployment["spec"]
    hpa = one(objects, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "web" and hpa["spec"]["maxReplicas"] >= 2  # staging: min 1
    assert one(objects, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["command"] == ["nameko", "run", "--config", "/etc/cchc/config.yaml", "services.web.service"]
    assert pod["securityContext"]["runAsNonRoot"] and container["securityContext"]["readOnlyRootFilesystem"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert not [v for v in pod.get("volumes", []) if "persistentVolumeClaim" in v]  # nothing kept on the pod
    env = {e["name"]: e for e in container["env"]}
    assert env["DATABASE_SCHEMA"]["value"] == "web" and env["WEB_TRUST_FORWARDED_FOR"]["value"] == "true"
    for secret_backed in ("RABBITMQ_PASSWORD", "DB_PASSWORD", "OIDC_CLIENT_SECRET"):
        assert "secretKeyRef" in env[secret_backed]["valueFrom"]

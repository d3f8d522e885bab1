"""The HTTP intake in Kubernetes: deployed like every service, reachable only through the Ingress (and Prometheus),
the Ingress carrying TLS, the body limit and optional client certificates, and the service trusting them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from shared import topology
from shared.config import load_config, section

ROOT = Path(__file__).resolve().parents[2]


def _validate_module():
    spec = importlib.util.spec_from_file_location("deploy_validate_intake", ROOT / "deploy" / "validate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


validate = _validate_module()


@pytest.fixture(scope="module")
def built() -> dict[str, list[dict[str, Any]]]:
    kubectl = validate.kubectl_path()
    return {overlay.name: validate.build(overlay, kubectl) for overlay in validate.overlays()}


def _find(objects, kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


@pytest.mark.parametrize("overlay", ["staging", "production"])
def test_the_intake_is_deployed_like_every_service(built, overlay):
    objects = built[overlay]
    deployment = _find(objects, "Deployment", "intake")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["nameko", "run", "--config", "/etc/cchc/config.yaml", "services.intake.service"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    env = {e["name"]: e for e in container["env"]}
    assert env["RABBITMQ_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == topology.credentials_secret("intake")
    assert env["DATABASE_SCHEMA"]["value"] == "intake" and env["INTAKE_MTLS"]["value"] == "true"
    for kind in ("Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceAccount"):
        _find(objects, kind, "intake")
    assert _find(objects, "Service", "intake")["metadata"]["labels"]["app.kubernetes.io/component"] == "service"


@pytest.mark.parametrize("overlay", ["staging", "production"])
def test_only_the_ingress_controller_and_prometheus_reach_it(built, overlay):
    policy = _find(built[overlay], "NetworkPolicy", "intake")
    sources = [rule["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
               for rule in policy["spec"]["ingress"]]
    assert sources == ["ingress-nginx", "monitoring"]
    assert all(rule["ports"] == [{"protocol": "TCP", "port": 8000}] for rule in policy["spec"]["ingress"])


@pytest.mark.parametrize(("overlay", "namespace"), [("staging", "cchc-staging"), ("production", "cchc-phutho")])
def test_the_ingress_has_tls_a_body_limit_and_optional_client_certificates(built, overlay, namespace):
    ingress = _find(built[overlay], "Ingress", "intake")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/auth-tls-verify-client"] == "optional"
    assert annotations["nginx.ingress.kubernetes.io/auth-tls-secret"] == f"{namespace}/cchc-intake-client-ca"
    limit = int(annotations["nginx.ingress.kubernetes.io/proxy-body-size"].rstrip("m")) * 1024 * 1024
    assert limit > int(section(load_config(), "intake")["max_body_bytes"])
    (rule,) = ingress["spec"]["rules"]
    assert ingress["spec"]["tls"][0]["hosts"] == [rule["host"]]
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/v1/events" and path["backend"]["service"]["name"] == "intake"


def test_the_service_reads_ingress_nginx_certificate_headers():
    mtls = section(load_config(), "intake")["mtls"]
    assert (mtls["subject_header"], mtls["verify_header"]) == ("ssl-client-subject-dn", "ssl-client-verify")

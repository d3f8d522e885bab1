"""The Kubernetes manifests: every overlay builds and passes strict schema validation (and the validation really
is strict), the generated files are fresh, each service is deployed the way the operations spec requires,
credentials only come from Secrets, the mounted configuration loads, and PostgreSQL's per-service roles can
run their own service's migrations but cannot read another service's schema."""

from __future__ import annotations

import copy
import importlib.util
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import yaml

from shared import topology
from shared.config import load_config

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("dossiers", "scoring", "reports", "notifications")


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"deploy_{name}", ROOT / "deploy" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


validate = _module("validate")
render = _module("render")
KUBECTL = validate.kubectl_path()


@pytest.fixture(scope="module")
def built() -> dict[str, list[dict[str, Any]]]:
    return {overlay.name: validate.build(overlay, KUBECTL) for overlay in validate.overlays()}


def _find(objects, kind: str, name: str) -> dict[str, Any]:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} objects"
    return matches[0]


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


# -- schema validation ----------------------------------------------------------------------------------------
def test_every_overlay_builds_and_every_object_passes_strict_validation():
    assert {o.name for o in validate.overlays()} >= {"staging", "production"}
    assert validate.kubernetes_versions()[0] == "1.33"
    for overlay in validate.overlays():
        result = validate.validate_overlay(overlay, KUBECTL)
        assert result.errors == [], f"{overlay.name}:\n" + "\n".join(result.errors)
        assert result.validated["Kubernetes schema"] >= 30
        assert result.validated["CRD schema"] == 3  # two ServiceMonitors and the PrometheusRule


def test_validation_rejects_unknown_fields_unknown_kinds_and_bad_custom_resources(built):
    objects = built["production"]
    deployment = copy.deepcopy(_find(objects, "Deployment", "dossiers"))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["pathh"] = "/health"
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {}}
    monitor = copy.deepcopy(_find(objects, "ServiceMonitor", "cchc-services"))
    monitor["spec"]["endpoints"][0]["intervall"] = "30s"
    rule = copy.deepcopy(_find(objects, "PrometheusRule", "cchc-alerts"))
    rule["spec"]["groups"][0]["rules"][0]["for"] = "five minutes"
    queue = copy.deepcopy(_find(objects, "Queue", "queue-dossiers-ingest"))
    queue["metadata"]["labelz"] = {}

    result = validate.Result(overlay="mutated")
    validate.validate_objects([deployment, unknown, monitor, rule, queue], result)
    text = "\n".join(result.errors)
    assert "Deployment/dossiers" in text and "pathh" in text
    assert "Widget/w: unknown kind" in text
    assert "ServiceMonitor/cchc-services (CRD schema)" in text and "intervall" in text
    assert "PrometheusRule/cchc-alerts (CRD schema)" in text
    assert "Queue/queue-dossiers-ingest (metadata" in text and "labelz" in text


def test_generated_files_are_fresh():
    stale = [str(p.relative_to(ROOT)) for p, text in render.outputs().items() if p.read_text(encoding="utf-8") != text]
    assert stale == [], "run `python deploy/render.py`"


# -- what each service gets -----------------------------------------------------------------------------------
@pytest.mark.parametrize("overlay", ["staging", "production"])
@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_the_objects_and_settings_operations_requires(built, overlay, service):
    objects = built[overlay]
    deployment = _find(objects, "Deployment", service)
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    spec = pod["spec"]
    (container,) = spec["containers"]

    assert container["command"] == ["nameko", "run", "--config", "/etc/cchc/config.yaml", f"services.{service}.service"]
    assert set(container["resources"]["requests"]) == {"cpu", "memory"}
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert {p["containerPort"] for p in container["ports"]} == {8000}
    # Longer than the slowest worker: at least the ingest retry backoff twice over, and a minute in any case.
    assert spec["terminationGracePeriodSeconds"] >= max(60, 2 * 30)
    assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] > 0
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}
    assert spec["automountServiceAccountToken"] is False
    assert "replicas" not in deployment["spec"], "the HorizontalPodAutoscaler owns the replica count"

    service_obj = _find(objects, "Service", service)
    assert _selects(service_obj["spec"]["selector"], labels)
    hpa = _find(objects, "HorizontalPodAutoscaler", service)
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": service}
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    pdb = _find(objects, "PodDisruptionBudget", service)
    assert _selects(pdb["spec"]["selector"]["matchLabels"], labels)
    policy = _find(objects, "NetworkPolicy", service)
    assert _selects(policy["spec"]["podSelector"]["matchLabels"], labels)
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    monitor = _find(objects, "ServiceMonitor", "cchc-services")
    assert _selects(monitor["spec"]["selector"]["matchLabels"], service_obj["metadata"]["labels"])

    env = {e["name"]: e for e in container["env"]}
    # RabbitMQ credentials come from the Secret the topology operator generates for this service's user.
    assert env["RABBITMQ_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == topology.credentials_secret(service)
    assert env["AMQP_URI"]["value"].endswith(f"@rabbitmq:5672/{topology.load().vhost}")
    assert env["DATABASE_SCHEMA"]["value"] == service


def _env_vars(obj: dict[str, Any]):
    spec = obj.get("spec", {})
    pod = spec.get("template", {}).get("spec") or spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get(
        "spec", {})
    for container in pod.get("containers", []) + pod.get("initContainers", []):
        yield from container.get("env", [])


@pytest.mark.parametrize("overlay", ["staging", "production"])
def test_credentials_only_come_from_secret_references(built, overlay):
    objects = built[overlay]
    assert [o for o in objects if o["kind"] == "Secret"] == []
    checked = 0
    for obj in objects:
        for var in _env_vars(obj):
            if re.search(r"PASSWORD|USER(NAME)?$|TOKEN|SECRET", var["name"]):
                assert "secretKeyRef" in var.get("valueFrom", {}), f"{obj['kind']}/{obj['metadata']['name']}: {var}"
                checked += 1
            value = var.get("value", "")
            # A URI may carry credentials only as references to variables filled from Secrets.
            for userinfo in re.findall(r"://([^@/]*)@", value):
                assert re.fullmatch(r"\$\([A-Z_]+\):\$\([A-Z_]+\)", userinfo), f"literal credentials in {value!r}"
    assert checked >= 20


@pytest.mark.parametrize("config_file", ["deploy/k8s/base/config/config.yaml",
                                         "deploy/k8s/overlays/production/config.yaml"])
def test_the_mounted_configuration_loads_as_nameko_and_cchc_read_it(config_file, monkeypatch):
    monkeypatch.setenv("AMQP_URI", "pyamqp://u:p@rabbitmq:5672/cchc")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@postgres:5432/cchc")
    config = load_config(ROOT / config_file)
    assert config["AMQP_URI"] == "pyamqp://u:p@rabbitmq:5672/cchc"
    assert config["DATABASE_URL"] == "postgresql://u:p@postgres:5432/cchc"
    assert config["WEB_SERVER_ADDRESS"] == "0.0.0.0:8000"
    # nameko run reads only this file: its own top-level keys must all be there.
    raw = yaml.safe_load((ROOT / config_file).read_text(encoding="utf-8"))
    assert {"AMQP_URI", "max_workers", "WEB_SERVER_ADDRESS", "serializer", "HEARTBEAT"} <= set(raw)


@pytest.mark.parametrize("overlay", ["staging", "production"])
def test_notifications_deliver_over_smtp_and_the_sms_gateway_with_credentials_from_a_secret(
        built, overlay, monkeypatch, tmp_path):
    """The mounted configuration, read with the Deployment's environment, passes the service's own start-up
    checks (no mail folder, no SMS console, TLS before any login); what is secret comes from the Secret
    `cchc-notifications`; printable letters go to a shared persistent volume, not the pod's scratch space."""
    from services.notifications.settings import settings_from

    objects = built[overlay]
    pod = _find(objects, "Deployment", "notifications")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    for name in ("SMTP_HOST", "SMTP_USERNAME", "SMTP_PASSWORD", "SMS_GATEWAY_URL", "SMS_GATEWAY_TOKEN"):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "cchc-notifications", name
    volumes = {v["name"]: v for v in pod["volumes"]}
    config_map = _find(objects, "ConfigMap", volumes["config"]["configMap"]["name"])
    assert not re.search(r"(password|token|secret):\s*[^$\s!]", config_map["data"]["config.yaml"], re.I)
    for name, var in env.items():  # what the kubelet would put in the environment
        monkeypatch.setenv(name, var.get("value", f"from-secret-{name.lower()}"))
    path = tmp_path / "config.yaml"
    path.write_text(config_map["data"]["config.yaml"], encoding="utf-8")

    settings = settings_from(load_config(path))

    email, sms = settings["email"], settings["sms"]
    assert settings["allow_local_channels"] is False
    assert (email["transport"], sms["transport"]) == ("smtp", "http")
    assert email["smtp"]["host"] == "from-secret-smtp_host" and email["smtp"]["starttls"] is True
    assert (email["smtp"]["username"], email["smtp"]["password"]) == ("from-secret-smtp_username",
                                                                    "from-secret-smtp_password")
    assert (sms["url"], sms["token"]) == ("from-secret-sms_gateway_url", "from-secret-sms_gateway_token")
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    letters = volumes[mounts[settings["letters"]["folder"]]]
    claim = _find(objects, "PersistentVolumeClaim", letters["persistentVolumeClaim"]["claimName"])
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]  # every replica writes, the units' desks read


def test_the_image_runs_unprivileged_and_execs_nameko():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    assert re.search(r"^USER 10001:10001$", final_stage, re.M)
    assert re.search(r'^CMD \["cchc", "run", "dossiers"\]$', final_stage, re.M)  # exec form: cchc execs nameko
    assert "/health" in final_stage and re.search(r"^EXPOSE 8000$", final_stage, re.M)
    ignored = [line for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
               if line and not line.startswith("#")]
    assert ignored[0] == "*" and {"!shared/", "!services/", "!cchc/"} <= set(ignored)


# -- PostgreSQL roles -----------------------------------------------------------------------------------------
@pytest.mark.integration
def test_each_service_role_runs_its_own_migrations_and_cannot_read_another_schema():
    from shared.db import open_database

    database = f"cchc_roles_{uuid.uuid4().hex[:8]}"
    roles = {s: f"t{uuid.uuid4().hex[:6]}_{s}" for s in ("dossiers", "scoring")}
    admin = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{database}"')
    env = {**os.environ, "PGHOST": "127.0.0.1", "POSTGRES_USER": "postgres", "POSTGRES_DB": database,
           "CCHC_SERVICES": "dossiers scoring"}
    for service, role in roles.items():
        env[f"DB_USER_{service.upper()}"] = role
        env[f"DB_PASSWORD_{service.upper()}"] = uuid.uuid4().hex
    script = ROOT / "deploy/k8s/base/postgres/initdb/10-cchc-roles.sh"
    try:
        for _ in range(2):  # idempotent: a second run changes nothing and fails on nothing
            run = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True)
            assert run.returncode == 0, run.stderr
        url = f"postgresql://{roles['dossiers']}:{env['DB_PASSWORD_DOSSIERS']}@127.0.0.1:5432/{database}"
        db = open_database(load_config(DATABASE_URL=url, DATABASE_SCHEMA="dossiers"), "dossiers", auto_migrate=True)
        db.ping()
        db.engine.dispose()
        url = f"postgresql://{roles['scoring']}:{env['DB_PASSWORD_SCORING']}@127.0.0.1:5432/{database}"
        scoring = psycopg2.connect(url)
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            scoring.cursor().execute("SELECT count(*) FROM dossiers.alembic_version")
        scoring.close()
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        for role in roles.values():
            admin.cursor().execute(f'DROP ROLE IF EXISTS "{role}"')
        admin.close()


# -- linters --------------------------------------------------------------------------------------------------
def _tool(name: str) -> str:
    path = Path(sys.executable).with_name(name)
    assert path.exists(), f"{name} missing from the virtualenv (a dev dependency)"
    return str(path)


def test_yamllint_passes_on_deploy():
    result = subprocess.run([_tool("yamllint"), "--strict", "-c", "deploy/.yamllint.yaml", "deploy/"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_passes_on_the_dockerfile():
    result = subprocess.run([_tool("hadolint"), "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

"""The Kubernetes manifests: every overlay builds and passes strict schema validation, custom resources included
(and the validation really is strict), the generated files are fresh, each service is deployed the way the
operations spec requires, credentials only come from Secrets, the mounted configuration loads; the database is a
CloudNativePG cluster with a synchronous standby and backups with point-in-time recovery; production talks TLS to
RabbitMQ and PostgreSQL, verifying certificates and host names; documents are downloadable only through the
HTTPS Ingress; and PostgreSQL's per-service roles can run their own service's migrations but cannot read another
service's schema."""

from __future__ import annotations

import copy
import importlib.util
import re
import ssl
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
DATABASE_USERS = (*SERVICES, "intake", "web")  # every Deployment with a schema of its own


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
        # every custom resource against its CRD's schema: RabbitMQ's, CloudNativePG's, cert-manager's, monitoring
        assert result.unchecked_kinds == set() and result.validated["CRD schema"] >= 70


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
    queue["spec"]["durible"] = True
    rabbit = copy.deepcopy(_find(objects, "RabbitmqCluster", "rabbitmq"))
    rabbit["spec"]["tls"]["secretNme"] = "x"
    topic = copy.deepcopy(_find(objects, "TopicPermission", "topic-permission-reports-nameko-rpc"))
    del topic["spec"]["permissions"]["exchange"]
    cluster = copy.deepcopy(_find(objects, "Cluster", "postgres"))
    cluster["spec"]["postgresql"]["synchronous"]["method"] = "all"
    cluster["spec"]["instancez"] = 3
    backup = copy.deepcopy(_find(objects, "ScheduledBackup", "postgres-nightly"))
    backup["spec"]["method"] = "pg_dump"
    store = copy.deepcopy(_find(objects, "ObjectStore", "postgres-backups"))
    store["spec"]["configuration"]["wal"]["compresion"] = "gzip"
    certificate = copy.deepcopy(_find(objects, "Certificate", "rabbitmq-server-tls"))
    certificate["spec"]["privateKey"]["size"] = "256"

    result = validate.Result(overlay="mutated")
    validate.validate_objects([deployment, unknown, monitor, rule, queue, rabbit, topic, cluster, backup, store,
                               certificate], result)
    text = "\n".join(result.errors)
    assert "Deployment/dossiers" in text and "pathh" in text
    assert "Widget/w: unknown kind" in text
    assert "ServiceMonitor/cchc-services (CRD schema)" in text and "intervall" in text
    assert "PrometheusRule/cchc-alerts (CRD schema)" in text
    assert "Queue/queue-dossiers-ingest (metadata" in text and "labelz" in text
    for name, reason in [("Queue/queue-dossiers-ingest", "durible"), ("RabbitmqCluster/rabbitmq", "secretNme"),
                         ("TopicPermission/topic-permission-reports-nameko-rpc", "'exchange' is a required property"),
                         ("Cluster/postgres", "instancez"), ("Cluster/postgres", "'all' is not one of"),
                         ("ScheduledBackup/postgres-nightly", "'pg_dump' is not one of"),
                         ("ObjectStore/postgres-backups", "compresion"),
                         ("Certificate/rabbitmq-server-tls", "'256' is not of type 'integer'")]:
        assert re.search(rf"{re.escape(name)} \(CRD schema\):.*{re.escape(reason)}", text), (name, reason, text)


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
    assert env["AMQP_URI"]["value"].endswith(f"@$(RABBITMQ_ADDRESS)/{topology.load().vhost}")
    endpoints = env["RABBITMQ_ADDRESS"]["valueFrom"]["configMapKeyRef"]
    assert _find(objects, "ConfigMap", endpoints["name"])["data"][endpoints["key"]] == {
        "staging": "rabbitmq:5672", "production": "rabbitmq:5671"}[overlay]
    assert env["DATABASE_SCHEMA"]["value"] == service
    # PostgreSQL: the CloudNativePG cluster's read-write service, TLS verified against its CA, mounted read-only
    url = env["DATABASE_URL"]["value"]
    assert url.startswith("postgresql://$(DB_USERNAME):$(DB_PASSWORD)@postgres-rw:5432/cchc?")
    assert "sslmode=verify-full" in url and _mounted_file(spec, container, url.split("sslrootcert=")[1]) == (
        "postgres-ca", "ca.crt")
    assert {"config", "tmp", "tls"} <= {v["name"] for v in spec["volumes"]}
    if service == "reports":  # documents are no longer kept on the pod's disk: nothing but config, /tmp and CAs
        assert {v["name"] for v in spec["volumes"]} == {"config", "tmp", "tls"}


def _mounted_file(pod: dict[str, Any], container: dict[str, Any], path: str) -> tuple[str, str]:
    """(Secret, key) a file in the container comes from, through a volume mount and a projected Secret."""
    for mount in container["volumeMounts"]:
        prefix = mount["mountPath"].rstrip("/") + "/"
        if path.startswith(prefix):
            volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
            for source in volume.get("projected", {}).get("sources", []):
                for item in source.get("secret", {}).get("items", []):
                    if item["path"] == path[len(prefix):]:
                        return source["secret"]["name"], item["key"]
    raise AssertionError(f"{path} is not mounted from a Secret")


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
    assert checked >= 18  # four services' RabbitMQ and PostgreSQL user and password, the toolbox's RabbitMQ ones


# -- the database --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("overlay", ["staging", "production"])
def test_the_database_is_a_cloudnativepg_cluster_backed_up_with_point_in_time_recovery(built, overlay):
    objects = built[overlay]
    assert not [o for o in objects if o["kind"] in ("StatefulSet", "CronJob")]  # the home-made database is gone
    assert not [o for o in objects if o["kind"] == "PersistentVolumeClaim" and "postgres" in o["metadata"]["name"]]
    cluster = _find(objects, "Cluster", "postgres")["spec"]
    if overlay == "production":  # three instances on three nodes, a commit on two of them before it is answered
        assert cluster["instances"] == 3
        assert cluster["postgresql"]["synchronous"] == {"method": "any", "number": 1, "dataDurability": "required"}
        assert cluster["affinity"]["podAntiAffinityType"] == "required"
    assert "hostnossl all all all reject" in cluster["postgresql"]["pg_hba"]  # TLS only
    assert cluster["enableSuperuserAccess"] is False
    # one login role per service, its password from the Secret the Deployment reads it from
    roles = {r["name"]: r for r in cluster["managed"]["roles"]}
    with_schema = {o["metadata"]["name"] for o in objects if o["kind"] == "Deployment" and any(
        e["name"] == "DATABASE_SCHEMA" for e in o["spec"]["template"]["spec"]["containers"][0]["env"])}
    assert with_schema == set(DATABASE_USERS) and set(roles) == {f"cchc_{s}" for s in DATABASE_USERS}
    for service in DATABASE_USERS:
        role = roles[f"cchc_{service}"]
        assert role["login"] and role["passwordSecret"]["name"] == f"cchc-db-{service}"
        env = {e["name"]: e for e in _find(objects, "Deployment", service)["spec"]["template"]["spec"]
               ["containers"][0]["env"]}
        assert env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == f"cchc-db-{service}"
        assert not role.get("superuser") and not role.get("createrole")
    schemas = cluster["bootstrap"]["initdb"]["postInitApplicationSQLRefs"]["configMapRefs"][0]
    sql = _find(objects, "ConfigMap", schemas["name"])["data"][schemas["key"]]
    assert re.search(r"ARRAY\[" + ", ".join(f"'{s}'" for s in DATABASE_USERS) + r"\]", sql)
    # WAL archiving (PITR) and nightly base backups to object storage, kept for a window
    [plugin] = cluster["plugins"]
    assert plugin["isWALArchiver"] is True and plugin["name"] == "barman-cloud.cloudnative-pg.io"
    store = _find(objects, "ObjectStore", plugin["parameters"]["barmanObjectName"])["spec"]
    assert re.fullmatch(r"\d+d", store["retentionPolicy"]) and store["configuration"]["destinationPath"].startswith(
        "s3://")
    assert store["configuration"]["s3Credentials"]["accessKeyId"]["name"] == "cchc-backup-s3"
    scheduled = _find(objects, "ScheduledBackup", "postgres-nightly")["spec"]
    assert scheduled["cluster"]["name"] == "postgres" and scheduled["method"] == "plugin"
    assert scheduled["pluginConfiguration"]["name"] == plugin["name"]
    assert len(scheduled["schedule"].split()) == 6  # CloudNativePG's cron has a seconds field
    # the instances admit the services, each other and the operator; the services reach them on 5432
    policy = _find(objects, "NetworkPolicy", "postgres")["spec"]
    assert policy["podSelector"]["matchLabels"] == {"cnpg.io/cluster": "postgres"}
    sources = [peer for rule in policy["ingress"] for peer in rule["from"]]
    assert {"kubernetes.io/metadata.name": "cnpg-system"} in [p.get("namespaceSelector", {}).get("matchLabels")
                                                             for p in sources]
    for service in DATABASE_USERS:
        egress = _find(objects, "NetworkPolicy", service)["spec"]["egress"]
        assert any(_selects(peer.get("podSelector", {}).get("matchLabels", {}), cluster["inheritedMetadata"]["labels"])
                   and {"protocol": "TCP", "port": 5432} in rule["ports"] for rule in egress for peer in rule["to"])


# -- transport security ---------------------------------------------------------------------------------------
def test_production_talks_tls_to_rabbitmq_and_the_vendor_reaches_only_the_tls_port(built):
    objects = built["production"]
    rabbit = _find(objects, "RabbitmqCluster", "rabbitmq")["spec"]
    certificate = _find(objects, "Certificate", rabbit["tls"]["secretName"])["spec"]
    assert certificate["secretName"] == rabbit["tls"]["secretName"] == rabbit["tls"]["caSecretName"]
    assert "rabbitmq" in certificate["dnsNames"] and certificate["issuerRef"]["kind"] == "ClusterIssuer"
    config = yaml.safe_load(_find(objects, "ConfigMap", next(
        v["configMap"]["name"] for v in _find(objects, "Deployment", "dossiers")["spec"]["template"]["spec"]["volumes"]
        if v["name"] == "config"))["data"]["config.yaml"])
    tls = config["AMQP_SSL"]
    assert tls["cert_reqs"] == ssl.CERT_REQUIRED and tls["server_hostname"] in certificate["dnsNames"]
    for name in (*DATABASE_USERS, "cchc-toolbox"):
        pod = _find(objects, "Deployment", name)["spec"]["template"]["spec"]
        assert _mounted_file(pod, pod["containers"][0], tls["ca_certs"]) == (rabbit["tls"]["secretName"], "ca.crt")
    policy = _find(objects, "NetworkPolicy", "rabbitmq")["spec"]
    ports = {p["port"] for rule in policy["ingress"] for p in rule["ports"]}
    assert 5671 in ports and 5672 not in ports  # plain AMQP reachable by nobody, the vendor's servers included
    vendor = [rule for rule in policy["ingress"] if any("ipBlock" in peer for peer in rule["from"])]
    assert vendor and all(p["port"] == 5671 for rule in vendor for p in rule["ports"])
    staging = _find(built["staging"], "NetworkPolicy", "rabbitmq")["spec"]
    assert {p["port"] for rule in staging["ingress"] for p in rule["ports"]} >= {5672}


@pytest.mark.integration
def test_the_production_amqp_tls_setting_verifies_the_broker_certificate_and_its_host_name(tmp_path):
    """The production overlay's AMQP_SSL, with the CA replaced by a test CA, against a TLS proxy in front of the
    local broker: it connects when the certificate names the host it expects, and refuses a certificate of the
    same CA that does not (py-amqp checks the host name only when told which: server_hostname)."""
    import kombu.exceptions

    from shared.messaging import connect
    from tests.tls_proxy import TlsProxy, make_pki

    production = load_config(ROOT / "deploy/k8s/overlays/production/config.yaml",
                             AMQP_URI="pyamqp://guest:guest@localhost:1//", DATABASE_URL="sqlite://")
    pki = make_pki(tmp_path / "pki")  # a server certificate for localhost / 127.0.0.1
    proxy = TlsProxy(("127.0.0.1", 5672), pki)
    try:
        uri = f"pyamqp://guest:guest@127.0.0.1:{proxy.port}//"
        as_deployed = dict(production["AMQP_SSL"], ca_certs=str(pki.ca))  # server_hostname: rabbitmq
        with pytest.raises(kombu.exceptions.OperationalError, match=r"Hostname mismatch|CERTIFICATE_VERIFY_FAILED"), \
                connect(load_config(AMQP_URI=uri, AMQP_SSL=as_deployed)) as connection:
            connection.ensure_connection(max_retries=1)
        named = dict(as_deployed, server_hostname="localhost")
        with connect(load_config(AMQP_URI=uri, AMQP_SSL=named)) as connection:
            connection.ensure_connection(max_retries=1)
            assert connection.transport.client.connection.transport.sock.version().startswith("TLS")
    finally:
        proxy.close()


# -- documents through the Ingress ----------------------------------------------------------------------------
@pytest.mark.parametrize("overlay", ["staging", "production"])
def test_documents_are_downloaded_through_the_https_ingress_and_nothing_else_is_exposed(built, overlay):
    objects = built[overlay]
    ingress = _find(objects, "Ingress", "reports-downloads")
    web = _find(objects, "Ingress", "web")
    spec = ingress["spec"]
    [rule] = spec["rules"]
    [tls] = spec["tls"]
    # the web application's host and certificate: one host, one certificate (cert-manager, via the web Ingress)
    assert rule["host"] == web["spec"]["rules"][0]["host"] and tls == web["spec"]["tls"][0]
    assert tls["hosts"] == [rule["host"]] and "cert-manager.io/cluster-issuer" in web["metadata"]["annotations"]
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
    [path] = rule["http"]["paths"]  # only the downloads: no /metrics, /ready or /health of any service
    assert (path["path"], path["pathType"]) == ("/documents", "Prefix")
    backend = path["backend"]["service"]
    reports = _find(objects, "Service", backend["name"])
    assert backend["name"] == "reports" and backend["port"]["name"] in {p["name"] for p in reports["spec"]["ports"]}
    pods = _find(objects, "Deployment", "reports")["spec"]["template"]["metadata"]["labels"]
    admitted = [o for o in objects if o["kind"] == "NetworkPolicy" and any(
        peer.get("namespaceSelector", {}).get("matchLabels") == {"kubernetes.io/metadata.name": "ingress-nginx"}
        for rule in o["spec"].get("ingress", []) for peer in rule.get("from", []))]
    # the only doors: the web application, the reports' downloads and the vendors' HTTP intake
    assert sorted(o["metadata"]["name"] for o in admitted) == ["intake", "reports-from-ingress", "web"]
    policy = _find(objects, "NetworkPolicy", "reports-from-ingress")
    assert _selects(policy["spec"]["podSelector"]["matchLabels"], pods)
    assert [p["port"] for r in policy["spec"]["ingress"] for p in r["ports"]] == [8000]
    default_deny = _find(objects, "NetworkPolicy", "default-deny-ingress")["spec"]
    assert default_deny["podSelector"] == {} and default_deny["policyTypes"] == ["Ingress"]
    if overlay == "production":
        assert rule["host"] == "cchc.phutho.gov.vn"


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
def test_each_service_role_runs_its_own_migrations_and_cannot_read_another_schema(tmp_path):
    """postgres/cchc-schemas.sql as CloudNativePG runs it at bootstrap (the superuser, in the application database),
    twice (idempotent), then the managed roles' LOGIN and password as the operator sets them; role names get a
    unique prefix here, since roles are shared by every database of the machine's PostgreSQL."""
    from shared.db import open_database

    database = f"cchc_roles_{uuid.uuid4().hex[:8]}"
    prefix = f"t{uuid.uuid4().hex[:6]}_"
    sql = (ROOT / "deploy/k8s/base/postgres/cchc-schemas.sql").read_text(encoding="utf-8")
    assert sql.count("role_prefix constant text := 'cchc_';") == 1
    script = tmp_path / "cchc-schemas.sql"
    script.write_text(sql.replace("role_prefix constant text := 'cchc_';", f"role_prefix constant text := '{prefix}';"))
    admin = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{database}"')
    passwords = {s: uuid.uuid4().hex for s in DATABASE_USERS}
    try:
        for _ in range(2):  # idempotent: a second run changes nothing and fails on nothing
            run = subprocess.run(["psql", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", database,
                                  "-f", str(script)], capture_output=True, text=True)
            assert run.returncode == 0, run.stderr
        for service, password in passwords.items():  # what the Cluster's managed roles do
            admin.cursor().execute(f"ALTER ROLE \"{prefix}{service}\" LOGIN PASSWORD %s", (password,))
        url = f"postgresql://{prefix}dossiers:{passwords['dossiers']}@127.0.0.1:5432/{database}"
        db = open_database(load_config(DATABASE_URL=url, DATABASE_SCHEMA="dossiers"), "dossiers", auto_migrate=True)
        db.ping()
        db.engine.dispose()
        scoring = psycopg2.connect(f"postgresql://{prefix}scoring:{passwords['scoring']}@127.0.0.1:5432/{database}")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            scoring.cursor().execute("SELECT count(*) FROM dossiers.alembic_version")
        scoring.close()
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        for service in DATABASE_USERS:
            admin.cursor().execute(f'DROP ROLE IF EXISTS "{prefix}{service}"')
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

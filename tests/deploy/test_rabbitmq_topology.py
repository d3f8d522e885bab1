"""RabbitMQ topology as code: the description matches what the services' code declares, publishes and calls (down
to the RPC methods), applying it to a real broker is idempotent and gives quorum queues with dead-letter policies
and expiring dead letters, and its least-privilege users work: the one-door user can publish event types to
onedoor.events and nothing else; no service can declare or delete what it does not own (another's queue, a shared
exchange) or call an RPC method it was not granted; and the dossiers, scoring and reports services start,
dead-letter and talk RPC while connected as their own restricted users."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import inspect
import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pika.exceptions
import pytest
import yaml
from nameko.events import EventDispatcher, EventHandler
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.rpc import Rpc, RpcProxy

from cchc.runner import rpc_proxy, running
from shared import deadletter
from shared import topology as topo
from shared.batch_consumer import BatchEventHandler
from shared.config import load_config
from shared.messaging import connect
from tests.support import RABBIT, free_port, wait_until

TOPOLOGY = topo.load()
ROOT = Path(__file__).resolve().parents[2]
TOOL_MODULES = {"demo.py", "cli.py"}  # run by people with their own credentials, not by the service


# -- the description against the code ----------------------------------------------------------------------
def _service_class(name: str) -> type | None:
    try:
        module = importlib.import_module(f"services.{name}.service")
    except ModuleNotFoundError as exc:
        if exc.name == f"services.{name}.service":
            return None
        raise
    classes = [v for v in vars(module).values() if isinstance(v, type) and getattr(v, "name", None) == name]
    return classes[0] if classes else None


def _rpc_methods(name: str) -> set[str]:
    cls = _service_class(name)
    return {attr for attr in dir(cls)
            if any(isinstance(ext, Rpc) for ext in getattr(getattr(cls, attr), ENTRYPOINT_EXTENSIONS_ATTR, ()))}


def _rpc_calls(name: str) -> dict[str, set[str]]:
    """``self|proxy|rpc.<service>.<method>`` and ``.call|start("<service>", "<method>"`` in the service's own
    modules (its tools excepted): what it calls over RPC."""
    others = "|".join(re.escape(s.name) for s in TOPOLOGY.services if s.name != name)
    calls: dict[str, set[str]] = {}
    for path in sorted((ROOT / "services" / name).rglob("*.py")):
        if path.name in TOOL_MODULES or "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        found = re.findall(rf"\b(?:self|proxy|rpc)\.({others})\.([a-z_][a-z0-9_]*)\(?", text)
        # the web application's calls with a deadline: backends.call("scoring", "ranking", …) / .start(…)
        found += re.findall(rf"\.(?:call|start)\(\s*[\"']({others})[\"'],\s*[\"']([a-z_][a-z0-9_]*)[\"']", text)
        for target, method in found:
            calls.setdefault(target, set()).add(method)
    return calls


def _what_the_code_declares(cls: type) -> dict[str, Any]:
    """Queues (with bindings), RPC, published exchanges and RPC targets, read from the service class."""
    name = cls.name
    queues: dict[str, set[tuple[str, str]]] = {}
    serves_rpc = False
    for attr in dir(cls):
        for ext in getattr(getattr(cls, attr), ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(ext, BatchEventHandler):
                qname = ext.queue_name or f"{name}.{attr}"
                queues[qname] = {(ext.exchange_name, key) for key in ext.routing_keys}
            elif isinstance(ext, EventHandler):
                qname = f"evt-{ext.source_service}-{ext.event_type}--{name}.{attr}"
                queues[qname] = {(f"{ext.source_service}.events", ext.event_type)}
            elif isinstance(ext, Rpc):
                serves_rpc = True
    publishes = {f"{name}.events" for v in vars(cls).values() if isinstance(v, EventDispatcher)}
    proxies = {v.target_service for v in vars(cls).values() if isinstance(v, RpcProxy)}
    standalone = "ClusterRpcProxy" in inspect.getsource(sys.modules[cls.__module__])
    return {"queues": queues, "serves_rpc": serves_rpc, "publishes": publishes, "proxies": proxies,
            "standalone_rpc_proxy": standalone, "calls": _rpc_calls(name)}


@pytest.mark.parametrize("service", [s.name for s in TOPOLOGY.services])
def test_the_description_declares_exactly_what_the_service_consumes_publishes_and_calls(service):
    cls = _service_class(service)
    assert cls is not None, f"services/{service}/service.py defines no service class"
    code = _what_the_code_declares(cls)
    spec = next(s for s in TOPOLOGY.services if s.name == service)
    described = {q.name: {(b.exchange, b.routing_key) for b in q.bindings} for q in spec.queues}
    missing = {q: sorted(b) for q, b in code["queues"].items() if described.get(q) != b}
    snippet = yaml.safe_dump(
        [{"name": q, "bindings": [{"exchange": e, "routing_key": k} for e, k in b]} for q, b in missing.items()],
        sort_keys=False,
    )
    assert not missing, f"add under services.{service}.queues in deploy/rabbitmq/topology.yaml:\n{snippet}"
    assert set(described) == set(code["queues"]), "the description declares queues no handler consumes"
    assert spec.serves_rpc == code["serves_rpc"]
    assert {e for e in spec.publishes if e == f"{service}.events"} == code["publishes"]
    assert spec.standalone_rpc_proxy == code["standalone_rpc_proxy"]
    if not spec.standalone_rpc_proxy:
        assert set(spec.calls_rpc) == code["proxies"]
    granted = {target: set(methods) for target, methods in spec.calls_rpc.items()}
    assert code["calls"] == granted, (
        f"services.{service}.calls_rpc in deploy/rabbitmq/topology.yaml must list exactly what the code calls: "
        f"{ {t: sorted(m) for t, m in code['calls'].items()} }")
    for target, methods in granted.items():
        assert methods <= _rpc_methods(target), f"{target} has no RPC method {sorted(methods - _rpc_methods(target))}"


@pytest.mark.parametrize("user", ["onedoor", "intake"])
def test_the_one_door_and_the_intake_may_only_publish_the_contracts_event_types(user):
    from shared.events import CATALOGUE

    perms = TOPOLOGY.users()[user]
    assert perms.regexes() == {"configure": "^$", "write": r"^(onedoor\.events)$", "read": "^$"}
    [topic] = perms.topics
    assert topic.exchange == "onedoor.events" and topic.read == "^$"
    write = re.compile(topic.write)
    assert {name for name in CATALOGUE if write.search(name)} == set(CATALOGUE) >= {"dossier.received",
                                                                                    "petition.received"}
    for refused in ("score_submitted", "dossier.", "dossier.received.x", "dossier." + "x" * 250, "#", "dossier.*",
                    "xdossier.received", "dossier_received"):
        assert not write.search(refused), refused


def test_no_service_may_configure_what_it_does_not_own():
    """Configure = declare *and delete*: a service's user may do it to its own queues only — never to an exchange,
    another service's queue or the ingest queue the one-door fills (which every service could delete before)."""
    everything = {q.name for q in TOPOLOGY.queues()} | set(TOPOLOGY.exchanges) | {"nameko-rpc"}
    for svc in TOPOLOGY.services:
        configure = re.compile(TOPOLOGY.service_permissions(svc).regexes()["configure"])
        own = {q.name for q in TOPOLOGY.queues() if q.owner == svc.name}
        allowed = {name for name in everything if configure.fullmatch(name)}
        assert allowed == own, svc.name
        assert configure.fullmatch(f"rpc.reply-{'standalone_rpc_proxy' if svc.standalone_rpc_proxy else svc.name}-"
                                   f"{uuid.uuid4()}") or not svc.calls_rpc


def test_each_service_may_call_only_the_methods_it_is_granted():
    for svc in TOPOLOGY.services:
        [rpc_topic] = [t for t in TOPOLOGY.service_permissions(svc).topics if t.exchange == "nameko-rpc"]
        write, read = re.compile(rpc_topic.write), re.compile(rpc_topic.read)
        for other in TOPOLOGY.services:
            for method in _rpc_methods(other.name):
                granted = method in svc.calls_rpc.get(other.name, ())
                assert bool(write.fullmatch(f"{other.name}.{method}")) == granted, (svc.name, other.name, method)
        assert bool(write.fullmatch(str(uuid.uuid4()))) == svc.serves_rpc  # replies to its callers
        assert bool(read.fullmatch(f"{svc.name}.*")) == svc.serves_rpc
        assert bool(read.fullmatch(str(uuid.uuid4()))) == bool(svc.calls_rpc)  # its reply queue
        assert not read.fullmatch("#") and not any(read.fullmatch(f"{o.name}.*") for o in TOPOLOGY.services
                                                   if o.name != svc.name)  # nobody can listen in on requests


def test_rendered_custom_resources_carry_the_whole_description():
    objects = topo.render_k8s(TOPOLOGY)
    by_kind: dict[str, list[dict]] = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], []).append(obj)
    assert [v["spec"]["defaultQueueType"] for v in by_kind["Vhost"]] == ["quorum"]
    assert {q["spec"]["name"] for q in by_kind["Queue"]} == {q.name for q in TOPOLOGY.queues()}
    assert all(q["spec"]["type"] == "quorum" and q["spec"]["durable"] for q in by_kind["Queue"])
    assert {(b["spec"]["source"], b["spec"]["destination"], b["spec"]["routingKey"]) for b in by_kind["Binding"]} == {
        (b.exchange, q.name, b.routing_key) for q in TOPOLOGY.queues() for b in q.bindings
    }
    assert {u["metadata"]["name"] for u in by_kind["User"]} == set(TOPOLOGY.users())
    for perm in by_kind["Permission"]:
        user = perm["spec"]["userReference"]["name"]
        assert perm["spec"]["permissions"] == TOPOLOGY.users()[user].regexes()
    rendered_topics = {(t["spec"]["userReference"]["name"], t["spec"]["permissions"]["exchange"]):
                       (t["spec"]["permissions"]["write"], t["spec"]["permissions"]["read"])
                       for t in by_kind["TopicPermission"]}
    assert rendered_topics == {(user, t.exchange): (t.write, t.read) for user, perms in TOPOLOGY.users().items()
                               for t in perms.topics}
    dlq_policy = next(p for p in by_kind["Policy"] if p["spec"]["name"] == "cchc-dossiers-queues")
    assert dlq_policy["spec"]["definition"]["dead-letter-exchange"] == "cchc.dead-letter"
    ttl = next(p for p in by_kind["Policy"] if p["spec"]["name"] == "cchc-dead-letter-queues")
    assert ttl["spec"]["definition"]["message-ttl"] == TOPOLOGY.dead_letter_ttl_days * 86_400_000 == 30 * 86_400_000
    assert re.fullmatch(ttl["spec"]["pattern"], "cchc.dead-letter.notifications")


def test_the_dead_letter_ttl_is_bounded_as_rabbitmq_requires():
    for days in (0, 50, -1, "30"):
        with pytest.raises(topo.TopologyError, match="message_ttl_days"):
            topo.ttl_milliseconds(days)
    assert topo.ttl_milliseconds(49) < 2**32


# -- a real broker --------------------------------------------------------------------------------------------
def _rabbitmqctl(*args: str) -> str:
    return subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, text=True).stdout


@contextlib.contextmanager
def applied_topology(topology: topo.Topology = TOPOLOGY) -> Iterator[tuple[str, dict[str, str], str]]:
    """The description applied to a throw-away vhost with prefixed users; everything removed afterwards."""
    vhost = f"cchc_topo_{uuid.uuid4().hex[:8]}"
    prefix = f"t{uuid.uuid4().hex[:6]}-"
    passwords = {user: uuid.uuid4().hex for user in topology.users()}
    try:
        topo.apply(topology, RABBIT + "/", passwords, vhost=vhost, user_prefix=prefix)
        yield vhost, passwords, prefix
    finally:
        cleanups = [subprocess.Popen(["rabbitmqctl", "-q", "delete_vhost", vhost], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)]
        cleanups += [
            subprocess.Popen(["rabbitmqctl", "-q", "delete_user", prefix + user], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
            for user in topology.users()
        ]
        for process in cleanups:
            process.wait(timeout=60)


def _pika(vhost: str, user: str, password: str) -> pika.BlockingConnection:
    return pika.BlockingConnection(
        pika.ConnectionParameters("127.0.0.1", 5672, vhost, pika.PlainCredentials(user, password),
                                  connection_attempts=1, blocked_connection_timeout=10)
    )


def _queue_rows(vhost: str) -> dict[str, dict[str, Any]]:
    rows = json.loads(_rabbitmqctl("list_queues", "-p", vhost, "name", "type", "policy", "--formatter", "json")
                      or "[]")
    return {row["name"]: row for row in rows}


def _depth(vhost: str, queue: str) -> int:
    """Messages in ``queue`` (ready + unacknowledged), asked over AMQP as the administrator (passive declare)."""
    connection = _pika(vhost, "guest", "guest")
    try:
        return connection.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        connection.close()


def _refused(action) -> str:
    """Run ``action``; return the broker's refusal (it must refuse)."""
    try:
        action()
    except pika.exceptions.ChannelClosedByBroker as exc:
        return f"{exc.reply_code} {exc.reply_text}"
    raise AssertionError("the broker allowed it")


def _confirmed_publish(connection: pika.BlockingConnection, exchange: str, routing_key: str,
                       **properties: Any) -> None:
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_publish(exchange, routing_key, b"{}", properties=pika.BasicProperties(**properties))


def _assert_only_own_things_can_be_configured(vhost: str, prefix: str, passwords: dict[str, str]) -> None:
    """Each service user tries to delete or declare what is not its own: always ACCESS_REFUSED, nothing gone."""
    for svc in TOPOLOGY.services:
        conn = _pika(vhost, prefix + svc.name, passwords[svc.name])
        others = [q.name for q in TOPOLOGY.queues() if q.owner != svc.name]
        for queue in others[:3] + ["dossiers.ingest"] * (svc.name != "dossiers"):
            assert "403" in _refused(lambda q=queue, c=conn: c.channel().queue_delete(q)), (svc.name, queue)
        for exchange in ("onedoor.events", "nameko-rpc", "cchc.dead-letter", "dossiers.events"):
            assert "403" in _refused(lambda e=exchange, c=conn: c.channel().exchange_delete(e)), (svc.name, exchange)
            assert "403" in _refused(lambda e=exchange, c=conn: c.channel().exchange_declare(e, "topic",
                                                                                             durable=True))
            conn.channel().exchange_declare(exchange, "topic", passive=True)  # checking that it exists is allowed
        conn.close()
    assert set(_queue_rows(vhost)) == {q.name for q in TOPOLOGY.queues()}


def _assert_rpc_is_limited_to_the_granted_methods(vhost: str, prefix: str, passwords: dict[str, str]) -> None:
    reports = _pika(vhost, prefix + "reports", passwords["reports"])
    reply_to = str(uuid.uuid4())
    _confirmed_publish(reports, "nameko-rpc", "dossiers.period_stats", reply_to=reply_to)  # granted
    for method in ("dossiers.get_dossier", "scoring.submit_scores", "notifications.resend_failed",
                   "dossiers.scan_deadlines"):
        refusal = _refused(lambda m=method: _confirmed_publish(reports, "nameko-rpc", m, reply_to=reply_to))
        assert refusal.startswith("403") and "access to topic" in refusal, (method, refusal)
    # its own reply queue binds with a uuid, but no queue of its own may listen in on another service's requests
    channel = reports.channel()
    own_reply = f"rpc.reply-reports-{uuid.uuid4()}"
    channel.queue_declare(own_reply, durable=True, arguments={"x-expires": 60000})
    channel.queue_bind(own_reply, "nameko-rpc", str(uuid.uuid4()))
    for key in ("dossiers.*", "#", "scoring.ranking"):
        assert "403" in _refused(lambda k=key: reports.channel().queue_bind(own_reply, "nameko-rpc", k)), key
    # nor forge a dead letter into another service's dead-letter queue
    assert "403" in _refused(lambda: _confirmed_publish(reports, "cchc.dead-letter", "dossiers.dossier.received"))
    reports.close()
    assert _depth(vhost, "cchc.dead-letter.dossiers") == 0
    admin = _pika(vhost, "guest", "guest")
    assert admin.channel().queue_purge("rpc-dossiers").method.message_count == 1  # the granted call, and only it
    admin.close()


@pytest.mark.integration
def test_applied_topology_enforces_least_privilege_and_the_services_run_under_it(tmp_path):
    from services.dossiers.service import DossiersService
    from services.reports.service import ReportsService
    from services.scoring.service import ScoringService

    with applied_topology() as (vhost, passwords, prefix):
        # Applying again changes nothing and fails on nothing (passwords given: they are re-set, not generated).
        again = topo.apply(TOPOLOGY, RABBIT + "/", passwords, vhost=vhost, user_prefix=prefix)
        assert not again.users_created and not again.generated_passwords

        queues = _queue_rows(vhost)
        assert set(queues) == {q.name for q in TOPOLOGY.queues()}
        assert {row["type"] for row in queues.values()} == {"quorum"}
        assert queues["dossiers.ingest"]["policy"] == "cchc-dossiers-queues"
        assert queues["cchc.dead-letter.dossiers"]["policy"] == "cchc-dead-letter-queues"
        topics = json.loads(_rabbitmqctl("list_topic_permissions", "-p", vhost, "--formatter", "json"))
        assert {(row["user"], row["exchange"]) for row in topics} == {
            (prefix + user, t.exchange) for user, perms in TOPOLOGY.users().items() for t in perms.topics}

        # The one-door user: publishing an event type to onedoor.events is confirmed and routed to the ingest queue.
        onedoor = _pika(vhost, prefix + "onedoor", passwords["onedoor"])
        channel = onedoor.channel()
        channel.confirm_delivery()
        channel.basic_publish("onedoor.events", "dossier.received", b"{not json", mandatory=True,
                              properties=pika.BasicProperties(delivery_mode=2, content_type="application/json"))
        wait_until(lambda: _depth(vhost, "dossiers.ingest") == 1, timeout=10,
                   message="the one-door's message in dossiers.ingest")
        # ... but it cannot consume the dossiers queue, publish as the dossiers service, declare anything, or use
        # a routing key that is no event type.
        assert "403" in _refused(lambda: onedoor.channel().basic_get("dossiers.ingest"))
        assert "403" in _refused(lambda: _confirmed_publish(onedoor, "dossiers.events", "dossier_late"))
        assert "403" in _refused(lambda: onedoor.channel().exchange_declare("onedoor.events", "topic", durable=True))
        assert "403" in _refused(lambda: onedoor.channel().queue_declare("onedoor.sneaky", durable=True))
        assert "403" in _refused(lambda: _confirmed_publish(onedoor, "onedoor.events", "dossier." + "x" * 200))
        onedoor.close()
        # A service user cannot read another service's queue, delete or declare what is not its own, or call a
        # method it was not granted.
        scoring_conn = _pika(vhost, prefix + "scoring", passwords["scoring"])
        assert "403" in _refused(lambda: scoring_conn.channel().basic_get("dossiers.ingest"))
        scoring_conn.close()
        _assert_only_own_things_can_be_configured(vhost, prefix, passwords)
        _assert_rpc_is_limited_to_the_granted_methods(vhost, prefix, passwords)

        # The services themselves, each connected as its own restricted user, on SQLite.
        def config(service: str) -> dict[str, Any]:
            uri = topo.user_uri(RABBIT + "/", vhost, prefix + service, passwords[service])
            return load_config(AMQP_URI=uri, DATABASE_URL=f"sqlite:///{tmp_path}/<service>.db",
                               timeliness={"scan_interval_seconds": 3600})

        with running([DossiersService], config("dossiers"), http_base_port=free_port()), \
                running([ScoringService], config("scoring"), http_base_port=free_port()), \
                running([ReportsService], config("reports"), http_base_port=free_port()):
            # dossiers consumed the one-door's malformed message and dead-lettered it as its own user.
            wait_until(lambda: _depth(vhost, "cchc.dead-letter.dossiers") == 1, timeout=20,
                       message="the malformed message in cchc.dead-letter.dossiers")
            admin = load_config(AMQP_URI=topo.vhost_uri(RABBIT + "/", vhost))
            with rpc_proxy(admin, timeout=60) as rpc:
                # scoring calls dossiers.units as its own user (reply queue rpc.reply-scoring-*) ...
                assert rpc.scoring.sync_units() > 100
                # ... reports calls dossiers.units and period_stats as its own user, builds and keeps a document
                built = rpc.reports.build_statistics("H44.07", "2026", ["xlsx"])
                assert built["built"] and rpc.reports.document_file(built["files"][0]["id"])["size"] > 0
        # The services' own declarations were equivalent: every queue in the vhost is still a quorum queue, and
        # nothing but the reply queues the RPC callers made (they expire) was added.
        rows = _queue_rows(vhost)
        assert {row["type"] for row in rows.values()} == {"quorum"}
        assert {n for n in rows if not n.startswith("rpc.reply-")} == {q.name for q in TOPOLOGY.queues()}
        # The operator's dead-letter tools work as the cchc-operator user.
        operator = load_config(AMQP_URI=topo.user_uri(RABBIT + "/", vhost, prefix + "cchc-operator",
                                                      passwords["cchc-operator"]))
        with connect(operator) as connection:
            assert deadletter.count(connection, "dossiers") == 1
            (letter,) = deadletter.browse(connection, "dossiers")
            assert letter.kind == "invalid" and letter.original_exchange == "onedoor.events"


@pytest.mark.integration
def test_dead_letters_expire_after_the_configured_ttl():
    """The TTL is a policy on the dead-letter queues (changed in place, never a queue argument the services would
    have to re-declare), applied by `topology apply`; a dead letter older than it is gone from the queue."""
    short = dataclasses.replace(TOPOLOGY, dead_letter_ttl_days=1)
    with applied_topology(short) as (vhost, passwords, prefix):
        policies = json.loads(_rabbitmqctl("list_policies", "-p", vhost, "--formatter", "json"))
        definition = next(p["definition"] for p in policies if p["name"] == "cchc-dead-letter-queues")
        definition = json.loads(definition) if isinstance(definition, str) else definition
        assert definition["message-ttl"] == 86_400_000
        # The same policy with a TTL of one second, as an operator would shorten it: applied in place.
        _rabbitmqctl("set_policy", "-p", vhost, "--apply-to", "queues", "--priority", "10",
                     "cchc-dead-letter-queues", "^cchc\\.dead-letter\\..*$",
                     json.dumps({"delivery-limit": TOPOLOGY.dead_letter_delivery_limit, "message-ttl": 1000}))
        dossiers = _pika(vhost, prefix + "dossiers", passwords["dossiers"])
        _confirmed_publish(dossiers, "cchc.dead-letter", "dossiers.dossier.received", delivery_mode=2)
        dossiers.close()
        wait_until(lambda: _depth(vhost, "cchc.dead-letter.dossiers") == 0, timeout=30, interval=0.5,
                   message="the dead letter to expire")


def test_dlq_replay_targets_are_exactly_the_bindings_of_each_services_queues():
    """`cchc dlq replay` sends a letter back only where the service's own queues are bound (shared/deadletter.py
    REPLAY_TARGETS, kept in the image, which carries no deploy/): the same as the description says."""
    described = topo.load()
    for svc in described.services:
        bindings = frozenset((b.exchange, b.routing_key) for q in svc.queues for b in q.bindings)
        assert deadletter.REPLAY_TARGETS.get(svc.name, frozenset()) == bindings, svc.name

"""RabbitMQ topology as code: the description matches what the services' code declares, applying it to a real
broker is idempotent and gives quorum queues with dead-letter policies, and its least-privilege users work:
the one-door user can publish to onedoor.events and nothing else, and the dossiers and scoring services start,
dead-letter and talk RPC while connected as their own restricted users."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
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
    calls = {v.target_service for v in vars(cls).values() if isinstance(v, RpcProxy)}
    standalone = "ClusterRpcProxy" in inspect.getsource(sys.modules[cls.__module__])
    return {"queues": queues, "serves_rpc": serves_rpc, "publishes": publishes, "calls_rpc": calls,
            "standalone_rpc_proxy": standalone}


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
    assert set(spec.publishes) == code["publishes"]
    assert set(spec.calls_rpc) == code["calls_rpc"]
    assert spec.standalone_rpc_proxy == code["standalone_rpc_proxy"]


def test_the_one_door_may_only_publish_to_its_exchange():
    perms = TOPOLOGY.users()["onedoor"].regexes()
    assert perms == {"configure": "^$", "write": r"^(onedoor\.events)$", "read": "^$"}


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
    dlq_policy = next(p for p in by_kind["Policy"] if p["spec"]["name"] == "cchc-dossiers-queues")
    assert dlq_policy["spec"]["definition"]["dead-letter-exchange"] == "cchc.dead-letter"


# -- a real broker --------------------------------------------------------------------------------------------
def _rabbitmqctl(*args: str) -> str:
    return subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, text=True).stdout


@contextlib.contextmanager
def applied_topology() -> Iterator[tuple[str, dict[str, str], str]]:
    """The description applied to a throw-away vhost with prefixed users; everything removed afterwards."""
    vhost = f"cchc_topo_{uuid.uuid4().hex[:8]}"
    prefix = f"t{uuid.uuid4().hex[:6]}-"
    passwords = {user: uuid.uuid4().hex for user in TOPOLOGY.users()}
    try:
        topo.apply(TOPOLOGY, RABBIT + "/", passwords, vhost=vhost, user_prefix=prefix)
        yield vhost, passwords, prefix
    finally:
        cleanups = [subprocess.Popen(["rabbitmqctl", "-q", "delete_vhost", vhost], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)]
        cleanups += [
            subprocess.Popen(["rabbitmqctl", "-q", "delete_user", prefix + user], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
            for user in TOPOLOGY.users()
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




@pytest.mark.integration
def test_applied_topology_enforces_least_privilege_and_the_services_run_under_it(tmp_path):
    from services.dossiers.service import DossiersService
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

        # The one-door user: publishing to onedoor.events is confirmed and routed to the ingest queue.
        onedoor = _pika(vhost, prefix + "onedoor", passwords["onedoor"])
        channel = onedoor.channel()
        channel.confirm_delivery()
        channel.basic_publish("onedoor.events", "dossier.received", b"{not json", mandatory=True,
                              properties=pika.BasicProperties(delivery_mode=2, content_type="application/json"))
        wait_until(lambda: _depth(vhost, "dossiers.ingest") == 1, timeout=10,
                   message="the one-door's message in dossiers.ingest")
        # ... but it cannot consume the dossiers queue, publish as the dossiers service, or declare anything.
        assert "403" in _refused(lambda: onedoor.channel().basic_get("dossiers.ingest"))
        assert "403" in _refused(lambda: _confirmed_publish(onedoor, "dossiers.events", "dossier_late"))
        assert "403" in _refused(lambda: onedoor.channel().exchange_declare("onedoor.events", "topic", durable=True))
        assert "403" in _refused(lambda: onedoor.channel().queue_declare("onedoor.sneaky", durable=True))
        onedoor.close()
        # A service user cannot read another service's queue either.
        scoring_conn = _pika(vhost, prefix + "scoring", passwords["scoring"])
        assert "403" in _refused(lambda: scoring_conn.channel().basic_get("dossiers.ingest"))
        scoring_conn.close()

        # The services themselves, each connected as its own restricted user, on SQLite.
        def config(service: str) -> dict[str, Any]:
            uri = topo.user_uri(RABBIT + "/", vhost, prefix + service, passwords[service])
            return load_config(AMQP_URI=uri, DATABASE_URL=f"sqlite:///{tmp_path}/<service>.db",
                               timeliness={"scan_interval_seconds": 3600})

        with running([DossiersService], config("dossiers"), http_base_port=free_port()), \
                running([ScoringService], config("scoring"), http_base_port=free_port()):
            # dossiers consumed the one-door's malformed message and dead-lettered it as its own user.
            wait_until(lambda: _depth(vhost, "cchc.dead-letter.dossiers") == 1, timeout=20,
                       message="the malformed message in cchc.dead-letter.dossiers")
            # scoring calls dossiers over RPC as its own user (reply queue rpc.reply-scoring-*).
            admin = load_config(AMQP_URI=topo.vhost_uri(RABBIT + "/", vhost))
            with rpc_proxy(admin) as rpc:
                assert rpc.scoring.sync_units() > 100
        # The services' own declarations were equivalent: every queue in the vhost is still a quorum queue.
        assert {row["type"] for row in _queue_rows(vhost).values()} == {"quorum"}
        # The operator's dead-letter tools work as the cchc-operator user.
        operator = load_config(AMQP_URI=topo.user_uri(RABBIT + "/", vhost, prefix + "cchc-operator",
                                                      passwords["cchc-operator"]))
        with connect(operator) as connection:
            assert deadletter.count(connection, "dossiers") == 1
            (letter,) = deadletter.browse(connection, "dossiers")
            assert letter.kind == "invalid" and letter.original_exchange == "onedoor.events"


def _confirmed_publish(connection: pika.BlockingConnection, exchange: str, routing_key: str) -> None:
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_publish(exchange, routing_key, b"{}")

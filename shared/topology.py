"""RabbitMQ topology as code: one description (deploy/rabbitmq/topology.yaml), applied the same way everywhere.

* ``render_k8s`` turns it into the messaging-topology-operator's custom resources (Vhost, Exchange, Queue,
  Binding, Policy, User, Permission, TopicPermission) for deploy/k8s;
* ``apply`` declares it on a broker directly: exchanges, queues and bindings over AMQP (kombu), the vhost,
  policies, users, permissions and topic permissions with ``rabbitmqctl`` (the local setup has no management
  plugin).

The description says what each service *does* on the bus (publishes, serves RPC, calls which RPC methods,
consumes which queues); the queues, bindings, dead-letter policies (with the dead letters' TTL) and each user's
configure / write / read permissions and topic permissions are derived from that, so permissions are exactly
what the code needs and nothing more: configure on its own queues only, RPC requests only to the methods it
calls (tests/deploy/test_rabbitmq_topology.py compares the description with the code).

Command line (``python -m shared.topology --help``)::

    python -m shared.topology render                 # the Kubernetes custom resources, as YAML, to stdout
    python -m shared.topology apply --amqp-uri pyamqp://guest:guest@127.0.0.1:5672/ \\
        [--vhost cchc] [--credentials FILE] [--write-credentials FILE] [--dead-letter-ttl-days N]
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import hashlib
import json
import re
import secrets
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import yaml

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "deploy" / "rabbitmq" / "topology.yaml"
RPC_EXCHANGE = "nameko-rpc"
CLUSTER_NAME = "rabbitmq"  # the RabbitmqCluster every custom resource refers to
NOTHING = "^$"  # RabbitMQ permission regex that matches no resource


class TopologyError(ValueError):
    """The description is inconsistent, or the broker refused to take it."""


# -- the model ----------------------------------------------------------------------------------------------
# nameko's reply routing keys (and reply queue suffixes) are uuid4 strings.
UUID_KEY = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# RabbitMQ refuses a message TTL above 2^32-1 ms (49.7 days).
MAX_TTL_DAYS = 49


@dataclass(frozen=True)
class Binding:
    exchange: str
    routing_key: str


@dataclass(frozen=True)
class QueueSpec:
    name: str
    owner: str  # the service whose queue it is ("" for none)
    bindings: tuple[Binding, ...] = ()


@dataclass(frozen=True)
class TopicPermission:
    """RabbitMQ topic permissions on one topic exchange: regexes over the routing keys a user may publish with
    (``write``) and bind with (``read``). An exchange a user has none for is not restricted by routing key."""

    exchange: str
    write: str = NOTHING
    read: str = NOTHING


@dataclass(frozen=True)
class Permissions:
    """Resource patterns (names, ``*`` = any characters) a user may configure, write to and read from, and its
    topic permissions."""

    configure: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    read: tuple[str, ...] = ()
    topics: tuple[TopicPermission, ...] = ()

    def regexes(self) -> dict[str, str]:
        return {"configure": regex(self.configure), "write": regex(self.write), "read": regex(self.read)}


@dataclass(frozen=True)
class Policy:
    name: str
    pattern: str
    definition: Mapping[str, Any]
    apply_to: str = "queues"  # "quorum_queues" is unknown before RabbitMQ 3.12; every queue here is quorum
    priority: int = 10


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    publishes: tuple[str, ...]
    serves_rpc: bool
    calls_rpc: Mapping[str, tuple[str, ...]]  # target service -> the methods called
    subscribes: tuple[str, ...]
    queues: tuple[QueueSpec, ...]
    standalone_rpc_proxy: bool = False  # nameko.standalone.rpc.ClusterRpcProxy inside the service
    topics: tuple[TopicPermission, ...] = ()  # further topic permissions (e.g. the event types it may publish)

    @property
    def dead_letter_routing(self) -> str:
        return f"{self.name}.#"


@dataclass(frozen=True)
class Topology:
    vhost: str
    default_queue_type: str
    exchanges: tuple[str, ...]
    dead_letter_exchange: str
    dead_letter_prefix: str
    service_delivery_limit: int
    dead_letter_delivery_limit: int
    dead_letter_ttl_days: int
    services: tuple[ServiceSpec, ...]
    clients: Mapping[str, Permissions] = field(default_factory=dict)

    # derived ------------------------------------------------------------------------------------------
    def dead_letter_queue(self, service: str) -> QueueSpec:
        return QueueSpec(
            f"{self.dead_letter_prefix}{service}", service, (Binding(self.dead_letter_exchange, f"{service}.#"),)
        )

    def queues(self) -> list[QueueSpec]:
        """Every queue declared up front: the services' consumer queues, RPC queues and dead-letter queues."""
        out: list[QueueSpec] = []
        for svc in self.services:
            out.extend(svc.queues)
            if svc.serves_rpc:
                out.append(QueueSpec(f"rpc-{svc.name}", svc.name, (Binding(RPC_EXCHANGE, f"{svc.name}.*"),)))
            out.append(self.dead_letter_queue(svc.name))
        return out

    def service_permissions(self, svc: ServiceSpec) -> Permissions:
        """What the service's code does with its connection, as RabbitMQ permissions.

        configure = declare or delete: its own queues only (its consumer queues, its RPC queue, its reply
        queues, its dead-letter queue). Exchanges and other services' queues are declared up front (the
        operator, ``apply``) and the code only checks them with passive declarations (shared/messaging.py),
        which need no permission. write = publish to an exchange, bind a queue (write on the queue); read =
        consume a queue, bind from an exchange (read on the exchange). Topic permissions narrow the RPC exchange
        to the methods it calls (``<service>.<method>``) and, if it serves RPC, replies (uuid routing keys), and
        the dead-letter exchange to its own ``<service>.`` routing keys.
        """
        own_queues = [q.name for q in svc.queues]
        bound_from = [b.exchange for q in svc.queues for b in q.bindings]
        calls = bool(svc.calls_rpc)
        rpc = svc.serves_rpc or calls or svc.standalone_rpc_proxy
        rpc_queues = (
            ([f"rpc-{svc.name}"] if svc.serves_rpc else [])
            + ([f"rpc.reply-{svc.name}-*"] if calls and not svc.standalone_rpc_proxy else [])
            # a standalone proxy's reply queue is named after no service: the pattern is shared by all of them
            + (["rpc.reply-standalone_rpc_proxy-*"] if svc.standalone_rpc_proxy else [])
        )
        handler_queues = [f"evt-*--{svc.name}.*"] if svc.subscribes else []
        dlq = f"{self.dead_letter_prefix}{svc.name}"
        rpc_exchange = [RPC_EXCHANGE] if rpc else []
        # dead letters: published as "<service>.<key>", its queue bound with "<service>.#"
        topics = [TopicPermission(self.dead_letter_exchange, write=f"^{re.escape(svc.name)}\\..+$",
                                  read=f"^{re.escape(svc.name)}\\.#$")]
        if rpc:
            methods = [f"{re.escape(target)}\\.({'|'.join(re.escape(m) for m in sorted(names))})"
                       for target, names in sorted(svc.calls_rpc.items())]
            writes = methods + ([UUID_KEY] if svc.serves_rpc else [])  # requests; replies to callers
            # bindings: its RPC queue to "<service>.*", its reply queue to a uuid
            reads = ([f"{re.escape(svc.name)}\\.\\*"] if svc.serves_rpc else []) + ([UUID_KEY] if calls else [])
            topics.append(TopicPermission(RPC_EXCHANGE, write=_alternatives(writes), read=_alternatives(reads)))
        extra = {t.exchange for t in svc.topics}
        return Permissions(
            configure=_unique([*own_queues, *rpc_queues, *handler_queues, dlq]),
            write=_unique([self.dead_letter_exchange, *svc.publishes, *rpc_exchange, dlq, *own_queues,
                           *rpc_queues, *handler_queues]),
            read=_unique([self.dead_letter_exchange, *bound_from, *svc.subscribes, *rpc_exchange, *own_queues,
                          *rpc_queues, *handler_queues]),
            topics=tuple(t for t in topics if t.exchange not in extra) + svc.topics,
        )

    def users(self) -> dict[str, Permissions]:
        users = {svc.name: self.service_permissions(svc) for svc in self.services}
        for name, perms in self.clients.items():
            if name in users:
                raise TopologyError(f"clients.{name}: a service of that name exists")
            users[name] = perms
        return users

    def policies(self) -> list[Policy]:
        """Broker-side dead-lettering for the queues a service consumes (a safety net under the services' own
        dead-lettering); on the dead-letter queues a high delivery limit and a message TTL: a dead letter keeps
        its body as received (a refused dossier.received holds the applicant), so it is dropped after
        ``dead_letter_ttl_days`` (docs/data-protection.md). A policy, not queue arguments: RabbitMQ refuses to
        re-declare an existing queue with other arguments (PRECONDITION_FAILED), a policy changes in place."""
        policies = []
        for svc in self.services:
            names = [q.name for q in svc.queues] + ([f"rpc-{svc.name}"] if svc.serves_rpc else [])
            patterns = [_glob_regex(n) for n in names] + ([_glob_regex(f"evt-*--{svc.name}.*")] if svc.subscribes
                                                          else [])
            if not patterns:
                continue
            policies.append(
                Policy(
                    name=f"cchc-{svc.name}-queues",
                    pattern="^(" + "|".join(patterns) + ")$",
                    definition={
                        "dead-letter-exchange": self.dead_letter_exchange,
                        "dead-letter-routing-key": f"{svc.name}.delivery-limit",
                        "dead-letter-strategy": "at-least-once",
                        "overflow": "reject-publish",
                        "delivery-limit": self.service_delivery_limit,
                    },
                )
            )
        policies.append(
            Policy(
                name="cchc-dead-letter-queues",
                pattern="^" + _glob_regex(f"{self.dead_letter_prefix}*") + "$",
                definition={"delivery-limit": self.dead_letter_delivery_limit,
                            "message-ttl": ttl_milliseconds(self.dead_letter_ttl_days)},
            )
        )
        return policies


def ttl_milliseconds(days: int) -> int:
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_TTL_DAYS:
        raise TopologyError(f"dead_letters.message_ttl_days: {days!r} must be a whole number of days from 1 to "
                            f"{MAX_TTL_DAYS} (RabbitMQ refuses a TTL above 2^32-1 ms)")
    return days * 86_400_000


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _alternatives(regexes: Sequence[str]) -> str:
    return "^(" + "|".join(regexes) + ")$" if regexes else NOTHING


def _glob_regex(pattern: str) -> str:
    """A resource pattern (``*`` = any characters) as a regex; only regex metacharacters are escaped."""
    return ".*".join(re.sub(r"([.^$+?{}\[\]\\|()])", r"\\\1", part) for part in pattern.split("*"))


def regex(patterns: Sequence[str]) -> str:
    """``^(a|b\\.c|rpc\\.reply-x-.*)$`` for resource patterns; ``^$`` (nothing) for none."""
    if not patterns:
        return NOTHING
    return "^(" + "|".join(_glob_regex(p) for p in patterns) + ")$"


# -- loading ------------------------------------------------------------------------------------------------
def load(path: Path | str = DEFAULT_PATH) -> Topology:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    try:
        exchanges = tuple(e["name"] for e in raw["exchanges"])
        dl = raw["dead_letters"]
        services = tuple(_service(name, body or {}) for name, body in raw["services"].items())
        clients = {
            name: Permissions(
                tuple(body.get("configure", ())), tuple(body.get("write", ())), tuple(body.get("read", ())),
                _topics(body.get("topics")),
            )
            for name, body in (raw.get("clients") or {}).items()
        }
        topology = Topology(
            vhost=str(raw["vhost"]),
            default_queue_type=str(raw.get("default_queue_type", "quorum")),
            exchanges=exchanges,
            dead_letter_exchange=str(dl["exchange"]),
            dead_letter_prefix=str(dl["queue_prefix"]),
            service_delivery_limit=int(dl["service_queue_delivery_limit"]),
            dead_letter_delivery_limit=int(dl["dead_letter_queue_delivery_limit"]),
            dead_letter_ttl_days=dl["message_ttl_days"],
            services=services,
            clients=clients,
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise TopologyError(f"{path}: missing or malformed key {exc}") from exc
    _check(topology)
    return topology


EVENT_TYPES = "event_types"  # in a topic permission: exactly the contract's event types (shared/events.py)


def event_types_regex() -> str:
    """The routing keys of the one-door contract, and nothing else: ``^(dossier\\.received|…|petition\\.rated)$``.
    Derived from the event catalogue, so a new event type is permitted as soon as the contract has it (re-render)."""
    from shared.events import CATALOGUE

    return _alternatives([re.escape(name) for name in sorted(CATALOGUE)])


def _topic_regex(value: Any) -> str:
    return event_types_regex() if value == EVENT_TYPES else str(value)


def _topics(raw: Mapping[str, Any] | None) -> tuple[TopicPermission, ...]:
    """``{exchange: {write: regex, read: regex}}`` (``event_types``: the contract's event types); a side left out
    allows nothing."""
    return tuple(TopicPermission(str(exchange), _topic_regex((body or {}).get("write", NOTHING)),
                                 _topic_regex((body or {}).get("read", NOTHING)))
                 for exchange, body in (raw or {}).items())


def _service(name: str, body: Mapping[str, Any]) -> ServiceSpec:
    queues = tuple(
        QueueSpec(q["name"], name, tuple(Binding(b["exchange"], str(b["routing_key"])) for b in q.get("bindings", ())))
        for q in body.get("queues") or ()
    )
    calls = body.get("calls_rpc") or {}
    if not isinstance(calls, Mapping):
        raise TopologyError(f"services.{name}.calls_rpc: expected a mapping of service to the methods it calls")
    return ServiceSpec(
        name=name,
        publishes=tuple(body.get("publishes") or ()),
        serves_rpc=bool(body.get("serves_rpc", False)),
        calls_rpc={str(target): tuple(str(m) for m in methods or ()) for target, methods in calls.items()},
        subscribes=tuple(body.get("subscribes") or ()),
        queues=queues,
        standalone_rpc_proxy=bool(body.get("standalone_rpc_proxy", False)),
        topics=_topics(body.get("topics")),
    )


def _check(t: Topology) -> None:
    known = set(t.exchanges)
    if t.dead_letter_exchange not in known:
        raise TopologyError(f"dead_letters.exchange {t.dead_letter_exchange!r} is not among the exchanges")
    ttl_milliseconds(t.dead_letter_ttl_days)
    names = [svc.name for svc in t.services]
    for svc in t.services:
        used = [*svc.publishes, *svc.subscribes, *(b.exchange for q in svc.queues for b in q.bindings),
                *(topic.exchange for topic in svc.topics)]
        for exchange in used:
            if exchange not in known:
                raise TopologyError(f"services.{svc.name}: exchange {exchange!r} is not among the exchanges")
        for target, methods in svc.calls_rpc.items():
            if target not in names:
                raise TopologyError(f"services.{svc.name}.calls_rpc: no service {target!r}")
            if not methods or not all(re.fullmatch(r"[a-z_][a-z0-9_]*", m) for m in methods):
                raise TopologyError(f"services.{svc.name}.calls_rpc.{target}: list the method names called")
    for name, perms in t.clients.items():
        for topic in perms.topics:
            if topic.exchange not in known:
                raise TopologyError(f"clients.{name}.topics: exchange {topic.exchange!r} is not among the exchanges")
    queue_names = [q.name for q in t.queues()]
    duplicates = {n for n in queue_names if queue_names.count(n) > 1}
    if duplicates:
        raise TopologyError(f"queues declared twice: {sorted(duplicates)}")


# -- Kubernetes: the messaging-topology-operator's custom resources -------------------------------------------
def k8s_name(*parts: str) -> str:
    """A DNS-1123 name for a custom resource (RabbitMQ names may hold dots, underscores, '#')."""
    text = "-".join(parts).lower().replace("#", "all").replace("*", "any")
    name = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    if len(name) > 63:
        name = name[:54].rstrip("-") + "-" + hashlib.sha1(text.encode()).hexdigest()[:8]
    return name


def render_k8s(t: Topology, cluster: str = CLUSTER_NAME) -> list[dict[str, Any]]:
    ref = {"name": cluster}
    labels = {"app.kubernetes.io/part-of": "cchc", "app.kubernetes.io/component": "rabbitmq-topology"}

    def obj(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": "rabbitmq.com/v1beta1",
            "kind": kind,
            "metadata": {"name": name, "labels": dict(labels)},
            "spec": {**spec, "rabbitmqClusterReference": dict(ref)},
        }

    out = [obj("Vhost", k8s_name(t.vhost), {"name": t.vhost, "defaultQueueType": t.default_queue_type})]
    for exchange in t.exchanges:
        out.append(obj("Exchange", k8s_name("exchange", exchange), {
            "name": exchange, "vhost": t.vhost, "type": "topic", "durable": True, "autoDelete": False}))
    for queue in t.queues():
        out.append(obj("Queue", k8s_name("queue", queue.name), {
            "name": queue.name, "vhost": t.vhost, "type": t.default_queue_type, "durable": True,
            "autoDelete": False}))
        for b in queue.bindings:
            digest = hashlib.sha1(f"{b.exchange}|{queue.name}|{b.routing_key}".encode()).hexdigest()[:8]
            out.append(obj("Binding", k8s_name("binding", queue.name, digest), {
                "vhost": t.vhost, "source": b.exchange, "destination": queue.name, "destinationType": "queue",
                "routingKey": b.routing_key}))
    for policy in t.policies():
        out.append(obj("Policy", k8s_name("policy", policy.name), {
            "name": policy.name, "vhost": t.vhost, "pattern": policy.pattern, "applyTo": policy.apply_to,
            "priority": policy.priority, "definition": dict(policy.definition)}))
    for user, perms in t.users().items():
        # No importCredentialsSecret: the operator generates the credentials into the Secret
        # `<user>-user-credentials` (keys username, password); deployments read them from there.
        out.append(obj("User", k8s_name(user), {}))
        out.append(obj("Permission", k8s_name("permission", user), {
            "vhost": t.vhost, "userReference": {"name": k8s_name(user)}, "permissions": perms.regexes()}))
        for topic in perms.topics:
            out.append(obj("TopicPermission", k8s_name("topic-permission", user, topic.exchange), {
                "vhost": t.vhost, "userReference": {"name": k8s_name(user)},
                "permissions": {"exchange": topic.exchange, "write": topic.write, "read": topic.read}}))
    names = [(o["kind"], o["metadata"]["name"]) for o in out]
    if len(set(names)) != len(names):
        raise TopologyError("two custom resources got the same name")
    return out


def credentials_secret(user: str) -> str:
    """The Secret the topology operator writes a generated user's username and password to."""
    return f"{k8s_name(user)}-user-credentials"


def dump_k8s(t: Topology, source: str = "deploy/rabbitmq/topology.yaml") -> str:
    header = (
        f"# GENERATED from {source} by `python deploy/render.py` (shared/topology.py): do not edit.\n"
        "# messaging-topology-operator custom resources: vhost, exchanges, quorum queues, bindings, dead-letter\n"
        "# policies, users (credentials generated into <user>-user-credentials) and least-privilege permissions.\n"
    )
    return header + yaml.safe_dump_all(render_k8s(t), sort_keys=False, explicit_start=True, width=120)


# -- a broker directly: kombu + rabbitmqctl -------------------------------------------------------------------
@dataclass
class ApplyReport:
    vhost: str
    users_created: list[str] = field(default_factory=list)
    users_updated: list[str] = field(default_factory=list)
    generated_passwords: dict[str, str] = field(default_factory=dict)
    exchanges: list[str] = field(default_factory=list)
    queues: list[str] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)


class Rabbitmqctl:
    def __init__(self, executable: str = "rabbitmqctl") -> None:
        self.executable = executable

    def __call__(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run([self.executable, "-q", *args], input=stdin, capture_output=True, text=True)
        if result.returncode != 0:
            raise TopologyError(f"rabbitmqctl {args[0]} failed: {(result.stderr or result.stdout).strip()}")
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--formatter", "json") or "[]")


def apply(
    t: Topology,
    admin_uri: str,
    passwords: Mapping[str, str] | None = None,
    *,
    vhost: str | None = None,
    user_prefix: str = "",
    rabbitmqctl: Rabbitmqctl | None = None,
) -> ApplyReport:
    """Declare everything on the broker behind ``admin_uri`` (its user becomes a full user of the vhost).

    ``passwords`` maps a user of the description to its password; a new user without one gets a random
    password (returned in the report, never logged); an existing user without one keeps its password.
    ``vhost`` and ``user_prefix`` override the description's vhost and prefix user names (tests use both).
    Everything is idempotent: applying twice changes nothing.
    """
    from kombu import Connection, Exchange, Queue

    ctl = rabbitmqctl or Rabbitmqctl()
    vhost = vhost or t.vhost
    passwords = dict(passwords or {})
    report = ApplyReport(vhost=vhost)

    existing = {v["name"]: v.get("default_queue_type") for v in ctl.json("list_vhosts", "name", "default_queue_type")}
    if vhost not in existing:
        ctl("add_vhost", vhost, "--default-queue-type", t.default_queue_type)
    elif existing[vhost] not in (t.default_queue_type, None):
        raise TopologyError(
            f"vhost {vhost!r} exists with default queue type {existing[vhost]!r}, not {t.default_queue_type!r}: "
            "queues the services declare would not be quorum queues (recreate the vhost, see docs/operations.md)"
        )

    # Users, permissions and policies in one `rabbitmqctl import_definitions` (one call instead of dozens; the
    # file format is RabbitMQ's own definitions export). A user that exists and has no new password is left
    # out of "users" so its password stays; its permissions are still (re)set.
    admin = unquote(urlsplit(admin_uri).username or "guest")
    known_users = {u["user"] for u in ctl.json("list_users")}
    definitions: dict[str, Any] = {"users": [], "permissions": [], "topic_permissions": [], "policies": []}
    definitions["permissions"].append(
        {"user": admin, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"})
    for user, perms in t.users().items():
        login = f"{user_prefix}{user}"
        if login not in known_users or user in passwords:
            password = passwords.get(user) or secrets.token_urlsafe(24)
            if user not in passwords:
                report.generated_passwords[user] = password
            (report.users_created if login not in known_users else report.users_updated).append(login)
            definitions["users"].append({"name": login, "password_hash": password_hash(password),
                                         "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []})
        definitions["permissions"].append({"user": login, "vhost": vhost, **perms.regexes()})
        definitions["topic_permissions"] += [{"user": login, "vhost": vhost, "exchange": topic.exchange,
                                              "write": topic.write, "read": topic.read} for topic in perms.topics]
    for policy in t.policies():
        definitions["policies"].append({"vhost": vhost, "name": policy.name, "pattern": policy.pattern,
                                        "apply-to": policy.apply_to, "priority": policy.priority,
                                        "definition": dict(policy.definition)})
        report.policies.append(policy.name)
    # import_definitions adds and replaces but never removes: clear topic permissions the description dropped.
    described = {(d["user"], d["exchange"]) for d in definitions["topic_permissions"]}
    logins = {f"{user_prefix}{user}" for user in t.users()}
    for row in ctl.json("list_topic_permissions", "-p", vhost):
        if row["user"] in logins and (row["user"], row["exchange"]) not in described:
            ctl("clear_topic_permissions", "-p", vhost, row["user"], row["exchange"])
    ctl("import_definitions", "--format", "json", stdin=json.dumps(definitions))  # no path: stdin

    # Exchanges, queues and bindings over AMQP, as the services themselves declare them.
    with Connection(vhost_uri(admin_uri, vhost), connect_timeout=10) as connection:
        channel = connection.channel()
        declared = {}
        for name in t.exchanges:
            declared[name] = Exchange(name, type="topic", durable=True, channel=channel)
            declared[name].declare()
            report.exchanges.append(name)
        for spec in t.queues():
            queue = Queue(spec.name, durable=True, channel=channel,
                          queue_arguments={"x-queue-type": t.default_queue_type})
            queue.declare()
            for b in spec.bindings:
                queue.bind_to(exchange=declared[b.exchange], routing_key=b.routing_key)
            report.queues.append(spec.name)
        channel.close()
    return report


def password_hash(password: str) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password)), 4-byte salt."""
    salt = secrets.token_bytes(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode("utf-8")).digest()).decode("ascii")


def vhost_uri(uri: str, vhost: str) -> str:
    """``uri`` with its vhost replaced (kombu-style: the path is the vhost name, URL-quoted)."""
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), parts.query, parts.fragment))


def user_uri(uri: str, vhost: str, user: str, password: str) -> str:
    parts = urlsplit(vhost_uri(uri, vhost))
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


# -- command line -------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    top = argparse.ArgumentParser(prog="python -m shared.topology", description=__doc__.split("\n\n")[0])
    top.add_argument("--topology", default=str(DEFAULT_PATH), help="the description (default: %(default)s)")
    sub = top.add_subparsers(dest="command", required=True)
    sub.add_parser("render", help="print the Kubernetes custom resources")
    do = sub.add_parser("apply", help="declare everything on a broker (kombu + rabbitmqctl)")
    do.add_argument("--amqp-uri", required=True, help="an administrator's URI, e.g. pyamqp://guest:guest@host:5672/")
    do.add_argument("--vhost", help="override the description's vhost")
    do.add_argument("--credentials", help="YAML mapping user -> password to set")
    do.add_argument("--write-credentials", help="write generated passwords (YAML) here, mode 0600")
    for command in (sub.choices["render"], do):
        command.add_argument("--dead-letter-ttl-days", type=int,
                             help="days a dead letter is kept (default: dead_letters.message_ttl_days)")
    args = top.parse_args(argv)

    topology = load(args.topology)
    if args.dead_letter_ttl_days is not None:
        ttl_milliseconds(args.dead_letter_ttl_days)
        topology = dataclasses.replace(topology, dead_letter_ttl_days=args.dead_letter_ttl_days)
    if args.command == "render":
        sys.stdout.write(dump_k8s(topology))
        return 0
    passwords = yaml.safe_load(Path(args.credentials).read_text(encoding="utf-8")) if args.credentials else {}
    report = apply(topology, args.amqp_uri, passwords or {}, vhost=args.vhost)
    print(f"vhost {report.vhost}: {len(report.exchanges)} exchanges, {len(report.queues)} queues, "
          f"{len(report.policies)} policies; users created {report.users_created or '-'}, "
          f"passwords changed {report.users_updated or '-'}")
    if report.generated_passwords:
        if not args.write_credentials:
            print("generated passwords for", ", ".join(report.generated_passwords),
                  "were not saved: use --write-credentials FILE, or change them with --credentials", file=sys.stderr)
        else:
            path = Path(args.write_credentials)
            path.touch(mode=0o600, exist_ok=True)
            path.chmod(0o600)
            path.write_text(yaml.safe_dump(report.generated_passwords), encoding="utf-8")
            print(f"generated passwords written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

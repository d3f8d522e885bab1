"""Broker topology and connections, declared in one place for services, tools and tests.

A standalone publisher fails with 404 NOT_FOUND until some consumer declared the exchange, so every
component that touches the bus makes sure what it uses exists at start-up. Declaring an exchange or a queue
needs RabbitMQ's *configure* permission, which also lets the user delete it; checking that it exists (a passive
declaration) needs none. So shared exchanges (ours and nameko's: ``nameko-rpc``, ``<service>.events``) and the
queues declared here are only *checked* when they exist — the deployed topology (deploy/rabbitmq/topology.yaml)
declares them up front — and declared only where they are missing: on a bare broker (the demo, tests, a
developer's RabbitMQ) the first component to start creates them, as before. Each service's user can therefore
be denied configure on everything but its own queues.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import amqp.exceptions
from kombu import Connection, Exchange, Queue
from nameko.constants import DEFAULT_TRANSPORT_OPTIONS

from shared.config import setting
from shared.events import ONEDOOR_EXCHANGE


def _exists(channel: Any, check: Callable[[Any], Any]) -> bool:
    """Whether a passive declaration succeeds. On py-amqp a failed one closes its channel, so it runs on a channel
    of its own; kombu's in-memory channels survive it."""
    connection = getattr(channel, "connection", None)
    own = connection is not None and hasattr(connection, "channel")
    probe = connection.channel() if own else channel
    try:
        check(probe)
        return True
    except amqp.exceptions.ChannelError:
        return False
    finally:
        if own and getattr(probe, "is_open", False):
            probe.close()


class ExistingFirstExchange(Exchange):
    """An exchange that is declared only if it does not exist yet (see the module's docstring)."""

    def declare(self, nowait: bool = False, passive: bool | None = None, channel: Any = None) -> Any:
        if not self._can_declare():
            return None
        passive = self.passive if passive is None else passive
        target = channel or self.channel
        if not passive and _exists(target, lambda probe: Exchange(self.name, self.type).declare(passive=True,
                                                                                                channel=probe)):
            return None
        return super().declare(nowait=nowait, passive=passive, channel=channel)


def existing_first(exchange: Exchange) -> ExistingFirstExchange:
    """The same exchange (name, type, durability, delivery mode…), declared only where missing."""
    return ExistingFirstExchange(**{name: getattr(exchange, name) for name, _ in Exchange.attrs})


def install_nameko_declaration_shim() -> None:
    """Make nameko's RPC and event exchanges existing-first too. nameko declares them (and so needs configure on
    them) every time a service starts; it offers no switch for the RPC exchange (``DECLARE_EVENT_EXCHANGES``
    only turns event exchanges off entirely, which would break the demo's bare broker)."""
    import nameko.events
    import nameko.rpc
    import nameko.standalone.events

    if getattr(nameko.rpc.get_rpc_exchange, "_cchc_existing_first", False):
        return

    def wrap(make: Callable[..., Exchange]) -> Callable[..., Exchange]:
        def wrapped(*args: Any, **kwargs: Any) -> Exchange:
            return existing_first(make(*args, **kwargs))

        wrapped._cchc_existing_first = True  # type: ignore[attr-defined]
        return wrapped

    nameko.rpc.get_rpc_exchange = wrap(nameko.rpc.get_rpc_exchange)
    nameko.standalone.events.get_event_exchange = wrap(nameko.standalone.events.get_event_exchange)
    nameko.events.get_event_exchange = wrap(nameko.events.get_event_exchange)


install_nameko_declaration_shim()  # every service and tool imports this module before nameko sets anything up

onedoor_exchange = ExistingFirstExchange(ONEDOOR_EXCHANGE, type="topic", durable=True)
dead_letter_exchange = ExistingFirstExchange("cchc.dead-letter", type="topic", durable=True)

# Polling interval of kombu's in-process transport: its 1 s default makes the demo crawl.
MEMORY_POLLING_INTERVAL = 0.005


def is_memory_uri(uri: str) -> bool:
    return uri.startswith("memory://")


def transport_options(config: Mapping[str, Any]) -> dict[str, Any]:
    options = dict(config.get("TRANSPORT_OPTIONS") or DEFAULT_TRANSPORT_OPTIONS)
    if is_memory_uri(amqp_uri(config)):
        options["polling_interval"] = MEMORY_POLLING_INTERVAL
    return options


def amqp_uri(config: Mapping[str, Any]) -> str:
    return str(setting(config, "AMQP_URI"))


def connect(config: Mapping[str, Any], **kwargs: Any) -> Connection:
    """A kombu connection with the configured heartbeat and, when AMQP_SSL is set, TLS (as nameko's own)."""
    return Connection(
        amqp_uri(config),
        heartbeat=int(setting(config, "HEARTBEAT")),
        transport_options=transport_options(config),
        ssl=config.get("AMQP_SSL") or False,
        **kwargs,
    )


def dead_letter_queue(service: str) -> Queue:
    """One durable queue of dead letters per service, bound to ``<service>.#`` on the dead-letter exchange."""
    return Queue(
        f"cchc.dead-letter.{service}",
        exchange=dead_letter_exchange,
        routing_key=f"{service}.#",
        durable=True,
    )


# The dossiers service's inbound queue, bound to everything on onedoor.events: declared by every component
# that touches the bus, so events published before the service first starts wait in it instead of being
# dropped by an exchange with no queue bound.
INGEST_QUEUE = "dossiers.ingest"


def ingest_queue() -> Queue:
    return Queue(INGEST_QUEUE, exchange=onedoor_exchange, routing_key="#", durable=True)


def _declare_queue_if_missing(channel: Any, queue: Queue) -> None:
    if not _exists(channel, lambda probe: Queue(queue.name).queue_declare(passive=True, channel=probe)):
        queue(channel).declare()  # with its exchange (existing-first) and binding


def declare_topology(connection: Connection, service: str | None = None) -> None:
    """Make sure the exchanges every component relies on, the ingest queue and the service's dead-letter queue
    exist; what exists already is only checked (no configure permission needed, see the module's docstring)."""
    channel = connection.default_channel
    onedoor_exchange(channel).declare()
    dead_letter_exchange(channel).declare()
    if service in (None, "dossiers"):  # tools and the queue's owner
        _declare_queue_if_missing(channel, ingest_queue())
    if service:
        _declare_queue_if_missing(channel, dead_letter_queue(service))


def harden_rpc_responder() -> None:
    """Let nameko's RPC responder answer whatever content type a request arrived with.

    nameko encodes a reply with the request's own ``content_type`` and raises KeyError when it is missing (the
    memory transport never sets it) or is one kombu has no serializer for (kombu labels a bytes body sent without
    a type "application/data"): the exception escapes the worker and kills the whole container, so any caller
    allowed one method could stop a service with one message. Such replies are encoded as JSON instead.
    """
    import kombu.serialization
    from nameko import rpc

    if getattr(rpc.Responder, "_cchc_hardened", False):
        return
    original = rpc.Responder.send_response

    def send_response(self: Any, result: Any, exc_info: Any) -> Any:
        properties = self.message.properties
        if properties.get("content_type") not in kombu.serialization.registry.type_to_name:
            properties["content_type"] = "application/json"
        return original(self, result, exc_info)

    rpc.Responder.send_response = send_response
    rpc.Responder._cchc_hardened = True


def install_memory_transport_shims() -> None:
    """Let nameko RPC work, and work fast, on kombu's memory transport (zero-install mode only): replies need the
    hardened responder (the transport does not copy ``content_type`` into message properties)."""
    from kombu.transport import memory

    # nameko's standalone RPC proxy opens its reply connection without transport options, so the
    # class default (1 s between polls) would add a second to every call: lower the default itself.
    memory.Transport.polling_interval = MEMORY_POLLING_INTERVAL
    harden_rpc_responder()

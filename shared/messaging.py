"""Broker topology and connections, declared in one place for services, tools and tests.

A standalone publisher fails with 404 NOT_FOUND until some consumer declared the exchange, so every
component that touches the bus declares what it uses at start-up (declarations are idempotent).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kombu import Connection, Exchange, Queue
from nameko.constants import DEFAULT_TRANSPORT_OPTIONS

from shared.config import setting
from shared.events import ONEDOOR_EXCHANGE

onedoor_exchange = Exchange(ONEDOOR_EXCHANGE, type="topic", durable=True)
dead_letter_exchange = Exchange("cchc.dead-letter", type="topic", durable=True)

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


def declare_topology(connection: Connection, service: str | None = None) -> None:
    """Exchanges every component relies on, the ingest queue, plus the service's dead-letter queue."""
    channel = connection.default_channel
    onedoor_exchange(channel).declare()
    dead_letter_exchange(channel).declare()
    if service in (None, "dossiers"):  # tools and the queue's owner; other services' users may not configure it
        ingest_queue()(channel).declare()
    if service:
        dead_letter_queue(service)(channel).declare()


def install_memory_transport_shims() -> None:
    """Let nameko RPC work, and work fast, on kombu's memory transport (zero-install mode only).

    The memory transport does not copy ``content_type`` into message properties, and nameko's RPC
    responder reads it from there to encode the reply; default it to the message's own content type.
    """
    from kombu.transport import memory
    from nameko import rpc

    # nameko's standalone RPC proxy opens its reply connection without transport options, so the
    # class default (1 s between polls) would add a second to every call: lower the default itself.
    memory.Transport.polling_interval = MEMORY_POLLING_INTERVAL
    if getattr(rpc.Responder, "_cchc_shimmed", False):
        return
    original = rpc.Responder.send_response

    def send_response(self: Any, result: Any, exc_info: Any) -> Any:
        properties = self.message.properties
        if "content_type" not in properties:
            properties["content_type"] = self.message.content_type or "application/json"
        return original(self, result, exc_info)

    rpc.Responder.send_response = send_response
    rpc.Responder._cchc_shimmed = True

"""A request on the RPC exchange that nameko cannot decode (no content type, or one nobody registered) gets an
error reply and leaves the service running: before, the responder's KeyError on the missing property killed the
whole container — any caller granted one method could take a service down with one message."""

from __future__ import annotations

import contextlib
import socket
import uuid

import pytest
from kombu import Connection, Exchange, Producer, Queue

from cchc.runner import rpc_proxy, running
from services.dossiers.service import DossiersService
from shared.config import load_config
from tests.support import PG_URL, pg_schema_prefix, rabbit_vhost, wait_until

pytestmark = pytest.mark.integration


def drained(connection, received: list) -> list:
    with contextlib.suppress(TimeoutError, socket.timeout):
        connection.drain_events(timeout=0.5)
    return received


# kombu labels a bytes body without a content type "application/data", which nameko decodes to bytes and then
# answers with an error; a type nobody registered is refused before any worker runs (nothing to answer)
@pytest.mark.parametrize(("content_type", "answered"), [(None, True), ("text/x-nobody-knows", False)])
def test_an_undecodable_rpc_request_gets_an_error_reply_and_the_service_lives_on(content_type, answered):
    with rabbit_vhost() as uri, pg_schema_prefix() as schema:
        config = load_config(AMQP_URI=uri, DATABASE_URL=PG_URL, DATABASE_SCHEMA=schema)
        with running([DossiersService], config) as [container], Connection(uri) as connection:
            channel = connection.channel()
            name = f"test-replies-{uuid.uuid4().hex[:8]}"
            rpc_exchange = Exchange("nameko-rpc", type="topic", durable=True)
            replies = Queue(name, exchange=rpc_exchange, routing_key=name, exclusive=True, channel=channel)
            replies.declare()  # nameko replies on its RPC exchange with the reply_to as routing key
            received: list = []
            consumer = connection.Consumer(replies, callbacks=[lambda body, message: received.append(message)],
                                           accept=None)
            consumer.consume()
            properties = {"reply_to": replies.name, "correlation_id": "c1"}
            if content_type:
                properties["content_type"] = content_type
            Producer(channel).publish(b"\x00 not a nameko request", exchange=rpc_exchange,
                                      routing_key="dossiers.units", **properties)
            if answered:
                wait_until(lambda: drained(connection, received), timeout=30,
                           message="an error reply to the undecodable request")
                assert received[0].properties["correlation_id"] == "c1"
                assert received[0].decode()["error"]["exc_type"]
            with rpc_proxy(config) as rpc:
                assert rpc.dossiers.units()  # the container still serves
            assert container.started and not container._died.ready()

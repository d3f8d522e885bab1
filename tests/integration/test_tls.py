"""TLS to RabbitMQ and PostgreSQL, as configured in production (``AMQP_SSL``; ``sslmode`` in DATABASE_URL), over
real handshakes: a TLS-terminating proxy (tests/tls_proxy.py) in front of this machine's broker and database.
Every kind of connection the services open is checked — kombu (the consumers, nameko), the pika publisher, and
psycopg2 running a service's migrations — and so is the refusal of a server whose certificate is not trusted."""

from __future__ import annotations

import ssl
import uuid

import kombu
import kombu.exceptions
import pytest
import sqlalchemy as sa

from shared.config import load_config
from shared.db import make_engine, open_database
from shared.messaging import connect
from shared.publisher import PikaPublisher, PublishError
from tests.support import PG_URL
from tests.tls_proxy import TlsProxy, make_pki

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def stranger(tmp_path_factory):
    """Another CA: a client trusting only this one must refuse the proxies."""
    return make_pki(tmp_path_factory.mktemp("other-pki"), "someone else")


@pytest.fixture
def amqp_proxy(pki):
    proxy = TlsProxy(("127.0.0.1", 5672), pki)
    yield proxy
    proxy.close()


@pytest.fixture
def pg_proxy(pki):
    proxy = TlsProxy(("127.0.0.1", 5432), pki, postgres=True)
    yield proxy
    proxy.close()


def tls_config(proxy: TlsProxy, ca) -> dict:
    return load_config(AMQP_URI=f"pyamqp://guest:guest@localhost:{proxy.port}//",
                       AMQP_SSL={"ca_certs": str(ca), "cert_reqs": ssl.CERT_REQUIRED})


def test_consumers_and_the_publisher_talk_tls_to_rabbitmq(amqp_proxy, pki):
    config = tls_config(amqp_proxy, pki.ca)
    exchange = kombu.Exchange(f"cchc.tls-test.{uuid.uuid4().hex[:8]}", type="topic", durable=False,
                              auto_delete=False)
    queue = kombu.Queue(f"{exchange.name}.q", exchange, routing_key="#", durable=False, auto_delete=False)
    with connect(config) as connection:
        connection.ensure_connection(max_retries=1)
        assert connection.transport.client.connection.transport.sock.version().startswith("TLS")
        queue(connection.default_channel).declare()
        try:
            publisher = PikaPublisher(config["AMQP_URI"], exchange=exchange.name, tls=config["AMQP_SSL"])
            try:
                sent = publisher.publish_many(
                    [{"event_type": "dossier.received", "n": i, "text": "Hồ sơ đã tiếp nhận"} for i in range(3)])
            finally:
                publisher.close()
            received = []
            with kombu.Consumer(connection, [queue], accept=["json"],
                                callbacks=[lambda body, message: (received.append(body), message.ack())]):
                while len(received) < 3:
                    connection.drain_events(timeout=10)
        finally:
            queue(connection.default_channel).delete()
            exchange(connection.default_channel).delete()
    assert sent == 3 and [body["n"] for body in received] == [0, 1, 2]
    assert received[0]["text"] == "Hồ sơ đã tiếp nhận"
    assert amqp_proxy.handshakes >= 2  # kombu and pika each completed a handshake


def test_an_untrusted_broker_certificate_is_refused(amqp_proxy, stranger):
    config = tls_config(amqp_proxy, stranger.ca)
    with pytest.raises(kombu.exceptions.OperationalError, match="CERTIFICATE_VERIFY_FAILED"), \
            connect(config) as connection:
        connection.ensure_connection(max_retries=1)
    with pytest.raises(PublishError, match="CERTIFICATE_VERIFY_FAILED"):
        PikaPublisher(config["AMQP_URI"], tls=config["AMQP_SSL"], confirm_timeout=5)
    assert amqp_proxy.handshakes == 0 and amqp_proxy.refused >= 1


def test_a_service_migrates_and_queries_postgresql_over_verified_tls(pg_proxy, pki):
    url = (f"postgresql://postgres@localhost:{pg_proxy.port}/postgres"
           f"?sslmode=verify-full&sslrootcert={pki.ca}")
    schema = f"tls_{uuid.uuid4().hex[:8]}"
    database = open_database(load_config(DATABASE_URL=url, DATABASE_SCHEMA=schema), "dossiers")
    try:
        with database.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM dossier_events")).scalar_one() == 0
            # the server saw a plain connection from the proxy; the client's side is what TLS protects
            assert conn.connection.dbapi_connection.info.ssl_in_use
    finally:
        database.engine.dispose()
        cleanup = make_engine(PG_URL)
        with cleanup.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        cleanup.dispose()
    assert pg_proxy.handshakes >= 1


def test_an_untrusted_database_certificate_is_refused(pg_proxy, stranger):
    url = (f"postgresql://postgres@localhost:{pg_proxy.port}/postgres"
           f"?sslmode=verify-full&sslrootcert={stranger.ca}")
    engine = make_engine(url)
    try:
        with pytest.raises(sa.exc.OperationalError, match="certificate verify failed"), engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    finally:
        engine.dispose()
    assert pg_proxy.handshakes == 0

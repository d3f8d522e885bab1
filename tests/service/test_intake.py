"""The HTTP intake, with a real HTTP client (http.client) against the running service, on both backends; the
broker-down and partly-confirmed cases against the real RabbitMQ."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import subprocess
import uuid
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from kombu import Connection, Exchange, Queue
from nameko.web.server import WebServer
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from cchc.runner import rpc_proxy, running
from services.dossiers.service import DossiersService
from services.intake import openapi, vendors
from services.intake.service import IntakeService
from shared.clock import utcnow
from shared.config import load_config
from shared.db import open_database
from shared.events import ONEDOOR_EXCHANGE, make_envelope
from tests.support import PG_URL, free_port, pg_schema_prefix, rabbit_vhost, wait_until

TZ = dt.timezone(dt.timedelta(hours=7))
AT = dt.datetime(2026, 7, 6, 9, tzinfo=TZ)
SOURCE = "onedoor.phutho"


# Every answer of the running service is checked against the published OpenAPI document.
OPENAPI = yaml.safe_load(openapi.render())
REGISTRY = Registry().with_resource("urn:cchc:intake", Resource.from_contents(OPENAPI,
                                                                             default_specification=DRAFT202012))


def conforms(status: int, body: Any) -> None:
    responses = OPENAPI["paths"]["/v1/events"]["post"]["responses"]
    assert str(status) in responses, f"HTTP {status} is not in the OpenAPI document"
    ref = responses[str(status)]["content"]["application/json"]["schema"]["$ref"]
    Draft202012Validator({"$ref": f"urn:cchc:intake{ref}"}, registry=REGISTRY).validate(body)


def http_port(container: Any) -> int:
    server = next(e for e in container.subextensions if isinstance(e, WebServer))
    return int(server._sock.getsockname()[1])


def post(port: int, body: bytes | None, *, token: str | None = None, content_type: str = "application/json",
         headers: dict[str, str] | None = None, chunked: bool = False) -> tuple[int, dict[str, str], Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        sent = {"Content-Type": content_type, **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if chunked:
            connection.request("POST", "/v1/events", iter([body or b""]), sent, encode_chunked=True)
        else:
            connection.request("POST", "/v1/events", body, sent)
        response = connection.getresponse()
        text = response.read().decode()
        headers = {name.lower(): value for name, value in response.getheaders()}
        body = json.loads(text) if text else None
        conforms(response.status, body)
        return response.status, headers, body
    finally:
        connection.close()


def received(code: str, **extra: Any) -> dict[str, Any]:
    payload = {"dossier_code": code, "procedure_code": "1.000894.000.00.00.H44", "unit_code": "07900",
               "received_at": AT, **extra}
    return make_envelope("dossier.received", payload, occurred_at=AT, source=SOURCE)


def issue(config: dict[str, Any], vendor: str = "vnpt-igate", **options: Any) -> str:
    db = open_database(config, "intake")
    try:
        with db.transaction() as session:
            return vendors.add(session, vendor, "test", utcnow(), source=options.pop("source", SOURCE), **options)[1]
    finally:
        db.engine.dispose()


def intake_config(backend_config, **intake: Any) -> dict[str, Any]:
    settings = {"token_cache_seconds": 0, **intake}
    return backend_config(intake=settings, timeliness={"scan_interval_seconds": 3600})


def test_events_are_published_after_confirmation_and_each_gets_a_verdict(backend_config):
    config = intake_config(backend_config)
    token = issue(config)
    first, second = received("HTTP-1"), received("HTTP-2", channel="online")
    missing = received("HTTP-BAD")
    del missing["payload"]["received_at"]
    naive = received("HTTP-NAIVE")
    naive["occurred_at"] = "2026-07-06T09:00:00"
    other_vendor = {**received("HTTP-OTHER"), "source": "onedoor.elsewhere"}
    with running([IntakeService, DossiersService], config) as (intake, _):
        port = http_port(intake)
        status, _, body = post(port, json.dumps([first, missing, second, naive, first, other_vendor]).encode(),
                               token=token)
        assert status == 200
        assert (body["accepted"], body["refused"], body["not_taken"]) == (3, 3, 0)
        verdicts = [(r["index"], r["status"], r.get("field")) for r in body["results"]]
        assert verdicts == [(0, "accepted", None), (1, "refused", "payload.received_at"), (2, "accepted", None),
                            (3, "refused", "occurred_at"), (4, "accepted", None), (5, "refused", "source")]
        assert body["results"][0]["event_id"] == first["event_id"] == body["results"][4]["event_id"]
        assert "UTC offset" in body["results"][3]["reason"]
        # the same events again (a vendor retrying after a time-out): accepted, harmless
        status, _, again = post(port, "\n".join(json.dumps(e) for e in (first, second)).encode(), token=token,
                                content_type="application/x-ndjson")
        assert status == 200 and again["accepted"] == 2
        with rpc_proxy(config) as rpc:
            wait_until(lambda: rpc.dossiers.ingest_progress()["events_stored"] >= 2, timeout=30,
                       message="the accepted events stored by the dossiers service")
            progress = rpc.dossiers.ingest_progress()
            dossier = rpc.dossiers.get_dossier("HTTP-2")["dossier"]
    assert progress["events_stored"] == 2 and progress["events_refused"] == 0
    assert dossier["channel"] == "online" and dossier["received_at"] == "2026-07-06T09:00:00+07:00"


def test_requests_that_cannot_be_read_are_refused_whole_with_a_reason(backend_config):
    config = intake_config(backend_config, max_body_bytes=20_000, max_events=5)
    token = issue(config)
    event = json.dumps(received("R-1")).encode()
    with running([IntakeService], config) as (intake,):
        port = http_port(intake)
        cases = [
            (post(port, b"[" + event + b",", token=token), 400, "not valid UTF-8 JSON"),
            (post(port, event, token=token), 400, "JSON array"),
            (post(port, b"[]", token=token), 400, "no event"),
            (post(port, b"x" * 20_001, token=token), 413, "20000-byte limit"),
            (post(port, json.dumps([received(f"R-{i}") for i in range(6)]).encode(), token=token), 413, "at most 5"),
            (post(port, b"[" + event + b"]", token=token, content_type="text/plain"), 415, "application/json"),
            (post(port, b"[" + event + b"]", token=token, chunked=True), 411, "Content-Length"),
            (post(port, b"[" + event + b"]"), 401, "bearer token"),
            (post(port, b"[" + event + b"]", token="cchc_00000000_" + "A" * 43), 401, "bearer token"),
        ]
        ndjson = post(port, event + b"\n{broken\n" + json.dumps(received("R-2")).encode(), token=token,
                      content_type="application/x-ndjson")
    for (status, _, body), expected, reason in cases:
        assert status == expected, (expected, body)
        assert reason in body["reason"]
    assert cases[7][0][1]["www-authenticate"] == "Bearer"
    status, _, body = ndjson
    assert status == 200 and [r["status"] for r in body["results"]] == ["accepted", "refused", "accepted"]
    assert body["results"][1]["field"] == "_body" and "line 2" in body["results"][1]["reason"]


def test_rate_limit_per_vendor(backend_config):
    config = intake_config(backend_config, max_events=5, rate_limit={"events_per_second": 0.5, "burst_events": 5})
    fast, calm = issue(config, "fast-vendor"), issue(config, "calm-vendor")
    with running([IntakeService], config) as (intake,):
        port = http_port(intake)
        batch = json.dumps([received(f"L-{i}") for i in range(4)]).encode()
        assert post(port, batch, token=fast)[0] == 200
        status, headers, body = post(port, batch, token=fast)
        other = post(port, batch, token=calm)[0]
    assert status == 429 and int(headers["retry-after"]) >= 1 and "fast-vendor" in body["reason"]
    assert other == 200  # each vendor has its own bucket


def test_rotated_tokens_keep_working_for_the_grace_period_and_revoked_ones_stop(backend_config):
    config = intake_config(backend_config)
    old = issue(config)
    db = open_database(config, "intake")
    with running([IntakeService], config) as (intake,):
        port = http_port(intake)
        batch = json.dumps([received("T-1")]).encode()
        with db.transaction() as session:
            _, new = vendors.rotate(session, "vnpt-igate", "test", utcnow(), dt.timedelta(hours=1))
        assert post(port, batch, token=old)[0] == 200 and post(port, batch, token=new)[0] == 200
        with db.transaction() as session:
            vendors.rotate(session, "vnpt-igate", "test", utcnow(), dt.timedelta(0))
        assert post(port, batch, token=old)[0] == 401 and post(port, batch, token=new)[0] == 401
        with db.transaction() as session:
            _, newest = vendors.add(session, "vnpt-igate", "test", utcnow())
        assert post(port, batch, token=newest)[0] == 200
        with db.transaction() as session:
            assert vendors.revoke(session, "vnpt-igate", utcnow()) == 2  # the last rotation's and the newest
        assert post(port, batch, token=newest)[0] == 401
        with db.transaction() as session:
            listed = vendors.list_vendors(session, utcnow())
    db.engine.dispose()
    assert [len(v["tokens"]) for v in listed] == [4] and not any(t["live"] for t in listed[0]["tokens"])
    assert all(set(t) >= {"token_id", "created_at"} and "sha256" not in json.dumps(t, default=str)
               for t in listed[0]["tokens"])


def test_mtls_subject_from_the_ingress_is_trusted_only_when_enabled(backend_config):
    subject = "CN=lgsp.phutho.gov.vn,O=UBND tinh Phu Tho,C=VN"
    headers = {"ssl-client-verify": "SUCCESS", "ssl-client-subject-dn": subject}  # as ingress-nginx sets them
    batch = json.dumps([received("M-1")]).encode()
    for enabled, expected in ((False, 401), (True, 200)):
        config = intake_config(backend_config, mtls={"enabled": enabled})
        issue(config, "lgsp-phutho", client_subject=subject)
        with running([IntakeService], config) as (intake,):
            port = http_port(intake)
            assert post(port, batch, headers=headers)[0] == expected
            assert post(port, batch, headers={**headers, "ssl-client-verify": "FAILED:unknown ca"})[0] == 401


# -- the real broker: down, and partly confirming ----------------------------------------------------------------
@pytest.fixture
def rabbit_config():
    with rabbit_vhost() as uri, pg_schema_prefix() as schema:
        yield lambda **over: load_config(**{"AMQP_URI": uri, "DATABASE_URL": PG_URL, "DATABASE_SCHEMA": schema,
                                            **over})


@pytest.mark.integration
def test_broker_down_is_503_with_retry_after_and_nothing_taken(rabbit_config):
    config = rabbit_config(AMQP_URI=f"pyamqp://guest:guest@127.0.0.1:{free_port()}//",
                           intake={"token_cache_seconds": 0, "retry_after_seconds": 17})
    token = issue(config)
    with running([IntakeService], config) as (intake,):
        status, headers, body = post(http_port(intake), json.dumps([received("D-1"), received("D-2")]).encode(),
                                     token=token)
    assert status == 503 and headers["retry-after"] == "17"
    assert body["error"] == "broker_unavailable" and "connect" in body["reason"]
    assert [r["status"] for r in body["results"]] == ["not_taken", "not_taken"] and body["accepted"] == 0


@pytest.mark.integration
def test_a_broker_that_confirms_part_of_a_request_is_reported_event_by_event(rabbit_config):
    """The ingest queue holds at most 3 messages and refuses more (reject-publish): the broker nacks the rest. The
    caller learns exactly which events were taken; those are in the queue, the others are not."""
    config = rabbit_config(intake={"token_cache_seconds": 0})
    token = issue(config)
    with Connection(config["AMQP_URI"]) as connection:
        channel = connection.default_channel
        exchange = Exchange(ONEDOOR_EXCHANGE, type="topic", durable=True)
        queue = Queue("limited", exchange=exchange, routing_key="#", durable=True,
                      queue_arguments={"x-max-length": 3, "x-overflow": "reject-publish"})
        queue(channel).declare()
        events = [received(f"P-{i}") for i in range(5)]
        with running([IntakeService], config) as (intake,):
            status, headers, body = post(http_port(intake), json.dumps(events).encode(), token=token)
        stored = []
        while (message := queue(channel).get(no_ack=True)) is not None:
            stored.append(json.loads(message.body)["event_id"])
    assert status == 503 and "retry-after" in headers
    taken = [r["event_id"] for r in body["results"] if r["status"] == "accepted"]
    assert body["accepted"] == 3 and body["not_taken"] == 2
    assert sorted(taken) == sorted(stored)  # what the answer calls accepted is exactly what the broker holds


@pytest.mark.integration
def test_a_vhost_deleted_under_a_running_intake_is_503_then_recovered(rabbit_config):
    """The connection the intake holds goes away mid-life (as when RabbitMQ restarts): the next request is answered
    503, and once the broker is back a request succeeds without restarting the intake."""
    config = rabbit_config(intake={"token_cache_seconds": 0, "publishers": 1})
    token = issue(config)
    vhost = config["AMQP_URI"].rsplit("/", 1)[1]
    with running([IntakeService], config) as (intake,):
        port = http_port(intake)
        with Connection(config["AMQP_URI"]) as connection:
            Exchange(ONEDOOR_EXCHANGE, type="topic", durable=True)(connection.default_channel).declare()
            Queue("sink", exchange=Exchange(ONEDOOR_EXCHANGE, type="topic", durable=True), routing_key="#",
                  durable=True)(connection.default_channel).declare()
        assert post(port, json.dumps([received("V-1")]).encode(), token=token)[0] == 200
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=True, capture_output=True)
        status, _, body = post(port, json.dumps([received("V-2")]).encode(), token=token)
        assert status == 503 and body["results"][0]["status"] == "not_taken"
        subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, capture_output=True)
        subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"], check=True,
                       capture_output=True)
        with Connection(config["AMQP_URI"]) as connection:
            Exchange(ONEDOOR_EXCHANGE, type="topic", durable=True)(connection.default_channel).declare()
            Queue("sink", exchange=Exchange(ONEDOOR_EXCHANGE, type="topic", durable=True), routing_key="#",
                  durable=True)(connection.default_channel).declare()
        retried = wait_until(lambda: (lambda r: r if r[0] == 200 else None)(
            post(port, json.dumps([received("V-2")]).encode(), token=token)), timeout=30,
            message="the intake publishing again after the broker came back")
    assert retried[2]["accepted"] == 1


def test_unique_event_ids_are_strings_in_the_answer(backend_config):
    """Events without a valid envelope still have their index; a non-string event_id is reported as absent."""
    config = intake_config(backend_config)
    token = issue(config)
    with running([IntakeService], config) as (intake,):
        status, _, body = post(http_port(intake), json.dumps([{"event_id": 7}, "text", received("U-1")]).encode(),
                               token=token)
    assert status == 200
    assert [(r["index"], r["status"], r["event_id"]) for r in body["results"]][:2] == [
        (0, "refused", None), (1, "refused", None)]
    assert body["results"][2]["event_id"] and uuid.UUID(body["results"][2]["event_id"])

"""`cchc dlq replay` trusts no header: a dead letter goes back only to an exchange the service's own queue is
bound to; one whose origin headers point elsewhere (forged by anyone who may publish dead letters) stays parked
and is reported (issue 12, medium: "dead-letter replay trusts headers")."""

from __future__ import annotations

from kombu import Exchange, Producer, Queue

from cchc.cli import main
from shared import deadletter
from shared.messaging import connect, dead_letter_exchange, declare_topology
from tests.support import wait_until


def park(connection, service: str, exchange: str, routing_key: str, body: bytes) -> None:
    Producer(connection.default_channel).publish(
        body, exchange=dead_letter_exchange, routing_key=f"{service}.{routing_key}", delivery_mode=2,
        content_type="application/json", content_encoding="binary",
        headers={deadletter.REASON: "test", deadletter.FIELD: "_body", deadletter.KIND: "rejected",
                 deadletter.ORIGINAL_EXCHANGE: exchange, deadletter.ORIGINAL_ROUTING_KEY: routing_key},
        declare=[deadletter.dead_letter_queue(service)])


def test_replay_sends_back_only_to_the_services_own_ingest_exchange(backend_config, tmp_path, capsys):
    config = backend_config()
    target = Exchange("scoring.events", "topic", durable=True)
    with connect(config) as connection:
        declare_topology(connection, "dossiers")
        channel = connection.default_channel
        probe = Queue("probe-forged", exchange=target, routing_key="#", durable=False, channel=channel)
        probe.declare()
        park(connection, "dossiers", "onedoor.events", "dossier.resolved", b'{"ok": 1}')
        park(connection, "dossiers", "scoring.events", "ranking_updated", b'{"forged": 1}')
        park(connection, "dossiers", "nameko-rpc", "scoring.set_scores", b'{"forged": 2}')
        wait_until(lambda: deadletter.count(connection, "dossiers") == 3, timeout=10, message="3 parked")
    cfg = tmp_path / "cli.yaml"
    cfg.write_text(f"AMQP_URI: {config['AMQP_URI']}\n")
    assert main(["--config", str(cfg), "dlq", "replay"]) == 1  # something was kept: the exit status says so
    out = capsys.readouterr().out
    assert "replayed 1 message(s)" in out and "kept 2 message(s) parked" in out
    with connect(config) as connection:
        channel = connection.default_channel
        assert deadletter.count(connection, "dossiers") == 2
        bodies = sorted(p.body for p in deadletter.browse(connection, "dossiers"))
        assert bodies == [b'{"forged": 1}', b'{"forged": 2}']
        assert Queue("probe-forged", channel=channel).get(no_ack=True) is None  # nothing reached the forged target
        ingest = Queue("dossiers.ingest", durable=True, no_declare=True, channel=channel)
        replayed = wait_until(lambda: ingest.get(no_ack=True), timeout=10, message="the honest letter re-published")
        assert replayed.body == b'{"ok": 1}'


def test_replaying_a_refusal_that_was_not_fixed_refuses_it_again_visibly(backend_config):
    """The refused receipt comes back through `cchc dlq replay` unchanged: it is dead-lettered again (the queue's
    count is back to one, the reason says so), not swallowed as a duplicate of the stored event."""
    import datetime as dt

    from cchc.runner import running
    from services.dossiers.service import DossiersService
    from shared.events import make_envelope
    from shared.publisher import publisher_for

    at = dt.datetime(2026, 7, 6, 9, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    receipt = make_envelope("dossier.received", {"dossier_code": "NO-UNIT", "procedure_code": "1.000894.H44",
                                                 "unit_code": "99999", "received_at": at}, occurred_at=at)
    config = backend_config(timeliness={"scan_interval_seconds": 3600}, outbox={"relay_interval_seconds": 0.1})
    with running([DossiersService], config):
        publisher = publisher_for(config)
        publisher.publish_many([receipt])
        publisher.close()
        with connect(config) as connection:
            first = wait_until(lambda: deadletter.browse(connection, "dossiers"), timeout=30,
                               message="the refused receipt dead-lettered")
            assert deadletter.replay(connection, "dossiers") == 1
            again = wait_until(lambda: deadletter.browse(connection, "dossiers"), timeout=30,
                               message="the replayed receipt refused again")
            assert deadletter.count(connection, "dossiers") == 1
    assert first[0].field == again[0].field == "payload.unit_code"
    assert "still refused after a replay" in again[0].reason
    assert again[0].body == first[0].body

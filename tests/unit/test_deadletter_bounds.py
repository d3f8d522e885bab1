"""Every vendor-controlled string that reaches AMQP framing in a dead letter is bounded (issue 12, high 1)."""

from __future__ import annotations

from shared import deadletter
from shared.deadletter import DeadLetter, dead_letter_routing_key, publish_dead_letters


class FakeProducer:
    def __init__(self) -> None:
        self.published: list[dict] = []

    def publish(self, body: bytes, **kwargs) -> None:
        self.published.append(kwargs)


def test_dead_letter_keys_and_headers_fit_in_amqp_frames(monkeypatch) -> None:
    monkeypatch.setattr(deadletter, "dead_letter_queue", lambda service: None)
    key = "dossier." + "ệ" * 82  # 254 bytes of UTF-8
    letter = DeadLetter(body=b"{}", exchange="onedoor.events", routing_key=key, reason="r" * 50_000,
                        field="payload." + "k" * 100_000, kind="invalid")
    producer = FakeProducer()
    publish_dead_letters(producer, "dossiers", [letter])  # type: ignore[arg-type]
    sent = producer.published[0]
    assert len(sent["routing_key"].encode()) <= 255 and sent["routing_key"].startswith("dossiers.overlong.")
    headers = sent["headers"]
    assert headers[deadletter.ORIGINAL_ROUTING_KEY] == key
    assert len(headers[deadletter.REASON]) <= 1000 and len(headers[deadletter.FIELD]) <= 200
    assert dead_letter_routing_key("dossiers", "dossier.received") == "dossiers.dossier.received"
    assert dead_letter_routing_key("dossiers", "") == "dossiers.unrouted"
    assert dead_letter_routing_key("dossiers", key) == dead_letter_routing_key("dossiers", key)  # stable

"""The notification channels against real servers, without a bus: an SMTP server speaking implicit TLS or
STARTTLS with a certificate made by openssl for the test (aiosmtpd), and HTTP servers that answer, redirect or
receive (tests/servers.py). What the servers received is what is checked."""

from __future__ import annotations

import datetime as dt

import pytest

from services.notifications.channels import DeliveryError, Outgoing
from services.notifications.channels.sms_gateway import SmsGateway
from services.notifications.channels.smtp import SmtpTransport
from services.notifications.channels.webhook import WebhookTransport
from shared.clock import pinned
from tests.servers import Login, SmtpSink, http_recorder
from tests.tls_proxy import make_pki

APPLICANT = "an.nguyen@example.vn"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """The province's private CA and the mail server's certificate it signed (localhost / 127.0.0.1)."""
    return make_pki(tmp_path_factory.mktemp("pki"), "So TTTT Phu Tho test CA")


@pytest.fixture(scope="module")
def stranger(tmp_path_factory):
    """Another CA: a certificate it signed must not be trusted for the province's mail server."""
    return make_pki(tmp_path_factory.mktemp("stranger"), "someone else's CA")


def smtp(port: int, **settings) -> SmtpTransport:
    return SmtpTransport({"host": "127.0.0.1", "port": port, "username": "", "password": "", "starttls": False,
                          "ssl": False, "ca_file": "", "timeout_seconds": 5, **settings},
                         "CCHC Phú Thọ <cchc@phutho.gov.vn>")


def apology(notification_id: int = 7) -> Outgoing:
    return Outgoing(id=notification_id, kind="apology", channel="email", recipient=APPLICANT,
                    subject="Thư xin lỗi", body="Kính gửi Ông/Bà Nguyễn Văn An", personal=("Nguyễn Văn An",))


# -- SMTP over TLS --------------------------------------------------------------------------------------------
def test_implicit_tls_delivers_only_to_a_server_whose_certificate_is_verified(pki, stranger):
    sink = SmtpSink(pki=pki, implicit_tls=True).start()
    try:
        with pytest.raises(DeliveryError, match="certificate") as untrusted:
            smtp(sink.port, ssl=True).send(apology())  # the system's CAs never signed the test certificate
        with pytest.raises(DeliveryError, match="certificate"):
            smtp(sink.port, ssl=True, ca_file=str(stranger.ca)).send(apology())
        assert sink.messages == []
        note = smtp(sink.port, ssl=True, ca_file=str(pki.ca)).send(apology())  # the province's private CA
    finally:
        sink.stop()
    assert not untrusted.value.permanent  # retried by the outbox: trusting the right CA then delivers it
    assert APPLICANT not in untrusted.value.reason
    assert note == f"accepted by 127.0.0.1:{sink.port}"
    assert [r.rcpt_tos for r in sink.messages] == [[APPLICANT]]


def test_starttls_verifies_the_certificate_with_the_private_ca_and_logs_in_over_tls_only(pki, stranger):
    sink = SmtpSink(pki=pki, accounts={"cchc": "mat-khau"}).start()
    login = {"starttls": True, "username": "cchc", "password": "mat-khau"}
    try:
        with pytest.raises(DeliveryError, match="certificate"):
            smtp(sink.port, **login, ca_file=str(stranger.ca)).send(apology())
        assert sink.logins == []  # the password never went to the untrusted server
        smtp(sink.port, **login, ca_file=str(pki.ca)).send(apology())
    finally:
        sink.stop()
    assert sink.logins == [Login("cchc", over_tls=True)]
    assert [r.rcpt_tos for r in sink.messages] == [[APPLICANT]]


def test_credentials_are_refused_over_an_unencrypted_connection_before_any_auth():
    sink = SmtpSink(accounts={"cchc": "mat-khau"}).start()  # advertises AUTH in clear, as a careless server does
    try:
        with pytest.raises(DeliveryError, match="unencrypted") as refused:
            smtp(sink.port, username="cchc", password="mat-khau").send(apology())
    finally:
        sink.stop()
    assert refused.value.permanent  # a configuration error: retrying would not encrypt anything
    assert sink.logins == [] and sink.messages == []


# -- HTTP: no redirects -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("channel", ["sms", "webhook"])
def test_a_redirect_is_a_retried_failure_and_nothing_reaches_its_target(channel):
    with http_recorder() as gateway, http_recorder() as elsewhere:
        gateway.redirect["/send"] = f"{elsewhere.url}/collect"
        if channel == "sms":
            transport = SmsGateway(f"{gateway.url}/send", "sms-token", "CCHC", 5)
            message = Outgoing(id=3, kind="apology", channel="sms", recipient="0912345678", subject="",
                               body="Xin lỗi Ông/Bà về hồ sơ H44-1")
        else:
            transport = WebhookTransport([{"name": "ioc", "url": f"{gateway.url}/send", "secret": "s"}], 5)
            message = Outgoing(id=3, kind="late_alert", channel="webhook", recipient="ioc", subject="late_alert",
                               body='{"kind": "late_alert"}')
        with pytest.raises(DeliveryError, match="HTTP 302") as redirected:
            transport.send(message)
    assert not redirected.value.permanent
    assert [r.method for r in gateway.on("/send")] == ["POST"]
    assert elsewhere.requests == []  # neither the body nor the Authorization header went anywhere else


# -- webhook signatures -----------------------------------------------------------------------------------------
def test_a_signed_webhook_verifies_and_a_replayed_old_or_forged_one_is_rejected():
    from services.notifications.webhook_signature import (
        DELIVERY_HEADER,
        SIGNATURE_HEADER,
        TIMESTAMP_HEADER,
        WebhookRejected,
        verify,
    )

    secret = "whsec-2026-phutho"
    body = '{"kind": "late_alert", "dossier_code": "H44-1"}'
    sent_at = dt.datetime(2026, 7, 14, 1, 0, 0, tzinfo=dt.UTC)
    with http_recorder() as receiver:
        hook = WebhookTransport([{"name": "ioc", "url": f"{receiver.url}/hook", "secret": secret}], 5)
        with pinned(sent_at):  # the services' clock stamps the delivery
            hook.send(Outgoing(id=42, kind="late_alert", channel="webhook", recipient="ioc", subject="late_alert",
                               body=body))
    [request] = receiver.on("/hook")
    headers = dict(request.headers.items())  # as a receiver's framework hands them over (any letter case)
    t = sent_at.timestamp()
    assert request.body == body.encode()
    assert request.headers[TIMESTAMP_HEADER] == str(int(t)) and request.headers[DELIVERY_HEADER] == "42"

    assert verify(secret, headers, request.body, now=t + 5) == "42"
    with pytest.raises(WebhookRejected, match="older than 300 s"):  # the same request replayed later
        verify(secret, headers, request.body, now=t + 301)
    with pytest.raises(WebhookRejected, match="already processed"):  # replayed within the window
        verify(secret, headers, request.body, now=t + 5, seen={"42"})
    with pytest.raises(WebhookRejected, match="in the future"):
        verify(secret, headers, request.body, now=t - 301)
    forged = {  # the replayer refreshes the timestamp, or claims another delivery, or changes the body
        "timestamp": ({**headers, TIMESTAMP_HEADER: str(int(t) + 200)}, request.body),
        "delivery": ({**headers, DELIVERY_HEADER: "43"}, request.body),
        "body": (headers, request.body.replace(b"H44-1", b"H44-2")),
    }
    for forged_headers, forged_body in forged.values():
        with pytest.raises(WebhookRejected, match="signature does not match"):
            verify(secret, forged_headers, forged_body, now=t + 210)
    with pytest.raises(WebhookRejected, match="signature does not match"):
        verify("another secret", headers, request.body, now=t + 5)
    unsigned = {k: v for k, v in headers.items() if k.lower() != SIGNATURE_HEADER.lower()}
    with pytest.raises(WebhookRejected, match=f"{SIGNATURE_HEADER} missing"):
        verify(secret, unsigned, request.body, now=t + 5)

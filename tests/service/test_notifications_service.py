"""The notifications service over a bus, on both backends, against a real SMTP server (aiosmtpd) and a real HTTP
server (SMS gateway and webhooks): what they received is what is checked.

Late dossiers come from the dossiers service itself (one-door events that make a dossier overdue); duplicate
and ranking events are dispatched as the other services would dispatch them."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest
from nameko.standalone.events import event_dispatcher
from prometheus_client import REGISTRY, generate_latest

from cchc.runner import rpc_proxy, running
from services.dossiers.service import DossiersService
from services.notifications.service import NotificationsService
from services.notifications.webhook_signature import verify
from shared.calendar import LOCAL_TZ, WorkingCalendar
from shared.clock import pinned, utcnow
from shared.events import make_envelope
from shared.publisher import publisher_for
from tests.servers import SmtpSink, free_port, http_recorder
from tests.support import PINNED_TIMES, wait_until

TZ = dt.timezone(dt.timedelta(hours=7))


@pytest.fixture(autouse=True)
def pinned_clock():
    """The services and these tests read one pinned clock: a new return date computed from "today" can never
    straddle midnight between the service's detection and the test's expectation."""
    with pinned(PINNED_TIMES["lunch-break"]):
        yield
COMMUNE = "07900"  # Phường Việt Trì
PROCEDURE = "1.000894.H44"  # Đăng ký kết hôn: 5 working days
LEAD_EMAIL = "lanhdao.motcua@vietri.phutho.gov.vn"
LEAD_PHONE = "0987654321"
SECRET = "webhook-secret-of-the-ioc"
CITIZENS = {
    "ONLINE-EMAIL": {"name": "Nguyễn Văn An", "kind": "citizen", "email": "an.nguyen@example.vn"},
    "ONLINE-PHONE": {"name": "Trần Thị Bình", "kind": "citizen", "phone": "0912345678"},
    "IN-PERSON": {"name": "Lê Văn Cường", "kind": "citizen", "address": "Số 5 phố Hòa Phong, Phường Việt Trì"},
}
PERSONAL = ["Nguyễn Văn An", "an.nguyen@example.vn", "Trần Thị Bình", "0912345678", "Lê Văn Cường", "Hòa Phong"]
CHANNELS = {"ONLINE-EMAIL": "online", "ONLINE-PHONE": "online", "IN-PERSON": "in_person"}


def make_config(backend_config, tmp_path: Path, smtp_port: int, http_url: str, **notifications):
    settings = {
        "delivery_interval_seconds": 0.1,
        "schedule_interval_seconds": 0.1,
        "retry_base_seconds": 0.2,
        "retry_max_seconds": 1.0,
        "retry_jitter": 0,
        "max_attempts": 3,
        "email": {"transport": "smtp", "sender": "CCHC Phú Thọ <cchc@phutho.gov.vn>",  # a plain relay, no login
                  "smtp": {"host": "127.0.0.1", "port": smtp_port, "starttls": False, "timeout_seconds": 5}},
        "sms": {"transport": "http", "url": f"{http_url}/sms", "token": "sms-token", "timeout_seconds": 5},
        "webhooks": [{"name": "ioc", "url": f"{http_url}/hook", "secret": SECRET}],
        "letters": {"folder": str(tmp_path / "letters")},
        "leads": {COMMUNE: {"email": LEAD_EMAIL, "phone": LEAD_PHONE}},
        "lead_email_pattern": "",
        **notifications,
    }
    return backend_config(
        timeliness={"scan_interval_seconds": 0.2, "due_soon_working_days": 10, "backfill_quiet_seconds": 0.5},
        outbox={"relay_interval_seconds": 0.1},
        notifications=settings,
    )


def received(code: str, at: dt.datetime, **extra) -> dict:
    payload = {"dossier_code": code, "procedure_code": PROCEDURE, "unit_code": COMMUNE, "received_at": at, **extra}
    return make_envelope("dossier.received", payload, occurred_at=at, source="test")


def overdue(code: str, applicant: dict, channel: str) -> dict:
    return received(code, utcnow().astimezone(TZ) - dt.timedelta(days=30), channel=channel, applicant=applicant)


def publish(config, messages) -> None:
    publisher = publisher_for(config)
    try:
        publisher.publish_many(messages)
    finally:
        publisher.close()


def processed_events() -> float:
    labels = {"service": "notifications", "outcome": "processed"}
    return REGISTRY.get_sample_value("cchc_events_consumed_total", labels) or 0.0


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def find(rpc, **filters) -> list[dict]:
    return rpc.notifications.list_notifications(**filters)


def settled(rpc) -> bool:
    """Nothing waiting: every notification sent or failed."""
    return not find(rpc, status="pending") and not find(rpc, status="sending")


def expected_new_due(received_at: dt.datetime) -> dt.date:
    """The documented proposal: max(due, detection day) + the dossier's own 5 working days."""
    calendar = WorkingCalendar()
    due = calendar.add_working_days(received_at.astimezone(LOCAL_TZ).date(), 5)
    return calendar.add_working_days(max(due, utcnow().astimezone(LOCAL_TZ).date()), 5)


def test_late_dossiers_produce_apologies_alerts_and_digests_once(backend_config, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="services")
    caplog.set_level(logging.DEBUG, logger="cchc")
    caplog.set_level(logging.DEBUG, logger="shared")
    smtp = SmtpSink().start()
    try:
        with http_recorder() as http:
            config = make_config(backend_config, tmp_path, smtp.port, http.url)
            with running([DossiersService, NotificationsService], config), rpc_proxy(config) as rpc:
                publish(config, [overdue(code, CITIZENS[code], CHANNELS[code]) for code in CITIZENS]
                        + [received("SOON-1", utcnow().astimezone(TZ))])
                # apology: 1 email, 1 SMS, 1 letter; lead: 3 alert emails + 3 alert SMS; 3 webhooks
                wait_until(lambda: len(smtp.messages) >= 4 and len(http.on("/sms")) >= 4
                           and len(http.on("/hook")) >= 3 and settled(rpc), timeout=40, message="first deliveries")

                # the same dossier_late delivered twice (as a redelivery would): one letter, one message each
                dispatch = event_dispatcher(config)
                late = {"dossier_code": "DUP-1", "unit_code": COMMUNE, "unit_name": "Phường Việt Trì",
                        "procedure_code": PROCEDURE, "procedure_name": "Đăng ký kết hôn", "field": "Hộ tịch",
                        "channel": "online", "received_at": "2026-07-06T09:15:00+07:00",
                        "due_at": "2026-07-13T09:15:00+07:00", "new_due_at": "2026-07-20T09:15:00+07:00",
                        "applicant": {"name": "Phạm Văn Dũng", "email": "dung.pham@example.vn"},
                        "detected_at": "2026-07-14T07:30:00+07:00"}
                handled = processed_events()
                dispatch("dossiers", "dossier_late", late)
                dispatch("dossiers", "dossier_late", late)
                wait_until(lambda: processed_events() >= handled + 2,
                           timeout=20, message="both copies handled")
                wait_until(lambda: smtp.to("dung.pham@example.vn") and settled(rpc), timeout=20, message="DUP-1")

                digests: list[int] = []  # one overdue and one due-soon digest for 07900 (SOON-1 may come later)
                wait_until(lambda: digests.append(rpc.notifications.flush_digests()) or sum(digests) >= 2,
                           timeout=20, message="two digests")
                wait_until(lambda: len(smtp.to(LEAD_EMAIL)) >= 6 and settled(rpc), timeout=20, message="digests")
                listing = find(rpc, limit=100)
                detail = rpc.notifications.get_notification(find(rpc, kind="apology", channel="email",
                                                                 dossier_code="ONLINE-EMAIL")[0]["id"])
                metrics_text = generate_latest().decode()
    finally:
        smtp.stop()

    # the online applicant with an email: the apology, the letter attached as PDF with every form field
    [mail] = smtp.to("an.nguyen@example.vn")
    assert "ONLINE-EMAIL" in mail["Subject"] and "xin lỗi" in mail["Subject"]
    body = mail.get_body(("plain",)).get_content()
    new_due = expected_new_due(utcnow().astimezone(TZ) - dt.timedelta(days=30))
    assert "Kính gửi: Ông/Bà Nguyễn Văn An" in body and f"{new_due:%d/%m/%Y}" in body
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    letter = pdf_text(attachment.get_content())
    # letters are numbered per unit and year in the order the late dossiers are handled
    assert re.search(r"Số: 0[1-9]/XL-07900", letter), letter[:200]
    for text in ("VĂN BẢN XIN LỖI", "Nguyễn Văn An", "ONLINE-EMAIL", "Ngày tiếp nhận",
                 "Hộ tịch", "Ngày hẹn trả kết quả", "Lý do", "xin lỗi", f"ngày {new_due:%d} tháng {new_due:%m}",
                 "UBND PHƯỜNG VIỆT TRÌ"):
        assert text in letter, text

    # the online applicant with only a phone: an SMS through the gateway, number normalised, token sent
    apology_sms = [r for r in http.on("/sms") if r.json()["to"] == "84912345678"]
    assert len(apology_sms) == 1
    assert "ONLINE-PHONE" in apology_sms[0].json()["text"] and f"{new_due:%d/%m/%Y}" in apology_sms[0].json()["text"]
    assert apology_sms[0].headers["Authorization"] == "Bearer sms-token"

    # the in-person applicant: a printable letter queued at the unit
    printed = pdf_text((tmp_path / "letters" / COMMUNE / "xin-loi-IN-PERSON.pdf").read_bytes())
    assert "Lê Văn Cường" in printed and "Hòa Phong" in printed and "IN-PERSON" in printed

    # the lead: an alert per late dossier by email and SMS, then the two digests
    lead_mail = smtp.to(LEAD_EMAIL)
    alerts = [m for m in lead_mail if m["Subject"].startswith("[Cảnh báo]")]
    assert sorted(code for m in alerts for code in [*CITIZENS, "DUP-1"] if code in m["Subject"]) == sorted(
        [*CITIZENS, "DUP-1"])
    assert len([r for r in http.on("/sms") if r.json()["to"] == "84987654321"]) == 4
    digests = {m["Subject"]: m.get_body(("plain",)).get_content() for m in lead_mail if "[Tổng hợp]" in m["Subject"]}
    overdue_digest = next(text for subject, text in digests.items() if "quá hạn" in subject)
    due_soon_digest = next(text for subject, text in digests.items() if "sắp đến hạn" in subject)
    assert all(code in overdue_digest for code in [*CITIZENS, "DUP-1"])
    assert "SOON-1" in due_soon_digest and "SOON-1" not in overdue_digest

    # webhooks: signed with HMAC-SHA256 over timestamp, delivery id and body, and never carrying personal data
    hooks = http.on("/hook")
    at = utcnow().timestamp()  # the receiver's clock is the pinned one too
    assert hooks and all(verify(SECRET, dict(r.headers.items()), r.body, now=at) == r.headers["X-CCHC-Delivery"]
                         for r in hooks)
    assert {r.json()["kind"] for r in hooks} == {"late_alert", "overdue_digest", "due_soon_digest"}

    # the duplicate event: one letter, one message per recipient and channel
    assert len(smtp.to("dung.pham@example.vn")) == 1
    assert len([n for n in listing if n["dossier_code"] == "DUP-1"]) == 4  # apology, alert email + SMS, webhook
    assert len([m for m in alerts if "DUP-1" in m["Subject"]]) == 1
    dup_letter = pdf_text(next(smtp.to("dung.pham@example.vn")[0].iter_attachments()).get_content())
    assert "ngày 20 tháng 07 năm 2026" in dup_letter  # the one-door's new return date wins

    # personal data: never in logs, metrics, webhook bodies or listings (masked there)
    logs = caplog.text + metrics_text + "".join(r.body.decode() for r in hooks) + json.dumps(listing)
    assert [value for value in PERSONAL if value in logs] == []
    assert 'cchc_notifications_sent_total{channel="email",service="notifications"}' in metrics_text
    assert detail["recipient"] == "a***@e***.vn" and "Nguyễn Văn An" not in detail["body"]
    assert detail["history"][0]["outcome"] == "sent"


def test_down_server_is_retried_and_a_permanent_failure_is_kept_then_replayed(backend_config, tmp_path):
    smtp = SmtpSink(port=free_port())  # not started yet: the SMTP server is down
    with http_recorder() as http:
        http.status["/sms"] = 500  # the SMS gateway fails on every request
        config = make_config(backend_config, tmp_path, smtp.port, http.url,
                             leads={COMMUNE: {"email": LEAD_EMAIL}}, webhooks=[], max_attempts=5)
        try:
            with running([DossiersService, NotificationsService], config), rpc_proxy(config) as rpc:
                publish(config, [overdue(code, CITIZENS[code], "online") for code in ("ONLINE-EMAIL", "ONLINE-PHONE")])

                [email] = wait_until(lambda: [n for n in find(rpc, kind="apology", channel="email")
                                              if n["attempts"] >= 2 and n["status"] == "pending"],
                                     timeout=30, message="the email retried while the server is down")
                assert "unavailable" in email["last_error"]
                smtp.start()
                wait_until(lambda: rpc.notifications.get_notification(email["id"])["status"] == "sent", timeout=20,
                           message="the email delivered once the server is up")

                [sms] = wait_until(lambda: find(rpc, kind="apology", channel="sms", status="failed"), timeout=30,
                                   message="the SMS failed for good after max_attempts")
                failed = rpc.notifications.get_notification(sms["id"])
                assert failed["attempts"] == 5 and "gave up after 5 attempts" in failed["last_error"]
                assert "HTTP 500" in failed["last_error"]
                assert [h["outcome"] for h in failed["history"]] == ["retry"] * 4 + ["failed"]
                assert len(http.on("/sms")) == 5

                http.status["/sms"] = 200  # the gateway is fixed: the failed notification is replayed
                rpc.notifications.resend(sms["id"])
                wait_until(lambda: rpc.notifications.get_notification(sms["id"])["status"] == "sent", timeout=20,
                           message="the replayed SMS delivered")
        finally:
            smtp.stop()
    assert len(smtp.to("an.nguyen@example.vn")) == 1
    assert len(http.on("/sms")) == 6 and http.on("/sms")[-1].json()["to"] == "84912345678"


def test_a_bad_recipient_fails_that_notification_only(backend_config, tmp_path):
    refused = "khong.ton.tai@example.vn"
    smtp = SmtpSink(refuse=(refused,)).start()
    try:
        with http_recorder() as http:
            config = make_config(backend_config, tmp_path, smtp.port, http.url,
                                 leads={COMMUNE: {"email": "lanh dao@@vietri"}}, webhooks=[])
            with running([DossiersService, NotificationsService], config), rpc_proxy(config) as rpc:
                publish(config, [
                    overdue("GOOD-1", {"name": "Nguyễn Văn An", "email": "an.nguyen@example.vn"}, "online"),
                    overdue("REFUSED-1", {"name": "Đỗ Thị Em", "email": refused}, "online"),
                ])
                wait_until(lambda: len(find(rpc, limit=100)) == 4 and settled(rpc), timeout=30,
                           message="apologies and alerts settled")
                rows = {(n["kind"], n["dossier_code"]): n for n in find(rpc, limit=100)}
    finally:
        smtp.stop()
    assert rows[("apology", "GOOD-1")]["status"] == "sent"
    refused_row = rows[("apology", "REFUSED-1")]
    assert refused_row["status"] == "failed" and refused_row["attempts"] == 1
    assert refused_row["last_error"].startswith("recipient refused by the SMTP server: 550")
    assert refused not in refused_row["last_error"]
    for code in ("GOOD-1", "REFUSED-1"):
        alert = rows[("late_alert", code)]
        assert alert["status"] == "failed" and alert["last_error"] == "recipient: not a valid email address"
    assert [m["To"] for m in (r.message for r in smtp.messages)] == ["an.nguyen@example.vn"]
    assert smtp.refused == [refused]


def test_window_reminders_and_the_latest_ranking_are_announced(backend_config, tmp_path):
    smtp = SmtpSink().start()
    try:
        with http_recorder() as http:
            config = make_config(
                backend_config, tmp_path, smtp.port, http.url, lead_email_pattern="motcua.{unit_code}@phutho.gov.vn",
                ranking_debounce_seconds=1.0, announcements={"emails": ["vanphong@snv.phutho.gov.vn"],
                                                             "to_unit_leads": False})
            with running([DossiersService, NotificationsService], config), rpc_proxy(config) as rpc:
                now = utcnow().astimezone(TZ)
                plan = rpc.notifications.schedule_window_reminders(
                    "commune-2026", (now - dt.timedelta(minutes=1)).isoformat(),
                    (now + dt.timedelta(hours=1)).isoformat(), [COMMUNE, "07894"], None, "Chỉ số CCHC cấp xã 2026")
                assert [p["kind"] for p in plan] == ["window_opening", "window_closing"]
                dispatch = event_dispatcher(config)
                ranking = {"set_id": "commune-2026", "set_version": 1, "year": 2026, "unit_kind": "commune",
                           "computed_at": now.isoformat(), "units": 148}
                for version in (1, 2, 2):
                    dispatch("scoring", "ranking_updated", {**ranking, "version": version})
                wait_until(lambda: len(smtp.messages) >= 5 and len(http.on("/hook")) >= 3 and settled(rpc),
                           timeout=30, message="reminders and the announcement")
    finally:
        smtp.stop()
    subjects = sorted((r.rcpt_tos[0], r.message["Subject"].split(":")[0]) for r in smtp.messages)
    assert subjects == [
        ("lanhdao.motcua@vietri.phutho.gov.vn", "Mở kỳ tự đánh giá Chỉ số CCHC"),
        ("lanhdao.motcua@vietri.phutho.gov.vn", "Sắp hết hạn tự đánh giá Chỉ số CCHC"),
        ("motcua.07894@phutho.gov.vn", "Mở kỳ tự đánh giá Chỉ số CCHC"),
        ("motcua.07894@phutho.gov.vn", "Sắp hết hạn tự đánh giá Chỉ số CCHC"),
        ("vanphong@snv.phutho.gov.vn", "Công bố Chỉ số CCHC năm 2026 - khối xã, phường (phiên bản 2)"),
    ]
    opening = next(r.message for r in smtp.messages if r.rcpt_tos == ["motcua.07894@phutho.gov.vn"]
                   and "Mở kỳ" in r.message["Subject"])
    assert "Kính gửi: Phường Nông Trang" in opening.get_body(("plain",)).get_content()
    hooks = sorted((r.json()["kind"], r.json()["data"].get("version")) for r in http.on("/hook"))
    assert hooks == [("ranking_published", 2), ("window_closing", None), ("window_opening", None)]


def test_a_redirecting_sms_gateway_is_retried_and_nothing_is_sent_elsewhere(backend_config, tmp_path):
    """A 302 is not "sent": the outbox retries it (then fails it visibly), and the redirect's target never sees
    the text or the gateway's token."""
    smtp = SmtpSink().start()
    try:
        with http_recorder() as http, http_recorder() as elsewhere:
            http.redirect["/sms"] = f"{elsewhere.url}/collect"
            config = make_config(backend_config, tmp_path, smtp.port, http.url, leads={}, webhooks=[])
            with running([DossiersService, NotificationsService], config), rpc_proxy(config) as rpc:
                publish(config, [overdue("ONLINE-PHONE", CITIZENS["ONLINE-PHONE"], "online")])
                [sms] = wait_until(lambda: find(rpc, kind="apology", channel="sms", status="failed"), timeout=30,
                                   message="the redirected SMS failed after max_attempts")
                detail = rpc.notifications.get_notification(sms["id"])
    finally:
        smtp.stop()
    assert sms["attempts"] == 3 and detail["sent_at"] is None
    assert [h["outcome"] for h in detail["history"]] == ["retry", "retry", "failed"]
    assert "SMS gateway answered HTTP 302" in detail["last_error"] and "not followed" in detail["last_error"]
    assert [r.method for r in http.on("/sms")] == ["POST"] * 3
    assert elsewhere.requests == []


def test_the_service_refuses_to_start_with_local_channels_outside_the_demo(tmp_path):
    """`nameko run` with the packaged defaults (mail folder, SMS console) stops at start-up with the reason."""
    config = tmp_path / "config.yaml"
    config.write_text(f"AMQP_URI: memory://\nDATABASE_URL: sqlite:///{tmp_path}/<service>.db\n"
                      f"WEB_SERVER_ADDRESS: 127.0.0.1:{free_port()}\n", encoding="utf-8")
    cchc = str(Path(sys.executable).with_name("cchc"))
    try:
        run = subprocess.run([cchc, "--config", str(config), "run", "notifications"], capture_output=True,
                             text=True, timeout=60, cwd=tmp_path)
    except subprocess.TimeoutExpired as running_anyway:
        raise AssertionError("the service started with e-mail into a folder and SMS to the console") from running_anyway
    assert run.returncode != 0
    assert "notifications.email.transport: 'folder'" in run.stderr, run.stderr[-2000:]
    assert "notifications.sms.transport: 'console'" in run.stderr and "allow_local_channels: true" in run.stderr

"""Notifications without a bus: who gets what on which channel, the apology's new return date, masking,
templates and the letter, webhook signatures, and the outbox on SQLite (duplicates, numbering, retries with
backoff, the final failed state, replay, the per-channel rate limit) with in-process channel fakes."""

from __future__ import annotations

import datetime as dt
import io

import alembic.autogenerate
import pypdf
import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from nameko.cli.run import import_service

from services.notifications import apology, cli, delivery, intake, rendering, rules, samples, settings
from services.notifications.channels import DeliveryError, Outgoing, permanent, transient
from services.notifications.channels.sms_gateway import normalise_phone
from services.notifications.models import Base, Notification
from services.notifications.privacy import mask_email, mask_phone, mask_text, redact
from services.notifications.settings import settings_from
from shared.calendar import WorkingCalendar
from shared.config import load_config
from shared.db import open_database

TZ = dt.timezone(dt.timedelta(hours=7))
LOCAL = {"notifications": {"allow_local_channels": True}}  # the demo's and these tests' mail folder and console


# -- rules ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("channel", "applicant", "expected"), [
    ("online", {"email": "a@b.vn", "phone": "0912345678"}, ("email", "a@b.vn")),
    ("online", {"phone": "0912345678"}, ("sms", "0912345678")),
    ("online", {"name": "X"}, ("letter", None)),
    ("in_person", {"email": "a@b.vn", "phone": "0912345678"}, ("letter", None)),
    ("post", {"email": "a@b.vn"}, ("letter", None)),
    (None, {"email": "a@b.vn"}, ("email", "a@b.vn")),
    (None, None, ("letter", None)),
])
def test_the_apology_goes_by_the_applicants_channel(channel, applicant, expected):
    assert rules.applicant_channel(channel, applicant) == expected


def test_a_late_dossier_makes_an_apology_lead_alerts_and_webhooks():
    directory = rules.Directory.from_settings({
        "leads": {"07900": {"email": "lead@vt.gov.vn", "phone": "0987654321"}},
        "webhooks": [{"name": "ioc", "url": "http://x", "kinds": ["late_alert"]},
                     {"name": "ranking-only", "url": "http://y", "kinds": ["ranking_published"]}],
    }, samples.UNITS)
    drafts = rules.for_dossier_late(samples.LATE_DOSSIER, samples.context("apology"), directory)
    assert [(d.kind, d.channel, d.recipient) for d in drafts] == [
        ("apology", "email", "nguoi.mau@example.vn"),
        ("late_alert", "email", "lead@vt.gov.vn"),
        ("late_alert", "sms", "0987654321"),
        ("late_alert", "webhook", "ioc"),
    ]
    assert drafts[0].document == "apology_letter" and "Nguyễn Văn Mẫu" in drafts[0].personal
    alert = drafts[1].context
    assert "Nguyễn Văn Mẫu" not in str(alert) and "nguoi.mau" not in str(alert)  # the lead needs no personal data


def test_units_without_a_configured_lead_use_the_address_pattern():
    directory = rules.Directory.from_settings({"lead_email_pattern": "motcua.{unit_code}@pt.gov.vn"}, samples.UNITS)
    assert directory.lead("07894") == rules.Lead(email="motcua.07894@pt.gov.vn")
    assert rules.Directory.from_settings({"lead_email_pattern": ""}).lead("07894") is None


# -- the new return date ------------------------------------------------------------------------------------
def test_the_one_door_new_due_date_wins():
    payload = {**samples.LATE_DOSSIER, "new_due_at": "2026-07-20T09:15:00+07:00"}
    assert apology.propose_new_due(payload, WorkingCalendar(), {}) == (dt.date(2026, 7, 20), "one_door")


def test_the_proposed_date_adds_the_dossiers_own_working_days_and_skips_tet():
    # received Mon 20/1/2025, due Thu 23/1 (3 working days), found late Fri 24/1: + 3 working days over Tết
    payload = {"received_at": "2025-01-20T09:00:00+07:00", "due_at": "2025-01-23T09:00:00+07:00",
               "detected_at": "2025-01-24T07:30:00+07:00"}
    settings = settings_from(LOCAL)["apology"]
    assert apology.propose_new_due(payload, WorkingCalendar(), settings) == (dt.date(2025, 2, 5), "proposed")
    fixed = {**settings, "extension_working_days": 1}
    assert apology.propose_new_due(payload, WorkingCalendar(), fixed) == (dt.date(2025, 2, 3), "proposed")
    same_day = {**payload, "due_at": "2025-01-20T17:00:00+07:00"}  # a same-day procedure: at least one day
    assert apology.propose_new_due(same_day, WorkingCalendar(), settings) == (dt.date(2025, 2, 3), "proposed")


# -- privacy --------------------------------------------------------------------------------------------------
def test_masks_keep_only_a_hint():
    assert mask_email("an.nguyen@example.vn") == "a***@e***.vn"
    assert mask_phone("0912 345 678") == "09*****678"
    assert mask_text("Nguyễn Văn An") == "N*** V*** A***"


def test_redact_masks_personal_values_and_contact_shapes_but_not_codes_or_dates():
    text = "Ông Nguyễn Văn An <an@example.vn>, 0912345678, +84 912 345 678: hồ sơ H44.100-260706-0001 ngày 2026-07-06"
    redacted = redact(text, ["Nguyễn Văn An"])
    for value in ("Nguyễn Văn An", "an@example.vn", "0912345678", "912 345 678"):
        assert value not in redacted
    assert "H44.100-260706-0001" in redacted and "2026-07-06" in redacted


# -- templates and the letter ---------------------------------------------------------------------------------
def test_every_kind_and_channel_has_a_vietnamese_template_that_renders():
    pairs = rendering.available()
    assert {kind for kind, _ in pairs} == set(rules.KINDS)
    assert ("apology", "letter") in pairs and ("apology", "sms") in pairs and ("late_alert", "webhook") in pairs
    for kind, channel in pairs:
        text = cli.preview(kind, channel, out="/dev/null")
        assert text and "{{" not in text and "{%" not in text


def test_email_subject_and_sms_text():
    email = rendering.render("apology", "email", samples.context("apology"))
    assert email.subject == ("UBND Phường Việt Trì: văn bản xin lỗi về việc chậm trả kết quả hồ sơ "
                             "H44.100-260706-0001")
    sms = rendering.render("apology", "sms", samples.context("apology"))
    assert sms.subject == "" and "21/07/2026" in sms.body and "H44.100-260706-0001" in sms.body


def test_the_letter_pdf_carries_every_field_of_form_04(tmp_path):
    out = tmp_path / "letter.pdf"
    assert cli.preview("apology", "letter", out) == f"PDF written to {out}"
    text = " ".join(" ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(out.read_bytes())).pages)
    for field in ("Số: 01/XL-07900",  # number
                  "Kính gửi: Ông/Bà Nguyễn Văn Mẫu",  # addressee
                  "Số 1 đường Hùng Vương", "0912345678",  # address / phone
                  "H44.100-260706-0001",  # dossier code
                  "Ngày tiếp nhận: 06/07/2026", "lĩnh vực Hộ tịch", "Ngày hẹn trả kết quả: 13/07/2026",
                  "Lý do: Hồ sơ cần thêm thời gian", "xin lỗi",  # reason, the apology
                  "ngày 21 tháng 07 năm 2026",  # new return date
                  "CHỦ TỊCH", "Ký, ghi rõ họ tên",  # signature
                  "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Phú Thọ, ngày 14 tháng 07 năm 2026"):
        assert field in text, field


def test_preview_of_an_unknown_template_is_a_clear_error():
    with pytest.raises(ValueError, match="no template for apology/webhook"):
        cli.preview("apology", "webhook")


# -- channels -------------------------------------------------------------------------------------------------
def test_webhook_signature_is_hmac_sha256_over_timestamp_delivery_and_body():
    from services.notifications.webhook_signature import signature

    body = b'{"kind": "late_alert"}'
    expected = __import__("hmac").new(b"s3cret", b"1784000000.42." + body, "sha256").hexdigest()
    assert signature("s3cret", "1784000000", "42", body) == f"sha256={expected}"


@pytest.mark.parametrize(("raw", "expected"), [
    ("0912345678", "84912345678"), ("+84 912 345 678", "84912345678"), ("0912.345.678", "84912345678"),
    ("02103845678", "842103845678"), ("12345", None), ("09123abc78", None), ("+1 415 555 0100", None),
])
def test_phone_numbers_are_normalised_or_refused(raw, expected):
    assert normalise_phone(raw) == expected


def test_backoff_is_exponential_and_capped():
    policy = delivery.Policy.from_settings({**settings_from(LOCAL), "retry_jitter": 0})
    assert [policy.backoff(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert policy.backoff(20) == 3600


# -- the outbox on SQLite -------------------------------------------------------------------------------------
class Recorder:
    """A channel fake: records messages, or fails as told (``errors`` consumed one per send)."""

    def __init__(self, errors: list[DeliveryError | None] | None = None) -> None:
        self.sent: list[Outgoing] = []
        self.errors = list(errors or [])

    def send(self, message: Outgoing) -> str:
        error = self.errors.pop(0) if self.errors else None
        if error is not None:
            raise error
        self.sent.append(message)
        return "ok"


@pytest.fixture
def outbox(tmp_path):
    config = load_config(DATABASE_URL=f"sqlite:///{tmp_path}/<service>.db",
                         notifications={"retry_jitter": 0, "retry_base_seconds": 10, "max_attempts": 3,
                                        "leads": {"07900": {"email": "lead@vt.gov.vn"}}, "lead_email_pattern": "",
                                        "allow_local_channels": True})
    db = open_database(config, "notifications")
    yield db, settings_from(config), config
    db.engine.dispose()


def late(code: str, **applicant) -> dict:
    return {**samples.LATE_DOSSIER, "dossier_code": code, "applicant": applicant or samples.LATE_DOSSIER["applicant"]}


def test_migrations_match_the_models(outbox):
    db, _, _ = outbox
    with db.engine.connect() as connection:
        diff = alembic.autogenerate.compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_a_duplicate_event_stores_nothing_new_and_letters_are_numbered_once_per_unit(outbox):
    db, settings, _ = outbox
    now = dt.datetime(2026, 7, 14, 0, 30, tzinfo=dt.UTC)
    with db.transaction() as session:
        assert intake.on_dossier_late(session, late("A"), settings, WorkingCalendar(), now) == 2
    with db.transaction() as session:
        assert intake.on_dossier_late(session, late("A"), settings, WorkingCalendar(), now) == 0
        assert intake.on_dossier_late(session, late("B"), settings, WorkingCalendar(), now) == 2
    with db.transaction() as session:
        numbers = {code: apology.letter_number(session.get(apology.ApologyLetter, code), settings["apology"])
                   for code in ("A", "B")}
        assert numbers == {"A": "01/XL-07900", "B": "02/XL-07900"}
        assert session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 4
        assert intake.flush_digests(session, settings, now) == 1  # both dossiers in one overdue digest
        assert intake.flush_digests(session, settings, now) == 0


def test_retries_back_off_then_fail_visibly_and_a_resend_delivers(outbox):
    db, settings, _ = outbox
    t0 = dt.datetime(2026, 7, 14, 0, 30, tzinfo=dt.UTC)
    clock = [t0]
    with db.transaction() as session:
        intake.on_dossier_late(session, late("A", phone="0912345678"), settings, WorkingCalendar(), t0)
    sms = Recorder([transient("gateway down"), transient("gateway down"), transient("gateway down")])
    transports = {"sms": sms, "email": Recorder()}
    policy = delivery.Policy.from_settings(settings)

    def run(at: dt.datetime):
        clock[0] = at
        return delivery.deliver_due(db, transports, policy, lambda item: (), "test", lambda: clock[0])

    assert run(t0) == {"retry": 1, "sent": 1}  # the SMS apology retried, the lead's email sent
    assert run(t0 + dt.timedelta(seconds=9)) == {}  # not due before the 10 s backoff
    assert run(t0 + dt.timedelta(seconds=10)) == {"retry": 1}
    assert run(t0 + dt.timedelta(seconds=29)) == {}  # then 20 s
    assert run(t0 + dt.timedelta(seconds=30)) == {"failed": 1}
    with db.transaction() as session:
        [failed] = delivery.list_notifications(session, status="failed")
        assert failed["last_error"] == "gave up after 3 attempts: gateway down"
        assert failed["recipient"] == "09*****678"
        assert delivery.resend(session, failed["id"], t0)["status"] == "pending"
    assert run(t0 + dt.timedelta(seconds=31)) == {"sent": 1}
    assert [m.recipient for m in sms.sent] == ["0912345678"]
    with db.transaction() as session:
        history = delivery.detail(session, failed["id"])["history"]
    assert [h["outcome"] for h in history] == ["retry", "retry", "failed", "sent"]


def test_a_permanent_error_fails_at_once(outbox):
    db, settings, _ = outbox
    now = dt.datetime(2026, 7, 14, 0, 30, tzinfo=dt.UTC)
    with db.transaction() as session:
        intake.on_dossier_late(session, late("A", email="x@y.vn"), settings, WorkingCalendar(), now)
    email = Recorder([permanent("recipient: not a valid email address")])
    result = delivery.deliver_due(db, {"email": email}, delivery.Policy.from_settings(settings),
                                  lambda item: (), "test", lambda: now)
    assert result == {"failed": 1, "sent": 1}


def test_the_rate_limit_holds_per_channel_and_minute(outbox):
    db, settings, _ = outbox
    now = dt.datetime(2026, 7, 14, 0, 30, tzinfo=dt.UTC)
    with db.transaction() as session:
        for n in range(5):
            intake.on_dossier_late(session, late(f"D{n}", phone="0912345678"), settings, WorkingCalendar(), now)
    policy = delivery.Policy.from_settings({**settings, "rate_limits_per_minute": {"sms": 2, "email": 0}})
    sms, email = Recorder(), Recorder()

    def run(at: dt.datetime):
        return delivery.deliver_due(db, {"sms": sms, "email": email}, policy, lambda item: (), "test", lambda: at)

    assert run(now) == {"sent": 7}  # 2 SMS (limited) + 5 lead emails (unlimited)
    assert run(now + dt.timedelta(seconds=30)) == {}
    assert run(now + dt.timedelta(seconds=61)) == {"sent": 2}
    assert len(sms.sent) == 4 and len(email.sent) == 5


def test_cli_lists_shows_masked_and_resends(outbox):
    db, settings, config = outbox
    now = dt.datetime(2026, 7, 14, 0, 30, tzinfo=dt.UTC)
    with db.transaction() as session:
        intake.on_dossier_late(session, late("A"), settings, WorkingCalendar(), now)
    rows = cli.list_notifications(config, kind="apology")
    assert [(r["channel"], r["recipient"], r["status"]) for r in rows] == [("email", "n***@e***.vn", "pending")]
    shown = cli.show(config, rows[0]["id"])
    assert "Nguyễn Văn Mẫu" not in shown["body"] and "N*** V*** M***" in shown["body"]
    assert "Nguyễn Văn Mẫu" in cli.show(config, rows[0]["id"], reveal=True)["body"]
    assert cli.resend(config, rows[0]["id"])["status"] == "pending"
    assert cli.resend(config, failed=True) == {"requeued": 0}
    with pytest.raises(delivery.NotFound):
        cli.show(config, 999)


# -- settings: one home for the defaults, checked at start-up --------------------------------------------------
PRODUCTION = {"notifications": {
    "email": {"transport": "smtp", "smtp": {"host": "mail.phutho.gov.vn", "port": 587, "starttls": True,
                                            "username": "cchc", "password": "mat-khau"}},
    "sms": {"transport": "http", "url": "https://sms.phutho.gov.vn/api/send", "token": "sms-token"},
    "letters": {"folder": "/var/cchc/letters"},
}}


def with_settings(**notifications) -> dict:
    from shared.config import deep_merge

    return deep_merge(PRODUCTION, {"notifications": notifications})


def refusal(config: dict) -> str:
    with pytest.raises(settings.SettingsError) as refused:
        settings_from(config)
    return str(refused.value)


def test_local_channels_are_refused_outside_the_demo_naming_the_setting_and_the_reason():
    text = refusal({})  # the packaged defaults: mail into a folder, SMS to the console, letters under the cwd
    assert "notifications.email.transport: 'folder'" in text and "notifications.sms.transport: 'console'" in text
    assert "notifications.letters.folder: 'var/cchc/letters'" in text
    assert "nobody receives" in text and "allow_local_channels: true" in text
    allowed = settings_from(LOCAL)
    assert (allowed["email"]["transport"], allowed["sms"]["transport"]) == ("folder", "console")
    production = settings_from(PRODUCTION)
    assert (production["email"]["transport"], production["sms"]["transport"]) == ("smtp", "http")
    assert production["allow_local_channels"] is False


def test_smtp_settings_that_would_leak_credentials_or_trust_nothing_are_refused(tmp_path):
    clear = refusal(with_settings(email={"smtp": {"starttls": False, "port": 25}}))
    assert "notifications.email.smtp.username: credentials would cross the network in clear text" in clear
    assert "starttls: true" in clear and "ssl: true" in clear
    assert "notifications.email.smtp: starttls and ssl" in refusal(with_settings(email={"smtp": {"ssl": True}}))
    missing = tmp_path / "absent-ca.crt"
    assert f"notifications.email.smtp.ca_file: {str(missing)!r} is not a readable file" in refusal(
        with_settings(email={"smtp": {"ca_file": str(missing)}}))
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    assert settings_from(with_settings(email={"smtp": {"ca_file": str(tmp_path / "ca.crt")}}))["email"]["smtp"][
        "ca_file"] == str(tmp_path / "ca.crt")
    no_login = settings_from(with_settings(email={"smtp": {"starttls": False, "username": "", "password": ""}}))
    assert no_login["email"]["smtp"]["username"] == ""  # an internal relay without login may stay plain


def test_bad_values_name_the_field():
    assert "notifications.email.smtp.port: Not a valid integer." in refusal(
        with_settings(email={"smtp": {"port": "twenty-five"}}))
    assert "notifications.sms.url: required with transport http" in refusal(with_settings(sms={"url": None}))
    assert "notifications.webhooks[0].secret: Missing data for required field." in refusal(
        with_settings(webhooks=[{"name": "ioc", "url": "https://ioc.phutho.gov.vn/hook"}]))
    assert "notifications.emial: Unknown field." in refusal(with_settings(emial={}))
    assert "notifications.email.transport: Must be one of: smtp, folder." in refusal(
        with_settings(email={"transport": "pigeon"}))


def test_defaults_live_only_in_shared_config_yaml(monkeypatch):
    import shared.config

    packaged = shared.config.defaults()
    packaged["notifications"]["max_attempts"] = 5
    packaged["notifications"]["sms"]["sender"] = "UBND"
    monkeypatch.setattr(shared.config, "_frozen_defaults", lambda: packaged)
    changed = settings_from(LOCAL)
    assert changed["max_attempts"] == 5 and changed["sms"]["sender"] == "UBND"
    del packaged["notifications"]["retry_jitter"]  # no second home to fall back to: the key is missing
    assert "notifications.retry_jitter: Missing data for required field." in refusal(LOCAL)


def test_every_timer_reads_its_interval_from_the_notifications_section():
    from nameko.containers import ServiceContainer
    from nameko.timer import Timer

    from services.notifications.service import NotificationsService
    from shared.timers import ConfiguredTimer

    intervals = {"delivery_interval_seconds": 0.7, "digest_interval_seconds": 1800,
                 "schedule_interval_seconds": 20, "units_refresh_seconds": 600}
    container = ServiceContainer(NotificationsService, load_config(notifications=intervals))
    timers = {t.method_name: t for t in container.entrypoints if isinstance(t, Timer)}
    assert all(isinstance(t, ConfiguredTimer) for t in timers.values())
    assert not hasattr(settings, "SettingTimer")
    for timer in timers.values():
        timer.setup()
    assert {name: (t.section_name, t.key, t.interval) for name, t in timers.items()} == {
        "deliver": ("notifications", "delivery_interval_seconds", 0.7),
        "send_digests": ("notifications", "digest_interval_seconds", 1800.0),
        "send_scheduled": ("notifications", "schedule_interval_seconds", 20.0),
        "refresh_units": ("notifications", "units_refresh_seconds", 600.0),
        "erase_personal_data": ("privacy", "retention_scan_interval_seconds", 3600.0),
    }
    assert timers["refresh_units"].eager and not timers["deliver"].eager


@pytest.mark.parametrize(("value", "reason"), [("hourly", "'hourly' is not a number of seconds"),
                                                (0, "must be more than 0 seconds, not 0")])
def test_a_timer_interval_that_is_not_a_positive_number_names_its_key(value, reason):
    from nameko.containers import ServiceContainer
    from nameko.timer import Timer

    from services.notifications.service import NotificationsService

    container = ServiceContainer(NotificationsService, load_config(notifications={"digest_interval_seconds": value}))
    [timer] = [t for t in container.entrypoints if isinstance(t, Timer) and t.method_name == "send_digests"]
    with pytest.raises(ValueError, match=f"notifications.digest_interval_seconds: {reason}"):
        timer.setup()


def test_the_demo_allows_its_local_channels(tmp_path, monkeypatch):
    from cchc.demo import demo_config

    monkeypatch.chdir(tmp_path)  # demo_config wipes var/cchc/demo under the working directory
    config = demo_config(load_config(DATABASE_URL=f"sqlite:///{tmp_path}/<service>.db"), [])
    assert settings_from(config)["allow_local_channels"] is True


def test_the_service_module_holds_one_service():
    [service] = import_service("services.notifications.service")
    assert service.name == "notifications"

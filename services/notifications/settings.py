"""The ``notifications:`` configuration section: parsed and checked here, defaulted only in shared/config.yaml.

Every key is required by the schema below and the packaged shared/config.yaml supplies (and documents) every
one, so there is one home for each default and a key missing there is an error, never a silent fallback to a
second copy. What an operator writes is merged over it (``shared.config.section``) and checked at start-up:

* types and ranges (a port, a positive interval), unknown keys refused (a typo would otherwise be ignored);
* what makes a deployment silently useless or unsafe: e-mail into a local folder, SMS to the console, letters
  under the working directory (all of which nobody receives outside the demo) unless
  ``allow_local_channels: true`` says this is a demo or a test; SMTP credentials over a connection that is not
  encrypted; a CA file that cannot be read; a transport without its address.

Each problem is reported as ``notifications.<path>: <reason>``, all of them at once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from services.notifications.rules import KINDS
from shared.config import section

CHANNELS = ("email", "sms", "webhook", "letter")
WEBHOOK_KINDS = tuple(kind for kind in KINDS if kind != "apology")  # apologies carry personal data
LOCAL_CHANNELS_KEY = "notifications.allow_local_channels"


class SettingsError(ValueError):
    """The ``notifications`` section cannot be used; ``problems`` lists each as ``path: reason``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("notifications settings refused:\n" + "\n".join(f"  - {p}" for p in problems))


class Text(fields.String):
    """A string that must be present; an environment variable left unset (``${VAR}`` reads as null) is ``""``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=True, allow_none=True, **kwargs)

    def deserialize(self, value: Any, attr: str | None = None, data: Mapping[str, Any] | None = None,
                    **kwargs: Any) -> Any:
        return "" if value is None else super().deserialize(value, attr, data, **kwargs)


def _seconds(*, positive: bool = True) -> fields.Float:
    return fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=not positive))


def _count(minimum: int) -> fields.Integer:
    return fields.Integer(required=True, validate=validate.Range(min=minimum))


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class SmtpSettings(_Strict):
    host = Text()
    port = fields.Integer(required=True, validate=validate.Range(min=1, max=65535))
    username = Text()
    password = Text()
    starttls = fields.Boolean(required=True)
    ssl = fields.Boolean(required=True)
    ca_file = Text()
    timeout_seconds = _seconds()


class EmailSettings(_Strict):
    transport = fields.String(required=True, validate=validate.OneOf(["smtp", "folder"]))
    folder = Text()
    sender = fields.String(required=True, validate=validate.Length(min=1))
    smtp = fields.Nested(SmtpSettings, required=True)


class SmsSettings(_Strict):
    transport = fields.String(required=True, validate=validate.OneOf(["http", "console"]))
    url = Text()
    token = Text()
    sender = Text()
    timeout_seconds = _seconds()


class WebhookSettings(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1))
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    secret = fields.String(required=True, validate=validate.Length(min=16))
    kinds = fields.List(fields.String(validate=validate.OneOf(WEBHOOK_KINDS)), load_default=None)


class LeadSettings(_Strict):
    email = fields.String(load_default=None, allow_none=True)
    phone = fields.String(load_default=None, allow_none=True)
    name = fields.String(load_default=None, allow_none=True)


class LetterSettings(_Strict):
    folder = fields.String(required=True, validate=validate.Length(min=1))


class AnnouncementSettings(_Strict):
    emails = fields.List(fields.String(), required=True)
    to_unit_leads = fields.Boolean(required=True)
    # the office (Sở Nội vụ) and the appraisal council: told when a unit answers a request for explanation
    appraisal_emails = fields.List(fields.String(), load_default=list)


class ApologySettings(_Strict):
    place = Text()
    reason = Text()
    signer_title = Text()
    signer_name = Text()
    number_symbol = fields.String(required=True, validate=validate.Length(min=1))
    extension_working_days = _count(0)
    min_extension_working_days = _count(1)


class NotificationSettings(_Strict):
    allow_local_channels = fields.Boolean(required=True)
    delivery_interval_seconds = _seconds()
    batch_size = _count(1)
    max_attempts = _count(1)
    retry_base_seconds = _seconds(positive=False)
    retry_max_seconds = _seconds(positive=False)
    retry_jitter = fields.Float(required=True, validate=validate.Range(min=0, max=1))
    lease_seconds = _seconds()
    rate_limits_per_minute = fields.Dict(keys=fields.String(validate=validate.OneOf(CHANNELS)),
                                         values=fields.Integer(validate=validate.Range(min=0)), required=True)
    digest_interval_seconds = _seconds()
    schedule_interval_seconds = _seconds()
    closing_reminder_hours_before = _seconds(positive=False)
    ranking_debounce_seconds = _seconds(positive=False)
    units_refresh_seconds = _seconds()
    email = fields.Nested(EmailSettings, required=True)
    sms = fields.Nested(SmsSettings, required=True)
    webhooks = fields.List(fields.Nested(WebhookSettings), required=True)
    webhook_timeout_seconds = _seconds()
    letters = fields.Nested(LetterSettings, required=True)
    leads = fields.Dict(keys=fields.String(), values=fields.Nested(LeadSettings), required=True)
    lead_email_pattern = Text()
    announcements = fields.Nested(AnnouncementSettings, required=True)
    apology = fields.Nested(ApologySettings, required=True)


_SCHEMA = NotificationSettings()


def settings_from(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``notifications`` section over the packaged defaults, parsed and checked; raises SettingsError."""
    try:
        settings: dict[str, Any] = _SCHEMA.load(section(config, "notifications"))
    except ValidationError as exc:
        raise SettingsError(list(_flatten("notifications", exc.messages))) from None
    problems = deployment_problems(settings)
    if problems:
        raise SettingsError(problems)
    return settings


def deployment_problems(settings: Mapping[str, Any]) -> list[str]:
    """What would make a deployment deliver nothing to anyone, or leak credentials: ``path: reason`` each."""
    problems = []
    email, smtp, sms = settings["email"], settings["email"]["smtp"], settings["sms"]
    if not settings["allow_local_channels"]:
        problems.extend(_local_channel_problems(settings))
    if email["transport"] == "smtp":
        problems.extend(_smtp_problems(smtp))
    if sms["transport"] == "http" and not sms["url"]:
        problems.append("notifications.sms.url: required with transport http (the gateway's POST address)")
    return problems


def _local_channel_problems(settings: Mapping[str, Any]) -> list[str]:
    allow = f"or set {LOCAL_CHANNELS_KEY}: true for a demo or a test"
    problems = []
    if settings["email"]["transport"] == "folder":
        problems.append("notifications.email.transport: 'folder' writes e-mails into a local folder that nobody "
                        "receives outside the demo (in a container, the pod's scratch space); use 'smtp' with "
                        f"notifications.email.smtp, {allow}")
    if settings["sms"]["transport"] == "console":
        problems.append("notifications.sms.transport: 'console' only prints SMS texts to the log, nobody receives "
                        f"them; use 'http' with notifications.sms.url, {allow}")
    folder = settings["letters"]["folder"]
    if not os.path.isabs(folder):
        problems.append(f"notifications.letters.folder: {folder!r} is relative to the working directory (in the "
                        "container image /tmp, the pod's scratch space: no desk reads it and it is lost with the "
                        "pod), so nobody receives the printable letters; give an absolute path on storage the units' "
                        f"desks read (Kubernetes: the notifications-letters volume), {allow}")
    return problems


def _smtp_problems(smtp: Mapping[str, Any]) -> list[str]:
    problems = []
    if not smtp["host"]:
        problems.append("notifications.email.smtp.host: required with transport smtp")
    if smtp["starttls"] and smtp["ssl"]:
        problems.append("notifications.email.smtp: starttls and ssl exclude each other: ssl: true is TLS from the "
                        "first byte (port 465), starttls: true upgrades a plain connection (port 587)")
    if (smtp["username"] or smtp["password"]) and not (smtp["starttls"] or smtp["ssl"]):
        problems.append("notifications.email.smtp.username: credentials would cross the network in clear text; "
                        "set starttls: true (port 587) or ssl: true (port 465)")
    ca_file = smtp["ca_file"]
    if ca_file and not (os.path.isfile(ca_file) and os.access(ca_file, os.R_OK)):
        problems.append(f"notifications.email.smtp.ca_file: {ca_file!r} is not a readable file (the PEM "
                        "certificate of the CA that signed the mail server's certificate)")
    return problems


def _flatten(path: str, messages: Any) -> list[str]:
    """marshmallow's nested error dict as ``notifications.email.smtp.port: Not a valid integer.`` lines."""
    if isinstance(messages, Mapping):
        lines = []
        for key, value in messages.items():
            where = f"{path}[{key}]" if isinstance(key, int) else path if key == "_schema" else f"{path}.{key}"
            lines.extend(_flatten(where, value))
        return lines
    if isinstance(messages, list | tuple) and all(isinstance(m, str) for m in messages):
        return [f"{path}: {' '.join(messages)}"]
    return [f"{path}: {messages}"]

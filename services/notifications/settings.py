"""The ``notifications:`` configuration section, with its defaults written here (the packaged shared/config.yaml
need not list them), and a nameko timer whose interval is read from it.

Every key is optional; README / the issue report give the documented YAML. Recipients (unit leads, webhooks,
announcement lists) and channel settings (SMTP, SMS gateway) all live here; the unit registry itself comes from
the dossiers service.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nameko.timer import Timer

from shared.config import deep_merge, section

DEFAULTS: dict[str, Any] = {
    # The delivery outbox: how often it is worked, how much per run, retries with exponential backoff.
    "delivery_interval_seconds": 1.0,
    "batch_size": 50,
    "max_attempts": 8,
    "retry_base_seconds": 30.0,
    "retry_max_seconds": 3600.0,
    "retry_jitter": 0.1,
    # A claimed notification not reported back within this time (the worker died) is claimed again.
    "lease_seconds": 300.0,
    # Messages per minute and channel, across replicas (0 = unlimited).
    "rate_limits_per_minute": {"email": 120, "sms": 60, "webhook": 300, "letter": 0},
    # Due-soon and overdue digests to each unit's one-door lead.
    "digest_interval_seconds": 3600.0,
    # Scheduled sends: window reminders and (debounced) ranking announcements.
    "schedule_interval_seconds": 30.0,
    "closing_reminder_hours_before": 48.0,
    "ranking_debounce_seconds": 300.0,
    # The unit registry is copied from dossiers.units() this often (and at start-up).
    "units_refresh_seconds": 3600.0,
    "email": {
        # folder: .eml files in `folder` (zero-install and demo); smtp: the server below.
        "transport": "folder",
        "folder": "var/cchc/mail",
        "sender": "Hệ thống CCHC <cchc@localhost>",
        "smtp": {
            "host": "localhost",
            "port": 25,
            "username": "",
            "password": "",
            "starttls": False,
            "ssl": False,
            "timeout_seconds": 10.0,
        },
    },
    "sms": {
        # console: the text is printed (personal data masked); http: POSTed to the gateway below.
        "transport": "console",
        "url": "",
        "token": "",
        "sender": "CCHC",
        "timeout_seconds": 10.0,
    },
    # [{name, url, secret, kinds: [late_alert, due_soon_digest, overdue_digest, window_opening, window_closing,
    #   ranking_published]}]; bodies are signed: X-CCHC-Signature: sha256=<HMAC-SHA256(secret, body)>.
    "webhooks": [],
    "webhook_timeout_seconds": 10.0,
    # Printable apology letters for applicants who came in person or by post.
    "letters": {"folder": "var/cchc/letters"},
    # One-door lead (lãnh đạo bộ phận một cửa) per unit code: {email, phone, name}.
    "leads": {},
    # Address used for units not listed in `leads` ("{unit_code}" is replaced); "" = no alert for them.
    "lead_email_pattern": "motcua.{unit_code}@localhost",
    "announcements": {"emails": [], "to_unit_leads": True},
    "apology": {
        # Place in the date line ("Phú Thọ, ngày …"); empty = the province's name from the unit registry.
        "place": "",
        "reason": "Hồ sơ cần thêm thời gian thẩm định, xác minh để bảo đảm giải quyết đúng quy định.",
        "signer_title": "Thủ trưởng cơ quan",
        "signer_name": "",
        "number_symbol": "XL",
        # New return date when the one-door software sent none: max(due date, detection date) plus this many
        # working days; 0 = the dossier's own processing time (working days from receipt to due date).
        "extension_working_days": 0,
        "min_extension_working_days": 1,
    },
}

CHANNELS = ("email", "sms", "webhook", "letter")


def settings_from(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``notifications`` section merged over the defaults above."""
    return deep_merge(DEFAULTS, section(config, "notifications"))


class SettingTimer(Timer):
    """``@setting_timer("delivery_interval_seconds")``: a timer whose interval is a notifications setting."""

    def __init__(self, key: str, **kwargs: Any) -> None:
        self.key = key
        super().__init__(interval=1.0, **kwargs)

    def setup(self) -> None:
        self.interval = float(settings_from(self.container.config)[self.key])
        super().setup()


setting_timer = SettingTimer.decorator

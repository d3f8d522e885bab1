"""Webhooks to other systems: the JSON body is POSTed as stored (so a retry sends the same bytes), signed over
the send time, the delivery id and the body (``services/notifications/webhook_signature.py`` says how, and how a
receiver verifies with a replay window); ``X-CCHC-Kind`` names the message. Bodies never carry personal data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from services.notifications.channels import Outgoing, permanent
from services.notifications.channels.http import post
from services.notifications.webhook_signature import signed_headers
from shared.clock import utcnow


class WebhookTransport:
    """The recipient of a webhook notification is the webhook's configured name; its URL and secret are read
    from configuration at send time (a URL may carry a token: it is never stored in the outbox)."""

    def __init__(self, webhooks: Sequence[Mapping[str, Any]], timeout: float,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.webhooks = {str(w["name"]): w for w in webhooks}
        self.timeout = timeout
        self.clock = clock

    def send(self, message: Outgoing) -> str:
        hook = self.webhooks.get(message.recipient)
        if hook is None or not hook.get("url"):
            raise permanent(f"webhook {message.recipient!r} is not configured (notifications.webhooks)")
        if not hook.get("secret"):
            raise permanent(f"webhook {message.recipient!r} has no secret: deliveries are always signed")
        body = message.body.encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-CCHC-Kind": message.kind,
            **signed_headers(str(hook["secret"]), str(message.id), body, int(self.clock().timestamp())),
        }
        status = post(str(hook["url"]), body, headers, self.timeout, f"webhook {message.recipient}")
        return f"webhook HTTP {status}"

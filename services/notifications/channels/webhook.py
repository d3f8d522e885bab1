"""Webhooks to other systems: the JSON body is POSTed as stored (so a retry sends the same bytes) and signed:
``X-CCHC-Signature: sha256=<hex HMAC-SHA256(secret, body)>``; ``X-CCHC-Delivery`` (the notification id) lets a
receiver drop a redelivery, ``X-CCHC-Kind`` names the message. Bodies never carry personal data."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from services.notifications.channels import Outgoing, permanent
from services.notifications.channels.http import post

SIGNATURE_HEADER = "X-CCHC-Signature"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, body), signature or "")


class WebhookTransport:
    """The recipient of a webhook notification is the webhook's configured name; its URL and secret are read
    from configuration at send time (a URL may carry a token: it is never stored in the outbox)."""

    def __init__(self, webhooks: Sequence[Mapping[str, Any]], timeout: float) -> None:
        self.webhooks = {str(w["name"]): w for w in webhooks}
        self.timeout = timeout

    def send(self, message: Outgoing) -> str:
        hook = self.webhooks.get(message.recipient)
        if hook is None or not hook.get("url"):
            raise permanent(f"webhook {message.recipient!r} is not configured (notifications.webhooks)")
        body = message.body.encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-CCHC-Delivery": str(message.id),
            "X-CCHC-Kind": message.kind,
        }
        if hook.get("secret"):
            headers[SIGNATURE_HEADER] = sign(str(hook["secret"]), body)
        status = post(str(hook["url"]), body, headers, self.timeout, f"webhook {message.recipient}")
        return f"webhook HTTP {status}"

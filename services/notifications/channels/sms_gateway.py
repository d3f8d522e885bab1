"""SMS through an HTTP gateway: ``POST <url>`` with JSON ``{"to", "text", "sender", "reference"}`` and
``Authorization: Bearer <token>``; the number is normalised to the international form (84…) first and a number
that is not a Vietnamese phone number fails at once."""

from __future__ import annotations

import json
import re

from services.notifications.channels import Outgoing, permanent
from services.notifications.channels.http import post

_VN_PHONE = re.compile(r"^84(3|5|7|8|9|2\d)\d{7,8}$")


def normalise_phone(value: str) -> str | None:
    """``0912 345 678`` / ``+84912345678`` → ``84912345678``; None if it is not a Vietnamese number."""
    digits = re.sub(r"[\s.()-]", "", value)
    if digits.startswith("+"):
        digits = digits[1:]
    if not digits.isdigit():
        return None
    if digits.startswith("0"):
        digits = "84" + digits[1:]
    return digits if _VN_PHONE.match(digits) else None


class SmsGateway:
    def __init__(self, url: str, token: str, sender: str, timeout: float) -> None:
        self.url = url
        self.token = token
        self.sender = sender
        self.timeout = timeout

    def send(self, message: Outgoing) -> str:
        if not self.url:
            raise permanent("sms: no gateway url configured (notifications.sms.url)")
        number = normalise_phone(message.recipient)
        if number is None:
            raise permanent("recipient: not a valid Vietnamese phone number")
        body = json.dumps({"to": number, "text": message.body, "sender": self.sender,
                           "reference": f"cchc-{message.id}"}, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        status = post(self.url, body, headers, self.timeout, "SMS gateway", (*message.personal, message.recipient))
        return f"SMS gateway HTTP {status}"

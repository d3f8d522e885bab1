"""Personal data (citizens' names, phones, emails, addresses) never reaches logs, metrics or operator listings.

The outbox row keeps the real recipient (it must, to deliver), but everything that leaves the service for a
human reads a masked form: ``mask_recipient`` for addresses, ``redact`` for free text that may contain a value
(an SMTP server's reply echoing the address, a message body). Metric labels carry only the channel and the
service name: never a recipient, a unit or a dossier.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# Vietnamese phone numbers (0912345678, +84 912 345 678); dossier codes and dates do not match.
_PHONE = re.compile(r"(?<![\w.+-])(?:\+84|0)(?:[ .]?\d){9,10}(?![\w-])")


def mask_email(value: str) -> str:
    """``an.nguyen@example.vn`` → ``a***@e***.vn``."""
    local, _, domain = value.partition("@")
    if not domain:
        return mask_text(value)
    host, _, tld = domain.rpartition(".")
    return f"{local[:1]}***@{(host or tld)[:1]}***.{tld if host else ''}".rstrip(".")


def mask_phone(value: str) -> str:
    """``0912 345 678`` → ``09*****678``: the last three digits let a clerk tell two numbers apart."""
    digits = re.sub(r"\D", "", value)
    if len(digits) < 6:
        return "***"
    return digits[:2] + "*" * (len(digits) - 5) + digits[-3:]


def mask_text(value: str) -> str:
    """Names and anything else: the first letter of each word (``Nguyễn Văn An`` → ``N*** V*** A***``)."""
    return " ".join(f"{word[:1]}***" for word in value.split()) or "***"


def mask_recipient(channel: str, recipient: str) -> str:
    """What listings and logs show instead of the address. Webhook names and letter folders are not personal."""
    if channel == "email":
        return mask_email(recipient)
    if channel == "sms":
        return mask_phone(recipient)
    return recipient


def redact(text: str, personal: Iterable[str] = ()) -> str:
    """``text`` with each known personal value, and anything shaped like an email or a phone, masked."""
    for value in sorted({v for v in personal if v and len(v) >= 2}, key=len, reverse=True):
        text = text.replace(value, _mask_any(value))
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


def _mask_any(value: str) -> str:
    if "@" in value:
        return mask_email(value)
    if re.fullmatch(r"\+?[0-9 .-]{8,20}", value):
        return mask_phone(value)
    return mask_text(value)

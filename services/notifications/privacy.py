"""Personal data (citizens' names, phones, emails, addresses) never reaches logs, metrics or operator listings.

The outbox row keeps the real recipient (it must, to deliver), but everything that leaves the service for a
human reads a masked form: ``mask_recipient`` for addresses, ``redact`` for free text that may contain a value
(an SMTP server's reply echoing the address, a message body). Metric labels carry only the channel and the
service name: never a recipient, a unit or a dossier.

The same value reaches us written in many ways, so matching never relies on the exact characters: text and
values are compared in Unicode NFC (a name typed with decomposed accents, NFD, is the same name), without regard
to letter case or to how many spaces (or non-breaking spaces) separate the words; and phone numbers are found
by their shape whatever the punctuation: ``0912-345-678``, ``0912.345.678``, ``+84 912 345 678``,
``(0912) 345678``, ``84912345678`` (what the SMS gateway is sent, and may echo).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# A Vietnamese phone number: 0, 84 or +84, then 9 (mobile) or 10 (landline) digits, each after at most two
# separators (space, dot, dash, parenthesis). Not inside a longer word or number, so dossier codes
# (H44.100-260706-0001), dates and unit codes do not match.
_PHONE = re.compile(r"(?<![\w.+-])(?:\+84|84|0)(?:[\s.()-]{0,2}\d){9,10}(?![\w-])")


def normalise(text: str) -> str:
    """NFC, the form in which a letter with its accents is one character: what every comparison here uses."""
    return unicodedata.normalize("NFC", text)


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
    return " ".join(f"{word[:1]}***" for word in normalise(value).split()) or "***"


def mask_recipient(channel: str, recipient: str) -> str:
    """What listings and logs show instead of the address. Webhook names and letter folders are not personal."""
    if channel == "email":
        return mask_email(recipient)
    if channel == "sms":
        return mask_phone(recipient)
    return recipient


def redact(text: str, personal: Iterable[str] = ()) -> str:
    """``text`` (in NFC) with each known personal value, and anything shaped like an email or a phone, masked."""
    text = normalise(text)
    values = {normalise(v).strip() for v in personal if v}
    for value in sorted((v for v in values if len(v) >= 2), key=len, reverse=True):
        text = _written_as(value).sub(lambda m: _mask_any(m.group(0)), text)
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


def _written_as(value: str) -> re.Pattern[str]:
    """``value`` in any letter case and with any whitespace between its words (text and value both NFC)."""
    words = [re.escape(word) for word in value.split()]
    return re.compile(r"\s+".join(words), re.IGNORECASE)


def _mask_any(value: str) -> str:
    if "@" in value:
        return mask_email(value)
    if _PHONE.fullmatch(value.strip()) or re.fullmatch(r"\+?[0-9 .()-]{8,20}", value.strip()):
        return mask_phone(value)
    return mask_text(value)

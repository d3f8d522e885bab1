"""Bounds on what a URL, a form or an RPC caller hands us: row ids and free text.

Why one place: an id of 23 digits passed straight to SQLite raises OverflowError (a 500), and PostgreSQL's
bigint refuses it with another error; "²" passes ``str.isdigit`` and fails ``int``. Free text with NUL bytes,
control characters or bidi overrides renders as something other than what was typed (an account name that
reads backwards in the audit log), and 100,000 characters were silently cut or stored whole.
"""

from __future__ import annotations

import re
import unicodedata

MAX_ID = 2**63 - 1  # a signed 64-bit integer: the largest id any table here (SQLite or PostgreSQL bigint) holds

# Bidirectional embeddings, overrides and isolates: they reorder what follows them on the screen.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ECHO_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def parse_id(text: str | None) -> int | None:
    """A row id from text: ASCII digits only (no sign, no space, no "²"), 1 to :data:`MAX_ID`; else ``None``."""
    if not text or not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def valid_id(value: object) -> bool:
    """An id an RPC caller sent is a real int (not a bool) within 1..:data:`MAX_ID`."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def text_problem(value: str, max_chars: int, *, multiline: bool = False) -> str | None:
    """Why ``value`` may not be stored as typed (Vietnamese, for the field's message), or ``None``.

    Refused: more than ``max_chars`` characters (never truncated: the person would not know what was kept),
    control characters (NUL included; tab and line breaks allowed in ``multiline`` text) and bidi controls."""
    if len(value) > max_chars:
        return f"Tối đa {max_chars:,} ký tự (đã nhập {len(value):,}).".replace(",", ".")
    allowed = "\t\r\n" if multiline else ""
    for char in value:
        if char in allowed:
            continue
        if char in BIDI_CONTROLS or unicodedata.category(char) == "Cc":
            return f"Có ký tự điều khiển không được phép (U+{ord(char):04X})."
    return None


def echo_safe(value: str, max_chars: int = 200) -> str:
    """Text from the request shown back in a page (a 404's detail): control and bidi characters replaced by
    U+FFFD, and at most ``max_chars`` characters. HTML escaping stays the template's."""
    return _ECHO_UNSAFE.sub("\ufffd", value[:max_chars])

"""Figures written the Vietnamese way, as administrative documents print them.

Vietnamese uses a comma as the decimal separator and a dot between thousands: 15.051 dossiers, an index of
81,33%, a score of 18,13 points. Rates and indexes are shown with exactly two decimals (they arrive rounded
half up from the services that compute them); counts have no decimals. A figure that does not exist is
printed as a dash in tables and as "chưa có số liệu" (no data yet) where a sentence needs words.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from shared.rounding import round_half_up

__all__ = ["NO_DATA", "decimal_or_none", "parse_vi_number", "vi_decimal", "vi_int", "vi_percent"]

NO_DATA = "chưa có số liệu"
DASH = "–"


def decimal_or_none(value: object) -> Decimal | None:
    """A figure from a service (string, int, Decimal) as a Decimal; None, "" stay None. Garbage raises."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TypeError("a figure cannot be a bool")
    if isinstance(value, float):
        value = repr(value)
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def vi_int(value: int | None) -> str:
    """15051 → "15.051"; None → "–"."""
    if value is None:
        return DASH
    sign = "-" if value < 0 else ""
    return sign + f"{abs(int(value)):,}".replace(",", ".")


def vi_decimal(value: Decimal | str | int | None, places: int = 2) -> str:
    """Decimal("81.33") → "81,33"; Decimal("15051.5") → "15.051,50"; half up to ``places``; None → "–"."""
    number = decimal_or_none(value)
    if number is None:
        return DASH
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -places:
        # already at most ``places`` decimals (the services send "81.33"): padding is exact, nothing to round;
        # a page of a few hundred rows spent half its rendering in the general half-up rounding
        rounded = number if exponent == -places else number.quantize(Decimal(1).scaleb(-places))
    else:
        rounded = round_half_up(number, places)
    sign = "-" if rounded < 0 else ""
    whole, _, fraction = f"{abs(rounded):f}".partition(".")
    text = vi_int(int(whole))
    return sign + (f"{text},{fraction}" if places else text)


def vi_percent(value: Decimal | str | int | None, places: int = 2) -> str:
    """Decimal("86.5") → "86,50%"; None → "chưa có số liệu" (used in sentences, not in table cells)."""
    if decimal_or_none(value) is None:
        return NO_DATA
    return f"{vi_decimal(value, places)}%"


_VI_NUMBER = re.compile(r"-?\d{1,3}(?:\.\d{3})*(?:,\d+)?|-?\d+(?:,\d+)?")


def parse_vi_number(text: str) -> Decimal:
    """The inverse of :func:`vi_decimal` / :func:`vi_int`: "15.051" → 15051, "81,33" → 81.33, "86,50%" → 86.50.

    Used to read figures back from generated documents (tests, checks); anything else raises ValueError.
    """
    cleaned = text.strip().removesuffix("%").strip()
    if not _VI_NUMBER.fullmatch(cleaned):
        raise ValueError(f"not a Vietnamese-formatted number: {text!r}")
    return Decimal(cleaned.replace(".", "").replace(",", "."))

"""Rounding the way Vietnamese published figures are rounded.

Published administrative figures (Decision 766 scores, PAR Index percentages, on-time rates) round half
up — away from zero on an exact tie — to 2 decimals: Sở Tư pháp Phú Thọ's 29 of 32 dossiers on time is
90.625% and is published as 90.63 with 18.13 points (20 × 0.90625 = 18.125). Python's ``round()`` and
Decimal's default context round half to even and would print 90.62 / 18.12, so every published figure in
this project goes through this module instead.

The arithmetic is exact: the value is turned into a :class:`~fractions.Fraction` before rounding, so a
ratio such as 1/3 or 29/32 is never pre-rounded by a float or by Decimal's 28-digit context.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

__all__ = ["percent", "round_half_up"]

Number = Decimal | int | float | Fraction


def _to_fraction(value: Number) -> Fraction:
    """Exact rational value of ``value``.

    Floats go through their shortest ``repr`` so that 1.005 means the decimal 1.005 a person typed, not the
    binary neighbour 1.00499999999999989…; otherwise a figure that was exact in a spreadsheet could round
    down here.
    """
    if isinstance(value, bool):
        # bool is an int subclass; a True where a number was meant is a bug upstream, not the value 1.
        raise TypeError("round_half_up() expects a number, not a bool")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot round a non-finite value: {value}")
        return Fraction(value)
    raise TypeError(f"round_half_up() expects Decimal, int, float or Fraction, not {type(value).__name__}")


def round_half_up(value: Number, places: int = 2) -> Decimal:
    """Round ``value`` to ``places`` decimals, ties away from zero, as published figures are.

    The result always carries exactly ``places`` decimals (``Decimal('0.00')``, ``Decimal('90.63')``), so
    it can be written to a report or compared with a published figure without further formatting.
    Negative values mirror positive ones (-0.125 → -0.13), which is what ROUND_HALF_UP means in Decimal.
    """
    if places < 0:
        raise ValueError(f"places must be 0 or more, got {places}")
    exact = _to_fraction(value)
    # floor(|exact| × 10^places + 1/2) in integers: Fraction arithmetic here was most of a Decision 766 ranking.
    numerator, denominator = abs(exact.numerator) * 10**places, exact.denominator
    rounded = (2 * numerator + denominator) // (2 * denominator)
    if exact.numerator < 0:
        rounded = -rounded
    # Built from a string, not scaleb(): construction is exact, scaleb() obeys the 28-digit context.
    return Decimal(f"{rounded}E-{places}")


def percent(numerator: int, denominator: int, places: int = 2) -> Decimal:
    """``100 × numerator / denominator`` rounded half up, or 0 when there is nothing to divide by.

    A unit that received no dossiers in a period is published with 0% (not "n/a"), e.g. Văn phòng UBND
    tỉnh Phú Thọ in month 8/2026, so a zero denominator gives ``Decimal('0.00')`` instead of raising.
    """
    if denominator == 0:
        return round_half_up(0, places)
    if type(numerator) is int and type(denominator) is int:
        # floor(|100 n / d| × 10^places + 1/2) in integers, as round_half_up does it, without building a Fraction
        scale = 100 * 10**places
        rounded = (2 * abs(numerator) * scale + abs(denominator)) // (2 * abs(denominator))
        negative = (numerator < 0) != (denominator < 0) and numerator != 0
        return Decimal(f"{-rounded if negative else rounded}E-{places}")
    return round_half_up(Fraction(100 * numerator, denominator), places)

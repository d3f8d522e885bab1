"""How the board turns a ratio into points: its two scoring forms, its empty-unit rules, its rounding.

All V-data unless said otherwise (766-INDEX.md §2, "Common rules"):

* **Scoring forms**: linear ``max × ratio``, or threshold ``min(max, max × ratio / T)`` (full points from T on).
* **Rounding**: ratio (in %) and score are published to 2 decimals, half up on the exact value
  (29/32 → 90.63 % and 18.13) — :mod:`shared.rounding`.
* **Empty units** (0/0) differ by indicator: the timeliness group and the payment ratios give 0; metric
  indicators give a null ratio and score that count 0 in the group total; the petition metrics give full points.

The arithmetic is exact (:class:`fractions.Fraction`) until the published rounding, so a group total built from
unrounded terms (online services, payment) is not off by a cent of accumulated rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from functools import cache

from shared.rounding import percent, round_half_up

__all__ = ["LINEAR", "EmptyRule", "Form", "Ratio", "Scored", "score", "threshold"]


@dataclass(frozen=True, slots=True)
class Ratio:
    """A count out of a count, as the portal publishes them (numerator / denominator)."""

    numerator: int
    denominator: int

    def __post_init__(self) -> None:
        numerator, denominator = self.numerator, self.denominator
        if type(numerator) is int and type(denominator) is int and 0 <= numerator <= denominator:
            return  # the common case, checked without a loop: a ranking builds ~100,000 ratios
        for name in ("numerator", "denominator"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")
        if self.numerator > self.denominator:
            raise ValueError(f"numerator ({self.numerator}) cannot exceed denominator ({self.denominator})")

    @property
    def empty(self) -> bool:
        return self.denominator == 0

    @property
    def value(self) -> Fraction:
        """The exact ratio (0 for an empty one: callers apply the empty rule before asking)."""
        return Fraction(self.numerator, self.denominator) if self.denominator else Fraction(0)

    def __add__(self, other: Ratio) -> Ratio:
        return Ratio(self.numerator + other.numerator, self.denominator + other.denominator)


class EmptyRule(StrEnum):
    """What a 0/0 indicator scores."""

    ZERO = "zero"  # ratio 0, score 0 (timeliness H44.01 and H44.23; 5.4; payment ratios)
    NULL = "null"  # ratio and score null, counting 0 in the group total (VP UBND: transparency 1.96)
    FULL = "full"  # full points (petition metrics without petitions: 492 observations)


@dataclass(frozen=True, slots=True)
class Form:
    """A scoring form: linear when ``threshold`` is None, else full points from ``threshold`` (a fraction) on."""

    threshold: Fraction | None = None

    def points(self, max_points: Decimal, value: Fraction) -> Fraction:
        """Exact points for an exact ratio ``value`` (0 ≤ value ≤ 1)."""
        top = _exact(max_points)
        if self.threshold is None:
            return top * value
        return min(top, top * value / self.threshold)

    def points_of(self, max_points: Decimal, numerator: int, denominator: int) -> Fraction:
        """:meth:`points` of ``numerator / denominator`` (denominator > 0), built as one fraction: a ranking of
        thousands of units scores tens of thousands of indicators."""
        top = _exact(max_points)
        if self.threshold is None:
            return Fraction(top.numerator * numerator, top.denominator * denominator)
        t = self.threshold
        return min(top, Fraction(top.numerator * numerator * t.denominator,
                                 top.denominator * denominator * t.numerator))

    @property
    def label(self) -> str:
        """How the form reads in a table: "tuyến tính" or "đủ điểm từ 80%"."""
        if self.threshold is None:
            return "tuyến tính"
        return f"đủ điểm từ {round_half_up(self.threshold * 100, 0)}%"


LINEAR = Form()


@cache
def _exact(max_points: Decimal) -> Fraction:
    return Fraction(max_points)


def threshold(percent_value: int) -> Form:
    """Full points at or above ``percent_value`` %, else ``max × ratio / threshold``."""
    if not 0 < percent_value <= 100:
        raise ValueError(f"a threshold is a percentage in (0, 100], got {percent_value}")
    return Form(Fraction(percent_value, 100))


@dataclass(frozen=True, slots=True)
class Scored:
    """One indicator's published figures: ratio in % and score, both 2 decimals (None = published as null),
    and the exact points that group totals are built from."""

    ratio: Decimal | None
    score: Decimal | None
    exact: Fraction | None


def score(max_points: Decimal, form: Form, empty: EmptyRule, ratio: Ratio) -> Scored:
    """The figures of one indicator from its ratio, by its form and its empty rule."""
    if ratio.empty:
        if empty is EmptyRule.ZERO:
            return Scored(round_half_up(0), round_half_up(0), Fraction(0))
        if empty is EmptyRule.FULL:
            return Scored(None, round_half_up(max_points), Fraction(max_points))
        return Scored(None, None, None)
    exact = form.points_of(max_points, ratio.numerator, ratio.denominator)
    return Scored(percent(ratio.numerator, ratio.denominator), round_half_up(exact), exact)

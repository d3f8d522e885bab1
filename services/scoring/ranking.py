"""Ranking (xếp hạng) and classification (xếp loại) of units by their PAR Index.

Units are ranked highest index first. The criteria set's tie rule decides what "equal" means:

``shared``
    units with the same displayed (2-decimal) index share a rank, and the next rank skips as many places
    as units tied (standard competition ranking): 95.00, 90.00, 90.00, 85.00 → 1, 2, 2, 4.
``unrounded``
    units are compared on their exact index, so two units both displayed as 90.00 (say 90.004 and 89.996)
    get ranks 2 and 3; only exactly equal indexes share a rank.

``tie_breakers`` (a list in the set, in order)
    units with equal displayed indexes are compared on each breaker in turn — the unrounded index, a named
    area's component index (as displayed), the appraised points — and share a rank only when equal on all.
    ``tie_rule: unrounded`` is the list ``[unrounded_index]``.

Units listed in the set's ``excluded_units`` are classified like the others but not ranked: their rank
is None and they take no place in the common ranking. Equal ranks are listed by unit code, so the order
never depends on the input order. Classification uses the displayed index: 90.00 is Tốt, 89.99 is Khá.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

from services.scoring.criteria import ClassBand, CriteriaSet, TieBreaker

__all__ = ["Rankable", "RankedUnit", "classify", "rank_units"]


class Rankable(Protocol):
    """What ranking reads of a result: a :class:`UnitResult`, or anything else with these three."""

    @property
    def unit_code(self) -> str: ...
    @property
    def index(self) -> Decimal: ...
    @property
    def index_unrounded(self) -> Fraction: ...


def _breaker_value(result: object, breaker: TieBreaker) -> object:
    """The value a tie-breaker compares (higher ranks first); a unit without it (no such area) comes last."""
    if breaker.kind == "unrounded_index":
        return result.index_unrounded  # type: ignore[attr-defined]
    if breaker.kind == "appraised_points":
        return Decimal(result.appraised_total)  # type: ignore[attr-defined]
    indexes = getattr(result, "area_indexes", None)
    if indexes is None:  # a UnitResult: its areas
        indexes = {a.area_id: a.index for a in getattr(result, "areas", ())}
    value = indexes.get(breaker.area_id)
    return Decimal("-Infinity") if value is None else Decimal(value)


@dataclass(frozen=True)
class RankedUnit:
    """A unit's place in the published ranking; ``rank`` is None for an excluded unit."""

    unit_code: str
    index: Decimal
    rank: int | None
    classification: str
    excluded: bool


def classify(index: Decimal, classes: Sequence[ClassBand]) -> str:
    """The name of the first band (highest first) whose ``min_index`` the index reaches.

    An index below every band (possible only through deductions) gets the lowest class.
    """
    if not classes:
        raise ValueError("no classification bands")
    for band in classes:
        if index >= band.min_index:
            return band.name
    return classes[-1].name


def rank_units(results: Sequence[Rankable], criteria_set: CriteriaSet) -> list[RankedUnit]:
    """Every unit, ranked ones first (highest index first, ties by unit code), then the excluded ones.

    Excluded units follow in the same order, with rank None. A unit code appearing twice is an error.
    """
    codes = [result.unit_code for result in results]
    if len(set(codes)) != len(codes):
        duplicates = sorted({code for code in codes if codes.count(code) > 1})
        raise ValueError(f"units listed more than once: {', '.join(duplicates)}")

    breakers = criteria_set.effective_tie_breakers()

    def key(result: Rankable) -> object:
        return (result.index, *(_breaker_value(result, breaker) for breaker in breakers))

    ordered = sorted(results, key=lambda result: result.unit_code)
    ordered.sort(key=key, reverse=True)  # stable: equal keys stay in unit-code order
    excluded = criteria_set.excluded_units
    classes = criteria_set.classes

    ranked: list[RankedUnit] = []
    left_out: list[RankedUnit] = []
    place = 0
    rank = 0
    previous: object = None
    for result in ordered:
        classification = classify(result.index, classes)
        if result.unit_code in excluded:
            left_out.append(RankedUnit(result.unit_code, result.index, None, classification, True))
            continue
        place += 1
        value = key(result)
        if value != previous:
            rank = place
            previous = value
        ranked.append(RankedUnit(result.unit_code, result.index, rank, classification, False))
    return ranked + left_out

"""The six groups and a unit's total, from per-indicator ratios.

Two kinds of group total (766-INDEX.md §2, "Rounding", V-data):

* **metric groups** (transparency, digitisation, satisfaction) publish every metric's ratio and score; the group
  total is the sum of the *displayed* (rounded) metric scores, a null metric counting 0 (VP UBND's transparency
  total 1.96, digitisation 2.00);
* **parameter groups** (timeliness, online services, online payment) publish only the total, rounded half up from
  the exact sum of their terms (online services: 2 + 4 × 406/1,968 + 6 = 8.825… → 8.83).

The unit's total is the sum of the six group scores (S6 returns totalScore beside the group scores; Phú Thọ
8/2026: 7.96 + 15.68 + 8.83 + 8.22 + 12.97 + 6.25 = 59.91) — the plain sum is inferred, consistent with every
published figure. The maxima are the same for the province and every unit below it (V-data, S3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from services.dossiers.index766.forms import Ratio, Scored
from services.dossiers.index766.indicators import (
    DIGITISATION,
    INDICATORS,
    ONLINE_PAYMENT,
    ONLINE_SERVICES,
    SATISFACTION,
    TIMELINESS,
    TRANSPARENCY,
    Indicator,
    scored,
)
from shared.rounding import percent, round_half_up

__all__ = ["GROUPS", "Group", "GroupScore", "IndicatorScore", "UnitIndex", "compute"]

CHILD_ZERO_NOTE = "Cổng DVCQG tính 0 điểm chỉ tiêu này cho đơn vị cấp dưới tỉnh"


@dataclass(frozen=True)
class Group:
    code: str
    portal_code: str  # the portal's groupScores code (S6); CLGQ is online services by elimination
    name_vi: str
    max_points: Decimal
    metric: bool  # total = sum of displayed metric scores; else the exact sum rounded once

    @property
    def indicators(self) -> tuple[Indicator, ...]:
        return _MEMBERS[self.code]

    @property
    def inferred_numbers(self) -> tuple[str, ...]:
        """The group's scored indicators whose method is inferred (766-INDEX.md): tables mark the group with them."""
        return tuple(ind.number for ind in self.indicators if ind.inferred and ind.max_points > 0)


# a group's indicators, looked up per unit and group by a ranking (a plain dict: no descriptor in the hot path)
_MEMBERS: dict[str, tuple[Indicator, ...]] = {}
for _ind in INDICATORS.values():
    _MEMBERS[_ind.group] = (*_MEMBERS.get(_ind.group, ()), _ind)


GROUPS: tuple[Group, ...] = (
    Group(TRANSPARENCY, "CKMB", "Công khai, minh bạch", Decimal(18), metric=True),
    Group(TIMELINESS, "TDGQ", "Tiến độ giải quyết", Decimal(20), metric=False),
    Group(ONLINE_SERVICES, "CLGQ", "Dịch vụ công trực tuyến", Decimal(12), metric=False),
    Group(DIGITISATION, "MDSH", "Số hóa hồ sơ", Decimal(22), metric=True),
    Group(SATISFACTION, "MDHL", "Mức độ hài lòng", Decimal(18), metric=True),
    Group(ONLINE_PAYMENT, "TTTT", "Thanh toán trực tuyến", Decimal(10), metric=False),
)


_ZERO = round_half_up(0)


@dataclass(frozen=True)
class IndicatorScore:
    indicator: Indicator
    ratio: Ratio
    figures: Scored
    note: str | None = None  # how this unit's figure was obtained, when it is not its own count
    forced: bool = False  # the score does not follow the ratio (0 below the province on 3.1)
    points: Decimal = field(init=False)  # the score, a null one counting 0
    points_lost: Decimal = field(init=False)

    def __post_init__(self) -> None:  # set once (cached_property locked on each of ~80,000 first reads)
        points = self.figures.score if self.figures.score is not None else _ZERO
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "points_lost", self.indicator.max_points - points)


@dataclass(frozen=True)
class GroupScore:
    group: Group
    indicators: tuple[IndicatorScore, ...]
    score: Decimal

    @property
    def points_lost(self) -> Decimal:
        return self.group.max_points - self.score


@dataclass(frozen=True)
class UnitIndex:
    groups: tuple[GroupScore, ...]
    total: Decimal

    @property
    def points_lost(self) -> Decimal:
        return sum((g.group.max_points for g in self.groups), Decimal(0)) - self.total

    def indicator(self, code: str) -> IndicatorScore:
        return next(i for g in self.groups for i in g.indicators if i.indicator.code == code)

    def group(self, code: str) -> GroupScore:
        return next(g for g in self.groups if g.group.code == code)


def _indicator_score(ind: Indicator, ratio: Ratio, is_root: bool, note: str | None) -> IndicatorScore:
    if ind.children_zero and not is_root:
        shown = None if ratio.empty else percent(ratio.numerator, ratio.denominator)
        return IndicatorScore(ind, ratio, Scored(shown, round_half_up(0), Fraction(0)), note or CHILD_ZERO_NOTE,
                              forced=True)
    return IndicatorScore(ind, ratio, scored(ind, ratio), note)


def _total(group: Group, scores: tuple[IndicatorScore, ...]) -> Decimal:
    if group.metric:
        return sum((s.points for s in scores), round_half_up(0))
    return round_half_up(sum((s.figures.exact or Fraction(0) for s in scores), Fraction(0)))


def compute(ratios: Mapping[str, Ratio], *, is_root: bool, notes: Mapping[str, str] | None = None) -> UnitIndex:
    """Every group of one unit from its indicators' ratios (a missing ratio is 0/0); ``is_root`` for the province
    itself (3.1 counts only there); ``notes`` say how a figure was obtained (copied from the province, assumed)."""
    notes = notes or {}
    unknown = set(ratios) - set(INDICATORS)
    if unknown:
        raise KeyError(f"unknown indicators {sorted(unknown)}")
    groups = []
    for group in GROUPS:
        scores = tuple(
            _indicator_score(ind, ratios.get(ind.code, Ratio(0, 0)), is_root, notes.get(ind.code))
            for ind in group.indicators
        )
        groups.append(GroupScore(group, scores, _total(group, scores)))
    return UnitIndex(tuple(groups), sum((g.score for g in groups), round_half_up(0)))

"""Where the points go: per unit, the points lost on each indicator and the dossiers, petitions, procedures or
communes behind them; per province, the units ranked by the points they have at stake.

An official acts on a list, not on a percentage: "these 37 dossiers are overdue", "these 12 procedures have no
online payment yet". For each indicator the list says why each item misses (the indicator's own reason), what one
item is worth (``max / denominator`` on a linear indicator, ``max / (threshold × denominator)`` below a threshold)
and how many items must change for full points. Applicants' names are masked (first letter of each word): these
lists are sent to units, and nobody needs the name to find a dossier by its code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from services.dossiers.index766.counting import Miss, Tally
from services.dossiers.index766.groups import IndicatorScore, UnitIndex
from shared.rounding import round_half_up

__all__ = ["IndicatorLoss", "UnitStanding", "indicator_losses", "mask_name", "rank_by_points_at_stake"]


def mask_name(name: str | None) -> str | None:
    """``Nguyễn Văn An`` → ``N*** V*** A***`` (the masking of the notifications service's listings)."""
    if not name:
        return None
    return " ".join(f"{word[:1]}***" for word in name.split()) or "***"


@dataclass(frozen=True)
class IndicatorLoss:
    score: IndicatorScore
    missing: int  # items in the denominator and not in the numerator
    items_to_full: int  # how many of them must change for full points
    points_per_item: Decimal | None  # what one of them is worth now (None when nothing is missing)
    items: tuple[Miss, ...]  # up to the limit the tally kept

    @property
    def points_lost(self) -> Decimal:
        return self.score.points_lost


def _worth(score: IndicatorScore) -> tuple[int, Decimal | None]:
    ind, ratio = score.indicator, score.ratio
    missing = ratio.denominator - ratio.numerator
    if ratio.empty or missing == 0 or ind.max_points == 0 or score.forced:
        return 0, None
    threshold = ind.form.threshold
    if threshold is None:
        return missing, round_half_up(Fraction(ind.max_points) / ratio.denominator, 4)
    needed = max(0, math.ceil(threshold * ratio.denominator) - ratio.numerator)
    per_item = Fraction(ind.max_points) / (threshold * ratio.denominator) if needed else Fraction(0)
    return needed, round_half_up(per_item, 4)


def indicator_losses(index: UnitIndex, tally: Tally) -> list[IndicatorLoss]:
    """Every indicator that costs the unit points, the costliest first."""
    losses = []
    for group in index.groups:
        for score in group.indicators:
            if score.points_lost <= 0:
                continue
            needed, per_item = _worth(score)
            ratio = score.ratio
            items = () if score.forced else tuple(tally.misses.get(score.indicator.code, ()))  # nothing to act on
            losses.append(IndicatorLoss(score, ratio.denominator - ratio.numerator, needed, per_item, items))
    return sorted(losses, key=lambda loss: (-loss.points_lost, loss.score.indicator.number))


def miss_row(miss: Miss) -> dict[str, Any]:
    """A JSON-ready row of one item, personal data masked."""
    row: dict[str, Any] = {"kind": miss.kind, "code": miss.code, "unit_code": miss.unit_code, "reason": miss.reason}
    for key, value in miss.detail.items():
        if key == "applicant_name":
            row["applicant"] = mask_name(value)
        elif hasattr(value, "isoformat"):
            row[key] = value.isoformat()
        else:
            row[key] = value
    return row


@dataclass(frozen=True)
class UnitStanding:
    unit_code: str
    unit_name: str
    unit_kind: str
    index: UnitIndex
    board_rank: int  # by total, highest first; equal totals share a rank

    @property
    def points_lost(self) -> Decimal:
        return self.index.points_lost


def rank_by_points_at_stake(units: Sequence[tuple[str, str, str]], indexes: Mapping[str, UnitIndex]
                            ) -> list[UnitStanding]:
    """Units (code, name, kind) ranked by the points they lose, most first; each keeps its rank on the board."""
    totals = sorted((indexes[code].total for code, _, _ in units), reverse=True)
    rank_of = {}
    for position, total in enumerate(totals, start=1):
        rank_of.setdefault(total, position)
    standings = [UnitStanding(code, name, kind, indexes[code], rank_of[indexes[code].total])
                 for code, name, kind in units]
    return sorted(standings, key=lambda s: (-s.points_lost, s.unit_code))

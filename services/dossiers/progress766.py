"""Decision 766/QĐ-TTg timeliness: the "tiến độ giải quyết" indicator, worth at most 20 points.

Decision 766 scores each agency's service quality on the national public-service portal; timeliness is one
group of it. Its two inputs are counts that the caller has already established for a unit and a period:

``on_time``
    dossiers handled within their deadline — those still in progress whose due date has not passed at the
    end of the period, plus those finished early (trước hạn), on time (đúng hạn) or returned in time.
``total``
    dossiers received or processed in the period (hồ sơ tiếp nhận và xử lý trong kỳ).

Two rules shape those counts and are applied where the counting is done, not here: the time the applicant
spends completing a supplement request is subtracted before judging a dossier, and a dossier that needed
more than one supplement request counts as late whatever its dates. An unfinished dossier is judged at the
end of the period. This differs on purpose from the plain on-time rate of a period report
((early + on time) / finished): the province needs both figures.

The arithmetic reproduces the portal's published output exactly: rate = 100 × on_time / total and
score = 20 × on_time / total, each rounded half up to 2 decimals, and 0 for a unit that received nothing
(checked against all 164 rows of Phú Thọ's month 8/2026, see tests/unit/test_progress766.py).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from shared.rounding import percent, round_half_up

__all__ = ["MAX_POINTS", "progress_rate", "progress_score"]

# Maximum of the timeliness group in Decision 766's index for provinces and communes.
MAX_POINTS = Decimal(20)


def _check_counts(on_time: int, total: int) -> None:
    """Reject counts that cannot come from real dossiers: a silent wrong score is worse than an error."""
    for name, count in (("on_time", on_time), ("total", total)):
        if isinstance(count, bool) or not isinstance(count, int):
            raise TypeError(f"{name} must be an int, got {type(count).__name__}")
        if count < 0:
            raise ValueError(f"{name} must not be negative, got {count}")
    if on_time > total:
        raise ValueError(f"on_time ({on_time}) cannot exceed total ({total})")


def progress_rate(on_time: int, total: int) -> Decimal:
    """Share of dossiers handled on time, in percent, rounded half up to 2 decimals (0 when total is 0).

    This is the "tỷ lệ" column the portal publishes next to the score (29 of 32 → 90.63).
    """
    _check_counts(on_time, total)
    return percent(on_time, total)


def progress_score(on_time: int, total: int, max_points: Decimal = MAX_POINTS) -> Decimal:
    """Timeliness points: ``max_points × on_time / total``, half up to 2 decimals (0 when total is 0).

    Computed from the exact ratio, never from the rounded rate, so the score does not inherit the rate's
    rounding: 29 of 32 gives 18.13 (20 × 0.90625 = 18.125, a tie rounded up). ``max_points`` is a parameter
    because the maximum is set by the criteria set in force, not by this formula.
    """
    _check_counts(on_time, total)
    if max_points < 0:
        raise ValueError(f"max_points must not be negative, got {max_points}")
    if total == 0:
        return round_half_up(0)
    return round_half_up(Fraction(max_points) * Fraction(on_time, total))

"""Progress of a unit's yearly administrative-reform plan (kế hoạch CCHC năm).

Each plan item is done (đã hoàn thành), in progress (đang thực hiện) or not started (chưa thực hiện);
progress = items / total × 100, rounded half up to 2 decimals. A district in 2020: 14 of 31 items done
= 45.16%, 14 in progress = 45.16%, 3 not started = 9.68% (../shared/spec/DOMAIN.md, "PAR Index scoring").
The three percentages are rounded separately and need not add up to exactly 100.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from shared.rounding import percent

__all__ = ["PlanError", "PlanItemStatus", "PlanProgress", "plan_progress"]


class PlanError(ValueError):
    """A plan item status that is not one of :class:`PlanItemStatus`."""


class PlanItemStatus(StrEnum):
    DONE = "done"  # đã hoàn thành
    IN_PROGRESS = "in_progress"  # đang thực hiện
    NOT_STARTED = "not_started"  # chưa thực hiện


@dataclass(frozen=True)
class PlanProgress:
    """Counts of plan items by status and their shares of the total (%, 2 decimals; 0.00 for no items)."""

    total: int
    done: int
    in_progress: int
    not_started: int
    done_pct: Decimal
    in_progress_pct: Decimal
    not_started_pct: Decimal


def plan_progress(statuses: Iterable[str]) -> PlanProgress:
    """Count the plan items' statuses ("done", "in_progress", "not_started") and their percentages."""
    counts = dict.fromkeys(PlanItemStatus, 0)
    for position, status in enumerate(statuses):
        try:
            counts[PlanItemStatus(status)] += 1
        except ValueError:
            expected = ", ".join(item.value for item in PlanItemStatus)
            raise PlanError(f"plan item #{position + 1}: unknown status {status!r} (expected {expected})") \
                from None
    total = sum(counts.values())
    done, in_progress, not_started = (
        counts[PlanItemStatus.DONE], counts[PlanItemStatus.IN_PROGRESS], counts[PlanItemStatus.NOT_STARTED]
    )
    return PlanProgress(
        total=total,
        done=done,
        in_progress=in_progress,
        not_started=not_started,
        done_pct=percent(done, total),
        in_progress_pct=percent(in_progress, total),
        not_started_pct=percent(not_started, total),
    )

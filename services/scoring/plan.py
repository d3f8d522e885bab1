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
from typing import Any

from shared.rounding import percent

__all__ = ["PlanError", "PlanItemStatus", "PlanProgress", "check_plan_items", "plan_progress", "plan_summary",
           "replace_plan"]


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


# -- storage (the service's plan_items table) -------------------------------------------------------------------


def check_plan_items(items: list[dict[str, str]]) -> None:
    """Refuse a plan whose items lack a title or carry an unknown status; the message names ``items[i].field``."""
    allowed = sorted(status.value for status in PlanItemStatus)
    for i, item in enumerate(items):
        if item.get("status") not in allowed:
            raise PlanError(f"items[{i}].status: phải là một trong {allowed} (must be one of {allowed})")
        if not str(item.get("title", "")).strip():
            raise PlanError(f"items[{i}].title: không được để trống (required)")


def replace_plan(session: Any, unit_code: str, year: int, items: list[dict[str, str]], now: Any) -> None:
    """The unit's plan for the year becomes ``items`` (checked first: nothing is replaced by a bad plan)."""
    import sqlalchemy as sa

    from services.scoring.models import PlanItem

    check_plan_items(items)
    session.execute(sa.delete(PlanItem).where(PlanItem.unit_code == unit_code, PlanItem.year == year))
    session.add_all(PlanItem(unit_code=unit_code, year=year, title=i["title"], status=i["status"], updated_at=now)
                    for i in items)


def plan_summary(session: Any, unit_code: str, year: int) -> dict[str, Any]:
    """The unit's plan progress for the year as the RPC answers it."""
    import sqlalchemy as sa

    from services.scoring.models import PlanItem

    statuses = session.scalars(sa.select(PlanItem.status).where(PlanItem.unit_code == unit_code,
                                                                PlanItem.year == year)).all()
    progress = plan_progress(statuses)
    return {"unit_code": unit_code, "year": year, "total": progress.total, "done": progress.done,
            "in_progress": progress.in_progress, "not_started": progress.not_started,
            "done_pct": str(progress.done_pct), "in_progress_pct": str(progress.in_progress_pct),
            "not_started_pct": str(progress.not_started_pct)}

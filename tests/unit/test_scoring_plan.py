"""Yearly CCHC plan progress: the district's 2020 figures of ../shared/spec/DOMAIN.md."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.scoring.plan import PlanError, PlanItemStatus, PlanProgress, plan_progress


def test_district_2020_plan_14_of_31_done() -> None:
    statuses = ["done"] * 14 + ["in_progress"] * 14 + ["not_started"] * 3
    assert plan_progress(statuses) == PlanProgress(
        total=31, done=14, in_progress=14, not_started=3,
        done_pct=Decimal("45.16"), in_progress_pct=Decimal("45.16"), not_started_pct=Decimal("9.68"),
    )


def test_any_iterable_and_enum_members() -> None:
    progress = plan_progress(iter([PlanItemStatus.DONE, "done", "not_started"]))
    assert (progress.total, progress.done, progress.not_started) == (3, 2, 1)
    assert (progress.done_pct, progress.in_progress_pct, progress.not_started_pct) == (
        Decimal("66.67"), Decimal("0.00"), Decimal("33.33"))


def test_half_up_rounding() -> None:
    # 1 of 8 = 12.5% exactly; 1 of 16 = 6.25%; 1 of 32 = 3.125% → 3.13 (half up, not half even)
    assert plan_progress(["done"] + ["in_progress"] * 31).done_pct == Decimal("3.13")


def test_empty_plan() -> None:
    progress = plan_progress([])
    assert progress.total == 0
    assert progress.done_pct == progress.in_progress_pct == progress.not_started_pct == Decimal("0.00")


def test_unknown_status() -> None:
    with pytest.raises(PlanError, match="plan item #2: unknown status 'hoàn thành'") as error:
        plan_progress(["done", "hoàn thành"])
    assert isinstance(error.value, ValueError)

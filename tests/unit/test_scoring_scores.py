"""What units and the appraisal council may submit: points, evidence, and the submission window."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from services.scoring.criteria import DATA_DIR, Leaf, load_criteria_set
from services.scoring.scores import ScoreError, check_points, check_window

D = Decimal
ICT = timezone(timedelta(hours=7))
DEPARTMENT = load_criteria_set(DATA_DIR / "department-2026.yaml")
SELF = DEPARTMENT.leaf("1.1.3")  # self-assessed, max 1, step 0.25, evidence required
INITIATIVE = DEPARTMENT.leaf("1.5")  # self-assessed, max 2, step 0.5
COMPUTED = DEPARTMENT.leaf("3.5")  # progress_766_rate, max 2
SURVEY = DEPARTMENT.leaf("8.1")
DEDUCTION = DEPARTMENT.leaf("5.5.3")  # max 2, step 0.5, no evidence required
DOCS = ["QĐ 123/QĐ-SNV ngày 10/01/2026"]


@pytest.mark.parametrize("points", ["0", "0.25", "0.5", "0.75", "1", "1.00"])
def test_self_assessment_on_the_step(points: str) -> None:
    check_points(SELF, D(points), DOCS, role="self")


@pytest.mark.parametrize(
    ("leaf", "points", "role", "field", "message"),
    [
        (SELF, "-0.25", "self", "points", "không được âm"),
        (SELF, "1.25", "self", "points", "1.25 vượt điểm tối đa 1 của tiêu chí 1.1.3"),
        (SELF, "0.3", "self", "points", "0.3 không phải bội số của bước chấm 0.25 của tiêu chí 1.1.3"),
        (SELF, "0.3", "appraisal", "points", "không phải bội số"),  # the council keeps the same step
        (INITIATIVE, "1.25", "self", "points", "bước chấm 0.5"),
        (DEDUCTION, "0.5", "self", "points", "là điểm trừ: nhập 0 hoặc số âm"),
        (DEDUCTION, "-2.5", "appraisal", "points", "điểm trừ -2.5 vượt mức trừ tối đa -2 của tiêu chí 5.5.3"),
        (DEDUCTION, "-0.25", "appraisal", "points", "bước chấm 0.5"),
        (COMPUTED, "1", "self", "leaf", "tính từ số liệu (progress_766_rate)"),
        (COMPUTED, "2.5", "appraisal", "points", "vượt điểm tối đa 2"),
        (COMPUTED, "1.234", "appraisal", "points", "bước chấm 0.01"),
        (SURVEY, "5", "self", "leaf", "điều tra xã hội học"),
        (SURVEY, "5", "appraisal", "leaf", "not submitted"),
    ],
)
def test_refused_points(leaf: Leaf, points: str, role: str, field: str, message: str) -> None:
    with pytest.raises(ScoreError, match=re.escape(message)) as error:
        check_points(leaf, D(points), DOCS, role=role)  # type: ignore[arg-type]
    assert error.value.field == field
    assert isinstance(error.value, ValueError)


def test_deductions_and_council_overrides_that_are_accepted() -> None:
    for points in ("0", "-0.5", "-2"):
        check_points(DEDUCTION, D(points), [], role="self")
        check_points(DEDUCTION, D(points), [], role="appraisal")
    check_points(COMPUTED, D("1.37"), [], role="appraisal")  # the council may override a computed leaf
    check_points(SELF, 1, DOCS, role="self")  # an int is exact too


def test_evidence() -> None:
    with pytest.raises(ScoreError, match="cần tài liệu kiểm chứng") as error:
        check_points(SELF, D("0.5"), [], role="self")
    assert error.value.field == "evidence"
    check_points(SELF, D(0), [], role="self")  # claiming nothing needs no proof
    check_points(SELF, D("0.5"), [], role="appraisal")  # the council's score needs none
    check_points(DEDUCTION, D("-1"), [], role="self")  # this set asks none for deductions
    for bad in (["  "], [""], [None]):
        with pytest.raises(ScoreError, match="tài liệu kiểm chứng #1 để trống") as error:
            check_points(SELF, D("0.5"), bad, role="self")  # type: ignore[arg-type]
        assert error.value.field == "evidence"
    with pytest.raises(ScoreError, match="không phải một chuỗi") as error:
        check_points(SELF, D("0.5"), "bien-ban.pdf", role="self")
    assert error.value.field == "evidence"


@pytest.mark.parametrize("points", [0.5, True, "0.5", D("NaN"), D("Infinity")])
def test_points_must_be_exact_numbers(points: object) -> None:
    with pytest.raises(ScoreError) as error:
        check_points(SELF, points, DOCS, role="self")  # type: ignore[arg-type]
    assert error.value.field == "points"


def test_unknown_role() -> None:
    with pytest.raises(ScoreError) as error:
        check_points(SELF, D("0.5"), DOCS, role="council")  # type: ignore[arg-type]
    assert error.value.field == "role"


# ------------------------------------------------------------------------------------------------ window


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 11, 5, 0, 0, tzinfo=ICT),  # the opening instant
        datetime(2026, 11, 10, 14, 30, tzinfo=ICT),
        datetime(2026, 11, 15, 23, 59, 59, tzinfo=ICT),  # the closing instant
        datetime(2026, 11, 4, 17, 0, tzinfo=UTC),  # = 5/11 00:00 in Hà Nội
        datetime(2026, 11, 15, 16, 59, 59, tzinfo=UTC),  # = 15/11 23:59:59 in Hà Nội
    ],
)
def test_inside_the_window(at: datetime) -> None:
    check_window(DEPARTMENT, at)


@pytest.mark.parametrize(
    ("at", "message"),
    [
        (datetime(2026, 11, 4, 23, 59, 59, 999999, tzinfo=ICT), "opens at 2026-11-05T00:00:00+07:00"),
        (datetime(2026, 11, 16, 0, 0, tzinfo=ICT), "closed at 2026-11-15T23:59:59+07:00"),
        (datetime(2026, 11, 15, 23, 59, 59, 1, tzinfo=ICT), "closed at"),
        (datetime(2026, 11, 15, 17, 0, tzinfo=UTC), "closed at"),
        (datetime(2025, 11, 10, tzinfo=ICT), "opens at"),
    ],
)
def test_outside_the_window(at: datetime, message: str) -> None:
    with pytest.raises(ScoreError, match=re.escape(message)) as error:
        check_window(DEPARTMENT, at)
    assert error.value.field == "submitted_at"
    assert "department-2026 v1" in str(error.value)


def test_naive_submission_time_is_refused() -> None:
    with pytest.raises(ScoreError, match="múi giờ") as error:
        check_window(DEPARTMENT, datetime(2026, 11, 10, 9, 0))
    assert error.value.field == "submitted_at"

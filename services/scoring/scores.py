"""Checks on the points a unit submits (self-assessment) or the appraisal council sets (appraisal).

Units self-assess (tự đánh giá) the self-assessed leaves and report deductions (điểm trừ) inside the
criteria set's submission window, attaching evidence documents (tài liệu kiểm chứng) where the set asks
for them; the appraisal council (hội đồng thẩm định) then accepts or adjusts each score. Computed leaves
come from the dossiers service and survey leaves from the survey import: nobody submits them — only the
council may override a computed leaf's points. These functions hold those rules; the service calls them
before it stores anything and turns :class:`ScoreError` into a 4xx answer naming ``field``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Literal

from services.scoring.criteria import CriteriaSet, Leaf, MethodKind
from shared.local_time import local_iso

__all__ = ["APPRAISAL_STEP", "ScoreError", "check_points", "check_window"]

# Step of the council's override of a computed leaf, whose points are themselves rounded to 2 decimals.
APPRAISAL_STEP = Decimal("0.01")

Role = Literal["self", "appraisal"]


class ScoreError(ValueError):
    """Points, evidence or a submission time that cannot be accepted; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")  # what travels over RPC must name the field
        self.field = field
        self.message = message


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


def check_points(leaf: Leaf, points: Decimal, evidence: Sequence[str], *, role: Role,
                 quantum: Decimal = APPRAISAL_STEP) -> None:
    """Refuse ``points`` for ``leaf`` submitted in ``role`` ("self" for the unit, "appraisal" for the council).

    Self-assessed and bonus leaves take 0…max_points, deductions 0 down to −max_points, all in multiples of
    the leaf's step (the same step for both roles). A self-assessment other than 0 of a leaf that requires
    evidence needs at least one evidence document (a non-empty reference); the council's score needs none.
    The council may override a computed leaf (0…max, in steps of ``quantum``: the set's 0.01 or 0.001);
    survey leaves are imported, never submitted. Messages are Vietnamese (users read them) and name the leaf.
    """
    if role not in ("self", "appraisal"):
        raise ScoreError("role", f"role must be 'self' or 'appraisal', got {role!r}")
    method = leaf.method
    if method.kind is MethodKind.SURVEY:
        raise ScoreError(
            "leaf", f"tiêu chí {leaf.id} chấm bằng điều tra xã hội học và được nhập theo từng đơn vị: không "
                    "nộp điểm cho tiêu chí này (not submitted)"
        )
    if method.kind is MethodKind.COMPUTED and role == "self":
        metric = method.metric.value if method.metric else "data"
        raise ScoreError(
            "leaf", f"tiêu chí {leaf.id} được hệ thống tính từ số liệu ({metric}): đơn vị không tự chấm"
        )
    if isinstance(points, bool) or not isinstance(points, Decimal | int):
        raise ScoreError(
            "points", f"điểm phải là số thập phân chính xác (Decimal), nhận được {type(points).__name__}"
        )
    points = Decimal(points)
    if not points.is_finite():
        raise ScoreError("points", f"điểm phải là một số hữu hạn, nhận được {points}")

    maximum = leaf.max_points
    if method.kind is MethodKind.DEDUCTION:
        if points > 0:
            raise ScoreError(
                "points", f"tiêu chí {leaf.id} là điểm trừ: nhập 0 hoặc số âm, không phải {_fmt(points)}"
            )
        if points < -maximum:
            raise ScoreError(
                "points", f"điểm trừ {_fmt(points)} vượt mức trừ tối đa -{_fmt(maximum)} của tiêu chí {leaf.id}"
            )
    else:
        if points < 0:
            raise ScoreError("points", f"điểm của tiêu chí {leaf.id} không được âm, nhận được {_fmt(points)}")
        if points > maximum:
            raise ScoreError(
                "points", f"{_fmt(points)} vượt điểm tối đa {_fmt(maximum)} của tiêu chí {leaf.id}"
            )

    step = method.step if method.step is not None else quantum
    if points % step != 0:
        raise ScoreError(
            "points", f"{_fmt(points)} không phải bội số của bước chấm {_fmt(step)} của tiêu chí {leaf.id}"
        )

    if isinstance(evidence, str):
        raise ScoreError("evidence", "tài liệu kiểm chứng phải là danh sách các tài liệu, không phải một chuỗi")
    for position, item in enumerate(evidence):
        if not isinstance(item, str) or not item.strip():
            raise ScoreError("evidence", f"tài liệu kiểm chứng #{position + 1} để trống: ghi số, ký hiệu tài liệu")
    if role == "self" and method.evidence_required and points != 0 and not evidence:
        raise ScoreError(
            "evidence", f"tiêu chí {leaf.id} cần tài liệu kiểm chứng cho {_fmt(points)} điểm tự chấm"
        )


def check_window(criteria_set: CriteriaSet, at: datetime) -> None:
    """Refuse a self-assessment submitted at ``at`` outside the set's window (both ends inclusive).

    ``at`` must be an aware datetime: a naive one is ambiguous between the server's zone and local time.
    """
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ScoreError("submitted_at", f"thời điểm nộp phải có múi giờ (UTC offset), nhận được {at!r}")
    opens, closes = criteria_set.window_opens, criteria_set.window_closes
    if at < opens:
        raise ScoreError(
            "submitted_at", f"thời hạn tự đánh giá của bộ tiêu chí {criteria_set.label} mở từ "
                            f"{local_iso(opens)} đến {local_iso(closes)}; chưa đến thời hạn (opens at "
                            f"{local_iso(opens)}), nộp lúc {local_iso(at)}"
        )
    if at > closes:
        raise ScoreError(
            "submitted_at", f"thời hạn tự đánh giá của bộ tiêu chí {criteria_set.label} từ {local_iso(opens)} "
                            f"đến {local_iso(closes)} đã kết thúc (closed at {local_iso(closes)}), nộp lúc "
                            f"{local_iso(at)}"
        )

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


def check_points(leaf: Leaf, points: Decimal, evidence: Sequence[str], *, role: Role) -> None:
    """Refuse ``points`` for ``leaf`` submitted in ``role`` ("self" for the unit, "appraisal" for the council).

    Self-assessed leaves take 0…max_points, deductions 0 down to −max_points, both in multiples of the
    leaf's step (the same step for both roles). A self-assessment above 0 of a leaf that requires evidence
    needs at least one evidence document (a non-empty reference); the council's score needs none. The
    council may override a computed leaf (0…max, step 0.01); survey leaves are imported, never submitted.
    """
    if role not in ("self", "appraisal"):
        raise ScoreError("role", f"role must be 'self' or 'appraisal', got {role!r}")
    method = leaf.method
    if method.kind is MethodKind.SURVEY:
        raise ScoreError(
            "leaf", f"leaf {leaf.id} is scored by the sociological survey (điều tra xã hội học) and imported "
                    "per unit: it is not submitted"
        )
    if method.kind is MethodKind.COMPUTED and role == "self":
        metric = method.metric.value if method.metric else "data"
        raise ScoreError(
            "leaf", f"leaf {leaf.id} is computed from {metric} by the system: units do not self-assess it"
        )
    if isinstance(points, bool) or not isinstance(points, Decimal | int):
        raise ScoreError(
            "points", f"points must be a Decimal, got {type(points).__name__} (a float such as 0.1 is not exact)"
        )
    points = Decimal(points)
    if not points.is_finite():
        raise ScoreError("points", f"points must be a finite number, got {points}")

    maximum = leaf.max_points
    if method.kind is MethodKind.DEDUCTION:
        if points > 0:
            raise ScoreError(
                "points", f"leaf {leaf.id} is a deduction (điểm trừ): enter 0 or a negative number, not "
                          f"{_fmt(points)}"
            )
        if points < -maximum:
            raise ScoreError(
                "points", f"deduction {_fmt(points)} exceeds the largest deduction of leaf {leaf.id}, "
                          f"-{_fmt(maximum)}"
            )
    else:
        if points < 0:
            raise ScoreError("points", f"points must not be negative, got {_fmt(points)}")
        if points > maximum:
            raise ScoreError(
                "points", f"{_fmt(points)} is above the maximum {_fmt(maximum)} of leaf {leaf.id}"
            )

    step = method.step if method.step is not None else APPRAISAL_STEP
    if points % step != 0:
        raise ScoreError(
            "points", f"{_fmt(points)} is not a multiple of leaf {leaf.id}'s step {_fmt(step)}"
        )

    if isinstance(evidence, str):
        raise ScoreError("evidence", "evidence must be a list of document references, not a single string")
    for position, item in enumerate(evidence):
        if not isinstance(item, str) or not item.strip():
            raise ScoreError("evidence", f"evidence #{position + 1} is empty: give the document's reference")
    if role == "self" and method.evidence_required and points != 0 and not evidence:
        raise ScoreError(
            "evidence", f"leaf {leaf.id} requires evidence (tài liệu kiểm chứng) for the {_fmt(points)} points "
                        "claimed"
        )


def check_window(criteria_set: CriteriaSet, at: datetime) -> None:
    """Refuse a self-assessment submitted at ``at`` outside the set's window (both ends inclusive).

    ``at`` must be an aware datetime: a naive one is ambiguous between the server's zone and local time.
    """
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ScoreError("submitted_at", f"the submission time must carry a UTC offset, got {at!r}")
    opens, closes = criteria_set.window_opens, criteria_set.window_closes
    if at < opens:
        raise ScoreError(
            "submitted_at", f"the self-assessment window of {criteria_set.label} opens at "
                            f"{local_iso(opens)}; submitted at {local_iso(at)}"
        )
    if at > closes:
        raise ScoreError(
            "submitted_at", f"the self-assessment window of {criteria_set.label} closed at "
                            f"{local_iso(closes)}; submitted at {local_iso(at)}"
        )

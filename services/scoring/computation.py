"""One unit's PAR Index (Chỉ số CCHC) result from what is known about each leaf of a criteria set.

The rules (../shared/spec/DOMAIN.md, "PAR Index scoring"):

* a **self-assessed** leaf scores its appraised points (điểm thẩm định) once the appraisal council has
  scored it, until then the unit's self-assessed points (điểm tự đánh giá) — and the result is provisional;
* a **computed** leaf maps the unit's rate from the dossiers service through the leaf's bands or threshold
  (:func:`map_metric`); appraised points, when the council set any, override it;
* a **survey** leaf scores the imported survey points (điểm điều tra xã hội học);
* a **deduction** (điểm trừ) subtracts its appraised points, or until appraisal its self-reported points
  (0 when nothing is reported); deductions never add to any maximum;
* a leaf that does not apply to the unit — flagged by the appraisal (``LeafInput.not_applicable``) or listed
  in the leaf's ``not_applicable_for`` — leaves the maximum: a published ranking shows a unit with 68.32
  points at 81.33%, i.e. out of 84;
* when the set's survey was not held and ``rescale_when_absent`` is set, survey leaves leave the maximum
  too, so the index is taken over the rest (Hà Nội 2024: appraised points rescaled to 100); not held
  without rescaling, they score 0 out of their maximum;
* a leaf with no points yet counts 0 and keeps its maximum (and the result is provisional).

Index = points / applicable maximum × 100, rounded half up to 2 decimals; the exact value is kept as a
:class:`~fractions.Fraction` for the ``unrounded`` tie rule. Each area gets its own component index the
same way. The index is not clamped: deductions larger than the points earned would make it negative.

Speed: recomputing 3,321 communes must take well under 2 s. :func:`compile_set` turns a set into a flat
plan once (cached per set), and the inner loop adds integer hundredths instead of Decimals; points carry
at most 2 decimals, so the integers are exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from services.scoring.criteria import CriteriaSet, Method, MethodKind
from services.scoring.scores import ScoreError
from shared.rounding import round_half_up

__all__ = [
    "SOURCES",
    "AreaResult",
    "CompiledSet",
    "LeafInput",
    "LeafResult",
    "UnitResult",
    "compile_set",
    "compute_unit",
    "map_metric",
]

# LeafResult.source values: where the points of a leaf came from.
SOURCES = frozenset({"appraised", "self", "computed", "survey", "deduction", "missing", "not_applicable"})

_HUNDRED = Decimal(100)
_ZERO = Decimal("0.00")


@dataclass(frozen=True)
class LeafInput:
    """What the service knows about one leaf for one unit; every field but ``leaf_id`` may be unknown."""

    leaf_id: str
    self_points: Decimal | None = None  # điểm tự đánh giá
    appraised_points: Decimal | None = None  # điểm thẩm định: the index uses these when present
    survey_points: Decimal | None = None  # điểm điều tra xã hội học
    metric_value: Decimal | None = None  # computed leaves: the rate (percent) from the dossiers service
    not_applicable: bool = False  # set by the appraisal: the leaf does not apply to this unit


@dataclass(frozen=True)
class LeafResult:
    """Points of one leaf. ``points`` is None when the leaf does not apply or nothing is known yet.

    ``source``: appraised | self | computed | survey | deduction | missing | not_applicable.
    """

    leaf_id: str
    points: Decimal | None
    max_points: Decimal
    applicable: bool
    source: str


@dataclass(frozen=True)
class AreaResult:
    """An area's points over its applicable maximum, and its component index (%, 2 decimals).

    An area none of whose leaves apply has maximum 0 and index 0.00.
    """

    area_id: str
    title: str
    points: Decimal
    applicable_max: Decimal
    index: Decimal


@dataclass(frozen=True)
class UnitResult:
    """A unit's PAR Index result for one criteria set.

    ``self_total``: self-assessed points of the non-survey leaves (computed leaves count their computed
    points, which the unit does not assess, so that it compares with ``appraised_total``);
    ``appraised_total``: the non-survey points the index uses (appraised where scored, else provisional);
    ``survey_total``: survey points; ``total_points`` = appraised_total + survey_total.
    ``provisional``: some applicable leaf has no appraisal yet (self points only, or nothing at all).
    """

    unit_code: str
    self_total: Decimal
    appraised_total: Decimal
    survey_total: Decimal
    total_points: Decimal
    applicable_max: Decimal
    index: Decimal
    index_unrounded: Fraction
    areas: tuple[AreaResult, ...]
    leaves: tuple[LeafResult, ...]
    provisional: bool


def map_metric(method: Method, leaf_max: Decimal, value: Decimal | None) -> Decimal | None:
    """Points of a computed leaf for a rate ``value`` (percent, 0–100); None when the rate is unknown.

    Bands: the band with the highest ``min`` at or below the rate gives its points (0 below the lowest).
    Threshold (Decision 766 style): ``leaf_max`` at or above the threshold, otherwise
    rate × leaf_max / threshold, half up to 2 decimals — an online share of 40% against 50% with 2 points
    gives 1.60. The result always carries 2 decimals.
    """
    if method.kind is not MethodKind.COMPUTED:
        raise ValueError(f"map_metric() needs a computed method, got {method.kind.value}")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"a rate must be a Decimal, got {type(value).__name__}")
    if not Decimal(value).is_finite() or not 0 <= value <= _HUNDRED:
        raise ValueError(f"a rate is a percentage between 0 and 100, got {value}")
    if method.bands:
        for band in method.bands:
            if value >= band.min:
                return round_half_up(band.points)
        return _ZERO
    threshold = method.threshold
    assert threshold is not None  # criteria.py guarantees bands or threshold
    if value >= threshold:
        return round_half_up(leaf_max)
    return round_half_up(Fraction(value) * Fraction(leaf_max) / Fraction(threshold))


# ------------------------------------------------------------------------------------------ compiled plan

_SELF, _COMPUTED, _SURVEY, _DEDUCTION = range(4)
_KIND_CODE = {
    MethodKind.SELF: _SELF,
    MethodKind.COMPUTED: _COMPUTED,
    MethodKind.SURVEY: _SURVEY,
    MethodKind.DEDUCTION: _DEDUCTION,
}


@dataclass(frozen=True)
class _LeafPlan:
    """One leaf, flattened: what the inner loop needs, with the results that never vary made up front."""

    id: str
    kind: int
    max_h: int  # maximum in hundredths of a point
    max_d: Decimal  # maximum, 2 decimals
    area: int  # position of the leaf's area
    not_applicable_for: frozenset[str]
    method: Method
    bands: tuple[tuple[Decimal, Decimal, int], ...]  # computed by bands: (min, points, points in hundredths)
    not_applicable: LeafResult
    missing: LeafResult


@dataclass(frozen=True)
class CompiledSet:
    """A criteria set flattened for fast repeated scoring (build it with :func:`compile_set`)."""

    criteria_set: CriteriaSet
    leaves: tuple[_LeafPlan, ...]
    leaf_ids: frozenset[str]
    area_ids: tuple[str, ...]
    area_titles: tuple[str, ...]
    area_max: tuple[int, ...]  # hundredths, deductions excluded
    survey_held: bool
    skip_survey: bool  # survey not held and rescaled away: survey leaves leave the maximum
    zero_survey: bool  # survey not held, no rescaling: survey leaves score 0 out of their maximum


@lru_cache(maxsize=64)
def compile_set(criteria_set: CriteriaSet) -> CompiledSet:
    """The set's scoring plan, built once per set (sets hash by checksum, so the lookup is cheap)."""
    area_position = {area.id: position for position, area in enumerate(criteria_set.areas)}
    area_max = [0] * len(criteria_set.areas)
    leaves = []
    for leaf in criteria_set.leaves():
        kind = _KIND_CODE[leaf.method.kind]
        max_h = _exact_hundredths(leaf.max_points)
        max_d = _decimal(max_h)
        position = area_position[leaf.area_id]
        if kind != _DEDUCTION:
            area_max[position] += max_h
        bands = tuple(
            (band.min, _decimal(_exact_hundredths(band.points)), _exact_hundredths(band.points))
            for band in leaf.method.bands
        )
        leaves.append(
            _LeafPlan(
                id=leaf.id,
                kind=kind,
                max_h=max_h,
                max_d=max_d,
                area=position,
                not_applicable_for=leaf.not_applicable_for,
                method=leaf.method,
                bands=bands,
                not_applicable=LeafResult(leaf.id, None, max_d, False, "not_applicable"),
                missing=LeafResult(leaf.id, None, max_d, True, "missing"),
            )
        )
    not_held = not criteria_set.survey_held
    return CompiledSet(
        criteria_set=criteria_set,
        leaves=tuple(leaves),
        leaf_ids=frozenset(leaf.id for leaf in leaves),
        area_ids=tuple(area.id for area in criteria_set.areas),
        area_titles=tuple(area.title for area in criteria_set.areas),
        area_max=tuple(area_max),
        survey_held=criteria_set.survey_held,
        skip_survey=not_held and criteria_set.rescale_when_absent,
        zero_survey=not_held and not criteria_set.rescale_when_absent,
    )


# ------------------------------------------------------------------------------------ integer hundredths


def _exact_hundredths(points: Decimal | int) -> int:
    """Points as an exact number of hundredths; ValueError if they carry more than 2 decimals."""
    if not Decimal(points).is_finite():
        raise ValueError(f"points must be a finite number, got {points}")
    numerator, denominator = points.as_integer_ratio()  # exact, whatever the Decimal context's precision
    hundredths, remainder = divmod(numerator * 100, denominator)
    if remainder:
        raise ValueError(f"points carry at most 2 decimals, got {points}")
    return hundredths


def _decimal(hundredths: int) -> Decimal:
    """Hundredths back to a 2-decimal Decimal (6832 → Decimal('68.32'), 0 → Decimal('0.00'))."""
    return Decimal(hundredths).scaleb(-2)


# Decimal → hundredths of the values seen so far: a recalculation meets the same few hundred values
# (multiples of a step up to the largest maximum) again and again. Bounded, so odd inputs cannot grow it.
_SEEN: dict[Decimal, int] = {}
_SEEN_LIMIT = 50_000


def _hundredths(value: object, low: int, high: int, unit_code: str, leaf_id: str, field: str) -> int:
    """``value`` (Decimal points) in hundredths, checked against [low, high] hundredths."""
    if type(value) is Decimal:
        try:
            hundredths = _SEEN.get(value)
        except TypeError:  # a signalling NaN cannot be hashed
            hundredths = None
    else:
        hundredths = None
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise ScoreError(field, f"unit {unit_code}, leaf {leaf_id}: {field} must be a Decimal, got "
                                    f"{type(value).__name__}")
    if hundredths is None:
        try:
            hundredths = _exact_hundredths(value)  # type: ignore[arg-type]
        except ValueError as error:
            raise ScoreError(field, f"unit {unit_code}, leaf {leaf_id}: {field}: {error}") from None
        if type(value) is Decimal and len(_SEEN) < _SEEN_LIMIT:
            _SEEN[value] = hundredths  # type: ignore[index]
    if not low <= hundredths <= high:
        raise ScoreError(
            field, f"unit {unit_code}, leaf {leaf_id}: {field} {value} is outside {_decimal(low)}…{_decimal(high)}"
        )
    return hundredths


def _percent_hundredths(points: int, maximum: int) -> int:
    """100 × points / maximum in hundredths of a percent, half up (ties away from zero).

    The rule of :func:`shared.rounding.round_half_up` done on integers, because a recalculation rounds
    ten or so indexes per unit; tests check that both agree.
    """
    numerator = points * 10_000
    if numerator >= 0:
        return (2 * numerator + maximum) // (2 * maximum)
    return -((-2 * numerator + maximum) // (2 * maximum))


def _index(points: int, maximum: int) -> Decimal:
    if maximum == 0:
        return _ZERO
    return _decimal(_percent_hundredths(points, maximum))


def _metric_points(plan: _LeafPlan, value: object, unit_code: str) -> tuple[Decimal, int]:
    """:func:`map_metric` for the compiled leaf, with its result in hundredths too."""
    if type(value) is not Decimal or not value.is_finite() or not 0 <= value <= _HUNDRED:  # type: ignore[attr-defined]
        points = _map(plan.method, plan.max_d, value, unit_code, plan.id)  # validates, raises on a bad rate
        return points, _exact_hundredths(points)
    if plan.bands:
        for minimum, points, hundredths in plan.bands:
            if value >= minimum:
                return points, hundredths
        return _ZERO, 0
    if value >= plan.method.threshold:  # type: ignore[operator]
        return plan.max_d, plan.max_h
    points = map_metric(plan.method, plan.max_d, value)  # type: ignore[arg-type]
    assert points is not None
    return points, _exact_hundredths(points)


def _map(method: Method, leaf_max: Decimal, value: object, unit_code: str, leaf_id: str) -> Decimal:
    try:
        points = map_metric(method, leaf_max, value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        raise ScoreError("metric_value", f"unit {unit_code}, leaf {leaf_id}: {error}") from None
    assert points is not None
    return points


# ------------------------------------------------------------------------------------------------ compute


def compute_unit(criteria_set: CriteriaSet, unit_code: str, inputs: Mapping[str, LeafInput]) -> UnitResult:
    """The unit's result under the rules in the module docstring.

    ``inputs`` maps leaf ids to what is known; a leaf without an entry has no points yet. Fields that do
    not belong to the leaf's method are ignored (a computed leaf's ``self_points``, a survey leaf's
    ``appraised_points``). An input for a leaf the set does not have, points outside a leaf's range or
    with more than 2 decimals, a rate outside 0–100, and survey points for a set whose survey was not held
    raise :class:`ScoreError`: a silent wrong index is worse than an error.
    """
    plan = compile_set(criteria_set)
    area_points = [0] * len(plan.area_max)
    area_max = list(plan.area_max)
    self_total = appraised_total = survey_total = 0
    provisional = False
    used = 0
    results: list[LeafResult] = []
    append = results.append
    get = inputs.get
    skip_survey, zero_survey, survey_held = plan.skip_survey, plan.zero_survey, plan.survey_held

    for leaf in plan.leaves:
        leaf_id, kind, max_h, area = leaf.id, leaf.kind, leaf.max_h, leaf.area
        given = get(leaf_id)
        if given is not None:
            used += 1
            if given.leaf_id != leaf_id:
                raise ScoreError("leaf_id", f"unit {unit_code}: the input under {leaf_id} is for leaf "
                                            f"{given.leaf_id}")
            if kind == _SURVEY and not survey_held and given.survey_points is not None:
                raise ScoreError("survey_points", f"unit {unit_code}, leaf {leaf_id}: criteria set "
                                                  f"{criteria_set.label} held no survey")
        if (
            (given is not None and given.not_applicable)
            or (leaf.not_applicable_for and unit_code in leaf.not_applicable_for)
            or (skip_survey and kind == _SURVEY)
        ):
            if kind != _DEDUCTION:
                area_max[area] -= max_h
            append(leaf.not_applicable)
            continue
        if given is None:
            if kind == _DEDUCTION:
                append(LeafResult(leaf_id, _ZERO, leaf.max_d, True, "deduction"))
            elif kind == _SURVEY and zero_survey:
                append(LeafResult(leaf_id, _ZERO, leaf.max_d, True, "survey"))
            else:
                provisional = True
                append(leaf.missing)
            continue

        if kind == _SELF:
            self_points = given.self_points
            if self_points is not None:
                self_h = _hundredths(self_points, 0, max_h, unit_code, leaf_id, "self_points")
                self_total += self_h
            if given.appraised_points is not None:
                points, source = given.appraised_points, "appraised"
                hundredths = _hundredths(points, 0, max_h, unit_code, leaf_id, "appraised_points")
            elif self_points is not None:
                points, source, hundredths = self_points, "self", self_h
                provisional = True
            else:
                provisional = True
                append(leaf.missing)
                continue
            appraised_total += hundredths

        elif kind == _COMPUTED:
            computed = None
            if given.metric_value is not None:
                computed, computed_h = _metric_points(leaf, given.metric_value, unit_code)
                self_total += computed_h
            if given.appraised_points is not None:
                points, source = given.appraised_points, "appraised"
                hundredths = _hundredths(points, 0, max_h, unit_code, leaf_id, "appraised_points")
            elif computed is not None:
                points, source, hundredths = computed, "computed", computed_h
            else:
                provisional = True
                append(leaf.missing)
                continue
            appraised_total += hundredths

        elif kind == _SURVEY:
            points = given.survey_points
            if points is None:
                if zero_survey:
                    append(LeafResult(leaf_id, _ZERO, leaf.max_d, True, "survey"))
                else:
                    provisional = True
                    append(leaf.missing)
                continue
            source = "survey"
            hundredths = _hundredths(points, 0, max_h, unit_code, leaf_id, "survey_points")
            survey_total += hundredths

        else:  # deduction: 0 down to −max, never part of a maximum
            points, source, hundredths = _ZERO, "deduction", 0
            self_points = given.self_points
            if self_points is not None:
                self_h = _hundredths(self_points, -max_h, 0, unit_code, leaf_id, "self_points")
                self_total += self_h
            if given.appraised_points is not None:
                points = given.appraised_points
                hundredths = _hundredths(points, -max_h, 0, unit_code, leaf_id, "appraised_points")
            elif self_points is not None:
                points, hundredths = self_points, self_h
                provisional = True
            appraised_total += hundredths

        area_points[area] += hundredths
        append(LeafResult(leaf_id, points, leaf.max_d, True, source))

    if used != len(inputs):
        unknown = sorted(set(inputs) - plan.leaf_ids)
        raise ScoreError("leaf_id", f"unit {unit_code}: criteria set {criteria_set.label} has no leaf "
                                    f"{', '.join(unknown)}")

    titles = plan.area_titles
    areas = tuple(
        AreaResult(area_id, titles[position], _decimal(area_points[position]), _decimal(area_max[position]),
                   _index(area_points[position], area_max[position]))
        for position, area_id in enumerate(plan.area_ids)
    )
    total = appraised_total + survey_total
    maximum = sum(area_max)
    return UnitResult(
        unit_code=unit_code,
        self_total=_decimal(self_total),
        appraised_total=_decimal(appraised_total),
        survey_total=_decimal(survey_total),
        total_points=_decimal(total),
        applicable_max=_decimal(maximum),
        index=_index(total, maximum),
        index_unrounded=Fraction(total * 100, maximum) if maximum else Fraction(0),
        areas=areas,
        leaves=tuple(results),
        provisional=provisional,
    )

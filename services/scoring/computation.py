"""One unit's PAR Index (Chỉ số CCHC) result from what is known about each leaf of a criteria set.

The rules (../shared/spec/DOMAIN.md, "PAR Index scoring"):

* a **self-assessed** leaf scores its appraised points (điểm thẩm định) once the appraisal council has
  scored it, until then the unit's self-assessed points (điểm tự đánh giá) — and the result is provisional;
* a **computed** leaf maps the unit's rate from the dossiers service through the leaf's bands or threshold
  (:func:`map_metric`); appraised points, when the council set any, override it;
* a **survey** leaf scores the imported survey points (điểm điều tra xã hội học);
* a **deduction** (điểm trừ) subtracts its appraised points, or until appraisal its self-reported points
  (0 when nothing is reported); deductions never add to any maximum;
* a **bonus** (điểm thưởng) adds its appraised (else self-reported) points, 0 when nothing is reported; it
  never adds to any maximum either, so the index may pass 100 — unless the set caps it (``cap_index_at``);
* a **computed** leaf with nothing to measure (no dossiers in the year: the dossiers service sends the rate
  as absent, ``LeafInput.nothing_to_measure``) does not apply: it leaves the maximum, never scores 0;
* a leaf that does not apply to the unit — flagged by the appraisal (``LeafInput.not_applicable``) or listed
  in the leaf's ``not_applicable_for`` — leaves the maximum: a published ranking shows a unit with 68.32
  points at 81.33%, i.e. out of 84;
* when the set's survey was not held and ``rescale_when_absent`` is set, survey leaves leave the maximum
  too, so the index is taken over the rest (Hà Nội 2024: appraised points rescaled to 100); not held
  without rescaling, they score 0 out of their maximum;
* a leaf with no points yet counts 0 and keeps its maximum (and the result is provisional).

Index = points / applicable maximum × 100, rounded half up to the set's precision (2 decimals, or 3); the
exact value is kept as a :class:`~fractions.Fraction` for the tie-breakers. Each area gets its own component
index the same way. The index is not clamped below: deductions larger than the points earned would make it
negative; above, only ``cap_index_at`` clamps it (exact value included).

Speed: recomputing 3,321 communes must take well under 2 s. :func:`compile_set` turns a set into a flat
plan once (cached per set), and the inner loop adds integer units (hundredths, or thousandths for a
3-decimal set) instead of Decimals; points carry at most the set's decimals, so the integers are exact.
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
SOURCES = frozenset({"appraised", "self", "computed", "survey", "deduction", "bonus", "missing",
                     "not_applicable"})

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
    nothing_to_measure: bool = False  # computed leaves: the rate is known to be absent (no dossiers)


@dataclass(frozen=True)
class LeafResult:
    """Points of one leaf. ``points`` is None when the leaf does not apply or nothing is known yet.

    ``source``: appraised | self | computed | survey | deduction | bonus | missing | not_applicable.
    """

    leaf_id: str
    points: Decimal | None
    max_points: Decimal
    applicable: bool
    source: str


@dataclass(frozen=True)
class AreaResult:
    """An area's points over its applicable maximum, and its component index (%, the set's decimals).

    An area none of whose leaves apply has maximum 0 and index 0.00; an area of bonus or deduction leaves
    only (Điểm thưởng) has no maximum and no index (None): its points are what it brings.
    """

    area_id: str
    title: str
    points: Decimal
    applicable_max: Decimal
    index: Decimal | None


@dataclass(frozen=True)
class UnitResult:
    """A unit's PAR Index result for one criteria set.

    ``self_total``: self-assessed points of the non-survey leaves (computed leaves count their computed
    points, which the unit does not assess, so that it compares with ``appraised_total``);
    ``appraised_total``: the non-survey points the index uses (appraised where scored, else provisional);
    ``survey_total``: survey points; ``total_points`` = appraised_total + survey_total.
    ``bonus_total``: the bonus points inside ``appraised_total`` (shown apart in the ranking).
    ``provisional``: some applicable leaf has no appraisal yet (self points only, or nothing at all).
    ``precision``: the set's decimals, which every Decimal here carries.
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
    bonus_total: Decimal = Decimal("0.00")
    precision: int = 2


def map_metric(method: Method, leaf_max: Decimal, value: Decimal | None, places: int = 2) -> Decimal | None:
    """Points of a computed leaf for a rate ``value`` (percent, 0–100); None when the rate is unknown.

    Bands: the band with the highest ``min`` at or below the rate gives its points (0 below the lowest).
    Threshold (Decision 766 style): ``leaf_max`` at or above the threshold, otherwise
    rate × leaf_max / threshold, half up to ``places`` decimals (the set's precision) — an online share of
    40% against 50% with 2 points gives 1.60. The result always carries ``places`` decimals.
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
                return round_half_up(band.points, places)
        return round_half_up(0, places)
    threshold = method.threshold
    assert threshold is not None  # criteria.py guarantees bands or threshold
    if value >= threshold:
        return round_half_up(leaf_max, places)
    return round_half_up(Fraction(value) * Fraction(leaf_max) / Fraction(threshold), places)


# ------------------------------------------------------------------------------------------ compiled plan

_SELF, _COMPUTED, _SURVEY, _DEDUCTION, _BONUS = range(5)
_KIND_CODE = {
    MethodKind.SELF: _SELF,
    MethodKind.COMPUTED: _COMPUTED,
    MethodKind.SURVEY: _SURVEY,
    MethodKind.DEDUCTION: _DEDUCTION,
    MethodKind.BONUS: _BONUS,
}
_EXTRA = (_DEDUCTION, _BONUS)  # beside the maximum


@dataclass(frozen=True)
class _LeafPlan:
    """One leaf, flattened: what the inner loop needs, with the results that never vary made up front."""

    id: str
    kind: int
    max_h: int  # maximum in units of the set's precision (hundredths or thousandths of a point)
    max_d: Decimal  # maximum, with the set's decimals
    area: int  # position of the leaf's area
    not_applicable_for: frozenset[str]
    method: Method
    bands: tuple[tuple[Decimal, Decimal, int], ...]  # computed by bands: (min, points, points in units)
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
    area_max: tuple[int, ...]  # units, deductions and bonuses excluded
    extra_areas: frozenset[int]  # positions of areas made only of bonus / deduction leaves
    places: int  # the set's precision
    scale: int  # 10 ** places
    zero: Decimal
    cap: Fraction | None  # cap_index_at
    survey_held: bool
    skip_survey: bool  # survey not held and rescaled away: survey leaves leave the maximum
    zero_survey: bool  # survey not held, no rescaling: survey leaves score 0 out of their maximum


@lru_cache(maxsize=64)
def compile_set(criteria_set: CriteriaSet) -> CompiledSet:
    """The set's scoring plan, built once per set (sets hash by checksum, so the lookup is cheap)."""
    places = criteria_set.precision
    scale = 10**places
    area_position = {area.id: position for position, area in enumerate(criteria_set.areas)}
    area_max = [0] * len(criteria_set.areas)
    leaves = []
    for leaf in criteria_set.leaves():
        kind = _KIND_CODE[leaf.method.kind]
        max_h = _exact_units(leaf.max_points, scale)
        max_d = _decimal(max_h, places)
        position = area_position[leaf.area_id]
        if kind not in _EXTRA:
            area_max[position] += max_h
        bands = tuple(
            (band.min, _decimal(_exact_units(band.points, scale), places), _exact_units(band.points, scale))
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
        extra_areas=frozenset(position for position, area in enumerate(criteria_set.areas) if area.is_extra),
        places=places,
        scale=scale,
        zero=_decimal(0, places),
        cap=Fraction(criteria_set.cap_index_at) if criteria_set.cap_index_at is not None else None,
        survey_held=criteria_set.survey_held,
        skip_survey=not_held and criteria_set.rescale_when_absent,
        zero_survey=not_held and not criteria_set.rescale_when_absent,
    )


# ------------------------------------------------------------------------------------------ integer units


def _exact_units(points: Decimal | int, scale: int = 100) -> int:
    """Points as an exact number of 1/scale points; ValueError if they carry more decimals than that."""
    if not Decimal(points).is_finite():
        raise ValueError(f"points must be a finite number, got {points}")
    numerator, denominator = points.as_integer_ratio()  # exact, whatever the Decimal context's precision
    units, remainder = divmod(numerator * scale, denominator)
    if remainder:
        places = len(str(scale)) - 1
        raise ValueError(f"points carry at most {places} decimals, got {points}")
    return units


def _exact_hundredths(points: Decimal | int) -> int:
    """Points as an exact number of hundredths (the 2-decimal case of :func:`_exact_units`)."""
    return _exact_units(points, 100)


def _decimal(units: int, places: int = 2) -> Decimal:
    """Units back to a Decimal with ``places`` decimals (6832 → Decimal('68.32'), 0 → Decimal('0.00'))."""
    return Decimal(units).scaleb(-places)


# Decimal → units of the values seen so far, per scale: a recalculation meets the same few hundred values
# (multiples of a step up to the largest maximum) again and again. Bounded, so odd inputs cannot grow it.
_SEEN: dict[int, dict[Decimal, int]] = {100: {}, 1000: {}}
_SEEN_LIMIT = 50_000


def _units(value: object, low: int, high: int, unit_code: str, leaf_id: str, field: str, scale: int) -> int:
    """``value`` (Decimal points) in units of 1/scale, checked against [low, high] units."""
    seen = _SEEN.setdefault(scale, {})
    if type(value) is Decimal:
        try:
            units = seen.get(value)
        except TypeError:  # a signalling NaN cannot be hashed
            units = None
    else:
        units = None
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise ScoreError(field, f"unit {unit_code}, leaf {leaf_id}: {field} must be a Decimal, got "
                                    f"{type(value).__name__}")
    if units is None:
        try:
            units = _exact_units(value, scale)  # type: ignore[arg-type]
        except ValueError as error:
            raise ScoreError(field, f"unit {unit_code}, leaf {leaf_id}: {field}: {error}") from None
        if type(value) is Decimal and len(seen) < _SEEN_LIMIT:
            seen[value] = units  # type: ignore[index]
    if not low <= units <= high:
        places = len(str(scale)) - 1
        raise ScoreError(
            field, f"unit {unit_code}, leaf {leaf_id}: {field} {value} is outside "
                   f"{_decimal(low, places)}…{_decimal(high, places)}"
        )
    return units


def _hundredths(value: object, low: int, high: int, unit_code: str, leaf_id: str, field: str) -> int:
    return _units(value, low, high, unit_code, leaf_id, field, 100)


def _percent_units(points: int, maximum: int, scale: int) -> int:
    """100 × points / maximum in 1/scale of a percent, half up (ties away from zero).

    The rule of :func:`shared.rounding.round_half_up` done on integers, because a recalculation rounds
    ten or so indexes per unit; tests check that both agree.
    """
    numerator = points * 100 * scale
    if numerator >= 0:
        return (2 * numerator + maximum) // (2 * maximum)
    return -((-2 * numerator + maximum) // (2 * maximum))


def _percent_hundredths(points: int, maximum: int) -> int:
    return _percent_units(points, maximum, 100)


def _index(points: int, maximum: int, places: int = 2) -> Decimal:
    if maximum == 0:
        return _decimal(0, places)
    return _decimal(_percent_units(points, maximum, 10**places), places)


def _metric_points(plan: _LeafPlan, value: object, unit_code: str, places: int) -> tuple[Decimal, int]:
    """:func:`map_metric` for the compiled leaf, with its result in units too."""
    scale = 10**places
    if type(value) is not Decimal or not value.is_finite() or not 0 <= value <= _HUNDRED:  # type: ignore[attr-defined]
        points = _map(plan.method, plan.max_d, value, unit_code, plan.id, places)  # validates, raises on a bad rate
        return points, _exact_units(points, scale)
    if plan.bands:
        for minimum, points, units in plan.bands:
            if value >= minimum:
                return points, units
        return _decimal(0, places), 0
    if value >= plan.method.threshold:  # type: ignore[operator]
        return plan.max_d, plan.max_h
    points = map_metric(plan.method, plan.max_d, value, places)  # type: ignore[arg-type]
    assert points is not None
    return points, _exact_units(points, scale)


def _map(method: Method, leaf_max: Decimal, value: object, unit_code: str, leaf_id: str, places: int) -> Decimal:
    try:
        points = map_metric(method, leaf_max, value, places)  # type: ignore[arg-type]
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
    with more decimals than the set's precision, a rate outside 0–100, and survey points for a set whose
    survey was not held raise :class:`ScoreError`: a silent wrong index is worse than an error.
    """
    plan = compile_set(criteria_set)
    places, scale, zero = plan.places, plan.scale, plan.zero
    area_points = [0] * len(plan.area_max)
    area_max = list(plan.area_max)
    self_total = appraised_total = survey_total = bonus_total = 0
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
            (given is not None and (given.not_applicable or (
                kind == _COMPUTED and given.nothing_to_measure and given.metric_value is None
                and given.appraised_points is None)))
            or (leaf.not_applicable_for and unit_code in leaf.not_applicable_for)
            or (skip_survey and kind == _SURVEY)
        ):
            if kind not in _EXTRA:
                area_max[area] -= max_h
            append(leaf.not_applicable)
            continue
        if given is None:
            if kind == _DEDUCTION:
                append(LeafResult(leaf_id, zero, leaf.max_d, True, "deduction"))
            elif kind == _BONUS:
                append(LeafResult(leaf_id, zero, leaf.max_d, True, "bonus"))
            elif kind == _SURVEY and zero_survey:
                append(LeafResult(leaf_id, zero, leaf.max_d, True, "survey"))
            else:
                provisional = True
                append(leaf.missing)
            continue

        if kind == _SELF:
            self_points = given.self_points
            if self_points is not None:
                self_h = _units(self_points, 0, max_h, unit_code, leaf_id, "self_points", scale)
                self_total += self_h
            if given.appraised_points is not None:
                points, source = given.appraised_points, "appraised"
                units = _units(points, 0, max_h, unit_code, leaf_id, "appraised_points", scale)
            elif self_points is not None:
                points, source, units = self_points, "self", self_h
                provisional = True
            else:
                provisional = True
                append(leaf.missing)
                continue
            appraised_total += units

        elif kind == _COMPUTED:
            computed = None
            if given.metric_value is not None:
                computed, computed_h = _metric_points(leaf, given.metric_value, unit_code, places)
                self_total += computed_h
            if given.appraised_points is not None:
                points, source = given.appraised_points, "appraised"
                units = _units(points, 0, max_h, unit_code, leaf_id, "appraised_points", scale)
            elif computed is not None:
                points, source, units = computed, "computed", computed_h
            else:
                provisional = True
                append(leaf.missing)
                continue
            appraised_total += units

        elif kind == _SURVEY:
            points = given.survey_points
            if points is None:
                if zero_survey:
                    append(LeafResult(leaf_id, zero, leaf.max_d, True, "survey"))
                else:
                    provisional = True
                    append(leaf.missing)
                continue
            source = "survey"
            units = _units(points, 0, max_h, unit_code, leaf_id, "survey_points", scale)
            survey_total += units

        else:  # deduction: 0 down to −max; bonus: 0 up to max; never part of a maximum
            low, high = (-max_h, 0) if kind == _DEDUCTION else (0, max_h)
            points, source, units = zero, "deduction" if kind == _DEDUCTION else "bonus", 0
            self_points = given.self_points
            if self_points is not None:
                self_h = _units(self_points, low, high, unit_code, leaf_id, "self_points", scale)
                self_total += self_h
            if given.appraised_points is not None:
                points = given.appraised_points
                units = _units(points, low, high, unit_code, leaf_id, "appraised_points", scale)
            elif self_points is not None:
                points, units = self_points, self_h
                provisional = True
            appraised_total += units
            if kind == _BONUS:
                bonus_total += units

        area_points[area] += units
        append(LeafResult(leaf_id, _decimal(units, places), leaf.max_d, True, source))

    if used != len(inputs):
        unknown = sorted(set(inputs) - plan.leaf_ids)
        raise ScoreError("leaf_id", f"unit {unit_code}: criteria set {criteria_set.label} has no leaf "
                                    f"{', '.join(unknown)}")

    titles = plan.area_titles
    extra = plan.extra_areas
    areas = tuple(
        AreaResult(area_id, titles[position], _decimal(area_points[position], places),
                   _decimal(area_max[position], places),
                   None if position in extra else _index(area_points[position], area_max[position], places))
        for position, area_id in enumerate(plan.area_ids)
    )
    total = appraised_total + survey_total
    maximum = sum(area_max)
    exact = Fraction(total * 100, maximum) if maximum else Fraction(0)
    index = _index(total, maximum, places)
    if plan.cap is not None and exact > plan.cap:
        exact = plan.cap
        index = round_half_up(plan.cap, places)
    return UnitResult(
        unit_code=unit_code,
        self_total=_decimal(self_total, places),
        appraised_total=_decimal(appraised_total, places),
        survey_total=_decimal(survey_total, places),
        total_points=_decimal(total, places),
        applicable_max=_decimal(maximum, places),
        index=index,
        index_unrounded=exact,
        areas=areas,
        leaves=tuple(results),
        provisional=provisional,
        bonus_total=_decimal(bonus_total, places),
        precision=places,
    )

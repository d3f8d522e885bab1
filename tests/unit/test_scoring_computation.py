"""A unit's PAR Index: how each leaf scores, what leaves the maximum, and the index arithmetic."""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from services.scoring import computation
from services.scoring.computation import LeafInput, compile_set, compute_unit, map_metric
from services.scoring.criteria import (
    DATA_DIR,
    Band,
    CriteriaSet,
    Method,
    MethodKind,
    Metric,
    load_criteria_set,
    parse_criteria_set,
)
from services.scoring.scores import ScoreError
from shared.rounding import round_half_up

D = Decimal
DEPARTMENT = load_criteria_set(DATA_DIR / "department-2026.yaml")
COMMUNE = load_criteria_set(DATA_DIR / "commune-2026.yaml")
DISTRICT = load_criteria_set(DATA_DIR / "district-2024.yaml")

BANDS = Method(MethodKind.COMPUTED, metric=Metric.ON_TIME_RATE,
               bands=(Band(D(100), D(3)), Band(D(98), D(2)), Band(D(95), D(1)), Band(D(0), D(0))))
THRESHOLD_50 = Method(MethodKind.COMPUTED, metric=Metric.ONLINE_SHARE, threshold=D(50))
THRESHOLD_80 = Method(MethodKind.COMPUTED, metric=Metric.PROGRESS_766_RATE, threshold=D(80))


def _full(cs: CriteriaSet, unit_code: str = "U1", **overrides: Decimal) -> dict[str, LeafInput]:
    """Every leaf appraised at its maximum (rates at 100%, survey full, no deduction), then ``overrides``
    (leaf id with dots as underscores → appraised or survey points)."""
    inputs = {}
    for leaf in cs.leaves():
        value = overrides.get(leaf.id.replace(".", "_"))
        kind = leaf.method.kind
        if kind is MethodKind.SELF:
            points = leaf.max_points if value is None else value
            inputs[leaf.id] = LeafInput(leaf.id, self_points=leaf.max_points, appraised_points=points)
        elif kind is MethodKind.COMPUTED:
            inputs[leaf.id] = LeafInput(leaf.id, metric_value=D(100), appraised_points=value)
        elif kind is MethodKind.SURVEY and cs.survey_held:
            inputs[leaf.id] = LeafInput(leaf.id, survey_points=leaf.max_points if value is None else value)
        elif kind is MethodKind.DEDUCTION and value is not None:
            inputs[leaf.id] = LeafInput(leaf.id, appraised_points=value)
    return inputs


# ------------------------------------------------------------------------------------------- map_metric


@pytest.mark.parametrize(
    ("rate", "points"),
    [("100", "3.00"), ("99.99", "2.00"), ("98", "2.00"), ("97.99", "1.00"), ("95.00", "1.00"), ("94.99", "0.00"),
     ("0", "0.00")],
)
def test_bands_highest_reached_min_wins(rate: str, points: str) -> None:
    assert str(map_metric(BANDS, D(3), D(rate))) == points


def test_rate_below_the_lowest_band_earns_nothing() -> None:
    method = dataclasses.replace(BANDS, bands=(Band(D(100), D(2)), Band(D(95), D(1))))
    assert map_metric(method, D(2), D("94.5")) == D("0.00")


@pytest.mark.parametrize(
    ("method", "maximum", "rate", "points"),
    [
        (THRESHOLD_50, "2", "40", "1.60"),  # 40 × 2 / 50
        (THRESHOLD_50, "2", "55", "2.00"),  # above the threshold: full
        (THRESHOLD_50, "2", "50", "2.00"),  # at the threshold: full
        (THRESHOLD_50, "2", "49.99", "2.00"),  # 1.9996 rounds up to the maximum
        (THRESHOLD_50, "2", "0", "0.00"),
        (THRESHOLD_80, "2", "5", "0.13"),  # 0.125 exactly: half up, not half even
        (THRESHOLD_80, "3", "62.5", "2.34"),  # 2.34375
        (THRESHOLD_80, "2", "100", "2.00"),
    ],
)
def test_threshold_rule_of_decision_766(method: Method, maximum: str, rate: str, points: str) -> None:
    assert str(map_metric(method, D(maximum), D(rate))) == points


def test_map_metric_edges() -> None:
    assert map_metric(BANDS, D(3), None) is None
    with pytest.raises(ValueError, match="between 0 and 100"):
        map_metric(BANDS, D(3), D("100.01"))
    with pytest.raises(ValueError, match="between 0 and 100"):
        map_metric(THRESHOLD_50, D(3), D(-1))
    with pytest.raises(ValueError, match="computed method"):
        map_metric(Method(MethodKind.SELF, step=D("0.25")), D(3), D(50))
    with pytest.raises(TypeError):
        map_metric(THRESHOLD_50, D(2), 40.0)  # type: ignore[arg-type]


# -------------------------------------------------------------------------------- the published example


def test_68_32_points_out_of_84_is_81_33_percent() -> None:
    """A published ranking shows a unit with 68.32 points at 81.33%: leaves that do not apply (16 points
    here) leave the maximum, so the index is 68.32 / 84."""
    # Thanh tra tỉnh (H44.23): the set says 3.4, 3.5, 6.4 and 7.2.1 do not apply to it (10 points) ...
    unit = "H44.23"
    inputs = _full(DEPARTMENT, unit, **{"1_5": D("0.5"), "5_2": D(0), "7_3_1": D(0), "7_3_2": D(0), "7_4": D(0),
                                        "7_5": D(0), "8_1": D("6.57"), "8_2": D("4.25"), "8_3": D(5)})
    # ... and the appraisal council finds 6 more points not applicable to it.
    for leaf_id in ("6.1.1", "6.1.2", "4.3", "2.4"):
        inputs[leaf_id] = LeafInput(leaf_id, not_applicable=True)
    result = compute_unit(DEPARTMENT, unit, inputs)
    assert result.total_points == D("68.32")
    assert result.applicable_max == D("84.00")
    assert result.index == D("81.33")
    assert result.index_unrounded == Fraction(6832, 84)
    assert result.survey_total == D("15.82")
    assert result.appraised_total == D("52.50")
    assert not result.provisional
    not_applicable = {leaf.leaf_id for leaf in result.leaves if not leaf.applicable}
    assert not_applicable == {"3.4", "3.5", "6.4", "7.2.1", "6.1.1", "6.1.2", "4.3", "2.4"}
    assert all(leaf.source == "not_applicable" and leaf.points is None
               for leaf in result.leaves if not leaf.applicable)
    # Another unit, to which every leaf applies, is scored out of 100.
    assert compute_unit(DEPARTMENT, "H44.19", _full(DEPARTMENT)).applicable_max == D("100.00")


# ---------------------------------------------------------------------------------------- leaf sources


def test_each_method_scores_from_its_source() -> None:
    inputs = {
        "1.1.1": LeafInput("1.1.1", self_points=D("0.5"), appraised_points=D("0.25")),  # appraisal wins
        "1.1.2": LeafInput("1.1.2", self_points=D("0.5")),  # self only: provisional
        "3.4": LeafInput("3.4", metric_value=D("98.5")),  # bands: ≥98 → 2
        "3.5": LeafInput("3.5", metric_value=D("60")),  # 60 × 2 / 80 = 1.50
        "7.2.1": LeafInput("7.2.1", metric_value=D("40"), appraised_points=D("2.5")),  # council overrides
        "8.1": LeafInput("8.1", survey_points=D("7.25")),
        "5.5.3": LeafInput("5.5.3", self_points=D("-0.5"), appraised_points=D("-1")),
    }
    result = compute_unit(DEPARTMENT, "H44.19", inputs)
    by_id = {leaf.leaf_id: leaf for leaf in result.leaves}
    assert (by_id["1.1.1"].points, by_id["1.1.1"].source) == (D("0.25"), "appraised")
    assert (by_id["1.1.2"].points, by_id["1.1.2"].source) == (D("0.5"), "self")
    assert (by_id["3.4"].points, by_id["3.4"].source) == (D("2.00"), "computed")
    assert (by_id["3.5"].points, by_id["3.5"].source) == (D("1.50"), "computed")
    assert (by_id["7.2.1"].points, by_id["7.2.1"].source) == (D("2.5"), "appraised")
    assert (by_id["8.1"].points, by_id["8.1"].source) == (D("7.25"), "survey")
    assert (by_id["5.5.3"].points, by_id["5.5.3"].source) == (D("-1"), "deduction")
    assert (by_id["1.1.3"].points, by_id["1.1.3"].source, by_id["1.1.3"].applicable) == (None, "missing", True)
    assert by_id["8.2"].source == "missing"
    assert by_id["3.4"].max_points == D("3.00")
    # self: 0.5 + 0.5 + computed 2.00 + 1.50 + 2.40 (40 × 3 / 50: the rate's points, not the override) − 0.5
    assert result.self_total == D("6.40")
    # index: 0.25 + 0.5 + 2 + 1.5 + 2.5 − 1 = 5.75 appraised/provisional, + 7.25 survey
    assert result.appraised_total == D("5.75")
    assert result.survey_total == D("7.25")
    assert result.total_points == D("13.00")
    assert result.applicable_max == D("100.00")  # missing leaves keep their maximum
    assert result.index == D("13.00")
    assert result.provisional  # 1.1.2 is self-assessed only, and most leaves have nothing yet


def test_missing_points_count_zero_but_keep_the_maximum() -> None:
    result = compute_unit(COMMUNE, "08515", {})
    assert result.total_points == D("0.00")
    assert result.applicable_max == D("100.00")
    assert result.index == D("0.00")
    assert result.provisional
    assert {leaf.source for leaf in result.leaves} == {"missing", "deduction"}


def test_fully_appraised_result_is_final() -> None:
    result = compute_unit(COMMUNE, "08515", _full(COMMUNE))
    assert (result.index, result.total_points, result.provisional) == (D("100.00"), D("100.00"), False)
    assert result.self_total == D("70.00")


def test_deduction_subtracts_but_adds_no_maximum() -> None:
    full = compute_unit(COMMUNE, "08515", _full(COMMUNE, **{"5_4_3": D("-1.5")}))
    assert full.total_points == D("98.50")
    assert full.applicable_max == D("100.00")
    assert full.index == D("98.50")
    area = next(area for area in full.areas if area.area_id == "5")
    assert (area.points, area.applicable_max, area.index) == (D("7.50"), D("9.00"), D("83.33"))
    self_reported = _full(COMMUNE)
    self_reported["5.4.3"] = LeafInput("5.4.3", self_points=D("-0.5"))
    result = compute_unit(COMMUNE, "08515", self_reported)
    assert result.total_points == D("99.50") and result.provisional


def test_not_applicable_for_in_the_set() -> None:
    ward = compute_unit(COMMUNE, "07900", _full(COMMUNE))  # Phường Việt Trì: 6.3 does not apply
    assert ward.applicable_max == D("98.50")
    assert ward.index == D("100.00")
    leaf = next(leaf for leaf in ward.leaves if leaf.leaf_id == "6.3")
    assert (leaf.applicable, leaf.points, leaf.source) == (False, None, "not_applicable")
    area = next(area for area in ward.areas if area.area_id == "6")
    assert area.applicable_max == D("3.50")
    # A commune with the land fund is scored on it.
    assert compute_unit(COMMUNE, "08515", _full(COMMUNE)).applicable_max == D("100.00")


def test_component_index_per_area() -> None:
    inputs = _full(DEPARTMENT, **{"2_1_1": D("0.5"), "2_2_3": D(0), "8_1": D("6.4")})
    result = compute_unit(DEPARTMENT, "H44.19", inputs)
    areas = {area.area_id: area for area in result.areas}
    assert [area.area_id for area in result.areas] == [str(n) for n in range(1, 9)]
    assert (areas["2"].points, areas["2"].applicable_max, areas["2"].index) == (D("5.50"), D("7.00"), D("78.57"))
    assert (areas["8"].points, areas["8"].applicable_max, areas["8"].index) == (D("18.40"), D("20.00"), D("92.00"))
    assert areas["1"].index == D("100.00")
    assert areas["2"].title == "Cải cách thể chế"  # the wording since 1/7/2025
    assert result.total_points == D("96.90")


def test_area_with_nothing_applicable_has_index_zero() -> None:
    inputs = _full(DEPARTMENT)
    for leaf in DEPARTMENT.areas[3].leaves():
        inputs[leaf.id] = LeafInput(leaf.id, not_applicable=True)
    area = compute_unit(DEPARTMENT, "H44.19", inputs).areas[3]
    assert (area.points, area.applicable_max, area.index) == (D("0.00"), D("0.00"), D("0.00"))


# ------------------------------------------------------------------------------------------ no survey


def test_survey_not_held_rescales_to_100() -> None:
    """District 2024 held no survey: the 20 survey points leave the maximum, the index is over 80."""
    full = compute_unit(DISTRICT, "D227", _full(DISTRICT))
    assert (full.total_points, full.applicable_max, full.index) == (D("80.00"), D("80.00"), D("100.00"))
    assert not full.provisional  # nothing is waiting for a survey that will never come
    survey_leaves = [leaf for leaf in full.leaves if leaf.leaf_id.startswith("9.")]
    assert survey_leaves and all(not leaf.applicable for leaf in survey_leaves)
    assert full.areas[-1].applicable_max == D("0.00")
    partly = compute_unit(DISTRICT, "D230", _full(DISTRICT, **{"8_3_1": D(0), "8_3_2": D(0), "8_4": D(0),
                                                               "8_5_1": D(0), "8_5_2": D("0.25")}))
    assert (partly.total_points, partly.index) == (D("69.25"), D("86.56"))  # 69.25 / 80 = 86.5625
    with pytest.raises(ScoreError, match="held no survey") as error:
        compute_unit(DISTRICT, "D227", {"9.1": LeafInput("9.1", survey_points=D(5))})
    assert error.value.field == "survey_points"


def test_survey_not_held_without_rescaling_scores_zero() -> None:
    data = DISTRICT.as_dict()
    data["survey"] = {"held": False, "rescale_when_absent": False}
    cs = parse_criteria_set(data, "district-no-rescale")
    result = compute_unit(cs, "D227", _full(cs))
    assert (result.total_points, result.applicable_max, result.index) == (D("80.00"), D("100.00"), D("80.00"))
    assert not result.provisional
    assert {leaf.source for leaf in result.leaves if leaf.leaf_id.startswith("9.")} == {"survey"}


def test_survey_held_but_not_imported_yet_is_provisional() -> None:
    inputs = _full(COMMUNE)
    del inputs["8.1"]  # the commune set's survey area is 8 since the one-door area joined area 3
    result = compute_unit(COMMUNE, "08515", inputs)
    assert (result.total_points, result.applicable_max, result.index) == (D("85.00"), D("100.00"), D("85.00"))
    assert result.provisional


# --------------------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("leaf_input", "field", "message"),
    [
        (LeafInput("1.1.1", appraised_points=D("0.75")), "appraised_points", "outside 0.00…0.50"),
        (LeafInput("1.1.1", self_points=D("-0.25")), "self_points", "outside 0.00…0.50"),
        (LeafInput("1.1.1", self_points=D("0.125")), "self_points", "at most 2 decimals"),
        (LeafInput("1.1.1", self_points=D("0.2" + "0" * 40 + "1")), "self_points", "at most 2 decimals"),
        (LeafInput("1.1.1", self_points=0.5), "self_points", "must be a Decimal"),  # type: ignore[arg-type]
        (LeafInput("5.5.3", appraised_points=D("-2.5")), "appraised_points", "outside -2.00…0.00"),
        (LeafInput("5.5.3", appraised_points=D("0.5")), "appraised_points", "outside -2.00…0.00"),
        (LeafInput("8.1", survey_points=D("8.01")), "survey_points", "outside 0.00…8.00"),
        (LeafInput("3.4", metric_value=D("101")), "metric_value", "between 0 and 100"),
        (LeafInput("3.4", metric_value=D("NaN")), "metric_value", "between 0 and 100"),
        (LeafInput("3.5", metric_value=D("sNaN")), "metric_value", "between 0 and 100"),
        (LeafInput("3.5", metric_value=80.0), "metric_value", "must be a Decimal"),  # type: ignore[arg-type]
        (LeafInput("1.1", self_points=D(1)), "leaf_id", "has no leaf 1.1"),
    ],
)
def test_impossible_inputs_are_refused(leaf_input: LeafInput, field: str, message: str) -> None:
    with pytest.raises(ScoreError, match=re.escape(message)) as error:
        compute_unit(DEPARTMENT, "H44.19", {leaf_input.leaf_id: leaf_input})
    assert error.value.field == field
    assert "H44.19" in str(error.value)


def test_input_filed_under_another_leaf_is_refused() -> None:
    with pytest.raises(ScoreError, match=r"is for leaf 1\.1\.2") as error:
        compute_unit(DEPARTMENT, "H44.19", {"1.1.1": LeafInput("1.1.2", self_points=D("0.5"))})
    assert error.value.field == "leaf_id"


# ------------------------------------------------------------------------------------------- the plan


def test_compiled_plan_is_cached_per_set_content() -> None:
    again = load_criteria_set(DATA_DIR / "department-2026.yaml")
    assert again is not DEPARTMENT
    assert compile_set(again) is compile_set(DEPARTMENT)
    plan = compile_set(DEPARTMENT)
    assert len(plan.leaves) == len(DEPARTMENT.leaves())
    assert sum(plan.area_max) == 100_00


@given(st.integers(-10**9, 10**9), st.integers(1, 10**6))
def test_integer_rounding_matches_shared_rounding(points: int, maximum: int) -> None:
    hundredths = computation._percent_hundredths(points, maximum)
    assert Decimal(hundredths).scaleb(-2) == round_half_up(Fraction(points * 100, maximum))


# ----------------------------------------------------------------------------------------- properties


@st.composite
def unit_inputs(draw: st.DrawFn, cs: CriteriaSet) -> dict[str, LeafInput]:
    """Any plausible knowledge about a unit: each field present or not, points on the leaf's step."""
    inputs = {}
    for leaf in cs.leaves():
        if not draw(st.booleans()):
            continue
        kind = leaf.method.kind
        maximum = int(leaf.max_points * 100)
        not_applicable = draw(st.integers(0, 9)) == 0
        if kind is MethodKind.SELF or kind is MethodKind.DEDUCTION:
            steps = int(leaf.max_points / leaf.method.step)
            sign = -1 if kind is MethodKind.DEDUCTION else 1
            points = st.none() | st.integers(0, steps).map(lambda n, s=leaf.method.step, k=sign: k * n * s)
            inputs[leaf.id] = LeafInput(leaf.id, self_points=draw(points), appraised_points=draw(points),
                                        not_applicable=not_applicable)
        elif kind is MethodKind.COMPUTED:
            rate = st.none() | st.integers(0, 10_000).map(lambda n: Decimal(n).scaleb(-2))
            appraised = st.none() | st.integers(0, maximum).map(lambda n: Decimal(n).scaleb(-2))
            inputs[leaf.id] = LeafInput(leaf.id, metric_value=draw(rate), appraised_points=draw(appraised),
                                        not_applicable=not_applicable)
        elif cs.survey_held:
            survey = st.none() | st.integers(0, maximum).map(lambda n: Decimal(n).scaleb(-2))
            inputs[leaf.id] = LeafInput(leaf.id, survey_points=draw(survey), not_applicable=not_applicable)
    return inputs


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), cs=st.sampled_from([DEPARTMENT, COMMUNE, DISTRICT]),
       unit=st.sampled_from(["H44.23", "07900", "08515", "D227"]))
def test_index_stays_within_0_and_100(data: st.DataObject, cs: CriteriaSet, unit: str) -> None:
    inputs = data.draw(unit_inputs(cs))
    result = compute_unit(cs, unit, inputs)
    # Only deductions can take points below zero; when they do not exceed the points earned:
    assume(result.total_points >= 0)
    assert D(0) <= result.index <= D(100)
    assert 0 <= result.index_unrounded <= 100
    assert result.index == round_half_up(result.index_unrounded)
    assert result.total_points == result.appraised_total + result.survey_total
    assert result.total_points == sum((area.points for area in result.areas), D(0))
    assert result.applicable_max == sum((area.applicable_max for area in result.areas), D(0))
    assert result.applicable_max == sum(
        (leaf.max_points for leaf in result.leaves
         if leaf.applicable and not cs.leaf(leaf.leaf_id).is_deduction), D(0))
    if result.applicable_max:
        assert result.index_unrounded == Fraction(result.total_points) / Fraction(result.applicable_max) * 100
    for area in result.areas:
        if area.points >= 0:
            assert D(0) <= area.index <= D(100)
    assert [leaf.leaf_id for leaf in result.leaves] == [leaf.id for leaf in cs.leaves()]
    assert {leaf.source for leaf in result.leaves} <= computation.SOURCES

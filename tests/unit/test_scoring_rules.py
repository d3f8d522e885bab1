"""The scoring rules found in real provinces' sets, each with a worked example in its test's name: points with
three decimals (Thanh Hóa's 91.651), bonus points beside the maximum with or without a cap (Hà Nội 2025),
named tie-breakers in order, and a computed leaf with nothing to measure that leaves the maximum (DOMAIN.md:
"a leaf that does not apply … leaves the maximum")."""

from __future__ import annotations

import copy
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from services.scoring.computation import AreaResult, LeafInput, UnitResult, compute_unit
from services.scoring.criteria import CriteriaSetError, TieBreaker, parse_criteria_set
from services.scoring.ranking import rank_units
from services.scoring.scores import ScoreError, check_points
from shared.rounding import round_half_up

D = Decimal

# A small set: area 1 = 60 self-assessed points (one leaf of 57, one of 3 computed from the on-time rate),
# area 2 = 40 survey-free self points; total 100.
BASE: dict[str, Any] = {
    "id": "rules-2026", "version": 1, "year": 2026, "unit_kind": "department", "title": "Bộ tiêu chí thử",
    "total_max_points": 100,
    "classification": [{"name": "Tốt", "min_index": 90}, {"name": "Khá", "min_index": 80},
                       {"name": "Yếu", "min_index": 0}],
    "window": {"opens": "2026-11-05T00:00:00+07:00", "closes": "2026-11-15T23:59:59+07:00"},
    "areas": [
        {"id": "1", "title": "Cải cách thủ tục hành chính", "max_points": 60, "criteria": [
            {"id": "1.1", "title": "Công khai TTHC", "max_points": 57, "method": "self", "step": D("0.25")},
            {"id": "1.2", "title": "Tỷ lệ hồ sơ đúng hạn", "max_points": 3, "method": "computed",
             "metric": "on_time_rate", "bands": [{"min": 100, "points": 3}, {"min": 95, "points": 1},
                                                 {"min": 0, "points": 0}]}]},
        {"id": "2", "title": "Cải cách thể chế", "max_points": 40, "criteria": [
            {"id": "2.1", "title": "Rà soát văn bản", "max_points": 40, "method": "self", "step": D("0.25")}]},
    ],
}


def make_set(**changes: Any) -> Any:
    data = copy.deepcopy(BASE)
    data.update(changes)
    return parse_criteria_set(data, "rules-2026.yaml")


def self_points(**points: str) -> dict[str, LeafInput]:
    return {leaf_id.replace("_", "."): LeafInput(leaf_id.replace("_", "."), self_points=D(value))
            for leaf_id, value in points.items()}


# ------------------------------------------------------------------------------------------ three decimals


def three_decimal_set() -> Any:
    data = copy.deepcopy(BASE)
    data["precision"] = 3
    data["areas"][0]["criteria"][0]["step"] = D("0.001")
    data["areas"][1]["criteria"][0]["step"] = D("0.001")
    return parse_criteria_set(data, "rules-2026.yaml")


def test_three_decimals_56_651_plus_3_plus_32_points_is_91_651_of_100() -> None:
    cs = three_decimal_set()
    inputs = {**self_points(**{"1_1": "56.651", "2_1": "32"}), "1.2": LeafInput("1.2", metric_value=D(100))}
    result = compute_unit(cs, "H44.01", inputs)
    assert (result.total_points, result.index) == (D("91.651"), D("91.651"))
    assert str(result.total_points) == "91.651" and str(result.areas[1].index) == "80.000"  # the set's decimals


def test_three_decimals_area_26_667_of_40_is_66_668_percent_half_up() -> None:
    """26.667 / 40 = 66.6675%: half up at three decimals gives 66.668; a component index of 0.001 / 40 =
    0.0025% is where half up (0.003) and Python's half-even (0.002) differ."""
    cs = three_decimal_set()
    result = compute_unit(cs, "H44.01", {**self_points(**{"1_1": "57", "2_1": "26.667"}),
                                         "1.2": LeafInput("1.2", metric_value=D(100))})
    assert result.areas[1].index == D("66.668") == round_half_up(Fraction(26667, 400), 3)
    assert result.index == D("86.667")  # 86.667 / 100
    tie = compute_unit(cs, "H44.01", {**self_points(**{"1_1": "57", "2_1": "0.001"}),
                                      "1.2": LeafInput("1.2", metric_value=D(100))})
    assert tie.areas[1].index == D("0.003")  # 0.0025% is a tie: half up gives 0.003, half-even 0.002


def test_three_decimals_point_0_001_accepted_but_0_0005_refused_naming_leaf_and_step() -> None:
    cs = three_decimal_set()
    leaf = cs.leaf("1.1")
    check_points(leaf, D("56.651"), ["QĐ 1"], role="self")
    with pytest.raises(ScoreError) as error:
        check_points(leaf, D("56.6515"), ["QĐ 1"], role="self")
    assert error.value.field == "points"
    assert "bước chấm 0.001 của tiêu chí 1.1" in error.value.message


def test_two_decimal_set_refuses_the_third_decimal_0_125_off_step_0_25_naming_leaf_and_step() -> None:
    cs = make_set()
    with pytest.raises(ScoreError) as error:
        check_points(cs.leaf("1.1"), D("0.125"), ["QĐ 1"], role="self")
    assert "0.125 không phải bội số của bước chấm 0.25 của tiêu chí 1.1" in str(error.value)
    with pytest.raises(CriteriaSetError, match=r"at most 2 decimals, got 0\.125 .*precision: 3"):
        data = copy.deepcopy(BASE)
        data["areas"][0]["criteria"][0]["step"] = D("0.125")
        parse_criteria_set(data, "rules-2026.yaml")


def test_council_override_of_a_computed_leaf_steps_0_001_in_a_three_decimal_set() -> None:
    cs = three_decimal_set()
    check_points(cs.leaf("1.2"), D("1.375"), [], role="appraisal", quantum=cs.quantum)
    with pytest.raises(ScoreError, match=r"bước chấm 0\.01"):
        check_points(make_set().leaf("1.2"), D("1.375"), [], role="appraisal", quantum=make_set().quantum)


def test_precision_other_than_2_or_3_is_refused() -> None:
    with pytest.raises(CriteriaSetError, match="precision: 4 is not one of 2, 3"):
        make_set(precision=4)


# ------------------------------------------------------------------------------------------------- bonus


def bonus_set(**changes: Any) -> Any:
    data = copy.deepcopy(BASE)
    data["areas"].append({"id": "3", "title": "Điểm thưởng", "max_points": 2, "criteria": [
        {"id": "3.1", "title": "Sáng kiến được công nhận cấp tỉnh", "max_points": 2, "method": "bonus",
         "step": D("0.5")}]})
    data.update(changes)
    return parse_criteria_set(data, "rules-2026.yaml")


def full_with_bonus(bonus: str) -> dict[str, LeafInput]:
    return {**self_points(**{"1_1": "56", "2_1": "40", "3_1": bonus}), "1.2": LeafInput("1.2", metric_value=D(100))}


def test_bonus_2_points_on_99_of_100_gives_101_00_when_the_set_does_not_cap() -> None:
    cs = bonus_set()
    assert cs.total_max_points == D(100) and cs.areas[2].is_extra  # the bonus area counts towards no total
    result = compute_unit(cs, "H44.01", full_with_bonus("2"))
    assert (result.total_points, result.applicable_max, result.index) == (D("101.00"), D("100.00"), D("101.00"))
    assert result.bonus_total == D("2.00")
    assert result.areas[2] == AreaResult("3", "Điểm thưởng", D("2.00"), D("0.00"), None)  # no component index


def test_bonus_2_points_on_99_of_100_is_capped_at_100_00_exact_100() -> None:
    cs = bonus_set(cap_index_at=100)
    result = compute_unit(cs, "H44.01", full_with_bonus("2"))
    assert (result.total_points, result.index, result.index_unrounded) == (D("101.00"), D("100.00"), Fraction(100))
    below = compute_unit(cs, "H44.01", full_with_bonus("0.5"))  # 99.5: under the cap, untouched
    assert below.index == D("99.50")


def test_bonus_above_its_maximum_2_5_of_2_is_refused() -> None:
    cs = bonus_set()
    with pytest.raises(ScoreError, match=r"2\.5 vượt điểm tối đa 2 của tiêu chí 3\.1"):
        check_points(cs.leaf("3.1"), D("2.5"), ["QĐ khen thưởng"], role="self")
    with pytest.raises(ScoreError, match="không được âm"):
        check_points(cs.leaf("3.1"), D("-0.5"), ["x"], role="self")


def test_bonus_leaf_without_appraisal_counts_its_self_points_provisionally() -> None:
    cs = bonus_set()
    result = compute_unit(cs, "H44.01", full_with_bonus("1.5"))
    assert result.provisional and result.index == D("100.50")


# ------------------------------------------------------------------------------------------ tie-breakers


def standing(code: str, exact: str, area3: str = "0", appraised: str = "0") -> UnitResult:
    value = Fraction(exact)
    return UnitResult(
        unit_code=code, self_total=D(0), appraised_total=D(appraised), survey_total=D(0), total_points=D(0),
        applicable_max=D(100), index=round_half_up(value), index_unrounded=value,
        areas=(AreaResult("3", "Cải cách thủ tục hành chính", D(0), D(0), D(area3)),), leaves=(),
        provisional=False,
    )


def tie_set(*breakers: str) -> Any:
    data = copy.deepcopy(BASE)
    data["areas"].append({"id": "3", "title": "Khác", "max_points": 1, "criteria": [
        {"id": "3.1", "title": "Khác", "max_points": 1, "method": "self"}]})
    data["total_max_points"] = 101
    data["tie_breakers"] = list(breakers)
    return parse_criteria_set(data, "rules-2026.yaml")


def ranks(results: list[UnitResult], cs: Any) -> list[tuple[str, int | None]]:
    return [(unit.unit_code, unit.rank) for unit in rank_units(results, cs)]


def test_tie_90_00_broken_by_the_unrounded_index_90_004_above_89_996() -> None:
    cs = tie_set("unrounded_index")
    results = [standing("B", "89.996"), standing("A", "90.004"), standing("C", "95")]
    assert ranks(results, cs) == [("C", 1), ("A", 2), ("B", 3)]


def test_tie_90_00_broken_by_area_3_component_index_95_00_above_90_00() -> None:
    cs = tie_set("area:3")
    results = [standing("A", "90", area3="90.00"), standing("B", "90", area3="95.00")]
    assert ranks(results, cs) == [("B", 1), ("A", 2)]


def test_tie_90_00_broken_by_appraised_points_80_00_above_78_00() -> None:
    cs = tie_set("appraised_points")
    results = [standing("A", "90", appraised="78.00"), standing("B", "90", appraised="80.00")]
    assert ranks(results, cs) == [("B", 1), ("A", 2)]


def test_tie_breakers_apply_in_order_unrounded_then_area_3_then_appraised_ranks_1_2_3_3() -> None:
    cs = tie_set("unrounded_index", "area:3", "appraised_points")
    results = [
        standing("A", "90.001", area3="80", appraised="70"),  # highest unrounded: first, whatever comes after
        standing("B", "90", area3="95", appraised="60"),  # equal unrounded with C, D: area 3 decides
        standing("C", "90", area3="90", appraised="75"),
        standing("D", "90", area3="90", appraised="75"),  # equal with C on every breaker: they share rank 3
    ]
    assert ranks(results, cs) == [("A", 1), ("B", 2), ("C", 3), ("D", 3)]


def test_tie_breakers_are_named_in_vietnamese_for_the_ranking_notes() -> None:
    cs = tie_set("unrounded_index", "area:3", "appraised_points")
    assert cs.tie_breakers == (TieBreaker("unrounded_index"), TieBreaker("area", "3"), TieBreaker("appraised_points"))
    assert [b.label_vi for b in cs.effective_tie_breakers()] == [
        "Chỉ số CCHC chưa làm tròn", "chỉ số thành phần lĩnh vực 3", "tổng điểm thẩm định"]


@pytest.mark.parametrize(("breakers", "message"), [
    (["area:9"], "tie_breakers[0]: no area '9'"),
    (["fastest"], "tie_breakers[0]: 'fastest' is not one of"),
    (["appraised_points", "appraised_points"], "tie_breakers[1]: 'appraised_points' is listed twice"),
])
def test_unknown_tie_breakers_are_refused_naming_the_entry(breakers: list[str], message: str) -> None:
    with pytest.raises(CriteriaSetError, match=message.replace("[", r"\[").replace("]", r"\]")):
        tie_set(*breakers)


# ------------------------------------------------------------------------------- nothing to measure


def test_no_dossiers_leaves_the_3_point_on_time_leaf_out_77_of_97_is_79_38_not_77_00() -> None:
    cs = make_set()
    inputs = {**self_points(**{"1_1": "50", "2_1": "27"}), "1.2": LeafInput("1.2", nothing_to_measure=True)}
    result = compute_unit(cs, "H44.01", inputs)
    assert (result.total_points, result.applicable_max, result.index) == (D("77.00"), D("97.00"), D("79.38"))
    leaf = next(leaf for leaf in result.leaves if leaf.leaf_id == "1.2")
    assert (leaf.points, leaf.applicable, leaf.source) == (None, False, "not_applicable")  # shown "—", never 0
    zero = compute_unit(cs, "H44.01", {**self_points(**{"1_1": "50", "2_1": "27"}),
                                       "1.2": LeafInput("1.2", metric_value=D(0))})
    assert zero.index == D("77.00")  # a real 0% rate does cost the points: the two cases differ


def test_no_dossiers_but_an_appraised_score_of_2_keeps_the_leaf_79_of_100() -> None:
    cs = make_set()
    inputs = {**self_points(**{"1_1": "50", "2_1": "27"}),
              "1.2": LeafInput("1.2", appraised_points=D(2), nothing_to_measure=True)}
    result = compute_unit(cs, "H44.01", inputs)
    assert (result.total_points, result.applicable_max, result.index) == (D("79.00"), D("100.00"), D("79.00"))


def test_a_rate_not_yet_received_is_still_missing_and_provisional_77_of_100() -> None:
    cs = make_set()
    result = compute_unit(cs, "H44.01", self_points(**{"1_1": "50", "2_1": "27"}))
    assert (result.applicable_max, result.index, result.provisional) == (D("100.00"), D("77.00"), True)

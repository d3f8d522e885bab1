"""Ranking and classification: tie rules, exclusions, class boundaries."""

from __future__ import annotations

import dataclasses
import random
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.scoring.computation import UnitResult
from services.scoring.criteria import DATA_DIR, CriteriaSet, TieRule, load_criteria_set
from services.scoring.ranking import RankedUnit, classify, rank_units
from shared.rounding import round_half_up

D = Decimal
COMMUNE = load_criteria_set(DATA_DIR / "commune-2026.yaml")
SHARED = dataclasses.replace(COMMUNE, tie_rule=TieRule.SHARED, excluded_units=frozenset())
UNROUNDED = dataclasses.replace(COMMUNE, tie_rule=TieRule.UNROUNDED, excluded_units=frozenset())


def _result(code: str, exact: Fraction | str) -> UnitResult:
    exact = Fraction(exact)
    return UnitResult(
        unit_code=code, self_total=D(0), appraised_total=D(0), survey_total=D(0), total_points=D(0),
        applicable_max=D(100), index=round_half_up(exact), index_unrounded=exact, areas=(), leaves=(),
        provisional=False,
    )


def _ranks(ranked: list[RankedUnit]) -> list[tuple[str, int | None]]:
    return [(unit.unit_code, unit.rank) for unit in ranked]


@pytest.mark.parametrize(
    ("index", "name"),
    [("100.00", "Tốt"), ("90.00", "Tốt"), ("89.99", "Khá"), ("80.00", "Khá"), ("79.99", "Trung bình"),
     ("70.00", "Trung bình"), ("69.99", "Yếu"), ("0.00", "Yếu"), ("-3.50", "Yếu")],
)
def test_class_boundaries(index: str, name: str) -> None:
    assert classify(D(index), COMMUNE.classes) == name


def test_classify_needs_bands() -> None:
    with pytest.raises(ValueError):
        classify(D(50), ())


def test_shared_rule_gives_1_2_2_4() -> None:
    results = [_result("A", "95"), _result("C", "90"), _result("B", "90"), _result("D", "85")]
    ranked = rank_units(results, SHARED)
    assert _ranks(ranked) == [("A", 1), ("B", 2), ("C", 2), ("D", 4)]  # equal ranks listed by unit code
    assert [unit.classification for unit in ranked] == ["Tốt", "Tốt", "Tốt", "Khá"]
    assert not any(unit.excluded for unit in ranked)


def test_shared_rule_compares_displayed_indexes() -> None:
    # 90.004 and 89.996 are both published as 90.00: under "shared" they share a rank.
    results = [_result("A", "95"), _result("B", "89.996"), _result("C", "90.004"), _result("D", "85")]
    assert _ranks(rank_units(results, SHARED)) == [("A", 1), ("B", 2), ("C", 2), ("D", 4)]
    assert {unit.index for unit in rank_units(results, SHARED)[1:3]} == {D("90.00")}


def test_unrounded_rule_separates_equal_displayed_indexes() -> None:
    results = [_result("A", "95"), _result("B", "89.996"), _result("C", "90.004"), _result("D", "85")]
    ranked = rank_units(results, UNROUNDED)
    assert _ranks(ranked) == [("A", 1), ("C", 2), ("B", 3), ("D", 4)]
    assert ranked[1].index == ranked[2].index == D("90.00")
    assert ranked[2].classification == "Tốt"  # classes follow the displayed index: 90.00 is Tốt
    # exactly equal indexes still share a rank
    tied = [_result("A", "95"), _result("C", Fraction(271, 3)), _result("B", Fraction(271, 3)), _result("D", "85")]
    assert _ranks(rank_units(tied, UNROUNDED)) == [("A", 1), ("B", 2), ("C", 2), ("D", 4)]


def test_excluded_units_keep_their_class_but_take_no_rank() -> None:
    cs = dataclasses.replace(SHARED, excluded_units=frozenset({"B", "E"}))
    results = [_result("A", "88"), _result("B", "97"), _result("C", "91"), _result("D", "91"), _result("E", "60")]
    ranked = rank_units(results, cs)
    assert _ranks(ranked) == [("C", 1), ("D", 1), ("A", 3), ("B", None), ("E", None)]
    excluded = {unit.unit_code: unit for unit in ranked if unit.excluded}
    assert excluded["B"] == RankedUnit("B", D("97.00"), None, "Tốt", True)
    assert excluded["E"].classification == "Yếu"


def test_the_shipped_department_set_ranks_the_department_of_home_affairs() -> None:
    """Published rankings rank Sở Nội vụ (H44.42) like any other department: the example invents no exclusion."""
    department = load_criteria_set(DATA_DIR / "department-2026.yaml")
    ranked = rank_units([_result("H44.42", "99"), _result("H44.19", "80")], department)
    assert _ranks(ranked) == [("H44.42", 1), ("H44.19", 2)]


def test_order_does_not_depend_on_the_input_order() -> None:
    results = [_result(f"U{n:02d}", str(80 + n % 5)) for n in range(30)]
    expected = rank_units(results, SHARED)
    for seed in range(5):
        shuffled = results[:]
        random.Random(seed).shuffle(shuffled)
        assert rank_units(shuffled, SHARED) == expected


def test_duplicate_units_are_refused() -> None:
    with pytest.raises(ValueError, match="more than once: A"):
        rank_units([_result("A", "90"), _result("A", "80")], SHARED)


def test_empty() -> None:
    assert rank_units([], SHARED) == []


# Indexes on a coarse grid of exact values, so that ties (displayed and exact) happen often.
_indexes = st.integers(0, 400).map(lambda n: Fraction(n, 4) + Fraction(n % 3, 1000))


@given(
    st.lists(_indexes, max_size=40),
    st.sampled_from([SHARED, UNROUNDED]),
    st.sets(st.integers(0, 39), max_size=5),
)
def test_ranking_is_a_permutation_consistent_with_the_index(
    indexes: list[Fraction], cs: CriteriaSet, excluded_positions: set[int]
) -> None:
    results = [_result(f"U{position:02d}", exact) for position, exact in enumerate(indexes)]
    excluded = frozenset(f"U{position:02d}" for position in excluded_positions)
    cs = dataclasses.replace(cs, excluded_units=excluded)
    ranked = rank_units(results, cs)
    by_code = {result.unit_code: result for result in results}

    assert sorted(unit.unit_code for unit in ranked) == sorted(by_code)
    included = [unit for unit in ranked if not unit.excluded]
    assert all(unit.rank is None and unit.unit_code in excluded for unit in ranked if unit.excluded)
    assert ranked[: len(included)] == included  # ranked units first

    def key(code: str) -> object:
        result = by_code[code]
        return result.index_unrounded if cs.tie_rule is TieRule.UNROUNDED else result.index

    keys = [key(unit.unit_code) for unit in included]
    assert keys == sorted(keys, reverse=True)
    for position, unit in enumerate(included):
        # standard competition ranking: 1 + the number of ranked units strictly ahead
        assert unit.rank == 1 + sum(1 for other in keys if other > keys[position])
        assert unit.classification == classify(by_code[unit.unit_code].index, cs.classes)
        if position and keys[position] == keys[position - 1]:
            assert included[position - 1].unit_code < unit.unit_code
    if included:
        assert included[0].rank == 1

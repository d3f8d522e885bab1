"""Decision 766 timeliness against a real province's published month (Phú Thọ, 8/2026, 164 rows)."""

import csv
from decimal import Decimal
from fractions import Fraction
from math import floor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.dossiers.progress766 import MAX_POINTS, progress_rate, progress_score
from shared.rounding import percent, round_half_up
from tests.support import handbook_data

# The handbook folder sits beside the checkout as ../shared (found from a nested worktree too).
DATA = handbook_data("766_phutho_tien_do_giai_quyet_2026-08.csv")


def _rows() -> list[dict[str, str]]:
    with DATA.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


ROWS = _rows()
PARENT = next(row for row in ROWS if row["level"] == "PARENT")
CHILDREN = [row for row in ROWS if row["level"] != "PARENT"]


def test_the_published_file_has_the_expected_shape() -> None:
    assert len(ROWS) == 164
    assert len(CHILDREN) == 163
    assert {row["level"] for row in CHILDREN} == {"PROVINCE", "COMMUNE"}
    assert {row["maxScore"] for row in ROWS} == {"20"}


@pytest.mark.parametrize("row", ROWS, ids=[row["departmentCode"] for row in ROWS])
def test_rate_and_score_reproduce_the_published_figures(row: dict[str, str]) -> None:
    on_time, total = int(row["totalOnTime"]), int(row["totalReceived"])
    assert progress_rate(on_time, total) == Decimal(row["ratio_pct"])
    assert progress_score(on_time, total, Decimal(row["maxScore"])) == Decimal(row["score"])
    assert progress_score(on_time, total) == Decimal(row["score"])


def test_children_sum_to_the_province_row() -> None:
    received = sum(int(row["totalReceived"]) for row in CHILDREN)
    on_time = sum(int(row["totalOnTime"]) for row in CHILDREN)
    published = (int(PARENT["totalReceived"]), int(PARENT["totalOnTime"]))
    assert (received, on_time) == published == (184513, 144625)
    # The province's own figures come from the sums, not from averaging the children's rates.
    assert progress_rate(on_time, received) == Decimal(PARENT["ratio_pct"]) == Decimal("78.38")
    assert progress_score(on_time, received) == Decimal(PARENT["score"]) == Decimal("15.68")


@pytest.mark.parametrize("row", CHILDREN, ids=[row["departmentCode"] for row in CHILDREN])
def test_every_child_row_is_consistent(row: dict[str, str]) -> None:
    assert int(row["totalReceived"]) == int(row["totalOnTime"]) + int(row["totalOverdue"])


def test_29_of_32_rounds_half_up() -> None:
    """Sở Tư pháp: 29/32 = 90.625% → published 90.63 and 18.13 (20 × 0.90625 = 18.125).

    Rounding half to even (Python's default) would give 90.62 and 18.12.
    """
    tu_phap = next(row for row in ROWS if row["departmentCode"] == "H44.19")
    assert (tu_phap["totalOnTime"], tu_phap["totalReceived"]) == ("29", "32")
    assert progress_rate(29, 32) == Decimal("90.63")
    assert progress_score(29, 32) == Decimal("18.13")
    assert str(progress_rate(29, 32)) == "90.63" and str(progress_score(29, 32)) == "18.13"
    assert round(Decimal("90.625"), 2) == Decimal("90.62")  # what the default rounding would publish


def test_nothing_received_scores_zero() -> None:
    assert progress_rate(0, 0) == Decimal(0)
    assert progress_score(0, 0) == Decimal(0)
    assert str(progress_score(0, 0)) == "0.00"


def test_full_and_custom_maximum() -> None:
    assert progress_score(7, 7) == MAX_POINTS == Decimal(20)
    assert progress_rate(7, 7) == Decimal(100)
    assert progress_score(1, 3, Decimal(10)) == Decimal("3.33")
    assert progress_score(2, 3, Decimal(10)) == Decimal("6.67")


@pytest.mark.parametrize(("on_time", "total"), [(-1, 5), (3, -1), (6, 5)])
def test_impossible_counts_are_refused(on_time: int, total: int) -> None:
    with pytest.raises(ValueError):
        progress_rate(on_time, total)
    with pytest.raises(ValueError):
        progress_score(on_time, total)


def test_non_integer_counts_are_refused() -> None:
    with pytest.raises(TypeError):
        progress_rate(2.0, 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        progress_score(True, 3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (Fraction(2900, 32), 2, "90.63"),
        (Decimal("18.125"), 2, "18.13"),
        (Decimal("0.005"), 2, "0.01"),
        (Decimal("-0.125"), 2, "-0.13"),
        (1.005, 2, "1.01"),  # the decimal a person typed, not its binary neighbour 1.00499…
        (2.675, 2, "2.68"),
        (Fraction(1, 3), 4, "0.3333"),
        (Fraction(2, 3), 0, "1"),
        (7, 2, "7.00"),
        (0, 2, "0.00"),
    ],
)
def test_round_half_up(value: Decimal | int | float | Fraction, places: int, expected: str) -> None:
    result = round_half_up(value, places)
    assert isinstance(result, Decimal)
    assert str(result) == expected


def test_round_half_up_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        round_half_up(Decimal("NaN"))
    with pytest.raises(ValueError):
        round_half_up(1, -1)
    with pytest.raises(TypeError):
        round_half_up("1.5")  # type: ignore[arg-type]


def test_percent() -> None:
    assert percent(29, 32) == Decimal("90.63")
    assert percent(14, 31) == Decimal("45.16")  # a district's 2020 plan: 14 of 31 items done
    assert percent(3, 31) == Decimal("9.68")
    assert percent(5, 0) == Decimal("0.00")
    assert percent(1, 3, places=4) == Decimal("33.3333")


@given(st.integers(min_value=-10**12, max_value=10**12), st.integers(min_value=1, max_value=10**9),
       st.integers(min_value=0, max_value=6), st.booleans())
def test_integer_rounding_equals_the_exact_definition(numerator: int, denominator: int, places: int,
                                                      flip: bool) -> None:
    """round_half_up and percent work in integers: the same as floor(|x| × 10^places + 1/2) on the exact value."""
    denominator = -denominator if flip else denominator
    exact = Fraction(numerator, denominator)
    expected = floor(abs(exact) * 10**places + Fraction(1, 2)) * (-1 if exact < 0 else 1)
    assert round_half_up(exact, places) == Decimal(expected).scaleb(-places)
    assert percent(numerator, denominator, places) == round_half_up(100 * exact, places)

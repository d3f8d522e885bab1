"""Reporting periods: the 15th-to-14th boundaries of ../shared/spec/DOMAIN.md, "Reporting periods"."""

from datetime import date, timedelta

import pytest

from services.dossiers.periods import Period, PeriodError, PeriodKind, parse_period, period_containing


@pytest.mark.parametrize(
    ("label", "kind", "start", "end"),
    [
        ("2023-07", PeriodKind.MONTH, date(2023, 6, 15), date(2023, 7, 14)),
        ("2023-01", PeriodKind.MONTH, date(2022, 12, 15), date(2023, 1, 14)),
        ("2023-12", PeriodKind.MONTH, date(2023, 11, 15), date(2023, 12, 14)),
        ("2024-03", PeriodKind.MONTH, date(2024, 2, 15), date(2024, 3, 14)),
        ("2023-Q1", PeriodKind.QUARTER, date(2022, 12, 15), date(2023, 3, 14)),
        ("2023-Q2", PeriodKind.QUARTER, date(2023, 3, 15), date(2023, 6, 14)),
        ("2023-Q3", PeriodKind.QUARTER, date(2023, 6, 15), date(2023, 9, 14)),
        ("2023-Q4", PeriodKind.QUARTER, date(2023, 9, 15), date(2023, 12, 14)),
        ("2023-H1", PeriodKind.HALF_YEAR, date(2022, 12, 15), date(2023, 6, 14)),
        ("2023-H2", PeriodKind.HALF_YEAR, date(2023, 6, 15), date(2023, 12, 14)),
        ("2023", PeriodKind.YEAR, date(2022, 12, 15), date(2023, 12, 14)),
    ],
)
def test_parse_every_form(label: str, kind: PeriodKind, start: date, end: date) -> None:
    period = parse_period(label)
    assert period == Period(kind, label, start, end)
    assert str(period) == label


@pytest.mark.parametrize(("typed", "canonical"), [("2023-q2", "2023-Q2"), ("2023-h1", "2023-H1"),
                                                   ("2023-7", "2023-07"), (" 2023 ", "2023")])
def test_typed_labels_are_normalised(typed: str, canonical: str) -> None:
    assert parse_period(typed).label == canonical


@pytest.mark.parametrize(
    "label",
    ["", "23", "20233", "2023-13", "2023-00", "2023-Q5", "2023-Q0", "2023-H3", "2023-S1", "2023/07",
     "07-2023", "2023-07-01", "2023-Q", "2023-", "năm 2023", "0001"],
)
def test_bad_labels_name_the_expected_forms(label: str) -> None:
    with pytest.raises(PeriodError) as error:
        parse_period(label)
    assert isinstance(error.value, ValueError)
    if label != "0001":
        assert "YYYY-Q1" in str(error.value) and "YYYY-MM" in str(error.value)


def test_non_string_label_is_refused() -> None:
    with pytest.raises(PeriodError):
        parse_period(2023)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("day", "month", "quarter", "half", "year"),
    [
        # The 14th closes a period, the 15th opens the next one.
        (date(2023, 7, 14), "2023-07", "2023-Q3", "2023-H2", "2023"),
        (date(2023, 7, 15), "2023-08", "2023-Q3", "2023-H2", "2023"),
        (date(2023, 6, 14), "2023-06", "2023-Q2", "2023-H1", "2023"),
        (date(2023, 6, 15), "2023-07", "2023-Q3", "2023-H2", "2023"),
        (date(2023, 3, 14), "2023-03", "2023-Q1", "2023-H1", "2023"),
        (date(2023, 3, 15), "2023-04", "2023-Q2", "2023-H1", "2023"),
        (date(2023, 1, 1), "2023-01", "2023-Q1", "2023-H1", "2023"),
        # 15–31 December belong to the NEXT year's periods.
        (date(2023, 12, 14), "2023-12", "2023-Q4", "2023-H2", "2023"),
        (date(2023, 12, 15), "2024-01", "2024-Q1", "2024-H1", "2024"),
        (date(2023, 12, 31), "2024-01", "2024-Q1", "2024-H1", "2024"),
        (date(2024, 2, 29), "2024-03", "2024-Q1", "2024-H1", "2024"),
    ],
)
def test_period_containing(day: date, month: str, quarter: str, half: str, year: str) -> None:
    expected = {PeriodKind.MONTH: month, PeriodKind.QUARTER: quarter, PeriodKind.HALF_YEAR: half,
                PeriodKind.YEAR: year}
    for kind, label in expected.items():
        period = period_containing(day, kind)
        assert period == parse_period(label)
        assert period.contains(day)


def test_period_containing_accepts_kind_values() -> None:
    assert period_containing(date(2023, 12, 20), "year") == parse_period("2024")  # type: ignore[arg-type]


def test_contains_is_inclusive_at_both_ends() -> None:
    period = parse_period("2023-07")
    assert period.contains(date(2023, 6, 15))
    assert period.contains(date(2023, 7, 14))
    assert not period.contains(date(2023, 6, 14))
    assert not period.contains(date(2023, 7, 15))


@pytest.mark.parametrize("kind", list(PeriodKind))
def test_consecutive_periods_tile_the_calendar(kind: PeriodKind) -> None:
    """Every day of 2022–2025 lies in exactly one period of each kind, with no gap between periods."""
    period = period_containing(date(2022, 1, 1), kind)
    while period.start <= date(2025, 12, 31):
        following = period_containing(period.end + timedelta(days=1), kind)
        assert following.start == period.end + timedelta(days=1)
        assert following.previous() == period
        period = following


@pytest.mark.parametrize(
    ("label", "previous"),
    [("2023-01", "2022-12"), ("2023-07", "2023-06"), ("2023-Q1", "2022-Q4"), ("2023-Q3", "2023-Q2"),
     ("2023-H1", "2022-H2"), ("2023-H2", "2023-H1"), ("2023", "2022")],
)
def test_previous(label: str, previous: str) -> None:
    assert parse_period(label).previous() == parse_period(previous)


@pytest.mark.parametrize(
    ("label", "title"),
    [
        ("2023-07", "Tháng 7 năm 2023 (15/06/2023 – 14/07/2023)"),
        ("2023-01", "Tháng 1 năm 2023 (15/12/2022 – 14/01/2023)"),
        ("2023-Q2", "Quý II năm 2023 (15/03/2023 – 14/06/2023)"),
        ("2023-Q4", "Quý IV năm 2023 (15/09/2023 – 14/12/2023)"),
        ("2023-H1", "6 tháng đầu năm 2023"),
        ("2023-H2", "6 tháng cuối năm 2023"),
        ("2023", "Năm 2023"),
    ],
)
def test_title_vi(label: str, title: str) -> None:
    assert parse_period(label).title_vi == title


def test_period_is_immutable_and_hashable() -> None:
    period = parse_period("2023-Q2")
    assert {period, parse_period("2023-Q2")} == {period}
    with pytest.raises(AttributeError):
        period.label = "2023-Q3"  # type: ignore[misc]


def test_inverted_period_is_refused() -> None:
    with pytest.raises(PeriodError):
        Period(PeriodKind.MONTH, "bad", date(2023, 7, 14), date(2023, 6, 15))

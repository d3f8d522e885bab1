"""Reporting periods (kỳ báo cáo) for one-door statistics.

Vietnamese administrative reporting does not use calendar months: a reporting month runs from the 15th of
the previous month to the 14th, so that a report can be compiled and sent before the month ends. Every
longer period is built the same way (see ../shared/spec/DOMAIN.md, "Reporting periods"):

========== ============================================== =====================================
kind       label                                          dates (inclusive)
========== ============================================== =====================================
month      ``2023-07``                                    15/06/2023 – 14/07/2023
quarter    ``2023-Q1``                                    15/12/2022 – 14/03/2023
half-year  ``2023-H1`` / ``2023-H2``                      15/12/2022 – 14/06/2023 / 15/06 – 14/12/2023
year       ``2023``                                       15/12/2022 – 14/12/2023
========== ============================================== =====================================

The consequence people get wrong: a dossier received on 20/12/2023 belongs to January 2024, Q1 2024,
H1 2024 and the year 2024 — not to anything labelled 2023.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

__all__ = [
    "Period",
    "PeriodError",
    "PeriodKind",
    "parse_period",
    "period_containing",
]

# Periods start on this day of the month before the calendar month they are named after.
_START_DAY = 15

_ROMAN_QUARTERS = {1: "I", 2: "II", 3: "III", 4: "IV"}

_EXPECTED_FORMS = (
    "'YYYY' (year), 'YYYY-H1' or 'YYYY-H2' (half-year), 'YYYY-Q1'…'YYYY-Q4' (quarter), 'YYYY-MM' (month)"
)

_LABEL_RE = re.compile(r"(?P<year>\d{4})(?:-(?:H(?P<half>[12])|Q(?P<quarter>[1-4])|(?P<month>\d{1,2})))?")


class PeriodError(ValueError):
    """A period label that is not one of the supported forms, or a period that cannot exist."""


class PeriodKind(StrEnum):
    """Length of a reporting period; the values are what configuration files and APIs carry."""

    MONTH = "month"
    QUARTER = "quarter"
    HALF_YEAR = "half_year"
    YEAR = "year"


@dataclass(frozen=True)
class Period:
    """One reporting period: its kind, canonical label and inclusive date range.

    Build periods with :func:`parse_period` or :func:`period_containing` rather than by hand: they derive
    ``start`` and ``end`` from the label, so the three can never disagree.
    """

    kind: PeriodKind
    label: str
    start: date
    end: date  # inclusive: the 14th belongs to the period, the 15th starts the next one

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise PeriodError(f"period {self.label!r} starts ({self.start}) after it ends ({self.end})")

    def contains(self, d: date) -> bool:
        """Whether the day ``d`` falls inside the period, both ends included."""
        return self.start <= d <= self.end

    def previous(self) -> Period:
        """The period of the same kind just before this one.

        A period report starts from what was carried over from the previous period, so reports need it
        (2023-01 → 2022-12, 2023-Q1 → 2022-Q4, 2023-H1 → 2022-H2, 2023 → 2022).
        """
        return period_containing(self.start - timedelta(days=1), self.kind)

    @property
    def title_vi(self) -> str:
        """The period as it is written in the title of a Vietnamese report.

        Month and quarter titles carry their dates, because readers do not expect a "month 7" that starts
        on 15 June; half-year and year titles are the customary phrases.
        """
        year = self.end.year
        dates = f"({self.start:%d/%m/%Y} – {self.end:%d/%m/%Y})"
        if self.kind is PeriodKind.MONTH:
            return f"Tháng {self.end.month} năm {year} {dates}"
        if self.kind is PeriodKind.QUARTER:
            quarter = _ROMAN_QUARTERS[(self.end.month - 1) // 3 + 1]
            return f"Quý {quarter} năm {year} {dates}"
        if self.kind is PeriodKind.HALF_YEAR:
            which = "đầu" if self.end.month <= 6 else "cuối"
            return f"6 tháng {which} năm {year}"
        return f"Năm {year}"

    def __str__(self) -> str:
        return self.label


def _start(year: int, month: int) -> date:
    """The 15th of the month before ``month`` of ``year`` — where a period named after ``month`` begins."""
    if month == 1:
        return date(year - 1, 12, _START_DAY)
    return date(year, month - 1, _START_DAY)


def _end(year: int, month: int) -> date:
    return date(year, month, _START_DAY - 1)


def _month(year: int, month: int) -> Period:
    return Period(PeriodKind.MONTH, f"{year:04d}-{month:02d}", _start(year, month), _end(year, month))


def _quarter(year: int, quarter: int) -> Period:
    first, last = 3 * quarter - 2, 3 * quarter
    return Period(PeriodKind.QUARTER, f"{year:04d}-Q{quarter}", _start(year, first), _end(year, last))


def _half_year(year: int, half: int) -> Period:
    first, last = (1, 6) if half == 1 else (7, 12)
    return Period(PeriodKind.HALF_YEAR, f"{year:04d}-H{half}", _start(year, first), _end(year, last))


def _year(year: int) -> Period:
    return Period(PeriodKind.YEAR, f"{year:04d}", _start(year, 1), _end(year, 12))


def parse_period(label: str) -> Period:
    """The period a label names: ``2023``, ``2023-H1``, ``2023-H2``, ``2023-Q2`` or ``2023-07``.

    Lower-case ``h``/``q`` and a one-digit month (``2023-7``) are accepted and normalised, because labels
    are typed by people; the returned period always carries the canonical label.
    """
    if not isinstance(label, str):
        raise PeriodError(
            f"period label must be a string, got {type(label).__name__}; expected {_EXPECTED_FORMS}"
        )
    match = _LABEL_RE.fullmatch(label.strip().upper())
    if match is None:
        raise PeriodError(f"unrecognised period label {label!r}; expected {_EXPECTED_FORMS}")
    year = int(match["year"])
    if year < 2:
        # Year 1 would start in year 0, which Python dates cannot represent.
        raise PeriodError(f"period label {label!r}: year must be 0002 or later")
    if match["half"]:
        return _half_year(year, int(match["half"]))
    if match["quarter"]:
        return _quarter(year, int(match["quarter"]))
    if match["month"]:
        month = int(match["month"])
        if not 1 <= month <= 12:
            raise PeriodError(f"period label {label!r}: month must be 01–12; expected {_EXPECTED_FORMS}")
        return _month(year, month)
    return _year(year)


def period_containing(d: date, kind: PeriodKind) -> Period:
    """The period of ``kind`` that the day ``d`` falls in.

    From the 15th on, a day belongs to the period named after the next calendar month; so 15–31 December
    belong to January, Q1, H1 and the year of the following year.
    """
    kind = PeriodKind(kind)
    year, month = d.year, d.month
    if d.day >= _START_DAY:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if year > 9999:
        raise PeriodError(f"{d} falls in a period after the year 9999, which cannot be represented")
    if kind is PeriodKind.MONTH:
        return _month(year, month)
    if kind is PeriodKind.QUARTER:
        return _quarter(year, (month - 1) // 3 + 1)
    if kind is PeriodKind.HALF_YEAR:
        return _half_year(year, 1 if month <= 6 else 2)
    return _year(year)

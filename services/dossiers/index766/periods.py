"""The board's periods: calendar month, quarter and year, from the 1st to the last day.

The national portal's Decision 766 board asks for ``timeType`` month / quarter / year with calendar bounds (its
satisfaction endpoint even takes ``fromDate``/``toDate`` = first and last day; 766-INDEX.md §2, V-data). That is
not the 15th-to-14th statistical reporting period of our one-door statistics (``services.dossiers.periods``):
both are needed, and they must never be confused, so this is a separate type with its own labels' meaning.

Labels are written like ours — ``2026-08``, ``2026-Q3``, ``2026`` — but mean calendar periods here. There is no
half-year on the board.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from services.dossiers.periods import PeriodError
from shared.calendar import LOCAL_TZ

__all__ = ["BoardPeriod", "BoardPeriodKind", "PeriodError", "as_of", "parse_board_period"]

_LABEL = re.compile(r"(?P<year>\d{4})(?:-(?:Q(?P<quarter>[1-4])|(?P<month>\d{1,2})))?")
_EXPECTED = "'YYYY' (year), 'YYYY-Q1'…'YYYY-Q4' (quarter) or 'YYYY-MM' (month), calendar periods"
_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


class BoardPeriodKind(StrEnum):
    """The portal's ``timeType``."""

    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


@dataclass(frozen=True)
class BoardPeriod:
    """One board period: both ends are local calendar dates, inclusive."""

    kind: BoardPeriodKind
    label: str
    start: dt.date
    end: dt.date

    @property
    def start_instant(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), LOCAL_TZ)

    @property
    def end_instant(self) -> dt.datetime:
        """The last instant of the period's last day (local time)."""
        return dt.datetime.combine(self.end, dt.time.max, LOCAL_TZ)

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    @property
    def title_vi(self) -> str:
        """As a Vietnamese heading: "Tháng 8/2026", "Quý III/2026", "Năm 2026"."""
        if self.kind is BoardPeriodKind.MONTH:
            return f"Tháng {self.start.month}/{self.start.year}"
        if self.kind is BoardPeriodKind.QUARTER:
            return f"Quý {_ROMAN[(self.start.month - 1) // 3 + 1]}/{self.start.year}"
        return f"Năm {self.start.year}"

    def __str__(self) -> str:
        return self.label


def parse_board_period(label: str) -> BoardPeriod:
    """The calendar period a label names (``2026-08``, ``2026-8``, ``2026-q3``, ``2026``); PeriodError otherwise."""
    if not isinstance(label, str):
        raise PeriodError(f"period must be a string, got {type(label).__name__}; expected {_EXPECTED}")
    match = _LABEL.fullmatch(label.strip().upper())
    if match is None:
        raise PeriodError(f"unrecognised board period {label!r}; expected {_EXPECTED}")
    year = int(match["year"])
    if year < 1:
        raise PeriodError(f"board period {label!r}: the year must be 0001 or later")
    if match["quarter"]:
        quarter = int(match["quarter"])
        first, last = 3 * quarter - 2, 3 * quarter
        return BoardPeriod(BoardPeriodKind.QUARTER, f"{year:04d}-Q{quarter}", dt.date(year, first, 1),
                           dt.date(year, last, calendar.monthrange(year, last)[1]))
    if match["month"]:
        month = int(match["month"])
        if not 1 <= month <= 12:
            raise PeriodError(f"board period {label!r}: month must be 01–12; expected {_EXPECTED}")
        return BoardPeriod(BoardPeriodKind.MONTH, f"{year:04d}-{month:02d}", dt.date(year, month, 1),
                           dt.date(year, month, calendar.monthrange(year, month)[1]))
    return BoardPeriod(BoardPeriodKind.YEAR, f"{year:04d}", dt.date(year, 1, 1), dt.date(year, 12, 31))


def require_begun(period: BoardPeriod, now: dt.datetime) -> BoardPeriod:
    """``period`` if it has begun by ``now`` (local date); PeriodError otherwise. A period that starts after today
    has no figures: computing one would judge every dossier "at" an instant that has not come (and a page of
    zeros for 2030 reads as a fact). The overview refuses such periods the same way (services/web/figures.py)."""
    if period.start > now.astimezone(LOCAL_TZ).date():
        raise PeriodError(f"period: board period {period.label!r} starts {period.start.isoformat()}, after today")
    return period


def as_of(period: BoardPeriod, now: dt.datetime) -> dt.datetime:
    """The instant the period is judged at: its last instant, or ``now`` while it is still running.

    The portal judges an unfinished dossier at the period's end (766-INDEX.md §2.1, V-text S1); for the running
    period that end has not come, so today's figure judges at ``now`` — what the board would publish if the
    period closed now — as our own statistics do.
    """
    return min(period.end_instant, now.astimezone(LOCAL_TZ))

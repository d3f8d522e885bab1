"""Presentation rules of the one-door pages, pure: which periods to offer, how a URL's period and sort are read,
how the Decision-766 table is filtered and sorted, and what a unit loses of the progress points.

Figures arrive from ``dossiers.period_stats`` as strings (exact decimals); nothing here recomputes a rate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.dossiers.periods import Period, PeriodError, PeriodKind, parse_period, period_containing

PROGRESS_MAX_POINTS = Decimal(20)  # Decision 766, group 2 (tiến độ giải quyết)

PERIOD_KINDS: tuple[tuple[PeriodKind, str, int], ...] = (
    (PeriodKind.MONTH, "Tháng", 12),
    (PeriodKind.QUARTER, "Quý", 8),
    (PeriodKind.HALF_YEAR, "6 tháng", 4),
    (PeriodKind.YEAR, "Năm", 3),
)

UNIT_KINDS = (("", "Tất cả đơn vị"), ("department", "Sở, ban, ngành"), ("commune", "Xã, phường"))


@dataclass(frozen=True)
class PeriodGroup:
    title: str
    options: tuple[tuple[str, str], ...]  # (label, title)


def period_groups(today: dt.date) -> list[PeriodGroup]:
    """The periods the filter offers, newest first in each kind (the current one included)."""
    groups = []
    for kind, title, count in PERIOD_KINDS:
        period = period_containing(today, kind)
        options = []
        for _ in range(count):
            options.append((period.label, period.title_vi))
            period = period.previous()
        groups.append(PeriodGroup(title, tuple(options)))
    return groups


def current_period(today: dt.date) -> Period:
    """What "the current period" means when a URL names none: the reporting month we are in."""
    return period_containing(today, PeriodKind.MONTH)


def read_period(label: str, today: dt.date) -> Period:
    """The period a URL names; PeriodError for a malformed one or one that has not begun (a 404 page)."""
    if not label:
        return current_period(today)
    period = parse_period(label)
    if period.start > today:
        raise PeriodError(f"period {label!r} has not begun")
    return period


SORT_COLUMNS: Mapping[str, str] = {
    "unit": "Đơn vị",
    "progress_766_total": "Hồ sơ tiếp nhận, xử lý",
    "on_time_766": "Trước hạn, đúng hạn",
    "late_766": "Trễ hạn (theo 766)",
    "progress_766_rate": "Tỷ lệ %",
    "progress_766_score": "Điểm tiến độ",
    "points_lost": "Điểm bị mất",
    "unfinished_overdue": "Đang quá hạn",
}


# a column clicked for the first time sorts worst first: most dossiers or points lost, or lowest rate or score
FIRST_DESCENDING = frozenset({"progress_766_total", "on_time_766", "late_766", "points_lost", "unfinished_overdue"})


@dataclass(frozen=True)
class SortHeader:
    key: str
    title: str
    query: str  # the query string that sorts by this column
    aria_sort: str  # "ascending" / "descending" on the current column, "" elsewhere


def sort_headers(base: Mapping[str, str], sort: str, descending: bool) -> dict[str, SortHeader]:
    """Each column's link: the current one flips its direction, another starts with its worst-first order."""
    from urllib.parse import urlencode

    headers = {}
    for key, title in SORT_COLUMNS.items():
        desc = (not descending) if key == sort else key in FIRST_DESCENDING
        query = urlencode({**{k: v for k, v in base.items() if v}, "sort": key, "dir": "desc" if desc else "asc"})
        current = ("descending" if descending else "ascending") if key == sort else ""
        headers[key] = SortHeader(key, title, query, current)
    return headers


def enrich(row: Mapping[str, Any]) -> dict[str, Any]:
    """A ``period_stats`` row with what the 766 table shows besides: dossiers late by 766's rule (everything
    in the denominator that is not on time, more than one supplement round included) and the points lost."""
    out = dict(row)
    out["late_766"] = int(row["progress_766_total"]) - int(row["on_time_766"])
    score = row["progress_766_score"]  # None: nothing to measure, so no score and nothing lost
    out["points_lost"] = None if score is None else PROGRESS_MAX_POINTS - Decimal(str(score))
    return out


def _sort_value(row: Mapping[str, Any], column: str, descending: bool) -> Any:
    """A figure that does not exist (a rate with nothing to divide) sorts after every real one, either way."""
    if column == "unit":
        return row["unit_name"].casefold()
    value = row[column]
    if value is None:
        return Decimal("-Infinity") if descending else Decimal("Infinity")
    return Decimal(str(value)) if isinstance(value, str) else value


def existed_during(unit: Mapping[str, Any] | None, period: Period) -> bool:
    """Whether a unit existed for some of the period (a district abolished on 1/7/2025 has no 2026 row)."""
    if unit is None:
        return True
    starts, ends = unit.get("valid_from"), unit.get("valid_to")
    return (not ends or dt.date.fromisoformat(ends) >= period.start) and (
        not starts or dt.date.fromisoformat(starts) <= period.end)


def table_rows(rows: Iterable[Mapping[str, Any]], units: Mapping[str, Mapping[str, Any]], unit_kind: str,
               sort: str, descending: bool, period: Period) -> list[dict[str, Any]]:
    """The per-unit rows, of one kind of unit if asked, sorted by a known column (unknown → by name).

    Units with no dossier in the period come last, in name order, whatever the sort: the portal scores them 0,
    which would otherwise fill the top of a "worst first" table with units that have nothing to improve; units
    that did not exist during the period are left out unless they have dossiers."""
    chosen, empty = [], []
    for row in rows:
        unit = units.get(row["unit_code"])
        if unit_kind and (unit or {}).get("kind") != unit_kind:
            continue
        enriched = enrich(row)
        if not enriched["progress_766_total"]:
            if existed_during(unit, period):
                empty.append({**enriched, "empty": True})
            continue
        chosen.append(enriched)
    column = sort if sort in SORT_COLUMNS else "unit"
    ordered = sorted(chosen, key=lambda r: (_sort_value(r, column, descending), r["unit_code"]), reverse=descending)
    return ordered + sorted(empty, key=lambda r: (r["unit_name"].casefold(), r["unit_code"]))


def share(part: int, whole: int) -> Decimal | None:
    return None if not whole else (Decimal(100) * part / whole).quantize(Decimal("0.01"))


def trend_chart_data(series: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[Decimal | None],
                                                                   list[Decimal | None]]:
    """Month labels ("T7/26") and the 766 and on-time rates per month (None where nothing was counted)."""
    labels, progress, on_time = [], [], []
    for row in series:
        end = dt.date.fromisoformat(row["end"])
        labels.append(f"T{end.month}/{end.year % 100:02d}")
        progress.append(Decimal(row["progress_766_rate"]) if row["progress_766_total"] else None)
        on_time.append(Decimal(row["on_time_rate"]) if row["finished"] else None)
    return labels, progress, on_time

"""Per-unit, per-period one-door statistics (DOMAIN.md "Reporting periods"), and their roll-up.

The counts come from the database (stats_query.py, summing the counters of stats_counters.py); this module
holds the arithmetic that turns them into the figures people read — the on-time rate, the Decision 766 progress
rate and score — and sums a unit's own counts with those of every unit below it in the tree.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.dossiers.periods import Period
from services.dossiers.progress766 import progress_rate, progress_score
from services.dossiers.units import UnitTree
from shared.rounding import percent


@dataclass(frozen=True)
class Counts:
    """Raw counts for one unit and period; every field adds up across units (so roll-up is a sum)."""

    carried_over: int = 0  # tồn kỳ trước chuyển sang
    received_new: int = 0  # tiếp nhận mới trong kỳ
    finished_early: int = 0  # đã giải quyết trước hạn
    finished_on_time: int = 0  # đã giải quyết đúng hạn
    finished_late: int = 0  # đã giải quyết trễ hạn
    unfinished_within: int = 0  # đang giải quyết trong hạn
    unfinished_overdue: int = 0  # đang giải quyết quá hạn
    withdrawn: int = 0  # công dân rút hồ sơ
    returned: int = 0  # trả lại / không tiếp nhận (dossier.rejected)
    on_time_766: int = 0  # Decision 766 numerator: finished early/on time + in progress within deadline
    received_online: int = 0  # of received_new, submitted online (nộp trực tuyến)

    def __add__(self, other: Counts) -> Counts:
        return Counts(*map(operator.add, vars(self).values(), vars(other).values()))

    @staticmethod
    def total_of(many: Iterable[Counts]) -> Counts:
        """The field-by-field sum of many (a province's roll-up adds thousands: one pass, not one object each)."""
        rows = [tuple(vars(c).values()) for c in many]
        return Counts(*map(sum, zip(*rows, strict=True))) if rows else Counts()


@dataclass(frozen=True)
class PeriodStats:
    unit_code: str
    unit_name: str
    period: str
    period_title: str
    start: dt.date
    end: dt.date
    as_of: dt.date
    granularity: str
    counts: Counts

    @property
    def total(self) -> int:  # tổng số hồ sơ phải giải quyết
        return self.counts.carried_over + self.counts.received_new

    @property
    def finished(self) -> int:
        c = self.counts
        return c.finished_early + c.finished_on_time + c.finished_late

    @property
    def unfinished(self) -> int:
        return self.counts.unfinished_within + self.counts.unfinished_overdue

    @property
    def on_time_rate(self) -> Decimal | None:
        """(early + on time) / finished, in %: the rate one-door reports print; None when nothing finished
        (no figure where there is nothing to measure — never 0%)."""
        if not self.finished:
            return None
        return percent(self.counts.finished_early + self.counts.finished_on_time, self.finished)

    @property
    def progress_766_total(self) -> int:
        """Decision 766 denominator: dossiers received or processed in the period, less withdrawn/returned."""
        return self.total - self.counts.withdrawn - self.counts.returned

    @property
    def progress_766_rate(self) -> Decimal | None:
        """None when the denominator is empty: a unit with nothing to process has no rate, not 0%."""
        if not self.progress_766_total:
            return None
        return progress_rate(self.counts.on_time_766, self.progress_766_total)

    @property
    def progress_766_score(self) -> Decimal | None:
        if not self.progress_766_total:
            return None
        return progress_score(self.counts.on_time_766, self.progress_766_total)

    @property
    def online_share(self) -> Decimal | None:
        """Dossiers received online / received in the period, in % (Decision 766 online criteria); None when
        nothing was received."""
        if not self.counts.received_new:
            return None
        return percent(self.counts.received_online, self.counts.received_new)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready figures (what RPC returns and reports print). Built field by field, not with
        ``dataclasses.asdict`` (a deep copy of every value): the province's table builds thousands per page."""
        data: dict[str, Any] = {
            "unit_code": self.unit_code, "unit_name": self.unit_name, "period": self.period,
            "period_title": self.period_title, "start": self.start.isoformat(), "end": self.end.isoformat(),
            "as_of": self.as_of.isoformat(), "granularity": self.granularity}
        data.update(vars(self.counts))
        data.update(
            total=self.total,
            finished=self.finished,
            unfinished=self.unfinished,
            on_time_rate=_text(self.on_time_rate),
            progress_766_total=self.progress_766_total,
            progress_766_rate=_text(self.progress_766_rate),
            progress_766_score=_text(self.progress_766_score),
            online_share=_text(self.online_share),
        )
        return data


def _text(value: Decimal | None) -> str | None:
    """Rates travel as exact decimal strings; an absent rate stays absent (null), never "0"."""
    return None if value is None else str(value)


def display(value: str | Decimal | None) -> str:
    """A rate as tables print it: "—" where there is nothing to measure."""
    return "—" if value is None else str(value)


def rollup(tree: UnitTree, own: Mapping[str, Counts], codes: Iterable[str] | None = None) -> dict[str, Counts]:
    """Each requested unit's own counts plus all of its descendants' (unknown codes count for themselves)."""
    result: dict[str, Counts] = {}
    for code in codes if codes is not None else [u.code for u in tree]:
        members = tree.descendants(code) if code in tree else [code]
        result[code] = Counts.total_of(own[m] for m in members if m in own)
    return result


def build(unit_code: str, unit_name: str, period: Period, as_of: dt.date, granularity: str,
          counts: Counts) -> PeriodStats:
    return PeriodStats(
        unit_code=unit_code, unit_name=unit_name, period=period.label, period_title=period.title_vi,
        start=period.start, end=period.end, as_of=as_of, granularity=granularity, counts=counts,
    )

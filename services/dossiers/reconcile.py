"""Our Decision-766 timeliness figures beside the national portal's, unit by unit (đối soát với Cổng DVCQG).

Each month the National Public Service Portal publishes every unit's "tiến độ giải quyết" figures (the shape of
``../shared/data/766_phutho_tien_do_giai_quyet_2026-08.csv``: departmentCode, departmentName, level,
totalReceived, totalOnTime, totalOverdue, avgProcessingDays, ratio_pct, score, maxScore). A difference usually
means dossiers the one-door never synchronised to one side, or a unit argues its score: this module sets the two
side by side — received, on time, in progress, score — and sorts the units by the points at stake.

Periods differ on purpose and every result says which each side uses: the portal counts calendar months,
quarters and years (1st to last day; 766-INDEX.md §2), our own reports the 15th–14th reporting period
(DOMAIN.md). By default our figures are recomputed over the portal's calendar dates (``basis="calendar"``), so
the comparison is like for like; ``basis="reporting"`` shows our reporting period of the same name instead.

Units are matched by code: the portal's root row (level PARENT) is our province root, departments keep the
portal's agency codes (``H44.19``), communes go through ``data/units/phu_tho_portal_codes.csv``. An empty unit
scores 0 on the portal; ours has no rate ("—", DOMAIN.md "No dossiers, no rate"): both are shown.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from services.dossiers.periods import Period, PeriodKind, parse_period
from services.dossiers.progress766 import MAX_POINTS, progress_rate, progress_score
from services.dossiers.statistics import Counts, rollup
from services.dossiers.stats_query import as_of_for, counts_by_unit
from services.dossiers.units import UnitTree, load_portal_codes, name_key

__all__ = ["BASES", "PortalRow", "Reconciliation", "calendar_period", "parse_portal_rows", "reconcile",
           "stated_periods"]

BASES = ("calendar", "reporting")
PORTAL_COLUMNS = ("departmentCode", "departmentName", "level", "totalReceived", "totalOnTime", "score")
_LABEL = re.compile(r"(?P<year>\d{4})(?:-(?:Q(?P<quarter>[1-4])|(?P<month>\d{1,2})))?")


class ReconcileError(ValueError):
    """A period or portal file that cannot be reconciled (the message names the field)."""


def calendar_period(label: str) -> Period:
    """The portal's period named ``2026-08`` (calendar month), ``2026-Q3`` (calendar quarter) or ``2026`` (year)."""
    match = _LABEL.fullmatch(str(label).strip().upper())
    if match is None:
        raise ReconcileError(f"period: {label!r} is not a month (2026-08), a quarter (2026-Q3) or a year (2026)")
    year = int(match["year"])
    if match["month"]:
        month = int(match["month"])
        if not 1 <= month <= 12:
            raise ReconcileError(f"period: month must be 01–12, got {label!r}")
        start, end, kind = dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1]), \
            PeriodKind.MONTH
        canonical = f"{year:04d}-{month:02d}"
    elif match["quarter"]:
        quarter = int(match["quarter"])
        last = 3 * quarter
        start, end, kind = dt.date(year, last - 2, 1), dt.date(year, last, calendar.monthrange(year, last)[1]), \
            PeriodKind.QUARTER
        canonical = f"{year:04d}-Q{quarter}"
    else:
        start, end, kind, canonical = dt.date(year, 1, 1), dt.date(year, 12, 31), PeriodKind.YEAR, f"{year:04d}"
    return Period(kind, canonical, start, end)


def _period_text(period: Period, how: str) -> dict[str, str]:
    return {"label": period.label, "start": period.start.isoformat(), "end": period.end.isoformat(),
            "title": f"{period.start:%d/%m/%Y} – {period.end:%d/%m/%Y}", "basis": how}


@dataclass(frozen=True)
class PortalRow:
    """One row of the portal's published table (totalOverdue is blank on its root row)."""

    row: int
    code: str
    name: str
    level: str  # PARENT | PROVINCE | COMMUNE
    received: int
    on_time: int
    score: Decimal
    overdue: int | None = None
    avg_days: Decimal | None = None


def _int(value: Any, column: str) -> int:
    text = str(value).strip() if value is not None else ""
    if not re.fullmatch(r"\d+", text):
        raise ValueError(f"{column}: '{text}' không phải số nguyên không âm")
    return int(text)


def _decimal(value: Any, column: str) -> Decimal:
    text = str(value).strip() if value is not None else ""
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{column}: '{text}' không phải là số") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"{column}: '{text}' không phải số không âm")
    return number


def parse_portal_rows(rows: Sequence[Mapping[str, Any]]) -> tuple[list[PortalRow], list[dict[str, Any]]]:
    """The portal's rows (dicts by header, as csv.DictReader gives them; row 2 is the first data row), and every
    field that cannot be read — all of a row's, not only its first, so one round of corrections is enough — with
    its row number, column and reason (Vietnamese)."""
    if rows:
        missing = [c for c in PORTAL_COLUMNS if c not in rows[0]]
        if missing:
            raise ReconcileError(f"columns: {', '.join(missing)} missing; expected the portal's export "
                                 f"({', '.join(PORTAL_COLUMNS)}, …)")
    parsed: list[PortalRow] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, raw in enumerate(rows, start=2):
        found: list[dict[str, Any]] = []

        def read(parse: Any, column: str, *, optional: bool = False, raw: Mapping[str, Any] = raw, index: int = index,
                 found: list[dict[str, Any]] = found) -> Any:
            text = str(raw.get(column) or "").strip()
            if optional and not text:
                return None
            try:
                return parse(text, column)
            except ValueError as exc:
                found.append({"row": index, "column": column, "reason": str(exc).partition(": ")[2]})
                return None

        code = str(raw.get("departmentCode") or "").strip()
        if not code:
            found.append({"row": index, "column": "departmentCode", "reason": "bỏ trống"})
        elif code in seen:
            found.append({"row": index, "column": "departmentCode", "reason": f"mã {code} xuất hiện hai lần"})
        received, on_time = read(_int, "totalReceived"), read(_int, "totalOnTime")
        if received is not None and on_time is not None and on_time > received:
            found.append({"row": index, "column": "totalOnTime",
                          "reason": f"{on_time} hồ sơ đúng hạn nhiều hơn tổng số nhận {received}"})
        score = read(_decimal, "score")
        overdue = read(_int, "totalOverdue", optional=True)
        avg_days = read(_decimal, "avgProcessingDays", optional=True)
        if found:
            errors.extend(found)
            continue
        parsed.append(PortalRow(
            row=index, code=code, name=str(raw.get("departmentName") or "").strip(),
            level=str(raw.get("level") or "").strip().upper(), received=received, on_time=on_time,
            score=score, overdue=overdue, avg_days=avg_days,
        ))
        seen.add(code)
    return parsed, errors


PERIOD_COLUMNS = ("period", "kyBaoCao", "Kỳ", "kỳ")


def stated_periods(rows: Sequence[Mapping[str, Any]]) -> set[str]:
    """The periods the file itself states (a period column, if the export has one), as canonical labels; a value
    that is no period is kept as written, so the caller can say it differs."""
    stated: set[str] = set()
    for raw in rows:
        for column in PERIOD_COLUMNS:
            text = str(raw.get(column) or "").strip()
            if text:
                try:
                    stated.add(calendar_period(text).label)
                except ReconcileError:
                    stated.add(text)
    return stated


@dataclass
class Side:
    """One side's figures for a unit: received or processed in the period (the 766 denominator), handled on time
    (finished early/on time + in progress within the deadline), finished on time, in progress, rate, score."""

    received: int
    on_time: int
    score: Decimal | None  # None: nothing to measure (our figures only; the portal says 0)
    rate: Decimal | None
    finished_on_time: int | None = None
    in_progress: int | None = None


@dataclass
class Line:
    unit_code: str | None
    unit_name: str
    portal_code: str
    portal_name: str
    level: str
    portal: Side
    ours: Side | None
    name_differs: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def received_diff(self) -> int | None:
        return None if self.ours is None else self.ours.received - self.portal.received

    @property
    def on_time_diff(self) -> int | None:
        return None if self.ours is None else self.ours.on_time - self.portal.on_time

    @property
    def score_diff(self) -> Decimal | None:
        if self.ours is None or self.ours.score is None:
            return None
        return self.ours.score - self.portal.score

    @property
    def points_at_stake(self) -> Decimal:
        """How many of the 20 points the two sides disagree on (an empty unit of ours: the portal's score)."""
        if self.ours is None:
            return Decimal(0)
        if self.ours.score is None:
            return self.portal.score
        return abs(self.ours.score - self.portal.score)

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k not in ("portal", "ours")}
        data["portal"] = _side_dict(self.portal)
        data["ours"] = _side_dict(self.ours) if self.ours is not None else None
        data.update(received_diff=self.received_diff, on_time_diff=self.on_time_diff,
                    score_diff=_text(self.score_diff), points_at_stake=_text(self.points_at_stake))
        return data


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _side_dict(side: Side) -> dict[str, Any]:
    data = asdict(side)
    data["score"], data["rate"] = _text(side.score), _text(side.rate)
    return data


@dataclass
class Reconciliation:
    period: dict[str, Any]
    granularity: str
    as_of: str
    province: Line | None
    lines: list[Line]
    unmatched: list[dict[str, Any]]  # portal rows matching none of our units
    missing_in_portal: list[dict[str, Any]]  # our units with dossiers in the period that the portal file lacks
    errors: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"period": self.period, "granularity": self.granularity, "as_of": self.as_of,
                "province": self.province.as_dict() if self.province else None,
                "lines": [line.as_dict() for line in self.lines], "unmatched": self.unmatched,
                "missing_in_portal": self.missing_in_portal, "errors": self.errors,
                "differing": sum(1 for line in self.lines if line.points_at_stake or line.received_diff)}


def _ours(counts: Counts) -> Side:
    total = counts.carried_over + counts.received_new - counts.withdrawn - counts.returned
    empty = total == 0
    return Side(
        received=total, on_time=counts.on_time_766,
        score=None if empty else progress_score(counts.on_time_766, total, MAX_POINTS),
        rate=None if empty else progress_rate(counts.on_time_766, total),
        finished_on_time=counts.finished_early + counts.finished_on_time,
        in_progress=counts.unfinished_within + counts.unfinished_overdue,
    )


def _notes(line: Line) -> list[str]:
    """What a difference most likely means, in the office's words."""
    notes = []
    if line.ours is None:
        return ["Không khớp được với đơn vị nào của hệ thống"]
    if line.name_differs:
        notes.append("Tên đơn vị trên Cổng khác tên trong hệ thống: kiểm tra bảng mã")
    diff = line.received_diff or 0
    if line.ours.received == 0 and line.portal.received == 0:
        notes.append("Không có hồ sơ: Cổng chấm 0 điểm, hệ thống không tính tỷ lệ (—)")
    elif diff < 0:
        notes.append(f"Cổng có nhiều hơn {-diff:,} hồ sơ: hồ sơ chưa gửi về hệ thống (chưa đồng bộ)?")
    elif diff > 0:
        notes.append(f"Hệ thống có nhiều hơn {diff:,} hồ sơ: hồ sơ chưa đồng bộ lên Cổng DVCQG?")
    if diff == 0 and line.on_time_diff:
        notes.append("Cùng số hồ sơ nhưng khác số đúng hạn: đối chiếu ngày hẹn trả, bổ sung hồ sơ")
    return notes


def _match(row: PortalRow, tree: UnitTree, portal_codes: Mapping[str, str], root: str) -> str | None:
    if row.level == "PARENT":
        return root
    if row.code in tree:
        return row.code
    ward = portal_codes.get(row.code)
    return ward if ward is not None and ward in tree else None


def reconcile(
    session: Session,
    rules: Any,
    rows: Sequence[Mapping[str, Any]],
    period_label: str,
    now: dt.datetime,
    *,
    basis: str = "calendar",
    portal_codes: Mapping[str, str] | None = None,
) -> Reconciliation:
    """The portal's rows for ``period_label`` beside our figures, province first, then units by points at stake."""
    if basis not in BASES:
        raise ReconcileError(f"basis: {basis!r} is not one of {', '.join(BASES)}")
    portal_period = calendar_period(period_label)
    ours_period = portal_period if basis == "calendar" else parse_period(portal_period.label)
    tree: UnitTree = rules.units
    portal_codes = load_portal_codes() if portal_codes is None else portal_codes
    root = next(u.code for u in tree if u.parent_code is None)
    parsed, errors = parse_portal_rows(rows)
    matched = {row.code: _match(row, tree, portal_codes, root) for row in parsed}
    wanted = sorted({code for code in matched.values() if code is not None} | {root})
    members = sorted({m for code in wanted for m in tree.descendants(code)})
    own = counts_by_unit(session, ours_period, now, rules.granularity, members)
    totals = rollup(tree, own, wanted)
    province: Line | None = None
    lines: list[Line] = []
    unmatched = []
    for row in parsed:
        portal = Side(received=row.received, on_time=row.on_time, score=row.score,
                      rate=progress_rate(row.on_time, row.received))
        code = matched[row.code]
        unit = tree.get(code) if code is not None else None
        line = Line(
            unit_code=code, unit_name=unit.name if unit else "", portal_code=row.code, portal_name=row.name,
            level=row.level, portal=portal, ours=_ours(totals[code]) if code is not None else None,
            name_differs=bool(unit and row.level == "COMMUNE" and name_key(row.name) != name_key(unit.name)),
        )
        line.notes = _notes(line)
        if code is None:
            unmatched.append({"row": row.row, "code": row.code, "name": row.name, "level": row.level})
            continue
        if code == root:
            province = line
        else:
            lines.append(line)
    lines.sort(key=lambda line: (-line.points_at_stake, -abs(line.received_diff or 0), line.portal_code))
    reported = {line.unit_code for line in lines} | {root}
    missing = [{"unit_code": code, "unit_name": unit.name, "received": counts.carried_over + counts.received_new}
               for code, counts in sorted(own.items())
               if code not in reported and (unit := tree.get(code)) is not None
               and counts.carried_over + counts.received_new > 0
               and not any(a in reported - {root} for a in tree.ancestors(code))]
    period = {"label": portal_period.label,
              "portal": _period_text(portal_period, "tháng/quý/năm dương lịch (từ ngày 01 đến ngày cuối kỳ)"),
              "ours": _period_text(ours_period, "cùng khoảng thời gian với Cổng" if basis == "calendar"
                                   else "kỳ báo cáo 15–14 của hệ thống")}
    as_of = as_of_for(ours_period, now)
    return Reconciliation(period=period, granularity=rules.granularity.value, as_of=as_of.isoformat(),
                          province=province, lines=lines, unmatched=unmatched, missing_in_portal=missing,
                          errors=errors)

"""Every Decision-766 group of ours beside the national portal's, unit by unit (đối soát cả sáu nhóm chỉ số).

When the portal publishes a month, the office exports each unit's six group scores — the codes of the portal's
summary (766-INDEX.md, S6: ``groupScores`` CKMB, TDGQ, CLGQ, MDSH, MDHL, TTTT, and ``totalScore``) — and sets
them beside ours: where a group differs, either the one-door never sent a source (a lower bound with us), a
procedure fact is missing, or the method is one we reconstructed (``inferred``: the output says so for each group,
naming its inferred indicators), so nobody reads a difference on an inferred group as the one-door's fault.

**The file** (CSV, UTF-8 with or without BOM, or XLSX: the first sheet, headers on the first row), one row per
unit::

    departmentCode,departmentName,level,CKMB,TDGQ,CLGQ,MDSH,MDHL,TTTT,totalScore
    H44,UBND tỉnh Phú Thọ,PARENT,7.96,15.68,8.83,8.22,12.97,6.25,59.91
    H44.19,Sở Tư pháp - Tỉnh Phú Thọ,PROVINCE,,18.13,,,,,

``departmentCode`` is required; group columns are the portal's codes (or ours: ``transparency``, ``timeliness``,
``online_services``, ``digitisation``, ``satisfaction``, ``online_payment``), at least one of them; a blank cell is
a group the file does not state (not compared), a figure must lie between 0 and the group's maximum.
``departmentName``, ``level`` (PARENT for the province's own row) and ``totalScore`` are optional. Units are
matched as the timeliness reconciliation matches them (reconcile.py). The portal's periods are calendar ones and
so are ours here: the figures are the index766 ranking of the same period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from services.dossiers.index766.groups import GROUPS, Group, UnitIndex, compute
from services.dossiers.index766.periods import parse_board_period
from services.dossiers.reconcile import ReconcileError, calendar_period
from services.dossiers.units import UnitKind, UnitTree, load_portal_codes, name_key
from shared.calendar import LOCAL_TZ

__all__ = ["GROUP_COLUMNS", "group_inference", "is_group_file", "parse_group_rows", "reconcile_groups"]

GROUP_COLUMNS: dict[str, Group] = {**{g.portal_code: g for g in GROUPS}, **{g.code.upper(): g for g in GROUPS}}
TOTAL_COLUMN = "TOTALSCORE"


def group_inference(group: Group) -> list[str]:
    """The numbers of the group's scored indicators whose method is inferred (766-INDEX.md evidence labels)."""
    return list(group.inferred_numbers)


def _columns(header: Sequence[str]) -> dict[str, str]:
    """File column → our key (a group code, or 'total'), case-insensitive."""
    found: dict[str, str] = {}
    for column in header:
        key = str(column or "").strip().upper()
        if key in GROUP_COLUMNS:
            found[column] = GROUP_COLUMNS[key].code
        elif key == TOTAL_COLUMN:
            found[column] = "total"
    return found


def is_group_file(header: Sequence[str]) -> bool:
    """Whether a portal file holds group scores (this module) rather than the timeliness table (reconcile.py)."""
    return any(value != "total" for value in _columns(header).values())


def _score(value: Any, column: str, top: Decimal) -> Decimal | None:
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    try:
        number = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"{column}: '{text}' không phải là số") from None
    if not number.is_finite() or not 0 <= number <= top:
        raise ValueError(f"{column}: {text} không nằm trong khoảng 0 đến {top} điểm của nhóm")
    return number


def parse_group_rows(rows: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The file's rows (dicts by header; row 2 is the first data row) and every unreadable row with its row number,
    column and reason; a file without the code column or any group column is refused whole."""
    header = list(rows[0].keys()) if rows else []
    columns = _columns(header)
    if rows and ("departmentCode" not in header or not is_group_file(header)):
        raise ReconcileError("columns: expected departmentCode and at least one group column ("
                             + ", ".join(g.portal_code for g in GROUPS) + "), optionally totalScore")
    groups = {g.code: g for g in GROUPS}
    parsed: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, raw in enumerate(rows, start=2):
        found: list[dict[str, Any]] = []  # every field of the row, not only the first: one round of corrections
        code = str(raw.get("departmentCode") or "").strip()
        if not code:
            found.append({"row": index, "column": "departmentCode", "reason": "bỏ trống"})
        elif code in seen:
            found.append({"row": index, "column": "departmentCode", "reason": f"mã {code} xuất hiện hai lần"})
        scores: dict[str, Decimal | None] = {}
        unreadable = False
        for column, key in columns.items():
            top = Decimal(100) if key == "total" else groups[key].max_points
            try:
                scores[key] = _score(raw.get(column), column, top)
            except ValueError as exc:
                unreadable = True
                found.append({"row": index, "column": column, "reason": str(exc).partition(": ")[2]})
        if not unreadable and all(scores.get(g.code) is None for g in GROUPS):
            found.append({"row": index, "column": "scores", "reason": "dòng không có điểm nhóm nào"})
        if found:
            errors.extend(found)
            continue
        parsed.append({"row": index, "code": code, "name": str(raw.get("departmentName") or "").strip(),
                       "level": str(raw.get("level") or "").strip().upper(), "scores": scores})
        seen.add(code)
    return parsed, errors


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _line(row: Mapping[str, Any], unit_code: str, unit_name: str, index: UnitIndex, name_differs: bool
          ) -> dict[str, Any]:
    groups = []
    stake = Decimal(0)
    notes = []
    if name_differs:
        notes.append("Tên đơn vị trên Cổng khác tên trong hệ thống: kiểm tra bảng mã")
    if index.indicator("PROGRESS_ON_TIME").ratio.denominator == 0 and row["scores"].get("timeliness"):
        notes.append("Hệ thống không có hồ sơ nào của đơn vị trong kỳ mà Cổng có: hồ sơ chưa gửi về hệ thống?")
    for score in index.groups:
        group = score.group
        portal = row["scores"].get(group.code)
        diff = None if portal is None else score.score - portal
        inferred = group_inference(group)
        if diff is not None:
            stake += abs(diff)
            if abs(diff) >= 1:
                side = "cao hơn" if diff > 0 else "thấp hơn"
                note = f"{group.name_vi}: hệ thống {side} Cổng {abs(diff):.2f} điểm"
                if inferred:
                    note += f" (chỉ tiêu {', '.join(inferred)} tính theo cách suy luận)"
                notes.append(note)
        groups.append({"code": group.code, "portal_code": group.portal_code, "name": group.name_vi,
                       "max_points": str(group.max_points), "portal": _text(portal), "ours": _text(score.score),
                       "diff": _text(diff), "inferred": bool(inferred), "inferred_indicators": inferred})
    portal_total = row["scores"].get("total")
    return {
        "portal_code": row["code"], "portal_name": row["name"], "level": row["level"], "unit_code": unit_code,
        "unit_name": unit_name, "groups": groups,
        "total": {"portal": _text(portal_total), "ours": _text(index.total),
                  "diff": _text(None if portal_total is None else index.total - portal_total)},
        "points_at_stake": _text(stake), "notes": notes,
    }


def reconcile_groups(session: Session, rules: Any, rows: Sequence[Mapping[str, Any]], period_label: str,
                     now: dt.datetime, *, portal_codes: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The portal's group scores for ``period_label`` beside ours: the province first, then the units by points
    at stake (the sum of the groups' differences), each group flagged where its method is inferred."""
    from services.dossiers.index766.reads import _all  # the ranking's own computation of every unit

    portal_period = calendar_period(period_label)
    period = parse_board_period(portal_period.label)
    tree: UnitTree = rules.units
    portal_codes = load_portal_codes() if portal_codes is None else portal_codes
    parsed, errors = parse_group_rows(rows)
    ctx, tallies, units, warnings, _ = _all(session, rules, period, now)
    root = next((u.code for u in units if u.kind is UnitKind.PROVINCE), None)
    province, lines, unmatched = None, [], []
    reported: set[str] = set()
    for row in parsed:
        if row["level"] == "PARENT":
            code: str | None = root
        elif row["code"] in tree:
            code = row["code"]
        else:
            code = portal_codes.get(row["code"])
        if code is None or code not in tallies:
            unmatched.append({"row": row["row"], "code": row["code"], "name": row["name"], "level": row["level"]})
            continue
        unit = tree.get(code)
        assert unit is not None
        tally = tallies[code]
        index = compute(tally.ratios, is_root=code == root, notes=tally.notes)
        name_differs = bool(row["name"]) and row["level"] == "COMMUNE" and name_key(row["name"]) != name_key(unit.name)
        line = _line(row, code, unit.name, index, name_differs)
        reported.add(code)
        if code == root:
            province = line
        else:
            lines.append(line)
    lines.sort(key=lambda line: (-Decimal(line["points_at_stake"]), line["portal_code"]))
    missing = [{"unit_code": u.code, "unit_name": u.name,
                "received": tallies[u.code].ratios["PROGRESS_ON_TIME"].denominator}
               for u in units if u.code not in reported and u.code != root and u.code in tallies
               and tallies[u.code].ratios["PROGRESS_ON_TIME"].denominator > 0
               and not any(a in reported - {root} for a in tree.ancestors(u.code))]
    return {
        "period": {"label": period.label, "title": period.title_vi, "start": period.start.isoformat(),
                   "end": period.end.isoformat(),
                   "basis": "tháng/quý/năm dương lịch (từ ngày 01 đến ngày cuối kỳ), cả hai bên"},
        "as_of": ctx.as_of.astimezone(LOCAL_TZ).isoformat(),
        "groups": [{"code": g.code, "portal_code": g.portal_code, "name": g.name_vi, "max_points": str(g.max_points),
                    "inferred_indicators": group_inference(g)} for g in GROUPS],
        "province": province, "lines": lines, "unmatched": unmatched, "missing_in_portal": missing,
        "errors": errors, "warnings": warnings,
        "differing": sum(1 for line in lines if Decimal(line["points_at_stake"])),
    }

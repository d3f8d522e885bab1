"""Chỉ số 766: the whole Decision 766/QĐ-TTg index as the national portal will publish it — the province's units
ranked by the points they have at stake, and one unit's six groups with the points lost on each indicator and the
dossiers, petitions and procedures behind them (applicants' names masked by the dossiers service).

Board periods (calendar month ``2026-08``, quarter ``2026-Q3``, year ``2026``), not the 15th–14th reporting period
of Tổng quan: the URL carries the period and the unit kind, so a page can be bookmarked and sent. Scope as
everywhere: a unit officer sees his units only. Where an indicator's method is inferred (766-INDEX.md: not
reproduced from the portal's published inputs) the page says so beside it.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Response

from services.dossiers.index766.periods import parse_board_period, require_begun
from services.web.context import Page, PageNotFound, RequestContext, page_offset
from services.web.pages.overview import visible_ancestors
from shared.calendar import LOCAL_TZ

__all__ = ["board_period_groups", "ranking", "unit_page", "unit_workbook"]

KINDS = (("", "Tất cả đơn vị"), ("department", "Sở, ban, ngành"), ("commune", "Xã, phường"))
TABLE_ROWS = 250  # a national tree of 3,321 communes would be a 1 MB page (as the overview's table)
ITEMS_SHOWN = 20  # per indicator on the page; the workbook has them all
STATES_VI = {"finished": "Đã giải quyết", "withdrawn": "Rút hồ sơ", "rejected": "Từ chối", "in_progress":
             "Đang giải quyết", "awaiting_supplement": "Chờ bổ sung"}


def board_period_groups(today: dt.date) -> list[dict[str, Any]]:
    """The periods offered: the last 13 calendar months, the last 5 quarters, this year and last."""
    months, quarters = [], []
    year, month = today.year, today.month
    for _ in range(13):
        period = parse_board_period(f"{year:04d}-{month:02d}")
        months.append((period.label, period.title_vi))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    year, quarter = today.year, (today.month - 1) // 3 + 1
    for _ in range(5):
        period = parse_board_period(f"{year:04d}-Q{quarter}")
        quarters.append((period.label, period.title_vi))
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    years = [(parse_board_period(str(y)).label, parse_board_period(str(y)).title_vi)
             for y in (today.year, today.year - 1)]
    return [{"title": "Tháng", "options": months}, {"title": "Quý", "options": quarters},
            {"title": "Năm", "options": years}]


def _period(ctx: RequestContext) -> Any:
    today = ctx.now.astimezone(LOCAL_TZ).date()
    text = ctx.arg("period") or f"{today.year:04d}-{today.month:02d}"
    try:
        # a period that has not begun has no figures: the overview's rule (figures.read_period), and the dossiers
        # service refuses it too (index766.periods.require_begun)
        return require_begun(parse_board_period(text), ctx.now)
    except ValueError:
        raise PageNotFound(f"Không có kỳ “{text}” (tháng 2026-08, quý 2026-Q3 hoặc năm 2026, "
                           "đã bắt đầu).") from None


def _common(ctx: RequestContext, period: Any) -> dict[str, Any]:
    return {"section": "index766", "period": period,
            "period_groups": board_period_groups(ctx.now.astimezone(LOCAL_TZ).date())}


def ranking(ctx: RequestContext) -> Page:
    """The province view: its own six groups, then its units by points at stake (a unit officer: his units)."""
    period = _period(ctx)
    kind = ctx.arg("kind")
    if kind not in dict(KINDS):
        raise PageNotFound(f"Không có loại đơn vị “{kind}”.")
    doc = ctx.backends.call("dossiers", "index766_ranking", period.label, kind or None)
    scope = ctx.scope()
    rows = scope.filter(doc["units"])
    first = page_offset(ctx)
    inferred = {i["number"] for g in (doc["province"] or {}).get("groups", ()) for i in g["indicators"]
                if i["inferred"]}
    return Page("index766/ranking.html", {
        **_common(ctx, period), "title": f"Chỉ số 766 — {period.title_vi}", "doc": doc,
        "province": doc["province"] if scope.all else None, "rows": rows[first:first + TABLE_ROWS],
        "total_rows": len(rows), "offset": first, "table_rows": TABLE_ROWS, "kind": kind, "kinds": KINDS,
        "scoped": not scope.all, "groups": (doc["province"] or {}).get("groups") or [],
        "inferred_numbers": sorted(inferred),
        "page_url": lambda offset: ctx.url("/chi-so-766", period=period.label, kind=kind, offset=offset or None)})


def unit_page(ctx: RequestContext, unit_code: str) -> Page:
    """One unit's six groups, its indicators (inferred ones marked) and where its points go."""
    unit = ctx.unit(unit_code)
    period = _period(ctx)
    doc = ctx.backends.call("dossiers", "index766", unit_code, period.label, ITEMS_SHOWN)
    groups = {g["code"]: g["name"] for g in doc["groups"]}
    return Page("index766/unit.html", {
        **_common(ctx, period), "title": f"{doc['unit_name']} — Chỉ số 766", "doc": doc, "unit": unit,
        "group_names": groups, "states": STATES_VI, "items_shown": ITEMS_SHOWN,
        "ancestors": visible_ancestors(ctx, unit),
        "workbook_url": ctx.url(f"/chi-so-766/don-vi/{quote(unit_code)}/bang-tinh", period=period.label)})


def unit_workbook(ctx: RequestContext, unit_code: str) -> Response:
    """The unit's XLSX (every item behind its lost points), as the office sends it to the unit."""
    ctx.unit(unit_code)
    period = _period(ctx)
    data = base64.b64decode(ctx.backends.call("dossiers", "index766_workbook", period.label, unit_code))
    name = f"chi-so-766-{unit_code}-{period.label}.xlsx"
    return Response(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename=\"{name}\"", "Cache-Control": "no-store",
                             "X-Content-Type-Options": "nosniff"})

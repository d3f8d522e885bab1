"""Tổng quan: the province's one-door figures for a period, the Decision-766 table per unit, and the drill-down
province → unit → its late and overdue dossiers, with the unit's last twelve months."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from markupsafe import Markup

from services.dossiers.periods import PeriodError
from services.web import figures
from services.web.context import Page, PageNotFound, RequestContext, page_offset
from services.web.directory import UNIT_KIND_TITLES
from shared.calendar import LOCAL_TZ
from shared.svg_charts import Series, line_svg

log = logging.getLogger(__name__)

STATUS_TITLES = {"late": "Đã giải quyết trễ hạn", "overdue": "Đang giải quyết quá hạn"}
# rows of the Decision-766 table per page: a province's 100–200 units fit on one; a national tree of 3,321
# communes would be a 1 MB page that takes a second to lay out
TABLE_ROWS = 250
# what the Decision-766 table reads of each unit's row (figures.table_rows, overview.html, public.html): the
# answer carries only these for the children — a national tree's rows are 2 MB of JSON whole, 0.5 MB so.
# A column added to those tables needs its field here.
TABLE_FIELDS = ["unit_code", "unit_name", "progress_766_total", "on_time_766", "unfinished_overdue",
                "progress_766_rate", "progress_766_score"]


def _period(ctx: RequestContext) -> Any:
    try:
        return figures.read_period(ctx.arg("period"), ctx.now.astimezone(LOCAL_TZ).date())
    except PeriodError:
        raise PageNotFound(f"Không có kỳ báo cáo “{ctx.arg('period')}”.") from None


def overview(ctx: RequestContext) -> Page:
    period = _period(ctx)
    root = ctx.directory.root(ctx.backends)
    scope = ctx.scope()
    if not scope.all:
        # a unit officer's overview is his units' table; the province's figures are not his to read
        return _officer_overview(ctx, period)
    unit_kind = ctx.arg("kind")
    if unit_kind not in dict(figures.UNIT_KINDS):
        raise PageNotFound(f"Không có loại đơn vị “{unit_kind}”.")
    sort, descending = ctx.arg("sort", "progress_766_score"), ctx.arg("dir", "asc") == "desc"
    rows = ctx.backends.call("dossiers", "period_stats", root["code"], period.label, True, TABLE_FIELDS)
    if not ctx.directory.knows_all(r["unit_code"] for r in rows):
        log.info("the unit registry changed: asked again")
    units = {u["code"]: u for u in ctx.directory.units(ctx.backends)}
    kinds = {code: u["kind"] for code, u in units.items()}
    table = figures.table_rows(rows[1:], units, unit_kind, sort, descending, period)
    first = _offset(ctx)
    shown = table[first:first + TABLE_ROWS]
    return Page("overview.html", {
        "title": "Tổng quan", "section": "overview", "period": period, "province": figures.enrich(rows[0]),
        "rows": shown, "unit_kind": unit_kind, "sort": sort, "descending": descending,
        "total_rows": len(table), "empty_rows": sum(1 for r in table if r.get("empty")), "offset": first,
        "table_rows": TABLE_ROWS,
        "period_groups": figures.period_groups(ctx.now.astimezone(LOCAL_TZ).date()),
        "unit_kinds": figures.UNIT_KINDS, "columns": figures.SORT_COLUMNS, "kinds": kinds,
        "kind_titles": UNIT_KIND_TITLES,
        "headers": figures.sort_headers({"period": period.label, "kind": unit_kind}, sort, descending)})


def _officer_overview(ctx: RequestContext, period: Any) -> Page:
    scope = ctx.scope()
    codes = [c for c in ctx.user.unit_codes if scope.allows(c)]
    # one request for all his units (it was one each: a round trip per unit)
    answer = ctx.backends.call("dossiers", "period_stats_many", codes, period.label) if codes else []
    units = {u["code"]: u for u in ctx.directory.units(ctx.backends)}
    sort, descending = ctx.arg("sort", "unit"), ctx.arg("dir", "asc") == "desc"
    rows = figures.table_rows(answer, units, "", sort, descending, period)
    return Page("overview.html", {
        "title": "Tổng quan", "section": "overview", "period": period, "province": None, "rows": rows,
        "unit_kind": "", "sort": sort, "descending": descending, "total_rows": len(rows),
        "empty_rows": sum(1 for r in rows if r.get("empty")), "offset": 0, "table_rows": TABLE_ROWS,
        "period_groups": figures.period_groups(ctx.now.astimezone(LOCAL_TZ).date()),
        "unit_kinds": (), "columns": figures.SORT_COLUMNS, "kinds": {}, "kind_titles": UNIT_KIND_TITLES,
        "headers": figures.sort_headers({"period": period.label}, sort, descending)})


def unit_page(ctx: RequestContext, unit_code: str) -> Page:
    unit = ctx.unit(unit_code)
    period = _period(ctx)
    status = ctx.arg("status", "overdue")
    if status not in STATUS_TITLES:
        raise PageNotFound(f"Không có danh sách “{status}”.")
    offset = _offset(ctx)
    # the four calls go out together: the page waits for the slowest, not for their sum
    stats = ctx.backends.start("dossiers", "period_stats", unit_code, period.label, True)
    series = ctx.backends.start("dossiers", "monthly_series", unit_code, period.label)
    listing = ctx.backends.start("dossiers", "unit_dossiers", unit_code, period.label, status,
                                 ctx.settings.page_size, offset)
    rows = stats.result()
    months = series.result()
    dossiers = listing.result()
    labels, progress, on_time = figures.trend_chart_data(months)
    chart = Markup(line_svg(labels, [Series("Tỷ lệ tiến độ 766", tuple(progress), "#1f4e79"),
                                     Series("Tỷ lệ đúng hạn", tuple(on_time), "#b5651d", "6 4")],
                            f"Xu hướng 12 tháng của {unit['name']}"))
    me = figures.enrich(rows[0])
    units = {u["code"]: u for u in ctx.directory.units(ctx.backends)}
    children = figures.table_rows(rows[1:], units, "", "progress_766_score", False, period)
    ancestors = visible_ancestors(ctx, unit)
    return Page("unit.html", {
        "title": unit["name"], "section": "overview", "unit": unit, "period": period, "me": me,
        "children": children, "months": months, "chart": chart, "labels": labels, "dossiers": dossiers,
        "status": status, "status_titles": STATUS_TITLES, "ancestors": ancestors,
        "kind_title": UNIT_KIND_TITLES.get(unit["kind"], unit["kind"]),
        "period_groups": figures.period_groups(ctx.now.astimezone(LOCAL_TZ).date()),
        "page_size": ctx.settings.page_size, "offset": offset,
        "lost_per_dossier": (figures.PROGRESS_MAX_POINTS / me["progress_766_total"]
                             if me["progress_766_total"] else Decimal(0))}, headers={})


def unit_dossiers(ctx: RequestContext, unit_code: str) -> Page:
    """The list alone (htmx swaps it in when a tab or a page of the list is chosen)."""
    page = unit_page(ctx, unit_code) if not ctx.is_htmx else None
    if page is not None:
        return page
    ctx.unit(unit_code)
    period = _period(ctx)
    status = ctx.arg("status", "overdue")
    if status not in STATUS_TITLES:
        raise PageNotFound(f"Không có danh sách “{status}”.")
    offset = _offset(ctx)
    dossiers = ctx.backends.call("dossiers", "unit_dossiers", unit_code, period.label, status,
                                 ctx.settings.page_size, offset)
    unit = ctx.directory.get(ctx.backends, unit_code)
    return Page("_dossier_list.html", {"unit": unit, "period": period, "dossiers": dossiers, "status": status,
                                       "status_titles": STATUS_TITLES, "page_size": ctx.settings.page_size,
                                       "offset": offset})


def _offset(ctx: RequestContext) -> int:
    return page_offset(ctx)


def visible_ancestors(ctx: RequestContext, unit: dict[str, Any]) -> list[dict[str, Any]]:
    """The unit's parents, province first, that the reader may open (the breadcrumb of every unit page)."""
    chain, current = [], unit.get("parent_code")
    while current:
        parent = ctx.directory.get(ctx.backends, current)
        if parent is None:
            break
        chain.append(parent)
        current = parent.get("parent_code")
    return [u for u in reversed(chain) if ctx.scope().allows(u["code"])]


__all__ = ["overview", "unit_dossiers", "unit_page"]

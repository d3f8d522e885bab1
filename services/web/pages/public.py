"""The public page (công khai): the province's one-door figures and each unit's Decision-766 progress for the
current reporting month, without signing in. Aggregates only: no dossier, no person, no document.

The table comes a page at a time (``?offset=``): a national tree has thousands of rows, and a page anyone may
request without signing in must not cost a megabyte of HTML each time."""

from __future__ import annotations

from services.web import figures
from services.web.context import Page, PageNotFound, RequestContext, page_offset
from services.web.pages.overview import TABLE_FIELDS
from shared.calendar import LOCAL_TZ

TABLE_ROWS = 100


def figures_page(ctx: RequestContext) -> Page:
    if not ctx.settings.public_page:
        raise PageNotFound("Trang công khai chưa được bật.")
    offset = page_offset(ctx)
    period = figures.current_period(ctx.now.astimezone(LOCAL_TZ).date())
    root = ctx.directory.root(ctx.backends)
    rows = ctx.backends.call("dossiers", "period_stats", root["code"], period.label, True, TABLE_FIELDS)
    units = {u["code"]: u for u in ctx.directory.units(ctx.backends)}
    table = figures.table_rows(rows[1:], units, "", "progress_766_score", True, period)
    return Page("public.html", {"title": "Số liệu công khai", "section": "", "period": period,
                                "province": figures.enrich(rows[0]), "rows": table[offset:offset + TABLE_ROWS],
                                "total_rows": len(table), "offset": offset, "table_rows": TABLE_ROWS})

"""The public page (công khai): the province's one-door figures and each unit's Decision-766 progress for the
current reporting month, without signing in. Aggregates only: no dossier, no person, no document.

The table comes a page at a time (``?offset=``): a national tree has thousands of rows, and a page anyone may
request without signing in must not cost a megabyte of HTML each time."""

from __future__ import annotations

from services.web import figures
from services.web.context import Page, PageNotFound, RequestContext
from services.web.pages.overview import TABLE_FIELDS
from shared.calendar import LOCAL_TZ

TABLE_ROWS = 100
MAX_OFFSET = 1_000_000  # beyond any tree: a longer number is not a page of this table


def figures_page(ctx: RequestContext) -> Page:
    if not ctx.settings.public_page:
        raise PageNotFound("Trang công khai chưa được bật.")
    offset = _offset(ctx)
    period = figures.current_period(ctx.now.astimezone(LOCAL_TZ).date())
    root = ctx.directory.root(ctx.backends)
    rows = ctx.backends.call("dossiers", "period_stats", root["code"], period.label, True, TABLE_FIELDS)
    units = {u["code"]: u for u in ctx.directory.units(ctx.backends)}
    table = figures.table_rows(rows[1:], units, "", "progress_766_score", True, period)
    return Page("public.html", {"title": "Số liệu công khai", "section": "", "period": period,
                                "province": figures.enrich(rows[0]), "rows": table[offset:offset + TABLE_ROWS],
                                "total_rows": len(table), "offset": offset, "table_rows": TABLE_ROWS})


def _offset(ctx: RequestContext) -> int:
    text = ctx.arg("offset", "0")
    if not (text.isascii() and text.isdigit()) or len(text) > 7 or int(text) > MAX_OFFSET:
        raise PageNotFound(f"Vị trí trang “{text[:20]}” không hợp lệ.")
    return int(text)

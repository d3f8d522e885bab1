"""The public page (công khai): the province's one-door figures and each unit's Decision-766 progress for the
current reporting month, without signing in. Aggregates only: no dossier, no person, no document."""

from __future__ import annotations

from services.web import figures
from services.web.context import Page, PageNotFound, RequestContext
from shared.calendar import LOCAL_TZ


def figures_page(ctx: RequestContext) -> Page:
    if not ctx.settings.public_page:
        raise PageNotFound("Trang công khai chưa được bật.")
    period = figures.current_period(ctx.now.astimezone(LOCAL_TZ).date())
    root = ctx.directory.root(ctx.backends)
    rows = ctx.backends.call("dossiers", "period_stats", root["code"], period.label, True)
    units = {u["code"]: u for u in ctx.directory.units(ctx.backends)}
    table = figures.table_rows(rows[1:], units, "", "progress_766_score", True, period)
    return Page("public.html", {"title": "Số liệu công khai", "section": "", "period": period,
                                "province": figures.enrich(rows[0]), "rows": table})

"""Thông báo: the notification log (recipients masked by the notifications service itself), with failures, and
a retry action for administrators. A unit officer sees only his units' notifications."""

from __future__ import annotations

from typing import Any

from services.web import audit
from services.web.access import Permission
from services.web.context import Page, PageNotFound, Redirect, RequestContext, page_offset, url_id

STATUSES = {"pending": "Đang chờ gửi", "sending": "Đang gửi", "sent": "Đã gửi", "failed": "Gửi lỗi"}
KINDS = {"apology": "Thư xin lỗi người dân", "late_alert": "Cảnh báo hồ sơ quá hạn",
         "due_soon_digest": "Tổng hợp hồ sơ sắp đến hạn", "overdue_digest": "Tổng hợp hồ sơ quá hạn",
         "window_opening": "Mở đợt tự đánh giá", "window_closing": "Sắp hết hạn tự đánh giá",
         "ranking_published": "Công bố xếp hạng", "explanation_requested": "Đề nghị giải trình",
         "explanation_answered": "Đơn vị đã giải trình"}
CHANNELS = {"email": "Thư điện tử", "sms": "Tin nhắn SMS", "webhook": "Webhook", "letter": "Thư in (PDF)"}
MERGED_ROWS = 1000  # notifications.list_notifications answers at most this many
MAX_UNITS_LISTED = 50  # a unit officer's scope is a few units; bounded so one page is a bounded number of calls


def _filters(ctx: RequestContext) -> dict[str, str]:
    chosen = {"status": ctx.arg("status"), "kind": ctx.arg("kind"), "channel": ctx.arg("channel")}
    for name, known in (("status", STATUSES), ("kind", KINDS), ("channel", CHANNELS)):
        if chosen[name] and chosen[name] not in known:
            raise PageNotFound(f"Bộ lọc {name} “{chosen[name]}” không hợp lệ.")
    return chosen


def _rows(ctx: RequestContext, chosen: dict[str, str], limit: int, offset: int) -> list[dict[str, Any]]:
    filters = {k: v or None for k, v in chosen.items()}
    scope = ctx.scope()
    if scope.all:
        return ctx.backends.call("notifications", "list_notifications", limit=limit, offset=offset, **filters)
    codes = sorted(scope.codes)[:MAX_UNITS_LISTED]
    pending = [ctx.backends.start("notifications", "list_notifications", unit_code=code, limit=limit + offset,
                                  **filters) for code in codes]
    merged = sorted((row for p in pending for row in p.result()), key=lambda r: r["id"], reverse=True)
    return merged[offset:offset + limit]


def log(ctx: RequestContext, message: str = "") -> Page:
    chosen = _filters(ctx)
    offset, limit = page_offset(ctx), ctx.settings.page_size
    if not ctx.scope().all and offset + limit > MERGED_ROWS:
        # a scoped reader's page is merged from each unit's newest offset + limit (the service gives at most
        # 1,000 a call): further pages would be wrong, and each would cost that many rows per unit
        raise PageNotFound(f"Chỉ xem được {MERGED_ROWS} thông báo mới nhất của các đơn vị; hãy lọc thêm.")
    rows = _rows(ctx, chosen, limit, offset)
    summary = ctx.backends.call("notifications", "summary") if ctx.scope().all else None
    failed = sum(c["count"] for c in summary["counts"] if c["status"] == "failed") if summary else None
    return Page("notices.html", {
        "title": "Thông báo", "section": "notices", "rows": rows, "chosen": chosen, "statuses": STATUSES,
        "kinds": KINDS, "channels": CHANNELS, "summary": summary, "failed": failed, "offset": offset, "limit": limit,
        "can_retry": ctx.user.can(Permission.RETRY_NOTIFICATIONS), "message": message or ctx.arg("tb"),
        "unit_names": _unit_names(ctx)})


def _unit_names(ctx: RequestContext) -> dict[str, str]:
    return {u["code"]: u["name"] for u in ctx.directory.units(ctx.backends)}


def resend(ctx: RequestContext, notification_id_text: str) -> Page | Redirect:
    ctx.user.require(Permission.RETRY_NOTIFICATIONS)
    notification_id = url_id(notification_id_text, "thông báo")
    row = ctx.backends.call("notifications", "resend", notification_id)
    with ctx.db.transaction() as session:
        audit.record(session, ctx.user.username, "notification_resend", ctx.now, ctx.origin,
                     target=str(notification_id), detail={"kind": row.get("kind"), "channel": row.get("channel")})
    if ctx.is_htmx:
        return Page("_notice_row.html", {"r": row, "statuses": STATUSES, "kinds": KINDS, "channels": CHANNELS,
                                         "can_retry": True, "unit_names": _unit_names(ctx)})
    return Redirect(ctx.url("/thong-bao", tb=f"Đã đưa thông báo số {notification_id} vào hàng đợi gửi lại."))


def resend_failed(ctx: RequestContext) -> Redirect:
    ctx.user.require(Permission.RETRY_NOTIFICATIONS)
    count = ctx.backends.call("notifications", "resend_failed")
    with ctx.db.transaction() as session:
        audit.record(session, ctx.user.username, "notifications_resend_failed", ctx.now, ctx.origin,
                     detail={"count": count})
    return Redirect(ctx.url("/thong-bao", tb=f"Đã đưa {count} thông báo lỗi vào hàng đợi gửi lại."))

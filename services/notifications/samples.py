"""Sample data for previewing every template from the command line (``cchc notifications preview``): built by
the same rules as real messages, from a made-up late dossier of Phường Việt Trì (no real person)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.notifications import rules
from services.notifications.rules import Directory, UnitInfo

TZ = dt.timezone(dt.timedelta(hours=7))

LATE_DOSSIER: dict[str, Any] = {
    "dossier_code": "H44.100-260706-0001",
    "unit_code": "07900",
    "unit_name": "Phường Việt Trì",
    "procedure_code": "1.000894.H44",
    "procedure_name": "Đăng ký kết hôn",
    "field": "Hộ tịch",
    "channel": "online",
    "received_at": "2026-07-06T09:15:00+07:00",
    "due_at": "2026-07-13T09:15:00+07:00",
    "new_due_at": None,
    "applicant": {"name": "Nguyễn Văn Mẫu", "kind": "citizen", "email": "nguoi.mau@example.vn",
                  "phone": "0912345678", "address": "Số 1 đường Hùng Vương, Phường Việt Trì, tỉnh Phú Thọ"},
    "detected_at": "2026-07-14T07:30:00+07:00",
}

UNITS = [UnitInfo("P25", "UBND tỉnh Phú Thọ", "province"), UnitInfo("07900", "Phường Việt Trì", "commune", "P25"),
         UnitInfo("H44.07", "Sở Công Thương", "department", "P25")]

LETTER: dict[str, Any] = {
    "number": "01/XL-07900", "issuer": "UBND Phường Việt Trì", "issuer_parent": "",
    "place_date": "Phú Thọ, ngày 14 tháng 07 năm 2026", "addressee": "Ông/Bà Nguyễn Văn Mẫu", "you": "Ông/Bà",
    "address": LATE_DOSSIER["applicant"]["address"], "phone": "0912345678", "dossier_code": "H44.100-260706-0001",
    "procedure_name": "Đăng ký kết hôn", "field": "Hộ tịch", "received_on": "06/07/2026", "due_on": "13/07/2026",
    "new_due_on": "21/07/2026", "new_due_long": "ngày 21 tháng 07 năm 2026",
    "reason": "Hồ sơ cần thêm thời gian thẩm định, xác minh để bảo đảm giải quyết đúng quy định.",
    "signer_title": "Chủ tịch", "signer_name": "",
}


def context(kind: str) -> dict[str, Any]:
    """A realistic context for ``kind``."""
    directory = Directory(units={u.code: u for u in UNITS})
    now = dt.datetime(2026, 7, 14, 7, 30, tzinfo=TZ)
    if kind == "apology":
        return dict(LETTER)
    if kind == "late_alert":
        return {**rules.dossier_facts(LATE_DOSSIER, directory), "number": LETTER["number"],
                "new_due_on": LETTER["new_due_on"], "apology_delivery": rules.APOLOGY_DELIVERY_VI["email"]}
    if kind in ("due_soon_digest", "overdue_digest"):
        items = [rules.digest_item({**LATE_DOSSIER, "dossier_code": f"H44.100-26070{i}-000{i}"},
                                   LETTER["new_due_on"] if kind == "overdue_digest" else None) for i in (1, 2, 3)]
        return {"unit_code": "07900", "unit_name": "Phường Việt Trì", "items": items, "count": len(items),
                "as_of": rules.moment(now)}
    if kind in ("window_opening", "window_closing"):
        return {"set_id": "commune-2026", "title": "Bộ tiêu chí Chỉ số CCHC cấp xã năm 2026", "unit_code": "07900",
                "unit_name": "Phường Việt Trì", "opens_at": rules.moment("2026-11-05T07:30:00+07:00"),
                "closes_at": rules.moment("2026-11-15T17:00:00+07:00")}
    if kind == "ranking_published":
        return {"set_id": "commune-2026", "year": 2026, "version": 3, "units": 148, "unit_kind_vi": "xã, phường",
                "computed_at": rules.moment(now), "addressee": "Phường Việt Trì"}
    if kind in ("explanation_requested", "explanation_answered"):
        payload = {"set_id": "department-2026", "set_title": "Bộ tiêu chí Chỉ số CCHC các sở, ban, ngành năm 2026",
                   "unit_code": "H44.07", "leaf_id": "1.1.1", "leaf_title": "Ban hành kế hoạch CCHC năm kịp thời",
                   "request": "Đề nghị cung cấp kế hoạch CCHC năm đã ký số.",
                   "answer": "Đơn vị gửi kèm Kế hoạch số 12/KH-SCT ngày 05/01/2026 đã ký số.", "files": 1,
                   "deadline": "2026-12-10T17:00:00+07:00", "answered_at": "2026-12-08T09:30:00+07:00"}
        return rules.explanation_context(payload, directory)
    raise ValueError(f"kind: unknown message kind {kind!r}; known: {', '.join(rules.KINDS)}")

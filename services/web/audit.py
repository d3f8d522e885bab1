"""The audit log (nhật ký thao tác): every change made through the web application or ``cchc users``, with who,
when, what and from where. Written in the same transaction as the change it records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.web.access import ROLE_TITLES, Role
from services.web.models import AuditEntry
from shared.inputs import echo_safe

ACTION_TITLES = {
    "login": "Đăng nhập",
    "login_failed": "Đăng nhập sai",
    "login_refused": "Từ chối đăng nhập (tạm khóa)",
    "account_locked": "Khóa tài khoản tạm thời",
    "logout": "Đăng xuất",
    "account_created": "Tạo tài khoản",
    "account_updated": "Sửa tài khoản",
    "account_disabled": "Vô hiệu hóa tài khoản",
    "account_enabled": "Kích hoạt lại tài khoản",
    "password_set": "Đặt mật khẩu",
    "account_unlocked": "Mở khóa tài khoản",
    "oidc_linked": "Liên kết đăng nhập một lần",
    "document_build": "Tạo văn bản",
    "document_download": "Tải văn bản",
    "notification_resend": "Gửi lại thông báo",
    "notifications_resend_failed": "Gửi lại các thông báo lỗi",
    "appraisal": "Thẩm định điểm",
    "season_save": "Lưu nháp tự đánh giá",
    "season_submit": "Gửi tự đánh giá",
    "season_appraise": "Thẩm định tiêu chí (kỳ đánh giá)",
    "season_answer": "Trả lời giải trình",
    "season_lock": "Khóa kết quả thẩm định",
    "season_deadline": "Đặt hạn giải trình",
    "season_publish": "Công bố kết quả",
    "evidence_download": "Tải tài liệu kiểm chứng",
    "season_refused": "Từ chối truy cập kỳ đánh giá",
    "csrf_refused": "Từ chối biểu mẫu thiếu mã CSRF",
}

# What the "Chi tiết" column calls each key of an entry's detail (detail_vi); an unknown key shows as stored.
DETAIL_LABELS = {
    "roles": "Vai trò", "unit_codes": "Đơn vị", "display_name": "Họ và tên", "email": "Thư điện tử",
    "password": "Mật khẩu", "disabled": "Vô hiệu hóa", "method": "Cách đăng nhập", "reason": "Lý do",
    "until": "Khóa đến", "subject": "Mã định danh SSO", "kind": "Loại", "channel": "Kênh", "count": "Số lượng",
    "filename": "Tệp", "sha256": "SHA-256", "version": "Phiên bản", "built": "Đã tạo", "formats": "Định dạng",
    "points": "Điểm", "decision": "Quyết định", "answer": "Giải trình", "files": "Tệp đính kèm",
    "removed": "Tệp đã xóa", "deadline": "Hạn giải trình", "leaves": "Số tiêu chí", "index": "Chỉ số",
    "status": "Trạng thái", "units": "Số đơn vị", "number": "Lần công bố", "ranking_version": "Phiên bản xếp hạng",
}
_METHODS = {"password": "mật khẩu", "oidc": "đăng nhập một lần (SSO)", "ip": "quá nhiều lần sai từ một địa chỉ",
            "locked": "tài khoản đang tạm khóa"}
DETAIL_TEXT_MAX = 300  # characters of one value shown; the full value stays in the database


def _value_vi(key: str, value: Any) -> str:
    if key == "password":  # recorded as True/False on creation, "***" on a change: never the password itself
        return "đã đặt" if value is True or value == "***" else "chưa đặt" if value is False else "–"
    if isinstance(value, bool):
        return "có" if value else "không"
    if value is None or value == "" or value == []:
        return "–"
    if key == "roles" and isinstance(value, list):
        return ", ".join(ROLE_TITLES.get(Role(v), str(v)) if v in Role._value2member_map_ else str(v) for v in value)
    if key in ("method", "reason") and isinstance(value, str) and value in _METHODS:
        return _METHODS[value]
    if isinstance(value, list):
        return ", ".join(_value_vi("", v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_value_vi(str(k), v)}" for k, v in value.items())
    return echo_safe(str(value), DETAIL_TEXT_MAX)


def detail_vi(detail: dict[str, Any] | None) -> str:
    """An audit entry's detail as the log page shows it: "Vai trò: Lãnh đạo; Đơn vị: 07900; Mật khẩu: đã đặt" —
    Vietnamese labels and values, not Python's ``['leader']`` / ``True`` (the page escapes the result)."""
    return "; ".join(f"{DETAIL_LABELS.get(k, k)}: {_value_vi(k, v)}" for k, v in (detail or {}).items())


@dataclass(frozen=True)
class Origin:
    """Where a request came from: its address and browser (the CLI passes its own)."""

    ip: str | None = None
    user_agent: str | None = None


def record(session: Session, actor: str, action: str, now: dt.datetime, origin: Origin = Origin(),
           target: str | None = None, detail: dict[str, Any] | None = None) -> None:
    session.add(AuditEntry(at=now, actor=actor[:80], action=action, target=(target or None) and target[:300],
                           detail=detail or {}, ip=origin.ip and origin.ip[:64],
                           user_agent=origin.user_agent and origin.user_agent[:300]))


def entries(session: Session, limit: int = 50, offset: int = 0, actor: str | None = None,
            action: str | None = None) -> tuple[list[AuditEntry], int]:
    """Newest first, with the total count for paging."""
    query = sa.select(AuditEntry)
    count = sa.select(sa.func.count()).select_from(AuditEntry)
    if actor:
        query, count = query.where(AuditEntry.actor == actor), count.where(AuditEntry.actor == actor)
    if action:
        query, count = query.where(AuditEntry.action == action), count.where(AuditEntry.action == action)
    rows = session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), int(session.scalar(count) or 0)

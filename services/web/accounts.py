"""Accounts: creation, changes and validation, shared by the administration pages and ``cchc users``.

Every change is audited by the caller's transaction (``audit.record``); a refused field raises
:class:`AccountError` naming the field and the reason in Vietnamese, which the form shows beside the field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.web import passwords
from services.web.access import Role, parse_roles
from services.web.models import Account, WebSession
from shared.inputs import text_problem

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,79}")


MAX_NAME = 200  # the column's width: a longer name is refused, never cut (the person would not know what was kept)


def _name(value: str | None) -> str:
    """The display name as stored: trimmed, required, at most :data:`MAX_NAME` characters, no control or bidi
    characters (a NUL or a right-to-left override would render as something other than what was typed)."""
    name = (value or "").strip()
    if not name:
        raise AccountError("display_name", "Nhập họ và tên.")
    problem = text_problem(name, MAX_NAME)
    if problem:
        raise AccountError("display_name", f"Họ và tên: {problem}")
    return name


def _username(value: str | None) -> str:
    """Checked before it is lowered: "\u212aelvin" (Kelvin sign) would otherwise become "kelvin"."""
    raw = (value or "").strip()
    if len(raw) > 80 or not raw.isascii() or not USERNAME.fullmatch(raw.lower()):
        raise AccountError("username", "Tên đăng nhập 3–80 ký tự: chữ thường không dấu, số, dấu chấm, gạch ngang, "
                                       "gạch dưới; bắt đầu bằng chữ hoặc số.")
    return raw.lower()


class AccountError(ValueError):
    """One refused field: ``field`` is the form field, ``reason`` the Vietnamese message."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class AccountNotFound(LookupError):
    pass


@dataclass(frozen=True)
class AccountInput:
    """What a form or the CLI gives for an account; ``None`` leaves a value unchanged on update."""

    display_name: str | None = None
    email: str | None = None
    password: str | None = None
    roles: Iterable[str] | None = None
    unit_codes: Iterable[str] | None = None
    disabled: bool | None = None


def get(session: Session, username: str) -> Account:
    account = session.scalar(sa.select(Account).where(Account.username == username))
    if account is None:
        raise AccountNotFound(username)
    return account


def all_accounts(session: Session) -> list[Account]:
    return list(session.scalars(sa.select(Account).order_by(Account.username)))


def _roles(values: Iterable[str]) -> list[str]:
    try:
        roles = parse_roles(values)
    except ValueError as exc:
        raise AccountError("roles", f"Vai trò không hợp lệ: {exc}") from None
    if not roles:
        raise AccountError("roles", "Chọn ít nhất một vai trò.")
    return [r.value for r in roles]


def _units(values: Iterable[str], roles: list[str], known: Collection[str] | None) -> list[str]:
    codes = sorted({v.strip() for v in values if v and v.strip()})
    unknown = [c for c in codes if known is not None and c not in known]
    if unknown:
        raise AccountError("unit_codes", f"Không có đơn vị mã {', '.join(unknown)}.")
    if (Role.UNIT_OFFICER.value in roles or Role.UNIT_HEAD.value in roles) and not codes:
        raise AccountError("unit_codes", "Cán bộ, lãnh đạo đơn vị cần được gán ít nhất một đơn vị.")
    return codes


def _email(value: str | None) -> str | None:
    value = (value or "").strip()
    if value and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise AccountError("email", "Địa chỉ thư điện tử không hợp lệ.")
    return value or None


def create(session: Session, username: str, data: AccountInput, now: dt.datetime,
           known_units: Collection[str] | None = None, require_password: bool = True) -> Account:
    username = _username(username)
    if session.scalar(sa.select(Account.id).where(Account.username == username)) is not None:
        raise AccountError("username", f"Tên đăng nhập {username} đã có.")
    name = _name(data.display_name)
    roles = _roles(data.roles or [])
    units = _units(data.unit_codes or [], roles, known_units)
    password_hash = None
    if data.password or require_password:
        problem = passwords.password_problem(data.password or "", username)
        if problem:
            raise AccountError("password", problem)
        password_hash = passwords.hash_password(data.password or "")
    account = Account(username=username, display_name=name, email=_email(data.email),
                      password_hash=password_hash, roles=roles, unit_codes=units, disabled=bool(data.disabled),
                      failed_logins=0, created_at=now, updated_at=now)
    session.add(account)
    session.flush()
    return account


def update(session: Session, account: Account, data: AccountInput, now: dt.datetime,
           known_units: Collection[str] | None = None) -> dict[str, object]:
    """Apply the given fields; returns what changed (for the audit log; a password shows as ``"***"``)."""
    changes: dict[str, object] = {}
    if data.display_name is not None:
        name = _name(data.display_name)
        if name != account.display_name:
            changes["display_name"] = name
            account.display_name = name
    if data.email is not None:
        email = _email(data.email)
        if email != account.email:
            changes["email"] = email
            account.email = email
    roles = _roles(data.roles) if data.roles is not None else list(account.roles or [])
    if roles != list(account.roles or []):
        changes["roles"] = roles
        account.roles = roles
    units = _units(data.unit_codes if data.unit_codes is not None else account.unit_codes or [], roles, known_units)
    if units != list(account.unit_codes or []):
        changes["unit_codes"] = units
        account.unit_codes = units
    if data.password:
        problem = passwords.password_problem(data.password, account.username)
        if problem:
            raise AccountError("password", problem)
        account.password_hash = passwords.hash_password(data.password)
        account.failed_logins, account.locked_until = 0, None
        changes["password"] = "***"
    if data.disabled is not None and data.disabled != account.disabled:
        account.disabled = data.disabled
        changes["disabled"] = data.disabled
    if changes:
        account.updated_at = now
    if "password" in changes or changes.get("disabled") is True or "roles" in changes or "unit_codes" in changes:
        # a changed password, a disabled account or narrowed rights end the sessions opened before
        session.execute(sa.delete(WebSession).where(WebSession.account_id == account.id))
    return changes


def unlock(account: Account, now: dt.datetime) -> bool:
    locked = account.locked_until is not None and account.locked_until > now
    account.failed_logins, account.locked_until = 0, None
    return locked

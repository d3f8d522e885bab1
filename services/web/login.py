"""Signing in with a password or with single sign-on, and signing out: throttled, audited, sessions rotated."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from eventlet import tpool

from services.web import audit, passwords, sessions, throttle
from services.web.audit import Origin
from services.web.models import Account, LoginFailure
from services.web.settings import WebSettings
from shared.db import Database

GENERIC_FAILURE = "Tên đăng nhập hoặc mật khẩu không đúng."


@dataclass(frozen=True)
class LoginResult:
    cookie_value: str | None = None
    error: str = ""
    retry_after_seconds: int = 0

    @property
    def ok(self) -> bool:
        return self.cookie_value is not None


def password_login(db: Database, settings: WebSettings, username: str, password: str, origin: Origin,
                   now: dt.datetime) -> LoginResult:
    username = (username or "").strip().lower()[:80]
    ip = (origin.ip or "-")[:64]
    with db.transaction() as session:
        ip_failures = session.scalar(sa.select(sa.func.count()).select_from(LoginFailure).where(
            LoginFailure.ip == ip, LoginFailure.at > throttle.window_start(settings, now))) or 0
        account = session.scalar(sa.select(Account).where(Account.username == username))
        verdict = throttle.before_attempt(settings, int(ip_failures), account.locked_until if account else None, now)
        if not verdict.allowed:
            audit.record(session, username or "-", "login_refused", now, origin, target=username,
                         detail={"reason": "ip" if ip_failures >= settings.ip_failures_per_window else "locked"})
            return LoginResult(error=verdict.reason, retry_after_seconds=verdict.retry_after_seconds)
        password_hash = account.password_hash if account is not None and not account.disabled else None
    # Argon2 outside the transaction (it takes 0.1–1 s of CPU and must not hold the database), in a native thread
    # (argon2-cffi releases the GIL): the other requests of this process go on meanwhile
    good = tpool.execute(passwords.verify, password_hash, password or "")
    with db.transaction() as session:
        if not good:
            session.add(LoginFailure(ip=ip, username=username, at=now))
            detail: dict[str, object] = {}
            if account is not None:
                session.execute(sa.update(Account).where(Account.id == account.id)
                                .values(failed_logins=Account.failed_logins + 1))
                failures = int(session.scalar(sa.select(Account.failed_logins).where(Account.id == account.id)) or 0)
                detail["consecutive_failures"] = failures
                lock = throttle.after_failure(settings, failures, now)
                if lock is not None:
                    session.execute(sa.update(Account).where(Account.id == account.id).values(locked_until=lock))
                    audit.record(session, username, "account_locked", now, origin, target=username,
                                 detail={"until": lock.isoformat()})
            audit.record(session, username or "-", "login_failed", now, origin, target=username, detail=detail)
            return LoginResult(error=GENERIC_FAILURE)
        assert account is not None
        account = session.get(Account, account.id)
        assert account is not None
        account.failed_logins, account.locked_until, account.last_login_at = 0, None, now
        if passwords.needs_rehash(account.password_hash or ""):
            account.password_hash = passwords.hash_password(password)
        opened = sessions.open_session(session, account, settings, now, origin)
        audit.record(session, account.username, "login", now, origin, detail={"method": "password"})
        return LoginResult(cookie_value=opened.cookie_value)


def logout(db: Database, cookie_value: str | None, username: str, origin: Origin, now: dt.datetime) -> None:
    with db.transaction() as session:
        sessions.close(session, cookie_value)
        audit.record(session, username, "logout", now, origin)

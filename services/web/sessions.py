"""Server-side sessions: a random id in a ``Secure; HttpOnly; SameSite=Lax`` cookie, its SHA-256 in the database.

A session ends at ``session_hours`` after sign-in or ``session_idle_minutes`` after its last request, when the
person signs out, or when an administrator disables the account or changes its password or rights. Each
session carries its own CSRF token, sent back by every state-changing form and htmx request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.web.audit import Origin
from services.web.models import Account, LoginFailure, OidcFlow, WebSession
from services.web.settings import WebSettings

COOKIE = "cchc_session"
# last_seen_at is rewritten at most this often: a page view should not always cost a write
TOUCH_SECONDS = 60


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class Opened:
    cookie_value: str
    row: WebSession


def open_session(session: Session, account: Account, settings: WebSettings, now: dt.datetime, origin: Origin,
                 method: str = "password") -> Opened:
    session_id = secrets.token_urlsafe(32)
    row = WebSession(id_hash=_hash(session_id), account_id=account.id, csrf_token=secrets.token_urlsafe(32),
                     created_at=now, last_seen_at=now, expires_at=now + dt.timedelta(hours=settings.session_hours),
                     ip=origin.ip and origin.ip[:64], user_agent=origin.user_agent and origin.user_agent[:300],
                     login_method=method)
    session.add(row)
    session.flush()
    return Opened(session_id, row)


def load(session: Session, cookie_value: str | None, settings: WebSettings,
         now: dt.datetime) -> tuple[WebSession, Account] | None:
    """The live session and its enabled account, or None (unknown, expired, idle too long, account disabled)."""
    if not cookie_value or len(cookie_value) > 200:
        return None
    found = session.execute(sa.select(WebSession, Account).join(Account, Account.id == WebSession.account_id)
                            .where(WebSession.id_hash == _hash(cookie_value))).first()
    if found is None:
        return None
    row, account = found
    idle = dt.timedelta(minutes=settings.session_idle_minutes)
    if row.expires_at <= now or row.last_seen_at + idle <= now or account.disabled:
        session.delete(row)
        return None
    if (now - row.last_seen_at).total_seconds() >= TOUCH_SECONDS:
        row.last_seen_at = now
    return row, account


def close(session: Session, cookie_value: str | None) -> None:
    if cookie_value:
        session.execute(sa.delete(WebSession).where(WebSession.id_hash == _hash(cookie_value)))


def purge(session: Session, settings: WebSettings, now: dt.datetime) -> int:
    """Delete expired sessions, abandoned sign-on flows and sign-in failures older than a day (their addresses
    are only needed for the throttling window; the audit log keeps what happened). A timer calls this."""
    idle = now - dt.timedelta(minutes=settings.session_idle_minutes)
    gone = session.execute(sa.delete(WebSession).where(sa.or_(WebSession.expires_at <= now,
                                                              WebSession.last_seen_at <= idle))).rowcount
    session.execute(sa.delete(OidcFlow).where(OidcFlow.created_at <= now - dt.timedelta(minutes=15)))
    session.execute(sa.delete(LoginFailure).where(LoginFailure.at <= now - dt.timedelta(days=1)))
    return int(gone or 0)


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())

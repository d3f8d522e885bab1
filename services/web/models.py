"""Tables of the web service (its own schema): accounts, sessions, login attempts, the audit log, SSO flows.

Nothing here copies another service's data: pages ask the other services over RPC on every request.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime


class Base(DeclarativeBase):
    pass


class Account(Base):
    """A person who may sign in (tài khoản). ``roles`` and ``unit_codes`` are JSON lists; a unit officer sees only
    the units listed (and those below them). ``password_hash`` is Argon2id, None for SSO-only accounts."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(sa.String(80), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(200))
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))
    roles: Mapped[Any] = mapped_column(sa.JSON, default=list)
    unit_codes: Mapped[Any] = mapped_column(sa.JSON, default=list)
    oidc_subject: Mapped[str | None] = mapped_column(sa.String(400), unique=True)  # "<issuer>|<sub>"
    disabled: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(sa.Integer, default=0)  # consecutive, reset on success
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class WebSession(Base):
    """A signed-in browser. The cookie holds a random id; only its SHA-256 is stored, so a copy of this table
    opens no session. ``csrf_token`` is sent back in every state-changing form."""

    __tablename__ = "sessions"
    id_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))
    login_method: Mapped[str] = mapped_column(sa.String(12), default="password")  # password | oidc


class LoginFailure(Base):
    """One failed sign-in, kept for the throttling window: by address (many names from one place) and by name."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    ip: Mapped[str] = mapped_column(sa.String(64), index=True)
    username: Mapped[str] = mapped_column(sa.String(80))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class OidcFlow(Base):
    """A single sign-on in progress: the state sent to the identity provider, with the nonce and PKCE verifier
    that its answer must match. Kept in the database (not in the process) so any replica can finish it."""

    __tablename__ = "oidc_flows"
    state: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(sa.String(64))
    code_verifier: Mapped[str] = mapped_column(sa.String(128))
    next_url: Mapped[str] = mapped_column(sa.String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class AuditEntry(Base):
    """Every change made through the web application (nhật ký): who, when, what, from where."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(sa.String(80), index=True)  # username, or "cli:<user>" / "-" (anonymous)
    action: Mapped[str] = mapped_column(sa.String(60))
    target: Mapped[str | None] = mapped_column(sa.String(300))
    detail: Mapped[Any] = mapped_column(sa.JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))

"""Who may post events: vendors, their bearer tokens (hashed at rest, rotatable, revocable) or client certificates.

A token reads ``cchc_<token id>_<secret>``: the id (8 hex characters) is public — listings and logs show it — and
the secret is 32 random bytes. Only the SHA-256 of the whole token is stored; a fast hash is right for a random
256-bit secret (nothing to brute-force), and it lets every request be checked without a slow KDF. Rotating issues
a new token and gives the old ones a grace period (``intake.token_rotation_grace_seconds``) so the vendor can
switch without a gap; revoking ends them at once.

A vendor may instead authenticate with a client certificate verified by the Ingress (mTLS): the Ingress passes the
verified subject in a header that the intake trusts only when ``intake.mtls.enabled`` (the NetworkPolicy lets only
the Ingress controller reach the intake, and nginx overwrites that header on every request).

:class:`Directory` keeps the active tokens and subjects in memory and re-reads them every
``intake.token_cache_seconds``: a request costs no database round trip, and a revocation takes effect within that.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.intake.models import Vendor, VendorToken

__all__ = ["Credential", "Directory", "VendorError", "add", "hash_token", "list_vendors", "new_token", "revoke",
           "rotate"]

TOKEN_RE = re.compile(r"cchc_([0-9a-f]{8})_([A-Za-z0-9_-]{43})")
NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")


class VendorError(ValueError):
    """A vendor command that cannot be carried out (unknown vendor, bad name)."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh (token id, token)."""
    token_id = secrets.token_hex(4)
    return token_id, f"cchc_{token_id}_{secrets.token_urlsafe(32)}"


@dataclass(frozen=True)
class Credential:
    """What a valid token or certificate resolves to."""

    vendor: str
    source: str | None
    token_id: str | None  # None for a client certificate


def _issue(session: Session, vendor: str, actor: str, now: dt.datetime) -> tuple[str, str]:
    token_id, token = new_token()
    session.add(VendorToken(token_id=token_id, vendor=vendor, token_sha256=hash_token(token), created_at=now,
                            created_by=actor))
    return token_id, token


def add(session: Session, name: str, actor: str, now: dt.datetime, *, source: str | None = None,
        client_subject: str | None = None) -> tuple[str, str]:
    """Register a vendor (or update its source / certificate subject) and issue it a token: (token id, token)."""
    if not NAME_RE.fullmatch(name):
        raise VendorError(f"vendor: {name!r} must be 2–64 characters of a-z, 0-9, '.', '_' or '-'")
    vendor = session.get(Vendor, name)
    if vendor is None:
        vendor = Vendor(name=name, created_at=now, created_by=actor)
        session.add(vendor)
    vendor.disabled_at = None
    if source is not None:
        vendor.source = source or None
    if client_subject is not None:
        vendor.client_subject = client_subject or None
    session.flush()
    return _issue(session, name, actor, now)


def rotate(session: Session, name: str, actor: str, now: dt.datetime, grace: dt.timedelta) -> tuple[str, str]:
    """A new token; the vendor's other live tokens stop working after ``grace``."""
    if session.get(Vendor, name) is None:
        raise VendorError(f"vendor: no vendor {name!r}")
    until = now + grace
    session.execute(sa.update(VendorToken).where(
        VendorToken.vendor == name, VendorToken.revoked_at.is_(None),
        sa.or_(VendorToken.expires_at.is_(None), VendorToken.expires_at > until)).values(expires_at=until))
    return _issue(session, name, actor, now)


def revoke(session: Session, name: str, now: dt.datetime, token_id: str | None = None) -> int:
    """End a vendor's tokens now (or one of them); returns how many were live."""
    if session.get(Vendor, name) is None:
        raise VendorError(f"vendor: no vendor {name!r}")
    which = [VendorToken.vendor == name, VendorToken.revoked_at.is_(None)]
    if token_id is not None:
        which.append(VendorToken.token_id == token_id)
    live = session.scalar(sa.select(sa.func.count()).select_from(VendorToken).where(
        *which, sa.or_(VendorToken.expires_at.is_(None), VendorToken.expires_at > now)))
    session.execute(sa.update(VendorToken).where(*which).values(revoked_at=now))
    return int(live or 0)


def list_vendors(session: Session, now: dt.datetime) -> list[dict[str, Any]]:
    """Vendors and their tokens (ids and dates only: the secrets were never stored)."""
    result = []
    for vendor in session.scalars(sa.select(Vendor).order_by(Vendor.name)):
        tokens = session.scalars(sa.select(VendorToken).where(VendorToken.vendor == vendor.name)
                                 .order_by(VendorToken.created_at)).all()
        result.append({
            "vendor": vendor.name, "source": vendor.source, "client_subject": vendor.client_subject,
            "tokens": [{"token_id": t.token_id, "created_at": t.created_at, "created_by": t.created_by,
                        "expires_at": t.expires_at, "revoked_at": t.revoked_at,
                        "live": t.revoked_at is None and (t.expires_at is None or t.expires_at > now)}
                       for t in tokens],
        })
    return result


class Directory:
    """The live credentials, re-read from the database at most every ``ttl`` seconds."""

    def __init__(self, transaction: Callable[[], AbstractContextManager[Session]], ttl: float,
                 clock: Callable[[], dt.datetime]) -> None:
        self._transaction = transaction
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._loaded_at = -1e18
        self._tokens: dict[str, tuple[str, dt.datetime | None, Credential]] = {}
        self._subjects: dict[str, Credential] = {}

    def _rows(self) -> Iterator[tuple[VendorToken | None, Vendor]]:
        with self._transaction() as session:
            rows = session.execute(
                sa.select(VendorToken, Vendor).join(Vendor, Vendor.name == VendorToken.vendor)
                .where(VendorToken.revoked_at.is_(None), Vendor.disabled_at.is_(None))).all()
            subjects = session.scalars(sa.select(Vendor).where(Vendor.client_subject.is_not(None),
                                                               Vendor.disabled_at.is_(None))).all()
            yield from ((token, vendor) for token, vendor in rows)
            yield from ((None, vendor) for vendor in subjects)

    def refresh(self) -> None:
        tokens: dict[str, tuple[str, dt.datetime | None, Credential]] = {}
        subjects: dict[str, Credential] = {}
        for token, vendor in self._rows():
            if token is None:
                subjects[str(vendor.client_subject)] = Credential(vendor.name, vendor.source, None)
            else:
                tokens[token.token_id] = (token.token_sha256, token.expires_at,
                                          Credential(vendor.name, vendor.source, token.token_id))
        self._tokens, self._subjects = tokens, subjects
        self._loaded_at = time.monotonic()

    def _fresh(self) -> None:
        if time.monotonic() - self._loaded_at >= self._ttl:
            with self._lock:
                if time.monotonic() - self._loaded_at >= self._ttl:
                    self.refresh()

    def by_token(self, token: str) -> Credential | None:
        """The vendor a bearer token belongs to, if it is well-formed, known, unexpired and unrevoked."""
        match = TOKEN_RE.fullmatch(token)
        if match is None:
            return None
        self._fresh()
        entry = self._tokens.get(match.group(1))
        if entry is None:
            return None
        digest, expires_at, credential = entry
        if not hmac.compare_digest(digest, hash_token(token)):
            return None
        if expires_at is not None and expires_at <= self._clock():
            return None
        return credential

    def by_subject(self, subject: str) -> Credential | None:
        self._fresh()
        return self._subjects.get(subject.strip())

"""Single sign-on with a province's OpenID Connect identity provider (authorization code flow with PKCE).

Authlib does the protocol: the provider's discovery document, the authorization URL, the code-for-token
exchange, and the ID token's signature (the provider's JWKS, via joserfc) and claims (issuer, audience, expiry,
nonce). The state, nonce and PKCE verifier of a flow in progress are kept in the web schema (``oidc_flows``),
so whichever replica receives the provider's redirect can finish it, and a state is used once.

Who may come in: only an existing, enabled account. The first sign-on links the account whose user name equals
the configured claim (``preferred_username`` by default); later ones find it by issuer and subject, so a renamed
user at the provider keeps his account here. Roles and units are always given here, never by the provider.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass
from typing import Any

import requests
import sqlalchemy as sa
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from sqlalchemy.orm import Session

from services.web.models import Account, OidcFlow
from services.web.settings import OidcSettings

FLOW_MINUTES = 15
METADATA_TTL_SECONDS = 3600


class SsoError(Exception):
    """The sign-on could not be completed; the message is Vietnamese, for the sign-in page."""


@dataclass(frozen=True)
class Identity:
    subject: str  # "<issuer>|<sub>"
    username: str
    claims: dict[str, Any]


class OidcClient:
    """One identity provider; discovery and keys are fetched on first use and cached for an hour."""

    def __init__(self, settings: OidcSettings) -> None:
        self.settings = settings
        self._metadata: dict[str, Any] | None = None
        self._keys: dict[str, Any] | None = None
        self._fetched_at = 0.0

    def _oauth(self, state: str | None = None, verifier: str | None = None) -> OAuth2Session:
        s = self.settings
        return OAuth2Session(s.client_id, s.client_secret or None, scope=s.scope, redirect_uri=s.redirect_uri,
                             state=state, code_challenge_method="S256",
                             token_endpoint_auth_method="client_secret_basic" if s.client_secret else "none")

    def metadata(self) -> dict[str, Any]:
        if self._metadata is None or time.monotonic() - self._fetched_at > METADATA_TTL_SECONDS:
            url = f"{self.settings.issuer}/.well-known/openid-configuration"
            try:
                response = requests.get(url, timeout=self.settings.timeout_seconds)
                response.raise_for_status()
                metadata = response.json()
                keys = requests.get(metadata["jwks_uri"], timeout=self.settings.timeout_seconds)
                keys.raise_for_status()
            except (requests.RequestException, ValueError, KeyError) as exc:
                raise SsoError("Không kết nối được máy chủ đăng nhập một lần. Vui lòng dùng mật khẩu hoặc thử lại "
                               "sau.") from exc
            if metadata.get("issuer", "").rstrip("/") != self.settings.issuer:
                raise SsoError("Máy chủ đăng nhập một lần trả về định danh (issuer) không khớp cấu hình.")
            self._metadata, self._keys, self._fetched_at = metadata, keys.json(), time.monotonic()
        return self._metadata

    def begin(self, session: Session, next_url: str, now: dt.datetime) -> str:
        """Record a new flow and return the provider's authorization URL to redirect the browser to."""
        metadata = self.metadata()
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), generate_token(64)
        session.add(OidcFlow(state=state, nonce=nonce, code_verifier=verifier, next_url=next_url[:500],
                             created_at=now))
        url, _ = self._oauth(state).create_authorization_url(
            metadata["authorization_endpoint"], state=state, nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier), code_challenge_method="S256")
        return str(url)

    def finish(self, session: Session, params: dict[str, str], now: dt.datetime) -> tuple[Identity, str]:
        """Check the provider's redirect, exchange its code, validate the ID token; returns who and where to go."""
        if params.get("error"):
            raise SsoError(f"Máy chủ đăng nhập một lần từ chối: {params.get('error_description') or params['error']}")
        state = params.get("state") or ""
        flow = session.get(OidcFlow, state) if state else None
        if flow is None or flow.created_at <= now - dt.timedelta(minutes=FLOW_MINUTES):
            raise SsoError("Phiên đăng nhập một lần đã hết hạn hoặc không hợp lệ. Vui lòng thử lại.")
        session.delete(flow)  # a state is good for one answer only
        metadata = self.metadata()
        try:
            token = self._oauth(state).fetch_token(metadata["token_endpoint"], code=params.get("code", ""),
                                                   code_verifier=flow.code_verifier, state=state)
        except Exception as exc:  # Authlib raises its own OAuthError, requests' errors, or ValueError
            raise SsoError("Không đổi được mã đăng nhập lấy thẻ (token). Vui lòng thử lại.") from exc
        claims = self._validate(token, flow.nonce)
        if not claims.get(self.settings.username_claim):
            # conforming providers put profile claims in the UserInfo answer, not in the ID token
            claims = {**self._userinfo(token, str(claims["sub"])), **claims}
        username = str(claims.get(self.settings.username_claim) or "").strip().lower()
        return Identity(f"{self.settings.issuer}|{claims['sub']}", username, dict(claims)), flow.next_url

    def _userinfo(self, token: dict[str, Any], subject: str) -> dict[str, Any]:
        endpoint = self.metadata().get("userinfo_endpoint")
        if not endpoint or not token.get("access_token"):
            return {}
        try:
            answer = requests.get(endpoint, headers={"Authorization": f"Bearer {token['access_token']}"},
                                  timeout=self.settings.timeout_seconds)
            answer.raise_for_status()
            info = answer.json()
        except (requests.RequestException, ValueError) as exc:
            raise SsoError("Không lấy được thông tin tài khoản từ máy chủ đăng nhập một lần.") from exc
        if str(info.get("sub")) != subject:  # the answer must be about the person the ID token names
            raise SsoError("Thông tin tài khoản từ máy chủ đăng nhập một lần không khớp ID token.")
        return dict(info)

    def _validate(self, token: dict[str, Any], nonce: str) -> dict[str, Any]:
        if "id_token" not in token:
            raise SsoError("Máy chủ đăng nhập một lần không trả về ID token.")
        metadata = self.metadata()
        algorithms = metadata.get("id_token_signing_alg_values_supported")
        try:
            decoded = jwt.decode(token["id_token"], KeySet.import_key_set(self._keys or {}),
                                 registry=JWSRegistry(algorithms=algorithms, strict_check_header=False))
            claims = CodeIDToken(decoded.claims, decoded.header, {"iss": {"values": [metadata["issuer"]]}},
                                 {"nonce": nonce, "client_id": self.settings.client_id,
                                  "access_token": token.get("access_token")})
            claims.validate(leeway=60)
        except Exception as exc:  # any signature or claim failure: refuse, never half-accept
            raise SsoError("ID token không hợp lệ (chữ ký, thời hạn hoặc nonce).") from exc
        return dict(claims)


def account_for(session: Session, identity: Identity) -> tuple[Account, bool]:
    """The enabled account this identity signs in as, and whether it was linked just now."""
    account = session.scalar(sa.select(Account).where(Account.oidc_subject == identity.subject))
    if account is not None:
        linked = False
    else:
        account = session.scalar(sa.select(Account).where(Account.username == identity.username,
                                                           Account.oidc_subject.is_(None)))
        if account is None or not identity.username:
            raise SsoError("Tài khoản đăng nhập một lần này chưa được cấp quyền trong hệ thống. Vui lòng liên hệ "
                           "Sở Nội vụ để được tạo tài khoản.")
        account.oidc_subject = identity.subject
        linked = True
    if account.disabled:
        raise SsoError("Tài khoản đã bị vô hiệu hóa.")
    return account, linked

"""The ``web:`` configuration section, read and checked once per container (defaults in shared/config.yaml)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.config import section


@dataclass(frozen=True)
class OidcSettings:
    """Single sign-on with a province's OpenID Connect identity provider (off unless ``enabled``)."""

    enabled: bool = False
    issuer: str = ""
    client_id: str = ""
    client_secret: str = ""
    redirect_uri: str = ""
    scope: str = "openid profile email"
    username_claim: str = "preferred_username"
    button_label: str = "Đăng nhập một lần (SSO)"
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class WebSettings:
    session_hours: float = 12
    session_idle_minutes: float = 60
    cookie_secure: bool = True
    lockout_failures: int = 5
    lockout_minutes: float = 15
    ip_failures_per_window: int = 20
    ip_window_minutes: float = 15
    rpc_timeout_seconds: float = 10
    page_size: int = 50
    public_page: bool = True
    trust_forwarded_for: bool = False
    province_name: str = ""
    oidc: OidcSettings = field(default_factory=OidcSettings)


def _bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in {"1", "true", "yes", "on"}


def load_settings(config: Mapping[str, Any]) -> WebSettings:
    """Settings from a container's config; a wrong type names the key (``web.page_size: not a number``)."""
    raw = section(config, "web")
    oidc_raw = dict(raw.get("oidc") or {})
    try:
        oidc = OidcSettings(
            enabled=_bool(oidc_raw.get("enabled", False)),
            issuer=str(oidc_raw.get("issuer") or "").rstrip("/"),
            client_id=str(oidc_raw.get("client_id") or ""),
            client_secret=str(oidc_raw.get("client_secret") or ""),
            redirect_uri=str(oidc_raw.get("redirect_uri") or ""),
            scope=str(oidc_raw.get("scope") or "openid profile email"),
            username_claim=str(oidc_raw.get("username_claim") or "preferred_username"),
            button_label=str(oidc_raw.get("button_label") or OidcSettings.button_label),
            timeout_seconds=float(oidc_raw.get("timeout_seconds", 10)),
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"web.oidc: {exc}") from None
    if oidc.enabled and not (oidc.issuer and oidc.client_id and oidc.redirect_uri):
        raise ValueError("web.oidc: enabled, but issuer, client_id and redirect_uri are not all set")
    values: dict[str, Any] = {}
    for name, kind in (("session_hours", float), ("session_idle_minutes", float), ("lockout_failures", int),
                       ("lockout_minutes", float), ("ip_failures_per_window", int), ("ip_window_minutes", float),
                       ("rpc_timeout_seconds", float), ("page_size", int)):
        if name in raw:
            try:
                values[name] = kind(raw[name])
            except (TypeError, ValueError):
                raise ValueError(f"web.{name}: not a number: {raw[name]!r}") from None
    for name in ("cookie_secure", "public_page", "trust_forwarded_for"):
        if name in raw:
            values[name] = _bool(raw[name])
    values["province_name"] = str(raw.get("province_name") or "")
    return WebSettings(oidc=oidc, **values)

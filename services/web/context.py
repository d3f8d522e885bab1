"""What a page handler receives and returns: the request with its signed-in person, the backends, the clock —
and a :class:`Page` (template + values) or a ready response. Errors a handler raises are mapped to pages by
the service: :class:`PageNotFound` → 404, ``access.Forbidden`` → 403, ``backends.Unavailable`` → 503."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request

from services.web.access import Principal, UnitScope
from services.web.audit import Origin
from services.web.backends import Backends
from services.web.directory import Directory
from services.web.settings import WebSettings
from shared.db import Database
from shared.inputs import echo_safe, parse_id, text_problem


class PageNotFound(LookupError):
    """What the URL names does not exist (unknown unit, period, set, document): the Vietnamese 404 page."""


@dataclass
class Page:
    template: str
    values: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Redirect:
    location: str
    status: int = 303
    cookies: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class RequestContext:
    request: Request
    settings: WebSettings
    db: Database
    backends: Backends
    directory: Directory
    now: dt.datetime
    origin: Origin
    principal: Principal | None = None
    session_cookie: str | None = None
    oidc: Any = None  # services.web.oidc.OidcClient when single sign-on is enabled

    @property
    def user(self) -> Principal:
        """The signed-in person (pages that need one are only reached signed in)."""
        assert self.principal is not None
        return self.principal

    @property
    def is_htmx(self) -> bool:
        return self.request.headers.get("HX-Request") == "true"

    def scope(self) -> UnitScope:
        return UnitScope(self.user, self.directory.parents(self.backends))

    def unit(self, unit_code: str, *, in_scope: bool = True) -> dict[str, Any]:
        """The unit a URL names, from the directory: the 404 page if there is none; with ``in_scope``, a 403 unless
        the signed-in person may read it."""
        unit = self.directory.get(self.backends, unit_code)
        if unit is None:
            raise PageNotFound(f"Không có đơn vị mã “{unit_code}”.")
        if in_scope:
            self.scope().require(unit_code)
        return unit

    def arg(self, name: str, default: str = "") -> str:
        return (self.request.args.get(name) or default).strip()[:200]

    def url(self, path: str, **params: Any) -> str:
        query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
        return f"{path}?{query}" if query else path


MAX_OFFSET = 1_000_000  # beyond any table or list here; a longer number would overflow a database's OFFSET


def page_offset(ctx: RequestContext) -> int:
    """``?offset=`` of a paged table or list: ASCII digits up to :data:`MAX_OFFSET`, else the 404 page (never
    a 500 from an OFFSET the database cannot hold, nor "²", which ``str.isdigit`` accepts and ``int`` refuses)."""
    text = ctx.arg("offset", "0")
    if not (text.isascii() and text.isdigit()) or len(text) > 7 or int(text) > MAX_OFFSET:
        raise PageNotFound(f"Vị trí trang “{text[:20]}” không hợp lệ.")
    return int(text)


def url_id(text: str, what: str) -> int:
    """A row id from a URL segment (``/tep/<id>``, ``/thong-bao/<id>/gui-lai``, ``/van-ban/<id>``): the one
    place every id taken from a URL is read — ASCII digits up to 2**63-1 (shared.inputs.parse_id), else the
    Vietnamese 404 page, never an OverflowError from the database (a 500)."""
    value = parse_id(text)
    if value is None:
        raise PageNotFound(f"Không có {what} số “{echo_safe(text, 30)}”.")
    return value


FREE_TEXT_MAX = 4000  # reason, explanation, answer: the scoring service's own limit (season_store.MAX_TEXT)


def free_text_problem(value: str, max_chars: int = FREE_TEXT_MAX) -> str | None:
    """Why a free-text field the web passes on (reason, explanation, answer) is refused, in Vietnamese; checked
    here too so 100,000 characters never travel to the service, and a NUL or a bidi override is refused (the
    scoring service bounds the length only)."""
    return text_problem(value, max_chars, multiline=True)

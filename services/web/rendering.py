"""HTML out: the Jinja2 environment (autoescaped; Vietnamese number and date filters), the vendored static
files with their checksums, and the security headers every response carries."""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.wrappers import Response

from services.web.audit import detail_vi
from shared.calendar import LOCAL_TZ
from shared.vi_numbers import DASH, vi_decimal, vi_int, vi_percent

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# No inline script anywhere; inline style only where htmx sets it. Downloads and pages never go to a CDN.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def _local(value: str | dt.datetime | None) -> dt.datetime | None:
    if value in (None, ""):
        return None
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return moment.astimezone(LOCAL_TZ) if moment.tzinfo else moment


def date_vi(value: str | dt.date | dt.datetime | None) -> str:
    """ISO date or instant → "07/12/2026" (local date); missing → "–"."""
    if value in (None, ""):
        return DASH
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.strftime("%d/%m/%Y")
    text = str(value)
    if len(text) == 10:
        return dt.date.fromisoformat(text).strftime("%d/%m/%Y")
    moment = _local(value)
    return moment.strftime("%d/%m/%Y") if moment else DASH


def datetime_vi(value: str | dt.datetime | None) -> str:
    """ISO instant → "09:15 07/12/2026" in Vietnam time; missing → "–"."""
    moment = _local(value)
    return moment.strftime("%H:%M %d/%m/%Y") if moment else DASH


def file_size(value: int | None) -> str:
    if value is None:
        return DASH
    if value < 1024:
        return f"{value} B"
    if value < 1024 * 1024:
        return f"{vi_decimal(value / 1024, 1)} KB"
    return f"{vi_decimal(value / 1024 / 1024, 1)} MB"


@dataclass(frozen=True)
class StaticFile:
    data: bytes
    media_type: str
    sha256: str


class StaticFiles:
    """The vendored files (static/), read once; URLs carry the content hash so browsers may cache them forever."""

    def __init__(self, folder: Path = STATIC) -> None:
        self.files: dict[str, StaticFile] = {}
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.name.endswith(".md"):
                data = path.read_bytes()
                media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                self.files[path.name] = StaticFile(data, media, hashlib.sha256(data).hexdigest())

    def url(self, name: str) -> str:
        return f"/static/{name}?v={self.files[name].sha256[:12]}"

    def response(self, name: str) -> Response | None:
        found = self.files.get(name)
        if found is None:
            return None
        charset = "; charset=utf-8" if found.media_type.startswith(("text/", "application/javascript")) else ""
        return Response(found.data, content_type=found.media_type + charset, headers={
            "Cache-Control": "public, max-age=31536000, immutable", "ETag": f'"{found.sha256}"',
            "X-Content-Type-Options": "nosniff"})


def environment(static: StaticFiles, globals_: Mapping[str, Any] | None = None) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(vi_int=vi_int, vi_decimal=vi_decimal, vi_percent=vi_percent, date_vi=date_vi,
                       datetime_vi=datetime_vi, file_size=file_size, detail_vi=detail_vi)
    env.globals.update(static=static.url, **(globals_ or {}))
    return env


def html_response(html: str, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    response = Response(html, status=status, content_type="text/html; charset=utf-8")
    response.headers.update(SECURITY_HEADERS)
    if headers:
        response.headers.update(headers)
    return response

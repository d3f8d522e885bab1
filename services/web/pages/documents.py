"""Văn bản: the document library (ranking decisions, commitments, statistics reports) with versions and
checksums; downloads go through this service with the reader's session (the reports service's token URLs are
never shown), after the same scope check as every page; administrators build new versions here.

Which unit a document belongs to: a commitment's or statistics report's ``sources.unit_code`` (its key starts
with it too); a ranking decision is the province's, published to every unit, so every signed-in reader sees it.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Response

from services.dossiers.periods import PeriodError, parse_period
from services.web import audit
from services.web.access import Forbidden, Permission, UnitScope
from services.web.backends import NotFound, Refused
from services.web.context import Page, PageNotFound, Redirect, RequestContext, url_id

KINDS = {"ranking": "Quyết định công bố Chỉ số CCHC", "commitment": "Văn bản cam kết",
         "statistics": "Báo cáo thống kê một cửa"}
FORMATS = {"docx": "Word (DOCX)", "pdf": "PDF", "xlsx": "Excel (XLSX)"}
BUILD_TIMEOUT_SECONDS = 180.0  # a ranking PDF of a whole province takes seconds; a page waits longer here
LISTED = 500


def document_unit(doc: dict[str, Any]) -> str | None:
    """The unit a document belongs to, or None for a province-wide one (the ranking decision)."""
    if doc.get("kind") == "ranking":
        return None
    unit = (doc.get("sources") or {}).get("unit_code")
    return str(unit) if unit else str(doc.get("key", "")).split("/", 1)[0]


def visible(doc: dict[str, Any], scope: UnitScope) -> bool:
    unit = document_unit(doc)
    return unit is None or scope.allows(unit)


def _public_view(doc: dict[str, Any]) -> dict[str, Any]:
    """What a page may show of a file: never its token, its download URL with the token, or its path on disk."""
    return {k: v for k, v in doc.items() if k not in ("token", "url", "path")}


def group_versions(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per document version with its files (DOCX, PDF, XLSX side by side), newest first."""
    groups: dict[tuple[str, str, int], dict[str, Any]] = {}
    for doc in docs:
        key = (doc["kind"], doc["key"], doc["version"])
        group = groups.setdefault(key, {"kind": doc["kind"], "key": doc["key"], "version": doc["version"],
                                        "title": doc["title"], "built_at": doc["built_at"], "files": []})
        group["files"].append(doc)
        group["built_at"] = max(group["built_at"], doc["built_at"])
    order = {"docx": 0, "pdf": 1, "xlsx": 2}
    for group in groups.values():
        group["files"].sort(key=lambda f: order.get(f["format"], 9))
    return sorted(groups.values(), key=lambda g: g["built_at"], reverse=True)


def _values(ctx: RequestContext, errors: dict[str, str] | None = None,
            form: dict[str, Any] | None = None) -> dict[str, Any]:
    kind = ctx.arg("kind")
    if kind and kind not in KINDS:
        raise PageNotFound(f"Không có loại văn bản “{kind}”.")
    key = ctx.arg("key")
    scope = ctx.scope()
    # a reader with a scope is listed his newest documents, not the province's newest with his filtered out
    codes = None if scope.all else sorted(scope.codes)
    docs = ctx.backends.call("reports", "documents", kind or None, key or None, not key, LISTED, codes)
    shown = [_public_view(d) for d in docs if visible(d, scope)]
    if key and not shown and docs:
        raise Forbidden(key)
    can_build = ctx.user.can(Permission.BUILD_DOCUMENTS)
    values: dict[str, Any] = {"title": "Văn bản", "section": "documents", "groups": group_versions(shown),
                              "kind": kind,
                              "key": key, "kinds": KINDS, "formats": FORMATS, "can_build": can_build,
                              "errors": errors or {}, "form": form or {"kind": "ranking", "formats": ["docx"]},
                              "built": ctx.arg("da_tao")}
    if can_build:
        values["sets"] = ctx.backends.call("scoring", "criteria_sets")
        values["units"] = [u for u in ctx.directory.units(ctx.backends) if not u.get("valid_to")]
    return values


def library(ctx: RequestContext) -> Page:
    return Page("documents.html", _values(ctx))


def download(ctx: RequestContext, document_id_text: str) -> Response:
    document_id = url_id(document_id_text, "văn bản")
    scope = ctx.scope()
    if not scope.all:
        # the document itself is looked up (never a listing: its limit would hide a unit's older documents);
        # another unit's document and one that does not exist are refused alike
        try:
            doc = ctx.backends.call("reports", "document_info", document_id)
        except NotFound:
            raise Forbidden(f"document {document_id}") from None
        if not visible(doc, scope):
            raise Forbidden(f"document {document_id}")
    found = ctx.backends.call("reports", "document_file", document_id)
    data = base64.b64decode(found["content_b64"])
    if hashlib.sha256(data).hexdigest() != found["sha256"]:
        raise RuntimeError(f"document {document_id}: the bytes received do not match the stored sha256")
    with ctx.db.transaction() as session:
        audit.record(session, ctx.user.username, "document_download", ctx.now, ctx.origin,
                     target=str(document_id), detail={"filename": found["filename"], "sha256": found["sha256"]})
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", found["filename"])
    return Response(data, content_type=found["media_type"], headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(found['filename'])}",
        "ETag": f'"{found["sha256"]}"', "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
        "Content-Length": str(len(data))})


def build(ctx: RequestContext) -> Page | Redirect:
    ctx.user.require(Permission.BUILD_DOCUMENTS)
    form = ctx.request.form
    values = {"kind": form.get("kind", ""), "set_ids": form.getlist("set_ids"), "unit_code": form.get("unit_code", ""),
              "period": (form.get("period") or "").strip(), "year": (form.get("year") or "").strip(),
              "formats": form.getlist("formats")}
    errors = _build_errors(ctx, values)
    slow = dataclasses.replace(ctx.backends, timeout=BUILD_TIMEOUT_SECONDS)
    result = None
    if not errors:
        try:
            if values["kind"] == "ranking":
                result = slow.call("reports", "build_ranking", values["set_ids"], values["formats"])
            elif values["kind"] == "statistics":
                result = slow.call("reports", "build_statistics", values["unit_code"], values["period"],
                                   values["formats"])
            else:
                result = slow.call("reports", "build_commitment", values["unit_code"], int(values["year"]),
                                   False, None, values["formats"])
        except Refused as exc:
            errors["kind"] = f"Không tạo được văn bản: {exc.reason}"
    if errors or result is None:
        return Page("documents.html", _values(ctx, errors, values), status=422)
    with ctx.db.transaction() as session:
        audit.record(session, ctx.user.username, "document_build", ctx.now, ctx.origin,
                     target=f"{result['kind']}:{result['key']}",
                     detail={"version": result["version"], "built": result["built"], "formats": values["formats"]})
    return Redirect(ctx.url("/van-ban", kind=result["kind"], da_tao=result["key"]))


def _build_errors(ctx: RequestContext, values: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if values["kind"] not in KINDS:
        errors["kind"] = "Chọn loại văn bản."
        return errors
    if not values["formats"] or any(f not in FORMATS for f in values["formats"]):
        errors["formats"] = "Chọn ít nhất một định dạng (DOCX, PDF, XLSX)."
    if values["kind"] == "ranking":
        known = {s["set_id"] for s in ctx.backends.call("scoring", "criteria_sets")}
        if not values["set_ids"] or any(s not in known for s in values["set_ids"]):
            errors["set_ids"] = "Chọn ít nhất một bộ tiêu chí đã công bố."
        return errors
    if ctx.directory.get(ctx.backends, values["unit_code"]) is None:
        errors["unit_code"] = "Chọn đơn vị."
    if values["kind"] == "statistics":
        try:
            parse_period(values["period"])
        except PeriodError:
            errors["period"] = "Kỳ báo cáo viết dạng 2026, 2026-H2, 2026-Q4 hoặc 2026-11."
    elif not (values["year"].isascii() and values["year"].isdigit() and len(values["year"]) == 4
              and 2000 <= int(values["year"]) <= 2100):  # "²" passes isdigit and fails int
        errors["year"] = "Nhập năm bốn chữ số, ví dụ 2026."
    return errors

"""Kỳ đánh giá (the season) on the web: the office's progress view, a unit's sheet where the unit self-assesses
with evidence files and answers the council, where the council accepts, adjusts or asks for an explanation and
locks, and the office's deadline, provisional ranking and publication.

Every rule is the scoring service's (services/scoring/season*.py); this module checks who may do what on the
server — a unit's sheet, files and forms only for that unit's own people (or readers of everything), whatever the
URL or the form says — records each change in the audit log, and shows a refusal beside the field it names.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Response

from services.web import audit
from services.web.access import Forbidden, Permission, acts_for
from services.web.backends import Refused
from services.web.context import Page, PageNotFound, Redirect, RequestContext, free_text_problem, url_id
from services.web.directory import UNIT_KIND_TITLES
from shared.calendar import LOCAL_TZ

MAX_UPLOAD_BYTES = 40 * 1024 * 1024  # a whole form; each file's own limit is the scoring service's
EDITABLE = ("not_started", "draft")
WITH_COUNCIL = ("submitted", "under_appraisal", "explanation_requested")
DECISIONS = {"accept": "Chấp nhận điểm tự đánh giá", "adjust": "Điều chỉnh điểm (ghi rõ lý do)",
             "request": "Đề nghị giải trình"}
VERDICTS = {"accepted": "Chấp nhận", "adjusted": "Điều chỉnh"}


def _base(set_id: str, unit_code: str | None = None) -> str:
    return f"/chi-so/{set_id}/danh-gia" + (f"/{unit_code}" if unit_code else "")


def _acts_for(ctx: RequestContext, unit_code: str) -> bool:
    return acts_for(ctx.user, unit_code, ctx.directory.parents(ctx.backends))


def _require_acts_for(ctx: RequestContext, unit_code: str, permission: Permission) -> None:
    """Acting as a unit: the permission and the unit among one's own — a URL or form naming another unit is a 403."""
    ctx.user.require(permission)
    if not _acts_for(ctx, unit_code):
        raise Forbidden(f"acting for unit {unit_code}")


def _season_page(read: Callable[[], Any]) -> Any:
    """A season page of a set that runs no season (no ``season: true``) does not exist: 404 with the reason."""
    try:
        return read()
    except Refused as exc:
        if exc.field == "set_id":
            raise PageNotFound(exc.reason) from None
        raise


# -- the office's progress view ------------------------------------------------------------------------------------
def progress(ctx: RequestContext, set_id: str, errors: Mapping[str, str] | None = None,
             status: int = 200) -> Page:
    found = _season_page(lambda: ctx.backends.call("scoring", "season_progress", set_id))
    scope = ctx.scope()
    rows = scope.filter(found["units"])
    if not scope.all and not rows:
        raise Forbidden(f"season of {set_id}")
    return Page("season_progress.html", {
        "title": f"Kỳ đánh giá — {found['title']}", "section": "scores", "progress": found, "rows": rows,
        "scoped": not scope.all, "can_publish": ctx.user.can(Permission.PUBLISH_RESULTS),
        "errors": dict(errors or {}), "message": ctx.arg("tb"), "kind_titles": UNIT_KIND_TITLES}, status=status)


def set_deadline(ctx: RequestContext, set_id: str) -> Page | Redirect:
    ctx.user.require(Permission.PUBLISH_RESULTS)
    raw = (ctx.request.form.get("deadline") or "").strip()
    try:
        deadline = dt.datetime.fromisoformat(raw).replace(tzinfo=LOCAL_TZ) if raw else None
    except ValueError:
        deadline = None
    if deadline is None:
        return progress(ctx, set_id, {"deadline": "Chọn ngày và giờ của hạn giải trình."}, 422)
    try:
        ctx.backends.call("scoring", "season_set_deadline", set_id, deadline.isoformat(), ctx.user.username)
    except Refused as exc:
        return progress(ctx, set_id, {"deadline": exc.reason}, 422)
    _audit(ctx, "season_deadline", set_id, {"deadline": deadline.isoformat()})
    return Redirect(ctx.url(_base(set_id), tb="Đã đặt hạn giải trình."))


def publish(ctx: RequestContext, set_id: str) -> Page | Redirect:
    ctx.user.require(Permission.PUBLISH_RESULTS)
    try:
        result = ctx.backends.call("scoring", "season_publish", set_id, ctx.user.username)
    except Refused as exc:
        return progress(ctx, set_id, {"publish": exc.reason}, 422)
    _audit(ctx, "season_publish", set_id, result)
    return Redirect(ctx.url(f"/chi-so/{set_id}", tb=f"Đã công bố kết quả của {result['units']} đơn vị."))


def provisional(ctx: RequestContext, set_id: str) -> Page:
    """The live ranking before publication: the office's working view, never the units'."""
    ctx.user.require(Permission.PUBLISH_RESULTS)
    result = ctx.backends.call("scoring", "provisional_ranking", set_id)
    return Page("ranking.html", {
        "title": f"Tạm tính — {result['title']}", "section": "scores", "ranking": {**result, "provisional": True},
        "rows": result["table"], "scoped": False, "ranked": sum(1 for r in result["table"] if r["rank"]),
        "bars": [], "sets": ctx.backends.call("scoring", "criteria_sets"), "kind_titles": UNIT_KIND_TITLES})


# -- a unit's sheet ----------------------------------------------------------------------------------------------------
def sheet(ctx: RequestContext, set_id: str, unit_code: str, errors: Mapping[str, str] | None = None,
          form: Mapping[str, str] | None = None, status: int = 200) -> Page:
    unit = ctx.unit(unit_code, in_scope=False)
    ctx.scope().require(unit_code)
    # one RPC: the sheet, with its result for the office (live) or once published (a unit sees its index then)
    found = _season_page(lambda: ctx.backends.call("scoring", "season_sheet_page", set_id, unit_code,
                                                   ctx.user.reads_all))
    data, result = found["sheet"], found["result"]
    mine = _acts_for(ctx, unit_code)
    open_leaf = ctx.arg("tc")
    errors = dict(errors or {})
    leaves = []
    for leaf in data["leaves"]:
        prefix = f"{leaf['leaf_id']}|"  # leaf ids hold dots: "1.1.1|points"
        leaf_errors = {k[len(prefix):]: v for k, v in errors.items() if k.startswith(prefix)}
        leaves.append({**leaf, "errors": leaf_errors,
                       "open": bool(leaf_errors) or open_leaf == leaf["leaf_id"] or
                       bool(leaf["request_text"] and not leaf["answered_at"])})
    return Page("season_sheet.html", {
        "title": f"{unit['name']} — {data['title']}", "section": "scores", "unit": unit, "sheet": data,
        "leaves": leaves, "result": result, "errors": errors, "form": dict(form or {}),
        "message": ctx.arg("tb"), "decisions": DECISIONS, "verdicts": VERDICTS,
        "refused_leaves": [leaf["leaf_id"] for leaf in leaves if leaf["errors"]],
        "can_edit": mine and ctx.user.can(Permission.SELF_ASSESS) and data["status"] in EDITABLE,
        "can_submit": mine and ctx.user.can(Permission.SUBMIT_SELF_ASSESSMENT) and data["status"] == "draft",
        "can_answer": mine and ctx.user.can(Permission.SELF_ASSESS),
        "can_appraise": ctx.user.can(Permission.APPRAISE) and data["status"] in WITH_COUNCIL,
        "with_council": data["status"] in WITH_COUNCIL}, status=status)


def _files(ctx: RequestContext) -> list[dict[str, str]]:
    if (ctx.request.content_length or 0) > MAX_UPLOAD_BYTES:
        raise Refused("files", f"Tổng dung lượng gửi lên vượt {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    files = []
    for upload in ctx.request.files.getlist("files"):
        if not upload or not upload.filename:
            continue  # the browser sends an empty part when no file was chosen
        files.append({"filename": upload.filename, "data": base64.b64encode(upload.read()).decode("ascii")})
    return files


def _check_text(value: str, field: str, label: str) -> None:
    """A free-text field bounded before it is sent (context.free_text_problem), refused beside the field."""
    problem = free_text_problem(value)
    if problem:
        raise Refused(field, f"{label}: {problem}")


def _leaf_of(data: Mapping[str, Any], leaf_id: str) -> dict[str, Any]:
    leaf = next((x for x in data["leaves"] if x["leaf_id"] == leaf_id), None)
    if leaf is None:
        raise PageNotFound(f"Không có tiêu chí “{leaf_id}” trong phiếu này.")
    return leaf


def save_leaf(ctx: RequestContext, set_id: str, unit_code: str, leaf_id: str) -> Page | Redirect:
    _require_acts_for(ctx, unit_code, Permission.SELF_ASSESS)
    data = _season_page(lambda: ctx.backends.call("scoring", "season_sheet", set_id, unit_code))
    leaf = _leaf_of(data, leaf_id)
    owned = {str(f["file_id"]) for f in leaf["files"] if f["purpose"] == "evidence"}
    remove = ctx.request.form.getlist("remove")
    if any(r not in owned for r in remove):  # another unit's or another leaf's file: tampering, refused alike
        raise Forbidden(f"files of {unit_code}/{leaf_id}")
    form = {"points": (ctx.request.form.get("points") or "").strip(),
            "explanation": (ctx.request.form.get("explanation") or "").strip()}
    try:
        _check_text(form["explanation"], "explanation", "Thuyết minh")
        files = _files(ctx)
        result = ctx.backends.call("scoring", "season_save_leaf", set_id, unit_code, leaf_id, form["points"],
                                   form["explanation"], files, [int(r) for r in remove], ctx.user.username)
    except Refused as exc:
        return sheet(ctx, set_id, unit_code, {f"{leaf_id}|{_field(exc)}": exc.reason}, form, 422)
    _audit(ctx, "season_save", f"{set_id}/{unit_code}/{leaf_id}",
           {"points": result["points"], "files": [f["filename"] for f in files], "removed": remove})
    return Redirect(ctx.url(_base(set_id, unit_code), tc=leaf_id, tb=f"Đã lưu nháp tiêu chí {leaf_id}.") +
                    f"#tc-{leaf_id}")


def submit(ctx: RequestContext, set_id: str, unit_code: str) -> Page | Redirect:
    _require_acts_for(ctx, unit_code, Permission.SUBMIT_SELF_ASSESSMENT)
    try:
        result = ctx.backends.call("scoring", "season_submit", set_id, unit_code, ctx.user.username)
    except Refused as exc:
        return sheet(ctx, set_id, unit_code, {"submit": exc.reason}, None, 422)
    _audit(ctx, "season_submit", f"{set_id}/{unit_code}", result)
    return Redirect(ctx.url(_base(set_id, unit_code), tb="Đã gửi tự đánh giá. Phiếu đã khóa để thẩm định."))


def appraise(ctx: RequestContext, set_id: str, unit_code: str, leaf_id: str) -> Page | Redirect:
    ctx.user.require(Permission.APPRAISE)
    ctx.unit(unit_code, in_scope=False)
    f = ctx.request.form
    form = {"decision": (f.get("decision") or "").strip(), "points": (f.get("points") or "").strip(),
            "reason": (f.get("reason") or "").strip(), "version": (f.get("version") or "").strip()}
    try:
        _check_text(form["reason"], "reason", "Lý do")
        result = ctx.backends.call("scoring", "season_appraise", set_id, unit_code, leaf_id, form["decision"],
                                   form["points"], form["reason"], form["version"] or None, ctx.user.username)
    except Refused as exc:
        field = _field(exc)
        return sheet(ctx, set_id, unit_code, {f"{leaf_id}|appraise_{field}": exc.reason}, form,
                     409 if field == "version" else 422)
    _audit(ctx, "season_appraise", f"{set_id}/{unit_code}/{leaf_id}",
           {"decision": form["decision"], "points": form["points"], "reason": form["reason"][:500],
            "version": result["version"]})
    return Redirect(ctx.url(_base(set_id, unit_code), tc=leaf_id, tb=f"Đã lưu thẩm định tiêu chí {leaf_id}.") +
                    f"#tc-{leaf_id}")


def answer(ctx: RequestContext, set_id: str, unit_code: str, leaf_id: str) -> Page | Redirect:
    _require_acts_for(ctx, unit_code, Permission.SELF_ASSESS)
    form = {"answer": (ctx.request.form.get("answer") or "").strip()}
    try:
        _check_text(form["answer"], "answer", "Nội dung giải trình")
        files = _files(ctx)
        ctx.backends.call("scoring", "season_answer", set_id, unit_code, leaf_id, form["answer"], files,
                          ctx.user.username)
    except Refused as exc:
        return sheet(ctx, set_id, unit_code, {f"{leaf_id}|answer_{_field(exc)}": exc.reason}, form, 422)
    _audit(ctx, "season_answer", f"{set_id}/{unit_code}/{leaf_id}",
           {"answer": form["answer"][:500], "files": [x["filename"] for x in files]})
    return Redirect(ctx.url(_base(set_id, unit_code), tc=leaf_id, tb=f"Đã gửi giải trình tiêu chí {leaf_id}.") +
                    f"#tc-{leaf_id}")


def lock(ctx: RequestContext, set_id: str, unit_code: str) -> Page | Redirect:
    ctx.user.require(Permission.APPRAISE)
    ctx.unit(unit_code, in_scope=False)
    try:
        ctx.backends.call("scoring", "season_lock", set_id, unit_code, ctx.user.username)
    except Refused as exc:
        return sheet(ctx, set_id, unit_code, {"lock": exc.reason}, None, 422)
    _audit(ctx, "season_lock", f"{set_id}/{unit_code}", {})
    return Redirect(ctx.url(_base(set_id, unit_code), tb="Đã khóa kết quả thẩm định của đơn vị."))


def evidence(ctx: RequestContext, set_id: str, unit_code: str, file_id_text: str) -> Response:
    """An evidence file, for the unit's people and readers of everything; a file of another unit or set named
    under this unit's URL is refused alike (403, nothing of it sent)."""
    ctx.scope().require(unit_code)
    file_id = url_id(file_id_text, "tệp")
    found = ctx.backends.call("scoring", "evidence_file", file_id)
    if found["unit_code"] != unit_code or found["set_id"] != set_id:
        raise Forbidden(f"file {file_id} under {unit_code}")
    data = base64.b64decode(found["data"])
    if hashlib.sha256(data).hexdigest() != found["sha256"]:
        raise RuntimeError(f"evidence {file_id}: the bytes received do not match the stored sha256")
    _audit(ctx, "evidence_download", f"{set_id}/{unit_code}/{found['leaf_id']}/{file_id}",
           {"filename": found["filename"], "sha256": found["sha256"]})
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", found["filename"])
    return Response(data, content_type=found["media_type"], headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(found['filename'])}",
        "ETag": f'"{found["sha256"]}"', "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
        "Content-Length": str(len(data))})


def _field(exc: Refused) -> str:
    return exc.field.split(".")[0] if exc.field else "form"


def _audit(ctx: RequestContext, action: str, target: str, detail: Mapping[str, Any]) -> None:
    with ctx.db.transaction() as session:
        audit.record(session, ctx.user.username, action, ctx.now, ctx.origin, target=target, detail=dict(detail))

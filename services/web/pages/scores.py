"""Chỉ số CCHC: each criteria set's ranking with component indexes and classes, and a unit's sheet leaf by leaf
(self-assessed, appraised, computed, survey) with its history; appraisers correct a leaf from the sheet."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from services.web import audit
from services.web.access import Permission
from services.web.backends import Refused
from services.web.context import Page, Redirect, RequestContext, free_text_problem
from services.web.directory import UNIT_KIND_TITLES
from shared.svg_charts import Chart, Series, horizontal_bars

SOURCE_TITLES = {"self": "Tự đánh giá", "appraised": "Thẩm định", "computed": "Tính tự động", "survey": "Điều tra XHH",
                 "deduction": "Điểm trừ", "not_applicable": "Không áp dụng"}
HISTORY_KINDS = {"self": "Tự đánh giá", "appraisal": "Thẩm định", "survey": "Điều tra XHH", "status": "Trạng thái",
                 "not_applicable": "Không áp dụng"}


def sets(ctx: RequestContext) -> Page | Redirect:
    found = ctx.backends.call("scoring", "criteria_sets")
    if len(found) == 1:
        return Redirect(f"/chi-so/{found[0]['set_id']}")
    return Page("scores.html", {"title": "Chỉ số CCHC", "section": "scores", "sets": found,
                                "kind_titles": UNIT_KIND_TITLES})


def ranking(ctx: RequestContext, set_id: str) -> Page:
    result = ctx.backends.call("scoring", "ranking", set_id)
    scope = ctx.scope()
    rows = scope.filter(result["table"])
    chart = Chart(tuple(r["unit_name"] for r in rows if r["index"] is not None),
                  (Series("Chỉ số CCHC", tuple(Decimal(r["index"]) for r in rows if r["index"] is not None)),))
    return Page("ranking.html", {
        "title": result["title"], "section": "scores", "ranking": result, "rows": rows, "scoped": not scope.all,
        "ranked": sum(1 for r in result["table"] if r["rank"]), "bars": horizontal_bars(chart) if rows else [],
        "sets": ctx.backends.call("scoring", "criteria_sets"), "kind_titles": UNIT_KIND_TITLES,
        "message": ctx.arg("tb")})


# content-addressed (the scoring service compares version and checksum), so one copy serves every container
_OUTLINES: dict[tuple[Any, ...], dict[str, Any]] = {}
_LATEST_OUTLINE: dict[str, list[Any]] = {}


def _sheet_data(ctx: RequestContext, set_id: str, unit_code: str) -> dict[str, Any]:
    """The sheet's data in one RPC (scoring.unit_sheet_page). The outline of a published version never changes:
    this process keeps the copies it received by (set, version, checksum) and names the latest one it holds, so
    the scoring service leaves the outline (the biggest part of the reply) out when it is still current."""
    known = _LATEST_OUTLINE.get(set_id)
    data = ctx.backends.call("scoring", "unit_sheet_page", set_id, unit_code, ctx.user.reads_all, known)
    key = (set_id, *data["outline_key"])
    if data["outline"] is not None:
        _OUTLINES[key] = data["outline"]
        _LATEST_OUTLINE[set_id] = data["outline_key"]
    data["outline"] = _OUTLINES[key]
    return data


def _sheet_values(ctx: RequestContext, set_id: str, unit_code: str) -> dict[str, Any]:
    unit = ctx.unit(unit_code)
    data = _sheet_data(ctx, set_id, unit_code)
    # in a season, a unit's people see its sheet once the results are published (the office sees it live); before,
    # scoring sends the outline only and the page points to the season's sheet
    outline, result = data["outline"], data["result"] or {"leaves": [], "areas": []}
    hidden = data["result_hidden"]
    computed = {leaf["leaf_id"]: leaf for leaf in result.get("leaves", [])}
    entered = {row["leaf_id"]: row for row in data["scores"]}
    areas = []
    for area in outline["areas"]:
        area_result = next((a for a in result["areas"] if a["area_id"] == area["area_id"]), {})
        criteria = []
        for criterion in area["criteria"]:
            leaves = []
            for leaf in criterion["leaves"]:
                got = computed.get(leaf["leaf_id"], {})
                row = entered.get(leaf["leaf_id"], {})
                leaves.append({**leaf, "self_points": row.get("self_points"),
                               "appraised_points": row.get("appraised_points"),
                               "appraisal_reason": row.get("appraisal_reason"),
                               "survey_points": row.get("survey_points"),
                               "computed_points": got.get("points") if got.get("source") == "computed" else None,
                               "points": got.get("points"), "source": got.get("source"),
                               "applicable": got.get("applicable", True), "evidence": row.get("evidence") or []})
            criteria.append({**criterion, "leaves": leaves})
        areas.append({**area, "criteria": criteria, "result": area_result})
    titles = {leaf["leaf_id"]: leaf["title"] for a in outline["areas"] for c in a["criteria"] for leaf in c["leaves"]}
    return {"title": f"{unit['name']} — {outline['title']}", "section": "scores", "unit": unit, "outline": outline,
            "result": result, "areas": areas, "history": data["history"],
            "history_total": data["history_total"], "leaf_titles": titles,
            "history_kinds": HISTORY_KINDS, "source_titles": SOURCE_TITLES,
            "can_appraise": ctx.user.can(Permission.APPRAISE), "errors": {}, "form": {}, "result_hidden": hidden,
            "saved": ctx.arg("da_luu")}


def sheet(ctx: RequestContext, set_id: str, unit_code: str) -> Page:
    return Page("sheet.html", _sheet_values(ctx, set_id, unit_code))


def appraise(ctx: RequestContext, set_id: str, unit_code: str) -> Page | Redirect:
    ctx.user.require(Permission.APPRAISE)
    values = _sheet_values(ctx, set_id, unit_code)
    form = {k: (ctx.request.form.get(k) or "").strip() for k in ("leaf_id", "points", "reason")}
    errors = _appraisal_errors(form, set(values["leaf_titles"]))
    if not errors:
        try:
            ctx.backends.call("scoring", "appraise", set_id, unit_code, form["leaf_id"], form["points"],
                              form["reason"], ctx.user.username)
        except Refused as exc:
            field = "points" if "points" in exc.field else "reason" if "reason" in exc.field else "leaf_id"
            errors[field] = f"Hệ thống chấm điểm không nhận: {exc.reason}"
    if errors:
        values.update(errors=errors, form=form)
        return Page("sheet.html", values, status=422)
    with ctx.db.transaction() as session:
        audit.record(session, ctx.user.username, "appraisal", ctx.now, ctx.origin,
                     target=f"{set_id}/{unit_code}/{form['leaf_id']}",
                     detail={"points": form["points"], "reason": form["reason"][:500]})
    return Redirect(f"/chi-so/{set_id}/don-vi/{unit_code}?da_luu={form['leaf_id']}#tham-dinh")


def _appraisal_errors(form: dict[str, str], leaves: set[str]) -> dict[str, str]:
    errors = {}
    if form["leaf_id"] not in leaves:
        errors["leaf_id"] = "Chọn một tiêu chí thành phần của bộ tiêu chí."
    try:
        points = Decimal(form["points"].replace(",", "."))
        if not points.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["points"] = "Nhập số điểm, ví dụ 0,75."
    else:
        form["points"] = str(points)
    if len(form["reason"]) < 5:
        errors["reason"] = "Nêu lý do thẩm định (ít nhất 5 ký tự)."
    elif problem := free_text_problem(form["reason"]):
        errors["reason"] = f"Lý do thẩm định: {problem}"
    return errors

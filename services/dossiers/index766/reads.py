"""What the RPCs and the command line call: a unit's whole index with where its points go, the province's ranking
by points at stake, and the procedure-facts import — as plain JSON-ready dicts (decimals as strings, times with the
+07:00 offset people read)."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from services.dossiers.index766 import aggregate, store
from services.dossiers.index766.aggregate import Coverage
from services.dossiers.index766.cache import RankingCache, fingerprint
from services.dossiers.index766.counting import JUDGED_IN_PYTHON, Tally, active_units, tally
from services.dossiers.index766.groups import IndicatorScore, UnitIndex, compute
from services.dossiers.index766.indicators import INDICATORS, Kind
from services.dossiers.index766.losses import IndicatorLoss, indicator_losses, miss_row, rank_by_points_at_stake
from services.dossiers.index766.periods import BoardPeriod, as_of, parse_board_period, require_begun
from services.dossiers.index766.procedure_facts import plan_import
from services.dossiers.index766.views import Context, DossierView, PetitionView, ProcedureFacts
from services.dossiers.lifecycle import TimelinessRules
from services.dossiers.reads import NotFound
from services.dossiers.units import Unit, UnitKind
from shared.calendar import LOCAL_TZ

__all__ = ["import_procedure_facts", "ranking", "unit_index", "workbook"]

UNIT_KINDS = ("department", "commune")


def _local(value: dt.datetime | None) -> str | None:
    return value.astimezone(LOCAL_TZ).isoformat() if value is not None else None


def _text(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def _bearing(facts: Sequence[ProcedureFacts]) -> dict[str, bool]:
    """Fee-bearing by procedure code: any row of the procedure that says so."""
    bearing: dict[str, bool] = {}
    for row in facts:
        if row.fee_bearing is not None:
            bearing[row.procedure_code] = bearing.get(row.procedure_code, False) or row.fee_bearing
    return bearing


def _context(period: BoardPeriod, now: dt.datetime, rules: TimelinessRules,
             facts: Sequence[ProcedureFacts]) -> Context:
    return Context(period, as_of(period, now), rules.calendar, fee_bearing=_bearing(facts).get)


def coverage_of(dossiers: Sequence[DossierView]) -> Coverage:
    """Which sources the one-door sent for these dossiers (aggregate.count_dossiers counts the same in SQL)."""
    return Coverage(
        dossiers=len(dossiers),
        synced=sum(1 for v in dossiers if v.facts.synced_at is not None),
        e_result=sum(1 for v in dossiers if v.facts.e_result_at is not None),
        components=sum(1 for v in dossiers if v.facts.component_count is not None or v.facts.digitised is not None),
        fees=sum(1 for v in dossiers if v.facts.fee_lines is not None),
        ratings=sum(1 for v in dossiers if v.facts.rating is not None),
        paid_exempt=sum(1 for v in dossiers if v.facts.exempt and v.facts.paid_online_at is not None),
    )


def coverage_warnings(coverage: Coverage, petitions: Sequence[PetitionView], facts_import: dict[str, Any] | None,
                      period: BoardPeriod) -> list[str]:
    """What the figures could not see: a source that sent nothing makes its indicators a lower bound, and says so."""
    warnings = []
    if facts_import is None:
        warnings.append("Chưa nhập dữ liệu TTHC (CSDLQG về TTHC) cho kỳ này: chỉ tiêu 1.1–1.3, 3.1, 3.2, 3.5, 3.5b, "
                        "4.5a chưa tính được (0 điểm); chứng thực điện tử lấy theo Cổng DVCQG (100%).")
    elif facts_import["period"] != period.label:
        warnings.append(f"Dữ liệu TTHC lấy từ lần nhập cho kỳ {facts_import['period']} (chưa có lần nhập cho kỳ "
                        f"{period.label}).")
    if not coverage.dossiers:
        return warnings
    sources = (
        (coverage.synced, "xác nhận đồng bộ từ Cổng DVCQG (dossier.synced): chỉ tiêu 1.4"),
        (coverage.e_result, "kết quả điện tử (dossier.result_issued): chỉ tiêu 4.1, 4.2"),
        (coverage.components, "thành phần hồ sơ (components): chỉ tiêu 4.2–4.5"),
        (coverage.fees, "phí, lệ phí (fees): nhóm thanh toán trực tuyến"),
        (coverage.ratings, "đánh giá hài lòng (dossier.rated): chỉ tiêu 5.4"),
    )
    for seen, what in sources:
        if not seen:
            warnings.append(f"Hệ thống một cửa chưa gửi {what} được tính theo số liệu hiện có (cận dưới).")
    if not petitions:
        warnings.append("Chưa có phản ánh, kiến nghị nào trong kỳ: chỉ tiêu 5.2, 5.3 được đủ điểm như Cổng DVCQG tính.")
    if coverage.paid_exempt:
        warnings.append(f"{coverage.paid_exempt} hồ sơ miễn phí, lệ phí nhưng có thanh toán trực tuyến: không tính vào "
                        "chỉ tiêu 3.6; kiểm tra dữ liệu của hệ thống một cửa.")
    return warnings


def _indicator_json(score: IndicatorScore) -> dict[str, Any]:
    ind, figures = score.indicator, score.figures
    return {
        "code": ind.code, "number": ind.number, "name": ind.name_vi, "max_points": str(ind.max_points),
        "numerator": score.ratio.numerator, "denominator": score.ratio.denominator,
        "ratio": _text(figures.ratio), "score": _text(figures.score), "points_lost": str(score.points_lost),
        "form": ind.form.label, "inferred": ind.inferred, "evidence": ind.evidence, "note": score.note,
    }


def _groups_json(index: UnitIndex) -> list[dict[str, Any]]:
    return [
        {"code": g.group.code, "portal_code": g.group.portal_code, "name": g.group.name_vi,
         "max_points": str(g.group.max_points), "score": str(g.score), "points_lost": str(g.points_lost),
         "indicators": [_indicator_json(s) for s in g.indicators]}
        for g in index.groups
    ]


def _loss_json(loss: IndicatorLoss) -> dict[str, Any]:
    ind = loss.score.indicator
    return {
        "code": ind.code, "number": ind.number, "name": ind.name_vi, "group": ind.group,
        "points_lost": str(loss.points_lost), "missing": loss.missing, "items_to_full": loss.items_to_full,
        "points_per_item": _text(loss.points_per_item), "inferred": ind.inferred, "note": loss.score.note,
        "items": [miss_row(m) for m in loss.items],
    }


def _head(unit: Unit, period: BoardPeriod, ctx: Context, index: UnitIndex) -> dict[str, Any]:
    return {
        "unit_code": unit.code, "unit_name": unit.name, "unit_kind": unit.kind.value, "period": period.label,
        "period_title": period.title_vi, "start": period.start.isoformat(), "end": period.end.isoformat(),
        "as_of": _local(ctx.as_of), "total": str(index.total), "max_points": "100",
        "points_lost": str(index.points_lost),
    }


def _facts_json(chosen: dict[str, Any] | None) -> dict[str, Any] | None:
    if chosen is None:
        return None
    return {"import_id": chosen["id"], "period": chosen["period"], "imported_at": _local(chosen["imported_at"]),
            "actor": chosen["actor"], "file_name": chosen["file_name"], "rows": chosen["rows"]}


def _unit(rules: TimelinessRules, unit_code: str) -> Unit:
    unit = rules.units.get(unit_code)
    if unit is None:
        raise NotFound(f"unit_code: no unit {unit_code!r}")
    return unit


def unit_index(session: Session, rules: TimelinessRules, unit_code: str, period_label: str, now: dt.datetime,
               *, max_items: int = 50) -> dict[str, Any]:
    """One unit's six groups, its indicators, and where its points go (up to ``max_items`` items per indicator)."""
    period = require_begun(parse_board_period(period_label), now)
    unit = _unit(rules, unit_code)
    members = rules.units.descendants(unit.code)
    facts, chosen = store.procedure_facts(session, period)
    ctx = _context(period, now, rules, facts)
    if unit.kind is UnitKind.PROVINCE:
        result, coverage, petitions = _province_tally(session, rules, unit, period, ctx, facts, max_items)
    else:
        dossiers = store.dossier_views(session, rules, period, members, with_applicants=True)
        petitions = store.petition_views(session, period, members)
        result = tally(rules.units, dossiers, petitions, facts, ctx, units=[unit.code], collect=[unit.code],
                       max_items=max_items).get(unit.code)
        coverage = coverage_of(dossiers)
    if result is None:
        raise NotFound(f"unit_code: unit {unit_code!r} did not exist in {period.label}")
    index = compute(result.ratios, is_root=unit.kind is UnitKind.PROVINCE, notes=result.notes)
    return {
        **_head(unit, period, ctx, index),
        "groups": _groups_json(index),
        "losses": [_loss_json(loss) for loss in indicator_losses(index, result)],
        "warnings": coverage_warnings(coverage, petitions, chosen, period),
        "procedure_facts": _facts_json(chosen),
    }


def _province_tally(session: Session, rules: TimelinessRules, unit: Unit, period: BoardPeriod, ctx: Context,
                    facts: Sequence[ProcedureFacts], max_items: int
                    ) -> tuple[Tally | None, Coverage, list[PetitionView]]:
    """The province's tally without loading its ~180,000 dossiers: the database counts them (as for the ranking),
    then the first ``max_items`` dossiers missing each indicator — found by the same flags, and among the dossiers
    with supplement rounds by the functions — are loaded whole and judged by the functions, with their reasons."""
    bearing = _bearing(facts)
    counted, coverage = aggregate.count_dossiers(session, period, ctx.as_of, bearing)
    rounds = aggregate.round_views(session, rules, period, ctx.as_of)
    petitions = store.petition_views(session, period)
    result = tally(rules.units, rounds, petitions, facts, ctx, units=[unit.code], collect=[unit.code],
                   max_items=max_items, counted=counted).get(unit.code)
    if result is None:
        return None, coverage, petitions
    codes = set(aggregate.missing_codes(session, period, ctx.as_of, bearing, max_items))
    codes |= {miss.code for code in JUDGED_IN_PYTHON for miss in result.misses.get(code, ())}
    views = store.dossier_views(session, rules, period, with_applicants=True, codes=codes)
    listed = tally(rules.units, views, [], facts, ctx, units=[unit.code], collect=[unit.code],
                   max_items=max_items)[unit.code]
    for ind in INDICATORS.values():
        if ind.kind is Kind.DOSSIER:
            result.misses[ind.code] = listed.misses.get(ind.code, [])
    return result, coverage, petitions


def _all(session: Session, rules: TimelinessRules, period: BoardPeriod, now: dt.datetime
         ) -> tuple[Context, dict[str, Tally], list[Unit], list[str], dict[str, Any] | None]:
    """Every unit's tally: the database counts the dossier indicators (aggregate.py), Python judges the dossiers
    with supplement rounds and everything that is not a dossier."""
    facts, chosen = store.procedure_facts(session, period)
    ctx = _context(period, now, rules, facts)
    counted, coverage = aggregate.count_dossiers(session, period, ctx.as_of, _bearing(facts))
    rounds = aggregate.round_views(session, rules, period, ctx.as_of)
    petitions = store.petition_views(session, period)
    tallies = tally(rules.units, rounds, petitions, facts, ctx, counted=counted)
    return ctx, tallies, active_units(rules.units, ctx), coverage_warnings(coverage, petitions, chosen, period), chosen


def _standing_json(position: int, standing: Any) -> dict[str, Any]:
    index: UnitIndex = standing.index
    losses = sorted((s for g in index.groups for s in g.indicators if s.points_lost > 0),
                    key=lambda s: (-s.points_lost, s.indicator.number))[:3]
    return {
        "position": position, "board_rank": standing.board_rank, "unit_code": standing.unit_code,
        "unit_name": standing.unit_name, "unit_kind": standing.unit_kind, "total": str(index.total),
        "points_lost": str(standing.points_lost),
        "dossiers": index.indicator("PROGRESS_ON_TIME").ratio.denominator,  # received or processed in the period
        "groups": {g.group.code: str(g.score) for g in index.groups},
        "top_losses": [{"code": s.indicator.code, "number": s.indicator.number, "name": s.indicator.name_vi,
                        "points_lost": str(s.points_lost)} for s in losses],
    }


def ranking(session: Session, rules: TimelinessRules, period_label: str, now: dt.datetime,
            unit_kind: str | None = None, *, cache: RankingCache | None = None,
            max_age: dt.timedelta | None = None) -> dict[str, Any]:
    """The province's units (departments and communes, or one kind) by points at stake, most first, with the
    province's own figures beside them; from ``cache`` when it may be served (cache.py)."""
    if unit_kind is not None and unit_kind not in UNIT_KINDS:
        raise ValueError(f"unit_kind: {unit_kind!r} is not one of {', '.join(UNIT_KINDS)}")
    period = require_begun(parse_board_period(period_label), now)
    if cache is None:
        doc = _ranking(session, rules, period, now)
    else:
        doc = cache.get(period.label, now, fingerprint(session, rules.catalogue.version),
                        lambda: _ranking(session, rules, period, now), max_age=max_age)
    return doc if unit_kind is None else _of_kind(doc, unit_kind)


def _of_kind(doc: dict[str, Any], unit_kind: str) -> dict[str, Any]:
    """The ranking of one kind of unit: its units in the same order, numbered and ranked among themselves."""
    units = [u for u in doc["units"] if u["unit_kind"] == unit_kind]
    totals = sorted((Decimal(u["total"]) for u in units), reverse=True)
    rank_of: dict[Decimal, int] = {}
    for position, total in enumerate(totals, start=1):
        rank_of.setdefault(total, position)
    return {**doc, "unit_kind": unit_kind,
            "units": [{**u, "position": i, "board_rank": rank_of[Decimal(u["total"])]}
                      for i, u in enumerate(units, start=1)]}


def _ranking(session: Session, rules: TimelinessRules, period: BoardPeriod, now: dt.datetime) -> dict[str, Any]:
    """Every department and commune by points at stake (one kind is filtered from it: :func:`_of_kind`)."""
    ctx, tallies, units, warnings, chosen = _all(session, rules, period, now)
    root = next((u for u in units if u.kind is UnitKind.PROVINCE), None)
    indexes = {code: compute(t.ratios, is_root=root is not None and code == root.code, notes=t.notes)
               for code, t in tallies.items()}
    province = None
    if root is not None:
        province = {**_head(root, period, ctx, indexes[root.code]), "groups": _groups_json(indexes[root.code])}
    ranked = [(u.code, u.name, u.kind.value) for u in units if u.kind.value in UNIT_KINDS]
    standings = rank_by_points_at_stake(ranked, indexes)
    return {
        "period": period.label, "period_title": period.title_vi, "as_of": _local(ctx.as_of), "unit_kind": None,
        "province": province, "units": [_standing_json(i, s) for i, s in enumerate(standings, start=1)],
        "warnings": warnings, "procedure_facts": _facts_json(chosen),
    }


def import_procedure_facts(session: Session, rules: TimelinessRules, period_label: str, file_name: str,
                           content: bytes, actor: str, now: dt.datetime, *, skip_invalid: bool = False,
                           skip_unknown: bool = False) -> dict[str, Any]:
    """Check a procedure-facts file and, if it passes (or what fails is skipped), store it as the period's newest
    import. The answer lists every refused row and unknown procedure either way."""
    period = parse_board_period(period_label)
    if not actor or not actor.strip():
        raise ValueError("actor: say who imports the file")
    plan = plan_import(content, file_name, rules.units, rules.catalogue, skip_invalid=skip_invalid,
                       skip_unknown=skip_unknown)
    summary = {"period": period.label, "file_name": file_name, **plan.summary()}
    if plan.accepted:
        summary["import_id"] = store.store_import(session, period, plan.facts, actor=actor.strip(),
                                                  file_name=file_name, content=content, report=plan.summary(),
                                                  now=now)
    return summary


def workbook(session: Session, rules: TimelinessRules, period_label: str, now: dt.datetime,
             unit_code: str | None = None) -> bytes:
    """The XLSX of the province's ranking by points at stake, or of one unit with where its points go."""
    from services.dossiers.index766.workbook import ranking_workbook, unit_workbook

    if unit_code is None:
        return ranking_workbook(ranking(session, rules, period_label, now))
    return unit_workbook(unit_index(session, rules, unit_code, period_label, now, max_items=1000))


def decode_file(content_base64: str) -> bytes:
    try:
        return base64.b64decode(content_base64, validate=True)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"content_base64: not base64 ({exc})") from exc


def workbook_base64(session: Session, rules: TimelinessRules, period_label: str, now: dt.datetime,
                    unit_code: str | None = None) -> str:
    return base64.b64encode(workbook(session, rules, period_label, now, unit_code)).decode("ascii")

"""Changes to scores — self-assessment, appraisal, survey import — each checked, kept in history, recalculated.

A submission is checked leaf by leaf: a bad leaf is refused with an error naming it, the good ones are kept
(nothing else in the submission is lost). Every accepted change writes a history row in the same
transaction: who, when, old value, new value, reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.scoring.criteria import CriteriaSet, load_criteria_set
from services.scoring.models import CriteriaSetRow, LeafScore, MetricValue, ScoreHistory, Unit
from services.scoring.recalc import METRICS, NotFound, current_set, recalc_units, rerank, sets_for
from services.scoring.scores import ScoreError, check_points, check_window
from shared.db import insert_ignore, upsert


class SetConflict(ValueError):
    """A published criteria set cannot change: a correction must be published as a new version."""


def publish_set(session: Session, cs: CriteriaSet, definition: Mapping[str, Any], now: dt.datetime) -> bool:
    """Store a set version; True if new. Same id and version with other content is refused (immutability)."""
    existing = session.get(CriteriaSetRow, (cs.id, cs.version))
    if existing is not None:
        if existing.checksum != cs.checksum:
            raise SetConflict(f"version: criteria set {cs.id} v{cs.version} is already published with other content;"
                              f" publish the correction as version {cs.version + 1}")
        return False
    session.add(CriteriaSetRow(set_id=cs.id, version=cs.version, year=cs.year, unit_kind=cs.unit_kind,
                               checksum=cs.checksum, definition=dict(definition), published_at=now))
    session.flush()
    return True


def publish_file(session: Session, path: str, now: dt.datetime) -> CriteriaSet:
    cs = load_criteria_set(path)
    publish_set(session, cs, json.loads(cs.to_json()), now)  # the canonical form parses back to the same set
    return cs


def upsert_units(session: Session, units: Iterable[Mapping[str, Any]]) -> int:
    rows = [{"unit_code": u["code"], "name": u["name"], "kind": u["kind"], "parent_code": u.get("parent_code")}
            for u in units]
    if rows:
        session.execute(upsert(session, Unit.__table__, ["unit_code"], ["name", "kind", "parent_code"]), rows)
    return len(rows)


def _unit_for(session: Session, cs: CriteriaSet, unit_code: str) -> Unit:
    unit = session.get(Unit, unit_code)
    if unit is None:
        raise ScoreError("unit_code", f"unknown unit {unit_code!r}")
    if unit.kind != cs.unit_kind:
        raise ScoreError("unit_code", f"unit {unit_code} is a {unit.kind}; set {cs.id} scores {cs.unit_kind} units")
    return unit


def _history(session: Session, cs: CriteriaSet, unit_code: str, leaf_id: str, kind: str, old: Any, new: Any,
             actor: str, reason: str | None, now: dt.datetime) -> None:
    session.add(ScoreHistory(set_id=cs.id, unit_code=unit_code, leaf_id=leaf_id, kind=kind,
                             old_value=_fmt(old), new_value=_fmt(new), actor=actor, reason=reason, at=now))


def _fmt(value: Any) -> str | None:
    """Points as the database keeps them (2 decimals), so history reads the same whatever the input's form."""
    if value is None:
        return None
    return f"{value:.2f}" if isinstance(value, Decimal) else str(value)


def _lock_leaf_rows(session: Session, cs: CriteriaSet, unit_code: str, leaf_ids: Sequence[str],
                    now: dt.datetime) -> dict[str, LeafScore]:
    session.execute(insert_ignore(session, LeafScore.__table__), [
        {"set_id": cs.id, "unit_code": unit_code, "leaf_id": leaf_id, "status": "draft", "not_applicable": False,
         "updated_at": now} for leaf_id in sorted(set(leaf_ids))])
    query = sa.select(LeafScore).where(LeafScore.set_id == cs.id, LeafScore.unit_code == unit_code,
                                       LeafScore.leaf_id.in_(list(leaf_ids))).order_by(LeafScore.leaf_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return {row.leaf_id: row for row in session.scalars(query)}


def _decimal(value: Any, field: str) -> Decimal:
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ScoreError(field, f"not a number: {value!r}") from exc
    if not result.is_finite():
        raise ScoreError(field, f"not a number: {value!r}")
    return result


def submit_scores(session: Session, set_id: str, unit_code: str, scores: Sequence[Mapping[str, Any]], actor: str,
                  now: dt.datetime, final: bool = False) -> dict[str, Any]:
    """Save self-assessed points as a draft (or submit them with ``final``); returns accepted and refused leaves."""
    cs = current_set(session, set_id)
    _unit_for(session, cs, unit_code)
    check_window(cs, now)
    errors: list[dict[str, str]] = []
    valid: dict[str, tuple[Decimal, list[str]]] = {}
    for i, item in enumerate(scores):
        where = f"scores[{i}]"
        try:
            leaf_id = str(item.get("leaf_id", ""))
            try:
                leaf = cs.leaf(leaf_id)
            except KeyError:
                raise ScoreError("leaf_id", f"unknown criterion {leaf_id!r} in set {cs.id}") from None
            points = _decimal(item.get("points"), "points")
            evidence = [str(e) for e in item.get("evidence") or []]
            check_points(leaf, points, evidence, role="self")
            valid[leaf_id] = (points, evidence)
        except ScoreError as exc:
            errors.append({"field": f"{where}.{exc.field}", "message": exc.message})
    rows = _lock_leaf_rows(session, cs, unit_code, list(valid), now) if valid else {}
    accepted = []
    for leaf_id, (points, evidence) in valid.items():
        row = rows[leaf_id]
        if row.status == "submitted":
            index = next(i for i, s in enumerate(scores) if str(s.get("leaf_id")) == leaf_id)
            errors.append({"field": f"scores[{index}].leaf_id",
                           "message": f"{leaf_id}: already submitted; only appraisal can change it now"})
            continue
        if row.self_points != points or (row.evidence or []) != evidence:
            _history(session, cs, unit_code, leaf_id, "self", row.self_points, points, actor, None, now)
        row.self_points, row.evidence, row.updated_at = points, evidence, now
        accepted.append(leaf_id)
    if final:
        drafts = session.scalars(sa.select(LeafScore).where(
            LeafScore.set_id == cs.id, LeafScore.unit_code == unit_code, LeafScore.status == "draft")).all()
        for row in drafts:
            if row.self_points is not None:
                row.status = "submitted"
                _history(session, cs, unit_code, row.leaf_id, "status", "draft", "submitted", actor, None, now)
    session.flush()
    [result] = recalc_units(session, cs, [unit_code], now)
    ranking = rerank(session, cs, now)
    return {"accepted": accepted, "errors": errors, "index": str(result.index), "ranking_version": ranking["version"]}


def appraise(session: Session, set_id: str, unit_code: str, leaf_id: str, points: Any, reason: str, actor: str,
             now: dt.datetime, not_applicable: bool = False) -> dict[str, Any]:
    """The appraisal council's verdict on one leaf (điểm thẩm định); a reason is mandatory."""
    cs = current_set(session, set_id)
    _unit_for(session, cs, unit_code)
    try:
        leaf = cs.leaf(leaf_id)
    except KeyError:
        raise ScoreError("leaf_id", f"unknown criterion {leaf_id!r} in set {cs.id}") from None
    if not reason or not str(reason).strip():
        raise ScoreError("reason", "an appraisal needs a reason")
    value = None if not_applicable else _decimal(points, "points")
    if value is not None:
        check_points(leaf, value, [], role="appraisal")
    row = _lock_leaf_rows(session, cs, unit_code, [leaf_id], now)[leaf_id]
    if row.not_applicable != not_applicable:
        _history(session, cs, unit_code, leaf_id, "not_applicable", row.not_applicable, not_applicable, actor,
                 reason, now)
    if row.appraised_points != value:
        _history(session, cs, unit_code, leaf_id, "appraisal", row.appraised_points, value, actor, reason, now)
    row.appraised_points, row.appraisal_reason, row.not_applicable, row.updated_at = value, reason, not_applicable, now
    session.flush()
    [result] = recalc_units(session, cs, [unit_code], now)
    ranking = rerank(session, cs, now)
    return {"index": str(result.index), "ranking_version": ranking["version"]}


def import_survey(session: Session, set_id: str, csv_text: str, actor: str, now: dt.datetime) -> dict[str, Any]:
    """Survey results (điều tra xã hội học): CSV ``unit_code,leaf_id,points``; bad rows refused by line number."""
    cs = current_set(session, set_id)
    errors: list[dict[str, str]] = []
    by_unit: dict[str, dict[str, Decimal]] = {}
    reader = csv.DictReader(io.StringIO(csv_text))
    missing = {"unit_code", "leaf_id", "points"} - set(reader.fieldnames or [])
    if missing:
        raise ScoreError("csv", f"missing column(s) {sorted(missing)}; expected unit_code,leaf_id,points")
    for line, item in enumerate(reader, start=2):
        try:
            unit_code = (item["unit_code"] or "").strip()
            _unit_for(session, cs, unit_code)
            try:
                leaf = cs.leaf((item["leaf_id"] or "").strip())
            except KeyError:
                raise ScoreError("leaf_id", f"unknown criterion {item['leaf_id']!r}") from None
            if leaf.method.kind != "survey":
                raise ScoreError("leaf_id", f"{leaf.id} is not a survey criterion")
            points = _decimal(item["points"], "points")
            if points < 0 or points > leaf.max_points:
                raise ScoreError("points", f"{points} is outside 0..{leaf.max_points}")
            by_unit.setdefault(unit_code, {})[leaf.id] = points
        except ScoreError as exc:
            errors.append({"field": f"line {line}.{exc.field}", "message": exc.message})
    for unit_code, leaves in sorted(by_unit.items()):
        rows = _lock_leaf_rows(session, cs, unit_code, list(leaves), now)
        for leaf_id, points in leaves.items():
            row = rows[leaf_id]
            if row.survey_points != points:
                _history(session, cs, unit_code, leaf_id, "survey", row.survey_points, points, actor, "survey import",
                         now)
            row.survey_points, row.updated_at = points, now
    session.flush()
    if by_unit:
        recalc_units(session, cs, list(by_unit), now)
        rerank(session, cs, now)
    return {"imported": sum(len(v) for v in by_unit.values()), "units": len(by_unit), "errors": errors}


def store_timeliness(session: Session, payload: Mapping[str, Any], now: dt.datetime) -> list[str]:
    """A timeliness_updated figure: keep the unit's yearly metrics, recalculate it in that year's sets."""
    period = str(payload["period"])
    if not period.isdigit():
        return []  # only yearly figures feed the yearly index
    year, unit_code, kind = int(period), str(payload["unit_code"]), str(payload.get("unit_kind") or "")
    upsert_units(session, [{"code": unit_code, "name": payload.get("unit_name") or unit_code, "kind": kind,
                            "parent_code": payload.get("parent_code")}])
    as_of = dt.date.fromisoformat(payload["as_of"]) if payload.get("as_of") else None
    # figures computed later win, whatever order replicas handle the events in
    computed = dt.datetime.fromisoformat(payload["computed_at"]) if payload.get("computed_at") else now
    rows = [{"unit_code": unit_code, "year": year, "metric": metric, "value": Decimal(str(payload[metric])),
             "as_of": as_of, "updated_at": computed} for metric in METRICS if payload.get(metric) is not None]
    if rows:
        session.execute(upsert(session, MetricValue.__table__, ["unit_code", "year", "metric"],
                               ["value", "as_of", "updated_at"], newer="updated_at"), rows)
    touched = []
    for cs in sets_for(session, year, kind):
        recalc_units(session, cs, [unit_code], now)
        rerank(session, cs, now)
        touched.append(cs.id)
    return touched


def recalculate_set(session: Session, set_id: str, now: dt.datetime) -> dict[str, Any]:
    """Full recalculation: every unit of the set's kind (used after publishing a set or syncing units)."""
    cs = current_set(session, set_id)
    codes = list(session.scalars(sa.select(Unit.unit_code).where(Unit.kind == cs.unit_kind)))
    if not codes:
        raise NotFound(f"set_id: no {cs.unit_kind} units known to score with {cs.id}")
    summaries: dict[str, Any] = {}
    recalc_units(session, cs, codes, now, whole_set=True, summaries=summaries)
    return rerank(session, cs, now, fresh=summaries)

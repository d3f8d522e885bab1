"""Changes to scores — self-assessment, appraisal, survey import — each checked, kept in history, recalculated.

A submission is checked leaf by leaf, and refused whole if any leaf is bad: the error names every bad leaf
(``scores[i].field``, in Vietnamese) and nothing of the submission is saved — a unit never finds half of a
sheet stored. Every accepted change writes a history row in the same transaction: who, when, old value, new
value, reason.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.scoring.computation import compute_unit
from services.scoring.criteria import CriteriaSet, UnitKind, load_criteria_set, parse_criteria_set
from services.scoring.criteria_table import read_criteria_xlsx
from services.scoring.models import CriteriaSetRow, LeafScore, MetricValue, ScoreHistory, Unit
from services.scoring.recalc import (
    METRICS,
    NotFound,
    current_set,
    leaf_inputs,
    recalc_units,
    rerank,
    set_and_unit_kind,
    sets_for,
)
from services.scoring.scores import ScoreError, check_points, check_window
from services.scoring.survey_import import SurveyFileError, check_survey_rows, preview_changes, read_survey_table
from shared.db import prebuilt, upsert
from shared.inputs import text_problem


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


def _latest_version(session: Session, set_id: str) -> int:
    return session.scalar(sa.select(sa.func.max(CriteriaSetRow.version)).where(CriteriaSetRow.set_id == set_id)) or 0


def criteria_table_preview(session: Session, content: bytes, filename: str) -> tuple[CriteriaSet, dict[str, Any]]:
    """A province's XLSX table read and validated as the next version of its set, and what publishing would
    create: the counts, and the leaves added, removed or changed against the current version."""
    probe = read_criteria_xlsx(content, filename)
    version = _latest_version(session, probe.id) + 1
    cs = read_criteria_xlsx(content, filename, version=version)
    answer: dict[str, Any] = {
        "set_id": cs.id, "version": version, "year": cs.year, "unit_kind": cs.unit_kind.value, "title": cs.title,
        "precision": cs.precision, "total_max_points": str(cs.total_max_points), "areas": len(cs.areas),
        "criteria": sum(len(a.criteria) for a in cs.areas), "leaves": len(cs.leaves()),
        "added": [], "removed": [], "changed": [],
    }
    if version > 1:
        current = current_set(session, cs.id)
        old = {leaf.id: leaf for leaf in current.leaves()}
        new = {leaf.id: leaf for leaf in cs.leaves()}
        answer["added"] = sorted(set(new) - set(old))
        answer["removed"] = sorted(set(old) - set(new))
        answer["changed"] = sorted(k for k in set(new) & set(old) if new[k] != old[k])
        answer["same_as_current"] = current.checksum == parse_criteria_set(
            {**json.loads(cs.to_json()), "version": current.version}, filename).checksum
    return cs, answer


def publish_criteria_table(session: Session, content: bytes, filename: str, now: dt.datetime) -> dict[str, Any]:
    """Publish the table as the next version of its set (the preview's answer, with ``published``).

    A table identical to the current version publishes nothing (``published`` False): a new version number for
    the same content would only make the ranking's history harder to read.
    """
    cs, answer = criteria_table_preview(session, content, filename)
    if answer.get("same_as_current"):
        return {**answer, "version": answer["version"] - 1, "published": False, "checksum": None}
    publish_set(session, cs, json.loads(cs.to_json()), now)
    return {**answer, "published": True, "checksum": cs.checksum}


def upsert_units(session: Session, units: Iterable[Mapping[str, Any]]) -> int:
    rows = [{"unit_code": u["code"], "name": u["name"], "kind": u["kind"], "parent_code": u.get("parent_code")}
            for u in units]
    if rows:
        session.execute(upsert(session, Unit.__table__, ["unit_code"], ["name", "kind", "parent_code"]), rows)
    return len(rows)


def _check_unit(cs: CriteriaSet, unit_code: str, kind: str | None) -> None:
    """The unit exists and is of the kind the set scores (``kind`` read with the set: recalc.set_and_unit_kind)."""
    if kind is None:
        raise ScoreError("unit_code", f"không có đơn vị {unit_code!r} (unknown unit)")
    if kind != cs.unit_kind:
        theirs = UnitKind(kind).title_vi if kind in UnitKind.__members__.values() else kind
        raise ScoreError("unit_code", f"đơn vị {unit_code} là cấp {theirs}; bộ tiêu chí {cs.id} chấm các đơn vị cấp "
                                      f"{UnitKind(cs.unit_kind).title_vi}")


class _History:
    """Score history rows of one change, written by one statement when the change is done (every accepted
    change of a value leaves one: who, when, old value, new value, reason)."""

    def __init__(self, cs: CriteriaSet, unit_code: str, actor: str, now: dt.datetime) -> None:
        self.cs, self.unit_code, self.actor, self.now = cs, unit_code, actor, now
        self.rows: list[dict[str, Any]] = []

    def add(self, leaf_id: str, kind: str, old: Any, new: Any, reason: str | None = None,
            unit_code: str | None = None) -> None:
        self.rows.append({"set_id": self.cs.id, "unit_code": unit_code or self.unit_code, "leaf_id": leaf_id,
                          "kind": kind, "old_value": _fmt(old, self.cs.precision),
                          "new_value": _fmt(new, self.cs.precision), "actor": self.actor, "reason": reason,
                          "at": self.now})

    def write(self, session: Session) -> None:
        if self.rows:
            session.execute(sa.insert(ScoreHistory.__table__), self.rows)


def _fmt(value: Any, places: int = 2) -> str | None:
    """Points with the set's decimals, so history reads the same whatever the input's or the column's form."""
    if value is None:
        return None
    return f"{value:.{places}f}" if isinstance(value, Decimal) else str(value)


_LEAF = LeafScore.__table__


def _lock_leaf_rows(session: Session, cs: CriteriaSet, unit_code: str, leaf_ids: Sequence[str],
                    now: dt.datetime) -> dict[str, sa.Row[Any]]:
    """The unit's rows for these leaves (their current values), created if new and locked until the transaction
    ends, in leaf order.

    One statement: ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` locks an existing row as ``SELECT … FOR
    UPDATE`` does and hands back its current values (a submission waited on two round trips here before). Table
    rows, not ORM objects: the changes are written by :func:`_write_leaves` (the ORM's flush cost a submission
    more than its statements).
    """
    rows = [{"set_id": cs.id, "unit_code": unit_code, "leaf_id": leaf_id, "status": "draft", "not_applicable": False,
             "updated_at": now} for leaf_id in sorted(set(leaf_ids))]
    return {row.leaf_id: row for row in session.execute(prebuilt(session, "scoring.lock_leaves", _lock_leaves), rows)}


def _lock_leaves(dialect_name: str) -> Any:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(_LEAF).on_conflict_do_update(index_elements=["set_id", "unit_code", "leaf_id"],
                                                       set_={"updated_at": _LEAF.c.updated_at}).returning(*_LEAF.c)


def _write_leaves(session: Session, cs: CriteriaSet, unit_code: str, changes: Mapping[str, Mapping[str, Any]]) -> None:
    """Write new values on the unit's locked leaf rows: one statement per set of columns changed together."""
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for leaf_id, values in changes.items():
        by_columns.setdefault(tuple(sorted(values)), []).append(
            {"b_set": cs.id, "b_unit": unit_code, "b_leaf": leaf_id, **values})
    statement = prebuilt(session, "scoring.write_leaves", lambda _: sa.update(_LEAF).where(
        _LEAF.c.set_id == sa.bindparam("b_set"), _LEAF.c.unit_code == sa.bindparam("b_unit"),
        _LEAF.c.leaf_id == sa.bindparam("b_leaf")))
    for rows in by_columns.values():
        session.execute(statement, rows)


def _decimal(value: Any, field: str) -> Decimal:
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ScoreError(field, f"không phải là số: {value!r}") from exc
    if not result.is_finite():
        raise ScoreError(field, f"không phải là số: {value!r}")
    return result


def _leaf(cs: CriteriaSet, leaf_id: str) -> Any:
    try:
        return cs.leaf(leaf_id)
    except KeyError:
        raise ScoreError("leaf_id", f"bộ tiêu chí {cs.label} không có tiêu chí {leaf_id!r} (unknown leaf)") from None


def _refuse(errors: Sequence[Mapping[str, str]]) -> ScoreError:
    """One error for a whole refused request: the first field, every problem listed (nothing was saved)."""
    listed = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    error = ScoreError(errors[0]["field"], f"{errors[0]['message']}" if len(errors) == 1 else
                       f"{len(errors)} lỗi, không lưu gì — {listed}")
    error.errors = list(errors)  # type: ignore[attr-defined]
    return error


MAX_ACTOR = 200  # characters of score_history.actor
MAX_EVIDENCE = 100  # references on one leaf
MAX_REFERENCE = 500  # characters of one reference (a document's number and title)


def _check_text(field: str, value: Any, max_chars: int, *, multiline: bool = False) -> str:
    """A name or free text an RPC caller sent: a string without control or bidi characters, within bounds."""
    if not isinstance(value, str):
        raise ScoreError(field, f"phải là văn bản, nhận được {type(value).__name__}")
    problem = text_problem(value, max_chars, multiline=multiline)
    if problem:
        raise ScoreError(field, problem)
    return value


def _evidence(value: Any) -> list[str]:
    """Evidence references: a list of texts (a bare string was split into its characters before)."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise ScoreError("evidence", f"phải là danh sách tài liệu kiểm chứng, nhận được {type(value).__name__}")
    if len(value) > MAX_EVIDENCE:
        raise ScoreError("evidence", f"tối đa {MAX_EVIDENCE} tài liệu kiểm chứng (nhận {len(value)})")
    return [_check_text(f"evidence[{i}]", ref, MAX_REFERENCE) for i, ref in enumerate(value)]


def submit_scores(session: Session, set_id: str, unit_code: str, scores: Sequence[Mapping[str, Any]], actor: str,
                  now: dt.datetime, final: bool = False) -> dict[str, Any]:
    """Save self-assessed points as a draft (or submit them with ``final``).

    All or nothing: points off a leaf's step, an unknown leaf, a leaf already submitted or a time outside the
    window refuse the whole request with a :class:`ScoreError` naming every bad ``scores[i].field``.
    """
    _check_text("actor", actor, MAX_ACTOR)
    if not isinstance(scores, list | tuple):
        raise ScoreError("scores", f"phải là danh sách điểm từng tiêu chí, nhận được {type(scores).__name__}")
    if not scores and not final:
        raise ScoreError("scores", "không có điểm tiêu chí nào để lưu")
    cs, kind = set_and_unit_kind(session, set_id, unit_code)
    _check_unit(cs, unit_code, kind)
    check_window(cs, now)
    errors: list[dict[str, str]] = []
    valid: dict[str, tuple[Decimal, list[str]]] = {}
    position: dict[str, int] = {}
    for i, item in enumerate(scores):
        where = f"scores[{i}]"
        try:
            if not isinstance(item, Mapping):
                raise ScoreError("", f"phải là một tiêu chí {{leaf_id, points, evidence}}, nhận được "
                                     f"{type(item).__name__}")
            leaf_id = str(item.get("leaf_id", ""))
            leaf = _leaf(cs, leaf_id)
            if leaf_id in valid:
                raise ScoreError("leaf_id", f"tiêu chí {leaf_id} có hai lần trong một lần nộp")
            points = _decimal(item.get("points"), "points")
            evidence = _evidence(item.get("evidence"))
            check_points(leaf, points, evidence, role="self", quantum=cs.quantum)
            valid[leaf_id], position[leaf_id] = (points, evidence), i
        except ScoreError as exc:
            errors.append({"field": f"{where}.{exc.field}" if exc.field else where, "message": exc.message})
    if errors:
        raise _refuse(errors)
    rows = _lock_leaf_rows(session, cs, unit_code, list(valid), now) if valid else {}
    for leaf_id in valid:
        if rows[leaf_id].status == "submitted":
            errors.append({"field": f"scores[{position[leaf_id]}].leaf_id",
                           "message": f"tiêu chí {leaf_id} đã nộp chính thức; chỉ Hội đồng thẩm định được thay đổi"})
    if errors:
        raise _refuse(errors)
    history = _History(cs, unit_code, actor, now)
    for leaf_id, (points, evidence) in valid.items():
        row = rows[leaf_id]
        if row.self_points != points or (row.evidence or []) != evidence:
            history.add(leaf_id, "self", row.self_points, points)
    _write_leaves(session, cs, unit_code, {leaf_id: {"self_points": points, "evidence": evidence, "updated_at": now}
                                           for leaf_id, (points, evidence) in valid.items()})
    if final:
        submitted = session.scalars(
            sa.update(_LEAF).where(_LEAF.c.set_id == cs.id, _LEAF.c.unit_code == unit_code,
                                   _LEAF.c.status == "draft", _LEAF.c.self_points.is_not(None))
            .values(status="submitted").returning(_LEAF.c.leaf_id)).all()
        for leaf_id in sorted(submitted):
            history.add(leaf_id, "status", "draft", "submitted")
        if not valid and not submitted:  # the transaction rolls back: nothing of this request stays
            raise ScoreError("scores", f"không có điểm tự đánh giá nào của đơn vị {unit_code} để nộp")
    history.write(session)
    changed: dict[str, Any] = {}
    [result] = recalc_units(session, cs, [unit_code], now, summaries=changed)
    ranking = rerank(session, cs, now, changed=changed)
    return {"accepted": list(valid), "errors": errors, "index": str(result.index),
            "ranking_version": ranking["version"]}


MAX_REASON = 4000  # characters of an appraisal reason, as the season's texts (season_store.MAX_TEXT)


def appraise(session: Session, set_id: str, unit_code: str, leaf_id: str, points: Any, reason: str, actor: str,
             now: dt.datetime, not_applicable: bool = False) -> dict[str, Any]:
    """The appraisal council's verdict on one leaf (điểm thẩm định); a reason is mandatory."""
    cs, kind = set_and_unit_kind(session, set_id, unit_code)
    _check_unit(cs, unit_code, kind)
    leaf = _leaf(cs, leaf_id)
    _check_text("actor", actor, MAX_ACTOR)
    if not reason or not str(reason).strip():
        raise ScoreError("reason", "điểm thẩm định cần ghi lý do")
    if len(str(reason)) > MAX_REASON:  # the season's limit (season_store.MAX_TEXT): never stored whole, nor cut
        raise ScoreError("reason", f"lý do dài {len(str(reason))} ký tự, quá giới hạn {MAX_REASON}")
    _check_text("reason", reason, MAX_REASON, multiline=True)
    value = None if not_applicable else _decimal(points, "points")
    if value is not None:
        check_points(leaf, value, [], role="appraisal", quantum=cs.quantum)
    row = _lock_leaf_rows(session, cs, unit_code, [leaf_id], now)[leaf_id]
    history = _History(cs, unit_code, actor, now)
    if row.not_applicable != not_applicable:
        history.add(leaf_id, "not_applicable", row.not_applicable, not_applicable, reason)
    if row.appraised_points != value:
        history.add(leaf_id, "appraisal", row.appraised_points, value, reason)
    _write_leaves(session, cs, unit_code, {leaf_id: {"appraised_points": value, "appraisal_reason": reason,
                                                     "not_applicable": not_applicable, "updated_at": now}})
    history.write(session)
    changed: dict[str, Any] = {}
    [result] = recalc_units(session, cs, [unit_code], now, summaries=changed)
    ranking = rerank(session, cs, now, changed=changed)
    return {"index": str(result.index), "ranking_version": ranking["version"]}


def import_survey(session: Session, set_id: str, data: bytes | str, actor: str, now: dt.datetime, *,
                  filename: str = "survey.csv", preview: bool = False, skip_invalid: bool = False) -> dict[str, Any]:
    """Survey results (điều tra xã hội học) from a CSV or XLSX file; see survey_import.py for the shape.

    Every bad row is named (row, field, reason). Nothing is stored when any row is bad unless
    ``skip_invalid`` (then the good rows are); ``preview`` stores nothing and answers what would change.
    """
    cs = current_set(session, set_id)
    try:
        rows = read_survey_table(data, filename)
        kinds = dict(session.execute(sa.select(Unit.unit_code, Unit.kind)).all())
        valid, errors = check_survey_rows(rows, cs, kinds.get)
    except SurveyFileError as exc:
        raise ScoreError("file", str(exc)) from None
    units = sorted({unit for unit, _ in valid})
    stored: dict[tuple[str, str], Decimal | None] = {}
    if units:
        table = LeafScore.__table__.c
        stored = {(u, leaf): p for u, leaf, p in session.execute(sa.select(
            table.unit_code, table.leaf_id, table.survey_points).where(table.set_id == cs.id,
                                                                      table.unit_code.in_(units)))}
    changes = preview_changes(valid, stored, cs.precision)
    answer: dict[str, Any] = {"rows": len(rows), "valid": len(valid), "errors": errors, "changes": changes,
                              "unchanged": len(valid) - len(changes), "applied": False}
    if preview:
        return answer
    if errors and not skip_invalid:
        raise _refuse([{"field": f"row[{e['row']}].{e['field']}", "message": e["reason"]} for e in errors])
    by_unit: dict[str, dict[str, Decimal]] = {}
    for (unit_code, leaf_id), points in valid.items():
        by_unit.setdefault(unit_code, {})[leaf_id] = points
    history = _History(cs, "", actor, now)
    for unit_code, leaves in sorted(by_unit.items()):
        locked = _lock_leaf_rows(session, cs, unit_code, list(leaves), now)
        for leaf_id, points in leaves.items():
            if locked[leaf_id].survey_points != points:
                history.add(leaf_id, "survey", locked[leaf_id].survey_points, points, "survey import", unit_code)
        _write_leaves(session, cs, unit_code, {leaf_id: {"survey_points": points, "updated_at": now}
                                               for leaf_id, points in leaves.items()})
    history.write(session)
    if by_unit:
        changed: dict[str, Any] = {}
        recalc_units(session, cs, list(by_unit), now, summaries=changed)
        rerank(session, cs, now, changed=changed)
    answer.update(applied=True, imported=len(valid), units=len(by_unit))
    return answer


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
    # a rate sent as null means nothing to measure (no dossiers): stored as NULL, its computed leaves do not
    # apply; a rate not sent at all leaves what is stored
    rows = [{"unit_code": unit_code, "year": year, "metric": metric,
             "value": None if payload[metric] is None else Decimal(str(payload[metric])),
             "as_of": as_of, "updated_at": computed} for metric in METRICS if metric in payload]
    if rows:
        session.execute(upsert(session, MetricValue.__table__, ["unit_code", "year", "metric"],
                               ["value", "as_of", "updated_at"], newer="updated_at"), rows)
    touched = []
    for cs in sets_for(session, year, kind):
        changed = {}
        recalc_units(session, cs, [unit_code], now, summaries=changed)
        rerank(session, cs, now, changed=changed)
        touched.append(cs.id)
    return touched


FROZEN_REASON = "Khóa kết quả thẩm định: giữ điểm tính tự động tại thời điểm khóa"


def freeze_computed(session: Session, cs: CriteriaSet, unit_code: str, actor: str, now: dt.datetime) -> list[str]:
    """When the council locks a unit, its computed leaves keep the points they have now, as appraised points (a
    leaf with nothing to measure stays not applicable): a rate arriving after the lock — the dossiers service
    recomputes the year every day — must not move a locked or published sheet, whose index is read live from
    the stored inputs. Returns the leaves frozen (each with a history row)."""
    inputs = leaf_inputs(session, cs, [unit_code])[unit_code]
    result = compute_unit(cs, unit_code, inputs)
    computed = {leaf.id for leaf in cs.leaves() if leaf.method.kind == "computed"}
    changes: dict[str, dict[str, Any]] = {}
    for leaf in result.leaves:
        if leaf.leaf_id not in computed or leaf.source not in ("computed", "missing", "not_applicable"):
            continue  # appraised already: the council's points stand
        given = inputs.get(leaf.leaf_id)
        if given is not None and given.not_applicable:
            continue  # the council (or the set) said it does not apply
        if leaf.applicable:
            changes[leaf.leaf_id] = {"appraised_points": leaf.points or Decimal(0), "not_applicable": False}
        else:
            changes[leaf.leaf_id] = {"appraised_points": None, "not_applicable": True}
    if not changes:
        return []
    rows = _lock_leaf_rows(session, cs, unit_code, list(changes), now)
    history = _History(cs, unit_code, actor, now)
    for leaf_id, values in changes.items():
        row = rows[leaf_id]
        if values["not_applicable"] != row.not_applicable:
            history.add(leaf_id, "not_applicable", row.not_applicable, values["not_applicable"], FROZEN_REASON)
        if values["appraised_points"] != row.appraised_points:
            history.add(leaf_id, "appraisal", row.appraised_points, values["appraised_points"], FROZEN_REASON)
    _write_leaves(session, cs, unit_code, {leaf_id: {**values, "appraisal_reason": FROZEN_REASON, "updated_at": now}
                                           for leaf_id, values in changes.items()})
    history.write(session)
    changed: dict[str, Any] = {}
    recalc_units(session, cs, [unit_code], now, summaries=changed)
    rerank(session, cs, now, changed=changed)
    return sorted(changes)


def recalculate_set(session: Session, set_id: str, now: dt.datetime) -> dict[str, Any]:
    """Full recalculation: every unit of the set's kind (used after publishing a set or syncing units)."""
    cs = current_set(session, set_id)
    codes = list(session.scalars(sa.select(Unit.unit_code).where(Unit.kind == cs.unit_kind)))
    if not codes:
        raise NotFound(f"set_id: no {cs.unit_kind} units known to score with {cs.id}")
    summaries: dict[str, Any] = {}
    recalc_units(session, cs, codes, now, whole_set=True, summaries=summaries)
    return rerank(session, cs, now, fresh=summaries)

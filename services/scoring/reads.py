"""What the scoring service answers when asked: rankings, sets, outlines, sheets, history — read from its tables.

The entrypoints (service.py) open a transaction and call one of these; the SQL and the shaping of replies live
here, so the service module holds no query. Points and indexes are strings with the set's decimals.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.scoring import season_store
from services.scoring.criteria import CriteriaSet
from services.scoring.models import CriteriaSetRow, LeafScore, ScoreHistory
from services.scoring.recalc import NotFound, current_set, ranking_table, tie_breaker_notes, unit_sheet
from shared.local_time import local_iso


def _s(value: Any, places: int = 2) -> str | None:
    return None if value is None else f"{value:.{places}f}"


def ranking(session: Session, set_id: str) -> dict[str, Any]:
    """The set's current ranking table, with its areas, precision and tie-breakers (for the document's notes).
    A set in a season answers its latest *published* table, never the provisional one."""
    cs = current_set(session, set_id)
    header = {"set_id": cs.id, "set_version": cs.version, "title": cs.title, "year": cs.year,
              "unit_kind": cs.unit_kind, "precision": cs.precision, "tie_breakers": tie_breaker_notes(cs),
              "cap_index_at": None if cs.cap_index_at is None else str(cs.cap_index_at),
              "areas": [{"area_id": a.id, "title": a.title, "max_points": str(a.max_points), "bonus": a.is_extra}
                        for a in cs.areas]}
    if season_store.is_seasonal(session, set_id):
        return {**season_store.published_view(session, cs), **header}
    return {**header, **ranking_table(session, cs)}


def criteria_sets(session: Session) -> list[dict[str, Any]]:
    """Every published set's latest version, newest year first (what the web pages offer)."""
    ids = session.scalars(sa.select(CriteriaSetRow.set_id).distinct()).all()
    sets = [current_set(session, set_id) for set_id in ids]
    return [{"set_id": cs.id, "version": cs.version, "year": cs.year, "unit_kind": cs.unit_kind,
             "title": cs.title, "precision": cs.precision} for cs in sorted(sets, key=lambda c: (-c.year, c.id))]


def criteria_outline(cs: CriteriaSet) -> dict[str, Any]:
    """Areas → criteria → leaves with titles, maxima, methods and steps: what a unit's sheet is read against."""
    return {"set_id": cs.id, "version": cs.version, "year": cs.year, "unit_kind": cs.unit_kind, "title": cs.title,
            "precision": cs.precision,
            "areas": [{"area_id": a.id, "title": a.title, "max_points": str(a.max_points), "bonus": a.is_extra,
                       "criteria": [
                           {"criterion_id": c.id, "title": c.title, "max_points": str(c.max_points), "leaves": [
                               {"leaf_id": leaf.id, "title": leaf.title, "max_points": str(leaf.max_points),
                                "method": leaf.method.kind.value,
                                "step": None if leaf.method.step is None else str(leaf.method.step)}
                               for leaf in c.leaves]} for c in a.criteria]}
                      for a in cs.areas]}


def unit_result(session: Session, set_id: str, unit_code: str) -> dict[str, Any]:
    sheet = unit_sheet(session, current_set(session, set_id), unit_code)
    if sheet is None:
        raise NotFound(f"unit_code: no result for {unit_code!r} in {set_id}")
    return sheet


def score_sheet(session: Session, set_id: str, unit_code: str) -> list[dict[str, Any]]:
    return score_rows(session, current_set(session, set_id), unit_code)


def score_rows(session: Session, cs: CriteriaSet, unit_code: str) -> list[dict[str, Any]]:
    """The unit's stored scores leaf by leaf (evidence, status, reasons), for a set already read. Table columns,
    not ORM objects: building and tracking an object per leaf cost more than the query (the sheet page's profile)."""
    places, c = cs.precision, LeafScore.__table__.c
    rows = session.execute(sa.select(c.leaf_id, c.self_points, c.evidence, c.status, c.appraised_points,
                                     c.appraisal_reason, c.survey_points, c.not_applicable)
                           .where(c.set_id == cs.id, c.unit_code == unit_code).order_by(c.leaf_id))
    return [{"leaf_id": r.leaf_id, "self_points": _s(r.self_points, places), "evidence": r.evidence or [],
             "status": r.status, "appraised_points": _s(r.appraised_points, places),
             "appraisal_reason": r.appraisal_reason, "survey_points": _s(r.survey_points, places),
             "not_applicable": r.not_applicable} for r in rows]


def history(session: Session, set_id: str, unit_code: str, leaf_id: str | None = None) -> list[dict[str, Any]]:
    c = ScoreHistory.__table__.c
    query = sa.select(*_HISTORY_COLUMNS).where(c.set_id == set_id, c.unit_code == unit_code)
    if leaf_id:
        query = query.where(c.leaf_id == leaf_id)
    return [_history_row(h) for h in session.execute(query.order_by(c.id))]


def recent_history(session: Session, set_id: str, unit_code: str, limit: int) -> tuple[list[dict[str, Any]], int]:
    """The unit's ``limit`` latest changes, newest first, and how many there are in all — one statement (a window
    count): the sheet page shows the latest 200 and says how many there were; sending thousands to count them
    made its reply grow with the unit's past."""
    c = ScoreHistory.__table__.c
    rows = session.execute(
        sa.select(*_HISTORY_COLUMNS, sa.func.count().over().label("total"))
        .where(c.set_id == set_id, c.unit_code == unit_code).order_by(c.at.desc(), c.id).limit(limit)).all()
    return [_history_row(h) for h in rows], rows[0].total if rows else 0


_HISTORY_COLUMNS = tuple(ScoreHistory.__table__.c[name] for name in (
    "leaf_id", "kind", "old_value", "new_value", "actor", "reason", "at"))


def _history_row(h: sa.Row[Any]) -> dict[str, Any]:
    return {"leaf_id": h.leaf_id, "kind": h.kind, "old": h.old_value, "new": h.new_value, "actor": h.actor,
            "reason": h.reason, "at": local_iso(h.at)}

"""The scoring service (Chỉ số CCHC): entrypoints only; the rules live in criteria/computation/ranking."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from marshmallow import Schema, fields, validate
from nameko.dependency_providers import Config
from nameko.events import EventDispatcher
from nameko.rpc import RpcProxy, rpc

from services.scoring import season_store, submissions
from services.scoring.evidence import DEFAULT_MAX_BYTES, decode_uploads, encode
from services.scoring.models import CriteriaSetRow, LeafScore, OutboxEvent, PlanItem, Ranking, ScoreHistory
from services.scoring.plan import plan_progress
from services.scoring.recalc import NotFound, current_set, unit_sheet
from services.scoring.scores import ScoreError
from services.scoring.season import SeasonError, SeasonNotFound
from shared import ops
from shared.clock import utcnow
from shared.config import section
from shared.db import DatabaseProvider
from shared.local_time import local_iso
from shared.outbox import relay
from shared.reliable_handler import reliable_event_handler
from shared.timers import configured_timer


class TimelinessUpdated(Schema):
    """What scoring needs from dossiers' timeliness_updated (other keys are passed through)."""

    class Meta:
        unknown = "include"

    unit_code = fields.String(required=True)
    unit_kind = fields.String(required=True)
    period = fields.String(required=True)


class ScoreSubmitted(Schema):
    """A unit's self-assessment arriving as an event (routing key score_submitted on cchc_portal.events)."""

    set_id = fields.String(required=True)
    unit_code = fields.String(required=True)
    actor = fields.String(required=True, validate=validate.Length(min=1, max=200))
    final = fields.Boolean(load_default=False)
    scores = fields.List(fields.Dict(), required=True)


class ScoringService(ops.OpsEndpoints):
    name = "scoring"

    config = Config()
    db = DatabaseProvider()
    dispatch = EventDispatcher()
    dossiers = RpcProxy("dossiers")

    # -- criteria sets and units ------------------------------------------------------------------------
    @rpc(expected_exceptions=(submissions.SetConflict, ValueError))
    def publish_criteria_set(self, path: str) -> dict[str, Any]:
        """Load a criteria set file (validated) and publish it; an existing version cannot change."""
        with self.db.transaction() as session:
            cs = submissions.publish_file(session, path, utcnow())
        return {"set_id": cs.id, "version": cs.version, "checksum": cs.checksum, "leaves": len(cs.leaves())}

    @rpc
    def sync_units(self) -> int:
        """Copy the unit registry from the dossiers service (scoring never reads its tables)."""
        units = self.dossiers.units()
        with self.db.transaction() as session:
            return submissions.upsert_units(session, units)

    @rpc(expected_exceptions=(NotFound,))
    def recalculate(self, set_id: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            ranking = submissions.recalculate_set(session, set_id, utcnow())
        return {"set_id": set_id, "version": ranking["version"], "units": len(ranking["table"])}

    # -- scores -----------------------------------------------------------------------------------------
    @rpc(expected_exceptions=(ScoreError, NotFound))
    def submit_scores(self, set_id: str, unit_code: str, scores: list[dict[str, Any]], actor: str,
                      final: bool = False) -> dict[str, Any]:
        with self.db.transaction() as session:
            season_store.guard_legacy_change(session, set_id, unit_code, "self")
            return submissions.submit_scores(session, set_id, unit_code, scores, actor, utcnow(), final)

    @reliable_event_handler("cchc_portal", "score_submitted", schema=ScoreSubmitted)
    def on_score_submitted(self, payload: dict[str, Any]) -> None:
        with self.db.transaction() as session:
            submissions.submit_scores(session, payload["set_id"], payload["unit_code"], payload["scores"],
                                      payload["actor"], utcnow(), payload["final"])

    @rpc(expected_exceptions=(ScoreError, NotFound))
    def appraise(self, set_id: str, unit_code: str, leaf_id: str, points: Any, reason: str, actor: str,
                 not_applicable: bool = False) -> dict[str, Any]:
        with self.db.transaction() as session:
            season_store.guard_legacy_change(session, set_id, unit_code, "appraisal")
            return submissions.appraise(session, set_id, unit_code, leaf_id, points, reason, actor, utcnow(),
                                        not_applicable)

    @rpc(expected_exceptions=(ScoreError, NotFound))
    def import_survey(self, set_id: str, csv_text: str, actor: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return submissions.import_survey(session, set_id, csv_text, actor, utcnow())

    @reliable_event_handler("dossiers", "timeliness_updated", schema=TimelinessUpdated)
    def on_timeliness_updated(self, payload: dict[str, Any]) -> None:
        with self.db.transaction() as session:
            submissions.store_timeliness(session, payload, utcnow())

    # -- reading ------------------------------------------------------------------------------------------
    @rpc(expected_exceptions=(NotFound,))
    def ranking(self, set_id: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            cs = current_set(session, set_id)
            row = session.get(Ranking, set_id)
            if season_store.is_seasonal(session, set_id):  # the published ranking, never the provisional one
                return season_store.published_view(session, cs)
            return {"set_id": cs.id, "set_version": cs.version, "title": cs.title, "year": cs.year,
                    "unit_kind": cs.unit_kind, "version": row.version if row else 0,
                    "computed_at": local_iso(row.computed_at) if row else None,
                    "areas": [{"area_id": a.id, "title": a.title, "max_points": str(a.max_points)} for a in cs.areas],
                    "table": row.table if row else []}

    @rpc
    def criteria_sets(self) -> list[dict[str, Any]]:
        """Every published set's latest version, newest year first (what the web pages offer)."""
        with self.db.transaction() as session:
            ids = session.scalars(sa.select(CriteriaSetRow.set_id).distinct()).all()
            sets = [current_set(session, set_id) for set_id in ids]
        return [{"set_id": cs.id, "version": cs.version, "year": cs.year, "unit_kind": cs.unit_kind,
                 "title": cs.title} for cs in sorted(sets, key=lambda c: (-c.year, c.id))]

    @rpc(expected_exceptions=(NotFound,))
    def criteria_outline(self, set_id: str) -> dict[str, Any]:
        """Areas → criteria → leaves with titles, maxima and methods: what a unit's sheet is read against."""
        with self.db.transaction() as session:
            cs = current_set(session, set_id)
        return {"set_id": cs.id, "version": cs.version, "year": cs.year, "unit_kind": cs.unit_kind, "title": cs.title,
                "areas": [{"area_id": a.id, "title": a.title, "max_points": str(a.max_points), "criteria": [
                    {"criterion_id": c.id, "title": c.title, "max_points": str(c.max_points), "leaves": [
                        {"leaf_id": leaf.id, "title": leaf.title, "max_points": str(leaf.max_points),
                         "method": leaf.method.kind.value} for leaf in c.leaves]} for c in a.criteria]}
                          for a in cs.areas]}

    @rpc(expected_exceptions=(NotFound,))
    def unit_result(self, set_id: str, unit_code: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            sheet = unit_sheet(session, current_set(session, set_id), unit_code)
            if sheet is None:
                raise NotFound(f"unit_code: no result for {unit_code!r} in {set_id}")
            return sheet

    @rpc(expected_exceptions=(NotFound,))
    def score_sheet(self, set_id: str, unit_code: str) -> list[dict[str, Any]]:
        with self.db.transaction() as session:
            current_set(session, set_id)
            rows = session.scalars(sa.select(LeafScore).where(LeafScore.set_id == set_id,
                                                              LeafScore.unit_code == unit_code)
                                   .order_by(LeafScore.leaf_id))
            return [{"leaf_id": r.leaf_id, "self_points": _s(r.self_points), "evidence": r.evidence or [],
                     "status": r.status, "appraised_points": _s(r.appraised_points),
                     "appraisal_reason": r.appraisal_reason, "survey_points": _s(r.survey_points),
                     "not_applicable": r.not_applicable} for r in rows]

    @rpc
    def history(self, set_id: str, unit_code: str, leaf_id: str | None = None) -> list[dict[str, Any]]:
        with self.db.transaction() as session:
            query = sa.select(ScoreHistory).where(ScoreHistory.set_id == set_id, ScoreHistory.unit_code == unit_code)
            if leaf_id:
                query = query.where(ScoreHistory.leaf_id == leaf_id)
            rows = session.scalars(query.order_by(ScoreHistory.id))
            return [{"leaf_id": h.leaf_id, "kind": h.kind, "old": h.old_value, "new": h.new_value, "actor": h.actor,
                     "reason": h.reason, "at": local_iso(h.at)} for h in rows]

    # -- the season: self-assessment, appraisal dialogue, publication (rules in season*.py) ---------------------
    @rpc(expected_exceptions=(NotFound, SeasonNotFound))
    def season_sheet(self, set_id: str, unit_code: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return season_store.sheet_view(session, current_set(session, set_id), unit_code)

    @rpc
    def season_status(self, set_id: str, unit_code: str) -> dict[str, Any]:
        """Whether the set is in a season, and the unit's status in it (cheap: for pages that only need that)."""
        with self.db.transaction() as session:
            return season_store.status_of(session, set_id, unit_code)

    @rpc(expected_exceptions=(NotFound, SeasonNotFound, SeasonError))
    def season_save_leaf(self, set_id: str, unit_code: str, leaf_id: str, points: Any, explanation: str,
                         files: list[dict[str, str]], remove_file_ids: list[int], actor: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return season_store.save_leaf(session, current_set(session, set_id), unit_code, leaf_id, points,
                                          explanation, decode_uploads(files), remove_file_ids or [], actor, utcnow(),
                                          self._max_bytes())

    @rpc(expected_exceptions=(NotFound, SeasonNotFound, SeasonError))
    def season_submit(self, set_id: str, unit_code: str, actor: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return season_store.submit(session, current_set(session, set_id), unit_code, actor, utcnow())

    @rpc(expected_exceptions=(NotFound, SeasonError))
    def season_set_deadline(self, set_id: str, deadline: str, actor: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return season_store.set_explanation_deadline(session, current_set(session, set_id),
                                                         _instant("deadline", deadline), actor, utcnow())

    @rpc(expected_exceptions=(NotFound, SeasonNotFound, SeasonError))
    def season_appraise(self, set_id: str, unit_code: str, leaf_id: str, decision: str, points: Any, reason: str,
                        expected_version: Any, actor: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return season_store.appraise_leaf(session, current_set(session, set_id), unit_code, leaf_id, decision,
                                              points, reason, expected_version, actor, utcnow())

    @rpc(expected_exceptions=(NotFound, SeasonNotFound, SeasonError))
    def season_answer(self, set_id: str, unit_code: str, leaf_id: str, text: str, files: list[dict[str, str]],
                      actor: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return season_store.answer(session, current_set(session, set_id), unit_code, leaf_id, text,
                                       decode_uploads(files), actor, utcnow(), self._max_bytes())

    @rpc(expected_exceptions=(NotFound, SeasonNotFound, SeasonError))
    def season_lock(self, set_id: str, unit_code: str, actor: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return season_store.lock(session, current_set(session, set_id), unit_code, actor, utcnow())

    @rpc(expected_exceptions=(NotFound, SeasonError))
    def season_publish(self, set_id: str, actor: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return season_store.publish(session, current_set(session, set_id), actor, utcnow())

    @rpc(expected_exceptions=(NotFound,))
    def season_progress(self, set_id: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return season_store.progress(session, current_set(session, set_id))

    @rpc(expected_exceptions=(NotFound,))
    def provisional_ranking(self, set_id: str) -> dict[str, Any]:
        """The live ranking of a seasonal set before publication: for the office only (the web checks)."""
        with self.db.transaction() as session:
            cs = current_set(session, set_id)
            return {"set_id": cs.id, "title": cs.title, "year": cs.year, "unit_kind": cs.unit_kind,
                    "areas": [{"area_id": a.id, "title": a.title, "max_points": str(a.max_points)} for a in cs.areas],
                    **season_store.provisional_ranking(session, cs)}

    @rpc(expected_exceptions=(SeasonNotFound,))
    def evidence_file(self, file_id: int) -> dict[str, Any]:
        """An evidence file's description and bytes (base64); the caller checks who may read its unit."""
        with self.db.transaction() as session:
            found = season_store.evidence_file(session, file_id)
        return {**found, "data": encode(found["data"])}

    def _max_bytes(self) -> int:
        return int(section(self.config, "scoring").get("evidence_max_bytes") or DEFAULT_MAX_BYTES)

    # -- yearly plan --------------------------------------------------------------------------------------
    @rpc(expected_exceptions=(ValueError,))
    def set_plan_items(self, unit_code: str, year: int, items: list[dict[str, str]]) -> dict[str, Any]:
        allowed = {"done", "in_progress", "not_started"}
        for i, item in enumerate(items):
            if item.get("status") not in allowed:
                raise ValueError(f"items[{i}].status: must be one of {sorted(allowed)}")
            if not str(item.get("title", "")).strip():
                raise ValueError(f"items[{i}].title: required")
        now = utcnow()
        with self.db.transaction() as session:
            session.execute(sa.delete(PlanItem).where(PlanItem.unit_code == unit_code, PlanItem.year == year))
            session.add_all(PlanItem(unit_code=unit_code, year=year, title=i["title"], status=i["status"],
                                     updated_at=now) for i in items)
        return self.plan(unit_code, year)

    @rpc
    def plan(self, unit_code: str, year: int) -> dict[str, Any]:
        with self.db.transaction() as session:
            statuses = session.scalars(sa.select(PlanItem.status).where(PlanItem.unit_code == unit_code,
                                                                        PlanItem.year == year)).all()
        progress = plan_progress(statuses)
        return {"unit_code": unit_code, "year": year, "total": progress.total, "done": progress.done,
                "in_progress": progress.in_progress, "not_started": progress.not_started,
                "done_pct": str(progress.done_pct), "in_progress_pct": str(progress.in_progress_pct),
                "not_started_pct": str(progress.not_started_pct)}

    @configured_timer("outbox", "relay_interval_seconds")
    def relay_outbox(self) -> None:
        with self.db.transaction() as session:
            relay(session, OutboxEvent, self.dispatch, self.name)


def _instant(field: str, value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise SeasonError(field, f"“{value}” không phải thời điểm hợp lệ.") from None
    if moment.tzinfo is None:
        raise SeasonError(field, f"“{value}” thiếu múi giờ.")
    return moment


def _s(value: Any) -> str | None:
    return None if value is None else str(value)

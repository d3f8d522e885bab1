"""The scoring service (Chỉ số CCHC): entrypoints only; the rules live in criteria/computation/ranking, the
changes in submissions, the answers in reads, the plan in plan. Refusals reach callers typed (errors.py)."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from nameko.dependency_providers import Config
from nameko.events import EventDispatcher
from nameko.rpc import RpcProxy, rpc

from services.scoring import errors as _remote_errors  # noqa: F401  (registers the typed remote refusals)
from services.scoring import reads, season_store, sheet_pages, submissions
from services.scoring.criteria import CriteriaSetError
from services.scoring.evidence import DEFAULT_MAX_BYTES, decode_uploads, encode
from services.scoring.models import OutboxEvent
from services.scoring.plan import PlanError, plan_summary, replace_plan
from services.scoring.recalc import NotFound, current_set
from services.scoring.schemas import ScoreSubmitted, TimelinessUpdated
from services.scoring.scores import ScoreError
from services.scoring.season import SeasonError, SeasonNotFound
from shared import ops
from shared.clock import utcnow
from shared.config import section
from shared.db import DatabaseProvider
from shared.inputs import valid_id
from shared.outbox import relay
from shared.reliable_handler import reliable_event_handler
from shared.timers import configured_timer

__all__ = ["ScoreSubmitted", "ScoringService", "TimelinessUpdated"]

REFUSED = (ScoreError, NotFound)


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

    @rpc(expected_exceptions=(CriteriaSetError, submissions.SetConflict, NotFound))
    def import_criteria_table(self, xlsx_base64: str, filename: str, publish: bool = False) -> dict[str, Any]:
        """A province's XLSX table as the next version of its set: a preview, or (``publish``) published."""
        content = base64.b64decode(xlsx_base64)
        with self.db.transaction() as session:
            if publish:
                return submissions.publish_criteria_table(session, content, filename, utcnow())
            return submissions.criteria_table_preview(session, content, filename)[1]

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
    @rpc(expected_exceptions=REFUSED)
    def submit_scores(self, set_id: str, unit_code: str, scores: list[dict[str, Any]], actor: str,
                      final: bool = False) -> dict[str, Any]:
        with self.db.transaction() as session:
            season_store.guard_legacy_change(session, set_id, unit_code, "self")
            return submissions.submit_scores(session, set_id, unit_code, scores, actor, utcnow(), final)

    @reliable_event_handler("cchc_portal", "score_submitted", schema=ScoreSubmitted)
    def on_score_submitted(self, payload: dict[str, Any]) -> None:
        with self.db.transaction() as session:
            season_store.guard_legacy_change(session, payload["set_id"], payload["unit_code"], "self")
            submissions.submit_scores(session, payload["set_id"], payload["unit_code"], payload["scores"],
                                      payload["actor"], utcnow(), payload["final"])

    @rpc(expected_exceptions=REFUSED)
    def appraise(self, set_id: str, unit_code: str, leaf_id: str, points: Any, reason: str, actor: str,
                 not_applicable: bool = False) -> dict[str, Any]:
        with self.db.transaction() as session:
            season_store.guard_legacy_change(session, set_id, unit_code, "appraisal")
            return submissions.appraise(session, set_id, unit_code, leaf_id, points, reason, actor, utcnow(),
                                        not_applicable)

    @rpc(expected_exceptions=REFUSED)
    def import_survey(self, set_id: str, csv_text: str | None, actor: str, preview: bool = False,
                      skip_invalid: bool = False, xlsx_base64: str | None = None,
                      filename: str | None = None) -> dict[str, Any]:
        """Survey results as CSV text or an XLSX (base64); ``preview`` answers what would change, storing nothing."""
        data: bytes | str = base64.b64decode(xlsx_base64) if xlsx_base64 else (csv_text or "")
        name = filename or ("survey.xlsx" if xlsx_base64 else "survey.csv")
        with self.db.transaction() as session:
            return submissions.import_survey(session, set_id, data, actor, utcnow(), filename=name, preview=preview,
                                             skip_invalid=skip_invalid)

    @reliable_event_handler("dossiers", "timeliness_updated", schema=TimelinessUpdated)
    def on_timeliness_updated(self, payload: dict[str, Any]) -> None:
        with self.db.transaction() as session:
            submissions.store_timeliness(session, payload, utcnow())

    # -- reading ------------------------------------------------------------------------------------------
    @rpc(expected_exceptions=(NotFound,))
    def ranking(self, set_id: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return reads.ranking(session, set_id)

    @rpc
    def criteria_sets(self) -> list[dict[str, Any]]:
        """Every published set's latest version, newest year first (what the web pages offer)."""
        with self.db.transaction() as session:
            return reads.criteria_sets(session)

    @rpc(expected_exceptions=(NotFound,))
    def criteria_outline(self, set_id: str) -> dict[str, Any]:
        """Areas → criteria → leaves with titles, maxima and methods: what a unit's sheet is read against."""
        with self.db.transaction() as session:
            return sheet_pages.outline(current_set(session, set_id))

    @rpc(expected_exceptions=(NotFound,))
    def unit_result(self, set_id: str, unit_code: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return reads.unit_result(session, set_id, unit_code)

    @rpc(expected_exceptions=(NotFound,))
    def score_sheet(self, set_id: str, unit_code: str) -> list[dict[str, Any]]:
        with self.db.transaction() as session:
            return reads.score_sheet(session, set_id, unit_code)

    @rpc(expected_exceptions=(NotFound,))
    def unit_sheet_page(self, set_id: str, unit_code: str, live: bool,
                        known_outline: list[Any] | None = None) -> dict[str, Any]:
        """All the PAR Index sheet of a unit shows, in one transaction (sheet_pages.py: one round trip, not five)."""
        with self.db.transaction() as session:
            return sheet_pages.unit_sheet_page(session, set_id, unit_code, live, known_outline)

    @rpc(expected_exceptions=(NotFound, SeasonNotFound, SeasonError))
    def season_sheet_page(self, set_id: str, unit_code: str, live: bool) -> dict[str, Any]:
        """The season sheet of a unit with its result when ``live`` or published, in one transaction."""
        with self.db.transaction() as session:
            return sheet_pages.season_sheet_page(session, set_id, unit_code, live)

    @rpc
    def history(self, set_id: str, unit_code: str, leaf_id: str | None = None) -> list[dict[str, Any]]:
        with self.db.transaction() as session:
            return reads.history(session, set_id, unit_code, leaf_id)

    # -- the season: self-assessment, appraisal dialogue, publication (rules in season*.py) ---------------------
    @rpc(expected_exceptions=(NotFound, SeasonNotFound, SeasonError))
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

    @rpc(expected_exceptions=(NotFound, SeasonError))
    def season_progress(self, set_id: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return season_store.progress(session, current_set(session, set_id))

    @rpc(expected_exceptions=(NotFound, SeasonError))
    def provisional_ranking(self, set_id: str) -> dict[str, Any]:
        """The live ranking of a seasonal set before publication: for the office only (the web checks)."""
        with self.db.transaction() as session:
            cs = current_set(session, set_id)
            return {"set_id": cs.id, "title": cs.title, "year": cs.year, "unit_kind": cs.unit_kind,
                    "areas": [{"area_id": a.id, "title": a.title, "max_points": str(a.max_points)} for a in cs.areas],
                    **season_store.provisional_ranking(session, cs)}

    @rpc(expected_exceptions=(SeasonNotFound,))
    def evidence_file(self, file_id: int) -> dict[str, Any]:
        """An evidence file's description and bytes (base64); the caller checks who may read its unit. An id no
        table can hold is "no such file", not an OverflowError from SQLite (shared.inputs.valid_id)."""
        if not valid_id(file_id):
            raise SeasonNotFound(f"file_id: no file {str(file_id)[:40]}")
        with self.db.transaction() as session:
            found = season_store.evidence_file(session, file_id)
        return {**found, "data": encode(found["data"])}

    def _max_bytes(self) -> int:
        return int(section(self.config, "scoring").get("evidence_max_bytes") or DEFAULT_MAX_BYTES)

    # -- yearly plan --------------------------------------------------------------------------------------
    @rpc(expected_exceptions=(PlanError, ValueError))
    def set_plan_items(self, unit_code: str, year: int, items: list[dict[str, str]]) -> dict[str, Any]:
        with self.db.transaction() as session:
            replace_plan(session, unit_code, year, items, utcnow())
            return plan_summary(session, unit_code, year)

    @rpc
    def plan(self, unit_code: str, year: int) -> dict[str, Any]:
        with self.db.transaction() as session:
            return plan_summary(session, unit_code, year)

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


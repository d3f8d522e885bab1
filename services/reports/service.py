"""The reports service: entrypoints only; the documents are laid out in ranking_document / commitment /
statistics_report, rendered in formats/, kept by store, and the steps between live in builder."""

from __future__ import annotations

import base64
import json
from typing import Any

from marshmallow import ValidationError
from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy, rpc
from nameko.timer import Timer
from nameko.web.handlers import http
from werkzeug.wrappers import Response

from services.reports import store
from services.reports.builder import Builder
from services.reports.errors import BadRequest, NotFound
from services.reports.formats import MEDIA_TYPES
from services.reports.schemas import Apologies, BuildResultSchema, RankingUpdated, StoredFileSchema
from services.reports.settings import ReportSettings, load_settings
from services.reports.sources import Sources
from shared import ops
from shared.db import DatabaseProvider
from shared.events import first_error
from shared.reliable_handler import reliable_event_handler


class SettingsTimer(Timer):
    """A timer whose interval is a ``reports:`` setting (code defaults apply when the section omits it)."""

    def __init__(self, key: str, **kwargs: Any) -> None:
        self.key = key
        super().__init__(interval=1.0, **kwargs)

    def setup(self) -> None:
        self.interval = float(getattr(load_settings(self.container.config), self.key))
        super().setup()


settings_timer = SettingsTimer.decorator


class Settings(DependencyProvider):
    """The ``reports:`` configuration section, read and checked once per container."""

    def setup(self) -> None:
        self.settings = load_settings(self.container.config)
        self.settings.output_dir.mkdir(parents=True, exist_ok=True)

    def get_dependency(self, worker_ctx: Any) -> ReportSettings:
        return self.settings


class ReportsService(ops.OpsEndpoints):
    name = "reports"

    config = Config()
    db = DatabaseProvider()
    settings = Settings()
    scoring = RpcProxy("scoring")
    dossiers = RpcProxy("dossiers")

    def _builder(self) -> Builder:
        return Builder(self.db, Sources(self.scoring, self.dossiers), self.settings)

    # -- building ---------------------------------------------------------------------------------------
    @rpc(expected_exceptions=(NotFound, BadRequest))
    def build_ranking(self, set_ids: str | list[str], formats: list[str] | None = None,
                      force: bool = False) -> dict[str, Any]:
        """The PAR Index announcement for one criteria set, or several of one year (a table per unit kind)."""
        return BuildResultSchema().dump(self._builder().ranking(set_ids, formats, force))

    @rpc(expected_exceptions=(NotFound, BadRequest))
    def build_commitment(self, unit_code: str, year: int, with_results: bool = False,
                         apologies: dict[str, Any] | None = None, formats: list[str] | None = None,
                         force: bool = False) -> dict[str, Any]:
        """A unit's commitment for a year; ``with_results`` adds the actual results and whether each was met."""
        try:
            figures = Apologies().load(apologies or {})
        except ValidationError as exc:
            field, reason = first_error(exc.messages)
            raise BadRequest(f"apologies.{field}: {reason}") from None
        result = self._builder().commitment(unit_code, year, with_results=with_results, apologies=figures,
                                            formats=formats, force=force)
        return BuildResultSchema().dump(result)

    @rpc(expected_exceptions=(NotFound, BadRequest))
    def build_statistics(self, unit_code: str, period: str, formats: list[str] | None = None,
                         force: bool = False) -> dict[str, Any]:
        """One-door statistics of a unit (and the units below it) for "2026", "2026-H1", "2026-Q2", "2026-07"."""
        return BuildResultSchema().dump(self._builder().statistics(unit_code, period, formats, force))

    @reliable_event_handler("scoring", "ranking_updated", schema=RankingUpdated)
    def on_ranking_updated(self, payload: dict[str, Any]) -> None:
        self._builder().on_ranking_updated(payload)

    @settings_timer("ranking_build_interval_seconds")
    def build_pending_rankings(self) -> None:
        """Build the documents of rankings announced since the last build (a burst of events, one build)."""
        self._builder().build_pending()

    # -- reading ----------------------------------------------------------------------------------------
    @rpc
    def documents(self, kind: str | None = None, key: str | None = None, latest_only: bool = True,
                  limit: int = 100) -> list[dict[str, Any]]:
        """Kept files, newest first (by default only each document's latest version)."""
        with self.db.transaction() as session:
            files = store.list_files(session, self.settings.output_dir, kind, key, latest_only, min(limit, 1000))
        return StoredFileSchema(many=True).dump([f.to_dict() for f in files])

    @rpc(expected_exceptions=(NotFound,))
    def document_file(self, document_id: int) -> dict[str, Any]:
        """One kept file's bytes (base64) with its name, media type, size and sha256: the web service serves
        downloads with the reader's session and checks his rights itself, so no token is involved."""
        with self.db.transaction() as session:
            found = store.file_by_id(session, self.settings.output_dir, int(document_id))
        data = found.path.read_bytes()
        return {"filename": found.path.name, "media_type": MEDIA_TYPES[found.format], "sha256": found.sha256,
                "size": len(data), "content_b64": base64.b64encode(data).decode("ascii")}

    @http("GET", "/documents/<int:file_id>")
    def download(self, request: Any, file_id: int) -> Response:
        """A kept file, given its token (``?token=…`` or ``Authorization: Bearer …``); 404 otherwise."""
        token = request.args.get("token") or request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        try:
            with self.db.transaction() as session:
                found = store.file_by_token(session, self.settings.output_dir, file_id, token)
        except NotFound as exc:
            return Response(json.dumps({"error": "not found", "detail": str(exc)}, ensure_ascii=False), status=404,
                            mimetype="application/json")
        return Response(found.path.read_bytes(), mimetype=MEDIA_TYPES[found.format], headers={
            "Content-Disposition": f'attachment; filename="{found.path.name}"',
            "ETag": f'"{found.sha256}"',
            "X-Document-Version": str(found.version),
            "Cache-Control": "private, no-store",
        })

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
from werkzeug.wrappers import Response

from services.reports import links, store
from services.reports.builder import Builder, link_expiry
from services.reports.errors import BadRequest, NotFound
from services.reports.formats import MEDIA_TYPES
from services.reports.schemas import Apologies, BuildResultSchema, RankingUpdated, StoredFileSchema
from services.reports.settings import ReportSettings, load_settings
from services.reports.sources import Sources
from shared import ops
from shared.clock import utcnow
from shared.db import DatabaseProvider
from shared.events import first_error
from shared.reliable_handler import reliable_event_handler
from shared.timers import configured_timer


class Settings(DependencyProvider):
    """The ``reports:`` configuration section, read and checked once per container."""

    def setup(self) -> None:
        self.settings = load_settings(self.container.config)

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

    def _blobs(self) -> Any:
        return store.blob_store(self.settings.max_document_bytes)

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

    @configured_timer("reports", "ranking_build_interval_seconds")
    def build_pending_rankings(self) -> None:
        """Build the documents of rankings announced since the last build (a burst of events, one build)."""
        self._builder().build_pending()

    # -- reading ----------------------------------------------------------------------------------------
    @rpc
    def documents(self, kind: str | None = None, key: str | None = None, latest_only: bool = True,
                  limit: int = 100, unit_codes: list[str] | None = None) -> list[dict[str, Any]]:
        """Kept files, newest first (by default only each document's latest version); ``unit_codes``: only the
        ranking decisions and these units' documents (the web application's unit officers)."""
        with self.db.transaction() as session:
            files = store.list_files(session, kind, key, latest_only, max(1, min(limit, 1000)), unit_codes)
        expires = link_expiry(utcnow(), self.settings)
        return StoredFileSchema(many=True).dump([f.to_dict(expires) for f in files])

    @rpc(expected_exceptions=(NotFound,))
    def document_info(self, document_id: int) -> dict[str, Any]:
        """One kept file's description — kind, key, version, sources — without its token, link or content: what
        a caller checks (the web application's unit scope) before it asks for the bytes. NotFound for an unknown
        id. A direct lookup: a check against a listing would miss whatever the listing's limit leaves out."""
        with self.db.transaction() as session:
            found = store.file_by_id(session, document_id)
        described = StoredFileSchema().dump(found.to_dict(0))
        return {k: v for k, v in described.items() if k not in ("token", "url", "url_expires_at")}

    @rpc(expected_exceptions=(NotFound,))
    def document_file(self, document_id: int) -> dict[str, Any]:
        """One kept file with its content (base64), for a caller that serves it to its own users (the web
        application, behind its own session): no token or link involved. NotFound for an unknown id."""
        with self.db.transaction() as session:
            found = store.file_by_id(session, document_id)
            data = store.content(session, self._blobs(), found)
        return {"filename": found.filename, "media_type": MEDIA_TYPES[found.format], "sha256": found.sha256,
                "size": found.size, "content_b64": base64.b64encode(data).decode("ascii")}

    @ops.http("GET", f"/documents/<int(max={store.MAX_ID}):file_id>")
    def download(self, request: Any, file_id: int) -> Response:
        """A kept file, given its token (``Authorization: Bearer …``) or a signed link that has not expired
        (``?expires=…&signature=…``); 404 otherwise, and for an id beyond any document's."""
        try:
            with self.db.transaction() as session:
                found = store.file_for_download(session, file_id, bearer=links.bearer_token(request.headers),
                                                expires=request.args.get("expires", ""),
                                                signature=request.args.get("signature", ""),
                                                now=utcnow().timestamp())
                data = store.content(session, self._blobs(), found)
        except NotFound as exc:
            return Response(json.dumps({"error": "not found", "detail": str(exc)}, ensure_ascii=False), status=404,
                            mimetype="application/json")
        return Response(data, mimetype=MEDIA_TYPES[found.format], headers={
            "Content-Disposition": f'attachment; filename="{found.filename}"',
            "ETag": f'"{found.sha256}"',
            "X-Document-Version": str(found.version),
            "Cache-Control": "private, no-store",
        })

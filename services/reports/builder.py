"""Building a document, from request to kept files: figures (over RPC) → layout → formats → store.

Every build follows the same steps, whatever the kind:

1. ask the owning services for the figures (:mod:`sources`); an unknown unit, set or period stops here with
   NotFound / BadRequest — before anything is rendered or written, so a bad request leaves no file;
2. lay the document out (:mod:`ranking_document`, :mod:`commitment`, :mod:`statistics_report`);
3. if the latest kept version was built from the same content in the wanted formats, return it (a repeated
   request or a duplicate ranking_updated builds nothing), unless ``force``;
4. render each format, one build at a time per process, yielding to the other workers between formats (a
   170-unit PDF takes about 3 s of CPU; heartbeats allow 60 s);
5. keep the files as the next version (:mod:`store`), count them, and answer with their descriptions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from services.reports import commitment, store
from services.reports.bodies import province_name
from services.reports.errors import BadRequest, NotFound
from services.reports.formats import check_formats, render
from services.reports.layout import Document
from services.reports.metrics import documents_built, ranking_version
from services.reports.models import CommitmentTargets, KnownSet
from services.reports.ranking_document import build_ranking_document
from services.reports.settings import ReportSettings
from services.reports.sources import Sources
from services.reports.statistics_report import build_statistics_document
from shared.calendar import LOCAL_TZ
from shared.clock import utcnow
from shared.db import Database, insert_ignore

log = logging.getLogger(__name__)

SERVICE = "reports"
_reported_versions: dict[str, int] = {}  # set_id -> the highest version this process has put on the gauge
_reported_lock = threading.Lock()


def report_built_version(set_id: str, version: int) -> None:
    """Move the ranking-version gauge forward only: a timer that read the built versions just before a newer
    build finished must not set the gauge back (alerts compare it with scoring's version)."""
    with _reported_lock:
        if version > _reported_versions.get(set_id, 0):
            _reported_versions[set_id] = version
            ranking_version.labels(SERVICE, set_id).set(version)
EVALUATED_KINDS = ("department", "commune", "district")
Renderer = Callable[[Document, str], bytes]

_build_lock: Any = None


def build_lock() -> Any:
    """One build at a time per process (rendering is CPU-bound: two at once only take twice as long). Made on
    first use, after eventlet's monkey-patching, so that a waiting worker yields to the hub instead of blocking."""
    global _build_lock
    if _build_lock is None:
        _build_lock = threading.Lock()
    return _build_lock


def render_yielding(document: Document, fmt: str) -> bytes:
    """Render in place, then let the other green threads run (rendering itself never yields).

    Not in a native thread (eventlet's tpool): WeasyPrint, fontTools and logging take locks that
    monkey-patching has made green, and a green lock taken from a native thread can wait forever for a
    release that happens on the hub's thread (seen: a burst of ranking_updated hung the service).
    """
    import eventlet

    data = render(document, fmt)
    eventlet.sleep(0)
    return data


def content_hash(document: Document) -> str:
    """Same figures and text → same hash; the day it is built on does not count (a decision keeps its date)."""
    undated = dataclasses.replace(document, header=dataclasses.replace(document.header, date=dt.date.min))
    return hashlib.sha256(repr(undated).encode("utf-8")).hexdigest()


class Builder:
    def __init__(self, db: Database, sources: Sources, settings: ReportSettings,
                 now: Callable[[], dt.datetime] | None = None, renderer: Renderer = render_yielding) -> None:
        self.db = db
        self.sources = sources
        self.settings = settings
        self.now = now or utcnow
        self.renderer = renderer

    # -- the three documents ----------------------------------------------------------------------------
    def ranking(self, set_ids: str | Sequence[str], formats: Iterable[str] | None = None,
                force: bool = False) -> dict[str, Any]:
        ids = _set_ids(set_ids)
        wanted = check_formats(formats, self.settings.formats)
        with build_lock():  # rankings read under the lock: a later build never works from an older ranking
            rankings = [self.sources.ranking(set_id) for set_id in ids]
            self._remember_sets(rankings)
            document = build_ranking_document(rankings, self.settings, self._province(), self._today())
            versions = {r["set_id"]: int(r["version"]) for r in rankings}
            result = self._render_and_keep(document, "+".join(ids), {"ranking_versions": versions}, wanted, force)
            if len(ids) == 1:
                self._mark_built(ids[0], versions[ids[0]])
        for set_id, version in versions.items():
            report_built_version(set_id, version)
        return result

    def commitment(self, unit_code: str, year: int, *, with_results: bool = False,
                   apologies: Mapping[str, Any] | None = None, formats: Iterable[str] | None = None,
                   force: bool = False) -> dict[str, Any]:
        wanted = check_formats(formats, self.settings.formats)
        if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
            raise BadRequest(f"year: {year!r} is not a year")
        units = self.sources.units()
        unit = _unit(units, unit_code)
        if unit["kind"] not in EVALUATED_KINDS:
            raise NotFound(f"unit_code: {unit_code!r} is a {unit['kind']}, not a unit that signs a commitment")
        apologies = apologies or {}
        targets = self._targets(unit, year, apologies.get("last_year"))
        outcomes = None
        as_of = None
        if with_results:
            stats = self.sources.period_stats(unit_code, str(year))
            as_of = stats.get("as_of")
            actual = commitment.figures(stats, self.sources.plan(unit_code, year),
                                        self._index(unit_code, unit["kind"], year), apologies.get("actual"))
            outcomes = commitment.evaluate(targets, actual)
        document = commitment.build_commitment_document(unit, year, targets, outcomes, self.settings,
                                                        province_name(self.settings.province_name, units),
                                                        self._today(), as_of)
        info = {"unit_code": unit_code, "year": year, "as_of": as_of,
                "targets": commitment.targets_to_json(targets)}
        return self._produce(document, f"{unit_code}/{year}", info, wanted, force)

    def statistics(self, unit_code: str, period: str, formats: Iterable[str] | None = None,
                   force: bool = False) -> dict[str, Any]:
        wanted = check_formats(formats, self.settings.formats)
        if not isinstance(period, str) or not period.strip():
            raise BadRequest("period: expected 'YYYY', 'YYYY-H1', 'YYYY-Q2' or 'YYYY-MM'")
        rows = self.sources.period_stats(unit_code, period.strip(), True)
        units = self.sources.units()
        document = build_statistics_document(rows, units, self.settings,
                                             province_name(self.settings.province_name, units), self._today())
        first = rows[0]
        info = {"unit_code": unit_code, "period": first["period"], "as_of": first["as_of"],
                "granularity": first["granularity"]}
        return self._produce(document, f"{unit_code}/{first['period']}", info, wanted, force)

    # -- ranking_updated ---------------------------------------------------------------------------------
    def on_ranking_updated(self, payload: Mapping[str, Any]) -> None:
        """Note the set's new ranking version; :meth:`build_pending` builds the document.

        The handler only writes a row and returns, so its message is acknowledged at once. Building here would
        hold the message while asking scoring over RPC: a burst of ranking_updated (one per submission) then
        fills nameko's prefetch with handlers waiting for RPC replies that cannot be delivered (on kombu's
        in-memory transport the replies share the prefetch window) — and it would render once per event.
        """
        with self.db.transaction() as session:
            _upsert_set(session, payload["set_id"], int(payload["year"]), payload["unit_kind"],
                        int(payload["version"]), self.now())

    def build_pending(self) -> list[dict[str, Any]]:
        """Build the ranking document of every set whose announced ranking is newer than its last document.

        Also sets the ranking-version gauge of every set from the database, so that a restarted or idle
        replica reports what has been built (alerts compare it with scoring's version).
        """
        results = []
        if self.settings.build_on_ranking_updated:
            with self.db.transaction() as session:
                due = session.execute(sa.select(KnownSet.set_id, KnownSet.ranking_version)
                                      .where(KnownSet.ranking_version > KnownSet.built_version)
                                      .order_by(KnownSet.set_id)).all()
            for set_id, version in due:
                try:
                    results.append(self.ranking([set_id]))
                except NotFound as exc:  # e.g. a set whose ranking has no unit yet: nothing to publish
                    log.info("ranking of %s: no document built (%s)", set_id, exc)
                    self._mark_built(set_id, version)
        with self.db.transaction() as session:
            built = session.execute(sa.select(KnownSet.set_id, KnownSet.built_version)
                                    .where(KnownSet.built_version > 0)).all()
        for set_id, version in built:
            report_built_version(set_id, version)
        return results

    # -- helpers -------------------------------------------------------------------------------------------
    def _today(self) -> dt.date:
        return self.now().astimezone(LOCAL_TZ).date()

    def _province(self) -> str:
        if self.settings.province_name:
            return self.settings.province_name
        return province_name("", self.sources.units())

    def _mark_built(self, set_id: str, version: int) -> None:
        with self.db.transaction() as session:
            session.execute(sa.update(KnownSet).where(KnownSet.set_id == set_id, KnownSet.built_version < version)
                            .values(built_version=version))

    def _remember_sets(self, rankings: Sequence[Mapping[str, Any]]) -> None:
        now = self.now()
        with self.db.transaction() as session:
            for r in rankings:
                _upsert_set(session, r["set_id"], int(r["year"]), r["unit_kind"], int(r["version"]), now)

    def _index(self, unit_code: str, unit_kind: str, year: int) -> str | None:
        with self.db.transaction() as session:
            set_ids = session.scalars(sa.select(KnownSet.set_id).where(KnownSet.year == year,
                                                                       KnownSet.unit_kind == unit_kind)
                                      .order_by(KnownSet.set_id)).all()
        for set_id in set_ids:
            index = self.sources.unit_index(set_id, unit_code)
            if index is not None:
                return index
        return None

    def _targets(self, unit: Mapping[str, Any], year: int, apologies_last_year: Any) -> list[commitment.Target]:
        """The targets kept for (unit, year), else proposed from last year's results and the goals, then kept."""
        with self.db.transaction() as session:
            row = session.get(CommitmentTargets, (unit["code"], year))
            if row is not None:
                return commitment.targets_from_json(row.targets)
        previous = year - 1
        last = commitment.figures(self.sources.period_stats(unit["code"], str(previous)),
                                  self.sources.plan(unit["code"], previous),
                                  self._index(unit["code"], unit["kind"], previous), apologies_last_year)
        proposed = commitment.propose_targets(last, self.settings.goals_for(unit["kind"]),
                                              self.settings.improve_over_last_year)
        with self.db.transaction() as session:  # the first proposal kept wins over a concurrent one
            session.execute(insert_ignore(session, CommitmentTargets.__table__),
                            [{"unit_code": unit["code"], "year": year,
                              "targets": commitment.targets_to_json(proposed), "proposed_at": self.now()}])
            row = session.get(CommitmentTargets, (unit["code"], year))
            assert row is not None
            return commitment.targets_from_json(row.targets)

    def _produce(self, document: Document, key: str, info: Mapping[str, Any], formats: Sequence[str],
                 force: bool) -> dict[str, Any]:
        with build_lock():  # a burst of ranking_updated renders once: the later builds find the first one's files
            return self._render_and_keep(document, key, info, formats, force)

    def _render_and_keep(self, document: Document, key: str, info: Mapping[str, Any], formats: Sequence[str],
                         force: bool) -> dict[str, Any]:
        digest = content_hash(document)
        blobs = store.blob_store(self.settings.max_document_bytes)
        if not force:
            with self.db.transaction() as session:
                existing = store.current_files(session, blobs, document.kind, key, digest, formats)
            if existing is not None:
                return self._result(document, key, existing, built=False)
        files = {fmt: self.renderer(document, fmt) for fmt in formats}
        for fmt, data in files.items():
            if not data:
                raise RuntimeError(f"{document.kind} {key}: the {fmt} renderer produced an empty file")
        now = self.now()
        with self.db.transaction() as session:
            stored, built = store.record(session, blobs, kind=document.kind, key=key, title=document.title,
                                         filename=document.filename, content_hash=digest, sources=_jsonable(info),
                                         files=files, now=now, force=force)
        if built:
            for f in stored:
                documents_built.labels(SERVICE, f.kind, f.format).inc()
        return self._result(document, key, stored, built=built)

    def _result(self, document: Document, key: str, files: Sequence[store.StoredFile], built: bool) -> dict[str, Any]:
        expires = link_expiry(self.now(), self.settings)
        return {"kind": document.kind, "key": key, "title": document.title, "version": files[0].version,
                "built": built, "files": [f.to_dict(expires) for f in files]}


def link_expiry(now: dt.datetime, settings: ReportSettings) -> int:
    """The unix time the download links handed out now stop working."""
    return int(now.timestamp()) + settings.download_link_seconds


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def _set_ids(set_ids: str | Sequence[str]) -> list[str]:
    ids = [set_ids] if isinstance(set_ids, str) else list(set_ids or [])
    if not ids or not all(isinstance(i, str) and i.strip() for i in ids):
        raise BadRequest("set_ids: give one criteria set id or a list of them")
    return list(dict.fromkeys(i.strip() for i in ids))


def _unit(units: Sequence[Mapping[str, Any]], unit_code: str) -> Mapping[str, Any]:
    unit = next((u for u in units if u["code"] == unit_code), None)
    if unit is None:
        raise NotFound(f"unit_code: no unit {unit_code!r}")
    return unit


def _upsert_set(session: Any, set_id: str, year: int, unit_kind: str, version: int, now: dt.datetime) -> None:
    session.execute(insert_ignore(session, KnownSet.__table__),
                    [{"set_id": set_id, "year": year, "unit_kind": unit_kind, "ranking_version": version,
                      "built_version": 0, "seen_at": now}])
    session.execute(sa.update(KnownSet).where(KnownSet.set_id == set_id, KnownSet.ranking_version < version)
                    .values(ranking_version=version, year=year, unit_kind=unit_kind, seen_at=now))


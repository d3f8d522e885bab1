"""The procedure catalogue in the dossiers database: versions, the newest one, and what the events know that it lacks.

Each import is a new version holding the whole catalogue (``merge`` copies the previous version's procedures that
the file does not name), with who imported which file (its SHA-256), when, and the rows skipped: a due date can
always be traced to the catalogue it was computed with. Services read the highest version; with none imported
they use the packaged (or configured) file as version 0, the seed.

An import also re-derives the dossiers whose receipts were refused because no processing time was known
(procedure not catalogued, none in the payload) and whose procedure the new version has: they are received
in the same transaction, so replaying their dead letters afterwards is a harmless duplicate. Every replica
does the same when it picks up a new version (idempotent; see ``refused_for_lack_of_time``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.dossiers.catalogue import CUTOFF_TIME, Catalogue, Procedure, procedure_key
from services.dossiers.catalogue_import import ImportCheck, RowError, Table, check_table
from services.dossiers.models import CatalogueProcedure, CatalogueVersion, Dossier, DossierEvent
from shared.calendar import LOCAL_TZ

MODES = ("replace", "merge")
# The refusal field of a receipt that had no processing time (lifecycle.py): the dossiers an import can unblock.
NO_TIME_FIELD = "payload.procedure_code"
REDERIVE_CHUNK = 500


class ImportRefused(ValueError):
    """An import that writes nothing: the file has errors (and no --skip-invalid), or nothing to import."""

    def __init__(self, message: str, errors: list[RowError] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


@dataclass
class ImportResult:
    version: int
    procedures: int
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # processing time, level or cut-off differs
    removed: list[str] = field(default_factory=list)
    skipped: list[RowError] = field(default_factory=list)
    rederived: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"version": self.version, "procedures": self.procedures, "added": len(self.added),
                "changed": self.changed, "removed": self.removed, "skipped": [e.as_dict() for e in self.skipped],
                "rederived": self.rederived}


def newest_version(session: Session) -> int:
    """The highest imported version, 0 when only the seed exists."""
    return int(session.scalar(sa.select(sa.func.coalesce(sa.func.max(CatalogueVersion.version), 0))) or 0)


def _procedure(row: CatalogueProcedure) -> Procedure:
    return Procedure(
        code=row.code, name=row.name, field=row.field,
        processing_amount=Decimal(row.processing_amount) if row.processing_amount is not None else None,
        time_unit=row.time_unit, cutoff=CUTOFF_TIME if row.cutoff_15h else None, level=row.level,
        agency=row.agency, time_text=row.time_text, reduced=row.reduced,
    )


def load(session: Session, seed: Catalogue, version: int | None = None) -> Catalogue:
    """The catalogue of ``version`` (default: the newest); the seed when nothing was imported."""
    version = newest_version(session) if version is None else version
    if version == 0:
        return seed
    header = session.get(CatalogueVersion, version)
    if header is None:
        raise LookupError(f"version: no catalogue version {version}")
    rows = session.scalars(sa.select(CatalogueProcedure).where(CatalogueProcedure.version == version)
                           .order_by(CatalogueProcedure.source_row, CatalogueProcedure.key)).all()
    return Catalogue([_procedure(r) for r in rows], version=version, source=header.source_name)


def _lock(session: Session) -> None:
    """One import at a time (version numbers are max + 1); SQLite transactions are serialised already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('cchc-catalogue-import'))"))


def _same_rules(a: Procedure, b: Procedure) -> bool:
    return (a.processing_amount, a.time_unit, a.cutoff, a.level) == (b.processing_amount, b.time_unit, b.cutoff,
                                                                     b.level)


@dataclass(frozen=True)
class Provenance:
    """Who imports which file, when: kept with the version it becomes."""

    source_name: str
    source_sha256: str
    actor: str
    at: dt.datetime


def import_version(
    session: Session,
    check: ImportCheck,
    seed: Catalogue,
    provenance: Provenance,
    *,
    mode: str = "replace",
    skip_invalid: bool = False,
    rows_in_file: int | None = None,
) -> tuple[ImportResult, Catalogue]:
    """Store ``check``'s procedures as a new version; refuse (writing nothing) when the file has errors unless
    ``skip_invalid``. Returns the result and the new catalogue."""
    if mode not in MODES:
        raise ValueError(f"mode: {mode!r} is not one of {', '.join(MODES)}")
    if not provenance.actor.strip():
        raise ValueError("actor: who imports the catalogue must be named")
    source_name = provenance.source_name
    if check.errors and not skip_invalid:
        rows = check.error_rows
        raise ImportRefused(f"{len(rows)} dòng của {source_name} không hợp lệ nên không nhập gì cả; sửa các dòng đó, "
                            "hoặc nhập các dòng còn lại với --skip-invalid", check.errors)
    if not check.procedures:
        raise ImportRefused(f"{source_name} không có thủ tục hợp lệ nào: không có gì để nhập", check.errors)
    _lock(session)
    previous = load(session, seed)
    by_key = {p.key: p for p in previous} if mode == "merge" else {}
    source_rows = dict(check.source_rows)
    for procedure in check.procedures:
        by_key[procedure.key] = procedure
    version = previous.version + 1
    before = {p.key: p for p in previous}
    result = ImportResult(version=version, procedures=len(by_key), skipped=list(check.errors))
    result.added = sorted(k for k in by_key if k not in before)
    result.removed = sorted(k for k in before if k not in by_key)
    result.changed = sorted(k for k, p in by_key.items() if k in before and not _same_rules(p, before[k]))
    session.add(CatalogueVersion(
        version=version, imported_at=provenance.at, imported_by=provenance.actor.strip()[:200],
        source_name=source_name[:500], source_sha256=provenance.source_sha256, mode=mode, procedures=len(by_key),
        rows_in_file=rows_in_file if rows_in_file is not None else check.rows,
        skipped=[e.as_dict() for e in check.errors],
    ))
    session.flush()
    session.execute(sa.insert(CatalogueProcedure), [
        {"version": version, "key": key, "code": p.code, "name": p.name, "field": p.field, "level": p.level,
         "agency": p.agency, "time_text": p.time_text, "processing_amount": p.processing_amount,
         "time_unit": p.time_unit, "cutoff_15h": p.cutoff is not None, "reduced": p.reduced,
         "source_row": source_rows.get(key)}
        for key, p in by_key.items()
    ])
    catalogue = Catalogue(list(by_key.values()), version=version, source=source_name)
    return result, catalogue


def versions(session: Session, limit: int = 20) -> list[dict[str, Any]]:
    """The latest imports, newest first: who, when, which file, how many procedures, rows skipped."""
    rows = session.scalars(sa.select(CatalogueVersion).order_by(CatalogueVersion.version.desc()).limit(limit)).all()
    return [{"version": r.version, "imported_at": r.imported_at, "imported_by": r.imported_by,
             "source_name": r.source_name, "source_sha256": r.source_sha256, "mode": r.mode,
             "procedures": r.procedures, "rows_in_file": r.rows_in_file, "skipped": len(r.skipped or [])}
            for r in rows]


def procedure_history(session: Session, code: str, seed: Catalogue) -> dict[str, Any]:
    """One procedure in the newest catalogue, and how it stood in every version that had it (time changes)."""
    key = procedure_key(code)
    if key is None:
        raise LookupError(f"code: {code!r} is not a national procedure code (e.g. 1.000894 or 1.000894.H44)")
    current = load(session, seed)
    rows = session.execute(
        sa.select(CatalogueProcedure, CatalogueVersion.imported_at, CatalogueVersion.imported_by,
                  CatalogueVersion.source_name)
        .join(CatalogueVersion, CatalogueVersion.version == CatalogueProcedure.version)
        .where(CatalogueProcedure.key == key).order_by(CatalogueProcedure.version)
    ).all()
    history = [{"version": 0, "imported_at": None, "imported_by": None, "source_name": seed.source,
                "procedure": seed.get(key)}] if seed.get(key) is not None else []
    history += [{"version": row.version, "imported_at": at, "imported_by": by, "source_name": source,
                 "procedure": _procedure(row)} for row, at, by, source in rows]
    return {"key": key, "version": current.version, "procedure": current.get(key), "history": history}


@dataclass(frozen=True)
class Gap:
    """A procedure the events name that the catalogue in force does not have."""

    code: str
    dossiers: int  # stored with the payload's processing time
    refused: int  # receipts refused for want of any processing time (their dead letters await an import)
    first_received: dt.date | None
    last_received: dt.date | None
    units: int


def gaps(session: Session, catalogue: Catalogue) -> list[Gap]:
    """Procedures seen in receipts but not catalogued, most dossiers first."""
    d = Dossier
    stored = session.execute(
        sa.select(d.procedure_code, sa.func.count(), sa.func.min(d.received_date), sa.func.max(d.received_date),
                  sa.func.count(sa.distinct(d.unit_code)))
        .where(d.procedure_code.is_not(None), d.received_at.is_not(None))
        .group_by(d.procedure_code)
    ).all()
    found: dict[str, list[Any]] = {}
    for code, count, first, last, units in stored:
        if catalogue.get(code) is None:
            found[code] = [count, 0, first, last, units]
    for code, at in _refused_receipts(session):
        if catalogue.get(code) is not None:
            continue
        entry = found.setdefault(code, [0, 0, None, None, 0])
        entry[1] += 1
        day = at.astimezone(LOCAL_TZ).date()
        entry[2] = min(entry[2], day) if entry[2] else day
        entry[3] = max(entry[3], day) if entry[3] else day
    result = [Gap(code, *values) for code, values in found.items()]
    return sorted(result, key=lambda g: (-(g.dossiers + g.refused), g.code))


def _refused_receipts(session: Session) -> list[tuple[str, dt.datetime]]:
    """(procedure code, receipt time) of receipts refused for want of a processing time, one per dossier still
    awaiting its receipt (a dossier received meanwhile through a later receipt is not a gap any more)."""
    e = DossierEvent
    query = (
        sa.select(e.dossier_code, e.payload, e.time)
        .join(Dossier, Dossier.dossier_code == e.dossier_code)
        .where(e.rejected_field == NO_TIME_FIELD, e.event_type == "dossier.received",
               Dossier.received_at.is_(None))
    )
    seen: dict[str, tuple[str, dt.datetime]] = {}
    for dossier_code, payload, time in session.execute(query):
        seen.setdefault(dossier_code, (str((payload or {}).get("procedure_code", "")), time))
    return list(seen.values())


def refused_for_lack_of_time(session: Session, catalogue: Catalogue) -> list[str]:
    """Dossiers still awaiting their receipt because it had no processing time, whose procedure ``catalogue`` has."""
    e = DossierEvent
    rows = session.execute(
        sa.select(e.dossier_code, e.payload)
        .join(Dossier, Dossier.dossier_code == e.dossier_code)
        .where(e.rejected_field == NO_TIME_FIELD, e.event_type == "dossier.received", Dossier.received_at.is_(None))
    ).all()
    return sorted({code for code, payload in rows
                   if catalogue.get(str((payload or {}).get("procedure_code", ""))) is not None})


def rederive_unblocked(session: Session, rules: Any, now: dt.datetime) -> int:
    """Receive the dossiers ``rules.catalogue`` now gives a time to (see the module docstring); returns how many."""
    from services.dossiers.ingest import rederive  # ingest imports the lifecycle; keep this module light

    codes = refused_for_lack_of_time(session, rules.catalogue)
    received = 0
    for start in range(0, len(codes), REDERIVE_CHUNK):
        derivations = rederive(session, codes[start:start + REDERIVE_CHUNK], rules, now)
        received += sum(1 for d in derivations.values() if d.state.received_at is not None)
    return received


def time_counts(catalogue: Catalogue) -> dict[str, int]:
    """How many procedures count in each unit (for the import summary)."""
    counts: dict[str, int] = defaultdict(int)
    for procedure in catalogue:
        counts[procedure.time_unit] += 1
    return dict(counts)


def import_table(
    session: Session,
    table: Table,
    rules: Any,
    seed: Catalogue,
    provenance: Provenance,
    *,
    mode: str = "replace",
    skip_invalid: bool = False,
    default_level: str | None = None,
) -> tuple[ImportResult, Catalogue]:
    """Check a table read from a file, store it as a new version, and receive the dossiers it unblocks, in one
    transaction (``rules`` are the ones in force; the new catalogue replaces theirs for the re-derivation)."""
    check = check_table(table, default_level=default_level)
    result, catalogue = import_version(session, check, seed, provenance, mode=mode, skip_invalid=skip_invalid,
                                       rows_in_file=len(table.rows))
    result.rederived = rederive_unblocked(session, dataclasses.replace(rules, catalogue=catalogue), provenance.at)
    return result, catalogue

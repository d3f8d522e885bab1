"""Recalculation: whatever changed a unit's inputs recomputes that unit's sheet, then the set's ranking.

Serialisation without read-modify-write races: a unit's result row is locked before its leaves are read, so
two workers submitting for the same unit at once take turns and the later one sees both changes; the
ranking row is locked the same way, so its version number increases by exactly one per change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session, defer

from services.scoring.computation import LeafInput, UnitResult, compute_unit
from services.scoring.criteria import CriteriaSet, parse_criteria_set
from services.scoring.models import (
    CriteriaSetRow,
    LeafScore,
    MetricValue,
    OutboxEvent,
    Ranking,
    Unit,
    UnitResultRow,
)
from services.scoring.ranking import rank_units
from shared.db import insert_ignore, upsert
from shared.local_time import local_iso
from shared.metrics import ranking_version
from shared.outbox import enqueue

METRICS = ("on_time_rate", "progress_766_rate", "online_share")
NOT_APPLICABLE_DASH = "—"
NOT_APPLICABLE_VI = "không áp dụng"
_SET_CACHE: dict[tuple[str, int, str], CriteriaSet] = {}
_FEW = 100  # up to this many units, result rows are locked by one upsert


class NotFound(LookupError):
    """An unknown criteria set or unit (a not-found error at the edge)."""


def current_set(session: Session, set_id: str) -> CriteriaSet:
    """The latest published version of a set, parsed once per (id, version, checksum)."""
    table = CriteriaSetRow.__table__.c
    row = session.execute(
        sa.select(table.set_id, table.version, table.checksum).where(table.set_id == set_id)
        .order_by(table.version.desc()).limit(1)
    ).first()
    if row is None:
        raise NotFound(f"set_id: no criteria set {set_id!r}")
    key = (row.set_id, row.version, row.checksum)
    if key not in _SET_CACHE:  # the definition (JSON of every leaf) is read and parsed once per version
        definition = session.scalar(sa.select(table.definition).where(table.set_id == row.set_id,
                                                                      table.version == row.version))
        _SET_CACHE[key] = parse_criteria_set(definition, f"{row.set_id} v{row.version}")
    return _SET_CACHE[key]


def sets_for(session: Session, year: int, unit_kind: str) -> list[CriteriaSet]:
    ids = session.scalars(
        sa.select(CriteriaSetRow.set_id).where(CriteriaSetRow.year == year, CriteriaSetRow.unit_kind == unit_kind)
        .distinct()
    ).all()
    return [current_set(session, set_id) for set_id in sorted(ids)]


def units_of_kind(session: Session, kind: str) -> list[str]:
    return list(session.scalars(sa.select(Unit.unit_code).where(Unit.kind == kind).order_by(Unit.unit_code)))


def _lock_results(session: Session, set_id: str, unit_codes: Sequence[str], now: dt.datetime) -> None:
    """Lock the units' result rows (created if new), in code order so concurrent workers never deadlock.

    A few units (a submission): one upsert that touches the rows — ``ON CONFLICT DO UPDATE`` locks them as
    ``SELECT … FOR UPDATE`` would, one round trip instead of two. A whole set: insert the missing rows,
    then lock them all with one select.
    """
    rows = [{"set_id": set_id, "unit_code": code, "updated_at": now} for code in sorted(unit_codes)]
    if len(rows) <= _FEW:
        session.execute(upsert(session, UnitResultRow.__table__, ["set_id", "unit_code"], ["updated_at"]), rows)
        return
    session.execute(insert_ignore(session, UnitResultRow.__table__), rows)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.select(UnitResultRow.unit_code)
            .where(UnitResultRow.set_id == set_id, UnitResultRow.unit_code.in_(list(unit_codes)))
            .order_by(UnitResultRow.unit_code).with_for_update()
        ).all()


def _inputs(session: Session, cs: CriteriaSet, unit_codes: Sequence[str],
            whole_set: bool = False) -> dict[str, dict[str, LeafInput]]:
    """Every leaf input of these units: stored scores plus the yearly metrics for computed leaves.

    ``whole_set``: the codes are every unit the set scores, so the rows are selected by set (and year)
    rather than through an IN list of thousands of codes; rows of other units are skipped. Core queries
    (table columns): the ORM's per-row processing costs more than the query itself here.
    """
    by_unit: dict[str, dict[str, LeafInput]] = {code: {} for code in unit_codes}
    scores_table, metrics_table = LeafScore.__table__.c, MetricValue.__table__.c
    query = sa.select(scores_table.unit_code, scores_table.leaf_id, scores_table.self_points,
                      scores_table.appraised_points, scores_table.survey_points, scores_table.not_applicable
                      ).where(scores_table.set_id == cs.id)
    if not whole_set:
        query = query.where(scores_table.unit_code.in_(list(unit_codes)))
    for unit_code, leaf_id, self_points, appraised, survey, not_applicable in session.execute(query):
        sheet = by_unit.get(unit_code)
        if sheet is not None:  # None: a unit no longer of the set's kind
            sheet[leaf_id] = LeafInput(leaf_id, self_points, appraised, survey, None, bool(not_applicable))
    computed = [leaf for leaf in cs.leaves() if leaf.method.kind == "computed"]
    if computed:
        query = sa.select(metrics_table.unit_code, metrics_table.metric, metrics_table.value).where(
            metrics_table.year == cs.year)
        if not whole_set:
            query = query.where(metrics_table.unit_code.in_(list(unit_codes)))
        metrics = session.execute(query)
        # a stored NULL: the dossiers service said there is nothing to measure (no dossiers) — not applicable
        values: dict[tuple[str, str], Decimal | None] = {(u, m): v for u, m, v in metrics}
        for code in unit_codes:
            for leaf in computed:
                key = (code, leaf.method.metric or "")
                value = values.get(key)
                existing = by_unit[code].get(leaf.id)
                by_unit[code][leaf.id] = LeafInput(
                    leaf_id=leaf.id, metric_value=value,
                    appraised_points=existing.appraised_points if existing else None,
                    not_applicable=existing.not_applicable if existing else False,
                    nothing_to_measure=value is None and key in values,
                )
    return by_unit


def recalc_units(session: Session, cs: CriteriaSet, unit_codes: Iterable[str], now: dt.datetime, *,
                 whole_set: bool = False, summaries: dict[str, Any] | None = None) -> list[UnitResult]:
    """Recompute and store these units' results; ``summaries`` (if given) receives the stored summaries."""
    codes = sorted(set(unit_codes))
    if not codes:
        return []
    _lock_results(session, cs.id, codes, now)
    inputs = _inputs(session, cs, codes, whole_set)
    results = [compute_unit(cs, code, inputs[code]) for code in codes]
    rows = []
    for r in results:
        summary = result_json(r, leaves=False)
        if summaries is not None:
            summaries[r.unit_code] = summary
        rows.append({"set_id": cs.id, "unit_code": r.unit_code, "index": r.index,
                     "index_exact": _fraction(r.index_unrounded), "summary": summary, "updated_at": now})
    session.execute(sa.update(UnitResultRow), rows)  # the full sheet is not stored: see unit_sheet()
    return results


def unit_sheet(session: Session, cs: CriteriaSet, unit_code: str) -> dict[str, Any] | None:
    """A unit's full sheet (leaves included), computed from its stored inputs; None if never calculated.

    Every change of a unit's inputs recalculates it in the same transaction, so this is the sheet the last
    recalculation computed; storing it (7 KB of JSON per unit) made a full recalculation write 24 MB.
    """
    calculated = session.scalar(sa.select(UnitResultRow.__table__.c.unit_code).where(
        UnitResultRow.set_id == cs.id, UnitResultRow.unit_code == unit_code, UnitResultRow.summary.is_not(None)))
    if calculated is None:
        return None
    return result_json(compute_unit(cs, unit_code, _inputs(session, cs, [unit_code])[unit_code]))


class _Standing(NamedTuple):
    """What ranking needs of a unit's result (rank_units reads nothing else): the tie-breakers' values too."""

    unit_code: str
    index: Decimal
    index_unrounded: Fraction
    appraised_total: Decimal
    area_indexes: dict[str, Any]


_NOT_READ = Fraction(0)


def _fraction_of(text: str) -> Fraction:
    numerator, _, denominator = text.partition("/")
    return Fraction(int(numerator), int(denominator))


def _row_of(summary: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A ranking table row from a unit's stored summary (rank and class are set by the ranking)."""
    return {"unit_code": summary["unit_code"], "unit_name": name, "rank": None, "excluded": False,
            "classification": "",
            **{key: summary.get(key) for key in ("index", "self_total", "appraised_total", "survey_total",
                                                  "bonus_total", "total_points", "applicable_max", "provisional")},
            "index_exact": summary["index_unrounded"],
            "areas": {a["area_id"]: a["index"] for a in summary["areas"]}}


def rerank(session: Session, cs: CriteriaSet, now: dt.datetime,
           fresh: Mapping[str, Any] | None = None, *, changed: Mapping[str, Any] | None = None,
           announce: bool | None = None) -> dict[str, Any]:
    """Rank every unit with a result, store the table with the next version, queue ranking_updated.

    ``fresh``: summaries of every unit just computed (a full recalculation), not read back from the database.
    ``changed``: summaries of the few units just recalculated (a submission): the stored table's other rows
    are kept as they are and only re-ranked — reading every unit's summary back on each submission was most
    of its time (bench/scoring_recalc.py). Without a usable stored table, the whole table is rebuilt.
    ``announce``: queue ranking_updated; by default unless the set is in a season, whose ranking is provisional
    until the office publishes it (season_store.publish announces it then).
    """
    query = sa.select(Ranking).where(Ranking.set_id == cs.id)
    if changed is None:
        query = query.options(defer(Ranking.table))  # replaced, not read
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    ranking = session.scalars(query).one_or_none()  # the row exists after the set's first ranking: one round trip
    if ranking is None:
        session.execute(insert_ignore(session, Ranking.__table__),
                        [{"set_id": cs.id, "version": 0, "computed_at": now}])
        ranking = session.scalars(query).one()
    stored = ranking.table if changed is not None else None
    if isinstance(stored, list) and stored and all("index_exact" in row for row in stored):
        rows = {row["unit_code"]: row for row in stored}
        new = [code for code in changed or {} if code not in rows]
        names = dict(session.execute(sa.select(Unit.unit_code, Unit.name).where(Unit.unit_code.in_(new))).all()) \
            if new else {}
        for code, summary in (changed or {}).items():
            rows[code] = _row_of(summary, rows[code]["unit_name"] if code in rows else names.get(code, code))
        table_rows = list(rows.values())
    else:
        table_rows = _all_rows(session, cs, fresh)
    # the exact index is parsed only when a tie-breaker reads it (parsing 170 fractions per submission showed
    # in the profile); a row's index already carries the set's decimals
    exact = any(b.kind == "unrounded_index" for b in cs.effective_tie_breakers())
    standings = [_Standing(row["unit_code"], Decimal(row["index"]),
                           _fraction_of(row["index_exact"]) if exact else _NOT_READ,
                           Decimal(row["appraised_total"]), row["areas"])
                 for row in table_rows]
    by_code = {row["unit_code"]: row for row in table_rows}
    table = []
    for r in rank_units(standings, cs):
        row = dict(by_code[r.unit_code])
        row.update(rank=r.rank, excluded=r.excluded, classification=r.classification)
        table.append(row)
    ranking.version += 1
    ranking.table = table
    ranking.computed_at = now
    if announce is None:
        announce = not cs.season  # a season's ranking is announced when the office publishes it
    if not announce:
        return {"set_id": cs.id, "version": ranking.version, "computed_at": local_iso(now), "table": table,
                "precision": cs.precision, "tie_breakers": tie_breaker_notes(cs)}
    ranking_version.labels("scoring", cs.id).set(ranking.version)
    enqueue(session, OutboxEvent, "ranking_updated", {
        "set_id": cs.id, "set_version": cs.version, "year": cs.year, "unit_kind": cs.unit_kind,
        "version": ranking.version, "computed_at": local_iso(now), "units": len(table),
    })
    return {"set_id": cs.id, "version": ranking.version, "computed_at": local_iso(now), "table": table,
            "precision": cs.precision, "tie_breakers": tie_breaker_notes(cs)}


def _all_rows(session: Session, cs: CriteriaSet, fresh: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Every unit's ranking row from the stored results (summaries read back unless ``fresh`` has them)."""
    results = UnitResultRow.__table__.c
    codes = session.scalars(sa.select(results.unit_code).where(results.set_id == cs.id,
                                                                results.summary.is_not(None))).all()
    summaries: dict[str, Any] = dict(fresh or {})
    missing = [code for code in codes if code not in summaries]
    if missing:
        query = sa.select(results.unit_code, results.summary).where(results.set_id == cs.id,
                                                                    results.summary.is_not(None))
        if fresh is not None:
            query = query.where(results.unit_code.in_(missing))
        summaries.update(session.execute(query).all())
    names = dict(session.execute(sa.select(Unit.unit_code, Unit.name).where(Unit.kind == cs.unit_kind)).all())
    return [_row_of(summaries[code], names.get(code, code)) for code in codes]


def tie_breaker_notes(cs: CriteriaSet) -> list[str]:
    """The set's tie-breakers as the ranking document states them (Vietnamese), in order."""
    return [breaker.label_vi for breaker in cs.effective_tie_breakers()]


def _fraction(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def result_json(result: UnitResult, leaves: bool = True) -> dict[str, Any]:
    """The stored form of a unit's sheet: exact decimals as strings (leaves omitted for the summary)."""
    data = {
        "unit_code": result.unit_code,
        "self_total": str(result.self_total),
        "appraised_total": str(result.appraised_total),
        "survey_total": str(result.survey_total),
        "bonus_total": str(result.bonus_total),
        "total_points": str(result.total_points),
        "applicable_max": str(result.applicable_max),
        "index": str(result.index),
        "index_unrounded": _fraction(result.index_unrounded),
        "provisional": result.provisional,
        "areas": [{"area_id": a.area_id, "title": a.title, "points": str(a.points),
                   "applicable_max": str(a.applicable_max), "index": None if a.index is None else str(a.index)}
                  for a in result.areas],
        "precision": result.precision,
    }
    if leaves:
        # a leaf that does not apply shows "—" with "không áp dụng", never 0 (its maximum left the total)
        data["leaves"] = [{"leaf_id": leaf.leaf_id, "points": None if leaf.points is None else str(leaf.points),
                           "max_points": str(leaf.max_points), "applicable": leaf.applicable, "source": leaf.source,
                           **({"display": NOT_APPLICABLE_DASH, "note": NOT_APPLICABLE_VI} if not leaf.applicable
                              else {})}
                          for leaf in result.leaves]
    return data

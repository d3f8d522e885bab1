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
from sqlalchemy.orm import Session

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
from shared.db import insert_ignore, prebuilt, upsert
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
    return _latest(session, set_id)[0]


def set_and_unit_kind(session: Session, set_id: str, unit_code: str) -> tuple[CriteriaSet, str | None]:
    """The set's latest version and the unit's kind (None: no such unit) in one round trip: what every change of
    a unit's scores checks first."""
    return _latest(session, set_id, unit_code)


def _latest(session: Session, set_id: str, unit_code: str | None = None) -> tuple[CriteriaSet, str | None]:
    row = session.execute(prebuilt(session, "scoring.latest_set", _latest_statement),
                          {"b_set": set_id, "b_unit": unit_code}).first()
    if row is None:
        raise NotFound(f"set_id: không có bộ tiêu chí {set_id!r}")
    key = (row.set_id, row.version, row.checksum)
    if key not in _SET_CACHE:  # the definition (JSON of every leaf) is read and parsed once per version
        table = CriteriaSetRow.__table__.c
        definition = session.scalar(sa.select(table.definition).where(table.set_id == row.set_id,
                                                                      table.version == row.version))
        _SET_CACHE[key] = parse_criteria_set(definition, f"{row.set_id} v{row.version}")
    return _SET_CACHE[key], row.unit_kind


def _latest_statement(dialect: str) -> Any:
    table, units = CriteriaSetRow.__table__.c, Unit.__table__.c
    kind = sa.select(units.kind).where(units.unit_code == sa.bindparam("b_unit")).scalar_subquery()
    return (sa.select(table.set_id, table.version, table.checksum, kind.label("unit_kind"))
            .where(table.set_id == sa.bindparam("b_set")).order_by(table.version.desc()).limit(1))


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
        session.execute(prebuilt(session, "scoring.lock_results", lambda _: upsert(
            session, UnitResultRow.__table__, ["set_id", "unit_code"], ["updated_at"])), rows)
        return
    session.execute(insert_ignore(session, UnitResultRow.__table__), rows)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.select(UnitResultRow.unit_code)
            .where(UnitResultRow.set_id == set_id, UnitResultRow.unit_code.in_(list(unit_codes)))
            .order_by(UnitResultRow.unit_code).with_for_update()
        ).all()


def leaf_inputs(session: Session, cs: CriteriaSet, unit_codes: Sequence[str],
                whole_set: bool = False) -> dict[str, dict[str, LeafInput]]:
    """Every leaf input of these units: stored scores plus the yearly metrics for computed leaves.

    ``whole_set``: the codes are every unit the set scores, so the rows are selected by set (and year)
    rather than through an IN list of thousands of codes; rows of other units are skipped. Core queries
    (table columns): the ORM's per-row processing costs more than the query itself here.
    """
    by_unit: dict[str, dict[str, LeafInput]] = {code: {} for code in unit_codes}
    computed = [leaf for leaf in cs.leaves() if leaf.method.kind == "computed"]
    # a unit's few rows: scores and metrics in one round trip (a submission); a whole set: two plain scans
    if whole_set:
        queries = [_inputs_statement("scores", whole_set=True)] + (
            [_inputs_statement("metrics", whole_set=True)] if computed else [])
    else:
        queries = [prebuilt(session, "scoring.inputs_both" if computed else "scoring.inputs_scores",
                             lambda _: _inputs_statement("both" if computed else "scores", whole_set=False))]
    parameters = {"b_set": cs.id, "b_year": cs.year, "b_units": list(unit_codes)}
    # a stored NULL: the dossiers service said there is nothing to measure (no dossiers) — not applicable
    values: dict[tuple[str, str], Decimal | None] = {}
    for query in queries:
        for unit_code, key, self_points, appraised, survey, not_applicable, value in session.execute(query,
                                                                                                    parameters):
            if not_applicable is None:  # a metric row (a score's not_applicable is never NULL)
                values[(unit_code, key)] = value
                continue
            sheet = by_unit.get(unit_code)
            if sheet is not None:  # None: a unit no longer of the set's kind
                sheet[key] = LeafInput(key, self_points, appraised, survey, None, bool(not_applicable))
    for code in unit_codes if computed else ():
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


def _inputs_statement(which: str, whole_set: bool) -> Any:
    """The stored scores, the yearly metrics, or both in one (``UNION ALL``; a metric row has a NULL
    ``not_applicable``) — of the set's units, or of the units in ``b_units``."""
    scores_table, metrics_table = LeafScore.__table__.c, MetricValue.__table__.c
    scores = sa.select(scores_table.unit_code, scores_table.leaf_id, scores_table.self_points,
                       scores_table.appraised_points, scores_table.survey_points, scores_table.not_applicable,
                       sa.cast(sa.null(), metrics_table.value.type).label("value")
                       ).where(scores_table.set_id == sa.bindparam("b_set"))
    metrics = sa.select(metrics_table.unit_code, metrics_table.metric, sa.null(), sa.null(), sa.null(), sa.null(),
                        metrics_table.value).where(metrics_table.year == sa.bindparam("b_year"))
    if not whole_set:
        units = sa.bindparam("b_units", expanding=True)
        scores = scores.where(scores_table.unit_code.in_(units))
        metrics = metrics.where(metrics_table.unit_code.in_(units))
    return {"scores": scores, "metrics": metrics, "both": sa.union_all(scores, metrics)}[which]


def recalc_units(session: Session, cs: CriteriaSet, unit_codes: Iterable[str], now: dt.datetime, *,
                 whole_set: bool = False, summaries: dict[str, Any] | None = None) -> list[UnitResult]:
    """Recompute and store these units' results; ``summaries`` (if given) receives the stored summaries."""
    codes = sorted(set(unit_codes))
    if not codes:
        return []
    _lock_results(session, cs.id, codes, now)
    inputs = leaf_inputs(session, cs, codes, whole_set)
    results = [compute_unit(cs, code, inputs[code]) for code in codes]
    rows = []
    for r in results:
        summary = result_json(r, leaves=False)
        if summaries is not None:
            summaries[r.unit_code] = summary
        rows.append({"b_set": cs.id, "b_unit": r.unit_code, "index": r.index,
                     "index_exact": _fraction(r.index_unrounded), "summary": summary, "updated_at": now})
    # the summary, not the full sheet: see unit_sheet()
    session.execute(prebuilt(session, "scoring.store_results", _store_results_statement), rows)
    return results


def _store_results_statement(dialect: str) -> Any:
    results = UnitResultRow.__table__
    return sa.update(results).where(results.c.set_id == sa.bindparam("b_set"),
                                    results.c.unit_code == sa.bindparam("b_unit"))


def unit_sheet(session: Session, cs: CriteriaSet, unit_code: str) -> dict[str, Any] | None:
    """A unit's full sheet (leaves included), computed from its stored inputs; None if never calculated.

    Every change of a unit's inputs recalculates it in the same transaction, so this is the sheet the last
    recalculation computed; storing it (7 KB of JSON per unit) made a full recalculation write 24 MB.
    """
    calculated = session.scalar(sa.select(UnitResultRow.__table__.c.unit_code).where(
        UnitResultRow.set_id == cs.id, UnitResultRow.unit_code == unit_code, UnitResultRow.summary.is_not(None)))
    if calculated is None:
        return None
    return result_json(compute_unit(cs, unit_code, leaf_inputs(session, cs, [unit_code])[unit_code]))


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
    """A change of the set's results: the next ranking version, ranking_updated queued.

    ``changed`` (a submission: the few units just recalculated): only the version moves — the table is ranked
    again by the next reader (:func:`ranking_table`). Reading and rewriting the whole table on each submission
    was most of its cost (bench/scoring_recalc.py), and a submission's caller only needs the version.
    Otherwise (a full recalculation, a publication) the table is ranked now and stored with its version;
    ``fresh`` holds summaries of every unit just computed, not read back from the database.
    ``announce``: queue ranking_updated; by default unless the set is in a season, whose ranking is provisional
    until the office publishes it (season_store.publish announces it then).
    """
    version, units = _next_version(session, cs.id, now)
    answer: dict[str, Any] = {"set_id": cs.id, "version": version, "computed_at": local_iso(now),
                              "precision": cs.precision, "tie_breakers": tie_breaker_notes(cs)}
    if changed is None:
        answer["table"] = _rank(cs, _all_rows(session, cs, fresh))
        _store_table(session, cs, version, answer["table"])  # the row is locked by the bump: it is kept
    if announce is None:
        announce = not cs.season  # a season's ranking is announced when the office publishes it
    if announce:
        ranking_version.labels("scoring", cs.id).set(version)
        enqueue(session, OutboxEvent, "ranking_updated", {
            "set_id": cs.id, "set_version": cs.version, "year": cs.year, "unit_kind": cs.unit_kind,
            "version": version, "computed_at": local_iso(now), "units": units,
        })
    return answer


def _next_version(session: Session, set_id: str, now: dt.datetime) -> tuple[int, int]:
    """Bump the set's ranking version, locking its row until the transaction ends, and count the ranked units:
    one round trip once the row exists (versions then increase by exactly one per change, whichever worker
    makes it)."""
    bump = prebuilt(session, "scoring.next_version", _next_version_statement)
    parameters = {"b_set": set_id, "computed_at": now}
    row = session.execute(bump, parameters).first()
    if row is None:  # the set's first ranking
        session.execute(insert_ignore(session, Ranking.__table__), [{"set_id": set_id, "version": 0,
                                                                     "computed_at": now}])
        row = session.execute(bump, parameters).one()
    return row[0], row[1]


def _next_version_statement(dialect: str) -> Any:
    table, results = Ranking.__table__, UnitResultRow.__table__.c
    ranked = (sa.select(sa.func.count()).where(results.set_id == table.c.set_id, results.summary.is_not(None))
              .scalar_subquery())
    return (sa.update(table).where(table.c.set_id == sa.bindparam("b_set"))
            .values(version=table.c.version + 1, computed_at=sa.bindparam("computed_at"))
            .returning(table.c.version, ranked))


def _rank(cs: CriteriaSet, table_rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ranking table: every row with its rank, exclusion and classification (ranking.rank_units)."""
    # the exact index is parsed only when a tie-breaker reads it (parsing 170 fractions per ranking showed
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
    return table


def _store_table(session: Session, cs: CriteriaSet, version: int, table: list[dict[str, Any]]) -> bool:
    """Keep the table as ranked at ``version`` — unless the version moved on meanwhile (a change committed
    between reading the version and reading the results: the table may hold it, so it is not ``version``'s).
    True if kept."""
    rankings = Ranking.__table__.c
    kept = session.execute(sa.update(Ranking.__table__).where(rankings.set_id == cs.id, rankings.version == version)
                           .values(table=table, table_version=version))
    return kept.rowcount == 1


_READ_ATTEMPTS = 3


def ranking_table(session: Session, cs: CriteriaSet) -> dict[str, Any]:
    """The set's current ranking: version, time and table — the stored table if it is the current version's,
    otherwise ranked from the stored results now and kept for the next reader. A change committed while ranking
    makes the reader rank again (a few times at most), so the table it answers is its version's."""
    rankings = Ranking.__table__.c
    for _ in range(_READ_ATTEMPTS):
        row = session.execute(sa.select(rankings.version, rankings.computed_at, rankings.table_version)
                              .where(rankings.set_id == cs.id)).first()
        if row is None:
            return {"version": 0, "computed_at": None, "table": []}
        if row.table_version == row.version:
            table = session.scalar(sa.select(rankings.table).where(rankings.set_id == cs.id)) or []
            break
        table = _rank(cs, _all_rows(session, cs, None))
        if _store_table(session, cs, row.version, table):
            break
    return {"version": row.version, "computed_at": local_iso(row.computed_at), "table": table}


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
    # every ranked unit's name, whatever its kind now (a unit moved to another kind keeps its results here)
    names = dict(session.execute(sa.select(Unit.unit_code, Unit.name)).all())
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

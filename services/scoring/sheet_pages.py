"""The two web pages that show a unit's sheet, each answered by one RPC in one transaction (issue 15).

The PAR Index sheet (``/chi-so/<set>/don-vi/<unit>``) asked five entrypoints at once — outline, computed result,
stored scores, history, season status — each opening its own transaction and reading the set again; the season
sheet (``/chi-so/<set>/danh-gia/<unit>``) asked two in turn. Every RabbitMQ round trip and every transaction
costs more than the queries themselves, so each page now asks once and gets everything it shows.

The outline is immutable per published version: it is built once per (set id, version, checksum), like the
parsed set (recalc.current_set), and not sent at all when the caller already holds that version's copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from services.scoring import reads, season_store
from services.scoring.criteria import CriteriaSet
from services.scoring.recalc import NotFound, current_set, unit_sheet

HISTORY_SHOWN = 200  # the page lists the latest 200 changes and says how many there were
_OUTLINES: dict[tuple[str, int, str], dict[str, Any]] = {}


def outline_key(cs: CriteriaSet) -> list[Any]:
    """What names an outline's content: its version and checksum (a list: it travels as JSON)."""
    return [cs.version, cs.checksum]


def outline(cs: CriteriaSet) -> dict[str, Any]:
    """The set's outline, built once per published version (callers must not change it: it is shared)."""
    key = (cs.id, cs.version, cs.checksum)
    found = _OUTLINES.get(key)
    if found is None:
        found = _OUTLINES[key] = reads.criteria_outline(cs)
    return found


def _result(session: Session, cs: CriteriaSet, unit_code: str) -> dict[str, Any]:
    found = unit_sheet(session, cs, unit_code)
    if found is None:
        raise NotFound(f"unit_code: no result for {unit_code!r} in {cs.id}")
    return found


def unit_sheet_page(session: Session, set_id: str, unit_code: str, live: bool,
                    known_outline: Sequence[Any] | None = None) -> dict[str, Any]:
    """Everything the PAR Index sheet of a unit shows: the outline (omitted when ``known_outline`` names the
    current version's), the computed result, the stored scores, the latest changes and whether the result is
    hidden. ``live``: the caller reads everything (the office), who sees a season's index before publication;
    a unit's own people see it once the season's results are published — before, they get the outline only (their
    sheet is the season's page, which shows what the season lets them see)."""
    cs = current_set(session, set_id)
    key = outline_key(cs)
    hidden = cs.season and not live and not season_store.published_ranking_exists(session, cs.id)
    answer = {"outline_key": key, "outline": None if list(known_outline or ()) == key else outline(cs),
              "result_hidden": hidden}
    if hidden:  # area and leaf points, the council's points and its changes would give the index away
        return {**answer, "result": None, "scores": [], "history": [], "history_total": 0}
    history, history_total = reads.recent_history(session, cs.id, unit_code, HISTORY_SHOWN)
    return {**answer, "result": _result(session, cs, unit_code), "scores": reads.score_rows(session, cs, unit_code),
            "history": history, "history_total": history_total}


def season_sheet_page(session: Session, set_id: str, unit_code: str, live: bool) -> dict[str, Any]:
    """The season sheet of a unit with its computed result when the caller may see it: ``live`` (the office)
    always, a unit's own people once the sheet is published; otherwise ``result`` is None — and None too while
    nothing of the unit was ever calculated (a sheet not started: the page shows it without an index, where
    asking unit_result made it a 404)."""
    cs = current_set(session, set_id)
    sheet = season_store.sheet_view(session, cs, unit_code)
    shown = live or sheet["status"] == "published"
    return {"sheet": sheet, "result": unit_sheet(session, cs, unit_code) if shown else None}

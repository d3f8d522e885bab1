"""Read models behind the RPC API: one dossier, and period statistics for a unit or a whole tree level."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from services.dossiers.lifecycle import TimelinessRules
from services.dossiers.models import Dossier, DossierEvent
from services.dossiers.periods import parse_period
from services.dossiers.statistics import PeriodStats, build, rollup
from services.dossiers.stats_query import as_of_for, counts_by_unit


class NotFound(LookupError):
    """A dossier, unit or period the caller named does not exist (mapped to a not-found error at the edge)."""


def dossier_view(session: Session, code: str) -> dict[str, Any]:
    dossier = session.get(Dossier, code)
    if dossier is None:
        raise NotFound(f"dossier_code: no dossier {code!r}")
    events = session.query(DossierEvent).filter(DossierEvent.dossier_code == code).order_by(DossierEvent.time).all()
    return {"dossier": dossier, "events": events}


def period_stats(
    session: Session,
    rules: TimelinessRules,
    unit_code: str,
    period_label: str,
    now: dt.datetime,
    include_children: bool = False,
) -> list[PeriodStats]:
    """The unit's figures (its own dossiers plus everything below it), optionally each child's too."""
    period = parse_period(period_label)
    unit = rules.units.get(unit_code)
    if unit is None:
        raise NotFound(f"unit_code: no unit {unit_code!r}")
    wanted = [unit_code] + ([c.code for c in rules.units.children(unit_code)] if include_children else [])
    members = sorted({m for code in wanted for m in rules.units.descendants(code)})
    own = counts_by_unit(session, period, now, rules.granularity, members)
    totals = rollup(rules.units, own, wanted)
    as_of = as_of_for(period, now).date()
    names = {code: rules.units.get(code).name for code in wanted}  # type: ignore[union-attr]
    return [build(code, names[code], period, as_of, rules.granularity.value, totals[code]) for code in wanted]

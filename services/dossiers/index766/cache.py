"""The province ranking kept in memory, so the page a Sở Nội vụ opens answers in milliseconds.

Recomputing every group of every unit reads a month of dossiers (~180,000 for a province like Phú Thọ, 3,321
communes nationally): a few seconds even counted by the database (aggregate.py, bench/index766.py). The portal
publishes monthly; an office needs the figures "live", not to the second. So the last ranking of each period is
kept with

* the **fingerprint** of the data it was computed from — the newest stored one-door event, the newest petition
  change, the newest procedure-facts import, the catalogue version — and the local **day** it was judged at;
* the time it was computed.

An answer is served from memory while nothing was stored since and it is still the same day (the as-of instant then
only moves within a day, and the board compares days), or while it is younger than
``index766.ranking_max_age_seconds`` (the one-door sends all day: figures up to that old, and the answer says when
it was computed: ``computed_at``) — unless a procedure-facts import or a new catalogue came since: those show at
once. Otherwise it is recomputed. A timer (``index766.ranking_refresh_seconds``)
recomputes the running month's ranking ahead of the next page view. Each service process keeps its own; a
computation in progress is waited for, never started twice.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.dossiers.index766.tables import PetitionRow, ProcedureImportRow
from services.dossiers.models import DossierEvent
from shared.calendar import LOCAL_TZ

__all__ = ["RankingCache", "fingerprint"]


def fingerprint(session: Session, catalogue_version: int) -> tuple[Any, ...]:
    """What the ranking was computed from, in three indexed or small lookups."""
    newest_event = session.scalar(sa.select(sa.func.max(DossierEvent.stored_at)))
    newest_petition = session.scalar(sa.select(sa.func.max(PetitionRow.updated_at)))
    newest_import = session.scalar(sa.select(sa.func.max(ProcedureImportRow.id)))
    return (newest_event, newest_petition, newest_import, catalogue_version)


@dataclass
class _Entry:
    doc: dict[str, Any]
    fingerprint: tuple[Any, ...]
    day: dt.date
    computed_at: dt.datetime


class RankingCache:
    """Rankings by board period (every unit; a kind is filtered from it): see the module's rules."""

    def __init__(self, max_age_seconds: float) -> None:
        self.max_age = dt.timedelta(seconds=max_age_seconds)
        self.entries: dict[str, _Entry] = {}  # by board period label
        self.locks: dict[str, threading.Lock] = {}
        self.guard = threading.Lock()

    def get(self, key: str, now: dt.datetime, current: tuple[Any, ...], compute: Callable[[], dict[str, Any]], *,
            max_age: dt.timedelta | None = None) -> dict[str, Any]:
        """The cached ranking if it may be served, else ``compute()`` (once, whoever else asks meanwhile);
        ``max_age`` overrides the configured one (the refresh timer renews what is half as old)."""
        with self.guard:
            lock = self.locks.setdefault(key, threading.Lock())
        with lock:
            entry = self.entries.get(key)
            if entry is not None and self._fresh(entry, now, current, max_age or self.max_age):
                return {**entry.doc, "computed_at": entry.computed_at.astimezone(LOCAL_TZ).isoformat(),
                        "from_cache": True}
            doc = compute()
            self.entries[key] = _Entry(doc, current, now.astimezone(LOCAL_TZ).date(), now)
            return {**doc, "computed_at": now.astimezone(LOCAL_TZ).isoformat(), "from_cache": False}

    @staticmethod
    def _fresh(entry: _Entry, now: dt.datetime, current: tuple[Any, ...], max_age: dt.timedelta) -> bool:
        if entry.fingerprint[2:] != current[2:]:
            return False  # a procedure-facts import or a new catalogue: shown at once, whatever the age
        if now - entry.computed_at < max_age:
            return True
        return entry.fingerprint == current and entry.day == now.astimezone(LOCAL_TZ).date()

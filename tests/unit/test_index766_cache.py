"""The ranking kept in memory (index766/cache.py): served while nothing changed the same day or while young enough,
recomputed otherwise, at once after a procedure-facts import or a new catalogue, and computed once when asked
together."""

from __future__ import annotations

import datetime as dt

import eventlet

from services.dossiers.index766.cache import RankingCache
from shared.calendar import LOCAL_TZ

T0 = dt.datetime(2026, 8, 20, 9, 0, tzinfo=LOCAL_TZ)
DATA = ("events@9:00", "petitions@8:00", 3, 1)  # newest event, petition change, import id, catalogue version


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict:
        self.calls += 1
        eventlet.sleep(0.01)  # a computation takes time: others asking meanwhile wait for it
        return {"units": [], "n": self.calls}


def test_served_while_nothing_changed_the_same_day_or_while_young():
    cache, compute = RankingCache(300), Counting()
    first = cache.get("2026-08", T0, DATA, compute)
    assert first["from_cache"] is False and first["computed_at"] == T0.isoformat()
    later = T0 + dt.timedelta(hours=5)
    assert cache.get("2026-08", later, DATA, compute)["from_cache"] is True  # unchanged, same day
    changed = ("events@14:00", *DATA[1:])
    assert cache.get("2026-08", T0 + dt.timedelta(seconds=299), changed, compute)["from_cache"] is True  # young
    assert cache.get("2026-08", later, changed, compute)["from_cache"] is False  # changed and old: recomputed
    assert compute.calls == 2
    next_day = dt.datetime(2026, 8, 21, 0, 1, tzinfo=LOCAL_TZ)
    assert cache.get("2026-08", next_day, changed, compute)["from_cache"] is False  # the board compares days
    assert cache.get("2026-07", next_day, changed, compute)["from_cache"] is False  # periods apart


def test_an_import_or_a_new_catalogue_shows_at_once():
    cache, compute = RankingCache(300), Counting()
    cache.get("2026-08", T0, DATA, compute)
    soon = T0 + dt.timedelta(seconds=5)
    assert cache.get("2026-08", soon, (*DATA[:2], 4, 1), compute)["from_cache"] is False
    assert cache.get("2026-08", soon, (*DATA[:2], 4, 2), compute)["from_cache"] is False
    assert compute.calls == 3


def test_the_refresh_renews_what_is_half_as_old():
    cache, compute = RankingCache(300), Counting()
    cache.get("2026-08", T0, DATA, compute)
    changed = ("events@9:03", *DATA[1:])
    at = T0 + dt.timedelta(seconds=160)
    assert cache.get("2026-08", at, changed, compute, max_age=dt.timedelta(seconds=150))["from_cache"] is False
    assert cache.get("2026-08", at, changed, compute)["from_cache"] is True


def test_asked_together_computed_once():
    cache, compute = RankingCache(300), Counting()
    pool = eventlet.GreenPool()
    answers = list(pool.imap(lambda _: cache.get("2026-08", T0, DATA, compute), range(5)))
    assert compute.calls == 1 and sum(1 for a in answers if not a["from_cache"]) == 1

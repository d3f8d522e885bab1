"""The figures' JSON and roll-up as the read path builds them without marshmallow or ``dataclasses.asdict``
(services/dossiers/statistics.py, schemas.py ``dump_stats``), held equal to the definitions they replace."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

from services.dossiers.periods import parse_period
from services.dossiers.schemas import StatsSchema, dump_stats
from services.dossiers.statistics import Counts, PeriodStats, build, rollup
from services.dossiers.units import UnitTree


def reference_dict(stats: PeriodStats) -> dict:
    """``to_dict`` as it was first written (asdict of the whole object, then the derived figures)."""
    data = {k: v for k, v in dataclasses.asdict(stats).items() if k != "counts"}
    data.update(dataclasses.asdict(stats.counts))
    data.update(total=stats.total, finished=stats.finished, unfinished=stats.unfinished,
                on_time_rate=None if stats.on_time_rate is None else str(stats.on_time_rate),
                progress_766_total=stats.progress_766_total,
                progress_766_rate=None if stats.progress_766_rate is None else str(stats.progress_766_rate),
                progress_766_score=None if stats.progress_766_score is None else str(stats.progress_766_score),
                online_share=None if stats.online_share is None else str(stats.online_share))
    for key in ("start", "end", "as_of"):
        data[key] = data[key].isoformat()
    return data


def random_counts(rng: random.Random) -> Counts:
    if rng.random() < 0.2:
        return Counts()  # nothing to measure: every rate absent
    finished = [rng.randint(0, 50) for _ in range(3)]
    return Counts(carried_over=rng.randint(0, 30), received_new=sum(finished) + rng.randint(0, 40),
                  finished_early=finished[0], finished_on_time=finished[1], finished_late=finished[2],
                  unfinished_within=rng.randint(0, 20), unfinished_overdue=rng.randint(0, 9),
                  withdrawn=rng.randint(0, 3), returned=rng.randint(0, 3), on_time_766=finished[0] + finished[1],
                  received_online=rng.randint(0, 10))


def test_to_dict_and_dump_equal_asdict_and_marshmallow_on_every_kind_of_row() -> None:
    rng = random.Random(766)
    period = parse_period("2026-H2")
    rows = [build(f"U{i}", f"Đơn vị {i}", period, dt.date(2026, 12, 7), "date", random_counts(rng)) for i in range(300)]
    assert any(r.progress_766_rate is None for r in rows) and any(r.progress_766_rate is not None for r in rows)
    dicts = [r.to_dict() for r in rows]
    assert dicts == [reference_dict(r) for r in rows]
    assert dump_stats(dicts) == StatsSchema(many=True).dump(dicts)


def test_rollup_is_the_sum_of_each_subtree() -> None:
    tree = UnitTree.for_province(25)
    rng = random.Random(25)
    own = {u.code: random_counts(rng) for u in tree if rng.random() < 0.7}
    root = next(u.code for u in tree if u.parent_code is None)
    wanted = [root] + [c.code for c in tree.children(root)]
    totals = rollup(tree, own, wanted)
    for code in wanted:
        expected = Counts()
        for member in tree.descendants(code):
            expected = expected + own.get(member, Counts())
        assert totals[code] == expected
    assert rollup(tree, {}, [root])[root] == Counts()
    assert rollup(tree, {"X": Counts(received_new=2)}, ["X"])["X"] == Counts(received_new=2)  # unknown: itself

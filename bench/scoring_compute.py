"""Time of a full PAR Index recalculation (no asserts: a number to watch, not a test).

A province recomputes every unit when a criteria set, the survey import or the yearly metrics change:
3,321 communes (the whole country's commune level, the largest case) × the commune set's leaves must take
well under 2 s in pure Python. Also prints the per-unit time for a province-sized department run
(170 units × the department set's ~60 leaves) and the time to rank the 3,321 results.

Run: .venv/bin/python bench/scoring_compute.py
"""

from __future__ import annotations

import random
import time
from decimal import Decimal

from services.scoring.computation import LeafInput, compile_set, compute_unit
from services.scoring.criteria import DATA_DIR, CriteriaSet, MethodKind, load_criteria_set
from services.scoring.ranking import rank_units

COMMUNES = 3_321
DEPARTMENTS = 170


def _inputs(criteria_set: CriteriaSet, rng: random.Random) -> dict[str, LeafInput]:
    """A realistic unit: self-assessed points on every step, most of them appraised, rates, survey points."""
    inputs = {}
    for leaf in criteria_set.leaves():
        kind = leaf.method.kind
        if kind is MethodKind.SELF:
            steps = int(leaf.max_points / leaf.method.step)
            own = leaf.method.step * rng.randint(steps // 2, steps)
            appraised = leaf.method.step * rng.randint(0, steps) if rng.random() < 0.9 else None
            inputs[leaf.id] = LeafInput(leaf.id, self_points=own, appraised_points=appraised)
        elif kind is MethodKind.COMPUTED:
            rate = Decimal(rng.randint(6000, 10000)).scaleb(-2)
            inputs[leaf.id] = LeafInput(leaf.id, metric_value=rate)
        elif kind is MethodKind.SURVEY:
            points = Decimal(rng.randint(0, int(leaf.max_points * 100))).scaleb(-2)
            inputs[leaf.id] = LeafInput(leaf.id, survey_points=points)
        elif rng.random() < 0.1:
            inputs[leaf.id] = LeafInput(leaf.id, appraised_points=-leaf.method.step)
    return inputs


def _time(criteria_set: CriteriaSet, units: int, rng: random.Random) -> tuple[float, list]:
    all_inputs = [(f"U{number:05d}", _inputs(criteria_set, rng)) for number in range(units)]
    compile_set(criteria_set)  # built once per set; the service keeps it across recalculations
    began = time.perf_counter()
    results = [compute_unit(criteria_set, code, inputs) for code, inputs in all_inputs]
    return time.perf_counter() - began, results


def main() -> None:
    rng = random.Random(766)
    commune = load_criteria_set(DATA_DIR / "commune-2026.yaml")
    department = load_criteria_set(DATA_DIR / "department-2026.yaml")

    elapsed, results = _time(commune, COMMUNES, rng)
    leaves = len(commune.leaves())
    print(f"{COMMUNES:,} communes × {leaves} leaves: {elapsed:.3f} s "
          f"({elapsed / COMMUNES * 1e6:.0f} µs/unit, {elapsed / COMMUNES / leaves * 1e6:.2f} µs/leaf)")

    began = time.perf_counter()
    rank_units(results, commune)
    print(f"ranking {COMMUNES:,} results: {time.perf_counter() - began:.3f} s")

    elapsed, _ = _time(department, DEPARTMENTS, rng)
    leaves = len(department.leaves())
    print(f"{DEPARTMENTS} departments × {leaves} leaves: {elapsed:.3f} s "
          f"({elapsed / DEPARTMENTS * 1e6:.0f} µs/unit)")


if __name__ == "__main__":
    main()

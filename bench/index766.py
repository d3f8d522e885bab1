"""Decision 766: recomputing every group for 3,321 communes and a month of traffic, beside the timeliness group
alone, in the same run.

No asserts: numbers to watch, not a test. The data are written straight into a fresh dossiers database (SQLite file
or a PostgreSQL schema, dropped at the end) — the ingest has its own bench — for one national tree: a root and all
3,321 communes and wards of ``vietnam-provinces``. A month (August 2026) of dossiers per commune, a few percent
carried over from July, supplement rounds, closings, Decision 766 facts on most dossiers, petitions, and one import
of procedure facts. Then, each ``--runs`` times:

* **baseline** — the timeliness group alone, as the service computes it today: ``stats_query.counts_by_unit`` (one
  grouped SQL query) for the calendar month and ``progress766.progress_score`` per unit;
* **all groups, before** — the ranking as it was computed until the database counted the dossier indicators: every
  dossier's view loaded (rows, facts, supplement steps) and judged in Python, tallied per unit and rolled up;
* **all groups** — ``index766.reads.ranking``: one grouped query counts every dossier indicator per unit
  (index766/aggregate.py), the dossiers with supplement rounds are judged in Python, every unit scored and
  ranked — split into its phases.

Then the ranking as the RPC serves it between changes (kept in memory, index766/cache.py). All figures and their
ratios are printed (the CPU is shared: only the ratio means something across machines).

Run: .venv/bin/python bench/index766.py [--per-commune 55] [--runs 3] [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import vietnam_provinces

from services.dossiers import stats_query, stats_verify
from services.dossiers.catalogue import Catalogue
from services.dossiers.index766 import reads, store
from services.dossiers.index766.cache import RankingCache
from services.dossiers.index766.tables import DossierFactsRow, PetitionRow
from services.dossiers.index766.views import ProcedureFacts
from services.dossiers.lifecycle import TimelinessRules
from services.dossiers.models import Dossier, DossierEvent
from services.dossiers.outcomes import Granularity
from services.dossiers.periods import Period, PeriodKind
from services.dossiers.progress766 import progress_score
from services.dossiers.units import COMMUNES_VALID_FROM, Unit, UnitKind, UnitTree
from shared.calendar import LOCAL_TZ, WorkingCalendar
from shared.config import load_config
from shared.db import Database, open_database
from shared.heap import freeze_startup_heap

REPO = Path(__file__).resolve().parent.parent
PERIOD = "2026-08"
START, END = dt.date(2026, 8, 1), dt.date(2026, 8, 31)
NOW = dt.datetime(2026, 9, 3, 8, 0, tzinfo=LOCAL_TZ)
CHUNK = 20_000


def load_avg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


def national_tree() -> UnitTree:
    root = Unit("VN", "Toàn quốc (3.321 xã, phường)", UnitKind.PROVINCE, None, None, None)
    wards = [Unit(f"{int(w.code):05d}", w.name, UnitKind.COMMUNE, root.code, COMMUNES_VALID_FROM, None)
             for w in vietnam_provinces.Ward.iter_all()]
    return UnitTree([root, *wards])


def at(day: dt.date, rng: random.Random) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(7, 30), LOCAL_TZ) + dt.timedelta(minutes=rng.randrange(9 * 60))


def month(tree: UnitTree, catalogue: Catalogue, per_commune: int, seed: int) -> dict[str, list[dict[str, Any]]]:
    """Rows of a month: dossiers, their facts, supplement steps, petitions."""
    rng = random.Random(seed)
    procedures = [p.code for p in catalogue.for_level("commune")]
    written = dt.datetime(2026, 9, 3, tzinfo=dt.UTC)
    tables: dict[str, list[dict[str, Any]]] = {"dossiers": [], "facts": [], "events": [], "petitions": []}
    for unit in tree:
        if unit.kind is not UnitKind.COMMUNE:
            continue
        for number in range(max(1, round(rng.gauss(per_commune, per_commune / 4)))):
            code = f"{unit.code}-{number:05d}"
            carried = rng.random() < 0.05
            received = at(dt.date(2026, 7, rng.randint(20, 31)) if carried else START + dt.timedelta(
                days=rng.randrange(31)), rng)
            due = received + dt.timedelta(days=rng.choice((1, 3, 5, 7, 10)))
            roll = rng.random()
            closing = "finished" if roll < 0.85 else "withdrawn" if roll < 0.87 else "rejected" if roll < 0.88 \
                else None
            closed = received + dt.timedelta(days=rng.uniform(0.1, 12)) if closing else None
            rounds = 2 if rng.random() < 0.01 else 1 if rng.random() < 0.08 else 0
            step = received
            for _ in range(rounds):
                requested = step + dt.timedelta(hours=rng.randint(2, 48))
                supplied = requested + dt.timedelta(hours=rng.randint(4, 120))
                for kind, when in (("dossier.supplement_requested", requested),
                                   ("dossier.supplement_received", supplied)):
                    tables["events"].append({"event_id": str(uuid.UUID(int=rng.getrandbits(128))),
                                             "dossier_code": code, "event_type": kind, "time": when,
                                             "occurred_at": when, "payload": {}, "source": "bench",
                                             "stored_at": written})
                step = supplied
            local = LOCAL_TZ
            tables["dossiers"].append({
                "dossier_code": code, "status": "resolved" if closing == "finished" else closing or "in_progress",
                "status_code": 9 if closing else 4, "unit_code": unit.code, "procedure_code": rng.choice(procedures),
                "channel": "online" if rng.random() < 0.45 else "in_person", "received_at": received,
                "received_date": received.astimezone(local).date(), "processing_amount": Decimal(5),
                "time_unit": "working_days", "due_at": due, "due_date": due.astimezone(local).date(),
                "onedoor_due_at": due, "due_mismatch": False, "paused": False, "supplement_rounds": rounds,
                "closing": closing, "closed_at": closed,
                "closed_date": closed.astimezone(local).date() if closed else None,
                "finished_at": closed if closing == "finished" else None,
                "outcome": None, "on_time_766": None, "first_seen_at": written, "updated_at": written,
            })
            if rng.random() < 0.9:
                fee = rng.random() < 0.4
                tables["facts"].append({
                    "dossier_code": code, "receipt_event_id": None, "receipt_at": received,
                    "component_count": rng.randint(1, 4), "digitised": rng.random() < 0.6,
                    "reused": rng.random() < 0.02, "from_store": rng.random() < 0.03,
                    "vneid": rng.random() < 0.4, "population_data": rng.random() < 0.3,
                    "fee_lines": 1 if fee else None, "fee_nonzero": (rng.random() > 0.1) if fee else None,
                    "receipt_paid_at": received if fee and rng.random() < 0.5 else None,
                    "receipt_payment_channel": None, "paid_at": None, "paid_channel": None,
                    "e_result_at": closed if closing == "finished" and rng.random() < 0.7 else None,
                    "result_pushed": False, "rating_event_id": None,
                    "rated_at": closed if closing == "finished" and rng.random() < 0.3 else None,
                    "rating": rng.choice(("satisfied", "dissatisfied")) if closing == "finished" else None,
                    "synced_at": received + dt.timedelta(minutes=5) if rng.random() < 0.97 else None,
                    "updated_at": written,
                })
            if rng.random() < 0.003:
                sent = received + dt.timedelta(days=rng.randint(1, 10))
                answered = sent + dt.timedelta(days=rng.randint(1, 30)) if rng.random() < 0.8 else None
                tables["petitions"].append({
                    "petition_code": f"P-{code}", "unit_code": unit.code, "received_at": sent,
                    "category": "procedure", "dossier_code": code, "answered_at": answered,
                    "outcome": "handled" if answered else None, "likes": rng.randint(0, 3),
                    "dislikes": rng.randint(0, 3), "rated_at": answered, "first_seen_at": written,
                    "updated_at": written})
    return tables


def procedure_facts(catalogue: Catalogue) -> list[ProcedureFacts]:
    rng = random.Random(766)
    return [ProcedureFacts(p.code, level=p.level, online_level=rng.choice(("none", "partial", "full")),
                           fee_bearing=rng.random() < 0.4, citizen_subject=True, public_content_complete=True,
                           published_in_period=rng.random() < 0.1, published_on_time=True,
                           e_certified_copy=True if p.code == "2.000815.H44" else None)
            for p in catalogue.for_level("commune")]


@contextlib.contextmanager
def database(backend: str) -> Iterator[Database]:
    """A fresh dossiers database: a temporary SQLite file, or a PostgreSQL schema dropped afterwards."""
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            folder = stack.enter_context(tempfile.TemporaryDirectory())
            config = load_config(DATABASE_URL=f"sqlite:///{folder}/<service>.db")
        else:
            if str(REPO) not in sys.path:  # run as a script: the tests' helpers are beside it
                sys.path.insert(0, str(REPO))
            from tests.support import PG_URL, pg_schema_prefix  # a throw-away schema, dropped afterwards

            config = load_config(DATABASE_URL=PG_URL, DATABASE_SCHEMA=stack.enter_context(pg_schema_prefix()))
        db = open_database(config, "dossiers")
        try:
            yield db
        finally:
            db.engine.dispose()


def fill(db: Database, tables: dict[str, list[dict[str, Any]]], facts: list[ProcedureFacts]) -> None:
    targets = (("dossiers", Dossier.__table__), ("facts", DossierFactsRow.__table__),
               ("events", DossierEvent.__table__), ("petitions", PetitionRow.__table__))
    with db.transaction() as session:
        for name, table in targets:
            rows = tables[name]
            for offset in range(0, len(rows), CHUNK):
                session.execute(sa.insert(table), rows[offset:offset + CHUNK])
        store.store_import(session, reads.parse_board_period(PERIOD), facts, actor="bench", file_name="bench.csv",
                           content=b"bench", report={}, now=NOW)
    with db.transaction() as session:  # the per-day counters the timeliness figures are read from (0007)
        stats_verify.rebuild(session, Granularity.DATE)
    if db.is_postgres:
        with db.engine.begin() as connection:
            connection.execute(sa.text("ANALYZE"))


def baseline(db: Database) -> int:
    """The timeliness group alone, by today's path: one grouped query, then 20 × on time / total per unit."""
    period = Period(PeriodKind.MONTH, PERIOD, START, END)  # the board's calendar month
    with db.transaction() as session:
        counts = stats_query.counts_by_unit(session, period, NOW, Granularity.DATE)
    scores = [progress_score(c.on_time_766, c.carried_over + c.received_new - c.withdrawn - c.returned)
              for c in counts.values()]
    return len(scores)


class Phases:
    """Time spent in the phases of the full recalculation (functions patched while it runs)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def patch(self) -> Iterator[None]:
        targets = ((store, "dossier_views"), (store, "petition_views"), (store, "procedure_facts"),
                   (reads, "tally"), (reads, "compute"),
                   (reads.aggregate, "count_dossiers"), (reads.aggregate, "round_views"),
                   (reads, "rank_by_points_at_stake"))
        originals = [(module, name, getattr(module, name)) for module, name in targets]
        for module, name, original in originals:
            setattr(module, name, self._timed(name, original))
        try:
            yield
        finally:
            for module, name, original in originals:
                setattr(module, name, original)

    def _timed(self, label: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - began

        return timed


def full(db: Database, rules: TimelinessRules, phases: Phases) -> int:
    with db.transaction() as session, phases.patch():
        doc = reads.ranking(session, rules, PERIOD, NOW)
    return len(doc["units"])


def per_dossier_all(session: Any, rules: TimelinessRules, period: Any, now: dt.datetime) -> Any:
    """``reads._all`` as it was before the database counted the dossier indicators: every dossier's view loaded
    and judged in Python (still the path of one unit's page, which lists the dossiers behind its lost points)."""
    facts, chosen = store.procedure_facts(session, period)
    ctx = reads._context(period, now, rules, facts)
    dossiers = store.dossier_views(session, rules, period)
    petitions = store.petition_views(session, period)
    tallies = reads.tally(rules.units, dossiers, petitions, facts, ctx)
    warnings = reads.coverage_warnings(reads.coverage_of(dossiers), petitions, chosen, period)
    return ctx, tallies, reads.active_units(rules.units, ctx), warnings, chosen


def per_dossier(db: Database, rules: TimelinessRules) -> int:
    original = reads._all
    reads._all = per_dossier_all
    try:
        with db.transaction() as session:
            doc = reads.ranking(session, rules, PERIOD, NOW)
    finally:
        reads._all = original
    return len(doc["units"])


def cached(db: Database, rules: TimelinessRules, cache: RankingCache) -> int:
    """The RPC's answer once the ranking is in memory and nothing was stored since (index766/cache.py): the
    data's fingerprint read, the kept ranking returned."""
    with db.transaction() as session:
        doc = reads.ranking(session, rules, PERIOD, NOW, cache=cache)
    assert doc["from_cache"], "the bench's data do not change between runs"
    return len(doc["units"])


def province_page(db: Database, rules: TimelinessRules) -> int:
    """The root's own page (``index766``): counted by the database, the first 50 misses per indicator judged."""
    with db.transaction() as session:
        doc = reads.unit_index(session, rules, "VN", PERIOD, NOW, max_items=50)
    return sum(len(loss["items"]) for loss in doc["losses"])


def timed(fn: Callable[[], int], runs: int) -> tuple[list[float], int]:
    samples, result = [], 0
    for _ in range(runs):
        began = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - began)
    return samples, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-commune", type=int, default=55,
                        help="dossiers received per commune in the month (55: ~184,000, the size of a Phú Thọ month)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seed", type=int, default=766)
    args = parser.parse_args()

    catalogue = Catalogue.load()
    tree = national_tree()
    rules = TimelinessRules(calendar=WorkingCalendar(), catalogue=catalogue, units=tree)
    began = time.perf_counter()
    tables = month(tree, catalogue, args.per_commune, args.seed)
    communes = sum(1 for u in tree if u.kind is UnitKind.COMMUNE)
    print(f"load average before: {load_avg()}")
    print(f"{communes:,} communes; {len(tables['dossiers']):,} dossiers ({len(tables['facts']):,} with Decision 766 "
          f"facts), {len(tables['events']):,} supplement steps, {len(tables['petitions']):,} petitions; "
          f"generated in {time.perf_counter() - began:.1f} s")
    with database(args.backend) as db:
        began = time.perf_counter()
        fill(db, tables, procedure_facts(catalogue))
        print(f"{args.backend}: written in {time.perf_counter() - began:.1f} s")
        del tables
        freeze_startup_heap()  # as every service process does (shared/heap.py)
        base_samples, units_base = timed(lambda: baseline(db), args.runs)
        old_samples, units_old = timed(lambda: per_dossier(db, rules), args.runs)
        phases = Phases()
        full_samples, units_full = timed(lambda: full(db, rules, phases), args.runs)
        cache = RankingCache(300)
        with db.transaction() as session:
            reads.ranking(session, rules, PERIOD, NOW, cache=cache)  # computed once, then kept
        cache_samples, units_cached = timed(lambda: cached(db, rules, cache), max(args.runs, 5))
        page_samples, items = timed(lambda: province_page(db, rules), args.runs)
    base, old, whole = min(base_samples), min(old_samples), min(full_samples)
    print(f"\ntimeliness group alone (counts_by_unit + progress_score), {units_base:,} units: best {base:.3f} s, "
          f"median {statistics.median(base_samples):.3f} s")
    print(f"every group, each dossier judged in Python (before), {units_old:,} units ranked: best {old:.3f} s, "
          f"median {statistics.median(old_samples):.3f} s")
    print(f"every group (index766 ranking, dossier indicators counted by the database), {units_full:,} units ranked: "
          f"best {whole:.3f} s, median {statistics.median(full_samples):.3f} s")
    print(f"ratio all groups / timeliness alone: before {old / base:.1f}×, now {whole / base:.1f}× (best runs); "
          f"now / before {whole / old:.2f}")
    kept = min(cache_samples)
    print(f"the province ranking as the RPC answers it, kept in memory (nothing stored since), {units_cached:,} units: "
          f"best {kept * 1000:.1f} ms, median {statistics.median(cache_samples) * 1000:.1f} ms; "
          f"ratio / timeliness alone {kept / base:.2f}×")
    spent = sorted(phases.seconds.items(), key=lambda kv: -kv[1])
    print("phases of the full recalculation, per run: " + ", ".join(
        f"{name} {seconds / args.runs:.3f} s" for name, seconds in spent))
    print(f"the root's own page (index766 with the items behind its lost points, {items:,} listed): best "
          f"{min(page_samples):.3f} s, median {statistics.median(page_samples):.3f} s; ratio / timeliness alone "
          f"{min(page_samples) / base:.1f}×")
    print(f"load average after: {load_avg()}")


if __name__ == "__main__":
    main()

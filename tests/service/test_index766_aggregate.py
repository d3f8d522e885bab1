"""One definition per rule: the database's counts of the dossier indicators (index766/aggregate.py, SQL) and the
looked-up procedure verdicts equal the indicator functions' own (counting.tally over every dossier's view, every
item judged by its function) for every unit of a generated month, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from cchc.traffic import TrafficSpec, generate
from services.dossiers.index766 import aggregate, reads, store
from services.dossiers.index766.counting import tally
from services.dossiers.index766.periods import parse_board_period
from services.dossiers.rules import rules_from_config
from shared.calendar import LOCAL_TZ
from shared.config import load_config
from shared.events import parse_event

RULES = rules_from_config(load_config())
SPEC = TrafficSpec(start=dt.date(2026, 7, 15), end=dt.date(2026, 8, 31),
                   now=dt.datetime(2026, 9, 3, 8, 0, tzinfo=LOCAL_TZ), dossiers=900, seed=766, index766=True)


@pytest.fixture(scope="module")
def month():
    return generate(SPEC, RULES.units, RULES.catalogue, RULES.calendar)


def load(database, month) -> None:
    events = [parse_event(m) for m in month.messages]
    for start in range(0, len(events), 500):
        with database.transaction() as session:
            store.ingest_with_facts(session, events[start:start + 500], RULES, SPEC.now)
    out = io.StringIO()
    csv.writer(out).writerows(month.truth766.procedure_rows())
    with database.transaction() as session:
        report = reads.import_procedure_facts(session, RULES, "2026-08", "facts.csv", out.getvalue().encode(), "test",
                                              SPEC.now)
    assert report["accepted"], report


@pytest.mark.parametrize("now", [SPEC.now, dt.datetime(2026, 8, 20, 15, 0, tzinfo=LOCAL_TZ)],
                         ids=["after-the-month", "mid-month"])
def test_the_database_counts_every_unit_as_the_indicator_functions_do(database, month, now):
    load(database, month)
    period = parse_board_period("2026-08")
    with database.transaction() as session:
        facts, chosen = store.procedure_facts(session, period)
        ctx = reads._context(period, now, RULES, facts)
        views = store.dossier_views(session, RULES, period)
        petitions = store.petition_views(session, period)
        # every unit collected: each procedure verdict by its function, not looked up (counting._VerdictTable)
        by_python = tally(RULES.units, views, petitions, facts, ctx, collect=[u.code for u in RULES.units],
                          max_items=0)
        counted, coverage = aggregate.count_dossiers(session, period, ctx.as_of, reads._bearing(facts))
        rounds = aggregate.round_views(session, RULES, period, ctx.as_of)
        by_sql = tally(RULES.units, rounds, petitions, facts, ctx, counted=counted)
        ranking = reads.ranking(session, RULES, "2026-08", now)
    assert rounds and len(rounds) < len(views) / 4  # a few dossiers judged in Python, most counted in SQL
    assert set(by_sql) == set(by_python)
    differing = {unit: {code: (by_sql[unit].ratios[code], ratio) for code, ratio in t.ratios.items()
                        if by_sql[unit].ratios[code] != ratio}
                 for unit, t in by_python.items()}
    assert {unit: diff for unit, diff in differing.items() if diff} == {}
    assert coverage == reads.coverage_of(views)
    province = by_python["P25"].ratios
    assert all(province[code].denominator > 0 for code in ("PROGRESS_ON_TIME", "ONLINE_PAYMENT_DOSSIERS",
                                                           "DOSSIER_RECEIVING_SATISFACTION"))
    assert province["PROGRESS_ON_TIME"].numerator < province["PROGRESS_ON_TIME"].denominator
    assert ranking["province"]["groups"] and ranking["warnings"] == reads.coverage_warnings(
        reads.coverage_of(views), petitions, chosen, period)


def test_the_provinces_page_lists_the_same_dossiers_as_judging_every_one(database, month):
    """unit_index of the province counts in SQL and judges only the first misses of each indicator: the same
    figures and the same items (the first ``max_items`` by receipt, with their reasons) as judging every dossier."""
    load(database, month)
    period = parse_board_period("2026-08")
    with database.transaction() as session:
        facts, _ = store.procedure_facts(session, period)
        ctx = reads._context(period, SPEC.now, RULES, facts)
        views = store.dossier_views(session, RULES, period, with_applicants=True)
        petitions = store.petition_views(session, period)
        every = tally(RULES.units, views, petitions, facts, ctx, units=["P25"], collect=["P25"], max_items=7)["P25"]
        doc = reads.unit_index(session, RULES, "P25", "2026-08", SPEC.now, max_items=7)
    ratios = {i["code"]: (i["numerator"], i["denominator"]) for g in doc["groups"] for i in g["indicators"]}
    assert ratios == {code: (r.numerator, r.denominator) for code, r in every.ratios.items()}
    listed = {loss["code"]: [(i["code"], i["reason"]) for i in loss["items"]] for loss in doc["losses"]}
    expected = {code: [(m.code, m.reason) for m in misses] for code, misses in every.misses.items()
                if code in listed}
    assert listed == expected
    assert sum(len(items) for items in listed.values()) > 20  # something listed, several indicators
    assert any(i.get("applicant") for loss in doc["losses"] for i in loss["items"])  # names come masked

"""The read functions behind the web pages' drill-down, on SQLite and PostgreSQL: a unit's late and overdue
dossiers are exactly those its period figures count, most days late first and without personal data; the
twelve-month series is twelve ``period_stats``; unknown units, statuses and periods are refused by name."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from cchc.traffic import TrafficSpec, generate
from services.dossiers.ingest import ingest_batch
from services.dossiers.periods import PeriodError
from services.dossiers.reads import (
    NotFound,
    monthly_series,
    period_stats,
    period_stats_many,
    unit_dossiers,
    working_days_late,
)
from services.dossiers.rules import rules_from_config
from shared.config import load_config
from shared.events import parse_event

TZ = dt.timezone(dt.timedelta(hours=7))
NOW = dt.datetime(2026, 12, 8, 12, 15, tzinfo=TZ)  # a Tuesday lunch break: several dossiers are overdue by then
RULES = rules_from_config(load_config())


@pytest.fixture
def stocked(database):
    spec = TrafficSpec(start=dt.date(2026, 6, 15), end=NOW.date(), now=NOW, dossiers=1200, seed=14,
                       duplicate_share=0.0, late_share=0.15)
    traffic = generate(spec, RULES.units, RULES.catalogue, RULES.calendar)
    events = [parse_event(m if isinstance(m, dict) else json.loads(m)) for m in traffic.messages]
    for start in range(0, len(events), 2000):
        with database.transaction() as session:
            ingest_batch(session, events[start:start + 2000], RULES, NOW)
    return database


def test_listed_dossiers_are_exactly_the_ones_the_figures_count(stocked):
    with stocked.transaction() as session:
        rows = period_stats(session, RULES, "P25", "2026-H2", NOW, include_children=True)
        busiest = sorted(rows[1:], key=lambda r: r.counts.finished_late + r.counts.unfinished_overdue)[-3:]
        assert rows[0].counts.finished_late > 0 and rows[0].counts.unfinished_overdue > 0
        for stats in [rows[0], *busiest]:
            for status, expected in (("late", stats.counts.finished_late),
                                     ("overdue", stats.counts.unfinished_overdue)):
                listing = unit_dossiers(session, RULES, stats.unit_code, "2026-H2", status, NOW, limit=200)
                assert listing["total"] == expected, (stats.unit_code, status)
                assert len(listing["items"]) == min(expected, 200)
                assert len({d["dossier_code"] for d in listing["items"]}) == len(listing["items"])


def test_a_listing_names_procedure_and_days_late_and_carries_no_personal_data(stocked):
    with stocked.transaction() as session:
        late = unit_dossiers(session, RULES, "P25", "2026-H2", "late", NOW, limit=20)
        overdue = unit_dossiers(session, RULES, "P25", "2026-H2", "overdue", NOW, limit=500)
    assert late["status"] == "late" and late["period_title"] == "6 tháng cuối năm 2026"
    for item in late["items"]:
        assert item["procedure_name"] and item["finished_at"] > item["due_at"]
        assert item["days_late"] >= 1 and item["calendar_days_late"] >= item["days_late"]
    assert [d["due_at"] for d in overdue["items"]] == sorted(d["due_at"] for d in overdue["items"])  # oldest first
    assert all(d["days_late"] >= 0 and d["finished_at"] is None for d in overdue["items"])
    text = json.dumps(late) + json.dumps(overdue)
    assert "applicant" not in text and "@" not in text  # no name, email or phone leaves the service
    page_two = None
    with stocked.transaction() as session:
        page_two = unit_dossiers(session, RULES, "P25", "2026-H2", "overdue", NOW, limit=2, offset=2)
    assert [d["dossier_code"] for d in page_two["items"]] == [d["dossier_code"] for d in overdue["items"][2:4]]


def test_twelve_months_of_period_stats_ending_with_the_period(stocked):
    with stocked.transaction() as session:
        series = monthly_series(session, RULES, "07900", "2026-H2", NOW)
        assert [m["period"] for m in series] == [f"2026-{m:02d}" for m in range(1, 13)]
        for month in (series[6], series[11]):
            [expected] = period_stats(session, RULES, "07900", month["period"], NOW)
            assert month == expected.to_dict()
        # the series is read in one query for its ended months: every month of a unit and of the whole province
        # (a running month among them, and a series that ends before it) is still its own period_stats
        for unit, period in (("07900", "2026-H2"), ("P25", "2026-H2"), ("P25", "2026-Q3"), ("H44.45", "2026-11")):
            for month in monthly_series(session, RULES, unit, period, NOW):
                [expected] = period_stats(session, RULES, unit, month["period"], NOW)
                assert month == expected.to_dict(), (unit, month["period"])
        assert [m["period"] for m in monthly_series(session, RULES, "P25", "2026-Q3", NOW, months=3)] == \
            ["2026-07", "2026-08", "2026-09"]


def test_several_units_figures_in_one_read_equal_each_units_own(stocked):
    codes = ["07900", "H44.45", "07894", "07900"]  # a duplicate is answered once
    with stocked.transaction() as session:
        for period in ("2026-H2", "2026-12", "2026-09"):
            rows = period_stats_many(session, RULES, codes, period, NOW)
            assert [r.unit_code for r in rows] == ["07900", "H44.45", "07894"]
            for row in rows:
                [alone] = period_stats(session, RULES, row.unit_code, period, NOW)
                assert row.to_dict() == alone.to_dict()
        assert period_stats_many(session, RULES, [], "2026-H2", NOW) == []
        with pytest.raises(NotFound, match="unit_codes: no unit 'X9'"):
            period_stats_many(session, RULES, ["07900", "X9"], "2026-H2", NOW)
        with pytest.raises(ValueError, match="unit_codes: at most 1000"):
            period_stats_many(session, RULES, [f"U{i}" for i in range(1001)], "2026-H2", NOW)
        with pytest.raises(ValueError, match="unit_codes: must be a list"):
            period_stats_many(session, RULES, "07900", "2026-H2", NOW)  # type: ignore[arg-type]
        with pytest.raises(PeriodError):
            period_stats_many(session, RULES, ["07900"], "2026-13", NOW)


def test_unknown_unit_status_and_period_are_refused_by_name(stocked):
    with stocked.transaction() as session:
        with pytest.raises(NotFound, match="unit_code"):
            unit_dossiers(session, RULES, "NOPE", "2026-H2", "late", NOW)
        with pytest.raises(ValueError, match="status: must be one of late, overdue"):
            unit_dossiers(session, RULES, "P25", "2026-H2", "all", NOW)
        with pytest.raises(PeriodError):
            monthly_series(session, RULES, "P25", "2026-13", NOW)
        with pytest.raises(ValueError, match="months"):
            monthly_series(session, RULES, "P25", "2026", NOW, months=0)


def test_days_late_count_working_days_only():
    # due Friday 4/9/2026; Saturday and Sunday are not counted, Monday 7/9 is the first working day late
    assert working_days_late(RULES.calendar, dt.date(2026, 9, 4), dt.date(2026, 9, 6)) == 0
    assert working_days_late(RULES.calendar, dt.date(2026, 9, 4), dt.date(2026, 9, 8)) == 2
    assert working_days_late(RULES.calendar, dt.date(2026, 9, 4), dt.date(2026, 9, 1)) == 0

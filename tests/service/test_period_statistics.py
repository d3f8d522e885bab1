"""Period statistics from stored dossiers, on SQLite and PostgreSQL: the worked example of DOMAIN.md
(a district's half-year 2023: 15,051 to process, 1,727 carried over, 13,324 new, 12,530 finished, 10,840 on
time = 86.5%) reproduced exactly through the real ingest path, and the 15th-14th period boundaries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from services.dossiers.ingest import ingest_batch
from services.dossiers.periods import parse_period
from services.dossiers.reads import period_stats
from services.dossiers.rules import rules_from_config
from shared.config import load_config
from shared.events import make_envelope, parse_event

TZ = dt.timezone(dt.timedelta(hours=7))
PROCEDURE = "1.000894.H44"  # 5 working days
DISTRICT = "D227"  # Thành phố Việt Trì, a district until 30/6/2025
RULES = rules_from_config(load_config())
NOW = dt.datetime(2026, 1, 1, tzinfo=TZ)


def at(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=TZ)


def life(
    code: str, received: dt.datetime, step: str | None = None, when: dt.datetime | None = None, unit: str = DISTRICT
) -> list:
    events = [
        make_envelope(
            "dossier.received",
            {"dossier_code": code, "procedure_code": PROCEDURE, "unit_code": unit, "received_at": received},
            occurred_at=received,
        )
    ]
    if step:
        field = {"resolved": "resolved_at", "withdrawn": "withdrawn_at", "rejected": "rejected_at"}[step]
        payload = {"dossier_code": code, field: when}
        if step == "rejected":
            payload["reason"] = "Hồ sơ không đủ điều kiện"
        events.append(make_envelope(f"dossier.{step}", payload, occurred_at=when))
    return events


def ingest_all(database, envelopes: list, batch: int = 2000) -> None:
    events = [parse_event(e) for e in envelopes]
    for start in range(0, len(events), batch):
        with database.transaction() as session:
            report = ingest_batch(session, events[start : start + batch], RULES, NOW)
            assert not report.rejections


def test_worked_example_half_year_2023(database):
    envelopes: list = []
    n = iter(range(1, 10**6))
    # carried over from before 15/12/2022, finished late in the period (1,690) or still open (37)
    for _ in range(1690):
        envelopes += life(f"C{next(n)}", at("2022-12-01"), "resolved", at("2023-01-05", 10))
    for _ in range(37):
        envelopes += life(f"C{next(n)}", at("2022-12-01"))
    # new in the period: 10,840 finished early or on time (received Wed 1/3, due Wed 8/3)
    for i in range(10840):
        finish = at("2023-03-02", 10) if i % 3 else at("2023-03-08", 15)
        envelopes += life(f"N{next(n)}", at("2023-03-01"), "resolved", finish)
    for _ in range(2363):  # received 1/6, due 8/6, open at 14/6: overdue
        envelopes += life(f"N{next(n)}", at("2023-06-01"))
    for _ in range(80):
        envelopes += life(f"N{next(n)}", at("2023-04-03"), "withdrawn", at("2023-04-04"))
    for _ in range(41):
        envelopes += life(f"N{next(n)}", at("2023-04-03"), "rejected", at("2023-04-04"))
    # outside the period: finished before it began, and received after it ended
    envelopes += life("BEFORE", at("2022-11-01"), "resolved", at("2022-11-02"))
    envelopes += life("AFTER", at("2023-06-15"))

    ingest_all(database, envelopes)
    with database.transaction() as session:
        [stats] = period_stats(session, RULES, DISTRICT, "2023-H1", NOW)
        [province] = period_stats(session, RULES, "P25", "2023-H1", NOW)

    assert (stats.counts.carried_over, stats.counts.received_new, stats.total) == (1727, 13324, 15051)
    assert stats.finished == 12530
    assert stats.counts.finished_early + stats.counts.finished_on_time == 10840
    assert stats.counts.finished_on_time == 10840 // 3 + 1  # the ones resolved on the due date itself
    assert stats.counts.finished_late == 1690
    assert stats.on_time_rate == Decimal("86.51")
    assert stats.on_time_rate.quantize(Decimal("0.1")) == Decimal("86.5")  # as the district published it
    assert (stats.counts.unfinished_within, stats.counts.unfinished_overdue) == (0, 2400)
    assert (stats.counts.withdrawn, stats.counts.returned) == (80, 41)
    assert stats.progress_766_total == 15051 - 80 - 41
    assert stats.counts.on_time_766 == 10840
    assert stats.progress_766_rate == Decimal("72.61")  # 10,840 / 14,930, half-up
    assert stats.as_of == dt.date(2023, 6, 14) and stats.granularity == "date"
    assert province.counts == stats.counts  # the district rolls up into the province


def test_period_boundaries_15th_to_14th(database):
    envelopes = (
        life("A", at("2023-06-14", 16))  # last day of H1 / of month 2023-06
        + life("B", at("2023-06-15", 8), "resolved", at("2023-06-16"))  # first day of H2 / month 2023-07
        + life("C", at("2022-12-15"), "resolved", at("2022-12-16"))  # belongs to 2023, not 2022
        + life("D", at("2023-06-12"), "resolved", at("2023-06-15", 10))  # received in June, finished in July
    )
    ingest_all(database, envelopes)
    with database.transaction() as session:

        def get(label):
            return period_stats(session, RULES, DISTRICT, label, NOW)[0].counts

        june, july, h1, year_2022, year_2023 = (get(p) for p in ("2023-06", "2023-07", "2023-H1", "2022", "2023"))
    assert (june.received_new, june.finished_early + june.finished_on_time, june.unfinished_within) == (2, 0, 2)
    assert (july.carried_over, july.received_new) == (2, 1)  # A and D carried over; B new
    assert july.finished_early + july.finished_on_time == 2  # B, and D finished on its due date or before
    assert h1.received_new == 4 - 1  # C, D and A; B is H2
    assert year_2022.received_new == 0  # 15/12/2022 opens the year 2023
    assert year_2023.received_new == 4
    assert parse_period("2023-07").start == dt.date(2023, 6, 15)


def test_unfinished_dossier_is_judged_at_the_period_end(database):
    ingest_all(database, life("OPEN", at("2023-06-01")) + life("X", at("2023-06-01"), unit="D228"))
    with database.transaction() as session:
        may = period_stats(session, RULES, DISTRICT, "2023-06", NOW)[0].counts  # 15/5-14/6: due 8/6 passed
        june_rows = period_stats(session, RULES, "P25", "2023-06", NOW, include_children=True)
    assert (may.unfinished_within, may.unfinished_overdue) == (0, 1)
    by_code = {row.unit_code: row for row in june_rows}
    assert by_code["P25"].total == 2 and by_code["D228"].total == 1 and by_code[DISTRICT].total == 1

"""One definition of "overdue" (``outcomes.overdue_bound``): the Python rule, the deadline scan's SQL, the
statistics' definition (``recount_by_unit``) and their counters agree for every due time and moment, at DATE and
MINUTE granularity, on SQLite and PostgreSQL. On main the SQL compared ``due_at < now`` without truncating to the
minute: a dossier due at 15:00:30 was overdue at 15:00:59 in SQL and not in Python."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa

from services.dossiers import alerts, stats_verify
from services.dossiers.models import Dossier
from services.dossiers.outcomes import Granularity, is_overdue
from services.dossiers.periods import PeriodKind, period_containing
from services.dossiers.rules import rules_from_config
from services.dossiers.stats_query import counts_by_unit, recount_by_unit
from shared.calendar import LOCAL_TZ
from shared.config import load_config

BASE = rules_from_config(load_config())


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2025, 2, day, hour, minute, second, tzinfo=LOCAL_TZ)


DUES = [at(5, 15), at(5, 15, 0, 30), at(5, 15, 1), at(5, 23, 59), at(5, 23, 59, 45), at(6, 0), at(4, 9)]
MOMENTS = [at(5, 15, 0, 59), at(5, 15, 1), at(5, 15, 1, 30), at(5, 15, 2), at(5, 23, 59, 59), at(6, 0),
           at(6, 0, 0, 30), at(6, 0, 1), at(5, 0), at(4, 23, 59, 59)]


def insert_open_dossiers(database) -> None:
    with database.transaction() as session:
        for i, due in enumerate(DUES):
            session.add(Dossier(
                dossier_code=f"OD{i}", status="in_progress", status_code=4, unit_code="D227",
                received_at=at(3, 8), received_date=at(3, 8).date(), due_at=due,
                due_date=due.astimezone(LOCAL_TZ).date(), paused=False, due_mismatch=False, supplement_rounds=0,
                first_seen_at=at(3, 8), updated_at=at(3, 8)))


@pytest.mark.parametrize("granularity", list(Granularity))
def test_sql_and_python_agree_on_overdue(database, granularity):
    insert_open_dossiers(database)
    rules = dataclasses.replace(BASE, granularity=granularity)
    with database.transaction() as session:
        stats_verify.rebuild(session, granularity)
        for moment in MOMENTS:
            python = {f"OD{i}" for i, due in enumerate(DUES) if is_overdue(due, moment, granularity)}
            scan_sql = set(session.scalars(
                sa.select(Dossier.dossier_code).where(alerts._open(Dossier), alerts._past_due(rules, moment))))
            assert scan_sql == python, moment
            assert alerts.count_overdue(session, rules, moment) == len(python)
            period = period_containing(moment.date(), PeriodKind.MONTH)  # a running period: judged at `moment`
            definition = recount_by_unit(session, period, moment, granularity).get("D227")
            counters = counts_by_unit(session, period, moment, granularity).get("D227")
            assert definition.unfinished_overdue == counters.unfinished_overdue == len(python), moment


def test_the_minute_rule_truncates_both_sides():
    due = at(5, 15, 0, 30)
    assert not is_overdue(due, at(5, 15, 0, 59), Granularity.MINUTE)  # same minute as the due time
    assert is_overdue(due, at(5, 15, 1), Granularity.MINUTE)
    assert not is_overdue(due, at(5, 23, 59, 59), Granularity.DATE)  # due today: never overdue today
    assert is_overdue(due, at(6, 0), Granularity.DATE)

"""Statistics kept as per-unit, per-day counters, so no figure needs a scan over the period's dossiers.

Each dossier row *contributes* a few +1/-1 to counters keyed by (unit, day): a receipt on its received day, an
outcome on its closing day, +1/-1 to "open" between those days, and +1/-1 to "overdue at the end of the day"
between the first day whose end finds it overdue and its closing. A period's figures are then sums over days:
its own days for what happened in it, every day up to its end for what was open (carried over, unfinished,
overdue) at its start or end. Contributions are a pure function of the stored row (:func:`contribution`): the
ingest subtracts a dossier's old row's and adds its new row's in the batch's transaction, so the counters equal
a full recomputation at every commit (``stats_verify`` checks exactly that).

Time-driven changes need no rescan. A period that has ended is judged at its end: "overdue at the end of day
e" is fixed once the row is, so it is an interval of days. A period still running is judged *now*: its overdue
dossiers are the open ones whose due date is past, summed from due-date buckets (``open_due``: currently open,
unpaused dossiers by due day) — plus, at MINUTE granularity, today's bucket split at the current minute, and
dossiers closed after the period's end (a closing dated in the future), both read from the dossiers through an
index (:mod:`services.dossiers.stats_query`).

One assumption, structural in ``deadlines.compute_deadline``: a due date is never before its receipt.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.dossiers.outcomes import Granularity, first_overdue_day
from shared.calendar import LOCAL_TZ

# The counters of one (unit, day), in the order of the stats_days columns and of every delta vector.
COLUMNS: tuple[str, ...] = (
    "received",  # received this day
    "received_online",  # … online
    "finished_early",  # closed this day: finished early, on time, late
    "finished_on_time",
    "finished_late",
    "finished_766",  # finished this day and on time in Decision 766's sense (≤ 1 supplement round)
    "withdrawn",  # closed this day by withdrawal
    "rejected",  # … by refusal (the report's "returned")
    "open_delta",  # +1 on the received day, -1 on the closing day: a prefix sum is "open at the end of day e"
    "open_le1_delta",  # the same for dossiers with at most one supplement round (Decision 766)
    "overdue_delta",  # +1 on the first day whose end finds it overdue, -1 on the closing day
    "overdue_le1_delta",
    "open_due",  # currently open, unpaused dossiers with a due date, on their due day (running periods)
    "open_due_le1",
)
INDEX = {name: i for i, name in enumerate(COLUMNS)}
# Counters with a Decision 766 twin: the same count over dossiers with at most one supplement round.
LE1 = {"open_delta": "open_le1_delta", "overdue_delta": "overdue_le1_delta", "open_due": "open_due_le1"}
ROW_FIELDS = ("unit_code", "received_date", "closed_date", "closing", "outcome", "on_time_766", "channel",
              "paused", "due_at", "supplement_rounds")  # what a contribution reads from a dossier row

Key = tuple[str, dt.date]
Deltas = dict[Key, list[int]]


def contribution(row: Mapping[str, Any], granularity: Granularity) -> list[tuple[Key, str, int]]:
    """The (unit, day) counters one dossier row adds to: ``[((unit, day), column, +1 or -1), …]``."""
    unit = row.get("unit_code")
    received = row.get("received_date")
    if unit is None or received is None:
        return []  # not received yet (or refused): counts nowhere
    closed: dt.date | None = row.get("closed_date")
    closing = row.get("closing")
    le1 = int(row.get("supplement_rounds") or 0) <= 1
    out: list[tuple[Key, str, int]] = []

    def put(day: dt.date, column: str, value: int = 1) -> None:
        out.append(((unit, day), column, value))
        if le1 and column in LE1:  # the same counter restricted to dossiers with at most one supplement round
            out.append(((unit, day), LE1[column], value))

    put(received, "received")
    if row.get("channel") == "online":
        put(received, "received_online")
    put(received, "open_delta")
    if closed is not None:
        put(closed, "open_delta", -1)
        if closing == "finished":
            if row.get("outcome") in ("early", "on_time", "late"):
                put(closed, f"finished_{row.get('outcome')}")
            if row.get("on_time_766") is True:
                put(closed, "finished_766")
        elif closing in ("withdrawn", "rejected"):
            put(closed, closing)
    due_at: dt.datetime | None = row.get("due_at")
    if due_at is not None and not row.get("paused"):
        first = max(received, first_overdue_day(due_at, granularity))
        if closed is None or closed > first:
            put(first, "overdue_delta")
            if closed is not None:
                put(closed, "overdue_delta", -1)
        if closing is None:
            put(due_at.astimezone(LOCAL_TZ).date(), "open_due")
    return out


def add(deltas: Deltas, rows: Iterable[Mapping[str, Any]], granularity: Granularity, sign: int) -> None:
    """Add (``sign`` 1) or subtract (-1) the rows' contributions to ``deltas``."""
    for row in rows:
        for key, column, value in contribution(row, granularity):
            vector = deltas.get(key)
            if vector is None:
                vector = deltas[key] = [0] * len(COLUMNS)
            vector[INDEX[column]] += sign * value


def changes(old: Iterable[Mapping[str, Any]], new: Iterable[Mapping[str, Any]], granularity: Granularity) -> Deltas:
    """What replacing the ``old`` rows by the ``new`` ones does to the counters (keys whose sum is zero dropped)."""
    deltas: Deltas = defaultdict(lambda: [0] * len(COLUMNS))
    add(deltas, old, granularity, -1)
    add(deltas, new, granularity, 1)
    return {key: vector for key, vector in deltas.items() if any(vector)}


def recompute(rows: Iterable[Mapping[str, Any]], granularity: Granularity) -> Deltas:
    """The counters from scratch: the oracle for the kept ones, and what a rebuild writes."""
    return changes([], rows, granularity)


def apply(session: Session, deltas: Deltas) -> None:
    """Add the deltas to the kept counters (portable upsert), in key order: concurrent batches take the rows'
    locks in one order, so they wait for each other instead of deadlocking."""
    if not deltas:
        return
    from services.dossiers.models import StatsDay

    table = StatsDay.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["unit_code", "day"], set_={c: table.c[c] + stmt.excluded[c] for c in COLUMNS})
    session.execute(stmt, [{"unit_code": unit, "day": day, **dict(zip(COLUMNS, vector, strict=True))}
                           for (unit, day), vector in sorted(deltas.items())])


def row_from_json(values: list[Any]) -> dict[str, Any]:
    """A dossier row's contribution fields as PostgreSQL's ``json_build_array`` of ROW_FIELDS sends them."""
    row = dict(zip(ROW_FIELDS, values, strict=True))
    for key in ("received_date", "closed_date"):
        if row[key] is not None:
            row[key] = dt.date.fromisoformat(row[key])
    if row["due_at"] is not None:
        row["due_at"] = dt.datetime.fromisoformat(row["due_at"])
    return row

"""A dossier's state is a pure function of its set of events: any arrival order, same result."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.dossiers.deadlines import SupplementPolicy
from services.dossiers.lifecycle import StoredEvent, TimelinessRules, derive
from services.dossiers.outcomes import Granularity, Outcome
from services.dossiers.rules import rules_from_config
from shared.config import load_config

TZ = dt.timezone(dt.timedelta(hours=7))
RULES = rules_from_config(load_config())
PROCEDURE = "1.000894.H44"  # 5 working days


def ev(kind: str, at: dt.datetime, **payload) -> StoredEvent:
    time_field = {
        "dossier.received": "received_at",
        "dossier.supplement_requested": "requested_at",
        "dossier.supplement_received": "supplied_at",
        "dossier.resolved": "resolved_at",
        "dossier.returned": "returned_at",
        "dossier.withdrawn": "withdrawn_at",
        "dossier.rejected": "rejected_at",
        "dossier.late": "detected_at",
    }[kind]
    body = {"dossier_code": "D", time_field: at.isoformat(), **payload}
    return StoredEvent(str(uuid.uuid4()), kind, at.astimezone(dt.UTC), body)


def receipt(at: dt.datetime, **extra) -> StoredEvent:
    return ev("dossier.received", at, procedure_code=PROCEDURE, unit_code="07900", **extra)


def with_policy(policy: SupplementPolicy) -> TimelinessRules:
    return TimelinessRules(RULES.calendar, RULES.catalogue, RULES.units, policy, Granularity.DATE)


MON = dt.datetime(2026, 7, 6, 9, 0, tzinfo=TZ)


def test_supplement_restart_and_extend():
    events = [
        receipt(MON),
        ev("dossier.supplement_requested", MON + dt.timedelta(days=1)),  # Tue 09:00, 1 working day used
        ev("dossier.supplement_received", MON + dt.timedelta(days=4)),  # Fri 09:00
        ev("dossier.resolved", dt.datetime(2026, 7, 15, 10, tzinfo=TZ)),  # Wed next week
    ]
    restart = derive("D", events, with_policy(SupplementPolicy.RESTART)).state
    extend = derive("D", events, with_policy(SupplementPolicy.EXTEND)).state
    # restart: 5 full working days from Fri 10/7 09:00 -> Fri 17/7 09:00
    assert restart.due_at.astimezone(TZ) == dt.datetime(2026, 7, 17, 9, 0, tzinfo=TZ)
    # extend: Mon + 5 wd = Mon 13/7 09:00, pushed by the 3 working days waited -> Thu 16/7 09:00
    assert extend.due_at.astimezone(TZ) == dt.datetime(2026, 7, 16, 9, 0, tzinfo=TZ)
    assert restart.outcome is Outcome.EARLY and extend.outcome is Outcome.EARLY
    assert restart.supplement_rounds == 1 and restart.on_time_766 is True


def test_open_supplement_pauses_and_two_rounds_make_766_late():
    paused = derive("D", [receipt(MON), ev("dossier.supplement_requested", MON + dt.timedelta(hours=2))], RULES)
    assert paused.state.paused and paused.state.status == "paused"
    two_rounds = derive(
        "D",
        [
            receipt(MON),
            ev("dossier.supplement_requested", MON + dt.timedelta(hours=1)),
            ev("dossier.supplement_received", MON + dt.timedelta(hours=2)),
            ev("dossier.supplement_requested", MON + dt.timedelta(hours=3)),
            ev("dossier.supplement_received", MON + dt.timedelta(hours=4)),
            ev("dossier.resolved", MON + dt.timedelta(days=1)),
        ],
        RULES,
    ).state
    assert two_rounds.outcome is Outcome.EARLY
    assert two_rounds.on_time_766 is False  # Decision 766: more than one supplement request counts as late


def test_contradictions_are_refused_and_missing_halves_wait():
    result = derive(
        "D",
        [
            receipt(MON),
            ev("dossier.resolved", MON - dt.timedelta(days=1)),  # before the receipt: refused for good
            ev("dossier.supplement_received", MON + dt.timedelta(hours=1)),  # its request may still come: pending
            ev("dossier.withdrawn", MON + dt.timedelta(days=1)),
            ev("dossier.resolved", MON + dt.timedelta(days=2)),  # after withdrawal: refused
        ],
        RULES,
    )
    assert [r.field for r in result.rejected] == ["payload.resolved_at", "payload.resolved_at"]
    assert "before the dossier was received" in result.rejected[0].reason
    assert "already withdrawn" in result.rejected[1].reason
    assert [p.reason for p in result.pending] == ["no open supplement request to answer"]
    assert result.state.closing == "withdrawn" and result.state.outcome is None


def test_unknown_procedure_and_unit_refuse_the_receipt():
    bad_proc = derive("D", [ev("dossier.received", MON, procedure_code="0.000000", unit_code="07900")], RULES)
    assert bad_proc.rejected[0].field == "payload.procedure_code"
    # communes exist from 1 July 2025 only: a 2024 receipt at a commune code is an unknown unit then
    old = dt.datetime(2024, 7, 1, 9, tzinfo=TZ)
    bad_unit = derive("D", [ev("dossier.received", old, procedure_code=PROCEDURE, unit_code="07900")], RULES)
    assert bad_unit.rejected[0].field == "payload.unit_code" and bad_unit.state.status == "awaiting_receipt"
    legacy = derive("D", [ev("dossier.received", old, procedure_code=PROCEDURE, unit_code="D227")], RULES)
    assert not legacy.rejected and legacy.state.unit_code == "D227"


def test_onedoor_due_date_is_kept_and_a_difference_flagged():
    same = derive("D", [receipt(MON, due_at="2026-07-13T09:00:00+07:00")], RULES).state
    other = derive("D", [receipt(MON, due_at="2026-07-14T09:00:00+07:00")], RULES).state
    assert not same.due_mismatch and other.due_mismatch
    assert other.onedoor_due_at.astimezone(TZ).day == 14 and other.due_at.astimezone(TZ).day == 13


def test_late_event_keeps_the_original_due_date():
    late = derive(
        "D",
        [
            receipt(MON),
            ev("dossier.late", dt.datetime(2026, 7, 14, 8, tzinfo=TZ), new_due_at="2026-07-20T16:00:00+07:00"),
            ev("dossier.resolved", dt.datetime(2026, 7, 20, 15, tzinfo=TZ)),
        ],
        RULES,
    ).state
    assert late.due_at.astimezone(TZ) == dt.datetime(2026, 7, 13, 9, tzinfo=TZ)  # not moved by the apology
    assert late.outcome is Outcome.LATE and late.new_due_at.astimezone(TZ).day == 20


LIFE = [
    receipt(MON),
    ev("dossier.supplement_requested", MON + dt.timedelta(hours=3)),
    ev("dossier.supplement_received", MON + dt.timedelta(days=2)),
    ev("dossier.late", MON + dt.timedelta(days=9)),
    ev("dossier.resolved", MON + dt.timedelta(days=10)),
    ev("dossier.returned", MON + dt.timedelta(days=11)),
]


@pytest.mark.parametrize("permutation", list(itertools.permutations(range(len(LIFE))))[::37])
def test_every_arrival_order_gives_the_same_state(permutation):
    reference = derive("D", LIFE, RULES)
    shuffled = derive("D", [LIFE[i] for i in permutation], RULES)
    assert shuffled.state == reference.state
    assert shuffled.rejected == reference.rejected == []


@settings(max_examples=60, deadline=None)
@given(st.permutations(LIFE + LIFE[:3]))
def test_duplicates_and_shuffles_never_change_the_state(events):
    result = derive("D", events, RULES)
    assert result.state == derive("D", LIFE, RULES).state
    assert result.rejected == []

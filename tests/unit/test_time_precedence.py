"""The vendor's processing time is the dossier's legal time; the catalogue's serves when the payload has none."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from decimal import Decimal

import pytest

from services.dossiers.deadlines import ProcessingTime, TimeUnit
from services.dossiers.lifecycle import StoredEvent, derive
from services.dossiers.outcomes import Outcome
from services.dossiers.rules import rules_from_config
from services.dossiers.time_precedence import (
    PayloadTimeError,
    TimePrecedence,
    catalogue_time,
    legal_time,
    payload_time,
)
from shared.config import load_config

TZ = dt.timezone(dt.timedelta(hours=7))
RULES = rules_from_config(load_config())
CATALOGUE_RULES = dataclasses.replace(RULES, time_precedence=TimePrecedence.CATALOGUE)
MARRIAGE = "1.000894.H44"  # Đăng ký kết hôn: 5 working days in the catalogue
UNKNOWN = "1.999001.000.00.00.H44"  # not in the catalogue
MON = dt.datetime(2026, 7, 6, 9, 0, tzinfo=TZ)  # Monday 6/7/2026


def wd(n: int) -> ProcessingTime:
    return ProcessingTime(Decimal(n), TimeUnit.WORKING_DAYS)


def receipt(procedure: str = MARRIAGE, at: dt.datetime = MON, **payload) -> StoredEvent:
    body = {"dossier_code": "D", "procedure_code": procedure, "unit_code": "07900", "received_at": at.isoformat(),
            **payload}
    return StoredEvent(str(uuid.uuid4()), "dossier.received", at.astimezone(dt.UTC), body)


def resolved(at: dt.datetime) -> StoredEvent:
    return StoredEvent(str(uuid.uuid4()), "dossier.resolved", at.astimezone(dt.UTC),
                       {"dossier_code": "D", "resolved_at": at.isoformat()})


# -- the pure rule ---------------------------------------------------------------------------------------------
def test_payload_wins_by_default_and_the_difference_is_kept() -> None:
    legal = legal_time(wd(3), wd(5), TimePrecedence.PAYLOAD)
    assert (legal.time, legal.source, legal.payload, legal.catalogue, legal.mismatch) == (wd(3), "payload", wd(3),
                                                                                         wd(5), True)


def test_catalogue_wins_for_provinces_that_distrust_their_vendors() -> None:
    legal = legal_time(wd(3), wd(5), TimePrecedence.CATALOGUE)
    assert (legal.time, legal.source, legal.mismatch) == (wd(5), "catalogue", True)


@pytest.mark.parametrize("precedence", list(TimePrecedence))
def test_either_source_alone_serves_and_neither_gives_nothing(precedence) -> None:
    assert legal_time(None, wd(5), precedence).source == "catalogue"
    assert legal_time(wd(3), None, precedence).source == "payload"
    assert not legal_time(wd(5), wd(5), precedence).mismatch
    assert legal_time(None, None, precedence) is None


def test_same_duration_in_another_unit_is_a_difference() -> None:
    """8 working hours and 1 working day end at the same minute, but a date comparison reads them differently."""
    hours = ProcessingTime(Decimal(8), TimeUnit.WORKING_HOURS)
    assert legal_time(hours, wd(1), TimePrecedence.PAYLOAD).mismatch


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({}, None),
        ({"processing_time": "3", "processing_time_unit": "working_days"}, wd(3)),
        ({"processing_time": 3, "processing_time_unit": "working_days"}, wd(3)),
        ({"processing_time": 0.5, "processing_time_unit": "working_days"},
         ProcessingTime(Decimal("0.5"), TimeUnit.WORKING_DAYS)),
        ({"processing_time_unit": "none"}, ProcessingTime(Decimal(0), TimeUnit.NONE)),
    ],
)
def test_payload_time(payload, expected) -> None:
    assert payload_time(payload) == expected


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        ({"processing_time_unit": "working_days"}, "payload.processing_time", "required"),
        ({"processing_time": "3"}, "payload.processing_time_unit", "required"),
        ({"processing_time": "3", "processing_time_unit": "none"}, "payload.processing_time", "absent"),
        ({"processing_time": "0", "processing_time_unit": "working_days"}, "payload.processing_time", "more than 0"),
        ({"processing_time": "9999", "processing_time_unit": "calendar_days"}, "payload.processing_time",
         "implausibly long"),
        ({"processing_time": "x", "processing_time_unit": "working_days"}, "payload.processing_time", "not a number"),
        ({"processing_time": "3", "processing_time_unit": "fortnights"}, "payload.processing_time_unit", "not one of"),
    ],
)
def test_incomplete_payload_times_are_refused_with_the_field(payload, field, reason) -> None:
    with pytest.raises(PayloadTimeError) as caught:
        payload_time(payload)
    assert caught.value.field == field and reason in caught.value.reason


def test_catalogue_time() -> None:
    assert catalogue_time(RULES.catalogue.get(MARRIAGE)) == wd(5)
    assert catalogue_time(None) is None
    assert catalogue_time(RULES.catalogue.get("1.011607.H44")).unit is TimeUnit.NONE  # hộ nghèo: no time limit


# -- in the derivation -----------------------------------------------------------------------------------------
def test_a_vendor_three_days_gives_a_three_day_due_date() -> None:
    """The issue's example: the one-door promised 3 working days (a reduced time); the catalogue says 5."""
    state = derive("D", [receipt(processing_time="3", processing_time_unit="working_days")], RULES).state
    assert state.due_at.astimezone(TZ) == dt.datetime(2026, 7, 9, 9, 0, tzinfo=TZ)  # Thursday, not next Monday
    assert (state.time_source, state.processing_amount, state.time_unit) == ("payload", Decimal(3), "working_days")
    assert (state.catalogue_amount, state.catalogue_unit, state.time_mismatch) == (Decimal(5), "working_days", True)
    late = derive("D", [receipt(processing_time="3", processing_time_unit="working_days"),
                        resolved(dt.datetime(2026, 7, 10, 10, 0, tzinfo=TZ))], RULES).state
    assert late.outcome is Outcome.LATE  # on time by the catalogue's 5 days, late by the time promised


def test_with_catalogue_precedence_the_catalogue_time_applies_and_the_vendor_time_is_kept() -> None:
    state = derive("D", [receipt(processing_time="3", processing_time_unit="working_days")], CATALOGUE_RULES).state
    assert state.due_at.astimezone(TZ) == dt.datetime(2026, 7, 13, 9, 0, tzinfo=TZ)
    assert (state.time_source, state.payload_amount, state.time_mismatch) == ("catalogue", Decimal(3), True)


def test_no_payload_time_uses_the_catalogue_without_a_flag() -> None:
    state = derive("D", [receipt()], RULES).state
    assert (state.time_source, state.processing_amount, state.time_mismatch) == ("catalogue", Decimal(5), False)
    assert state.payload_unit is None


def test_an_uncatalogued_procedure_with_a_payload_time_is_received() -> None:
    result = derive("D", [receipt(UNKNOWN, processing_time="10", processing_time_unit="calendar_days")], RULES)
    state = result.state
    assert not result.rejected and state.status == "in_progress"
    assert (state.procedure_code, state.time_source, state.catalogue_unit) == (UNKNOWN, "payload", None)
    # 10 calendar days from Monday 6/7 end Thursday 16/7 at the same clock time
    assert state.due_at.astimezone(TZ) == dt.datetime(2026, 7, 16, 9, 0, tzinfo=TZ)


def test_neither_source_refuses_the_receipt_saying_why() -> None:
    result = derive("D", [receipt(UNKNOWN)], RULES)
    (refusal,) = result.rejected
    assert refusal.field == "payload.procedure_code"
    assert "no processing time" in refusal.reason and "cchc catalogue import" in refusal.reason
    assert result.state.status == "awaiting_receipt"


def test_an_incomplete_payload_time_refuses_the_receipt_with_its_field() -> None:
    (refusal,) = derive("D", [receipt(processing_time_unit="working_days")], RULES).rejected
    assert refusal.field == "payload.processing_time"


def test_payload_none_means_no_due_date_even_for_a_catalogued_procedure() -> None:
    state = derive("D", [receipt(processing_time_unit="none")], RULES).state
    assert state.due_at is None and state.time_mismatch and state.time_source == "payload"


def test_the_catalogue_cutoff_still_applies_to_a_payload_time() -> None:
    """Birth registration: same day with the 15:00 cut-off; a vendor sending 2 working hours keeps the cut-off."""
    at = dt.datetime(2026, 7, 6, 16, 0, tzinfo=TZ)
    state = derive("D", [receipt("1.001193.H44", at, processing_time="2", processing_time_unit="working_hours")],
                   RULES).state
    assert state.due_at.astimezone(TZ) == dt.datetime(2026, 7, 7, 9, 30, tzinfo=TZ)
    assert not state.time_mismatch

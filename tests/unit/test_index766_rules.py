"""The board's own rules for one dossier and one petition: calendar periods, the 766 on-time test (supplement wait
subtracted, a pending supplement judged at its request, more than one request late, open dossiers judged at the
period's end) whatever the province's own supplement policy, and petition deadlines."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from services.dossiers.deadlines import ProcessingTime, SupplementPolicy, SupplementRound, TimeUnit, compute_deadline
from services.dossiers.index766.periods import BoardPeriodKind, PeriodError, as_of, parse_board_period
from services.dossiers.index766.petitions import judge_petition
from services.dossiers.index766.timeliness import in_population, judge, received_in_period, rounds_from_steps
from services.dossiers.index766.views import PetitionView
from services.dossiers.lifecycle import StoredEvent, derive
from services.dossiers.outcomes import Outcome, classify_finished
from services.dossiers.rules import rules_from_config
from shared.calendar import LOCAL_TZ, WorkingCalendar
from shared.config import load_config

CAL = WorkingCalendar()
RULES = rules_from_config(load_config())


def at(day: str, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=LOCAL_TZ)


AUGUST = parse_board_period("2026-08")
END_OF_AUGUST = AUGUST.end_instant


# --- periods -------------------------------------------------------------------------------------------------


def test_board_periods_are_calendar_periods_not_the_15th_to_14th():
    assert (AUGUST.start, AUGUST.end, AUGUST.kind) == (dt.date(2026, 8, 1), dt.date(2026, 8, 31),
                                                        BoardPeriodKind.MONTH)
    q3 = parse_board_period("2026-q3")
    assert (q3.label, q3.start, q3.end, q3.title_vi) == ("2026-Q3", dt.date(2026, 7, 1), dt.date(2026, 9, 30),
                                                         "Quý III/2026")
    year = parse_board_period("2026")
    assert (year.start, year.end, year.title_vi) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31), "Năm 2026")
    assert parse_board_period("2026-2").end == dt.date(2026, 2, 28)
    assert parse_board_period("2028-02").end == dt.date(2028, 2, 29)
    assert AUGUST.title_vi == "Tháng 8/2026"


@pytest.mark.parametrize("label", ["2026-H1", "2026-13", "26-08", "", "2026-Q5", "tháng 8"])
def test_labels_the_board_has_no_period_for_are_refused(label):
    with pytest.raises(PeriodError):
        parse_board_period(label)


def test_a_running_period_is_judged_now_a_past_one_at_its_end():
    now = at("2026-08-20", 10)
    assert as_of(AUGUST, now) == now
    assert as_of(AUGUST, at("2026-09-05")) == END_OF_AUGUST


def test_population_received_or_processed_in_the_period_carry_over_included():
    assert in_population(at("2026-07-20"), None, AUGUST, END_OF_AUGUST)  # carried over, still open
    assert in_population(at("2026-07-20"), at("2026-08-03"), AUGUST, END_OF_AUGUST)  # carried over, closed in it
    assert not in_population(at("2026-07-20"), at("2026-07-31", 16), AUGUST, END_OF_AUGUST)  # closed before it
    assert in_population(at("2026-08-31", 16), at("2026-09-02"), AUGUST, END_OF_AUGUST)  # closed after: open then
    assert not in_population(at("2026-09-01", 8), None, AUGUST, END_OF_AUGUST)
    assert received_in_period(at("2026-08-01", 0), AUGUST, END_OF_AUGUST)
    assert not received_in_period(at("2026-07-31", 23, 59), AUGUST, END_OF_AUGUST)


# --- the 766 on-time test ------------------------------------------------------------------------------------

DUE = at("2026-08-10", 9)  # NgayHenTra


def test_finished_on_or_before_the_due_date_is_on_time_after_it_is_late():
    assert judge(at("2026-08-03"), DUE, (), "finished", at("2026-08-10", 16), END_OF_AUGUST).on_time
    late = judge(at("2026-08-03"), DUE, (), "finished", at("2026-08-11", 8), END_OF_AUGUST)
    assert not late.on_time
    assert late.reason == "Kết thúc xử lý ngày 11/08/2026, hạn 10/08/2026"


def test_the_supplement_wait_is_subtracted():
    rounds = (SupplementRound(at("2026-08-04", 10), at("2026-08-07", 10)),)  # 3 days waiting for the applicant
    verdict = judge(at("2026-08-03"), DUE, rounds, "finished", at("2026-08-13", 9), END_OF_AUGUST)
    assert verdict.on_time and verdict.end_at == at("2026-08-10", 9)
    late = judge(at("2026-08-03"), DUE, rounds, "finished", at("2026-08-14", 9), END_OF_AUGUST)
    assert not late.on_time and "đã trừ 3 ngày chờ bổ sung" in late.reason


def test_a_dossier_waiting_for_a_supplement_is_judged_at_the_request():
    rounds = (SupplementRound(at("2026-08-06"), None),)
    verdict = judge(at("2026-08-03"), DUE, rounds, None, None, END_OF_AUGUST)  # open at the end of August
    assert verdict.on_time and verdict.state == "awaiting_supplement" and verdict.end_at == at("2026-08-06")
    late_request = (SupplementRound(at("2026-08-12"), None),)
    assert not judge(at("2026-08-03"), DUE, late_request, None, None, END_OF_AUGUST).on_time
    # supplied only after the period's end: still waiting at the end, so judged at the request
    supplied_later = (SupplementRound(at("2026-08-06"), at("2026-09-03")),)
    assert judge(at("2026-08-03"), DUE, supplied_later, "finished", at("2026-09-20"), END_OF_AUGUST).on_time


def test_more_than_one_supplement_request_is_late_whatever_the_dates():
    rounds = (SupplementRound(at("2026-08-04"), at("2026-08-05")), SupplementRound(at("2026-08-06"), at("2026-08-07")))
    verdict = judge(at("2026-08-03"), DUE, rounds, "finished", at("2026-08-07", 15), END_OF_AUGUST)
    assert not verdict.on_time and verdict.reason.startswith("Yêu cầu bổ sung hồ sơ 2 lần")
    # a second request after the period's end does not count yet
    second_later = (rounds[0], SupplementRound(at("2026-09-02"), None))
    due_in_september = at("2026-09-04")
    assert judge(at("2026-08-24"), due_in_september, second_later, None, None, END_OF_AUGUST).on_time
    assert not judge(at("2026-08-24"), due_in_september, second_later, None, None, at("2026-09-03")).on_time


def test_an_open_dossier_is_judged_at_the_periods_end():
    due_in_september = at("2026-09-02")
    assert judge(at("2026-08-25"), due_in_september, (), None, None, END_OF_AUGUST).on_time
    overdue = judge(at("2026-08-03"), DUE, (), None, None, END_OF_AUGUST)
    assert not overdue.on_time and overdue.reason == "Đang giải quyết, quá hạn 10/08/2026"
    # closed after the period's end: open at its end
    assert not judge(at("2026-08-03"), DUE, (), "finished", at("2026-09-01"), END_OF_AUGUST).on_time


def test_withdrawn_and_rejected_dossiers_are_judged_at_their_end():
    assert judge(at("2026-08-03"), DUE, (), "withdrawn", at("2026-08-05"), END_OF_AUGUST).on_time
    rejected = judge(at("2026-08-03"), DUE, (), "rejected", at("2026-08-12"), END_OF_AUGUST)
    assert not rejected.on_time and rejected.reason.startswith("Từ chối, trả lại ngày 12/08/2026")


def test_no_time_limit_is_always_on_time():
    assert judge(at("2026-08-03"), None, (), None, None, END_OF_AUGUST).on_time


def test_the_board_rule_holds_whatever_the_provinces_supplement_policy():
    """Restart (the province's default) gives a full new time after a 16-hour supplement wait: finished Tuesday 11/8
    is early for the province. The board subtracts the 16 hours from the end (10/8 18:00) and compares with the
    NgayHenTra of the receipt, Monday 10/8: on time; finished Wednesday 12/8, it is late for the board only."""
    received = at("2026-08-03", 9)
    five_days = ProcessingTime(Decimal(5), TimeUnit.WORKING_DAYS)
    ngay_hen_tra = compute_deadline(received, five_days, CAL).due_at
    assert ngay_hen_tra == at("2026-08-10", 9)
    rounds = (SupplementRound(at("2026-08-06", 16), at("2026-08-07", 8)),)
    restart_due = compute_deadline(received, five_days, CAL, rounds=rounds, policy=SupplementPolicy.RESTART).due_at
    assert judge(received, ngay_hen_tra, rounds, "finished", at("2026-08-11", 10), END_OF_AUGUST).on_time
    finished = at("2026-08-12", 10)
    assert classify_finished(finished, restart_due) is Outcome.EARLY  # the province's own figure
    assert not judge(received, ngay_hen_tra, rounds, "finished", finished, END_OF_AUGUST).on_time  # the board's


# --- supplement rounds as the dossier's derivation pairs them ------------------------------------------------

STEP_TYPES = ("dossier.supplement_requested", "dossier.supplement_received")


@pytest.mark.parametrize("seed", range(60))
def test_rounds_from_steps_pair_as_the_dossiers_own_derivation_does(seed):
    rng = random.Random(seed)
    received = at("2026-08-03", 8)
    steps = []
    for i in range(rng.randrange(0, 6)):
        steps.append((rng.choice(STEP_TYPES), received + dt.timedelta(hours=rng.randrange(1, 200)), f"s{i}"))
    closed_at = received + dt.timedelta(hours=rng.randrange(100, 260)) if rng.random() < 0.6 else None
    events = [StoredEvent("r", "dossier.received", received,
                          {"procedure_code": "1.000894.H44", "unit_code": "07900", "received_at": received})]
    events += [StoredEvent(i, kind, time, {}) for kind, time, i in steps]
    if closed_at is not None:
        events.append(StoredEvent("z", "dossier.resolved", closed_at, {}))
    state = derive("D", events, RULES).state
    rounds = rounds_from_steps(steps, closed_at if state.closing else None)
    assert len(rounds) == state.supplement_rounds
    assert (bool(rounds) and rounds[-1].supplied_at is None) == state.paused


# --- petitions -----------------------------------------------------------------------------------------------


def test_petition_deadlines_15_working_days_to_handle_2_to_refuse():
    sent = at("2026-08-03", 10)  # Monday; Saturday 22/8/2026 is worked (31/8 is taken off instead)
    handled = PetitionView("P1", "07900", sent, answered_at=at("2026-08-22", 10), outcome="handled")
    verdict = judge_petition(handled, AUGUST, END_OF_AUGUST, CAL)
    assert verdict.handle_by == dt.date(2026, 8, 22) and verdict.on_time
    late = PetitionView("P2", "07900", sent, answered_at=at("2026-08-24", 10), outcome="handled")
    assert not judge_petition(late, AUGUST, END_OF_AUGUST, CAL).on_time
    refused_late = PetitionView("P3", "07900", sent, answered_at=at("2026-08-06", 10), outcome="rejected")
    assert not judge_petition(refused_late, AUGUST, END_OF_AUGUST, CAL).on_time
    transferred = PetitionView("P4", "07900", sent, transferred_at=at("2026-08-10"),
                               answered_at=at("2026-08-28"), outcome="handled")
    assert judge_petition(transferred, AUGUST, END_OF_AUGUST, CAL).on_time  # counted from the latest transfer
    own_deadline = PetitionView("P5", "07900", sent, due_at=at("2026-08-07"), answered_at=at("2026-08-10"),
                                outcome="handled")
    assert not judge_petition(own_deadline, AUGUST, END_OF_AUGUST, CAL).on_time


def test_an_open_petition_is_within_time_until_its_deadline_passes():
    open_one = PetitionView("P1", "07900", at("2026-08-20"))
    verdict = judge_petition(open_one, AUGUST, END_OF_AUGUST, CAL)
    assert verdict.on_time and verdict.handled_or_in_progress and verdict.received_in_period
    overdue = PetitionView("P2", "07900", at("2026-08-03"))
    assert judge_petition(overdue, AUGUST, END_OF_AUGUST, CAL).reason == "Chưa trả lời, quá hạn 22/08/2026"


def test_petition_populations_and_dissatisfaction():
    carried = PetitionView("P1", "07900", at("2026-07-20"), answered_at=at("2026-08-05"), outcome="handled")
    verdict = judge_petition(carried, AUGUST, END_OF_AUGUST, CAL)
    assert verdict.handled_or_in_progress and not verdict.received_in_period
    answered_before = PetitionView("P2", "07900", at("2026-07-01"), answered_at=at("2026-07-20"), outcome="handled")
    assert not judge_petition(answered_before, AUGUST, END_OF_AUGUST, CAL).handled_or_in_progress
    disliked = PetitionView("P3", "07900", at("2026-08-03"), answered_at=at("2026-08-05"), outcome="handled",
                            likes=1, dislikes=3, rated_at=at("2026-08-06"))
    assert judge_petition(disliked, AUGUST, END_OF_AUGUST, CAL).dissatisfied
    rated_after = PetitionView("P4", "07900", at("2026-08-03"), answered_at=at("2026-08-05"), outcome="handled",
                               likes=0, dislikes=3, rated_at=at("2026-09-06"))
    assert not judge_petition(rated_after, AUGUST, END_OF_AUGUST, CAL).dissatisfied

"""The synthetic one-door stream: valid, reproducible, shaped like real traffic, and its ground truth right.

The last test is the one that matters most: it recomputes every dossier's final state from its events alone
(due dates from compute_deadline, supplement rounds under RESTART, dates compared) and requires exactly the
counts the generator claims in ``expected``, because service and end-to-end tests trust those counts.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from cchc.traffic import FINAL_STATES, GeneratedTraffic, TrafficSpec, generate, read_jsonl, write_jsonl
from services.dossiers.catalogue import Catalogue
from services.dossiers.deadlines import (
    ProcessingTime,
    SupplementPolicy,
    SupplementRound,
    TimeUnit,
    compute_deadline,
)
from services.dossiers.units import UnitKind, UnitTree
from shared.calendar import LOCAL_TZ, WorkingCalendar
from shared.events import Event, parse_event

# One reporting month (15/7 – 14/8/2026), looked at six days after it closed.
SPEC = TrafficSpec(
    start=date(2026, 7, 15),
    end=date(2026, 8, 14),
    now=datetime(2026, 8, 20, 12, 0, tzinfo=LOCAL_TZ),
    dossiers=3000,
)


@pytest.fixture(scope="module")
def world() -> tuple[UnitTree, Catalogue, WorkingCalendar]:
    return UnitTree.for_province(25), Catalogue.load(), WorkingCalendar()


@pytest.fixture(scope="module")
def traffic(world: tuple[UnitTree, Catalogue, WorkingCalendar]) -> GeneratedTraffic:
    return generate(SPEC, *world)


@pytest.fixture(scope="module")
def events(traffic: GeneratedTraffic) -> list[Event]:
    """Every message parsed, duplicates included (parse_event raises on the first invalid one)."""
    return [parse_event(message) for message in traffic.messages]


@pytest.fixture(scope="module")
def by_dossier(events: list[Event]) -> dict[str, list[Event]]:
    """Distinct events per dossier, in business-time order."""
    seen: set[str] = set()
    grouped: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        if str(event.event_id) not in seen:
            seen.add(str(event.event_id))
            grouped[event.dossier_code].append(event)
    for dossier_events in grouped.values():
        dossier_events.sort(key=lambda e: e.time)
    return grouped


def _finished_late_share(expected: dict[str, Counter[str]]) -> float:
    total: Counter[str] = Counter()
    for counts in expected.values():
        total.update(counts)
    finished = total["finished_early"] + total["finished_on_time"] + total["finished_late"]
    return total["finished_late"] / finished


# ----------------------------------------------------------------------------------------- the contract


def test_every_message_is_a_valid_onedoor_event(traffic: GeneratedTraffic, events: list[Event]) -> None:
    assert len(events) == len(traffic.messages) > 0
    assert {event.source for event in events} == {"onedoor.phutho"}
    for event in events:
        assert event.occurred_at == event.time, "occurred_at is the step's business time"


def test_jsonl_round_trip(traffic: GeneratedTraffic, tmp_path) -> None:
    path = tmp_path / "traffic.jsonl"
    assert write_jsonl(traffic.messages[:500], path) == 500
    assert list(read_jsonl(path)) == traffic.messages[:500]
    assert "Nguyễn" in path.read_text(encoding="utf-8") or "Trần" in path.read_text(encoding="utf-8")


def test_spec_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="aware"):
        replace(SPEC, now=datetime(2026, 8, 20, 12))


# ------------------------------------------------------------------------------------- reproducibility


def test_same_seed_same_stream_other_seed_another(
    world: tuple[UnitTree, Catalogue, WorkingCalendar], traffic: GeneratedTraffic
) -> None:
    again = generate(SPEC, *world)
    assert again.messages == traffic.messages
    assert again.expected == traffic.expected
    other = generate(replace(SPEC, seed=SPEC.seed + 1), *world)
    assert other.messages != traffic.messages
    assert {m["event_id"] for m in other.messages}.isdisjoint({m["event_id"] for m in traffic.messages})


def test_now_in_another_zone_means_the_same_instant(
    world: tuple[UnitTree, Catalogue, WorkingCalendar], traffic: GeneratedTraffic
) -> None:
    assert generate(replace(SPEC, now=SPEC.now.astimezone(UTC)), *world).messages == traffic.messages


# ---------------------------------------------------------------------------------------- the bus


def test_duplicates_are_redeliveries_of_the_same_event(traffic: GeneratedTraffic) -> None:
    by_id: dict[str, list[dict]] = defaultdict(list)
    for message in traffic.messages:
        by_id[message["event_id"]].append(message)
    assert len(by_id) == traffic.distinct_events
    extra = len(traffic.messages) - traffic.distinct_events
    assert extra / traffic.distinct_events == pytest.approx(SPEC.duplicate_share, abs=0.005)
    for copies in by_id.values():
        assert all(copy == copies[0] for copy in copies)
    # Copies are independent objects: a consumer mutating one delivery cannot alter another.
    duplicated = next(copies for copies in by_id.values() if len(copies) > 1)
    assert duplicated[0] is not duplicated[1] and duplicated[0]["payload"] is not duplicated[1]["payload"]


def test_messages_are_shuffled(events: list[Event]) -> None:
    times = [event.time for event in events]
    assert times != sorted(times)
    first_hundred = Counter(event.event_type for event in events[:100])
    assert len(first_hundred) >= 3, "event types are mixed, not grouped"


# ---------------------------------------------------------------------------------------- time order


def test_nothing_happens_after_now_or_before_receipt(by_dossier: dict[str, list[Event]]) -> None:
    for code, dossier_events in by_dossier.items():
        received = dossier_events[0]
        assert received.event_type == "dossier.received", code
        assert [e.event_type for e in dossier_events].count("dossier.received") == 1, code
        for event in dossier_events:
            assert event.time <= SPEC.now, (code, event.event_type)
            assert event.time >= received.time, (code, event.event_type)
        for event in dossier_events[1:]:
            assert event.time > received.time, "the receipt is strictly the first business event"


def test_now_inside_the_period_cuts_the_stream(world: tuple[UnitTree, Catalogue, WorkingCalendar]) -> None:
    now = datetime(2026, 8, 3, 10, 15, tzinfo=LOCAL_TZ)
    traffic = generate(replace(SPEC, now=now, dossiers=800, seed=7), *world)
    events = [parse_event(message) for message in traffic.messages]
    assert max(event.time for event in events) <= now
    total: Counter[str] = Counter()
    for counts in traffic.expected.values():
        total.update(counts)
    assert sum(total.values()) == 800
    assert total["unfinished"] > 100, "dossiers received in the last days are still open at `now`"


def test_receipts_fall_in_the_period_mostly_in_office_hours(
    by_dossier: dict[str, list[Event]], world: tuple[UnitTree, Catalogue, WorkingCalendar]
) -> None:
    calendar = world[2]
    receipts = [events[0].time.astimezone(LOCAL_TZ) for events in by_dossier.values()]
    assert all(SPEC.start <= t.date() <= SPEC.end for t in receipts)
    working = [t for t in receipts if calendar.is_working_day(t.date())]
    saturdays = [t for t in receipts if not calendar.is_working_day(t.date())]
    assert all(t.weekday() == 5 for t in saturdays)
    assert 0 < len(saturdays) / len(receipts) < 0.05
    office = [t for t in working if time(7, 30) <= t.time() < time(11, 30) or time(13) <= t.time() < time(17)]
    lunch = [t for t in working if time(11, 30) <= t.time() < time(13)]
    assert 0.8 < len(office) / len(receipts) < 0.92
    assert 0.02 < len(lunch) / len(receipts) < 0.08


# -------------------------------------------------------------------------------------- realism


def test_channel_mix_and_applicants(by_dossier: dict[str, list[Event]]) -> None:
    payloads = [events[0].payload for events in by_dossier.values()]
    channels = Counter(p["channel"] for p in payloads)
    assert channels["in_person"] / len(payloads) == pytest.approx(0.55, abs=0.04)
    assert channels["online"] / len(payloads) == pytest.approx(0.43, abs=0.04)
    assert 0.005 < channels["post"] / len(payloads) < 0.04
    applicants = [p["applicant"] for p in payloads]
    assert {a["kind"] for a in applicants} == {"citizen", "business"}
    assert any("email" in a for a in applicants)
    assert any("phone" in a and "email" not in a for a in applicants)
    surnames = Counter(a["name"].split()[0] for a in applicants if a["kind"] == "citizen")
    assert surnames.most_common(1)[0][0] == "Nguyễn"


def test_dossier_codes_look_like_the_portal(by_dossier: dict[str, list[Event]]) -> None:
    pattern = re.compile(r"^H44\.\d{2,3}-(\d{6})-\d{4}$")
    for code, events in by_dossier.items():
        match = pattern.match(code)
        assert match, code
        assert match.group(1) == events[0].time.astimezone(LOCAL_TZ).strftime("%y%m%d")


def test_units_get_procedures_of_their_level(
    by_dossier: dict[str, list[Event]], world: tuple[UnitTree, Catalogue, WorkingCalendar]
) -> None:
    tree, catalogue, _ = world
    for events in by_dossier.values():
        payload = events[0].payload
        unit = tree.get(payload["unit_code"])
        procedure = catalogue.get(payload["procedure_code"])
        assert unit is not None and procedure is not None
        assert procedure.level == ("province" if unit.kind == UnitKind.DEPARTMENT else "commune")
        assert payload["processing_time_unit"] == procedure.time_unit
        assert payload.get("processing_time") == procedure.processing_amount


def test_volume_spreads_like_a_real_province(traffic: GeneratedTraffic, world: tuple) -> None:
    tree = world[0]
    volume = {code: sum(counts.values()) for code, counts in traffic.expected.items()}
    departments = {code: n for code, n in volume.items() if tree.get(code).kind == UnitKind.DEPARTMENT}
    communes = [n for code, n in volume.items() if tree.get(code).kind == UnitKind.COMMUNE]
    assert len(communes) == 148 and sum(n > 0 for n in communes) > 140
    assert max(communes) > 2.5 * sorted(communes)[74], "a few towns take far more than the median commune"
    assert sum(communes) > 0.7 * traffic.dossiers, "communes carry most of the volume"
    assert departments["H44.01"] == 0 and departments["H44.23"] == 0  # UBND office, inspectorate
    assert max(departments, key=departments.get) == "H44.45"  # agriculture & environment (land)


def test_supplements_late_reports_and_due_mismatches_occur(
    by_dossier: dict[str, list[Event]], traffic: GeneratedTraffic
) -> None:
    with_supplement = sum(
        any(e.event_type == "dossier.supplement_requested" for e in events) for events in by_dossier.values()
    )
    two_rounds = sum(
        sum(e.event_type == "dossier.supplement_requested" for e in events) == 2 for events in by_dossier.values()
    )
    assert with_supplement / traffic.dossiers == pytest.approx(SPEC.supplement_share, abs=0.02)
    assert 0 < two_rounds < with_supplement / 3
    late_reports = [e for events in by_dossier.values() for e in events if e.event_type == "dossier.late"]
    assert late_reports and all("new_due_at" in e.payload for e in late_reports)
    resolved_late = [
        events
        for events in by_dossier.values()
        if any(e.event_type == "dossier.resolved" for e in events)
        and any(e.event_type == "dossier.late" for e in events)
    ]
    finished_late = sum(counts["finished_late"] for counts in traffic.expected.values())
    assert len(resolved_late) / finished_late == pytest.approx(SPEC.late_event_share, abs=0.15)


def test_an_empty_month(world: tuple[UnitTree, Catalogue, WorkingCalendar]) -> None:
    traffic = generate(replace(SPEC, dossiers=0), *world)
    assert traffic.messages == [] and traffic.distinct_events == 0 and traffic.dossiers == 0
    assert all(not counts for counts in traffic.expected.values())


# ----------------------------------------------------------------------------------------- ground truth


def test_expected_counts_every_dossier_once(traffic: GeneratedTraffic, by_dossier: dict) -> None:
    assert traffic.dossiers == SPEC.dossiers == len(by_dossier)
    assert sum(sum(counts.values()) for counts in traffic.expected.values()) == SPEC.dossiers
    assert {state for counts in traffic.expected.values() for state in counts} <= set(FINAL_STATES)


def test_late_share_of_finished_dossiers(traffic: GeneratedTraffic) -> None:
    assert _finished_late_share(traffic.expected) == pytest.approx(SPEC.late_share, abs=0.012)


def test_late_share_follows_the_spec(world: tuple[UnitTree, Catalogue, WorkingCalendar]) -> None:
    traffic = generate(replace(SPEC, late_share=0.15, seed=11), *world)
    assert _finished_late_share(traffic.expected) == pytest.approx(0.15, abs=0.02)


def _recompute_state(events: list[Event], catalogue: Catalogue, calendar: WorkingCalendar) -> tuple[str, bool]:
    """(final state as of now, whether the one-door's due_at differs from ours) from the events alone."""
    received = events[0].payload
    types = {e.event_type: e for e in events}
    if "dossier.rejected" in types:
        return "rejected", False
    if "dossier.withdrawn" in types:
        return "withdrawn", False
    procedure = catalogue.get(received["procedure_code"])
    assert procedure is not None
    rounds: list[SupplementRound] = []
    for event in events:
        if event.event_type == "dossier.supplement_requested":
            rounds.append(SupplementRound(event.payload["requested_at"], None))
        elif event.event_type == "dossier.supplement_received":
            rounds[-1] = SupplementRound(rounds[-1].requested_at, event.payload["supplied_at"])
    due_at = None
    if procedure.has_deadline:
        initial = compute_deadline(
            received["received_at"],
            ProcessingTime(procedure.processing_amount, TimeUnit(procedure.time_unit)),
            calendar,
            cutoff=procedure.cutoff,
        ).due_at
        assert initial is not None
        mismatch = received["due_at"] != initial
        due_at = compute_deadline(
            received["received_at"],
            ProcessingTime(procedure.processing_amount, TimeUnit(procedure.time_unit)),
            calendar,
            cutoff=procedure.cutoff,
            rounds=rounds,
            policy=SupplementPolicy.RESTART,
        ).due_at
    else:
        assert "due_at" not in received
        mismatch = False
    resolved = types.get("dossier.resolved")
    if resolved is None:
        return "unfinished", mismatch
    finished = resolved.payload["resolved_at"].astimezone(LOCAL_TZ).date()
    if due_at is None:
        return "finished_on_time", mismatch  # no deadline: on time, as classify_finished says
    due = due_at.astimezone(LOCAL_TZ).date()
    state = "finished_early" if finished < due else "finished_on_time" if finished == due else "finished_late"
    return state, mismatch


def test_expected_matches_an_independent_recomputation(
    traffic: GeneratedTraffic,
    by_dossier: dict[str, list[Event]],
    world: tuple[UnitTree, Catalogue, WorkingCalendar],
) -> None:
    _, catalogue, calendar = world
    recomputed: dict[str, Counter[str]] = defaultdict(Counter)
    mismatches = 0
    for events in by_dossier.values():
        state, mismatch = _recompute_state(events, catalogue, calendar)
        recomputed[events[0].payload["unit_code"]][state] += 1
        mismatches += mismatch
    assert {code: counts for code, counts in traffic.expected.items() if counts} == dict(recomputed)
    for state in FINAL_STATES:
        assert sum(counts[state] for counts in recomputed.values()) > 0, f"no dossier ends {state}"
    assert 0 < mismatches / traffic.dossiers < 0.03


def test_late_dossiers_resolve_on_a_working_day_after_the_due_date(
    by_dossier: dict[str, list[Event]], world: tuple[UnitTree, Catalogue, WorkingCalendar]
) -> None:
    _, catalogue, calendar = world
    late = 0
    for events in by_dossier.values():
        state, _ = _recompute_state(events, catalogue, calendar)
        resolved = next((e for e in events if e.event_type == "dossier.resolved"), None)
        if resolved is not None:
            assert calendar.is_working_day(resolved.time.astimezone(LOCAL_TZ).date())
        if state == "finished_late":
            late += 1
            report = next((e for e in events if e.event_type == "dossier.late"), None)
            if report is not None:
                assert report.time < resolved.time <= report.payload["new_due_at"] + timedelta(days=1)
    assert late > 0

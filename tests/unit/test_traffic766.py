"""The generator's Decision 766 facts: off, every stream is byte for byte what it was; on, the timeliness part is
unchanged, every message is valid, and the ground truth is exactly what the events say."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import defaultdict
from datetime import date, datetime

import pytest

from cchc.traffic import TrafficSpec, generate
from services.dossiers.catalogue import Catalogue
from services.dossiers.index766.facts import facts_of, fold
from services.dossiers.index766.procedure_facts import plan_import
from services.dossiers.units import UnitTree
from shared.calendar import LOCAL_TZ, WorkingCalendar
from shared.events import VERSION_2_TYPES, parse_event

TREE, CATALOGUE, CALENDAR = UnitTree.for_province(25), Catalogue.load(), WorkingCalendar()
NOW = datetime(2026, 9, 3, 8, 0, tzinfo=LOCAL_TZ)


def spec(seed: int, dossiers: int, **more) -> TrafficSpec:
    return TrafficSpec(start=date(2026, 7, 1), end=date(2026, 8, 31), now=NOW, dossiers=dossiers, seed=seed, **more)


def digest(messages: list[dict]) -> str:
    h = hashlib.sha256()
    for message in messages:
        h.update(json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode())
        h.update(b"\n")
    return h.hexdigest()


@pytest.mark.parametrize(("seed", "dossiers"), [(766, 3000), (11, 500)])
def test_with_the_facts_off_a_stream_is_version_1_without_766_truth(seed, dossiers):
    """(When the facts were added, the streams were also checked byte for byte against the generator before them;
    a digest pinned here would break with every legitimate change of the generator, so the lasting check is the
    pair below: the facts never change the timeliness part.)"""
    traffic = generate(spec(seed, dossiers), TREE, CATALOGUE, CALENDAR)
    assert traffic.truth766 is None
    assert {m["schema_version"] for m in traffic.messages} == {1}


@pytest.fixture(scope="module")
def pair():
    return (generate(spec(766, 2000), TREE, CATALOGUE, CALENDAR),
            generate(spec(766, 2000, index766=True), TREE, CATALOGUE, CALENDAR))


def test_with_the_facts_on_the_timeliness_part_is_unchanged(pair):
    off, on = pair
    plain = {m["event_id"]: m for m in off.messages}
    facts_free = {}
    for message in on.messages:
        if message["event_type"] in VERSION_2_TYPES:
            continue
        payload = {k: v for k, v in message["payload"].items() if k not in (
            "components", "has_digitised_components", "fees", "payment", "vneid_verified", "population_data_used")}
        facts_free[message["event_id"]] = {**message, "payload": payload, "schema_version": 1}
    assert facts_free == plain
    assert on.expected == off.expected and on.truth == off.truth


def test_every_message_is_valid_and_the_truth_is_what_the_events_say(pair):
    _, on = pair
    truth = on.truth766
    assert truth is not None
    folded: dict[str, list] = defaultdict(list)
    petitions: dict[str, dict] = defaultdict(dict)
    seen = set()
    for message in on.messages:
        event = parse_event(message)
        if message["event_id"] in seen:
            continue
        seen.add(message["event_id"])
        if event.event_type.startswith("petition."):
            petitions[event.subject_code][event.event_type] = event.payload
            continue
        facts = facts_of(message["event_id"], event.event_type, event.payload)
        if facts is not None:
            folded[event.dossier_code].append(facts)
    assert set(folded) <= set(truth.dossiers)
    for code, expected in truth.dossiers.items():
        facts = fold(folded.get(code, ()))
        assert (facts.digitised or False, facts.reused or False, facts.from_store or False) == (
            expected.digitised, expected.reused, expected.from_store), code
        assert (facts.vneid or False, facts.population_data or False) == (expected.vneid, expected.population_data)
        assert (facts.fee_lines or 0, facts.fee_nonzero or False) == (expected.fee_lines, expected.fee_nonzero)
        assert facts.paid_online_at == expected.paid_at and facts.e_result_at == expected.e_result_at
        assert facts.synced_at == expected.synced_at and facts.rating == expected.rating
    assert {p.code for p in truth.petitions} == set(petitions)
    for p in truth.petitions:
        assert petitions[p.code]["petition.received"]["unit_code"] == p.unit_code
        assert (petitions[p.code].get("petition.answered") or {}).get("answered_at") == p.answered_at
        assert (petitions[p.code].get("petition.rated") or {}).get("dislikes", 0) == p.dislikes
    # the facts vary: every kind occurs, and not everywhere
    dossiers = list(truth.dossiers.values())
    for name in ("digitised", "reused", "from_store", "vneid", "fee_nonzero", "result_pushed"):
        assert 0 < sum(bool(getattr(d, name)) for d in dossiers) < len(dossiers), name
    assert any(d.rating == "dissatisfied" for d in dossiers) and any(d.paid_at for d in dossiers)
    assert any(p.dossier_code for p in truth.petitions) and any(p.answered_at is None for p in truth.petitions)


def test_the_procedure_facts_import_cleanly(pair):
    rows = pair[1].truth766.procedure_rows()
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    plan = plan_import(out.getvalue().encode(), "facts.csv", TREE, CATALOGUE)
    assert plan.accepted and len(plan.facts) == len(rows) - 1
    assert {f.procedure_code for f in plan.facts} == {p.code for p in CATALOGUE}

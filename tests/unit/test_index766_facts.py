"""A dossier's Decision 766 facts are folded from its events in any order, any number of times: the same facts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.dossiers.index766.facts import DossierFacts, facts_of, fold, merge
from shared.calendar import LOCAL_TZ

BASE = dt.datetime(2026, 8, 3, 8, 0, tzinfo=LOCAL_TZ)
moments = st.integers(min_value=0, max_value=500).map(lambda h: BASE + dt.timedelta(hours=h))
event_ids = st.uuids().map(str)

components = st.lists(st.fixed_dictionaries({"component_code": st.just("TP1")}, optional={
    "digitised": st.booleans(), "reused": st.booleans(), "from_national_store": st.booleans(),
    "replacing_result_code": st.just("KQ-1")}), max_size=3)
fees = st.lists(st.fixed_dictionaries({"amount": st.sampled_from([Decimal(0), Decimal("50000")])}), max_size=3)
receipts = st.builds(
    lambda eid, at, comps, lines, vneid, paid: facts_of(eid, "dossier.received", {
        "received_at": at, "components": comps, "fees": lines, "vneid_verified": vneid,
        **({"payment": {"channel": "national_platform", "paid_at": paid}} if paid else {})}),
    event_ids, moments, components, fees, st.booleans(), st.one_of(st.none(), moments))
others = st.one_of(
    st.builds(lambda eid, at, ch: facts_of(eid, "dossier.paid", {"paid_at": at, "channel": ch}), event_ids, moments,
              st.sampled_from(["national_platform", "provincial_gateway"])),
    st.builds(lambda eid, at, pushed: facts_of(eid, "dossier.result_issued", {
        "issued_at": at, "pushed_to_personal_store": pushed}), event_ids, moments, st.booleans()),
    st.builds(lambda eid, at, r: facts_of(eid, "dossier.rated", {"rated_at": at, "rating": r}), event_ids, moments,
              st.sampled_from(["satisfied", "dissatisfied", "neutral"])),
    st.builds(lambda eid, at: facts_of(eid, "dossier.synced", {"synced_at": at}), event_ids, moments),
)
streams = st.lists(st.one_of(receipts, others), min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(streams, st.randoms(use_true_random=False))
def test_order_and_repetition_do_not_change_the_facts(stream, rng):
    shuffled = stream + rng.sample(stream, k=min(len(stream), 3))  # some events delivered twice
    rng.shuffle(shuffled)
    assert fold(shuffled) == fold(stream)


@settings(max_examples=200, deadline=None)
@given(st.one_of(receipts, others), st.one_of(receipts, others))
def test_merge_is_commutative(a, b):
    assert merge(a, b) == merge(b, a)


def test_the_earliest_receipt_block_wins_and_the_latest_rating():
    early = facts_of("b", "dossier.received", {"received_at": BASE, "vneid_verified": True})
    late = facts_of("a", "dossier.received", {"received_at": BASE + dt.timedelta(hours=1), "vneid_verified": False,
                                              "fees": [{"amount": Decimal(0)}]})
    first = facts_of("r1", "dossier.rated", {"rated_at": BASE + dt.timedelta(days=3), "rating": "dissatisfied"})
    second = facts_of("r2", "dossier.rated", {"rated_at": BASE + dt.timedelta(days=4), "rating": "satisfied"})
    facts = fold([late, second, early, first])
    assert facts.vneid is True and facts.fee_lines is None and facts.receipt_event_id == "b"
    assert facts.rating == "satisfied"


def test_what_each_field_means():
    receipt = facts_of("e", "dossier.received", {
        "received_at": BASE, "has_digitised_components": False,
        "components": [{"component_code": "TP1", "replacing_result_code": "KQ-9"}, {"component_code": "TP2"}],
        "fees": [{"amount": Decimal(0)}, {"amount": Decimal(0)}], "population_data_used": True})
    assert receipt is not None
    assert (receipt.component_count, receipt.digitised, receipt.reused, receipt.from_store) == (2, False, True, False)
    assert receipt.exempt and receipt.population_data and receipt.vneid is None
    assert facts_of("e", "dossier.received", {"received_at": BASE, "channel": "online"}) is None
    assert DossierFacts(receipt_paid_at=BASE + dt.timedelta(hours=2), paid_at=BASE).paid_online_at == BASE

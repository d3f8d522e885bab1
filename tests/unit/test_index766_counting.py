"""Per-unit ratios from dossiers, petitions and procedure facts: populations, roll-up to the province, procedure
scopes, province-wide and commune indicators, and the items kept behind every lost point."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.dossiers.index766.counting import tally
from services.dossiers.index766.facts import DossierFacts
from services.dossiers.index766.forms import Ratio
from services.dossiers.index766.groups import compute
from services.dossiers.index766.periods import parse_board_period
from services.dossiers.index766.views import Context, DossierView, PetitionView, ProcedureFacts
from services.dossiers.units import UnitKind, UnitTree
from shared.calendar import LOCAL_TZ, WorkingCalendar

TREE = UnitTree.for_province(25)
AUGUST = parse_board_period("2026-08")
CTX = Context(AUGUST, AUGUST.end_instant, WorkingCalendar())
VIET_TRI, NONG_TRANG, TU_PHAP = "07900", "07894", "H44.19"
COMMUNES = sum(1 for u in TREE if u.kind is UnitKind.COMMUNE)


def at(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=LOCAL_TZ)


FULL = DossierFacts(receipt_at=at("2026-08-03"), component_count=2, digitised=True, reused=False, from_store=False,
                    vneid=True, population_data=False, fee_lines=1, fee_nonzero=True,
                    receipt_paid_at=at("2026-08-03"), receipt_payment_channel="national_platform",
                    e_result_at=at("2026-08-07"), synced_at=at("2026-08-03", 10))
DOSSIERS = [
    DossierView("D1", VIET_TRI, "1.000894.H44", "online", at("2026-08-03"), at("2026-08-10"), (), "finished",
                at("2026-08-07"), FULL, complained_at=at("2026-08-04"), applicant_name="Nguyễn Văn An"),
    DossierView("D2", VIET_TRI, "1.001193.H44", "in_person", at("2026-07-20"), at("2026-07-30")),  # carried over
    DossierView("D3", NONG_TRANG, "1.001193.H44", "in_person", at("2026-08-05"), at("2026-08-12"), (), "finished",
                at("2026-08-11"), DossierFacts(rating="dissatisfied", rated_at=at("2026-08-12"))),
    DossierView("D4", TU_PHAP, "2.000001.H44", "in_person", at("2026-08-10"), at("2026-08-20"), (), "finished",
                at("2026-08-19"), DossierFacts(receipt_at=at("2026-08-10"), fee_lines=1, fee_nonzero=False)),
    DossierView("D5", VIET_TRI, "1.001193.H44", "online", at("2026-07-01"), at("2026-07-08"), (), "finished",
                at("2026-07-20")),  # closed before August: not counted
]
PETITIONS = [PetitionView("P1", VIET_TRI, at("2026-08-04"), category="procedure", dossier_code="D1",
                          answered_at=at("2026-08-10"), outcome="handled")]
FACTS = [
    ProcedureFacts("1.000894.H44", level="commune", online_level="partial", fee_bearing=True, citizen_subject=True,
                   published_in_period=True, published_on_time=False, public_content_complete=True),
    ProcedureFacts("1.001193.H44", level="commune", online_level="none", fee_bearing=False, citizen_subject=True,
                   public_content_complete=False),
    ProcedureFacts("2.000001.H44", level="province", agency_code=TU_PHAP, online_level="full", fee_bearing=True,
                   citizen_subject=True),
    ProcedureFacts("2.000815.H44", level="commune", agency_code=VIET_TRI, e_certified_copy=True),
]


def context() -> Context:
    bearing = {f.procedure_code: f.fee_bearing for f in FACTS}
    return Context(AUGUST, AUGUST.end_instant, WorkingCalendar(), fee_bearing=bearing.get)


@pytest.fixture(scope="module")
def tallies():
    return tally(TREE, DOSSIERS, PETITIONS, FACTS, context(), units=["P25", VIET_TRI, NONG_TRANG, TU_PHAP],
                 collect=[VIET_TRI, "P25"])


def test_the_province_counts_every_dossier_of_the_period(tallies):
    r = tallies["P25"].ratios
    assert r["PROGRESS_ON_TIME"] == Ratio(3, 4)  # D2 overdue; D5 closed before August
    assert r["DOSSIER_SYNC"] == Ratio(1, 4)
    assert r["ONLINE_CHANNEL"] == Ratio(1, 3)  # newly received: D1, D3, D4
    assert r["ORIGINAL_RESULT_AVAILABLE"] == r["SO_HOA_GIAY_TO_GIAI_QUYET"] == Ratio(1, 4)
    assert r["CITIZEN_DATA_CONNECTED_DOSSIER"] == Ratio(1, 4)
    assert r["DOSSIER_RECEIVING_SATISFACTION"] == Ratio(1, 4)  # D1 complained about, D2 late, D3 dissatisfied
    assert r["ONLINE_PAYMENT_DOSSIERS"] == Ratio(1, 1)  # D3 owes nothing, D4 exempt
    assert r["PETITION_PROCESSING_ON_TIME"] == r["PETITION_HANDLING_SATISFACTION"] == Ratio(1, 1)
    assert r["PETITION_CLASSIFICATION_TTHC"] == Ratio(1, 1)


def test_procedure_indicators_count_the_units_scope(tallies):
    r = tallies["P25"].ratios
    assert r["ONLINE_PROCEDURES"] == Ratio(2, 3)
    assert r["ONLINE_SERVICES_USED"] == Ratio(1, COMMUNES + 1)  # one online service per commune and 2.000001
    assert r["ONLINE_PAYMENT_FORMALITIES"] == Ratio(1, 2)
    assert r["FEE_DATA_FORMALITIES"] == Ratio(1, 2)
    assert r["CITIZEN_DATA_CONNECTED_FORMALITY"] == Ratio(1, 3)
    assert r["ELECTRONIC_CERTIFIED_COPY"] == Ratio(1, COMMUNES)
    commune = tallies[VIET_TRI].ratios
    assert commune["ONLINE_SERVICES_USED"] == Ratio(1, 1)
    assert commune["CITIZEN_DATA_CONNECTED_FORMALITY"] == Ratio(1, 2)
    assert commune["ELECTRONIC_CERTIFIED_COPY"] == Ratio(1, 1)
    assert tallies[NONG_TRANG].ratios["ELECTRONIC_CERTIFIED_COPY"] == Ratio(0, 1)
    department = tallies[TU_PHAP].ratios
    assert department["ONLINE_PAYMENT_FORMALITIES"] == Ratio(0, 1)
    assert department["ELECTRONIC_CERTIFIED_COPY"] == Ratio(1, COMMUNES)  # the province's, as the portal shows
    assert tallies[TU_PHAP].notes["ELECTRONIC_CERTIFIED_COPY"]


def test_province_wide_indicators_are_the_same_for_every_unit(tallies):
    for code in ("P25", VIET_TRI, TU_PHAP):
        r = tallies[code].ratios
        assert (r["PUBLISH_ON_TIME"], r["PUBLIC_UPDATE_ON_TIME"], r["PUBLIC_CONTENT_FULL"]) == (
            Ratio(0, 1), Ratio(0, 0), Ratio(1, 2))
    assert "PUBLISH_ON_TIME" in tallies[VIET_TRI].notes and "PUBLISH_ON_TIME" not in tallies["P25"].notes


def test_a_commune_counts_its_own_dossiers_and_keeps_what_cost_points(tallies):
    t = tallies[VIET_TRI]
    assert t.ratios["PROGRESS_ON_TIME"] == Ratio(1, 2)
    [miss] = t.misses["PROGRESS_ON_TIME"]
    assert (miss.kind, miss.code, miss.reason) == ("dossier", "D2", "Đang giải quyết, quá hạn 30/07/2026")
    assert [m.reason for m in t.misses["DOSSIER_RECEIVING_SATISFACTION"]] == [
        "Có phản ánh, kiến nghị về hồ sơ", "Đang giải quyết, quá hạn 30/07/2026"]
    assert NONG_TRANG not in {m.unit_code for m in t.misses["DOSSIER_RECEIVING_SATISFACTION"]}
    assert not tallies[NONG_TRANG].misses  # not asked for
    assert [m.code for m in tallies["P25"].misses["PUBLISH_ON_TIME"]] == ["1.000894.H44"]


def test_scores_from_the_tally_children_get_0_on_3_1(tallies):
    commune = compute(tallies[VIET_TRI].ratios, is_root=False, notes=tallies[VIET_TRI].notes)
    assert commune.indicator("ONLINE_PROCEDURES").points == 0
    assert commune.group("timeliness").score == Decimal("10.00")
    province = compute(tallies["P25"].ratios, is_root=True)
    assert province.indicator("ONLINE_PROCEDURES").figures.score == Decimal("1.67")  # 2 × (2/3) / 0.8


def test_without_procedure_facts_the_procedure_indicators_are_empty_and_say_why():
    result = tally(TREE, DOSSIERS, PETITIONS, None, CTX, units=["P25", VIET_TRI])
    r = result[VIET_TRI]
    assert r.ratios["ONLINE_PAYMENT_FORMALITIES"] == Ratio(0, 0) and r.notes["ONLINE_PAYMENT_FORMALITIES"]
    assert r.ratios["ELECTRONIC_CERTIFIED_COPY"] == Ratio(1, 1)  # the portal's 100 %, assumed and said so
    assert "100%" in r.notes["ELECTRONIC_CERTIFIED_COPY"]
    # without facts, a fee is owed where the dossier carries a non-zero fee line
    assert result["P25"].ratios["ONLINE_PAYMENT_DOSSIERS"] == Ratio(1, 1)


def test_only_units_active_in_the_period_are_tallied():
    result = tally(TREE, [], [], None, CTX)
    assert "D227" not in result  # Thành phố Việt Trì, a district until 30/6/2025
    assert {"P25", VIET_TRI, TU_PHAP} <= result.keys()


def test_looked_up_procedure_verdicts_equal_the_functions():
    """counting._VerdictTable (a ranking's lookups) counts every procedure and online-service indicator as the
    indicator functions do, for any facts and any use a unit's dossiers made of them."""
    import random

    from services.dossiers.index766.counting import _BY_KIND, ProcedureUses, _count, _VerdictTable
    from services.dossiers.index766.indicators import Kind

    rng = random.Random(766)
    maybe = (None, False, True)
    for _ in range(200):
        rows = [ProcedureFacts(f"P{i}", level=rng.choice((None, "commune", "province", "both")),
                               online_level=rng.choice((None, "none", "partial", "full")),
                               fee_bearing=rng.choice(maybe), citizen_subject=rng.choice(maybe))
                for i in range(rng.randint(0, 12))]
        codes = [row.procedure_code for row in rows]
        uses = ProcedureUses(*(set(rng.sample(codes, rng.randint(0, len(codes)))) for _ in range(4)))
        table = _VerdictTable(rows, CTX)
        for kind in (Kind.PROCEDURE, Kind.SERVICE):
            looked_up = table.count(_BY_KIND[kind], uses)
            for ind in _BY_KIND[kind]:
                by_function = _count(ind, [(uses.of(row), row.procedure_code, "U") for row in rows], CTX, "procedure",
                                     "U", None, 0)
                assert looked_up[ind.code] == by_function, (ind.code, rows, uses)

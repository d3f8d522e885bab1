"""A generated month of the province through the real broker and database: every group of every unit, as the
dossiers service computes it over RPC, equals a brute-force recomputation from the generator's ground truth.

The recomputation below reads only what the generator decided (cchc/traffic766.py ``Truth766``), never the
service's tables, views or counting: it applies the board's rules (766-INDEX.md) with plain loops over the truth,
then scores the counts with the published arithmetic (groups.compute, itself pinned by every worked example).
The stream starts in mid-July so that August has carried-over dossiers; it is judged after August has closed.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
from collections import defaultdict

import pytest

from cchc.runner import rpc_proxy, running
from cchc.traffic import GeneratedTraffic, TrafficSpec, generate
from cchc.traffic766 import DossierTruth766, PetitionTruth, ProcedureTruth, Truth766
from services.dossiers.index766.forms import Ratio
from services.dossiers.index766.groups import UnitIndex, compute
from services.dossiers.rules import rules_from_config
from services.dossiers.service import DossiersService
from services.dossiers.units import Unit, UnitKind, UnitTree
from shared.calendar import LOCAL_TZ, WorkingCalendar
from shared.clock import pinned
from shared.config import load_config
from shared.publisher import publisher_for
from tests.support import PG_URL, pg_schema_prefix, rabbit_vhost, wait_until

pytestmark = pytest.mark.integration

RULES = rules_from_config(load_config())
NOW = dt.datetime(2026, 9, 3, 8, 0, tzinfo=LOCAL_TZ)
START, END = dt.date(2026, 8, 1), dt.date(2026, 8, 31)
AS_OF = dt.datetime.combine(END, dt.time.max, LOCAL_TZ)
SPEC = TrafficSpec(start=dt.date(2026, 7, 15), end=END, now=NOW, dossiers=3000, seed=2026, index766=True)


def day(at: dt.datetime) -> dt.date:
    return at.astimezone(LOCAL_TZ).date()


# --- the brute force ------------------------------------------------------------------------------------------


def processed(d: DossierTruth766) -> bool:
    return d.received_at <= AS_OF and day(d.received_at) <= END and (
        d.end_at is None or d.end_at > AS_OF or day(d.end_at) >= START)


def new(d: DossierTruth766) -> bool:
    return START <= day(d.received_at) <= END


def on_time(d: DossierTruth766) -> bool:
    """S1's test: the end less the supplement waits, on or before NgayHenTra; a pending supplement judged at its
    request; more than one request late; an open dossier judged at the period's end. A round still open when the
    dossier closed (withdrawn while waiting) ended at the closing."""
    requests = [(req, sup) for req, sup in d.rounds if req <= AS_OF]
    if len(requests) > 1:
        return False
    closed = d.end_at is not None and d.end_at <= AS_OF
    if closed:
        assert d.end_at is not None
        end = d.end_at
        requests = [(req, sup if sup is not None else d.end_at) for req, sup in requests]
    elif requests and (requests[-1][1] is None or requests[-1][1] > AS_OF):
        end = requests[-1][0]
    else:
        end = AS_OF
    waited = sum((sup - req for req, sup in requests if sup is not None and sup <= end), dt.timedelta())
    return d.ngay_hen_tra is None or day(end - waited) <= day(d.ngay_hen_tra)


def upto(at: dt.datetime | None) -> bool:
    return at is not None and at <= AS_OF


class Counts:
    def __init__(self) -> None:
        self.num: dict[str, int] = defaultdict(int)
        self.den: dict[str, int] = defaultdict(int)

    def add(self, code: str, met: bool) -> None:
        self.den[code] += 1
        self.num[code] += met

    def ratios(self) -> dict[str, Ratio]:
        return {code: Ratio(self.num[code], self.den[code]) for code in self.den}


def members(tree: UnitTree, unit: Unit) -> set[str]:
    return set(tree.descendants(unit.code))


def scope(rows: list[ProcedureTruth], unit: Unit) -> dict[str, ProcedureTruth]:
    found: dict[str, ProcedureTruth] = {}
    for row in rows:
        if unit.kind is UnitKind.PROVINCE or row.agency_code == unit.code or (
                row.agency_code is None and row.level == "commune" and unit.kind is UnitKind.COMMUNE):
            found.setdefault(row.procedure_code, row)
    return found


def brute_force(truth: Truth766, tree: UnitTree, calendar: WorkingCalendar) -> dict[str, UnitIndex]:
    units = [u for u in tree if (u.valid_from is None or u.valid_from <= END) and (u.valid_to is None
                                                                                   or u.valid_to >= START)]
    communes = [u for u in units if u.kind is UnitKind.COMMUNE]
    rows = truth.procedures
    bearing = {r.procedure_code: r.fee_bearing for r in rows}
    complained = defaultdict(list)
    for p in truth.petitions:
        if p.dossier_code:
            complained[p.dossier_code].append(p.received_at)
    by_code: dict[str, list[ProcedureTruth]] = defaultdict(list)
    for row in rows:
        by_code[row.procedure_code].append(row)
    province_wide = Counts()
    for group in by_code.values():
        if any(r.published_in_period for r in group):
            province_wide.add("PUBLISH_ON_TIME", all(r.published_on_time for r in group if r.published_in_period))
        province_wide.add("PUBLIC_CONTENT_FULL", all(r.public_content_complete for r in group))
    offering = {c.code for c in communes if any(r.e_certified_copy for r in scope(rows, c).values())}
    result = {}
    for unit in units:
        inside = members(tree, unit)
        counts = Counts()
        dossiers = [(code, d) for code, d in truth.dossiers.items() if d.unit_code in inside]
        used_online, paid, fee_data, citizen = set(), set(), set(), set()
        online_by_unit: dict[str, set[str]] = defaultdict(set)
        for code, d in dossiers:
            owes = d.fee_lines > 0 and d.fee_nonzero and bearing.get(d.procedure_code, False)
            if new(d):
                counts.add("ONLINE_CHANNEL", d.channel == "online")
                if owes:
                    counts.add("ONLINE_PAYMENT_DOSSIERS", upto(d.paid_at))
                    if upto(d.paid_at):
                        paid.add(d.procedure_code)
                if d.channel == "online":
                    used_online.add(d.procedure_code)
                    online_by_unit[d.unit_code].add(d.procedure_code)
                if d.fee_nonzero:
                    fee_data.add(d.procedure_code)
            if not processed(d):
                continue
            timely = on_time(d)
            e_result = upto(d.e_result_at)
            counts.add("PROGRESS_ON_TIME", timely)
            counts.add("DOSSIER_SYNC", upto(d.synced_at))
            counts.add("ORIGINAL_RESULT_AVAILABLE", e_result)
            counts.add("SO_HOA_GIAY_TO_GIAI_QUYET", d.digitised and e_result)
            counts.add("REUSED_DIGITIZED_DATA", d.reused)
            counts.add("SYNCED_WITH_DVCQG_PERSONAL_STORAGE", d.from_store or d.result_pushed)
            counts.add("CITIZEN_DATA_CONNECTED_DOSSIER", d.vneid or d.population_data or d.from_store)
            if d.vneid or d.population_data or d.from_store:
                citizen.add(d.procedure_code)
            unhappy = d.rating == "dissatisfied" and upto(d.rated_at)
            counts.add("DOSSIER_RECEIVING_SATISFACTION",
                       timely and not unhappy and not any(at <= AS_OF for at in complained.get(code, ())))
        for p in truth.petitions:
            if p.unit_code in inside:
                petition(counts, p, calendar)
        own_scope = scope(rows, unit)
        for code, row in own_scope.items():
            counts.add("ONLINE_PROCEDURES", row.online_level in ("partial", "full"))
            if row.fee_bearing:
                counts.add("ONLINE_PAYMENT_FORMALITIES", code in paid)
                counts.add("FEE_DATA_FORMALITIES", code in fee_data)
            if row.citizen_subject:
                counts.add("CITIZEN_DATA_CONNECTED_FORMALITY", code in citizen)
        for member in inside:
            if tree.get(member).kind is UnitKind.PROVINCE or member not in {u.code for u in units}:
                continue
            for code, row in scope(rows, tree.get(member)).items():
                if row.online_level in ("partial", "full"):
                    counts.add("ONLINE_SERVICES_USED", code in online_by_unit[member])
        ratios = {**counts.ratios(), **province_wide.ratios()}
        if unit.kind is UnitKind.COMMUNE:
            ratios["ELECTRONIC_CERTIFIED_COPY"] = Ratio(int(unit.code in offering), 1)
        else:
            ratios["ELECTRONIC_CERTIFIED_COPY"] = Ratio(len(offering), len(communes))
        result[unit.code] = compute(ratios, is_root=unit.kind is UnitKind.PROVINCE)
    return result


def petition(counts: Counts, p: PetitionTruth, calendar: WorkingCalendar) -> None:
    received = day(p.received_at)
    answered = upto(p.answered_at)
    handle_by = calendar.add_working_days(received, 15)
    if answered:
        assert p.answered_at is not None
        timely = day(p.answered_at) <= (calendar.add_working_days(received, 2) if p.outcome == "rejected"
                                       else handle_by)
    else:
        timely = day(AS_OF) <= handle_by
    if p.received_at <= AS_OF and received <= END and (not answered or day(p.answered_at) >= START):
        counts.add("PETITION_PROCESSING_ON_TIME", timely)
    if START <= received <= END and p.received_at <= AS_OF:
        disliked = upto(p.rated_at) and p.dislikes > p.likes
        counts.add("PETITION_HANDLING_SATISFACTION", timely and not disliked)


# --- the run --------------------------------------------------------------------------------------------------


def facts_file(truth: Truth766) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(truth.procedure_rows())
    return base64.b64encode(out.getvalue().encode("utf-8")).decode("ascii")


def distinct_dossier_events(traffic: GeneratedTraffic) -> int:
    return len({m["event_id"] for m in traffic.messages if m["event_type"].startswith("dossier.")})


def scores(index: UnitIndex) -> dict[str, str]:
    return {**{g.group.code: str(g.score) for g in index.groups}, "total": str(index.total)}


def test_a_generated_month_scores_as_its_ground_truth_says():
    traffic = generate(SPEC, RULES.units, RULES.catalogue, RULES.calendar)
    truth = traffic.truth766
    assert truth is not None
    expected = brute_force(truth, RULES.units, RULES.calendar)
    with rabbit_vhost() as uri, pg_schema_prefix() as schema, pinned(NOW):
        config = load_config(AMQP_URI=uri, DATABASE_URL=PG_URL, DATABASE_SCHEMA=schema,
                             timeliness={"scan_interval_seconds": 3600})
        with running([DossiersService], config):
            publisher = publisher_for(config)
            try:
                publisher.publish_many(traffic.messages)
            finally:
                publisher.close()
            with rpc_proxy(config, timeout=120) as rpc:
                wanted = (distinct_dossier_events(traffic), len(truth.petitions))
                wait_until(lambda: (lambda p: (p["events_stored"], p["petitions_received"]) == wanted)(
                    rpc.dossiers.ingest_progress()), timeout=180, message="the month stored")
                imported = rpc.dossiers.index766_import_procedure_facts("2026-08", "facts.csv", facts_file(truth),
                                                                        "test")
                assert imported["accepted"], imported
                ranking = rpc.dossiers.index766_ranking("2026-08")
                sample = [u["unit_code"] for u in ranking["units"][:3]] + ["P25"]
                units = {code: rpc.dossiers.index766(code, "2026-08", max_items=5) for code in sample}
    computed = {u["unit_code"]: {**u["groups"], "total": u["total"]} for u in ranking["units"]}
    computed["P25"] = {**{g["code"]: g["score"] for g in ranking["province"]["groups"]},
                       "total": ranking["province"]["total"]}
    recomputed = {code: scores(index) for code, index in expected.items()}
    assert computed == recomputed
    for code, doc in units.items():  # the unit view says the same as the ranking
        assert {g["code"]: g["score"] for g in doc["groups"]} | {"total": doc["total"]} == recomputed[code]
    # a month with something at stake in every group, and units that differ
    assert len({scores_["total"] for scores_ in recomputed.values()}) > 50
    province = expected["P25"]
    for group in province.groups:
        assert 0 < group.score < group.group.max_points, group.group.code

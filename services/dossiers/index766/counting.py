"""Per-unit ratios of every indicator — and the items behind every lost point — from the views of a period.

How a unit's figure is assembled depends on what its indicator counts (indicators.Kind):

* dossiers and petitions count at their own unit and at every unit above it (the province row is the exact sum
  of its children: V-data, S12);
* procedures are counted once per unit scope (a commune: the commune-level procedures; a department: the
  procedures it implements; the province: all), with the use the dossiers of the unit and of the units below it
  made of them;
* online services are counted per applying unit, so a unit's figure is the sum of its own and those below it;
* the province-wide procedure indicators (1.1–1.3) are computed once and shown for every unit (V-data);
* the e-certified copy indicator counts communes.

Every dossier is judged once (timeliness.judge) and then tested by each dossier indicator; the ratios are exact
counts, so the groups can be scored by :func:`groups.compute`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.dossiers.index766.forms import Ratio
from services.dossiers.index766.indicators import (
    INDICATORS,
    CommuneOffer,
    Indicator,
    JudgedDossier,
    JudgedPetition,
    Kind,
    ProcedureUse,
    owes_fees,
)
from services.dossiers.index766.petitions import judge_petition
from services.dossiers.index766.timeliness import in_population, judge, received_in_period
from services.dossiers.index766.views import Context, DossierView, PetitionView, ProcedureFacts
from services.dossiers.units import Unit, UnitKind, UnitTree

__all__ = ["JUDGED_IN_PYTHON", "Counted", "Miss", "ProcedureUses", "Tally", "UnitCounts", "active_units", "in_scope",
           "tally"]

NO_FACTS_NOTE = "Chưa nhập dữ liệu TTHC của kỳ (CSDLQG về TTHC)"
ASSUMED_ECC_NOTE = "Chưa nhập dữ liệu; Cổng DVCQG công bố 100% cho mọi đơn vị"
PROVINCE_COPY_NOTE = "Giá trị của tỉnh (Cổng DVCQG áp dụng cho mọi đơn vị)"
DEPARTMENT_ECC_NOTE = "Giá trị của tỉnh (chỉ tiêu tính theo xã)"

_BY_KIND: dict[Kind, list[Indicator]] = defaultdict(list)
for _ind in INDICATORS.values():
    _BY_KIND[_ind.kind].append(_ind)


@dataclass(frozen=True, slots=True)
class Miss:
    """One item behind a lost point: a dossier, petition, procedure or commune that is in an indicator's
    denominator and not in its numerator."""

    kind: str  # dossier | petition | procedure | service | commune
    code: str
    unit_code: str
    reason: str | None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Tally:
    """A unit's counts for a period: ratios by indicator code, the misses behind them (up to a limit per
    indicator, for the units asked for) and how a figure was obtained when it is not the unit's own count."""

    ratios: dict[str, Ratio] = field(default_factory=dict)
    misses: dict[str, list[Miss]] = field(default_factory=lambda: defaultdict(list))
    notes: dict[str, str] = field(default_factory=dict)


class UnitCounts:
    """Numerators and denominators of one unit's own items."""

    __slots__ = ("den", "num")

    def __init__(self) -> None:
        self.num: dict[str, int] = defaultdict(int)
        self.den: dict[str, int] = defaultdict(int)

    def add(self, other: UnitCounts) -> None:
        for code, value in other.num.items():
            self.num[code] += value
        for code, value in other.den.items():
            self.den[code] += value

    def ratio(self, code: str) -> Ratio:
        return Ratio(self.num.get(code, 0), self.den.get(code, 0))


def active_units(tree: UnitTree, ctx: Context) -> list[Unit]:
    """Units that existed at some point of the period (the province, its departments and communes)."""
    start, end = ctx.period.start, ctx.period.end
    return [u for u in tree if (u.valid_from is None or u.valid_from <= end) and (u.valid_to is None or
                                                                                 u.valid_to >= start)]


def in_scope(facts: ProcedureFacts, unit: Unit) -> bool:
    """Whether a procedure concerns ``unit``: the province holds every procedure; a row naming an agency concerns
    that unit; otherwise a commune-level procedure concerns every commune."""
    if unit.kind is UnitKind.PROVINCE:
        return True
    if facts.agency_code is not None:
        return facts.agency_code == unit.code
    return facts.level in ("commune", "both") and unit.kind in (UnitKind.COMMUNE, UnitKind.DISTRICT)


def _province_wide(rows: Sequence[ProcedureFacts]) -> list[ProcedureFacts]:
    """One record per procedure for the province-wide indicators: a procedure is due if any of its rows says so,
    on time or complete only if every row that says anything says so."""
    by_code: dict[str, list[ProcedureFacts]] = defaultdict(list)
    for row in rows:
        by_code[row.procedure_code].append(row)

    def any_(values: list[bool | None]) -> bool | None:
        stated = [v for v in values if v is not None]
        return any(stated) if stated else None

    def all_(values: list[bool | None]) -> bool | None:
        stated = [v for v in values if v is not None]
        return all(stated) if stated else None

    merged = []
    for code, group in by_code.items():
        merged.append(ProcedureFacts(
            procedure_code=code,
            published_in_period=any_([r.published_in_period for r in group]),
            published_on_time=all_([r.published_on_time for r in group]),
            public_update_due=any_([r.public_update_due for r in group]),
            public_update_on_time=all_([r.public_update_on_time for r in group]),
            public_content_complete=all_([r.public_content_complete for r in group]),
        ))
    return merged


def _scoped(rows: Sequence[ProcedureFacts], unit: Unit) -> list[ProcedureFacts]:
    """The unit's procedures, one per code (the first row in scope)."""
    seen: dict[str, ProcedureFacts] = {}
    for row in rows:
        if row.procedure_code not in seen and in_scope(row, unit):
            seen[row.procedure_code] = row
    return list(seen.values())


@dataclass
class ProcedureUses:
    """Procedures the dossiers of one unit used in the period, by kind of use."""

    online: set[str] = field(default_factory=set)
    paid: set[str] = field(default_factory=set)
    fee_data: set[str] = field(default_factory=set)
    citizen: set[str] = field(default_factory=set)

    def update(self, other: ProcedureUses) -> None:
        self.online |= other.online
        self.paid |= other.paid
        self.fee_data |= other.fee_data
        self.citizen |= other.citizen

    def of(self, facts: ProcedureFacts) -> ProcedureUse:
        code = facts.procedure_code
        return ProcedureUse(facts, code in self.online, code in self.paid, code in self.fee_data,
                            code in self.citizen)


# Indicators whose verdict needs the board's on-time test of a dossier with supplement rounds (pairing its steps,
# subtracting its waits): the database counts every other dossier indicator, and these for dossiers without rounds.
JUDGED_IN_PYTHON = frozenset({"PROGRESS_ON_TIME", "DOSSIER_RECEIVING_SATISFACTION"})


@dataclass
class Counted:
    """Per-unit counts of the dossier indicators and the procedures' use, as the database counted them."""

    own: dict[str, UnitCounts] = field(default_factory=dict)
    use: dict[str, ProcedureUses] = field(default_factory=dict)


def _dossier_detail(j: JudgedDossier) -> dict[str, Any]:
    v = j.view
    return {"procedure_code": v.procedure_code, "received_at": v.received_at, "deadline": v.deadline,
            "state": j.judgement.state, "closed_at": v.closed_at, "applicant_name": v.applicant_name}


def tally(
    tree: UnitTree,
    dossiers: Iterable[DossierView],
    petitions: Iterable[PetitionView],
    procedures: Sequence[ProcedureFacts] | None,
    ctx: Context,
    *,
    units: Collection[str] | None = None,
    collect: Collection[str] = (),
    max_items: int = 200,
    counted: Counted | None = None,
) -> dict[str, Tally]:
    """The tally of every unit in ``units`` (default: every unit active in the period); misses are kept for the
    units in ``collect``, up to ``max_items`` per indicator (the counts are always complete).

    ``counted`` holds what the database already counted (index766/aggregate.py: every dossier indicator and the
    procedures' use, except the on-time tests of dossiers with supplement rounds); ``dossiers`` are then those
    dossiers only, judged here by the same indicator functions for :data:`JUDGED_IN_PYTHON`."""
    active = {u.code: u for u in active_units(tree, ctx)}
    wanted = [code for code in (units if units is not None else active) if code in active]
    chains: dict[str, tuple[str, ...]] = {}
    collecting = set(collect)

    def chain(code: str) -> tuple[str, ...]:
        if code not in chains:
            chains[code] = (code, *tree.ancestors(code)) if code in tree else (code,)
        return chains[code]

    own: dict[str, UnitCounts] = defaultdict(UnitCounts)
    use: dict[str, ProcedureUses] = defaultdict(ProcedureUses)
    misses: dict[str, dict[str, list[Miss]]] = {code: defaultdict(list) for code in collecting}
    dossier_tests = _BY_KIND[Kind.DOSSIER]
    tests = [(ind.code, ind.test) for ind in dossier_tests]  # the loop below runs per dossier and indicator
    if counted is not None:
        for unit_code, counts in counted.own.items():
            own[unit_code].add(counts)
        for unit_code, uses in counted.use.items():
            use[unit_code].update(uses)
        tests = [(code, test) for code, test in tests if code in JUDGED_IN_PYTHON]
    period, as_of = ctx.period, ctx.as_of
    for view in dossiers:
        processed = in_population(view.received_at, view.closed_at, period, as_of)
        new = received_in_period(view.received_at, period, as_of)
        if not processed and not new:
            continue
        judged = JudgedDossier(view, judge(view.received_at, view.deadline, view.rounds, view.closing,
                                           view.closed_at, as_of), processed, new)
        counter = own[view.unit_code]
        num, den = counter.num, counter.den
        keep = [u for u in chain(view.unit_code) if u in collecting] if collecting else ()
        for code, test in tests:
            verdict = test(judged, ctx)
            if verdict is None:
                continue
            den[code] += 1
            if verdict.met:
                num[code] += 1
            else:
                for unit_code in keep:
                    bucket = misses[unit_code][code]
                    if len(bucket) < max_items:
                        bucket.append(Miss("dossier", view.code, view.unit_code, verdict.reason,
                                           _dossier_detail(judged)))
        if counted is None:
            _record_use(use[view.unit_code], judged, ctx)

    for view in petitions:
        judged_petition = JudgedPetition(view, judge_petition(view, ctx.period, ctx.as_of, ctx.calendar))
        counter = own[view.unit_code]
        keep = [u for u in chain(view.unit_code) if u in collecting] if collecting else ()
        for ind in _BY_KIND[Kind.PETITION]:
            verdict = ind.test(judged_petition, ctx)
            if verdict is None:
                continue
            counter.den[ind.code] += 1
            if verdict.met:
                counter.num[ind.code] += 1
            elif verdict.why is not None:
                for unit_code in keep:
                    bucket = misses[unit_code][ind.code]
                    if len(bucket) < max_items:
                        bucket.append(Miss("petition", view.code, view.unit_code, verdict.reason,
                                           {"received_at": view.received_at, "dossier_code": view.dossier_code,
                                            "handle_by": judged_petition.judgement.handle_by}))

    results: dict[str, Tally] = {}
    subtree_cache: dict[str, list[str]] = {}
    for code in wanted:
        members = subtree_cache.setdefault(code, [m for m in tree.descendants(code) if m in active or m in own])
        total = UnitCounts()
        for member in members:
            if member in own:
                total.add(own[member])
        result = Tally()
        for ind in (*dossier_tests, *_BY_KIND[Kind.PETITION]):
            result.ratios[ind.code] = total.ratio(ind.code)
        if code in misses:
            result.misses = misses[code]
        results[code] = result
    _procedure_indicators(tree, active, wanted, results, procedures, use, ctx, collecting, max_items)
    return results


def _record_use(use: ProcedureUses, judged: JudgedDossier, ctx: Context) -> None:
    view, facts = judged.view, judged.view.facts
    code = view.procedure_code
    if judged.new:
        if view.channel == "online":
            use.online.add(code)
        paid = facts.paid_online_at
        if paid is not None and paid <= ctx.as_of and owes_fees(judged, ctx):
            use.paid.add(code)
        if facts.fee_nonzero:
            use.fee_data.add(code)
    if judged.processed and (facts.vneid or facts.population_data or facts.from_store):
        use.citizen.add(code)


def _count(ind: Indicator, items: Iterable[Any], ctx: Context, miss_kind: str, unit_code: str,
           bucket: list[Miss] | None, max_items: int) -> Ratio:
    num = den = 0
    for item, code, owner in items:
        verdict = ind.test(item, ctx)
        if verdict is None:
            continue
        den += 1
        if verdict.met:
            num += 1
        elif bucket is not None and len(bucket) < max_items:
            bucket.append(Miss(miss_kind, code, owner, verdict.reason))
    return Ratio(num, den)


_USES = tuple((online, paid, fee_data, citizen) for online in (False, True) for paid in (False, True)
              for fee_data in (False, True) for citizen in (False, True))


class _VerdictTable:
    """The procedure indicators' verdicts on a list of procedures for each of the 16 ways a unit's dossiers can
    have used one (online, paid online, with fee data, with population data): the indicator functions are called
    16 times per procedure and scope, then a unit's counts are looked up. 0 = not in the population, 1 = missed,
    2 = met."""

    def __init__(self, rows: Sequence[ProcedureFacts], ctx: Context) -> None:
        self.rows = rows
        self.codes = [row.procedure_code for row in rows]
        self.verdicts: dict[str, list[list[int]]] = {}
        for ind in (*_BY_KIND[Kind.PROCEDURE], *_BY_KIND[Kind.SERVICE]):
            self.verdicts[ind.code] = [[_state(ind.test(ProcedureUse(row, *flags), ctx)) for flags in _USES]
                                       for row in rows]

    def count(self, indicators: Sequence[Indicator], uses: ProcedureUses) -> dict[str, Ratio]:
        online, paid, fee_data, citizen = uses.online, uses.paid, uses.fee_data, uses.citizen
        ways = [8 * (code in online) + 4 * (code in paid) + 2 * (code in fee_data) + (code in citizen)
                for code in self.codes]
        ratios = {}
        for ind in indicators:
            table = self.verdicts[ind.code]
            states = [table[i][way] for i, way in enumerate(ways)]
            ratios[ind.code] = Ratio(states.count(2), len(states) - states.count(0))
        return ratios


def _state(verdict: Any) -> int:
    return 0 if verdict is None else 2 if verdict.met else 1


def _procedure_indicators(
    tree: UnitTree,
    active: Mapping[str, Unit],
    wanted: Sequence[str],
    results: dict[str, Tally],
    procedures: Sequence[ProcedureFacts] | None,
    use: Mapping[str, ProcedureUses],
    ctx: Context,
    collecting: set[str],
    max_items: int,
) -> None:
    rows = list(procedures or ())
    root = next((u for u in active.values() if u.kind is UnitKind.PROVINCE), None)
    province_wide = _province_wide(rows)
    province_ratios = {
        ind.code: _count(ind, ((ProcedureUses().of(f), f.procedure_code, root.code if root else "")
                               for f in province_wide), ctx, "procedure", "", None, max_items)
        for ind in _BY_KIND[Kind.PROVINCE]
    }
    province_misses: dict[str, list[Miss]] = defaultdict(list)
    if root is not None and root.code in collecting:
        for ind in _BY_KIND[Kind.PROVINCE]:
            _count(ind, ((ProcedureUses().of(f), f.procedure_code, root.code) for f in province_wide), ctx, "procedure",
                   root.code, province_misses[ind.code], max_items)
    ecc_rows = [r for r in rows if r.e_certified_copy is not None]
    communes = [u for u in active.values() if u.kind in (UnitKind.COMMUNE, UnitKind.DISTRICT)]
    offers = {u.code: any(r.e_certified_copy for r in ecc_rows if in_scope(r, u)) for u in communes}
    nothing = ProcedureUses()
    agencies = {r.agency_code for r in rows if r.agency_code is not None}
    scopes: dict[tuple[str | None, bool], list[ProcedureFacts]] = {}
    tables: dict[tuple[str | None, bool], _VerdictTable] = {}

    def scope_key(unit: Unit) -> tuple[str | None, bool]:
        """What in_scope reads of a unit: units with the same key (every commune, usually) share their scope."""
        if unit.kind is UnitKind.PROVINCE:
            return ("", True)
        return (unit.code if unit.code in agencies else None, unit.kind in (UnitKind.COMMUNE, UnitKind.DISTRICT))

    def scoped(unit: Unit) -> list[ProcedureFacts]:
        key = scope_key(unit)
        if key not in scopes:
            scopes[key] = _scoped(rows, unit)
        return scopes[key]

    def table(unit: Unit) -> _VerdictTable:
        key = scope_key(unit)
        if key not in tables:
            tables[key] = _VerdictTable(scoped(unit), ctx)
        return tables[key]

    for code in wanted:
        unit = active[code]
        result = results[code]
        members = [m for m in tree.descendants(code) if m in active]
        combined = ProcedureUses()
        for member in members:
            if member in use:
                combined.update(use[member])
        collect = code in collecting
        for ind in _BY_KIND[Kind.PROVINCE]:
            result.ratios[ind.code] = province_ratios[ind.code]
            if unit.kind is not UnitKind.PROVINCE:
                result.notes[ind.code] = PROVINCE_COPY_NOTE
            elif collect:
                result.misses[ind.code] = province_misses[ind.code]
        if collect:  # the items behind the misses, each with its reason
            uses = [(combined.of(f), f.procedure_code, code) for f in scoped(unit)]
            for ind in _BY_KIND[Kind.PROCEDURE]:
                result.ratios[ind.code] = _count(ind, uses, ctx, "procedure", code, result.misses[ind.code],
                                                 max_items)
            for ind in _BY_KIND[Kind.SERVICE]:  # the province's are every commune's: judged until the list is full
                bucket = result.misses[ind.code]
                for member in members:
                    if len(bucket) >= max_items:
                        break
                    if active[member].kind is UnitKind.PROVINCE:
                        continue
                    for facts in scoped(active[member]):
                        verdict = ind.test((use.get(member) or nothing).of(facts), ctx)
                        if verdict is not None and not verdict.met and len(bucket) < max_items:
                            bucket.append(Miss("service", facts.procedure_code, member, verdict.reason))
        else:  # counts only: the verdicts looked up (a ranking scores every unit)
            result.ratios.update(table(unit).count(_BY_KIND[Kind.PROCEDURE], combined))
        totals: dict[str, Ratio] = {}  # online services are counted per applying unit: the sum of the members'
        for member in members:
            if active[member].kind is not UnitKind.PROVINCE:
                for ind_code, ratio in table(active[member]).count(_BY_KIND[Kind.SERVICE],
                                                                   use.get(member) or nothing).items():
                    totals[ind_code] = totals[ind_code] + ratio if ind_code in totals else ratio
        for ind in _BY_KIND[Kind.SERVICE]:
            result.ratios[ind.code] = totals.get(ind.code, Ratio(0, 0))
        for ind in _BY_KIND[Kind.COMMUNE]:
            if not ecc_rows:
                result.ratios[ind.code] = Ratio(1, 1)
                result.notes[ind.code] = ASSUMED_ECC_NOTE
                continue
            if unit.kind is UnitKind.DEPARTMENT:
                items = [(CommuneOffer(c.code, offers[c.code]), c.code, c.code) for c in communes]
                result.notes[ind.code] = DEPARTMENT_ECC_NOTE
            else:
                items = [(CommuneOffer(m, offers[m]), m, m) for m in members if m in offers]
            bucket = result.misses[ind.code] if collect else None
            result.ratios[ind.code] = _count(ind, items, ctx, "commune", code, bucket, max_items)
        if not rows:
            for ind in (*_BY_KIND[Kind.PROVINCE], *_BY_KIND[Kind.PROCEDURE], *_BY_KIND[Kind.SERVICE]):
                result.notes[ind.code] = NO_FACTS_NOTE

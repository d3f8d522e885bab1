"""Every indicator of the board, each in one place: what it counts (the function, whose docstring is its formula),
its maximum, scoring form, empty rule, evidence label from 766-INDEX.md and whether its method is inferred.

A function decides one item — a dossier, a petition, a procedure, a commune — at the as-of instant: ``None`` when
the item is not in the indicator's population (its denominator), else a :class:`Verdict` saying whether it is in
the numerator and, when it is not, why (in Vietnamese: it is what an official reads in "where the points go").
``counting`` applies them to a unit's items; ``groups`` turns the ratios into points.

Evidence labels (766-INDEX.md, "How to read the labels"): **V-data** reproduced from the portal's published
inputs; **V-text** stated in the formula documents (S1, S2) but not testable; **Inferred** a reconstruction that
fits the data. ``inferred=True`` marks an indicator whose maximum, form or population is not V-data; the output
carries that flag so nobody mistakes a reconstruction for the portal's word.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any, NamedTuple

from services.dossiers.index766.forms import LINEAR, EmptyRule, Form, Ratio, Scored, score, threshold
from services.dossiers.index766.petitions import PetitionJudgement
from services.dossiers.index766.timeliness import Judgement
from services.dossiers.index766.views import DISSATISFIED, Context, DossierView, PetitionView, ProcedureFacts
from services.dossiers.progress766 import progress_rate, progress_score

__all__ = ["INDICATORS", "Indicator", "Kind", "Verdict"]

TRANSPARENCY, TIMELINESS, ONLINE_SERVICES = "transparency", "timeliness", "online_services"
DIGITISATION, SATISFACTION, ONLINE_PAYMENT = "digitisation", "satisfaction", "online_payment"


class Kind(StrEnum):
    """What an indicator counts, which decides how a unit's figure is assembled."""

    DOSSIER = "dossier"  # the unit's dossiers (its own and those of the units below it)
    PETITION = "petition"  # the unit's petitions (likewise)
    PROCEDURE = "procedure"  # distinct procedures in the unit's scope, with the use its dossiers made of them
    SERVICE = "service"  # online services counted per applying unit: a unit's figure sums those below it
    PROVINCE = "province"  # computed once from the province's procedure facts, the same for every unit
    COMMUNE = "commune"  # communes: the unit itself, or the communes below it


class Verdict(NamedTuple):
    """In the numerator or not; ``why`` is the reason (Vietnamese), or a judgement whose ``reason`` says it — written
    only when someone reads it, since most misses of a province-wide ranking are only counted."""

    met: bool
    why: Any = None

    @property
    def reason(self) -> str | None:
        return self.why if self.why is None or isinstance(self.why, str) else self.why.reason


MET = Verdict(True)


class JudgedDossier(NamedTuple):
    """A dossier with what every dossier indicator needs computed once: the board's timeliness verdict."""

    view: DossierView
    judgement: Judgement
    processed: bool  # received or processed in the period (the timeliness population)
    new: bool  # newly received in the period


class JudgedPetition(NamedTuple):
    view: PetitionView
    judgement: PetitionJudgement


class ProcedureUse(NamedTuple):
    """A procedure in a unit's scope, and what the unit's dossiers of the period did with it."""

    facts: ProcedureFacts
    online_dossier: bool  # a dossier received online in the period
    paid_online: bool  # a dossier of the period paid online
    fee_data: bool  # a dossier of the period with a non-zero fee line
    citizen_data: bool  # a dossier of the period with VNeID / population data / the national store


class CommuneOffer(NamedTuple):
    unit_code: str
    e_certified_copy: bool


@dataclass(frozen=True)
class Indicator:
    code: str  # the portal's metric code, or ours for the parameter groups' terms (in capitals, likewise)
    number: str  # S1's numbering
    group: str
    name_vi: str
    max_points: Decimal
    kind: Kind
    form: Form
    empty: EmptyRule
    evidence: str
    inferred: bool
    test: Callable[..., Verdict | None]
    children_zero: bool = False  # the portal gives every unit but the province 0 on it

    @property
    def formula(self) -> str:
        """The function's docstring: what is counted, and why."""
        return " ".join((self.test.__doc__ or "").split())

    def score(self, ratio: Ratio) -> Scored:
        return score(self.max_points, self.form, self.empty, ratio)


INDICATORS: dict[str, Indicator] = {}


def indicator(code: str, number: str, group: str, name_vi: str, max_points: str, kind: Kind, *,
              evidence: str, inferred: bool, form: Form = LINEAR, empty: EmptyRule = EmptyRule.NULL,
              children_zero: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as the test of one indicator."""

    def register(test: Callable[..., Any]) -> Callable[..., Any]:
        if code in INDICATORS:
            raise ValueError(f"indicator {code} defined twice")
        INDICATORS[code] = Indicator(code, number, group, name_vi, Decimal(max_points), kind, form, empty, evidence,
                                     inferred, test, children_zero)
        return test

    return register


# --- 1. Công khai, minh bạch (18) -----------------------------------------------------------------------------


@indicator("PUBLISH_ON_TIME", "1.1", TRANSPARENCY, "Tỷ lệ TTHC công bố đúng hạn", "6", Kind.PROVINCE,
           evidence="V-text S1; V-data only at ratio 0 (0/89 → 0, 0/54 → 0), slope from S4's group-wide fit",
           inferred=True)
def publish_on_time(p: ProcedureUse, ctx: Context) -> Verdict | None:
    """Procedures added, amended or abolished by a publishing decision (QĐCB) dated in the period, each once; on
    time if every such decision came at least 5 working days (ministries: 20) before the latest effective date of
    its legal basis. Score 6 × ratio. From the national procedure database, not from one-door; every unit shows the
    province's value."""
    f = p.facts
    if not f.published_in_period:
        return None
    return MET if f.published_on_time else Verdict(False, "Công bố TTHC không đúng hạn")


@indicator("PUBLIC_UPDATE_ON_TIME", "1.2", TRANSPARENCY, "Tỷ lệ TTHC được cập nhật, công khai đúng hạn", "4",
           Kind.PROVINCE, evidence="V-text S1; V-data only at ratio 0", inferred=True)
def public_update_on_time(p: ProcedureUse, ctx: Context) -> Verdict | None:
    """Procedures that had to be made public on the national procedure database in the period (published in it,
    or whose QĐCB date is no later than 5 working days after its end); on time if made public within 5 working
    days of the QĐCB date (ministries 10). Score 4 × ratio; every unit shows the province's value."""
    f = p.facts
    if not f.public_update_due:
        return None
    return MET if f.public_update_on_time else Verdict(False, "Cập nhật, công khai TTHC trên CSDLQG không đúng hạn")


@indicator("PUBLIC_CONTENT_FULL", "1.3", TRANSPARENCY, "Tỷ lệ TTHC công khai đầy đủ các bộ phận tạo thành", "2",
           Kind.PROVINCE, evidence="V-data (87/89 → 1.96); V-text S1", inferred=False)
def public_content_full(p: ProcedureUse, ctx: Context) -> Verdict | None:
    """Procedures public on the national database whose seven components (name, sequence, method, dossier
    components and count, time limit, subjects, agency — NĐ 63/2010 art. 8(2)) are all filled, out of those
    public; judged "as of now" by the portal, here as of the imported period. Score 2 × ratio; every unit shows
    the province's value."""
    f = p.facts
    if f.public_content_complete is None:
        return None
    return MET if f.public_content_complete else Verdict(False, "Công khai chưa đầy đủ các bộ phận tạo thành")


@indicator("DOSSIER_SYNC", "1.4", TRANSPARENCY, "Tỷ lệ hồ sơ đồng bộ (trạng thái, thời gian thực) lên Cổng DVCQG",
           "6", Kind.DOSSIER,
           evidence="V-text S1/S2; V-data only at 100 % (temporary BCQG denominator on the portal)", inferred=True)
def dossier_sync(d: JudgedDossier, ctx: Context) -> Verdict | None:
    """Dossiers of the period acknowledged by the national portal (``dossier.synced``) by the as-of instant, out
    of the dossiers received or processed in the period. The portal's denominator is the larger of the national
    reporting system's count and its own (BCQG), which a province cannot see: here the unit's own dossiers stand
    in for it. S2 asks for on-time synchronisation of every status; S1 counts any synchronisation (used here).
    Score 6 × ratio."""
    if not d.processed:
        return None
    synced = d.view.facts.synced_at
    return MET if synced is not None and synced <= ctx.as_of else Verdict(False, "Chưa đồng bộ lên Cổng DVCQG")


# --- 2. Tiến độ giải quyết (20) -------------------------------------------------------------------------------


@indicator("PROGRESS_ON_TIME", "2.1", TIMELINESS, "Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn (đã và đang xử lý)", "20",
           Kind.DOSSIER, empty=EmptyRule.ZERO,
           evidence="V-data (164/164 Phú Thọ rows, S12; 984 observations, S4); on-time rules V-text S1",
           inferred=False)
def progress_on_time(d: JudgedDossier, ctx: Context) -> Verdict | None:
    """Dossiers finished or in progress on time, out of those received or processed in the period (carried over
    included). On time: the end of processing, less the supplement waits, on or before NgayHenTra; a dossier
    waiting for a supplement is judged at the request, more than one request is late, a dossier still open is
    judged at the period's end (timeliness.py). Score 20 × ratio (services/dossiers/progress766.py); nothing
    received → 0."""
    if not d.processed:
        return None
    return MET if d.judgement.on_time else Verdict(False, d.judgement)


# --- 3. Dịch vụ công trực tuyến (12) --------------------------------------------------------------------------


@indicator("ONLINE_PROCEDURES", "3.1", ONLINE_SERVICES, "Tỷ lệ TTHC cung cấp DVCTT (một phần và toàn trình)", "2",
           Kind.PROCEDURE, form=threshold(80), empty=EmptyRule.ZERO, children_zero=True,
           evidence="threshold V-text S1 and V-data (52/56 → 2.00, 52/89 → 1.46); maximum 2 inferred from 6 "
                    "observations; 0 for every unit below the province inferred", inferred=True)
def online_procedures(p: ProcedureUse, ctx: Context) -> Verdict | None:
    """Procedures offered as online public services (partly or fully online, counted once) out of the procedures
    under the province's competence (province and commune levels). Full at 80 %. The portal behaves as if every
    unit below the province scores 0 on it (authorityCount is a province figure)."""
    level = p.facts.online_level
    if level is None:
        return None
    return MET if p.facts.online else Verdict(False, "TTHC chưa cung cấp dịch vụ công trực tuyến")


@indicator("ONLINE_SERVICES_USED", "3.2", ONLINE_SERVICES, "Tỷ lệ DVCTT có phát sinh hồ sơ trực tuyến", "4",
           Kind.SERVICE, empty=EmptyRule.ZERO,
           evidence="linear V-data (406/1968 → 0.83, 449/1884 → 0.95, 1/1 → 4); maximum 4 inferred", inferred=True)
def online_services_used(p: ProcedureUse, ctx: Context) -> Verdict | None:
    """Online public services that received at least one dossier online in the period, out of the online services
    offered, counted per applying unit (a commune's commune-level online procedures, a department's own): the
    province's figure sums its units'. Linear, no cap."""
    if not p.facts.online:
        return None
    return MET if p.online_dossier else Verdict(False, "DVCTT chưa phát sinh hồ sơ trực tuyến trong kỳ")


@indicator("ONLINE_CHANNEL", "3.3", ONLINE_SERVICES, "Tỷ lệ hồ sơ nộp trực tuyến", "6", Kind.DOSSIER,
           form=threshold(50), empty=EmptyRule.ZERO,
           evidence="threshold V-text S1 (every observed ratio ≥ 98.9 %, slope untested); maximum 6 inferred",
           inferred=True)
def online_channel(d: JudgedDossier, ctx: Context) -> Verdict | None:
    """Dossiers received online (KenhThucHien = 2) out of the dossiers newly received in the period; a missing
    channel counts as in person. Full at 50 %. S1 multiplies by the sync ratio (1.4) and, for procedures that
    return a written result, counts an online dossier only with an electronic result; neither is applied (every
    published 1.4 is 100 %, and 98.9 % online beside 72 % electronic results shows the portal does not)."""
    if not d.new:
        return None
    return MET if d.view.channel == "online" else Verdict(False, "Hồ sơ không nộp trực tuyến")


# --- 4. Số hóa hồ sơ (22) -------------------------------------------------------------------------------------


def _e_result(d: JudgedDossier, ctx: Context) -> bool:
    at = d.view.facts.e_result_at
    return at is not None and at <= ctx.as_of


@indicator("ORIGINAL_RESULT_AVAILABLE", "4.1", DIGITISATION, "Tỷ lệ hồ sơ có cấp kết quả giải quyết TTHC điện tử",
           "6", Kind.DOSSIER, evidence="V-data (133,274/184,513 → 4.33; 2,469/2,971 → 4.99; 935 observations, S4)",
           inferred=False)
def original_result_available(d: JudgedDossier, ctx: Context) -> Verdict | None:
    """Dossiers with an electronic result (a result document with its file link, ``dossier.result_issued``) by
    the as-of instant, out of the dossiers received or processed in the period (the portal's denominator; S1
    words it as dossiers of procedures that return a written result). Score 6 × ratio, no threshold."""
    if not d.processed:
        return None
    return MET if _e_result(d, ctx) else Verdict(False, "Chưa có kết quả giải quyết điện tử")


@indicator("SO_HOA_GIAY_TO_GIAI_QUYET", "4.2", DIGITISATION, "Tỷ lệ hồ sơ thực hiện số hóa hồ sơ", "4",
           Kind.DOSSIER, evidence="V-data linear (261/326 = 80.06 % → 3.20, not 4: S1's 80 % threshold is not "
                                  "applied); numerator V-text S1", inferred=False)
def digitised_dossier(d: JudgedDossier, ctx: Context) -> Verdict | None:
    """Dossiers whose components have files attached (digitised at reception, by post or online) and that have
    an electronic result, out of the dossiers received or processed in the period. Linear: the portal does not
    apply S1's 80 % threshold."""
    if not d.processed:
        return None
    digitised = bool(d.view.facts.digitised)
    if digitised and _e_result(d, ctx):
        return MET
    if not digitised:
        return Verdict(False, "Chưa số hóa thành phần hồ sơ")
    return Verdict(False, "Đã số hóa nhưng chưa có kết quả điện tử")


@indicator("ELECTRONIC_CERTIFIED_COPY", "4.x", DIGITISATION,
           "Tỷ lệ cung cấp dịch vụ chứng thực bản sao điện tử từ bản chính", "2", Kind.COMMUNE,
           evidence="V-data (ratio 100 and score 2 for every unit, inputs not published); ratio V-text S2",
           inferred=True)
def electronic_certified_copy(c: CommuneOffer, ctx: Context) -> Verdict | None:
    """Communes offering electronic certified copies from originals, out of the communes under the unit (a
    commune: itself). The portal publishes 100 % for the province and every unit without its inputs: a
    department shows the province's figure, and with no fact imported the portal's 100 % is assumed."""
    return MET if c.e_certified_copy else Verdict(False, "Xã chưa cung cấp chứng thực bản sao điện tử")


@indicator("REUSED_DIGITIZED_DATA", "4.3", DIGITISATION, "Tỷ lệ hồ sơ khai thác, sử dụng lại thông tin, dữ liệu số hóa",
           "2", Kind.DOSSIER, form=threshold(80),
           evidence="threshold V-text S1 and V-data (1.71 % → 0.04, 1.18 % → 0.03)", inferred=False)
def reused_digitised_data(d: JudgedDossier, ctx: Context) -> Verdict | None:
    """Dossiers with at least one component re-using digitised data (DuocTaiSuDung, or replaced by an earlier
    result: MaKetQuaThayThe), out of the dossiers received or processed in the period. Full at 80 %."""
    if not d.processed:
        return None
    return MET if d.view.facts.reused else Verdict(False, "Không tái sử dụng dữ liệu số hóa")


@indicator("SYNCED_WITH_DVCQG_PERSONAL_STORAGE", "4.4", DIGITISATION,
           "Tỷ lệ hồ sơ được số hóa có kết nối, chia sẻ dữ liệu phục vụ tái sử dụng", "4", Kind.DOSSIER,
           evidence="V-text S1; slope inferred (every observation is 0 %)", inferred=True)
def personal_storage(d: JudgedDossier, ctx: Context) -> Verdict | None:
    """Dossiers with a component taken from the applicant's data store on the national portal
    (DuocLayTuKhoDMQG), or whose electronic result was pushed to that store, out of the dossiers received or
    processed in the period. Score 4 × ratio (the slope is a guess: only zeros were ever published)."""
    if not d.processed:
        return None
    f = d.view.facts
    if f.from_store or f.result_pushed:
        return MET
    return Verdict(False, "Không kết nối kho dữ liệu cá nhân trên Cổng DVCQG")


def _citizen_data(d: JudgedDossier) -> bool:
    f = d.view.facts
    return bool(f.vneid or f.population_data or f.from_store)


@indicator("CITIZEN_DATA_CONNECTED_DOSSIER", "4.5b", DIGITISATION,
           "Tỷ lệ hồ sơ TTHC có sử dụng thông tin, dữ liệu dân cư", "2", Kind.DOSSIER,
           evidence="V-data (85,644/184,513 → 0.93; 1,137/2,971 → 0.77); V-text S1",
           inferred=False)
def citizen_data_dossier(d: JudgedDossier, ctx: Context) -> Verdict | None:
    """Dossiers whose applicant signed in with a VNeID-verified account, or that queried the population database,
    or took a component from the national data store, out of the dossiers received or processed in the period.
    Score 2 × ratio; computed for communes too (S2 says province only; the portal computes it for every unit)."""
    if not d.processed:
        return None
    return MET if _citizen_data(d) else Verdict(False, "Không sử dụng dữ liệu dân cư (VNeID, CSDLQG về dân cư)")


@indicator("CITIZEN_DATA_CONNECTED_FORMALITY", "4.5a", DIGITISATION,
           "Tỷ lệ TTHC triển khai kết nối, chia sẻ dữ liệu dân cư", "2", Kind.PROCEDURE,
           evidence="V-data (297/1,301 → 0.46; 46/385 → 0.24; 7/39 → 0.36); V-text S1", inferred=False)
def citizen_data_formality(p: ProcedureUse, ctx: Context) -> Verdict | None:
    """Procedures with at least one dossier of the period carrying the 4.5b markers, out of the procedures in the
    unit's scope whose subjects include Vietnamese citizens, overseas Vietnamese or foreigners (the province:
    all; a commune: commune-level ones; a department: its own); a procedure whose subjects the facts do not
    state is left out. Score 2 × ratio."""
    if not p.facts.citizen_subject:
        return None
    return MET if p.citizen_data else Verdict(False, "TTHC chưa có hồ sơ sử dụng dữ liệu dân cư trong kỳ")


# --- 5. Mức độ hài lòng (18) ----------------------------------------------------------------------------------


@indicator("PETITION_CLASSIFICATION_TTHC", "5.1", SATISFACTION, "Tỷ lệ PAKN về quy định, TTHC", "0", Kind.PETITION,
           evidence="V-data (179/247, score null)", inferred=False)
def petition_about_procedures(p: JudgedPetition, ctx: Context) -> Verdict | None:
    """Petitions received in the period that concern regulations or procedures. Monitoring only: 0 points."""
    if not p.judgement.received_in_period:
        return None
    return MET if p.view.category == "procedure" else Verdict(False, None)


@indicator("PETITION_CLASSIFICATION_STAFF", "5.1", SATISFACTION, "Tỷ lệ PAKN về hành vi cán bộ, công chức, viên chức",
           "0", Kind.PETITION, evidence="V-data (62/247, score null)", inferred=False)
def petition_about_staff(p: JudgedPetition, ctx: Context) -> Verdict | None:
    """Petitions received in the period that concern the behaviour of officials. Monitoring only: 0 points."""
    if not p.judgement.received_in_period:
        return None
    return MET if p.view.category == "staff" else Verdict(False, None)


@indicator("PETITION_PROCESSING_ON_TIME", "5.2", SATISFACTION, "Tỷ lệ PAKN xử lý đúng hạn", "6", Kind.PETITION,
           empty=EmptyRule.FULL, evidence="V-data (492 observations; 182/247 → 4.42; no petition → 6); V-text S1",
           inferred=False)
def petition_on_time(p: JudgedPetition, ctx: Context) -> Verdict | None:
    """Petitions handled on or before their deadline, plus those still within it, out of the petitions sent to the
    unit and handled or being handled in the period (petitions.py for the deadlines). Score 6 × ratio; a unit
    without petitions gets the full 6 (S2 would share the points out between 5.2 and 5.4; the portal does not)."""
    if not p.judgement.handled_or_in_progress:
        return None
    return MET if p.judgement.on_time else Verdict(False, p.judgement)


@indicator("PETITION_HANDLING_SATISFACTION", "5.3", SATISFACTION, "Tỷ lệ hài lòng trong xử lý PAKN", "6",
           Kind.PETITION, empty=EmptyRule.FULL,
           evidence="V-data (492 observations; 137/247 → 3.33; 0/2 → 0; no petition → 6); V-text S1",
           inferred=False)
def petition_satisfaction(p: JudgedPetition, ctx: Context) -> Verdict | None:
    """Petitions first received in the period, less those whose answer drew more dislikes than likes and those
    handled late (or overdue), out of the petitions first received in the period. S1's third test (a repeat
    complaint about the result) is marked not implemented on the portal and is not applied. Score 6 × ratio; no
    petition → 6."""
    j = p.judgement
    if not j.received_in_period:
        return None
    if j.dissatisfied:
        return Verdict(False, f"Người dân không hài lòng với kết quả ({p.view.dislikes} không thích, "
                              f"{p.view.likes} thích)")
    if not j.on_time:
        return Verdict(False, j)
    return MET


@indicator("DOSSIER_RECEIVING_SATISFACTION", "5.4", SATISFACTION, "Tỷ lệ hài lòng trong tiếp nhận, giải quyết TTHC",
           "6", Kind.DOSSIER, form=threshold(90), empty=EmptyRule.ZERO,
           evidence="V-data (939/1,038 = 90.46 % → 6; 144,574/184,513 → 5.22); threshold V-text S1",
           inferred=False)
def dossier_satisfaction(d: JudgedDossier, ctx: Context) -> Verdict | None:
    """Dossiers on time by 2.1's test and neither rated "dissatisfied" nor the subject of a petition by the as-of
    instant, out of 2.1's population: 100 % − (overdue % + dissatisfied-or-complained %). Full at 90 %; nothing
    received → 0."""
    if not d.processed:
        return None
    if not d.judgement.on_time:
        return Verdict(False, d.judgement)
    f, view = d.view.facts, d.view
    if f.rating in DISSATISFIED and f.rated_at is not None and f.rated_at <= ctx.as_of:
        return Verdict(False, "Người dân đánh giá không hài lòng")
    if view.complained_at is not None and view.complained_at <= ctx.as_of:
        return Verdict(False, "Có phản ánh, kiến nghị về hồ sơ")
    return MET


# --- 6. Thanh toán trực tuyến (10) ----------------------------------------------------------------------------


def owes_fees(d: JudgedDossier, ctx: Context) -> bool:
    """A financial obligation: a fee-bearing procedure (national database; without imported facts, a non-zero fee
    line on the dossier), less the dossiers whose fee lines are all 0 (exempt)."""
    f = d.view.facts
    if f.exempt:
        return False
    bearing = ctx.fee_bearing(d.view.procedure_code)
    return bool(f.fee_nonzero) if bearing is None else bearing


@indicator("ONLINE_PAYMENT_DOSSIERS", "3.6", ONLINE_PAYMENT, "Tỷ lệ hồ sơ thanh toán trực tuyến", "6", Kind.DOSSIER,
           empty=EmptyRule.ZERO, evidence="V-data (984 observations, S4; 82,913/98,459 → 5.05); linear to 100 %",
           inferred=False)
def online_payment_dossiers(d: JudgedDossier, ctx: Context) -> Verdict | None:
    """Dossiers received in the period and paid online (national payment platform or the province's gateway:
    DuocThanhToanTrucTuyen 1 or 2) by the as-of instant, out of the dossiers received in the period that owe a
    fee (fee-bearing procedure, not exempt). Linear to 100 % (the 2024–2025 provincial system used 30 %)."""
    if not d.new or not owes_fees(d, ctx):
        return None
    paid = d.view.facts.paid_online_at
    return MET if paid is not None and paid <= ctx.as_of else Verdict(False, "Chưa thanh toán trực tuyến")


@indicator("ONLINE_PAYMENT_FORMALITIES", "3.5b", ONLINE_PAYMENT,
           "Tỷ lệ TTHC có phát sinh giao dịch thanh toán trực tuyến", "2", Kind.PROCEDURE,
           form=threshold(80), empty=EmptyRule.ZERO,
           evidence="V-data (7/8 = 87.5 % → 2; 984 observations, S4)", inferred=False)
def online_payment_formalities(p: ProcedureUse, ctx: Context) -> Verdict | None:
    """Fee-bearing procedures in the unit's scope with at least one successful online payment in the period, out
    of the fee-bearing procedures in its scope. Full at 80 %."""
    if not p.facts.fee_bearing:
        return None
    return MET if p.paid_online else Verdict(False, "TTHC có phí chưa phát sinh thanh toán trực tuyến trong kỳ")


@indicator("FEE_DATA_FORMALITIES", "3.5", ONLINE_PAYMENT,
           "Tỷ lệ TTHC có nghĩa vụ tài chính được tích hợp, cung cấp thanh toán trên Cổng DVCQG", "2", Kind.PROCEDURE,
           form=threshold(80), empty=EmptyRule.ZERO,
           evidence="V-data 2.5 × ratio below 30 % (S4, S5); full at 80 % V-text S1, cap inferred", inferred=True)
def fee_data_formalities(p: ProcedureUse, ctx: Context) -> Verdict | None:
    """Fee-bearing procedures in the unit's scope with at least one dossier of the period whose synchronised data
    carry a non-zero fee, out of the fee-bearing procedures in its scope. Full at 80 % (only ratios below 30 % were
    ever published, so the cap is a guess)."""
    if not p.facts.fee_bearing:
        return None
    return MET if p.fee_data else Verdict(False, "TTHC có phí chưa có hồ sơ đồng bộ thông tin phí, lệ phí trong kỳ")


def score_progress(ratio: Ratio) -> Scored:
    """2.1's published figures by services/dossiers/progress766.py (the timeliness group's one formula)."""
    exact = INDICATORS["PROGRESS_ON_TIME"].score(ratio).exact
    return Scored(progress_rate(ratio.numerator, ratio.denominator),
                  progress_score(ratio.numerator, ratio.denominator), exact)


def scored(ind: Indicator, ratio: Ratio) -> Scored:
    """One indicator's figures; 0-point indicators publish a ratio and a null score."""
    return _scored(ind.code, ratio.numerator, ratio.denominator)


@lru_cache(maxsize=65_536)
def _scored(code: str, numerator: int, denominator: int) -> Scored:
    """Memoised (a ranking of 3,321 communes scores ~80,000 indicators, many with the same counts): Scored is
    immutable, and an indicator's figures depend only on its counts."""
    ind, ratio = INDICATORS[code], Ratio(numerator, denominator)
    if code == "PROGRESS_ON_TIME":
        return score_progress(ratio)
    result = ind.score(ratio)
    if ind.max_points == 0:
        return Scored(result.ratio, None, None)
    return result

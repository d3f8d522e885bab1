"""The Decision 766 facts of generated one-door traffic, with their ground truth (``TrafficSpec(index766=True)``).

:mod:`cchc.traffic` decides every dossier's fate; this module adds what the Decision 766 index reads beyond
timeliness — components and their digitisation flags, fee lines and online payments, VNeID and population data,
electronic results, ratings, the national portal's acknowledgements — and the petitions (phản ánh, kiến nghị) of
the month, plus the procedure-level facts a province would import for the period. Each is decided before its
event is written, and :class:`Truth766` keeps what was sent, so a test can recompute every group of every unit by
brute force and compare it with the service's figures.

All randomness here comes from its own generator (seeded from the spec's seed), so turning the facts on never
changes the timeliness part of a stream, and a stream with them off is byte for byte what it always was.
"""

from __future__ import annotations

import random
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from services.dossiers.catalogue import Catalogue, Procedure
from services.dossiers.units import Unit, UnitKind
from shared.calendar import LOCAL_TZ, WorkingCalendar
from shared.events import make_envelope

__all__ = ["DossierTruth766", "Facts766", "PetitionTruth", "ProcedureTruth", "Truth766"]

# Shares (per dossier unless said otherwise), shaped after Phú Thọ's month 8/2026 (766-INDEX.md §3).
SYNCED_SHARE = 0.97
E_RESULT_SHARE = 0.72  # of finished dossiers
PUSHED_SHARE = 0.05  # of electronic results
DIGITISED_COMPONENT_SHARE = 0.35  # per component of a dossier received in person (online ones are digitised)
REUSED_COMPONENT_SHARE = 0.02
REPLACED_COMPONENT_SHARE = 0.01
STORE_COMPONENT_SHARE = 0.04  # of an online dossier's components
VNEID_SHARE = {"online": 0.6, "in_person": 0.15, "post": 0.05}
POPULATION_DATA_SHARE = 0.35
EXEMPT_SHARE = 0.12  # of dossiers of fee-bearing procedures
PAID_ONLINE_SHARE = {"online": 0.85, "in_person": 0.4, "post": 0.1}  # of dossiers that owe a fee
PAID_LATER_SHARE = 0.3  # of online payments: a dossier.paid after submission
RATED_SHARE = 0.3  # of finished dossiers
DISSATISFIED_SHARE = 0.08  # of ratings
COMPLAINED_SHARE = 0.004  # dossiers that draw a petition
COMPLAINT_AFTER_DISSATISFACTION = 0.3
UNLINKED_PETITIONS = 0.002  # per dossier, petitions about no dossier
PETITION_LATE_SHARE = 0.15
PETITION_OPEN_SHARE = 0.1
PETITION_REFUSED_SHARE = 0.05
PETITION_RATED_SHARE = 0.6
# Procedures (stable per code, not per seed: a procedure's facts are a property of the province).
FEE_BEARING = 0.45
ONLINE_FULL, ONLINE_PARTIAL = 0.4, 0.35
CITIZEN_SUBJECT = 0.85
PUBLISHED_IN_PERIOD = 0.1
PUBLISHED_LATE = 0.3
CONTENT_INCOMPLETE = 0.04
E_CERTIFIED_COPY_PROCEDURE = "2.000815.H44"  # chứng thực bản sao từ bản chính: offered electronically
RATINGS = ("very_satisfied", "satisfied", "neutral")


def _stable(key: str) -> float:
    return (zlib.crc32(key.encode("utf-8")) + 0.5) / 2**32


@dataclass
class DossierTruth766:
    """One dossier as sent: its timeliness inputs and its Decision 766 facts (None = not sent)."""

    unit_code: str
    procedure_code: str
    channel: str
    received_at: datetime
    ngay_hen_tra: datetime | None
    rounds: list[tuple[datetime, datetime | None]] = field(default_factory=list)  # as emitted
    end_kind: str | None = None  # finished | withdrawn | rejected, if emitted
    end_at: datetime | None = None
    digitised: bool = False
    reused: bool = False
    from_store: bool = False
    vneid: bool = False
    population_data: bool = False
    fee_lines: int = 0
    fee_nonzero: bool = False
    paid_at: datetime | None = None
    e_result_at: datetime | None = None
    result_pushed: bool = False
    rating: str | None = None
    rated_at: datetime | None = None
    synced_at: datetime | None = None


@dataclass
class PetitionTruth:
    code: str
    unit_code: str
    received_at: datetime
    category: str
    dossier_code: str | None
    answered_at: datetime | None = None
    outcome: str | None = None
    likes: int = 0
    dislikes: int = 0
    rated_at: datetime | None = None


@dataclass(frozen=True)
class ProcedureTruth:
    """A procedure's facts for the period, in the import's columns (``agency_code`` scopes it to a department)."""

    procedure_code: str
    level: str
    agency_code: str | None
    online_level: str
    fee_bearing: bool
    citizen_subject: bool
    published_in_period: bool
    published_on_time: bool | None
    public_content_complete: bool
    e_certified_copy: bool | None


@dataclass
class Truth766:
    dossiers: dict[str, DossierTruth766] = field(default_factory=dict)
    petitions: list[PetitionTruth] = field(default_factory=list)
    procedures: list[ProcedureTruth] = field(default_factory=list)

    def procedure_rows(self) -> list[list[str]]:
        """The procedure facts as an import file's rows (the template's Vietnamese headings first)."""
        from services.dossiers.index766.procedure_facts import rows_for_template
        from services.dossiers.index766.views import ProcedureFacts

        return rows_for_template(ProcedureFacts(
            procedure_code=p.procedure_code, level=p.level, agency_code=p.agency_code, online_level=p.online_level,
            published_in_period=p.published_in_period or None, published_on_time=p.published_on_time,
            public_content_complete=p.public_content_complete, fee_bearing=p.fee_bearing,
            citizen_subject=p.citizen_subject, e_certified_copy=p.e_certified_copy,
        ) for p in self.procedures)


class Facts766:
    """Decides and emits the Decision 766 facts of one generated stream."""

    def __init__(self, seed: int, now: datetime, calendar: WorkingCalendar, source: str) -> None:
        self.rng = random.Random(f"index766:{seed}")
        self.now = now
        self.calendar = calendar
        self.source = source
        self.truth = Truth766()
        self.later_payments: dict[str, datetime] = {}  # dossier → a dossier.paid to write after the receipt

    # ---- procedures -------------------------------------------------------------------------------------------

    @staticmethod
    def fee_bearing(procedure: Procedure) -> bool:
        return _stable(f"fee:{procedure.code}") < FEE_BEARING

    def procedures(self, catalogue: Catalogue, departments: dict[str, list[Procedure]]) -> None:
        """The period's procedure facts: commune-level procedures for every commune, province-level ones scoped to
        the department that handles them in this stream."""
        owners: dict[str, list[str]] = {}
        for unit_code, owned in departments.items():
            for procedure in owned:
                owners.setdefault(procedure.code, []).append(unit_code)
        for procedure in catalogue:
            roll = _stable(f"online:{procedure.code}")
            online = "full" if roll < ONLINE_FULL else "partial" if roll < ONLINE_FULL + ONLINE_PARTIAL else "none"
            published = _stable(f"published:{procedure.code}") < PUBLISHED_IN_PERIOD
            common = {
                "level": procedure.level, "online_level": online, "fee_bearing": self.fee_bearing(procedure),
                "citizen_subject": _stable(f"citizen:{procedure.code}") < CITIZEN_SUBJECT,
                "published_in_period": published,
                "published_on_time": (_stable(f"late:{procedure.code}") >= PUBLISHED_LATE) if published else None,
                "public_content_complete": _stable(f"content:{procedure.code}") >= CONTENT_INCOMPLETE,
                "e_certified_copy": True if procedure.code == E_CERTIFIED_COPY_PROCEDURE else None,
            }
            agencies = owners.get(procedure.code) if procedure.level == "province" else None
            for agency in agencies or [None]:
                self.truth.procedures.append(ProcedureTruth(procedure.code, agency_code=agency, **common))

    # ---- events -----------------------------------------------------------------------------------------------

    def _event(self, out: list[dict[str, Any]], kind: str, payload: dict[str, Any], at: datetime) -> None:
        event_id = uuid.UUID(int=self.rng.getrandbits(128), version=4)
        out.append(make_envelope(kind, payload, occurred_at=at, source=self.source, event_id=event_id))

    def _soon(self, after: datetime, minutes: tuple[int, int]) -> datetime:
        return after + timedelta(minutes=self.rng.randint(*minutes))

    def receipt(self, code: str, unit: Unit, procedure: Procedure, channel: str, received_at: datetime,
                received: dict[str, Any]) -> None:
        """Add the receipt's facts to its payload (before it is written) and start the dossier's truth."""
        rng = self.rng
        truth = DossierTruth766(unit.code, procedure.code, channel, received_at, received.get("due_at"))
        components = []
        for number in range(rng.randint(1, 4)):
            component: dict[str, Any] = {"component_code": f"TP{number + 1}"}
            if channel == "online" or rng.random() < DIGITISED_COMPONENT_SHARE:
                component["digitised"] = True
            if rng.random() < REUSED_COMPONENT_SHARE:
                component["reused"] = True
            if rng.random() < REPLACED_COMPONENT_SHARE:
                component["replacing_result_code"] = f"KQ-{zlib.crc32(code.encode()):08x}"
            if channel == "online" and rng.random() < STORE_COMPONENT_SHARE:
                component["from_national_store"] = True
            components.append(component)
        received["components"] = components
        truth.digitised = any(c.get("digitised") for c in components)
        truth.reused = any(c.get("reused") or c.get("replacing_result_code") for c in components)
        truth.from_store = any(c.get("from_national_store") for c in components)
        if rng.random() < 0.5:
            received["has_digitised_components"] = truth.digitised
        truth.vneid = rng.random() < VNEID_SHARE[channel]
        truth.population_data = rng.random() < POPULATION_DATA_SHARE
        received["vneid_verified"] = truth.vneid
        if truth.population_data:
            received["population_data_used"] = True
        if self.fee_bearing(procedure):
            exempt = rng.random() < EXEMPT_SHARE
            lines = [{"fee_code": "LP", "kind": "charge", "amount": Decimal(0) if exempt else Decimal(50_000)}]
            if not exempt and rng.random() < 0.3:
                lines.append({"fee_code": "PHI", "kind": "fee", "amount": Decimal(rng.choice((20_000, 100_000)))})
            received["fees"] = lines
            truth.fee_lines, truth.fee_nonzero = len(lines), not exempt
            if not exempt and rng.random() < PAID_ONLINE_SHARE[channel]:
                if rng.random() < PAID_LATER_SHARE:
                    self.later_payments[code] = self._soon(received_at, (60, 4 * 24 * 60))  # written by after()
                else:
                    paid = self._soon(received_at, (1, 20))
                    received["payment"] = {"channel": rng.choice(("national_platform", "provincial_gateway")),
                                           "paid_at": paid}
                    truth.paid_at = paid
        self.truth.dossiers[code] = truth

    def after(self, code: str, rounds: Sequence[tuple[datetime, datetime | None]],
              end: tuple[str, datetime] | None, out: list[dict[str, Any]]) -> None:
        """The dossier's other facts, written as events when they happened by now (``rounds`` and ``end``: its
        supplement rounds and its closing as the stream wrote them)."""
        rng, now = self.rng, self.now
        truth = self.truth.dossiers[code]
        truth.rounds = list(rounds)
        if end is not None:
            truth.end_kind, truth.end_at = end
        paid = self.later_payments.pop(code, None)
        if paid is not None and paid <= now:
            self._event(out, "dossier.paid", {"dossier_code": code, "paid_at": paid, "channel": "national_platform"},
                        paid)
            truth.paid_at = paid
        if rng.random() < SYNCED_SHARE:
            synced = self._soon(truth.received_at, (1, 30))
            if synced <= now:
                self._event(out, "dossier.synced", {"dossier_code": code, "synced_at": synced, "status_code": 2},
                            synced)
                truth.synced_at = synced
        if truth.end_kind != "finished":
            return
        assert truth.end_at is not None
        if rng.random() < E_RESULT_SHARE:
            issued = self._soon(truth.end_at, (0, 120))
            pushed = rng.random() < PUSHED_SHARE
            if issued <= now:
                self._event(out, "dossier.result_issued", {
                    "dossier_code": code, "issued_at": issued, "result_code": f"KQ-{code}",
                    "file_url": f"https://motcua.example.gov.vn/ketqua/{code}.pdf", "pushed_to_personal_store": pushed,
                }, issued)
                truth.e_result_at, truth.result_pushed = issued, pushed
        if rng.random() < RATED_SHARE:
            rated = self._soon(truth.end_at, (10, 3 * 24 * 60))
            rating = "dissatisfied" if rng.random() < DISSATISFIED_SHARE else rng.choice(RATINGS)
            if rated <= now:
                self._event(out, "dossier.rated", {"dossier_code": code, "rated_at": rated, "rating": rating}, rated)
                truth.rating, truth.rated_at = rating, rated
        if truth.rating == "dissatisfied" and rng.random() < COMPLAINT_AFTER_DISSATISFACTION:
            self._petition(out, truth.unit_code, self._soon(truth.end_at, (60, 5 * 24 * 60)), code)

    def petitions(self, units: Sequence[Unit], dossiers: int, out: list[dict[str, Any]], start: date) -> None:
        """Petitions about no dossier, spread over the units, plus those about dossiers already written."""
        rng = self.rng
        receiving = [u for u in units if u.kind in (UnitKind.COMMUNE, UnitKind.DEPARTMENT)]
        codes = list(self.truth.dossiers)
        for _ in range(round(dossiers * COMPLAINED_SHARE)):
            if not codes:
                break
            code = rng.choice(codes)
            truth = self.truth.dossiers[code]
            self._petition(out, truth.unit_code, self._soon(truth.received_at, (60, 10 * 24 * 60)), code)
        days = max(1, (self.now.date() - start).days)
        for _ in range(round(dossiers * UNLINKED_PETITIONS)):
            unit = rng.choice(receiving)
            received = datetime.combine(start + timedelta(days=rng.randrange(days)), time(8), LOCAL_TZ) + \
                timedelta(minutes=rng.randrange(9 * 60))
            if unit.is_valid_on(received.date()):
                self._petition(out, unit.code, received, None)

    def _petition(self, out: list[dict[str, Any]], unit_code: str, received: datetime, dossier: str | None) -> None:
        rng, now = self.rng, self.now
        if received > now:
            return
        code = f"PAKN-{len(self.truth.petitions) + 1:06d}"
        category = rng.choices(("procedure", "staff", "other"), (70, 25, 5))[0]
        payload: dict[str, Any] = {"petition_code": code, "unit_code": unit_code, "received_at": received,
                                   "category": category}
        if dossier is not None:
            payload["dossier_code"] = dossier
        self._event(out, "petition.received", payload, received)
        truth = PetitionTruth(code, unit_code, received, category, dossier)
        self.truth.petitions.append(truth)
        day = received.astimezone(LOCAL_TZ).date()
        roll = rng.random()
        if roll < PETITION_OPEN_SHARE:
            return
        if roll < PETITION_OPEN_SHARE + PETITION_REFUSED_SHARE:
            outcome, working_days = "rejected", rng.randint(1, 4)
        elif roll < PETITION_OPEN_SHARE + PETITION_REFUSED_SHARE + PETITION_LATE_SHARE:
            outcome, working_days = "handled", rng.randint(16, 25)
        else:
            outcome, working_days = "handled", rng.randint(1, 15)
        answered = datetime.combine(self.calendar.add_working_days(day, working_days), time(9), LOCAL_TZ) + \
            timedelta(minutes=rng.randrange(7 * 60))
        if answered <= received:
            answered = received + timedelta(hours=1)
        if answered > now:
            return
        self._event(out, "petition.answered", {"petition_code": code, "answered_at": answered, "outcome": outcome},
                    answered)
        truth.answered_at, truth.outcome = answered, outcome
        if outcome == "handled" and rng.random() < PETITION_RATED_SHARE:
            rated = self._soon(answered, (60, 6 * 24 * 60))
            likes, dislikes = rng.randint(0, 6), rng.randint(0, 6)
            if rated <= now:
                self._event(out, "petition.rated", {"petition_code": code, "rated_at": rated, "likes": likes,
                                                    "dislikes": dislikes}, rated)
                truth.likes, truth.dislikes, truth.rated_at = likes, dislikes, rated

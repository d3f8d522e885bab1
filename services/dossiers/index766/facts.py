"""A dossier's (and a petition's) Decision 766 facts, folded from their events in any order.

The facts come from the contract's version-2 fields and events (shared/events.py): the receipt's components,
fee lines, online payment, VNeID and population-data flags; ``dossier.paid``, ``dossier.result_issued``,
``dossier.rated`` and ``dossier.synced``. Events arrive twice, late and shuffled, so every fact is folded with an
operation that does not care about order or repetition — the earliest of a kind (first electronic result, first
national-sync acknowledgement, first online payment), the latest rating, an "any" flag, and the whole receipt
block of the earliest receipt that carried facts. :func:`merge` is therefore commutative, associative and
idempotent (tests/unit/test_index766_facts.py checks it on random streams). A receipt block whose receipt time is
not the dossier's (its derivation refused that receipt: a second one) is dropped when the views are read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from typing import Any

__all__ = ["FACT_EVENTS", "FACT_FIELDS", "RECEIPT_FACT_FIELDS", "DossierFacts", "PetitionRecord", "facts_of", "fold",
           "merge", "merge_petition", "petition_facts_of"]

# Fields of dossier.received that carry Decision 766 facts (schema_version 2).
RECEIPT_FACT_FIELDS = frozenset(
    {"components", "has_digitised_components", "fees", "payment", "vneid_verified", "population_data_used"}
)
# Events that only carry Decision 766 facts (they never change a dossier's timeliness).
FACT_EVENTS = frozenset({"dossier.paid", "dossier.result_issued", "dossier.rated", "dossier.synced"})

_RECEIPT_BLOCK = ("receipt_event_id", "receipt_at", "component_count", "digitised", "reused", "from_store", "vneid",
                  "population_data", "fee_lines", "fee_nonzero", "receipt_paid_at", "receipt_payment_channel")
_RATING_BLOCK = ("rating_event_id", "rated_at", "rating")
_PAID_BLOCK = ("paid_at", "paid_channel")


@dataclass(frozen=True, slots=True)
class DossierFacts:
    """What the board reads about one dossier beyond its timeliness; None = never sent."""

    receipt_event_id: str | None = None
    receipt_at: dt.datetime | None = None
    component_count: int | None = None  # len(TaiLieuNop)
    digitised: bool | None = None  # a component digitised (DuocSoHoa) or HoSoCoThanhPhanSoHoa
    reused: bool | None = None  # a component re-used (DuocTaiSuDung) or replaced by a result (MaKetQuaThayThe)
    from_store: bool | None = None  # a component taken from the national data store (DuocLayTuKhoDMQG)
    vneid: bool | None = None  # TaiKhoanDuocXacThucVoiVNeID
    population_data: bool | None = None  # DSKetNoiCSDL holds the population database
    fee_lines: int | None = None  # len(DanhSachLePhi)
    fee_nonzero: bool | None = None  # some fee line with Gia > 0
    receipt_paid_at: dt.datetime | None = None  # paid online at submission (payment on the receipt)
    receipt_payment_channel: str | None = None  # DuocThanhToanTrucTuyen
    paid_at: dt.datetime | None = None  # first dossier.paid
    paid_channel: str | None = None
    e_result_at: dt.datetime | None = None  # first electronic result (DanhSachGiayToKetQua with a file)
    result_pushed: bool = False  # a result pushed to the applicant's personal data store
    rating_event_id: str | None = None
    rated_at: dt.datetime | None = None
    rating: str | None = None  # the latest rating
    synced_at: dt.datetime | None = None  # first acknowledgement from the national portal

    @property
    def exempt(self) -> bool:
        """Fee lines were sent and every one is 0: the dossier owes nothing (3.6's denominator leaves it out)."""
        return bool(self.fee_lines) and self.fee_nonzero is False

    @property
    def paid_online_at(self) -> dt.datetime | None:
        times = [t for t in (self.receipt_paid_at, self.paid_at) if t is not None]
        return min(times) if times else None

    def as_row(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def without_receipt(self) -> DossierFacts:
        """These facts less the receipt's (when the receipt they came with is not the dossier's accepted one)."""
        return replace(self, **dict.fromkeys(_RECEIPT_BLOCK))

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> DossierFacts:
        """From a row holding every field (a table row, or the views' join)."""
        return cls(**{name: row[name] for name in FACT_FIELDS})


FACT_FIELDS = tuple(f.name for f in fields(DossierFacts))  # in order: the views select the columns so


def facts_of(event_id: str, event_type: str, payload: Mapping[str, Any]) -> DossierFacts | None:
    """The facts one event carries (deserialised payload), or None if it carries none."""
    if event_type == "dossier.received":
        if not RECEIPT_FACT_FIELDS & payload.keys():
            return None
        components = payload.get("components")
        flag = payload.get("has_digitised_components")
        digitised = None
        if components is not None or flag is not None:
            digitised = bool(flag) or any(c.get("digitised") for c in components or ())
        fees = payload.get("fees")
        payment = payload.get("payment") or {}
        return DossierFacts(
            receipt_event_id=event_id,
            receipt_at=payload["received_at"],
            component_count=len(components) if components is not None else None,
            digitised=digitised,
            reused=None if components is None else any(
                c.get("reused") or c.get("replacing_result_code") for c in components),
            from_store=None if components is None else any(c.get("from_national_store") for c in components),
            vneid=payload.get("vneid_verified"),
            population_data=payload.get("population_data_used"),
            fee_lines=len(fees) if fees is not None else None,
            fee_nonzero=None if fees is None else any(Decimal(line["amount"]) > 0 for line in fees),
            receipt_paid_at=payment.get("paid_at"),
            receipt_payment_channel=payment.get("channel"),
        )
    if event_type == "dossier.paid":
        return DossierFacts(paid_at=payload["paid_at"], paid_channel=payload["channel"])
    if event_type == "dossier.result_issued":
        return DossierFacts(e_result_at=payload["issued_at"],
                            result_pushed=bool(payload.get("pushed_to_personal_store")))
    if event_type == "dossier.rated":
        return DossierFacts(rating_event_id=event_id, rated_at=payload["rated_at"], rating=payload["rating"])
    if event_type == "dossier.synced":
        return DossierFacts(synced_at=payload["synced_at"])
    return None


def _block(facts: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(facts, name) for name in names}


def _pick(a: Any, b: Any, names: tuple[str, ...], key: str, tie: str,
          latest: bool = False) -> dict[str, Any]:
    """The whole block of ``names`` from the fact with the earliest (or latest) ``(key, tie)``; absent blocks lose."""
    candidates = [f for f in (a, b) if getattr(f, key) is not None]
    if not candidates:
        return _block(a, names)
    chosen = sorted(candidates, key=lambda f: (getattr(f, key), getattr(f, tie) or ""))[-1 if latest else 0]
    return _block(chosen, names)


def _earliest(x: dt.datetime | None, y: dt.datetime | None) -> dt.datetime | None:
    if x is None or y is None:
        return x if y is None else y
    return min(x, y)


def merge(a: DossierFacts, b: DossierFacts) -> DossierFacts:
    """The facts of both (order and repetition do not matter)."""
    return replace(
        a,
        **_pick(a, b, _RECEIPT_BLOCK, "receipt_at", "receipt_event_id"),
        **_pick(a, b, _PAID_BLOCK, "paid_at", "paid_channel"),
        **_pick(a, b, _RATING_BLOCK, "rated_at", "rating_event_id", latest=True),
        e_result_at=_earliest(a.e_result_at, b.e_result_at),
        result_pushed=a.result_pushed or b.result_pushed,
        synced_at=_earliest(a.synced_at, b.synced_at),
    )


def fold(facts: Iterable[DossierFacts], start: DossierFacts | None = None) -> DossierFacts:
    result = start or DossierFacts()
    for item in facts:
        result = merge(result, item)
    return result


_PETITION_RECEIPT = ("received_event_id", "unit_code", "received_at", "transferred_at", "due_at", "category",
                     "dossier_code", "repeat_of")
_PETITION_ANSWER = ("answer_event_id", "answered_at", "outcome")
_PETITION_RATING = ("rating_event_id", "rated_at", "likes", "dislikes")


@dataclass(frozen=True, slots=True)
class PetitionRecord:
    """A petition folded from its events: the earliest receipt, the first answer, the latest likes/dislikes."""

    petition_code: str
    received_event_id: str | None = None
    unit_code: str | None = None
    received_at: dt.datetime | None = None
    transferred_at: dt.datetime | None = None
    due_at: dt.datetime | None = None
    category: str | None = None
    dossier_code: str | None = None
    repeat_of: str | None = None
    answer_event_id: str | None = None
    answered_at: dt.datetime | None = None
    outcome: str | None = None
    rating_event_id: str | None = None
    rated_at: dt.datetime | None = None
    likes: int = 0
    dislikes: int = 0

    def as_row(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> PetitionRecord:
        return cls(**{f.name: row[f.name] for f in fields(cls) if f.name in row})


def petition_facts_of(event_id: str, event_type: str, payload: Mapping[str, Any]) -> PetitionRecord:
    code = payload["petition_code"]
    if event_type == "petition.received":
        return PetitionRecord(code, received_event_id=event_id, **{
            name: payload.get(name) for name in _PETITION_RECEIPT[1:]})
    if event_type == "petition.answered":
        return PetitionRecord(code, answer_event_id=event_id, answered_at=payload["answered_at"],
                              outcome=payload["outcome"])
    if event_type == "petition.rated":
        return PetitionRecord(code, rating_event_id=event_id, rated_at=payload["rated_at"], likes=payload["likes"],
                              dislikes=payload["dislikes"])
    raise ValueError(f"{event_type} is not a petition event")


def merge_petition(a: PetitionRecord, b: PetitionRecord) -> PetitionRecord:
    """Both records of one petition, whatever the order (commutative, associative, idempotent)."""
    if a.petition_code != b.petition_code:
        raise ValueError(f"cannot merge petitions {a.petition_code} and {b.petition_code}")
    return replace(
        a,
        **_pick(a, b, _PETITION_RECEIPT, "received_at", "received_event_id"),
        **_pick(a, b, _PETITION_ANSWER, "answered_at", "answer_event_id"),
        **_pick(a, b, _PETITION_RATING, "rated_at", "rating_event_id", latest=True),
    )

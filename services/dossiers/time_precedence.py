"""Which processing time a dossier is judged by: the one the one-door promised, or the catalogue's.

A one-door system that sends ``processing_time`` + ``processing_time_unit`` with ``dossier.received`` states the
time it promised the applicant for this dossier — often a province's reduced time (cắt giảm thời gian), and the
one the citizen holds the administration to. So by default (``timeliness.processing_time_precedence: payload``)
the payload's time is the dossier's legal time, and the catalogue's serves when the payload has none. A province
that distrusts its vendors sets ``catalogue``: the catalogue's time wins whenever the procedure is catalogued.
Either way a difference between the two is kept on the dossier and flagged (``time_mismatch``), like a one-door
due date that differs from ours (``due_mismatch``).

When neither gives a time (an uncatalogued procedure and no time in the payload) the dossier cannot be judged:
the receipt is refused, and succeeds once the procedure is imported into the catalogue.

Pure functions of their inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from services.dossiers.catalogue import Procedure
from services.dossiers.deadlines import ProcessingTime, TimeUnit
from services.dossiers.time_text import LIMITS

__all__ = ["LegalTime", "PayloadTimeError", "TimePrecedence", "catalogue_time", "legal_time", "payload_time"]


class TimePrecedence(StrEnum):
    """``timeliness.processing_time_precedence``: whose time wins when both are known."""

    PAYLOAD = "payload"  # the one-door's promise to the applicant (default)
    CATALOGUE = "catalogue"  # the province's catalogue, for provinces that distrust their vendors


class PayloadTimeError(ValueError):
    """A receipt whose processing time is incomplete or implausible; ``field`` is the dotted payload path."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class LegalTime:
    """The time a dossier is judged by, where it came from, and both candidates as known."""

    time: ProcessingTime
    source: str  # "payload" | "catalogue"
    payload: ProcessingTime | None
    catalogue: ProcessingTime | None

    @property
    def mismatch(self) -> bool:
        """Both sources give a time and they differ (5 working days vs 3; 1 working day vs 8 working hours)."""
        return self.payload is not None and self.catalogue is not None and self.payload != self.catalogue


def payload_time(payload: Mapping[str, Any]) -> ProcessingTime | None:
    """The processing time a receipt's payload states, or None when it states none.

    ``processing_time_unit`` alone is enough for ``none`` (the one-door says the dossier has no time limit); any
    other unit needs ``processing_time`` too. The schema already refuses a time without a unit."""
    unit_text = payload.get("processing_time_unit")
    amount_value = payload.get("processing_time")
    if unit_text is None:
        if amount_value is not None:
            raise PayloadTimeError("payload.processing_time_unit", "required when processing_time is given")
        return None
    try:
        unit = TimeUnit(unit_text)
    except ValueError:
        raise PayloadTimeError("payload.processing_time_unit",
                               f"{unit_text!r} is not one of {', '.join(u.value for u in TimeUnit)}") from None
    if unit is TimeUnit.NONE:
        if amount_value is not None:
            raise PayloadTimeError("payload.processing_time", "must be absent when processing_time_unit is 'none'")
        return ProcessingTime(amount=Decimal(0), unit=unit)
    if amount_value is None:
        raise PayloadTimeError("payload.processing_time", f"required when processing_time_unit is {unit.value!r}")
    try:
        amount = Decimal(str(amount_value))
    except InvalidOperation:
        raise PayloadTimeError("payload.processing_time", f"{amount_value!r} is not a number") from None
    if not amount.is_finite() or amount <= 0:
        raise PayloadTimeError("payload.processing_time", f"must be more than 0, got {amount_value!r}")
    if amount > LIMITS[unit]:
        raise PayloadTimeError("payload.processing_time",
                               f"{amount_value} {unit.value} is implausibly long (more than {LIMITS[unit]})")
    return ProcessingTime(amount=amount, unit=unit)


def catalogue_time(procedure: Procedure | None) -> ProcessingTime | None:
    """The catalogue's processing time of a procedure, or None when the procedure is not catalogued."""
    if procedure is None:
        return None
    unit = TimeUnit(procedure.time_unit)
    amount = procedure.processing_amount if unit is not TimeUnit.NONE else None
    return ProcessingTime(amount=amount or Decimal(0), unit=unit)


def legal_time(from_payload: ProcessingTime | None, from_catalogue: ProcessingTime | None,
               precedence: TimePrecedence) -> LegalTime | None:
    """The time the dossier is judged by, or None when neither source gives one."""
    if from_payload is None and from_catalogue is None:
        return None
    if from_catalogue is None or (from_payload is not None and precedence is TimePrecedence.PAYLOAD):
        assert from_payload is not None
        return LegalTime(from_payload, "payload", from_payload, from_catalogue)
    return LegalTime(from_catalogue, "catalogue", from_payload, from_catalogue)

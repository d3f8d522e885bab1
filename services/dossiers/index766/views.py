"""What the indicator formulas read: a dossier, a petition and a procedure as the board sees them in a period.

Plain frozen records, filled by the adapter (``store``) from the dossiers service's tables or by tests and the
generator's ground truth directly, so the formulas never touch a database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from services.dossiers.deadlines import SupplementRound
from services.dossiers.index766.facts import DossierFacts
from services.dossiers.index766.periods import BoardPeriod
from shared.calendar import WorkingCalendar

__all__ = ["Context", "DossierView", "PetitionView", "ProcedureFacts"]

DISSATISFIED = frozenset({"dissatisfied"})


@dataclass(frozen=True, slots=True)
class DossierView:
    """One dossier: its timeliness (from the dossier row and its supplement steps) and its 766 facts."""

    code: str
    unit_code: str
    procedure_code: str
    channel: str | None  # KenhThucHien; missing counts as in person
    received_at: dt.datetime
    deadline: dt.datetime | None  # NgayHenTra, else our due date at receipt; None = no time limit
    rounds: tuple[SupplementRound, ...] = ()
    closing: str | None = None  # finished | withdrawn | rejected
    closed_at: dt.datetime | None = None
    facts: DossierFacts = field(default_factory=DossierFacts)
    complained_at: dt.datetime | None = None  # first petition about this dossier
    applicant_name: str | None = None  # personal data: shown masked only


@dataclass(frozen=True, slots=True)
class PetitionView:
    """One petition (phản ánh, kiến nghị) sent to a unit."""

    code: str
    unit_code: str
    received_at: dt.datetime
    transferred_at: dt.datetime | None = None  # the latest transfer (by VPCP or another agency)
    due_at: dt.datetime | None = None  # the deadline the petition system set, if it sent one
    category: str | None = None  # procedure | staff | other
    dossier_code: str | None = None
    repeat_of: str | None = None
    answered_at: dt.datetime | None = None
    outcome: str | None = None  # handled | rejected
    likes: int = 0
    dislikes: int = 0
    rated_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ProcedureFacts:
    """Facts about one procedure that no dossier carries, imported per period (procedure_facts.py).

    ``agency_code`` scopes the row to one unit (a department, or a commune); without it a commune-level procedure
    concerns every commune and a province-level one the province as a whole. None = not stated in the file."""

    procedure_code: str
    level: str | None = None  # commune | province | both
    agency_code: str | None = None
    published_in_period: bool | None = None  # in a publishing decision (QĐCB) dated in the period
    published_on_time: bool | None = None
    public_update_due: bool | None = None  # had to be made public on the national database in the period
    public_update_on_time: bool | None = None
    public_content_complete: bool | None = None  # the 7 components of NĐ 63/2010 art. 8(2) all public
    online_level: str | None = None  # none | partial | full
    fee_bearing: bool | None = None  # fee or charge in the national procedure database
    citizen_subject: bool | None = None  # its subjects include citizens (4.5a)
    e_certified_copy: bool | None = None  # e-certified copies from originals offered (chứng thực điện tử)

    @property
    def online(self) -> bool:
        return self.online_level in ("partial", "full")


@dataclass(frozen=True)
class Context:
    """The period, the instant it is judged at, and what deadlines are counted with."""

    period: BoardPeriod
    as_of: dt.datetime
    calendar: WorkingCalendar
    fee_bearing: Callable[[str], bool | None] = field(default=lambda code: None)  # from procedure facts

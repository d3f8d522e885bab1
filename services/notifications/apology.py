"""The apology letter for a late dossier (văn bản xin lỗi; Thông tư 03/2025/TT-VPCP, Appendix I, form 04).

Fields of the form: number, addressee, address / phone, dossier code, date received, field, original due date,
reason, the apology, the new return date, signature. One letter per dossier, numbered once per unit and year
(``<n>/XL-<unit code>``), whatever number of times ``dossier_late`` arrives. The dossier keeps its original due
date: the letter states both, and the statistics still count the dossier late.

The new return date: the one-door software's ``new_due_at`` when it sent one; otherwise proposed here, simply
and predictably, as the later of the original due date and the day lateness was detected, plus the dossier's
own processing time in working days (the working days from receipt to the original due date, at least
``min_extension_working_days``), or plus ``extension_working_days`` when configured.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.notifications import rendering
from services.notifications.models import ApologyLetter, LetterCounter
from services.notifications.rules import Directory, day, local
from shared.calendar import LOCAL_TZ, WorkingCalendar
from shared.db import insert_ignore
from shared.documents import vietnamese_date


def propose_new_due(payload: Mapping[str, Any], calendar: WorkingCalendar,
                    settings: Mapping[str, Any]) -> tuple[dt.date, str]:
    """(new return date, "one_door" | "proposed")."""
    if payload.get("new_due_at"):
        return local(payload["new_due_at"]).date(), "one_door"
    due = local(payload["due_at"]).date()
    detected = local(payload.get("detected_at")).date() if payload.get("detected_at") else due
    received = local(payload.get("received_at")).date() if payload.get("received_at") else due
    fixed = int(settings.get("extension_working_days") or 0)
    own = _working_days_between(calendar, received, due)
    extension = max(int(settings.get("min_extension_working_days") or 1), fixed or own)
    return calendar.add_working_days(max(due, detected), extension), "proposed"


def _working_days_between(calendar: WorkingCalendar, start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (the legal way a period is counted)."""
    count, current = 0, start
    while current < end and count < 366:
        current = calendar.add_working_days(current, 1)
        if current <= end:
            count += 1
    return count


def ensure_letter(session: Session, payload: Mapping[str, Any], calendar: WorkingCalendar,
                  settings: Mapping[str, Any], now: dt.datetime) -> ApologyLetter:
    """The dossier's letter, created and numbered the first time; a repeated event returns the same one."""
    code, unit_code = payload["dossier_code"], payload["unit_code"]
    new_due, source = propose_new_due(payload, calendar, settings)
    issued_on = now.astimezone(LOCAL_TZ).date()
    created = session.execute(
        insert_ignore(session, ApologyLetter.__table__),
        {"dossier_code": code, "unit_code": unit_code, "year": issued_on.year, "issued_on": issued_on,
         "new_due_date": new_due, "new_due_source": source, "data": _jsonable(payload), "created_at": now},
    ).rowcount
    if created:
        session.execute(insert_ignore(session, LetterCounter.__table__),
                        {"unit_code": unit_code, "year": issued_on.year, "last": 0})
        number = session.execute(
            sa.update(LetterCounter)
            .where(LetterCounter.unit_code == unit_code, LetterCounter.year == issued_on.year)
            .values(last=LetterCounter.last + 1)
            .returning(LetterCounter.last)
        ).scalar_one()
        session.execute(sa.update(ApologyLetter).where(ApologyLetter.dossier_code == code).values(number=number))
    return session.execute(sa.select(ApologyLetter).where(ApologyLetter.dossier_code == code)).scalar_one()


def _jsonable(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date | dt.datetime) else v for k, v in payload.items()}


def letter_number(letter: ApologyLetter, settings: Mapping[str, Any]) -> str:
    return f"{letter.number or 0:02d}/{settings.get('number_symbol') or 'XL'}-{letter.unit_code}"


def letter_context(letter: ApologyLetter, settings: Mapping[str, Any], directory: Directory) -> dict[str, Any]:
    """Everything the letter, the email and the SMS say; the addressee's data included (personal)."""
    data = letter.data
    applicant = data.get("applicant") or {}
    unit_name = data.get("unit_name") or directory.unit_name(letter.unit_code)
    unit = directory.units.get(letter.unit_code)
    root = directory.root()
    business = applicant.get("kind") == "business"
    name = applicant.get("name")
    if unit is not None and unit.kind == "commune":
        issuer, issuer_parent = f"UBND {unit_name}", ""
    else:
        issuer, issuer_parent = unit_name, root.name if root else ""
    place = settings.get("place") or _province_place(root.name if root else "") or unit_name
    return {
        "number": letter_number(letter, settings),
        "issuer": issuer,
        "issuer_parent": issuer_parent,
        "place_date": vietnamese_date(letter.issued_on, place),
        "addressee": (name if business else f"Ông/Bà {name}") if name else f"Người nộp hồ sơ {letter.dossier_code}",
        "you": "Quý tổ chức" if business else "Ông/Bà",
        "address": applicant.get("address") or "",
        "phone": applicant.get("phone") or "",
        "dossier_code": letter.dossier_code,
        "procedure_name": data.get("procedure_name") or data.get("procedure_code") or "…",
        "field": data.get("field") or "…",
        "received_on": day(data.get("received_at")),
        "due_on": day(data.get("due_at")),
        "new_due_on": day(letter.new_due_date),
        "new_due_long": f"ngày {letter.new_due_date:%d} tháng {letter.new_due_date:%m} năm {letter.new_due_date:%Y}",
        "reason": data.get("reason") or settings.get("reason") or "",
        "signer_title": settings.get("signer_title") or "Thủ trưởng cơ quan",
        "signer_name": settings.get("signer_name") or "",
    }


def _province_place(root_name: str) -> str:
    for prefix in ("UBND tỉnh ", "UBND thành phố ", "Ủy ban nhân dân tỉnh ", "Ủy ban nhân dân thành phố "):
        if root_name.startswith(prefix):
            return root_name[len(prefix):]
    return ""


def letter_pdf(session: Session, dossier_code: str, settings: Mapping[str, Any], directory: Directory) -> bytes:
    """The letter as PDF, rendered once and kept, so every channel and every resend carries the same document."""
    letter = session.get(ApologyLetter, dossier_code)
    if letter is None:
        raise LookupError(f"dossier_code: no apology letter for {dossier_code!r}")
    if letter.pdf is None:
        letter.pdf = rendering.letter_pdf(letter_context(letter, settings, directory))
    return letter.pdf


def letter_filename(dossier_code: str) -> str:
    from services.notifications.channels.folder import safe_name

    return f"xin-loi-{safe_name(dossier_code)}.pdf"

"""Erasing citizens' personal data once it is no longer needed (Nghị định 13/2023 on personal data protection).

The applicant's name, phone, email and address serve one purpose here: the apology for a late dossier. Once a
dossier has been closed for ``privacy.retention_days`` they are removed from the dossier row and from every
stored ``dossier.received`` payload of it (second receipts included); a refused receipt (a dossier never received,
an unknown unit or procedure) loses them ``privacy.retention_days`` after its refusal, since no apology is ever
built from it. The statistics, which never used them, are unchanged.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.dossiers.models import Dossier, DossierEvent

BATCH = 1000


def erase_personal_data(session: Session, closed_before: dt.datetime) -> int:
    """Erase the applicant of up to ``BATCH`` dossiers closed before the cut-off, then of up to ``BATCH`` receipts
    the dossiers' erasure does not reach (refused before the cut-off, or of a dossier closed before it whose row
    holds no applicant); returns how many dossiers and receipts."""
    return _erase_closed_dossiers(session, closed_before) + _erase_leftover_receipts(session, closed_before)


def _erase_closed_dossiers(session: Session, closed_before: dt.datetime) -> int:
    codes = session.scalars(
        sa.select(Dossier.dossier_code)
        .where(Dossier.closed_at < closed_before, Dossier.applicant.is_not(None))
        .limit(BATCH)
    ).all()
    if not codes:
        return 0
    session.execute(sa.update(Dossier).where(Dossier.dossier_code.in_(codes)).values(applicant=None))
    events = session.execute(
        sa.select(DossierEvent.event_id, DossierEvent.payload)
        .where(DossierEvent.dossier_code.in_(codes), DossierEvent.event_type == "dossier.received")
    ).all()
    for event_id, payload in events:
        if isinstance(payload, dict) and "applicant" in payload:
            cleaned = {k: v for k, v in payload.items() if k != "applicant"}
            session.execute(sa.update(DossierEvent).where(DossierEvent.event_id == event_id).values(payload=cleaned))
    return len(codes)


def _has_applicant(session: Session) -> sa.ColumnElement[bool]:
    """``payload`` has an ``applicant`` key (JSON operators differ: PostgreSQL's ``->``, SQLite's json_extract)."""
    if session.get_bind().dialect.name == "postgresql":
        return DossierEvent.payload.op("->")(sa.literal("applicant")).is_not(None)
    return sa.func.json_extract(DossierEvent.payload, "$.applicant").is_not(None)


def _erase_leftover_receipts(session: Session, before: dt.datetime) -> int:
    closed = sa.select(Dossier.dossier_code).where(Dossier.closed_at < before, Dossier.applicant.is_(None))
    rows = session.execute(
        sa.select(DossierEvent.event_id, DossierEvent.payload)
        .where(DossierEvent.event_type == "dossier.received", _has_applicant(session),
               sa.or_(DossierEvent.dead_lettered_at < before, DossierEvent.dossier_code.in_(closed)))
        .limit(BATCH)
    ).all()
    for event_id, payload in rows:
        cleaned = {k: v for k, v in payload.items() if k != "applicant"}
        session.execute(sa.update(DossierEvent).where(DossierEvent.event_id == event_id).values(payload=cleaned))
    return len(rows)

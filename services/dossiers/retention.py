"""Erasing citizens' personal data once it is no longer needed (Nghị định 13/2023 on personal data protection).

The applicant's name, phone, email and address serve one purpose here: the apology for a late dossier. Once a
dossier has been closed for ``privacy.retention_days`` they are removed from the dossier row and from the
stored ``dossier.received`` payload; the statistics, which never used them, are unchanged.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.dossiers.models import Dossier, DossierEvent

BATCH = 1000


def erase_personal_data(session: Session, closed_before: dt.datetime) -> int:
    """Erase the applicant of up to ``BATCH`` dossiers closed before the cut-off; returns how many."""
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

"""Erasing personal data from finished notifications after ``privacy.retention_days``.

A sent or failed notification keeps its kind, channel, unit, dossier code, times and masked recipient (what an
operator needs to answer "was the apology sent?"); the address, the text and the letter itself are removed.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.notifications.models import ApologyLetter, Notification

ERASED = "(đã xóa theo thời hạn lưu trữ dữ liệu cá nhân)"


def erase_personal_data(session: Session, before: dt.datetime) -> int:
    """Erase personal data of finished notifications created before the cut-off; returns how many rows."""
    erased = session.execute(
        sa.update(Notification)
        .where(Notification.created_at < before, Notification.status.in_(("sent", "failed")),
               Notification.body != ERASED)
        .values(recipient=Notification.recipient_masked, body=ERASED, personal={})
    ).rowcount or 0
    letters = session.execute(
        sa.update(ApologyLetter)
        .where(ApologyLetter.issued_on < before.date(), ApologyLetter.pdf.is_not(None))
        .values(data={}, pdf=None)
    ).rowcount or 0
    return erased + letters

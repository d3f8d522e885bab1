"""Erasing personal data from finished notifications after ``privacy.retention_days``.

A sent or failed notification keeps its kind, channel, unit, dossier code, times and masked recipient (what an
operator needs to answer "was the apology sent?"); the address, the text and the letter itself are removed, and
every apology letter issued before the cut-off loses its data and PDF (its number and dates stay: the unit's
register of apologies) — whatever channel it went by, PDF rendered or not.
The folder transports (the zero-install mail folder and the queue of letters to print) hold the same data in
files, so their files older than the cut-off are deleted too.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.notifications.models import ApologyLetter, Notification

ERASED = "(đã xóa theo thời hạn lưu trữ dữ liệu cá nhân)"
SWEPT_SUFFIXES = (".eml", ".pdf")  # what the folder transports write; nothing else in a folder is touched

log = logging.getLogger(__name__)


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
        .where(ApologyLetter.issued_on < before.date(), not_erased(ApologyLetter))
        .values(data={}, pdf=None)
    ).rowcount or 0
    return erased + letters


def not_erased(letter: type[ApologyLetter]) -> sa.ColumnElement[bool]:
    """A letter still holding personal data: its ``data`` (the applicant) or its PDF. Not the PDF alone: an SMS
    apology is never rendered as PDF, so its letter keeps ``pdf`` NULL and its applicant in ``data``. JSON is
    compared as text, which PostgreSQL's ``json`` type (no equality operator) and SQLite both allow."""
    return sa.or_(letter.pdf.is_not(None), sa.cast(letter.data, sa.Text) != "{}")


def sweep_files(settings: Mapping[str, Any], before: dt.datetime) -> int:
    """Sweep the folders the configured transports write personal data to: the letters, and the mail folder
    when e-mail goes to files (production sends it over SMTP and keeps no copy)."""
    folders = [settings["letters"]["folder"]]
    if settings["email"]["transport"] == "folder":
        folders.append(settings["email"]["folder"])
    return sum(sweep_folder(folder, before) for folder in folders)


def sweep_folder(folder: str | Path, before: dt.datetime) -> int:
    """Delete the mail and letter files last written before the cut-off (and folders left empty); returns how
    many files. A folder that does not exist yet has nothing to sweep."""
    root = Path(folder)
    if not root.is_dir():
        return 0
    cutoff = before.timestamp()
    removed = 0
    for path in sorted(root.rglob("*"), reverse=True):  # children before their folder
        try:
            if path.is_file() and path.suffix in SWEPT_SUFFIXES and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
            elif path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
                path.rmdir()
        except FileNotFoundError:  # another replica swept it first
            continue
        except OSError as exc:
            log.warning("retention could not remove %s: %s", path.name, exc)
    return removed

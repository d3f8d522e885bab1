"""Files instead of wires: the zero-install mail folder (.eml files any mail client opens) and the queue of
printable apology letters (PDF) for applicants who came to the desk in person or by post.

Files are written under a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from services.notifications.channels import Outgoing, permanent
from services.notifications.channels.smtp import build_email


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


class MailFolder:
    """``<folder>/<id>-<kind>.eml``: the file name carries no personal data (the address is inside)."""

    local = True  # no remote server to protect: the per-channel rate limit does not apply

    def __init__(self, folder: str | Path, sender: str) -> None:
        self.folder = Path(folder)
        self.sender = sender

    def send(self, message: Outgoing) -> str:
        mail = build_email(message, self.sender)
        path = self.folder / f"{message.id:06d}-{safe_name(message.kind)}.eml"
        _atomic_write(path, mail.as_bytes())
        return f"written {path.name}"


class LetterFolder:
    """``<folder>/<unit code>/xin-loi-<dossier code>.pdf``: the unit's desk prints it and hands or posts it."""

    local = True

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def send(self, message: Outgoing) -> str:
        pdfs = [a for a in message.attachments if a.content_type == "application/pdf"]
        if not pdfs:
            raise permanent("letter: no document to print")
        path = self.folder / safe_name(message.recipient) / pdfs[0].filename
        _atomic_write(path, pdfs[0].data)
        return f"queued for printing: {path.parent.name}/{path.name}"

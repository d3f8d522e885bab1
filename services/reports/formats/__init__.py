"""The three formats people use: DOCX (they edit and sign), PDF (they publish), XLSX (they analyse).

Each renderer turns a :class:`services.reports.layout.Document` into bytes; nothing here reads a database or
the bus. ``render(document, "pdf")`` dispatches; unknown formats are refused before anything is built.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.reports.errors import BadRequest
from services.reports.layout import Document, normalized

FORMATS = ("docx", "pdf", "xlsx")
MEDIA_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def check_formats(formats: Iterable[str] | None, default: Iterable[str]) -> tuple[str, ...]:
    """The requested formats in canonical order; None → the configured default; unknown ones → BadRequest."""
    wanted = list(default if formats is None else formats)
    if isinstance(formats, str):
        wanted = [formats]
    unknown = sorted({str(f) for f in wanted} - set(FORMATS))
    if unknown or not wanted:
        raise BadRequest(f"formats: {', '.join(unknown) or 'none given'} — expected some of {', '.join(FORMATS)}")
    return tuple(f for f in FORMATS if f in wanted)


def render(document: Document, fmt: str) -> bytes:
    document = normalized(document)
    if fmt == "docx":
        from services.reports.formats import docx

        return docx.render(document)
    if fmt == "pdf":
        from services.reports.formats import pdf

        return pdf.render(document)
    if fmt == "xlsx":
        from services.reports.formats import xlsx

        return xlsx.render(document)
    raise BadRequest(f"formats: unknown format {fmt!r}")

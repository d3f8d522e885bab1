"""Rendering of Vietnamese administrative documents (Nghị định 30/2020/NĐ-CP layout) to PDF, shared by the
reports service (rankings, commitments, statistics) and notifications (apology letters).

HTML + CSS through WeasyPrint: it shapes Vietnamese correctly in NFC and NFD, and the page box carries the
decree's A4 margins. Text is NFC-normalised anyway, so what a PDF text extractor reads back is comparable.
Fonts: Liberation Serif first (metric-compatible with Times New Roman, full Vietnamese coverage in Debian's
fonts-liberation2; fontconfig would otherwise substitute DejaVu for a missing Times New Roman), then Times
New Roman, then DejaVu Serif.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path
from typing import Any

import jinja2

# Imported with the module, not on first use: under eventlet every green thread runs on the same OS thread, so the
# import lock lets a second renderer in while the first is still importing, and it meets a half-imported module
# (tests/unit/test_documents_first_render.py).
import weasyprint

TEMPLATES = Path(__file__).with_name("templates")

# Nghị định 30/2020: A4, margins top/bottom 20–25 mm, left 30–35 mm, right 15–20 mm, 13–14 pt Times New Roman.
ND30_CSS = """
@page { size: A4; margin: 20mm 15mm 20mm 30mm;
        @bottom-center { content: counter(page); font-family: "Liberation Serif", "Times New Roman", "DejaVu Serif";
                         font-size: 11pt; } }
html { font-family: "Liberation Serif", "Times New Roman", "DejaVu Serif", serif; font-size: 13pt; line-height: 1.3; }
body { margin: 0; }
table.header { width: 100%; border-collapse: collapse; margin-bottom: 6mm; }
table.header td { vertical-align: top; text-align: center; font-size: 12pt; }
table.header td.issuer { width: 38%; }
table.header td.nation { width: 62%; }
.upper { text-transform: uppercase; font-weight: bold; }
.motto { font-weight: bold; }
.rule { display: block; width: 40%; margin: 1mm auto 0; border-top: 0.5pt solid black; }
.place-date { font-style: italic; text-align: right; }
h1 { font-size: 14pt; text-align: center; text-transform: uppercase; margin: 6mm 0 1mm; }
h2 { font-size: 13pt; text-align: center; margin: 0 0 6mm; font-weight: bold; }
p { text-align: justify; margin: 0 0 3mm; text-indent: 10mm; }
table.data { width: 100%; border-collapse: collapse; font-size: 11pt; margin: 3mm 0; }
table.data th, table.data td { border: 0.5pt solid black; padding: 1mm 1.5mm; }
table.data th { font-weight: bold; text-align: center; }
table.data td.num { text-align: right; }
table.signatures { width: 100%; margin-top: 10mm; }
table.signatures td { width: 50%; text-align: center; vertical-align: top; }
.signer-title { font-weight: bold; text-transform: uppercase; }
.signer-name { font-weight: bold; margin-top: 22mm; }
.note { font-size: 11pt; font-style: italic; }
"""

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def vietnamese_date(day: dt.date, place: str) -> str:
    """"Phú Thọ, ngày 05 tháng 11 năm 2026" — days and months below 10 (1, 2 for months) keep a leading 0."""
    return f"{place}, ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


def render_html(template: str, **context: Any) -> str:
    """Render a template under shared/templates (or a service's own, via ``environment``) with the ND30 CSS."""
    return nfc(_environment.get_template(template).render(nd30_css=ND30_CSS, **context))


def html_to_pdf(html: str) -> bytes:
    return weasyprint.HTML(string=nfc(html)).write_pdf()


def environment_for(*template_dirs: Path) -> jinja2.Environment:
    """A Jinja2 environment whose templates can ``{% extends "nd30_base.html" %}`` the shared layout."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs] + [str(TEMPLATES)]),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )

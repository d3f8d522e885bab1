"""PDF through the shared Nghị định 30 HTML layout and WeasyPrint (Liberation Serif: full Vietnamese coverage).

The service's templates (services/reports/templates) extend shared/templates/nd30_base.html; tables become
HTML tables with repeating headers, charts inline SVG, landscape sections a named landscape page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from services.reports.layout import Document, Table, cell_text
from shared.documents import ND30_CSS, environment_for, html_to_pdf, vietnamese_date
from shared.svg_charts import BarRow, chart_svg, gridline_step_pct, horizontal_bars

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_environment = environment_for(TEMPLATES)


class _Helpers:
    """What templates call: cell text in Vietnamese notation, column widths in %, SVG charts."""

    @staticmethod
    def cell(value: Any, kind: str, places: int = 2) -> str:
        return cell_text(value, kind, places)  # type: ignore[arg-type]

    @staticmethod
    def widths(table: Table) -> list[str]:
        total = sum(c.width for c in table.columns)
        return [f"{100 * c.width / total:.2f}" for c in table.columns]

    @staticmethod
    def svg(chart: Any) -> str:
        return chart_svg(chart)

    @staticmethod
    def bars(chart: Any) -> list[BarRow]:
        return horizontal_bars(chart)

    @staticmethod
    def grid_step(chart: Any) -> str:
        return gridline_step_pct(chart)

    @staticmethod
    def ticks(chart: Any) -> list[str]:
        top = int(chart.max_value)
        return [str(t) for t in range(0, top + 1, 20)]


def _lines(text: str | None) -> Markup | None:
    """Header text: "\n" becomes a line break; leading spaces of a number ("      /QĐ-UBND") are kept."""
    if text is None:
        return None
    return Markup("<br>").join(escape(line) for line in text.split("\n"))


def _number(text: str | None) -> Markup | None:
    if not text:
        return None
    stripped = text.lstrip(" ")
    return Markup("&nbsp;" * (len(text) - len(stripped) or 6)) + escape(stripped)


def render_html(document: Document) -> str:
    header = document.header
    return _environment.get_template(document.template).render(
        nd30_css=ND30_CSS,
        doc=document,
        h=_Helpers,
        issuer=_lines(header.issuer),
        issuer_parent=_lines(header.issuer_parent),
        number=_number(header.number),
        place_date=vietnamese_date(header.date, header.place),
    )


def render(document: Document) -> bytes:
    return html_to_pdf(render_html(document))

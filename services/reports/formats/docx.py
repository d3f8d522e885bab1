"""DOCX with python-docx: an editable document in the Nghị định 30/2020 layout, Times New Roman throughout.

A4, margins 20 mm top and bottom, 30 mm left, 15 mm right; body text 14 pt, tables 8.5–11 pt; the header
block as a borderless two-column table (issuing body left, national name and motto right, each underlined by
a short rule); page numbers centred at the top, none on the first page; landscape sections for wide tables.
Tables are written as WordprocessingML directly (python-docx's cell API is quadratic in the number of rows),
with repeating header rows and merged group headers. Charts are native Word charts (``ooxml_chart``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from xml.sax.saxutils import escape

from docx import Document as new_document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Mm, Pt

from services.reports.formats.ooxml_chart import chart_size_cm, chart_space_xml, embedded_workbook
from services.reports.layout import BarChart, Document, Header, Heading, Paragraph, Signatures, Signer, Table, cell_text
from shared.documents import vietnamese_date

FONT = "Times New Roman"
BODY_PT = 14
PAGE_W, PAGE_H = 210, 297
MARGINS = {"top": 20, "bottom": 20, "left": 30, "right": 15}
TWIPS_PER_MM = 56.6929
CT_CHART = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
CT_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
W_NS = nsdecls("w")


def _tw(mm: float) -> int:
    return round(mm * TWIPS_PER_MM)


def text_width_mm(landscape: bool) -> float:
    return (PAGE_H if landscape else PAGE_W) - MARGINS["left"] - MARGINS["right"]


def _set_fonts(rpr_parent) -> None:  # type: ignore[no-untyped-def]
    rpr = rpr_parent.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = parse_xml(f"<w:rFonts {W_NS}/>")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)


def _styles(doc) -> None:  # type: ignore[no-untyped-def]
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    _set_fonts(normal.element)
    fmt = normal.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(6)
    fmt.line_spacing = 1.15


def _page(section, landscape: bool) -> None:  # type: ignore[no-untyped-def]
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (Mm(PAGE_H), Mm(PAGE_W)) if landscape else (Mm(PAGE_W), Mm(PAGE_H))
    section.top_margin, section.bottom_margin = Mm(MARGINS["top"]), Mm(MARGINS["bottom"])
    section.left_margin, section.right_margin = Mm(MARGINS["left"]), Mm(MARGINS["right"])
    section.header_distance = Mm(10)


def _page_numbers(section) -> None:  # type: ignore[no-untyped-def]
    """PAGE field centred in the header; the first page of the document shows none (Nghị định 30)."""
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph._p.append(parse_xml(
        f'<w:fldSimple {W_NS} w:instr="PAGE"><w:r><w:rPr><w:rFonts w:ascii="{FONT}" w:hAnsi="{FONT}"/>'
        '<w:sz w:val="26"/></w:rPr><w:t>2</w:t></w:r></w:fldSimple>'))


def _run_xml(text: str, *, size_pt: float, bold: bool = False, italic: bool = False) -> str:
    """One run; "\n" in the text becomes a line break inside the paragraph."""
    props = ("<w:b/><w:bCs/>" if bold else "") + ("<w:i/><w:iCs/>" if italic else "")
    half = round(size_pt * 2)
    body = "<w:br/>".join(f'<w:t xml:space="preserve">{escape(line)}</w:t>' for line in text.split("\n"))
    return f'<w:r><w:rPr>{props}<w:sz w:val="{half}"/><w:szCs w:val="{half}"/></w:rPr>{body}</w:r>'


def _para_xml(runs: str, *, align: str = "center", before: int = 0, after: int = 0, border: str = "",
              indent: str = "", mark: str = "", keep_next: bool = False) -> str:
    """A paragraph; pPr children in the schema's order (keepNext, pBdr, spacing, ind, jc, rPr) or Word rejects
    the file."""
    keep = "<w:keepNext/>" if keep_next else ""
    return (f'<w:p {W_NS}><w:pPr>{keep}{border}<w:spacing w:before="{before}" w:after="{after}" w:line="240" '
            f'w:lineRule="auto"/>{indent}<w:jc w:val="{align}"/>{mark}</w:pPr>{runs}</w:p>')


def _rule_xml(width_pct: float, cell_mm: float) -> str:
    """A short centred line (the rule under the issuer and under the motto): a bottom border, indented."""
    side = _tw(cell_mm * (1 - width_pct) / 2)
    return _para_xml("", border='<w:pBdr><w:bottom w:val="single" w:sz="6" w:space="1" w:color="000000"/></w:pBdr>',
                     indent=f'<w:ind w:left="{side}" w:right="{side}"/>', mark='<w:rPr><w:sz w:val="4"/></w:rPr>',
                     after=60)


def _borderless_table(cells: Sequence[str], widths_mm: Sequence[float]) -> str:
    grid = "".join(f'<w:gridCol w:w="{_tw(w)}"/>' for w in widths_mm)
    tcs = "".join(f'<w:tc><w:tcPr><w:tcW w:w="{_tw(w)}" w:type="dxa"/></w:tcPr>{content or _para_xml("")}</w:tc>'
                  for content, w in zip(cells, widths_mm, strict=True))
    return (f'<w:tbl {W_NS}><w:tblPr><w:tblW w:w="{_tw(sum(widths_mm))}" w:type="dxa"/>'
            '<w:tblBorders><w:top w:val="nil"/><w:left w:val="nil"/><w:bottom w:val="nil"/><w:right w:val="nil"/>'
            '<w:insideH w:val="nil"/><w:insideV w:val="nil"/></w:tblBorders><w:tblLayout w:type="fixed"/>'
            '<w:tblCellMar><w:left w:w="0" w:type="dxa"/><w:right w:w="0" w:type="dxa"/></w:tblCellMar>'
            f'</w:tblPr><w:tblGrid>{grid}</w:tblGrid><w:tr><w:trPr><w:cantSplit/></w:trPr>{tcs}</w:tr></w:tbl>')


class _Writer:
    def __init__(self, document: Document) -> None:
        self.model = document
        self.doc = new_document()
        self.body = self.doc.element.body
        self.landscape = False
        self.charts = 0

    def append(self, xml: str) -> None:
        self.body.sectPr.addprevious(parse_xml(xml))

    @property
    def width(self) -> float:
        return text_width_mm(self.landscape)

    # -- blocks -----------------------------------------------------------------------------------------
    def header(self, h: Header) -> None:
        left_w, right_w = self.width * 0.4, self.width * 0.6
        left = ""
        if h.issuer_parent:
            left += _para_xml(_run_xml(h.issuer_parent.upper(), size_pt=12.5))
        left += _para_xml(_run_xml(h.issuer.upper(), size_pt=12.5, bold=True))
        left += _rule_xml(0.4, left_w)
        if h.number:
            left += _para_xml(_run_xml(f"Số: {h.number}", size_pt=13))
        right = (_para_xml(_run_xml("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", size_pt=12.5, bold=True))
                 + _para_xml(_run_xml("Độc lập - Tự do - Hạnh phúc", size_pt=13.5, bold=True))
                 + _rule_xml(0.55, right_w)
                 + _para_xml(_run_xml(vietnamese_date(h.date, h.place), size_pt=13.5, italic=True), before=60))
        self.append(_borderless_table([left, right], [left_w, right_w]))

    def heading(self, block: Heading) -> None:
        if block.level == 1:
            self.append(_para_xml(_run_xml(block.text.upper(), size_pt=14, bold=True), before=240, after=0))
        elif block.level == 2:
            self.append(_para_xml(_run_xml(block.text, size_pt=14, bold=True), before=0, after=200))
        else:
            self.append(_para_xml(_run_xml(block.text, size_pt=14, bold=True), align="left", before=120, after=60))

    def paragraph(self, block: Paragraph) -> None:
        runs = ""
        if block.bold_lead:
            runs += _run_xml(block.bold_lead, size_pt=BODY_PT, bold=True, italic=block.italic)
        runs += _run_xml(block.text, size_pt=BODY_PT, italic=block.italic)
        indent = f'<w:ind w:firstLine="{_tw(10)}"/>' if block.indent and not block.centered else ""
        self.append(_para_xml(runs, align="center" if block.centered else "both", after=120, indent=indent))

    def table(self, t: Table) -> None:
        if t.caption:
            self.append(_para_xml(_run_xml(t.caption, size_pt=13, bold=True), before=120, after=60))
        total = sum(c.width for c in t.columns)
        widths = [self.width * c.width / total for c in t.columns]
        size = t.font_pt
        half = round(size * 2)
        parts = [f'<w:tbl {W_NS}><w:tblPr><w:tblW w:w="{_tw(self.width)}" w:type="dxa"/><w:jc w:val="center"/>'
                 '<w:tblBorders>'
                 + "".join(f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
                           for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
                 + '</w:tblBorders><w:tblLayout w:type="fixed"/><w:tblCellMar><w:left w:w="57" w:type="dxa"/>'
                 '<w:right w:w="57" w:type="dxa"/></w:tblCellMar></w:tblPr><w:tblGrid>'
                 + "".join(f'<w:gridCol w:w="{_tw(w)}"/>' for w in widths) + "</w:tblGrid>"]
        cell_pr = '<w:spacing w:before="20" w:after="20" w:line="240" w:lineRule="auto"/>'

        def tc(text: str, width_mm: float, align: str, *, bold: bool = False, italic: bool = False, span: int = 1,
               vmerge: str | None = None) -> str:
            props = f'<w:tcW w:w="{_tw(width_mm)}" w:type="dxa"/>'
            if span > 1:
                props += f'<w:gridSpan w:val="{span}"/>'
            if vmerge is not None:
                props += '<w:vMerge w:val="restart"/>' if vmerge == "restart" else "<w:vMerge/>"
            props += '<w:vAlign w:val="center"/>'
            rpr = ("<w:b/><w:bCs/>" if bold else "") + ("<w:i/><w:iCs/>" if italic else "")
            run = (f'<w:r><w:rPr>{rpr}<w:sz w:val="{half}"/><w:szCs w:val="{half}"/></w:rPr>'
                   f'<w:t xml:space="preserve">{escape(text)}</w:t></w:r>') if text else ""
            paragraph = f'<w:p><w:pPr>{cell_pr}<w:jc w:val="{align}"/></w:pPr>{run}</w:p>'
            return f"<w:tc><w:tcPr>{props}</w:tcPr>{paragraph}</w:tc>"

        header = t.header_rows()
        for r, header_row in enumerate(header):
            cells = {cell.column: cell for cell in header_row}
            row_xml = "<w:tr><w:trPr><w:tblHeader/><w:cantSplit/></w:trPr>"
            column = 0
            while column < len(t.columns):
                cell = cells.get(column)
                if cell is None:  # covered by a title spanning both header rows: continue its vertical merge
                    row_xml += tc("", widths[column], "center", vmerge="continue")
                    column += 1
                    continue
                width = sum(widths[column:column + cell.colspan])
                vmerge = "restart" if cell.rowspan > 1 and len(header) > 1 else None
                row_xml += tc(cell.title, width, "center", bold=True, span=cell.colspan, vmerge=vmerge)
                column += cell.colspan
            parts.append(row_xml + "</w:tr>")
            del r
        aligns = {"text": "left", "int": "right", "decimal": "right", "center": "center"}
        for row in t.rows:
            if row.style == "group":
                parts.append("<w:tr><w:trPr><w:cantSplit/></w:trPr>" + tc(str(row.values[0]), self.width, "left",
                             bold=True, italic=True, span=len(t.columns)) + "</w:tr>")
                continue
            bold = row.style == "total"
            parts.append("<w:tr><w:trPr><w:cantSplit/></w:trPr>" + "".join(
                tc(cell_text(v, c.kind, c.places), w, aligns[c.kind], bold=bold)
                for v, c, w in zip(row.values, t.columns, widths, strict=True)) + "</w:tr>")
        parts.append("</w:tbl>")
        self.append("".join(parts))
        for note in t.notes:
            self.append(_para_xml(_run_xml(note, size_pt=11, italic=True), align="both", after=40))

    def chart(self, chart: BarChart) -> None:
        self.charts += 1
        n = self.charts
        package = self.doc.part.package
        chart_part = Part(PackURI(f"/word/charts/chart{n}.xml"), CT_CHART, b"", package)
        workbook = Part(PackURI(f"/word/embeddings/Microsoft_Excel_Worksheet{n}.xlsx"), CT_XLSX,
                        embedded_workbook(chart), package)
        external = chart_part.relate_to(workbook, RT.PACKAGE)
        chart_part._blob = chart_space_xml(chart, external)
        rid = self.doc.part.relate_to(chart_part, RT.CHART)
        width_cm, height_cm = chart_size_cm(chart)
        cx, cy = round(width_cm * 360000), round(height_cm * 360000)
        self.append(_para_xml(_run_xml(chart.title, size_pt=13, bold=True), before=120, after=60))
        self.append(
            f'<w:p {W_NS}><w:pPr><w:spacing w:before="0" w:after="120"/><w:jc w:val="center"/></w:pPr><w:r><w:drawing>'
            '<wp:inline distT="0" distB="0" distL="0" distR="0" '
            'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing">'
            f'<wp:extent cx="{cx}" cy="{cy}"/><wp:effectExtent l="0" t="0" r="0" b="0"/>'
            f'<wp:docPr id="{1000 + n}" name="{escape(chart.name)}"/><wp:cNvGraphicFramePr/>'
            '<a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
            '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart">'
            '<c:chart xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
            f'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="{rid}"/>'
            "</a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>")

    def signatures(self, block: Signatures) -> None:
        half = self.width / 2

        def signer(s: Signer | None) -> str:
            if s is None:
                return ""
            out = ""
            if s.capacity:
                out += _para_xml(_run_xml(s.capacity.upper(), size_pt=13.5, bold=True))
            out += _para_xml(_run_xml(s.title.upper(), size_pt=13.5, bold=True), after=1600)
            out += _para_xml(_run_xml(s.name, size_pt=14, bold=True) if s.name else "")
            return out

        left = signer(block.left)
        if block.left is None and block.recipients:
            left = _para_xml(_run_xml("Nơi nhận:", size_pt=12, bold=True, italic=True), align="left")
            left += "".join(_para_xml(_run_xml(f"- {r}", size_pt=11), align="left") for r in block.recipients)
        self.append(_para_xml("", after=120, keep_next=True))  # with the signatures, never alone at a page's end
        self.append(_borderless_table([left, signer(block.right)], [half, half]))

    # -- document ---------------------------------------------------------------------------------------
    def write(self) -> bytes:
        _styles(self.doc)
        first = self.doc.sections[0]
        _page(first, landscape=False)
        _page_numbers(first)
        self.header(self.model.header)
        for i, section in enumerate(self.model.sections):
            if i > 0:
                new = self.doc.add_section(WD_SECTION.NEW_PAGE)
                _page(new, section.landscape)
                new.different_first_page_header_footer = False
            self.landscape = section.landscape
            for block in section.blocks:
                kind = block.block_type
                if kind == "page_break":
                    self.append(f'<w:p {W_NS}><w:r><w:br w:type="page"/></w:r></w:p>')
                else:
                    getattr(self, {"chart": "chart"}.get(kind, kind))(block)
        props = self.doc.core_properties
        props.title = self.model.title
        props.subject = self.model.subject
        props.keywords = ", ".join(self.model.keywords)
        props.author = "Hệ thống theo dõi cải cách hành chính"
        props.language = "vi-VN"
        buffer = io.BytesIO()
        self.doc.save(buffer)
        return buffer.getvalue()


def render(document: Document) -> bytes:
    return _Writer(document).write()

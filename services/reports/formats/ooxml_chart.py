"""Native Office charts (DrawingML ``c:chartSpace``) for XLSX sheets and DOCX documents, built with openpyxl.

XLSX: the chart references the cells of a data sheet. DOCX has no chart API in python-docx, so the same
openpyxl chart is serialised with cached values (what Word and LibreOffice draw) and an embedded workbook
holding the data (what Word opens when the user edits the chart's data): the chart stays editable.
"""

from __future__ import annotations

import io
from decimal import Decimal

from lxml import etree
from openpyxl import Workbook
from openpyxl.chart import BarChart as XlBarChart
from openpyxl.chart.data_source import (
    AxDataSource,
    NumData,
    NumDataSource,
    NumRef,
    NumVal,
    StrData,
    StrRef,
    StrVal,
)
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.series import Series as XlSeries
from openpyxl.chart.series import SeriesLabel
from openpyxl.chart.text import RichText
from openpyxl.drawing.text import CharacterProperties, Font, Paragraph, ParagraphProperties
from openpyxl.styles import Font as CellFont
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.xml.functions import tostring

from services.reports.layout import BarChart

C_NS = "http://schemas.openxmlformats.org/drawingml/2006/chart"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
DATA_SHEET = "Dữ liệu"
FONT = "Times New Roman"


def _text(size_pt: float, bold: bool = False) -> RichText:
    props = CharacterProperties(latin=Font(typeface=FONT), cs=Font(typeface=FONT), sz=int(size_pt * 100), b=bold)
    return RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=props), endParaRPr=props)])


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def write_chart_data(ws: Worksheet, chart: BarChart, first_row: int = 1, first_col: int = 1) -> None:
    """Categories in the first column, one column per series, a header row on top."""
    ws.cell(first_row, first_col, chart.value_title if len(chart.series) > 1 else "")
    for j, series in enumerate(chart.series, start=1):
        ws.cell(first_row, first_col + j, series.name).font = CellFont(name=FONT, bold=True)
    for i, category in enumerate(chart.categories, start=1):
        ws.cell(first_row + i, first_col, category)
        for j, series in enumerate(chart.series, start=1):
            cell = ws.cell(first_row + i, first_col + j, _number(series.values[i - 1]))
            cell.number_format = "0.00"


def chart_object(chart: BarChart, sheet: str, first_row: int = 1, first_col: int = 1, *, cached: bool,
                 title: bool) -> XlBarChart:
    """An openpyxl bar chart over the data :func:`write_chart_data` wrote at (first_row, first_col)."""
    n = len(chart.categories)
    col = get_column_letter(first_col)
    ref = f"{quote_sheetname(sheet)}!${col}${first_row + 1}:${col}${first_row + n}"
    strings = StrData(ptCount=n, pt=[StrVal(idx=i, v=c) for i, c in enumerate(chart.categories)]) if cached else None
    xl = XlBarChart()
    xl.type = "bar" if chart.horizontal else "col"
    xl.grouping = "clustered"
    xl.gapWidth = 40 if chart.horizontal else 60
    for j, series in enumerate(chart.series, start=1):
        vcol = get_column_letter(first_col + j)
        values = NumData(ptCount=n, formatCode="0.00",
                         pt=[NumVal(idx=i, v=float(v)) for i, v in enumerate(series.values) if v is not None])
        value_ref = f"{quote_sheetname(sheet)}!${vcol}${first_row + 1}:${vcol}${first_row + n}"
        s = XlSeries(
            val=NumDataSource(numRef=NumRef(f=value_ref, numCache=values if cached else None)),
            cat=AxDataSource(strRef=StrRef(f=ref, strCache=strings)),
            tx=SeriesLabel(strRef=StrRef(f=f"{quote_sheetname(sheet)}!${vcol}${first_row}",
                                         strCache=StrData(ptCount=1, pt=[StrVal(idx=0, v=series.name)])
                                         if cached else None)),
        )
        s.graphicalProperties.solidFill = series.color.lstrip("#").upper()
        s.graphicalProperties.line.solidFill = series.color.lstrip("#").upper()
        s.dLbls = DataLabelList(showVal=True, showSerName=False, showCatName=False, showLegendKey=False,
                                showPercent=False, numFmt="0.00", txPr=_text(7 if n > 20 else 8))
        if not chart.horizontal:
            s.dLbls.position = "outEnd"
        xl.series.append(s)
    xl.y_axis.scaling.min = 0
    xl.y_axis.scaling.max = float(chart.max_value)
    xl.y_axis.majorUnit = 20
    xl.y_axis.number_format = "0"
    xl.x_axis.delete = False  # openpyxl 3.1 hides axes unless told otherwise
    xl.y_axis.delete = False
    xl.x_axis.txPr = _text(7 if n > 30 else 9)
    xl.y_axis.txPr = _text(9)
    if chart.horizontal:
        xl.x_axis.scaling.orientation = "maxMin"  # the first unit (rank 1) on top
    if len(chart.series) == 1:
        xl.legend = None
    else:
        xl.legend.position = "t"
    if title:
        xl.title = chart.title
    xl.width, xl.height = chart_size_cm(chart)
    return xl


def chart_size_cm(chart: BarChart) -> tuple[float, float]:
    if chart.horizontal:
        return 16.5, min(23.0, max(6.0, 1.8 + 0.48 * len(chart.categories)))
    return 16.5, 9.5


def chart_space_xml(chart: BarChart, external_rid: str | None) -> bytes:
    """The chart part of a DOCX: cached values, Times New Roman text, the embedded workbook's relationship."""
    xl = chart_object(chart, DATA_SHEET, cached=True, title=False)
    tree = xl._write()
    # openpyxl prints cached numbers with "%.16g" (97.68 → 97.68000000000001): write the exact decimals instead
    # (openpyxl's tree uses bare tag names under a literal default-namespace attribute)
    for series, element in zip(chart.series, tree.iter("ser"), strict=True):
        for point in element.iter("pt"):
            if point.getparent().tag == "numCache":
                value = series.values[int(point.get("idx"))]
                point.find("v").text = f"{value:f}"
    tree.append(_tx_pr_element())
    if external_rid:
        external = etree.SubElement(tree, f"{{{C_NS}}}externalData", nsmap={"r": R_NS})
        external.set(f"{{{R_NS}}}id", external_rid)
        etree.SubElement(external, f"{{{C_NS}}}autoUpdate").set("val", "0")
    return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + tostring(tree)


def _tx_pr_element() -> etree._Element:
    """chartSpace-level text properties: every label in Times New Roman unless a part says otherwise."""
    rich = _text(9).to_tree(tagname="txPr")
    return etree.fromstring(tostring(rich)) if not isinstance(rich, etree._Element) else rich


def embedded_workbook(chart: BarChart) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = DATA_SHEET
    write_chart_data(ws, chart)
    ws.column_dimensions["A"].width = 40
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()

"""XLSX with openpyxl: the document's tables for analysis, one sheet each, plus its charts on a "Biểu đồ" sheet.

Each table sheet: the issuing body and the document's title on top, the table's caption, the header (merged
group titles), then one row per table row with real numbers (counts as integers, rates and points as
decimals shown with two places), so figures can be summed and sorted; notes below. The header stays frozen.
Text cells keep their Vietnamese exactly; a missing figure is an empty cell.
"""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from services.reports.formats.ooxml_chart import chart_object, write_chart_data
from services.reports.layout import Document, Table, Value

FONT = "Times New Roman"
THIN = Side(style="thin", color="000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_ROW = 4  # the first header row of every table sheet (rows 1–3: issuer, title, caption)
CHARTS_SHEET = "Biểu đồ"


def _value(value: Value, kind: str) -> object:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return int(value) if kind == "int" else float(value)
    return value


def _table_sheet(wb: Workbook, document: Document, table: Table) -> None:
    ws = wb.create_sheet(table.name)
    ncols = len(table.columns)
    last = get_column_letter(ncols)
    regular, bold = Font(name=FONT, size=11), Font(name=FONT, size=11, bold=True)
    ws["A1"] = document.header.issuer.replace("\n", " ").upper()
    ws["A1"].font = bold
    ws["A2"] = document.title
    ws["A2"].font = Font(name=FONT, size=13, bold=True)
    ws["A3"] = table.caption
    ws["A3"].font = Font(name=FONT, size=11, italic=True)
    for row in (1, 2, 3):
        ws.merge_cells(f"A{row}:{last}{row}")
    header = table.header_rows()
    centered = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for r, header_row in enumerate(header):
        for cell in header_row:
            row, col = HEADER_ROW + r, cell.column + 1
            target = ws.cell(row, col, cell.title)
            if cell.colspan > 1 or cell.rowspan > 1:
                ws.merge_cells(start_row=row, start_column=col, end_row=row + cell.rowspan - 1,
                               end_column=col + cell.colspan - 1)
            target.font, target.alignment = bold, centered
    first_data = HEADER_ROW + len(header)
    for r in range(HEADER_ROW, first_data):
        for c in range(1, ncols + 1):
            ws.cell(r, c).border = BOX
    formats = {"int": "#,##0", "decimal": "0.00"}
    row_number = first_data
    for row in table.rows:
        if row.style == "group":
            ws.cell(row_number, 1, row.values[0]).font = Font(name=FONT, size=11, bold=True, italic=True)
            ws.merge_cells(start_row=row_number, start_column=1, end_row=row_number, end_column=ncols)
            row_number += 1
            continue
        font = bold if row.style == "total" else regular
        for c, (value, column) in enumerate(zip(row.values, table.columns, strict=True), start=1):
            cell = ws.cell(row_number, c, _value(value, column.kind))
            cell.font = font
            cell.border = BOX
            if column.kind in formats and not isinstance(value, str):
                cell.number_format = "0." + "0" * column.places if column.kind == "decimal" else formats[column.kind]
            if column.kind == "center":
                cell.alignment = Alignment(horizontal="center")
        row_number += 1
    for note in table.notes:
        row_number += 1
        ws.cell(row_number, 1, note).font = Font(name=FONT, size=10, italic=True)
    for c, column in enumerate(table.columns, start=1):
        ws.column_dimensions[get_column_letter(c)].width = max(6.0, column.width * 0.55)
    ws.row_dimensions[HEADER_ROW].height = 32 if len(header) == 1 else 20
    ws.freeze_panes = ws.cell(first_data, 3)
    ws.print_options.gridLines = False
    ws.page_setup.orientation = "landscape" if ncols > 9 else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.print_title_rows = f"{HEADER_ROW}:{first_data - 1}"


def render(document: Document) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for table in document.tables():
        _table_sheet(wb, document, table)
    charts = document.charts()
    if charts:
        ws = wb.create_sheet(CHARTS_SHEET)
        ws.column_dimensions["A"].width = 42
        row = 1
        for chart in charts:
            ws.cell(row, 1, chart.title).font = Font(name=FONT, size=12, bold=True)
            write_chart_data(ws, chart, first_row=row + 1)
            xl = chart_object(chart, CHARTS_SHEET, first_row=row + 1, cached=False, title=True)
            ws.add_chart(xl, ws.cell(row + 1, len(chart.series) + 3).coordinate)
            chart_rows = int(xl.height / 0.5) + 2  # a default row is about 0.5 cm high
            row += max(len(chart.categories) + 3, chart_rows)
    wb.properties.title = document.title
    wb.properties.subject = document.subject
    wb.properties.keywords = ", ".join(document.keywords)
    wb.properties.creator = "Hệ thống theo dõi cải cách hành chính"
    wb.properties.language = "vi-VN"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()

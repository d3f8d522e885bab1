"""The reconciliation with the national portal as a workbook the office sends to units (Vietnamese headers).

One sheet "Đối soát" — the province, then every unit by points at stake, the portal's figures beside ours, the
differences highlighted (yellow: the sides differ; red: a point or more is at stake) —, one "Chưa khớp" with the
portal rows matching no unit and our units the portal file lacks, and "Lỗi tệp" when rows of the file could not
be read. The header states which period each side counts.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

__all__ = ["COLUMNS", "workbook_bytes"]

DIFFERS = PatternFill("solid", fgColor="FFF2CC")
AT_STAKE = PatternFill("solid", fgColor="F8CBAD")
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
THIN = Border(*(Side(style="thin", color="A6A6A6"),) * 4)
FONT = "Times New Roman"

# (header, width, value from a line dict)
COLUMNS: list[tuple[str, int, Any]] = [
    ("Mã trên Cổng", 12, lambda line: line["portal_code"]),
    ("Đơn vị", 42, lambda line: line["unit_name"] or line["portal_name"]),
    ("Mã đơn vị (hệ thống)", 12, lambda line: line["unit_code"]),
    ("Cổng: tiếp nhận và xử lý", 13, lambda line: line["portal"]["received"]),
    ("Cổng: đúng hạn", 11, lambda line: line["portal"]["on_time"]),
    ("Cổng: điểm", 9, lambda line: _number(line["portal"]["score"])),
    ("Hệ thống: tiếp nhận và xử lý", 13, lambda line: line["ours"] and line["ours"]["received"]),
    ("Hệ thống: đúng hạn", 11, lambda line: line["ours"] and line["ours"]["on_time"]),
    ("trong đó đã giải quyết trước/đúng hạn", 14, lambda line: line["ours"] and line["ours"]["finished_on_time"]),
    ("Đang giải quyết", 11, lambda line: line["ours"] and line["ours"]["in_progress"]),
    ("Hệ thống: điểm", 9, lambda line: _score_or_dash((line["ours"] or {}).get("score"))),
    ("Chênh lệch hồ sơ (hệ thống − Cổng)", 13, lambda line: line["received_diff"]),
    ("Chênh lệch đúng hạn", 11, lambda line: line["on_time_diff"]),
    ("Chênh lệch điểm", 10, lambda line: _score_or_dash(line["score_diff"])),
    ("Điểm có thể thay đổi", 10, lambda line: _number(line["points_at_stake"])),
    ("Ghi chú", 60, lambda line: "; ".join(line["notes"])),
]
DIFF_COLUMNS = {"Chênh lệch hồ sơ (hệ thống − Cổng)", "Chênh lệch đúng hạn", "Chênh lệch điểm"}


def _number(text: str | None) -> float | None:
    return None if text is None else float(Decimal(text))


def _score_or_dash(text: str | None) -> float | str:
    """Our score, or "—" when the unit had nothing to measure (the portal would say 0)."""
    return "—" if text is None else float(Decimal(text))


def _title(sheet: Any, row: int, text: str, *, bold: bool = False, size: int = 12) -> None:
    cell = sheet.cell(row=row, column=1, value=text)
    cell.font = Font(name=FONT, bold=bold, size=size)
    sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(COLUMNS) + 1)


def _line_row(sheet: Any, row: int, number: int | str, line: Mapping[str, Any]) -> None:
    values = [number, *(value(line) for _, _, value in COLUMNS)]
    stake = Decimal(line["points_at_stake"] or "0")
    for column, value in enumerate(values, start=1):
        cell = sheet.cell(row=row, column=column, value=value)
        cell.font = Font(name=FONT, size=11)
        cell.border = THIN
        cell.alignment = Alignment(vertical="top", wrap_text=column == len(values))
        header = COLUMNS[column - 2][0] if column > 1 else ""
        if header in DIFF_COLUMNS and value not in (0, None, "—", 0.0):
            cell.fill = AT_STAKE if stake >= 1 else DIFFERS
        if header == "Điểm có thể thay đổi" and stake >= 1:
            cell.fill = AT_STAKE
            cell.font = Font(name=FONT, size=11, bold=True)
        if header.endswith("điểm") or header in ("Chênh lệch điểm", "Điểm có thể thay đổi"):
            cell.number_format = "0.00"


def workbook_bytes(result: Mapping[str, Any], source_name: str = "") -> bytes:
    """The reconciliation (``Reconciliation.as_dict()``) as XLSX bytes."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Đối soát"
    period = result["period"]
    _title(sheet, 1, "ĐỐI SOÁT CHỈ SỐ TIẾN ĐỘ GIẢI QUYẾT HỒ SƠ (QUYẾT ĐỊNH 766/QĐ-TTg) VỚI CỔNG DỊCH VỤ CÔNG "
                     "QUỐC GIA", bold=True, size=13)
    _title(sheet, 2, f"Cổng DVCQG: {period['portal']['title']} — {period['portal']['basis']}"
                     + (f" (tệp {source_name})" if source_name else ""))
    _title(sheet, 3, f"Hệ thống CCHC: {period['ours']['title']} — {period['ours']['basis']}; số liệu tính đến "
                     f"{result['as_of'][:16].replace('T', ' ')} (giờ Việt Nam), so sánh theo "
                     f"{'ngày' if result['granularity'] == 'date' else 'phút'}")
    _title(sheet, 4, "Tô vàng: hai bên khác nhau; tô đỏ: chênh lệch từ 1 điểm trở lên. Đơn vị xếp theo số điểm có "
                     "thể thay đổi, lớn nhất trước.")
    header_row = 6
    for column, text in enumerate(["STT", *(c[0] for c in COLUMNS)], start=1):
        cell = sheet.cell(row=header_row, column=column, value=text)
        cell.font = Font(name=FONT, bold=True, size=11)
        cell.fill = HEADER_FILL
        cell.border = THIN
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    sheet.row_dimensions[header_row].height = 48
    row = header_row + 1
    if result.get("province"):
        _line_row(sheet, row, "Toàn tỉnh", result["province"])
        for column in range(1, len(COLUMNS) + 2):
            sheet.cell(row=row, column=column).font = Font(name=FONT, size=11, bold=True)
        row += 1
    for number, line in enumerate(result["lines"], start=1):
        _line_row(sheet, row, number, line)
        row += 1
    sheet.column_dimensions["A"].width = 9
    for index, (_, width, _) in enumerate(COLUMNS, start=2):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=4)
    sheet.auto_filter.ref = f"A{header_row}:{get_column_letter(len(COLUMNS) + 1)}{max(row - 1, header_row)}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1

    other = unmatched_sheet(book, result, "Cổng DVCQG không có số liệu")
    for cells in other.iter_rows():
        for cell in cells:
            cell.font = Font(name=FONT, size=11)
    for letter, width in zip("ABCDE", (18, 14, 45, 12, 60), strict=True):
        other.column_dimensions[letter].width = width
    return _with_file_errors(book, result)


def groups_workbook_bytes(result: Mapping[str, Any], source_name: str = "") -> bytes:
    """The six-group reconciliation (``reconcile_groups.reconcile_groups``) as XLSX bytes: sheet "Đối soát 6 nhóm"
    (the province, then the units by points at stake; per group the portal's score, ours and the difference, a
    group header marked where its method is inferred), "Chưa khớp", "Lỗi tệp" when rows could not be read."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Đối soát 6 nhóm"
    groups = result["groups"]
    width = 4 + 3 * (len(groups) + 1) + 2
    period = result["period"]

    def title(row: int, text: str, *, bold: bool = False, size: int = 12) -> None:
        cell = sheet.cell(row=row, column=1, value=text)
        cell.font = Font(name=FONT, bold=bold, size=size)
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)

    title(1, "ĐỐI SOÁT CHỈ SỐ QUYẾT ĐỊNH 766/QĐ-TTg (SÁU NHÓM) VỚI CỔNG DỊCH VỤ CÔNG QUỐC GIA", bold=True, size=13)
    title(2, f"Kỳ {period['title']} — {period['basis']}" + (f" (tệp {source_name})" if source_name else ""))
    title(3, f"Số liệu của hệ thống tính đến {result['as_of'][:16].replace('T', ' ')} (giờ Việt Nam). Tô vàng: hai "
             "bên khác nhau; tô đỏ: chênh lệch từ 1 điểm trở lên. (*) nhóm có chỉ tiêu tính theo cách suy luận, "
             "chưa được công bố chính thức: chênh lệch có thể do cách tính.")
    head, sub = 5, 6
    fixed = ["STT", "Mã trên Cổng", "Đơn vị", "Mã đơn vị (hệ thống)"]
    for column, text in enumerate(fixed, start=1):
        sheet.cell(row=head, column=column, value=text)
        sheet.merge_cells(start_row=head, start_column=column, end_row=sub, end_column=column)
    column = len(fixed) + 1
    blocks = [(f"{g['name']} ({g['max_points']})" + (" (*)" if g["inferred_indicators"] else ""), g["code"])
              for g in groups] + [("Tổng điểm (100)", "total")]
    for text, _ in blocks:
        sheet.cell(row=head, column=column, value=text)
        sheet.merge_cells(start_row=head, start_column=column, end_row=head, end_column=column + 2)
        for offset, label in enumerate(("Cổng", "Hệ thống", "Chênh lệch")):
            sheet.cell(row=sub, column=column + offset, value=label)
        column += 3
    sheet.cell(row=head, column=column, value="Điểm có thể thay đổi")
    sheet.merge_cells(start_row=head, start_column=column, end_row=sub, end_column=column)
    sheet.cell(row=head, column=column + 1, value="Ghi chú")
    sheet.merge_cells(start_row=head, start_column=column + 1, end_row=sub, end_column=column + 1)
    for row in (head, sub):
        for col in range(1, width + 1):
            cell = sheet.cell(row=row, column=col)
            cell.font = Font(name=FONT, bold=True, size=11)
            cell.fill = HEADER_FILL
            cell.border = THIN
            cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    sheet.row_dimensions[head].height = 45

    def write(row: int, number: int | str, line: Mapping[str, Any], bold: bool = False) -> None:
        values: list[Any] = [number, line["portal_code"], line["unit_name"] or line["portal_name"], line["unit_code"]]
        by_code = {g["code"]: g for g in line["groups"]}
        cells = [(by_code[code]["portal"], by_code[code]["ours"], by_code[code]["diff"]) if code != "total"
                 else (line["total"]["portal"], line["total"]["ours"], line["total"]["diff"]) for _, code in blocks]
        for portal, ours, diff in cells:
            values += [_number(portal), _number(ours), _number(diff)]
        stake = Decimal(line["points_at_stake"] or "0")
        values += [float(stake), "; ".join(line["notes"])]
        for col, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=col, value=value)
            cell.font = Font(name=FONT, size=11, bold=bold)
            cell.border = THIN
            cell.alignment = Alignment(vertical="top", wrap_text=col == len(values))
            if col > len(fixed) and col < len(values):
                cell.number_format = "0.00"
            block = (col - len(fixed) - 1) // 3
            if col > len(fixed) and block < len(cells) and (col - len(fixed)) % 3 == 0 and value not in (None, 0, 0.0):
                cell.fill = AT_STAKE if abs(value) >= 1 else DIFFERS
            if col == len(values) - 1 and stake >= 1:
                cell.fill = AT_STAKE

    row = sub + 1
    if result.get("province"):
        write(row, "Toàn tỉnh", result["province"], bold=True)
        row += 1
    for number, line in enumerate(result["lines"], start=1):
        write(row, number, line)
        row += 1
    for col, size in enumerate([7, 11, 38, 11] + [8] * (3 * len(blocks)) + [11, 70], start=1):
        sheet.column_dimensions[get_column_letter(col)].width = size
    sheet.freeze_panes = sheet.cell(row=sub + 1, column=4)
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1

    unmatched_sheet(book, result, "Tệp của Cổng không có số liệu")
    notes = book.create_sheet("Ghi chú, căn cứ")
    notes.append(["Nhóm", "Mã trên Cổng", "Điểm tối đa", "Chỉ tiêu tính theo cách suy luận"])
    for group in groups:
        notes.append([group["name"], group["portal_code"], float(Decimal(group["max_points"])),
                      ", ".join(group["inferred_indicators"]) or "không"])
    notes.append([])
    for warning in result.get("warnings", []):
        notes.append([f"• {warning}"])
    return _with_file_errors(book, result)


def unmatched_sheet(book: Any, result: Mapping[str, Any], missing_reason: str) -> Any:
    """The "Chưa khớp" sheet both workbooks carry: the portal's rows we could not match to a unit, then our units
    the portal's file has no figures for (with ``missing_reason``)."""
    other = book.create_sheet("Chưa khớp")
    other.append(["Dòng trong tệp", "Mã trên Cổng", "Tên trên Cổng", "Cấp", "Lý do"])
    for item in result["unmatched"]:
        other.append([item["row"], item["code"], item["name"], item["level"],
                      "Không có đơn vị tương ứng trong hệ thống (bổ sung bảng mã đơn vị)"])
    other.append([])
    other.append(["Mã đơn vị (hệ thống)", "Đơn vị", "Hồ sơ trong kỳ", "", "Lý do"])
    for item in result["missing_in_portal"]:
        other.append([item["unit_code"], item["unit_name"], item["received"], "", missing_reason])
    return other


def _with_file_errors(book: Any, result: Mapping[str, Any]) -> bytes:
    """The workbook's bytes, with a sheet "Lỗi tệp" naming the portal file's bad cells when it had any."""
    if result["errors"]:
        errors = book.create_sheet("Lỗi tệp")
        errors.append(["Dòng", "Cột", "Lý do"])
        for item in result["errors"]:
            errors.append([item["row"], item["column"], item["reason"]])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()

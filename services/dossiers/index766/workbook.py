"""The Decision 766 workbooks an office sends to its units (XLSX, Vietnamese headings): the province's ranking by
points at stake, and one unit's indicators with the dossiers and procedures behind its lost points.

Built from the JSON the RPCs return (reads.py), so a workbook never says anything the RPC does not.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from services.dossiers.index766.groups import GROUPS
from services.dossiers.index766.indicators import INDICATORS

__all__ = ["ranking_workbook", "unit_workbook"]

KINDS_VI = {"province": "Tỉnh", "department": "Sở, ban, ngành", "commune": "Xã, phường", "district": "Huyện (cũ)"}
ITEM_KINDS_VI = {"dossier": "Hồ sơ", "petition": "Phản ánh, kiến nghị", "procedure": "TTHC",
                 "service": "Dịch vụ công trực tuyến", "commune": "Xã, phường"}
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=13)


def _number(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


def _sheet(book: Workbook, title: str, first: bool = False) -> Worksheet:
    sheet = book.active if first else book.create_sheet()
    sheet.title = title
    return sheet


def _table(sheet: Worksheet, header: Sequence[str], rows: Sequence[Sequence[Any]], start: int,
           widths: Sequence[int]) -> None:
    for column, text in enumerate(header, start=1):
        cell = sheet.cell(row=start, column=column, value=text)
        cell.font = BOLD
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for offset, row in enumerate(rows, start=1):
        for column, value in enumerate(row, start=1):
            sheet.cell(row=start + offset, column=column, value=value)
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = sheet.cell(row=start + 1, column=1)


def _titles(sheet: Worksheet, lines: Sequence[str]) -> int:
    for number, line in enumerate(lines, start=1):
        sheet.cell(row=number, column=1, value=line).font = TITLE if number == 1 else Font(italic=True)
    return len(lines) + 2


def _notes(book: Workbook, warnings: Sequence[str]) -> None:
    sheet = _sheet(book, "Ghi chú, căn cứ")
    row = _titles(sheet, ["Ghi chú về số liệu", "Chỉ số tính lại theo cách Cổng DVCQG công bố (766-INDEX.md); "
                                                 "\"Suy luận\" = cách tính chưa được công bố chính thức."])
    for warning in warnings:
        sheet.cell(row=row, column=1, value=f"• {warning}")
        row += 1
    header = ["Nhóm", "Mã chỉ tiêu", "Số TT", "Tên chỉ tiêu", "Điểm tối đa", "Cách cho điểm", "Căn cứ", "Suy luận",
              "Cách tính"]
    names = {g.code: g.name_vi for g in GROUPS}
    rows = [[names[i.group], i.code, i.number, i.name_vi, i.max_points, i.form.label, i.evidence,
             "có" if i.inferred else "không", i.formula] for i in INDICATORS.values()]
    _table(sheet, header, rows, row + 1, [22, 30, 7, 50, 10, 18, 50, 9, 100])


def _save(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def ranking_workbook(doc: dict[str, Any]) -> bytes:
    """Sheet "Xếp hạng": the province, then its units by points at stake; sheet "Ghi chú, căn cứ"."""
    book = Workbook()
    sheet = _sheet(book, "Xếp hạng", first=True)
    start = _titles(sheet, [
        f"Chỉ số chỉ đạo, điều hành và đánh giá chất lượng phục vụ (QĐ 766/QĐ-TTg) — {doc['period_title']}",
        f"Số liệu tính đến {doc['as_of']}; đơn vị xếp theo số điểm bị mất, nhiều nhất trước; (*) nhóm có chỉ tiêu "
        "tính theo cách suy luận (" + "; ".join(f"{g.name_vi}: {', '.join(g.inferred_numbers)}" for g in GROUPS
                                                if g.inferred_numbers) + ")",
    ])
    header = ["STT", "Mã đơn vị", "Tên đơn vị", "Loại đơn vị",
              *(f"{g.name_vi} ({g.max_points})" + (" (*)" if g.inferred_numbers else "") for g in GROUPS),
              "Tổng điểm (100)", "Điểm bị mất",
              "Thứ hạng theo tổng điểm", "Chỉ tiêu mất nhiều điểm nhất"]
    rows: list[list[Any]] = []
    province = doc.get("province")
    if province:
        groups = {g["code"]: g["score"] for g in province["groups"]}
        rows.append(["", province["unit_code"], province["unit_name"], KINDS_VI["province"],
                     *(_number(groups[g.code]) for g in GROUPS), _number(province["total"]),
                     _number(province["points_lost"]), "", ""])
    for unit in doc["units"]:
        rows.append([unit["position"], unit["unit_code"], unit["unit_name"], KINDS_VI.get(unit["unit_kind"], ""),
                     *(_number(unit["groups"][g.code]) for g in GROUPS), _number(unit["total"]),
                     _number(unit["points_lost"]), unit["board_rank"],
                     "; ".join(f"{t['number']} {t['name']} (−{t['points_lost']})" for t in unit["top_losses"])])
    _table(sheet, header, rows, start, [6, 12, 40, 14, 12, 12, 12, 12, 12, 12, 11, 11, 11, 90])
    if province:
        for column in range(1, len(header) + 1):
            sheet.cell(row=start + 1, column=column).font = BOLD
    _notes(book, doc["warnings"])
    return _save(book)


def unit_workbook(doc: dict[str, Any]) -> bytes:
    """Sheets "Chỉ số" (every indicator), "Điểm bị mất" (per indicator), "Hồ sơ, TTHC" (the items behind them)."""
    book = Workbook()
    sheet = _sheet(book, "Chỉ số", first=True)
    start = _titles(sheet, [
        f"{doc['unit_name']} ({doc['unit_code']}) — Chỉ số QĐ 766/QĐ-TTg — {doc['period_title']}",
        f"Tổng điểm {doc['total']}/100, bị mất {doc['points_lost']} điểm; số liệu tính đến {doc['as_of']}",
    ])
    header = ["Nhóm", "Số TT", "Chỉ tiêu", "Mã chỉ tiêu", "Điểm tối đa", "Tử số", "Mẫu số", "Tỷ lệ (%)", "Điểm",
              "Điểm bị mất", "Cách cho điểm", "Suy luận", "Ghi chú"]
    rows = []
    for group in doc["groups"]:
        rows.append([f"{group['name']} ({group['max_points']})", "", "", group["portal_code"],
                     _number(group["max_points"]), None, None, None, _number(group["score"]),
                     _number(group["points_lost"]), "", "", ""])
        for ind in group["indicators"]:
            rows.append(["", ind["number"], ind["name"], ind["code"], _number(ind["max_points"]), ind["numerator"],
                         ind["denominator"], _number(ind["ratio"]), _number(ind["score"]),
                         _number(ind["points_lost"]), ind["form"], "có" if ind["inferred"] else "không",
                         ind["note"] or ""])
    _table(sheet, header, rows, start, [26, 7, 50, 30, 10, 10, 10, 10, 8, 10, 16, 9, 50])
    losses = _sheet(book, "Điểm bị mất")
    _table(losses, ["Số TT", "Chỉ tiêu", "Điểm bị mất", "Số chưa đạt", "Cần khắc phục để đủ điểm",
                    "Điểm mỗi hồ sơ/TTHC", "Suy luận", "Ghi chú"],
           [[loss["number"], loss["name"], _number(loss["points_lost"]), loss["missing"], loss["items_to_full"],
             _number(loss["points_per_item"]), "có" if loss["inferred"] else "không", loss["note"] or ""]
            for loss in doc["losses"]], 1, [7, 50, 11, 12, 14, 14, 9, 50])
    items = _sheet(book, "Hồ sơ, TTHC")
    rows = []
    for loss in doc["losses"]:
        for item in loss["items"]:
            rows.append([loss["number"], loss["name"], ITEM_KINDS_VI.get(item["kind"], item["kind"]), item["code"],
                         item["unit_code"], item["reason"] or "", item.get("procedure_code", ""),
                         item.get("received_at", ""), item.get("deadline") or item.get("handle_by") or "",
                         item.get("applicant") or ""])
    _table(items, ["Số TT", "Chỉ tiêu", "Loại", "Mã", "Đơn vị", "Lý do chưa đạt", "Mã TTHC", "Ngày tiếp nhận",
                   "Hạn", "Người nộp (đã che)"], rows, 1, [7, 40, 14, 26, 10, 60, 16, 26, 26, 22])
    _notes(book, doc["warnings"])
    return _save(book)

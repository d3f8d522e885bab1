"""The one-door statistics report (báo cáo tình hình, kết quả giải quyết thủ tục hành chính) of a unit or of the
whole province for a month, quarter, half-year or year.

The figures are the dossiers service's ``period_stats`` exactly (../shared/spec/DOMAIN.md, "Reporting
periods"): carried over (kỳ trước chuyển sang), newly received (mới tiếp nhận), total to process, finished
early / on time / late (trước hạn / đúng hạn / trễ hạn), unfinished within deadline / overdue (trong hạn / quá
hạn), withdrawn (rút hồ sơ), returned (trả lại), the on-time rate, Decision 766 progress rate and score, and
the online share. The report names its period's dates, the day the figures run to and how timeliness was
compared (by date or to the minute), as every one-door report must.

A unit's report has its own row, then one row per unit below it (grouped by kind); the province's report
starts with the province's total. Units that did not exist during the period (e.g. the districts abolished
on 1 July 2025) are left out unless they hold dossiers of the period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from services.reports.bodies import header_name, province_short, unit_body_name
from services.reports.errors import NotFound
from services.reports.layout import (
    Column,
    ColumnGroup,
    Document,
    Header,
    Heading,
    Paragraph,
    Row,
    Section,
    Signatures,
    Signer,
    Table,
)
from services.reports.numbers import decimal_or_none, vi_decimal, vi_int

__all__ = ["STAT_COLUMNS", "build_statistics_document", "stat_values", "statistics_filename"]

# (title, key in period_stats, kind, width mm)
STAT_FIELDS: tuple[tuple[str, str, str, float], ...] = (
    ("Kỳ trước chuyển sang", "carried_over", "int", 13),
    ("Mới tiếp nhận", "received_new", "int", 13),
    ("Tổng số", "total", "int", 13),
    ("Tổng số", "finished", "int", 12),
    ("Trước hạn", "finished_early", "int", 12),
    ("Đúng hạn", "finished_on_time", "int", 12),
    ("Trễ hạn", "finished_late", "int", 12),
    ("Tổng số", "unfinished", "int", 12),
    ("Trong hạn", "unfinished_within", "int", 12),
    ("Quá hạn", "unfinished_overdue", "int", 12),
    ("Rút hồ sơ", "withdrawn", "int", 11),
    ("Trả lại", "returned", "int", 11),
    ("Tỷ lệ đúng hạn (%)", "on_time_rate", "decimal", 13),
    ("Tiến độ theo QĐ 766 (%)", "progress_766_rate", "decimal", 14),
    ("Điểm tiến độ QĐ 766", "progress_766_score", "decimal", 12),
    ("Trực tuyến (%)", "online_share", "decimal", 12),
)
STAT_COLUMNS = (Column("STT", "int", 8), Column("Đơn vị", "text", 36),
                *(Column(title, kind, width) for title, _, kind, width in STAT_FIELDS))  # type: ignore[arg-type]
STAT_GROUPS = (ColumnGroup("Số hồ sơ phải giải quyết", 2, 3), ColumnGroup("Đã giải quyết", 5, 4),
               ColumnGroup("Đang giải quyết", 9, 3))
KIND_GROUPS = (("province", "Tỉnh"), ("department", "Sở, ban, ngành"), ("commune", "Xã, phường"),
               ("district", "Huyện, thị xã, thành phố (trước ngày 01/7/2025)"))
GRANULARITY = {"date": "so sánh ngày kết thúc xử lý với ngày hẹn trả (theo ngày, như báo cáo theo Quyết định 766)",
               "minute": "so sánh thời điểm kết thúc xử lý với thời điểm hẹn trả (đến từng phút)"}


def statistics_filename(unit_code: str, period: str) -> str:
    return f"thong-ke-mot-cua-{unit_code}-{period}"


def stat_values(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(int(row[key]) if kind == "int" else decimal_or_none(row[key]) for _, key, kind, _ in STAT_FIELDS)


def _existed(unit: Mapping[str, Any] | None, start: dt.date, end: dt.date) -> bool:
    if unit is None:
        return True
    valid_from = dt.date.fromisoformat(unit["valid_from"]) if unit.get("valid_from") else None
    valid_to = dt.date.fromisoformat(unit["valid_to"]) if unit.get("valid_to") else None
    return not ((valid_to is not None and valid_to < start) or (valid_from is not None and valid_from > end))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def summary(row: Mapping[str, Any]) -> str:
    return (
        f"Tổng số hồ sơ phải giải quyết: {vi_int(row['total'])} (kỳ trước chuyển sang {vi_int(row['carried_over'])}, "
        f"mới tiếp nhận {vi_int(row['received_new'])}, trong đó trực tuyến {vi_int(row['received_online'])}). "
        f"Đã giải quyết {vi_int(row['finished'])} hồ sơ (trước hạn {vi_int(row['finished_early'])}, đúng hạn "
        f"{vi_int(row['finished_on_time'])}, trễ hạn {vi_int(row['finished_late'])}), tỷ lệ giải quyết đúng hạn "
        f"{vi_decimal(row['on_time_rate'])}%. Đang giải quyết {vi_int(row['unfinished'])} hồ sơ (trong hạn "
        f"{vi_int(row['unfinished_within'])}, quá hạn {vi_int(row['unfinished_overdue'])}). Rút hồ sơ "
        f"{vi_int(row['withdrawn'])}; trả lại {vi_int(row['returned'])}. Tiến độ giải quyết theo Quyết định số "
        f"766/QĐ-TTg: {vi_decimal(row['progress_766_rate'])}% ({vi_decimal(row['progress_766_score'])}/20 điểm)."
    )


def build_statistics_document(rows: Sequence[Mapping[str, Any]], units: Sequence[Mapping[str, Any]],
                              settings: Any, province: str, today: dt.date) -> Document:
    """``rows``: dossiers.period_stats(unit, period, include_children=True) — the unit first, then its children."""
    if not rows:
        raise NotFound("unit_code: no figures")
    by_code = {u["code"]: u for u in units}
    first = rows[0]
    unit = by_code.get(first["unit_code"]) or {"code": first["unit_code"], "name": first["unit_name"],
                                                "kind": "department"}
    start, end = dt.date.fromisoformat(first["start"]), dt.date.fromisoformat(first["end"])
    children = [r for r in rows[1:] if int(r["total"]) > 0 or _existed(by_code.get(r["unit_code"]), start, end)]
    table_rows = [Row(("", first["unit_name"], *stat_values(first)), style="total")]
    position = 0
    for kind, label in KIND_GROUPS:
        members = [r for r in children if (by_code.get(r["unit_code"]) or {}).get("kind", "department") == kind]
        if not members:
            continue
        table_rows.append(Row((label,), style="group"))
        for member in members:
            position += 1
            table_rows.append(Row((position, member["unit_name"], *stat_values(member))))
    period_title = first["period_title"]
    caption = f"Kết quả giải quyết thủ tục hành chính {_lower_first(period_title)}"
    table = Table(name="Thống kê một cửa", caption=caption,
                  columns=STAT_COLUMNS, rows=tuple(table_rows), groups=STAT_GROUPS, font_pt=8.5,
                  notes=(f"Tỷ lệ đúng hạn = (trước hạn + đúng hạn) / đã giải quyết. Tiến độ theo Quyết định số "
                         f"766/QĐ-TTg = (đã giải quyết trước hạn, đúng hạn + đang giải quyết trong hạn) / (tổng số "
                         f"hồ sơ phải giải quyết − rút hồ sơ − trả lại); điểm = tỷ lệ × 20. Thời hạn: "
                         f"{GRANULARITY.get(first['granularity'], first['granularity'])}.",))
    body = unit_body_name(unit, province)
    cfg = settings.statistics
    blocks = (
        Heading("Báo cáo", 1),
        Heading(f"Tình hình, kết quả giải quyết thủ tục hành chính {_lower_first(period_title)}", 2),
        Paragraph(f"Kỳ báo cáo từ ngày {start:%d/%m/%Y} đến ngày {end:%d/%m/%Y}; số liệu tính đến ngày "
                  f"{dt.date.fromisoformat(first['as_of']):%d/%m/%Y}. Thời hạn giải quyết được đánh giá bằng cách "
                  f"{GRANULARITY.get(first['granularity'], first['granularity'])}.", italic=True),
        Paragraph(f"{body} báo cáo tình hình, kết quả giải quyết thủ tục hành chính tại Bộ phận Một cửa như sau:"),
        Paragraph(summary(first)),
        Paragraph("Chi tiết theo từng đơn vị tại bảng kèm theo." if children else "Chi tiết tại bảng kèm theo."),
        Signatures(left=Signer("", cfg["preparer_title"]), right=Signer("", cfg["signer_title"])),
    )
    return Document(
        kind="statistics",
        title=f"Báo cáo tình hình giải quyết thủ tục hành chính {_lower_first(period_title)} — {first['unit_name']}",
        filename=statistics_filename(first["unit_code"], first["period"]),
        header=Header(issuer=header_name(body), place=province, date=today, number=str(cfg["number"]).strip(),
                      issuer_parent=province_short(province) if unit["kind"] == "department" else None),
        sections=(Section(blocks), Section((table,), landscape=True)),
        template="statistics.html",
        subject=f"Thống kê một cửa {first['period']}",
        keywords=("một cửa", first["period"], first["unit_code"]),
    )

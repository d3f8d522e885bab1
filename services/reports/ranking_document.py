"""The ranking document: the province's decision announcing the year's PAR Index (Chỉ số CCHC).

Layout, after the Nghị định 30 header block: the decision (QUYẾT ĐỊNH, its grounds, three articles, the
recipients and the chairman's signature block), then one appendix (Phụ lục) per criteria set — i.e. per kind
of unit — with

* the ranking table: no., unit, self-assessed points (điểm tự đánh giá), appraised points (điểm thẩm định),
  survey points (điểm điều tra xã hội học), total, index %, rank, class (xếp loại);
* the component index of every area (chỉ số thành phần theo lĩnh vực) for every unit, on landscape pages;
* charts: the units' indexes as ranking bars, and the areas compared (average, highest, lowest).

The figures are the scoring service's ranking (``scoring.ranking(set_id)``) as it is: this module formats and
arranges them, it never recomputes an index. Units marked provisional (tạm tính: not every leaf appraised
yet) carry an asterisk; units excluded from the common ranking are listed last without a rank.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from services.reports.bodies import header_name
from services.reports.errors import NotFound
from services.reports.layout import (
    BarChart,
    Column,
    ColumnGroup,
    Document,
    Header,
    Heading,
    Paragraph,
    Row,
    Section,
    Series,
    Signatures,
    Signer,
    Table,
)
from services.reports.numbers import decimal_or_none, vi_decimal, vi_int
from services.reports.settings import ReportSettings
from shared.calendar import LOCAL_TZ
from shared.rounding import round_half_up

__all__ = ["KIND_PHRASES", "build_ranking_document", "ranking_filename", "roman"]

# unit kind → (who, in a title; the appendix heading; who carries out the decision; after a count of units)
KIND_PHRASES: dict[str, tuple[str, str, str, str]] = {
    "department": ("các sở, ban, ngành", "Sở, ban, ngành", "Thủ trưởng các sở, ban, ngành", "sở, ban, ngành"),
    "commune": ("Ủy ban nhân dân các xã, phường", "Xã, phường", "Chủ tịch Ủy ban nhân dân các xã, phường",
                "xã, phường"),
    "district": ("Ủy ban nhân dân các huyện, thị xã, thành phố", "Huyện, thị xã, thành phố",
                 "Chủ tịch Ủy ban nhân dân các huyện, thị xã, thành phố", "huyện, thị xã, thành phố"),
}

RANKING_COLUMNS = (
    Column("STT", "int", 9),
    Column("Đơn vị", "text", 58),
    Column("Điểm tự đánh giá", "decimal", 15),
    Column("Điểm thẩm định", "decimal", 15),
    Column("Điểm điều tra XHH", "decimal", 15),
    Column("Tổng điểm", "decimal", 15),
    Column("Chỉ số CCHC (%)", "decimal", 15),
    Column("Xếp hạng", "center", 11),
    Column("Xếp loại", "center", 19),
)

BAR_COLOR = "#1f4e79"
AREA_COLORS = ("#1f4e79", "#2e8b57", "#c0504d")


def roman(number: int) -> str:
    numerals = ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))
    out = ""
    for value, letters in numerals:
        while number >= value:
            out += letters
            number -= value
    return out


def _phrases(unit_kind: str) -> tuple[str, str, str, str]:
    return KIND_PHRASES.get(unit_kind, (f"các đơn vị ({unit_kind})", f"Đơn vị ({unit_kind})", "Thủ trưởng các đơn vị",
                                        f"đơn vị ({unit_kind})"))


def ranking_filename(set_ids: Sequence[str]) -> str:
    return "chi-so-cchc-" + "-".join(set_ids)


def _join_vi(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " và " + items[-1]


def _local(iso: str | None) -> str:
    if not iso:
        return ""
    moment = dt.datetime.fromisoformat(iso).astimezone(LOCAL_TZ)
    return f"{moment:%H:%M} ngày {moment:%d/%m/%Y}"


def _unit_label(row: Mapping[str, Any]) -> str:
    return row["unit_name"] + (" (*)" if row.get("provisional") else "")


def _places(ranking: Mapping[str, Any]) -> int:
    """The criteria set's decimals (2 unless the set chose 3): every point and index column follows it."""
    return int(ranking.get("precision") or 2)


def _with_places(columns: Sequence[Column], places: int) -> tuple[Column, ...]:
    return tuple(Column(c.title, c.kind, c.width, places) if c.kind == "decimal" else c for c in columns)


def ranking_notes(ranking: Mapping[str, Any]) -> list[str]:
    """The notes under the ranking table: provisional units, excluded units, bonus points, the tie-breakers."""
    notes = []
    if any(r.get("provisional") for r in ranking["table"]):
        notes.append("(*) Kết quả tạm tính: đơn vị còn tiêu chí chưa được Hội đồng thẩm định chấm điểm.")
    excluded = [r["unit_name"] for r in ranking["table"] if r.get("excluded")]
    if excluded:
        notes.append(f"Đơn vị được đánh giá, xếp loại nhưng không xếp hạng chung: {', '.join(excluded)}.")
    if any(a.get("bonus") for a in ranking.get("areas", ())):
        cap = ranking.get("cap_index_at")
        notes.append("Điểm thẩm định đã gồm điểm thưởng (cột Điểm thưởng) và điểm trừ; "
                     + (f"Chỉ số CCHC tối đa {vi_decimal(cap).removesuffix(',00')}%." if cap else
                        "Chỉ số CCHC có thể vượt 100% nhờ điểm thưởng."))
    breakers = ranking.get("tie_breakers") or []
    places = _places(ranking)
    if breakers:
        notes.append(f"Các đơn vị có Chỉ số CCHC bằng nhau (làm tròn {places} chữ số thập phân) được xếp hạng lần "
                     f"lượt theo: {'; '.join(breakers)}; bằng nhau ở tất cả thì đồng hạng.")
    else:
        notes.append(f"Các đơn vị có Chỉ số CCHC bằng nhau (làm tròn {places} chữ số thập phân) được xếp đồng hạng.")
    notes.append("Tiêu chí không áp dụng đối với đơn vị (ghi \"—\", kể cả tiêu chí tính từ số liệu khi đơn vị không "
                 "có hồ sơ để đánh giá) không tính vào điểm tối đa của đơn vị.")
    return notes


def ranking_table(ranking: Mapping[str, Any], number: str) -> Table:
    rows = []
    bonus = any(a.get("bonus") for a in ranking.get("areas", ()))
    for position, row in enumerate(ranking["table"], start=1):
        rows.append(Row((
            position,
            _unit_label(row),
            decimal_or_none(row["self_total"]),
            decimal_or_none(row["appraised_total"]),
            decimal_or_none(row["survey_total"]),
            *((decimal_or_none(row.get("bonus_total")),) if bonus else ()),
            decimal_or_none(row["total_points"]),
            decimal_or_none(row["index"]),
            row["rank"] if row["rank"] is not None else None,
            row["classification"],
        )))
    columns = list(RANKING_COLUMNS)
    if bonus:
        columns.insert(5, Column("Điểm thưởng", "decimal", 13))
    return Table(name=f"Xếp hạng {number}", caption=f"Bảng {number}.1. Kết quả Chỉ số CCHC và xếp hạng",
                 columns=_with_places(columns, _places(ranking)), rows=tuple(rows),
                 notes=tuple(ranking_notes(ranking)), font_pt=10)


def area_table(ranking: Mapping[str, Any], number: str) -> Table:
    areas = [a for a in ranking["areas"] if not a.get("bonus")]  # a bonus area has no component index
    columns = [Column("STT", "int", 10), Column("Đơn vị", "text", 60)]
    columns += [Column(str(a["area_id"]), "decimal", 15) for a in areas]
    columns.append(Column("Chỉ số CCHC (%)", "decimal", 18))
    rows = []
    for position, row in enumerate(ranking["table"], start=1):
        by_area = row.get("areas") or {}
        rows.append(Row((position, _unit_label(row),
                         *(decimal_or_none(by_area.get(str(a["area_id"]))) for a in areas),
                         decimal_or_none(row["index"]))))
    notes = ("; ".join(f"Lĩnh vực {a['area_id']}: {a['title']} (tối đa "
                       f"{vi_decimal(a['max_points']).removesuffix(',00')} điểm)" for a in areas) + ".",)
    return Table(name=f"Lĩnh vực {number}", caption=f"Bảng {number}.2. Chỉ số thành phần theo lĩnh vực (%)",
                 columns=_with_places(columns, _places(ranking)), rows=tuple(rows), font_pt=10,
                 groups=(ColumnGroup("Chỉ số thành phần theo lĩnh vực (%)", 2, len(areas)),), notes=notes)


def ranking_charts(ranking: Mapping[str, Any], number: str, per_chart: int) -> list[BarChart]:
    table = ranking["table"]
    charts: list[BarChart] = []
    per_chart = max(1, per_chart)
    chunks = [table[i:i + per_chart] for i in range(0, len(table), per_chart)]
    for part, chunk in enumerate(chunks, start=1):
        start = (part - 1) * per_chart + 1
        suffix = f" (từ {start} đến {start + len(chunk) - 1})" if len(chunks) > 1 else ""
        charts.append(BarChart(
            name=f"xep-hang-{number}-{part}",
            title=f"Biểu đồ {number}.{part}. Chỉ số CCHC (%) theo thứ tự xếp hạng{suffix}",
            categories=tuple(r["unit_name"] for r in chunk),
            series=(Series("Chỉ số CCHC (%)", tuple(decimal_or_none(r["index"]) for r in chunk), BAR_COLOR),),
        ))
    areas = [a for a in ranking["areas"] if not a.get("bonus")]
    places = _places(ranking)
    averages, highest, lowest = [], [], []
    for area in areas:
        values = [v for r in table if (v := decimal_or_none((r.get("areas") or {}).get(str(area["area_id"]))))
                  is not None]
        averages.append(round_half_up(sum(values, Decimal(0)) / len(values), places) if values else None)
        highest.append(max(values) if values else None)
        lowest.append(min(values) if values else None)
    charts.append(BarChart(
        name=f"linh-vuc-{number}",
        title=f"Biểu đồ {number}.{len(chunks) + 1}. So sánh chỉ số thành phần theo lĩnh vực (%)",
        categories=tuple(f"Lĩnh vực {a['area_id']}" for a in areas),
        series=(Series("Trung bình", tuple(averages), AREA_COLORS[0]),
                Series("Cao nhất", tuple(highest), AREA_COLORS[1]),
                Series("Thấp nhất", tuple(lowest), AREA_COLORS[2])),
        horizontal=False,
    ))
    return charts


def summary(ranking: Mapping[str, Any]) -> str:
    table = ranking["table"]
    indexes = [(r, Decimal(r["index"])) for r in table]
    places = _places(ranking)
    average = round_half_up(sum((i for _, i in indexes), Decimal(0)) / len(indexes), places)
    top = max(indexes, key=lambda x: x[1])
    bottom = min(indexes, key=lambda x: x[1])
    classes: dict[str, int] = {}
    for row in table:
        classes[row["classification"]] = classes.get(row["classification"], 0) + 1
    by_class = "; ".join(f"{name}: {vi_int(count)} đơn vị" for name, count in classes.items())
    return (f"Tổng số {vi_int(len(table))} đơn vị được đánh giá. Chỉ số CCHC trung bình đạt "
            f"{vi_decimal(average, places)}%; cao nhất là {top[0]['unit_name']} ({vi_decimal(top[1], places)}%), thấp "
            f"nhất là {bottom[0]['unit_name']} ({vi_decimal(bottom[1], places)}%). Xếp loại: {by_class}.")


def build_ranking_document(rankings: Sequence[Mapping[str, Any]], settings: ReportSettings, province: str,
                           today: dt.date) -> Document:
    """The decision with one appendix per ranking (criteria set); rankings of one year, each with units."""
    if not rankings:
        raise NotFound("set_id: no criteria set given")
    for ranking in rankings:
        if not ranking.get("table"):
            raise NotFound(f"set_id: the ranking of {ranking['set_id']!r} has no unit results yet")
    years = sorted({int(r["year"]) for r in rankings})
    if len(years) > 1:
        raise NotFound(f"set_id: the criteria sets are of different years ({', '.join(map(str, years))})")
    year = years[0]
    cfg = settings.ranking
    issuer = f"Ủy ban nhân dân tỉnh {province}"
    whom = _join_vi([_phrases(r["unit_kind"])[0] for r in rankings])
    counted = _join_vi([f"{vi_int(len(r['table']))} {_phrases(r['unit_kind'])[3]}" for r in rankings])
    responsible = ", ".join(_phrases(r["unit_kind"])[2] for r in rankings)
    appendices = [roman(i) for i in range(1, len(rankings) + 1)]

    decision: list[Any] = [
        Heading("Quyết định", 1),
        Heading(f"Về việc công bố Chỉ số cải cách hành chính năm {year} của {whom} tỉnh {province}", 2),
        Heading(f"Ủy ban nhân dân tỉnh {province}".upper(), 2),
        Paragraph("Căn cứ Luật Tổ chức chính quyền địa phương;", italic=True),
        Paragraph("Căn cứ Nghị quyết số 76/NQ-CP ngày 15 tháng 7 năm 2021 của Chính phủ ban hành Chương trình tổng "
                  "thể cải cách hành chính nhà nước giai đoạn 2021 - 2030;", italic=True),
    ]
    for ranking in rankings:
        decision.append(Paragraph(f"Căn cứ {ranking['title']} (mã {ranking['set_id']}, phiên bản "
                                  f"{ranking.get('set_version', 1)});", italic=True))
    decision += [
        Paragraph("Theo đề nghị của Giám đốc Sở Nội vụ.", italic=True),
        Heading("QUYẾT ĐỊNH:", 2),
        Paragraph(f"Công bố Chỉ số cải cách hành chính năm {year} của {counted} tỉnh {province} (chi tiết tại "
                  f"Phụ lục {', '.join(appendices)} kèm theo).", bold_lead="Điều 1. "),
        Paragraph("Căn cứ kết quả Chỉ số cải cách hành chính được công bố, các cơ quan, đơn vị quán triệt, phân tích, "
                  "đánh giá những tồn tại, hạn chế và đề ra giải pháp khắc phục, nâng cao hiệu quả công tác cải cách "
                  "hành chính trong năm tiếp theo.", bold_lead="Điều 2. "),
        Paragraph(f"Quyết định này có hiệu lực kể từ ngày ký. Chánh Văn phòng Ủy ban nhân dân tỉnh, Giám đốc Sở Nội "
                  f"vụ, {responsible} chịu trách nhiệm thi hành Quyết định này.", bold_lead="Điều 3. "),
        Signatures(
            right=Signer(cfg["signer_capacity"], cfg["signer_title"], cfg.get("signer_name") or ""),
            recipients=("Như Điều 3;", "Bộ Nội vụ (để báo cáo);", "Thường trực Tỉnh ủy, HĐND tỉnh (để báo cáo);",
                        "Chủ tịch, các Phó Chủ tịch UBND tỉnh;", "Lưu: VT, SNV."),
        ),
    ]
    sections = [Section(tuple(decision))]
    number = str(cfg["number"])
    for numeral, ranking in zip(appendices, rankings, strict=True):
        heading = _phrases(ranking["unit_kind"])[1]
        intro: list[Any] = [
            Heading(f"Phụ lục {numeral}", 1),
            Heading(f"Chỉ số cải cách hành chính năm {year} — {heading}", 2),
            Paragraph(f"(Kèm theo Quyết định số {number} ngày {today:%d/%m/%Y} của Ủy ban nhân dân tỉnh {province})",
                      italic=True, centered=True, indent=False),
            Paragraph(summary(ranking)),
            ranking_table(ranking, numeral),
            Paragraph(f"Số liệu: bảng xếp hạng phiên bản {ranking['version']} của bộ tiêu chí {ranking['set_id']}, "
                      f"tính lúc {_local(ranking.get('computed_at'))}.", italic=True, indent=False),
        ]
        sections.append(Section(tuple(intro)))
        sections.append(Section((area_table(ranking, numeral),), landscape=True))
        sections.append(Section(tuple(ranking_charts(ranking, numeral, int(cfg["units_per_chart"])))))
    kinds = ", ".join(r["unit_kind"] for r in rankings)
    return Document(
        kind="ranking",
        title=f"Công bố Chỉ số cải cách hành chính năm {year} của {whom} tỉnh {province}",
        filename=ranking_filename([r["set_id"] for r in rankings]),
        header=Header(issuer=header_name(issuer), place=province, date=today, number=number),
        sections=tuple(sections),
        template="ranking.html",
        subject=f"Chỉ số CCHC {year}",
        keywords=("Chỉ số CCHC", str(year), kinds),
    )

"""The commitment document (văn bản cam kết): a unit's head commits to the province's chairman to the year's
administrative-reform targets; at the year's end the same targets are set against the actual results.

Targets (chỉ tiêu), all percentages where higher is better:

==================== ==============================================================================
``par_index``         the unit's PAR Index (Chỉ số CCHC) in the criteria set of its kind for the year
``on_time_rate``      dossiers finished early or on time / finished (hồ sơ giải quyết đúng hạn)
``progress_766_rate`` Decision 766 timeliness (tiến độ giải quyết theo Quyết định 766/QĐ-TTg)
``online_share``      dossiers received online / received (hồ sơ trực tuyến)
``plan_completion``   items of the yearly CCHC plan done / all items (hoàn thành kế hoạch CCHC)
``apologies_on_time`` late dossiers whose applicant got a written apology (văn bản xin lỗi) — an input
                      until the notifications service keeps these figures; None prints "chưa có số liệu"
==================== ==============================================================================

**Proposal.** The committed target is the higher of the province's goal (configuration) and last year's
result plus the configured improvement, capped at 100: a unit never commits to less than it already
achieved nor to less than the province asks. Without last year's result the goal is proposed; without
either, no target (dash). Targets are kept when first proposed, so the year-end document compares the actual
results with what was signed, not with a recomputed proposal.

**No data.** A rate whose denominator is zero (no dossier finished, no dossier received, an empty plan) is
"no data", never 0%: a unit without dossiers did not fail its target.

**Met.** actual ≥ target → Đạt (met); below → Không đạt (not met); no actual figure → chưa có số liệu.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.reports.bodies import header_name, province_body, province_short, unit_body_name
from services.reports.layout import (
    Column,
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
from services.reports.numbers import NO_DATA, decimal_or_none, vi_int
from services.reports.settings import TARGET_IDS, ReportSettings

__all__ = ["TARGET_LABELS", "Outcome", "Target", "build_commitment_document", "evaluate", "figures",
           "propose_targets", "targets_from_json", "targets_to_json"]

TARGET_LABELS: dict[str, str] = {
    "par_index": "Chỉ số cải cách hành chính (Chỉ số CCHC) (%)",
    "on_time_rate": "Tỷ lệ hồ sơ thủ tục hành chính giải quyết đúng hạn (%)",
    "progress_766_rate": "Tỷ lệ tiến độ giải quyết hồ sơ theo Quyết định số 766/QĐ-TTg (%)",
    "online_share": "Tỷ lệ hồ sơ thủ tục hành chính tiếp nhận trực tuyến (%)",
    "plan_completion": "Tỷ lệ hoàn thành nhiệm vụ của kế hoạch cải cách hành chính năm (%)",
    "apologies_on_time": "Tỷ lệ hồ sơ trễ hạn được gửi văn bản xin lỗi người dân, doanh nghiệp (%)",
}
HUNDRED = Decimal(100)
MET, NOT_MET = "Đạt", "Không đạt"


@dataclass(frozen=True)
class Target:
    id: str
    last_year: Decimal | None  # kết quả năm trước
    goal: Decimal | None  # mục tiêu của tỉnh
    target: Decimal | None  # chỉ tiêu cam kết

    @property
    def label(self) -> str:
        return TARGET_LABELS[self.id]


@dataclass(frozen=True)
class Outcome:
    target: Target
    actual: Decimal | None

    @property
    def met(self) -> bool | None:
        if self.actual is None or self.target.target is None:
            return None
        return self.actual >= self.target.target

    @property
    def verdict(self) -> str:
        if self.actual is None:
            return NO_DATA.capitalize()
        if self.target.target is None:
            return "–"
        return MET if self.met else NOT_MET


def figures(stats: Mapping[str, Any] | None, plan: Mapping[str, Any] | None, index: Any,
            apologies: Any) -> dict[str, Decimal | None]:
    """A year's figures for the targets, from dossiers' yearly period_stats, scoring's plan and index."""
    out: dict[str, Decimal | None] = dict.fromkeys(TARGET_IDS)
    out["par_index"] = decimal_or_none(index)
    if stats:
        if int(stats.get("finished") or 0) > 0:
            out["on_time_rate"] = decimal_or_none(stats["on_time_rate"])
        if int(stats.get("progress_766_total") or 0) > 0:
            out["progress_766_rate"] = decimal_or_none(stats["progress_766_rate"])
        if int(stats.get("received_new") or 0) > 0:
            out["online_share"] = decimal_or_none(stats["online_share"])
    if plan and int(plan.get("total") or 0) > 0:
        out["plan_completion"] = decimal_or_none(plan["done_pct"])
    out["apologies_on_time"] = decimal_or_none(apologies)
    for key, value in out.items():
        if value is not None and not Decimal(0) <= value <= HUNDRED:
            raise ValueError(f"{key}: {value} is not a percentage between 0 and 100")
    return out


def propose_targets(last_year: Mapping[str, Decimal | None], goals: Mapping[str, Decimal | None],
                    improve: Decimal = Decimal(0)) -> list[Target]:
    targets = []
    for key in TARGET_IDS:
        last, goal = last_year.get(key), goals.get(key)
        candidates = [v for v in (goal, None if last is None else last + improve) if v is not None]
        proposed = min(HUNDRED, max(candidates)) if candidates else None
        targets.append(Target(key, last, goal, proposed))
    return targets


def evaluate(targets: Sequence[Target], actual: Mapping[str, Decimal | None]) -> list[Outcome]:
    return [Outcome(t, actual.get(t.id)) for t in targets]


def targets_to_json(targets: Sequence[Target]) -> list[dict[str, str | None]]:
    def s(v: Decimal | None) -> str | None:
        return None if v is None else str(v)

    return [{"id": t.id, "last_year": s(t.last_year), "goal": s(t.goal), "target": s(t.target)} for t in targets]


def targets_from_json(data: Sequence[Mapping[str, Any]]) -> list[Target]:
    return [Target(d["id"], decimal_or_none(d["last_year"]), decimal_or_none(d["goal"]),
                   decimal_or_none(d["target"])) for d in data]


def _or_no_data(value: Decimal | None) -> Decimal | str:
    return NO_DATA.capitalize() if value is None else value


def commitment_filename(unit_code: str, year: int, with_results: bool) -> str:
    return f"{'ket-qua-' if with_results else ''}cam-ket-cchc-{unit_code}-{year}"


def build_commitment_document(unit: Mapping[str, Any], year: int, targets: Sequence[Target],
                              outcomes: Sequence[Outcome] | None, settings: ReportSettings, province: str,
                              today: dt.date, as_of: str | None = None) -> Document:
    """The commitment; with ``outcomes`` the year-end version, actual results and verdicts beside targets."""
    cfg = settings.commitment
    body = unit_body_name(unit, province)
    head_title = cfg["head_titles"].get(unit["kind"], "Thủ trưởng cơ quan")
    province_committee = province_body(province)
    columns = [Column("STT", "int", 10), Column("Chỉ tiêu", "text", 66),
               Column(f"Kết quả năm {year - 1}", "decimal", 26), Column("Mục tiêu của tỉnh", "decimal", 20),
               Column(f"Cam kết năm {year}", "decimal", 22)]
    if outcomes is not None:
        columns = [Column("STT", "int", 8), Column("Chỉ tiêu", "text", 52),
                   Column(f"Kết quả năm {year - 1}", "decimal", 18), Column("Mục tiêu của tỉnh", "decimal", 17),
                   Column(f"Cam kết năm {year}", "decimal", 18), Column(f"Kết quả năm {year}", "decimal", 18),
                   Column("Đánh giá", "center", 18)]
    rows = []
    for position, target in enumerate(targets, start=1):
        values: list[Any] = [position, target.label, _or_no_data(target.last_year), target.goal, target.target]
        if outcomes is not None:
            outcome = outcomes[position - 1]
            values += [_or_no_data(outcome.actual), outcome.verdict]
        rows.append(Row(tuple(values)))
    table = Table(name="Chỉ tiêu cam kết", caption=f"Chỉ tiêu cải cách hành chính năm {year}", columns=tuple(columns),
                  rows=tuple(rows), font_pt=11,
                  notes=("Chỉ tiêu cam kết không thấp hơn mục tiêu của tỉnh và không thấp hơn kết quả đã đạt năm "
                         f"{year - 1}; tỷ lệ tính bằng phần trăm (%), làm tròn đến hai chữ số thập phân.",))
    blocks: list[Any] = [
        Heading("Bản cam kết", 1),
        Heading(f"Thực hiện nhiệm vụ cải cách hành chính năm {year}", 2),
        Paragraph(f"Căn cứ Kế hoạch cải cách hành chính năm {year} của Ủy ban nhân dân tỉnh {province}; căn cứ kết "
                  f"quả Chỉ số cải cách hành chính và kết quả giải quyết thủ tục hành chính năm {year - 1},",
                  italic=True),
        Paragraph("Chúng tôi gồm:"),
        Paragraph(f"{province_committee}, đại diện là {cfg['province_signer_title']}.",
                  bold_lead="Bên giao chỉ tiêu (Bên A): "),
        Paragraph(f"{body}, đại diện là {head_title}.", bold_lead="Bên cam kết (Bên B): "),
        Paragraph(f"Bên B cam kết thực hiện các chỉ tiêu cải cách hành chính năm {year} như sau:"),
        table,
        Paragraph(f"Bên B chịu trách nhiệm trước Chủ tịch Ủy ban nhân dân tỉnh về kết quả thực hiện các chỉ tiêu đã "
                  f"cam kết; kết quả thực hiện là căn cứ đánh giá, xếp loại mức độ hoàn thành nhiệm vụ năm {year} "
                  "của tập thể và người đứng đầu đơn vị."),
    ]
    if outcomes is not None:
        with_data = [o for o in outcomes if o.met is not None]
        met = sum(1 for o in with_data if o.met)
        missing = len(outcomes) - len(with_data)
        text = f"Kết quả thực hiện: đạt {vi_int(met)}/{vi_int(len(with_data))} chỉ tiêu có số liệu"
        text += f"; {vi_int(missing)} chỉ tiêu chưa có số liệu." if missing else "."
        if as_of:
            text += f" Số liệu giải quyết hồ sơ tính đến ngày {dt.date.fromisoformat(as_of):%d/%m/%Y}."
        blocks.append(Paragraph(text, bold_lead="Đánh giá: "))
    blocks.append(Signatures(left=Signer("Đại diện Bên A", cfg["province_signer_title"]),
                             right=Signer("Đại diện Bên B", head_title)))
    title = f"Cam kết thực hiện nhiệm vụ cải cách hành chính năm {year} — {unit['name']}"
    if outcomes is not None:
        title += " (kết quả thực hiện)"
    return Document(
        kind="commitment_result" if outcomes is not None else "commitment",
        title=title,
        filename=commitment_filename(unit["code"], year, outcomes is not None),
        header=Header(issuer=header_name(body), place=province, date=today,
                      issuer_parent=province_short(province) if unit["kind"] == "department" else None),
        sections=(Section(tuple(blocks)),),
        template="commitment.html",
        subject=f"Cam kết CCHC {year}",
        keywords=("cam kết", str(year), unit["code"]),
    )

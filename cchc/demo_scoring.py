"""The PAR Index part of ``cchc demo``: publish the year's example criteria sets, let every unit submit a
plausible self-assessment, appraise some, import a survey, and print the rankings.

The packaged 2026 sets carry the province's real window (05–15/11/2026); the demo publishes copies whose
window is open now, and says so, because a closed window refuses every submission — as it should.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import tempfile
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from services.scoring.criteria import DATA_DIR, CriteriaSet, load_criteria_set

DEMO_SETS = ("department-2026.yaml", "commune-2026.yaml")


def demo_copy(name: str, now: dt.datetime, folder: Path, *, season: bool = False) -> tuple[Path, CriteriaSet]:
    """A packaged example set with its window open around ``now``; ``season``: run on the web's season."""
    cs = load_criteria_set(DATA_DIR / name)
    data = json.loads(cs.to_json())
    if season:
        data["season"] = True
    data["window"] = {"opens": (now - dt.timedelta(days=1)).isoformat(),
                      "closes": (now + dt.timedelta(days=10)).isoformat()}
    path = folder / name.replace(".yaml", ".demo.yaml")
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path, load_criteria_set(path)


def _on_step(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def plausible_scores(cs: CriteriaSet, unit_code: str, rng: random.Random) -> list[dict[str, Any]]:
    """A unit's self-assessment: a unit-wide diligence level, leaf by leaf, on each leaf's step."""
    diligence = Decimal(str(round(rng.uniform(0.62, 1.0), 2)))
    scores = []
    for leaf in cs.leaves():
        if leaf.method.kind != "self" or leaf.is_deduction:
            continue
        step = leaf.method.step or Decimal("0.25")
        share = min(Decimal(1), diligence + Decimal(str(round(rng.uniform(-0.15, 0.2), 2))))
        points = max(Decimal(0), _on_step(leaf.max_points * share, step))
        scores.append({"leaf_id": leaf.id, "points": str(points),
                       "evidence": [f"{unit_code}/{leaf.id}.pdf"] if points > 0 else []})
    return scores


def run_scoring(rpc: Any, now: dt.datetime, console: Console, seed: int = 2026) -> list[str]:
    rng = random.Random(seed)
    units = rpc.scoring.sync_units()
    console.print(f"\n[bold]Chỉ số CCHC[/]: {units} đơn vị đồng bộ từ dịch vụ hồ sơ; "
                  "khung thời gian tự đánh giá của bộ tiêu chí mẫu được mở lại cho bản chạy thử")
    set_ids = []
    with tempfile.TemporaryDirectory() as folder:
        for name in DEMO_SETS:
            path, cs = demo_copy(name, now, Path(folder))
            rpc.scoring.publish_criteria_set(str(path))
            set_ids.append(cs.id)
            codes = [u["code"] for u in rpc.dossiers.units() if u["kind"] == cs.unit_kind and not u["valid_to"]]
            for code in codes:
                rpc.scoring.submit_scores(cs.id, code, plausible_scores(cs, code, rng), f"demo:{code}", True)
            appraised = 0
            for code in rng.sample(codes, k=max(1, len(codes) // 5)):
                sheet = [row for row in rpc.scoring.score_sheet(cs.id, code)
                         if row["self_points"] and Decimal(row["self_points"]) > 0]
                row = rng.choice(sheet)
                lowered = max(Decimal(0), Decimal(row["self_points"]) - Decimal("0.25"))
                rpc.scoring.appraise(cs.id, code, row["leaf_id"], str(lowered),
                                     "Tài liệu kiểm chứng chưa đầy đủ", "hoi_dong_tham_dinh")
                appraised += 1
            survey = [leaf for leaf in cs.leaves() if leaf.method.kind == "survey"]
            lines = ["unit_code,leaf_id,points"] + [
                f"{code},{leaf.id},{_on_step(leaf.max_points * Decimal(str(rng.uniform(0.6, 0.95))), Decimal('0.01'))}"
                for code in codes for leaf in survey]
            rpc.scoring.import_survey(cs.id, "\n".join(lines), "so_noi_vu")
            rpc.scoring.recalculate(cs.id)
            console.print(f"  {cs.title}: {len(codes)} đơn vị tự đánh giá, "
                          f"{appraised} đơn vị có điểm thẩm định điều chỉnh")
            print_ranking(console, rpc.scoring.ranking(cs.id))
    return set_ids


def print_ranking(console: Console, ranking: dict[str, Any], limit: int = 25) -> None:
    table = Table(title=f"{ranking['title']} — bảng xếp hạng (phiên bản {ranking['version']})", header_style="bold")
    for heading in ("Hạng", "Đơn vị", "Tự đánh giá", "Thẩm định", "Điều tra XHH", "Tổng điểm", "Chỉ số %", "Xếp loại"):
        table.add_column(heading, justify="left" if heading == "Đơn vị" else "right")
    rows = ranking["table"]
    for row in rows[:limit]:
        table.add_row(str(row["rank"] or "—"), row["unit_name"], row["self_total"], row["appraised_total"],
                      row["survey_total"], row["total_points"], row["index"], row["classification"])
    console.print(table)
    if len(rows) > limit:
        console.print(f"  … và {len(rows) - limit} đơn vị khác")

"""Figures shaped like the scoring and dossiers services' answers, for the reports service's layout tests."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

AREAS = [
    "Công tác chỉ đạo, điều hành cải cách hành chính",
    "Xây dựng và tổ chức thực hiện văn bản quy phạm pháp luật",
    "Cải cách thủ tục hành chính",
    "Cải cách tổ chức bộ máy hành chính",
    "Cải cách chế độ công vụ",
    "Cải cách tài chính công",
    "Xây dựng và phát triển chính quyền điện tử, chính quyền số",
    "Tác động của cải cách hành chính đến người dân, tổ chức",
    "Kết quả thực hiện các nhiệm vụ khác",  # the commune sets' ninth area
]
NAMES = ["Sở Tư pháp", "Sở Công Thương", "Sở Nội vụ", "Ban quản lý các khu công nghiệp", "Sở Y tế",
         "Phường Việt Trì", "Xã Hy Cương", "Phường Nông Trang", "Xã Đồng Lạc", "Xã Yên Lãng"]


def sample_ranking(units: int, *, seed: int = 7, set_id: str = "commune-2026", unit_kind: str = "commune",
                   year: int = 2026, area_count: int = 8) -> dict[str, Any]:
    """A ranking as scoring.ranking() returns it: ranked units by index, one excluded, a few provisional."""
    rnd = random.Random(seed)
    areas = [{"area_id": str(i), "title": t, "max_points": "10"}
             for i, t in enumerate(AREAS[:area_count], start=1)]
    table = []
    for i in range(units):
        index = Decimal(rnd.randint(6500, 9800)) / 100
        table.append({
            "unit_code": f"U{i:03d}", "unit_name": f"{NAMES[i % len(NAMES)]} {i + 1}", "rank": None,
            "excluded": units > 2 and i == 1, "classification": "", "index": f"{index:.2f}",
            "self_total": f"{index * Decimal('0.8') + 1:.2f}", "appraised_total": f"{index * Decimal('0.8'):.2f}",
            "survey_total": f"{index * Decimal('0.2'):.2f}", "total_points": f"{index:.2f}", "applicable_max": "100",
            "provisional": i % 4 == 3,
            "areas": {a["area_id"]: f"{Decimal(rnd.randint(4000, 10000)) / 100:.2f}" for a in areas},
        })
    table.sort(key=lambda r: (r["excluded"], -Decimal(r["index"]), r["unit_code"]))
    place = 0
    for row in table:
        value = Decimal(row["index"])
        if not row["excluded"]:
            place += 1
            row["rank"] = place
        row["classification"] = "Tốt" if value >= 90 else "Khá" if value >= 80 else "Trung bình"
    return {"set_id": set_id, "set_version": 1, "year": year, "unit_kind": unit_kind, "version": 5,
            "title": f"Bộ tiêu chí xác định Chỉ số cải cách hành chính năm {year}",
            "computed_at": "2026-12-20T02:00:00+00:00", "areas": areas, "table": table}


def stats_row(code: str, name: str, factor: int = 1, period: str = "2023-H1") -> dict[str, Any]:
    """A period_stats row: the district's half-year 2023 worked example of DOMAIN.md, times ``factor``."""
    n = factor
    return {
        "unit_code": code, "unit_name": name, "period": period, "period_title": "6 tháng đầu năm 2023",
        "start": "2022-12-15", "end": "2023-06-14", "as_of": "2023-06-14", "granularity": "date",
        "carried_over": 1727 * n, "received_new": 13324 * n, "total": 15051 * n, "finished_early": 9000 * n,
        "finished_on_time": 1840 * n, "finished_late": 1690 * n, "finished": 12530 * n,
        "unfinished_within": 2000 * n, "unfinished_overdue": 300 * n, "unfinished": 2300 * n,
        "withdrawn": 150 * n, "returned": 71 * n, "on_time_rate": "86.51", "on_time_766": 12840 * n,
        "progress_766_total": 14830 * n, "progress_766_rate": "86.58", "progress_766_score": "17.32",
        "received_online": 6000 * n, "online_share": "45.03",
    }

"""Time to build the ranking document for 170 units in each format (target: under 3 s each).

A synthetic ranking shaped like scoring.ranking() for a commune set (170 units, 9 areas, some provisional and
one excluded unit) goes through the same code the service runs: layout, then DOCX / PDF / XLSX rendering.
Prints the best and median wall time of a few runs per format (and the CPU time of the best run, which other
work on the machine disturbs less), the size and page count of the files, and the load average; no asserts.

    .venv/bin/python bench/reports_build.py [--units 170] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import statistics
import time
from decimal import Decimal

from pypdf import PdfReader

from services.reports.formats import FORMATS, render
from services.reports.ranking_document import build_ranking_document
from services.reports.settings import load_settings
from shared.config import load_config

AREAS = [
    "Công tác chỉ đạo, điều hành cải cách hành chính",
    "Xây dựng và tổ chức thực hiện văn bản quy phạm pháp luật",
    "Cải cách thủ tục hành chính",
    "Cải cách tổ chức bộ máy hành chính",
    "Cải cách chế độ công vụ",
    "Cải cách tài chính công",
    "Xây dựng và phát triển chính quyền điện tử, chính quyền số",
    "Tác động của cải cách hành chính đến người dân, tổ chức",
    "Kết quả thực hiện các nhiệm vụ khác",
]
NAMES = ["Phường Việt Trì", "Xã Hy Cương", "Phường Nông Trang", "Xã Đồng Lạc", "Phường Thanh Miếu", "Xã Yên Lãng",
         "Xã Sông Lô", "Phường Phong Châu", "Xã Cẩm Khê", "Xã Thượng Long"]


def sample_ranking(units: int, seed: int = 2026) -> dict:
    rnd = random.Random(seed)
    areas = [{"area_id": str(i), "title": t, "max_points": "10"} for i, t in enumerate(AREAS, start=1)]
    table = []
    for i in range(units):
        index = Decimal(rnd.randint(6500, 9800)) / 100
        table.append({
            "unit_code": f"{10000 + i:05d}", "unit_name": f"{NAMES[i % len(NAMES)]} {i // len(NAMES) + 1}",
            "rank": None, "excluded": i == units - 1, "classification": "", "index": str(index),
            "self_total": f"{index * Decimal('0.7') + 2:.2f}", "appraised_total": f"{index * Decimal('0.7'):.2f}",
            "survey_total": f"{index * Decimal('0.3'):.2f}", "total_points": f"{index:.2f}",
            "applicable_max": "100", "provisional": i % 23 == 0,
            "areas": {a["area_id"]: str(Decimal(rnd.randint(4000, 10000)) / 100) for a in areas},
        })
    table.sort(key=lambda r: (r["excluded"], -Decimal(r["index"]), r["unit_code"]))
    for place, row in enumerate(table, start=1):
        value = Decimal(row["index"])
        row["rank"] = None if row["excluded"] else place
        row["classification"] = "Tốt" if value >= 90 else "Khá" if value >= 80 else "Trung bình"
    return {"set_id": "commune-2026", "set_version": 1, "year": 2026, "unit_kind": "commune", "version": 12,
            "title": "Bộ tiêu chí xác định Chỉ số cải cách hành chính các xã, phường năm 2026",
            "computed_at": "2026-12-20T02:00:00+00:00", "areas": areas, "table": table}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=170)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    settings = load_settings(load_config())
    ranking = sample_ranking(args.units)
    started = time.perf_counter()
    document = build_ranking_document([ranking], settings, "Phú Thọ", dt.date(2026, 12, 21))
    print(f"ranking document for {args.units} units: layout {time.perf_counter() - started:.3f} s "
          f"(load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)")
    for fmt in FORMATS:
        render(document, fmt)  # warm-up: imports, fonts, templates
        times = []
        for _ in range(args.runs):
            started, cpu = time.perf_counter(), time.process_time()
            data = render(document, fmt)
            times.append((time.perf_counter() - started, time.process_time() - cpu))
        best = min(times)
        pages = f", {len(PdfReader(io.BytesIO(data)).pages)} pages" if fmt == "pdf" else ""
        print(f"  {fmt:4s}  best {best[0]:.2f} s (cpu {best[1]:.2f} s)  median "
              f"{statistics.median(t[0] for t in times):.2f} s  ({len(data) / 1024:.0f} KiB{pages})  target < 3 s")


if __name__ == "__main__":
    main()

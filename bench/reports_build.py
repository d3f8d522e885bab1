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
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pypdf import PdfReader  # noqa: E402

from services.reports.formats import FORMATS, render  # noqa: E402
from services.reports.ranking_document import build_ranking_document  # noqa: E402
from services.reports.settings import load_settings  # noqa: E402
from shared.config import load_config  # noqa: E402
from tests.reports_samples import sample_ranking  # noqa: E402 - the same synthetic ranking the layout tests use


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=170)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    settings = load_settings(load_config())
    ranking = sample_ranking(args.units, seed=2026, area_count=9)
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

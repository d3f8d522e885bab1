"""``cchc demo``'s documents: the ranking document, every evaluated unit's commitment and the province's
one-door statistics report, built by the running reports service (over RPC) and gathered in one folder.

Called from cchc/demo.py with its ClusterRpcProxy once the criteria sets are published and scored::

    paths = write_demo_documents(rpc, ["department-2026", "commune-2026"], 2026, "2026-H2", out_dir)

Files the service keeps elsewhere are copied into ``out_dir`` (ranking and statistics at the top, commitments
under ``cam-ket/``); files already inside it (reports.output_dir pointing there) are listed where they are.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["write_demo_documents"]


def _valid_in(unit: Mapping[str, Any], year: int) -> bool:
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    valid_from = dt.date.fromisoformat(unit["valid_from"]) if unit.get("valid_from") else None
    valid_to = dt.date.fromisoformat(unit["valid_to"]) if unit.get("valid_to") else None
    return (valid_from is None or valid_from <= end) and (valid_to is None or valid_to >= start)


def _gather(result: Mapping[str, Any], folder: Path, root: Path) -> list[Path]:
    paths = []
    for file in result["files"]:
        source = Path(file["path"])
        if source.resolve().is_relative_to(root.resolve()):  # the service keeps its files in out_dir already
            paths.append(source)
            continue
        if not source.is_file():
            raise FileNotFoundError(f"{source}: the reports service keeps its files elsewhere (another host?); "
                                    "download them with the url and token in its answer")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / source.name
        shutil.copyfile(source, target)
        paths.append(target)
    return paths


def write_demo_documents(rpc: Any, set_ids: Sequence[str], year: int, period: str, out_dir: Path,
                         formats: Iterable[str] | None = None) -> list[Path]:
    """Build and gather the documents; returns their paths (ranking, commitments, statistics)."""
    out_dir = Path(out_dir)
    wanted = list(formats) if formats is not None else None
    paths = _gather(rpc.reports.build_ranking(list(set_ids), wanted), out_dir, out_dir)
    kinds = {rpc.scoring.ranking(set_id)["unit_kind"] for set_id in set_ids}
    units = rpc.dossiers.units()
    for unit in sorted((u for u in units if u["kind"] in kinds and _valid_in(u, year)), key=lambda u: u["code"]):
        result = rpc.reports.build_commitment(unit["code"], year, formats=wanted)
        paths += _gather(result, out_dir / "cam-ket", out_dir)
    province = next(u for u in units if u["kind"] == "province")
    paths += _gather(rpc.reports.build_statistics(province["code"], period, wanted), out_dir, out_dir)
    return paths

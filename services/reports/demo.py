"""``cchc demo``'s documents: the ranking document, every evaluated unit's commitment and the province's
one-door statistics report, built by the running reports service and downloaded over RPC into one folder.

Called from cchc/demo.py with its ClusterRpcProxy once the criteria sets are published and scored::

    paths = write_demo_documents(rpc, ["department-2026", "commune-2026"], 2026, "2026-H2", out_dir)

The service keeps documents in its database; each file is fetched with ``reports.document_file`` (checked
against its sha256) and written to ``out_dir`` (ranking and statistics at the top, commitments under
``cam-ket/``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["write_demo_documents"]


def _valid_in(unit: Mapping[str, Any], year: int) -> bool:
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    valid_from = dt.date.fromisoformat(unit["valid_from"]) if unit.get("valid_from") else None
    valid_to = dt.date.fromisoformat(unit["valid_to"]) if unit.get("valid_to") else None
    return (valid_from is None or valid_from <= end) and (valid_to is None or valid_to >= start)


def _download(rpc: Any, result: Mapping[str, Any], folder: Path) -> list[Path]:
    paths = []
    for file in result["files"]:
        answer = rpc.reports.document_file(file["id"])
        data = base64.b64decode(answer["content_b64"])
        if hashlib.sha256(data).hexdigest() != answer["sha256"]:
            raise ValueError(f"{answer['filename']}: the content does not match its sha256")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / Path(answer["filename"]).name
        target.write_bytes(data)
        paths.append(target)
    return paths


def write_demo_documents(rpc: Any, set_ids: Sequence[str], year: int, period: str, out_dir: Path,
                         formats: Iterable[str] | None = None) -> list[Path]:
    """Build and download the documents; returns their paths (ranking, commitments, statistics)."""
    out_dir = Path(out_dir)
    wanted = list(formats) if formats is not None else None
    paths = _download(rpc, rpc.reports.build_ranking(list(set_ids), wanted), out_dir)
    kinds = {rpc.scoring.ranking(set_id)["unit_kind"] for set_id in set_ids}
    units = rpc.dossiers.units()
    for unit in sorted((u for u in units if u["kind"] in kinds and _valid_in(u, year)), key=lambda u: u["code"]):
        result = rpc.reports.build_commitment(unit["code"], year, formats=wanted)
        paths += _download(rpc, result, out_dir / "cam-ket")
    province = next(u for u in units if u["kind"] == "province")
    paths += _download(rpc, rpc.reports.build_statistics(province["code"], period, wanted), out_dir)
    return paths

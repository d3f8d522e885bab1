"""The reports service's configuration (the ``reports:`` section), with the defaults it has in code.

Every key can be set in the YAML file; keys left out fall back to :data:`DEFAULTS` (and, once the section is
in shared/config.yaml, to the packaged defaults there). The province's goals for the commitment targets are
percentages; ``goals_by_kind`` overrides them for one kind of unit (communes often have a lower online goal).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from shared.config import deep_merge, section

DEFAULTS: dict[str, Any] = {
    "output_dir": "var/cchc/documents",
    "formats": ["docx", "pdf", "xlsx"],
    "build_on_ranking_updated": True,
    "ranking_build_interval_seconds": 5,
    "province_name": "",
    "ranking": {
        "number": "      /QĐ-UBND",
        "signer_capacity": "TM. Ủy ban nhân dân",
        "signer_title": "Chủ tịch",
        "signer_name": "",
        "units_per_chart": 45,
    },
    "commitment": {
        "goals": {
            "par_index": "80",
            "on_time_rate": "98",
            "progress_766_rate": "90",
            "online_share": "50",
            "plan_completion": "100",
            "apologies_on_time": "100",
        },
        "goals_by_kind": {},
        "improve_over_last_year": "0",
        "province_signer_title": "Chủ tịch Ủy ban nhân dân tỉnh",
        "head_titles": {"department": "Thủ trưởng cơ quan", "commune": "Chủ tịch Ủy ban nhân dân",
                        "district": "Chủ tịch Ủy ban nhân dân"},
    },
    "statistics": {
        "number": "      /BC-UBND",
        "signer_title": "Thủ trưởng đơn vị",
        "preparer_title": "Người lập biểu",
    },
}

TARGET_IDS = ("par_index", "on_time_rate", "progress_766_rate", "online_share", "plan_completion",
              "apologies_on_time")


@dataclass(frozen=True)
class ReportSettings:
    output_dir: Path
    formats: tuple[str, ...]
    build_on_ranking_updated: bool
    ranking_build_interval_seconds: float
    province_name: str
    ranking: Mapping[str, Any]
    commitment: Mapping[str, Any]
    statistics: Mapping[str, Any]

    def goals_for(self, unit_kind: str) -> dict[str, Decimal | None]:
        """The province's goal per target (%) for a kind of unit; an empty value means no goal."""
        merged = {**self.commitment["goals"], **(self.commitment["goals_by_kind"].get(unit_kind) or {})}
        return {key: (None if merged.get(key) in (None, "") else Decimal(str(merged[key]))) for key in TARGET_IDS}

    @property
    def improve_over_last_year(self) -> Decimal:
        return Decimal(str(self.commitment["improve_over_last_year"]))


def load_settings(config: Mapping[str, Any]) -> ReportSettings:
    raw = deep_merge(DEFAULTS, section(config, "reports"))
    formats = tuple(raw["formats"])
    unknown = sorted(set(formats) - {"docx", "pdf", "xlsx"})
    if unknown:
        raise ValueError(f"reports.formats: unknown format(s) {', '.join(unknown)}")
    goals = raw["commitment"]["goals"]
    for key in goals:
        if key not in TARGET_IDS:
            raise ValueError(f"reports.commitment.goals.{key}: not a target ({', '.join(TARGET_IDS)})")
    output_dir = Path(os.path.expanduser(str(raw["output_dir"]))).resolve()
    return ReportSettings(
        output_dir=output_dir,
        formats=formats,
        build_on_ranking_updated=str(raw["build_on_ranking_updated"]).lower() in {"true", "1", "yes", "on"},
        ranking_build_interval_seconds=float(raw["ranking_build_interval_seconds"]),
        province_name=str(raw["province_name"] or ""),
        ranking=raw["ranking"],
        commitment=raw["commitment"],
        statistics=raw["statistics"],
    )

"""The reports service's configuration (the ``reports:`` section), parsed and checked.

The defaults live in one place, shared/config.yaml (where every key is documented): keys a deployment leaves
out fall back to them through :func:`shared.config.section`; this module only parses and checks. The province's
goals for the commitment targets are percentages; ``goals_by_kind`` overrides them for one kind of unit
(communes often have a lower online goal).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shared.config import section

TARGET_IDS = ("par_index", "on_time_rate", "progress_766_rate", "online_share", "plan_completion",
              "apologies_on_time")


@dataclass(frozen=True)
class ReportSettings:
    formats: tuple[str, ...]
    build_on_ranking_updated: bool
    ranking_build_interval_seconds: float
    province_name: str
    max_document_bytes: int
    download_link_seconds: int
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


def _positive_int(raw: Mapping[str, Any], key: str) -> int:
    try:
        value = int(raw[key])
    except (TypeError, ValueError):
        raise ValueError(f"reports.{key}: {raw[key]!r} is not a whole number") from None
    if value <= 0:
        raise ValueError(f"reports.{key}: {value} must be above 0")
    return value


def load_settings(config: Mapping[str, Any]) -> ReportSettings:
    raw = section(config, "reports")
    formats = tuple(raw["formats"])
    unknown = sorted(set(formats) - {"docx", "pdf", "xlsx"})
    if unknown:
        raise ValueError(f"reports.formats: unknown format(s) {', '.join(unknown)}")
    goals = raw["commitment"]["goals"]
    for key in goals:
        if key not in TARGET_IDS:
            raise ValueError(f"reports.commitment.goals.{key}: not a target ({', '.join(TARGET_IDS)})")
    return ReportSettings(
        formats=formats,
        build_on_ranking_updated=str(raw["build_on_ranking_updated"]).lower() in {"true", "1", "yes", "on"},
        ranking_build_interval_seconds=float(raw["ranking_build_interval_seconds"]),
        province_name=str(raw["province_name"] or ""),
        max_document_bytes=_positive_int(raw, "max_document_bytes"),
        download_link_seconds=_positive_int(raw, "download_link_seconds"),
        ranking=raw["ranking"],
        commitment=raw["commitment"],
        statistics=raw["statistics"],
    )

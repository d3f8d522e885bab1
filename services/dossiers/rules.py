"""Build the timeliness rules (calendar, catalogue, unit tree, policies) from configuration, once."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from services.dossiers.catalogue import Catalogue
from services.dossiers.deadlines import SupplementPolicy
from services.dossiers.lifecycle import TimelinessRules
from services.dossiers.outcomes import Granularity
from services.dossiers.time_precedence import TimePrecedence
from services.dossiers.units import UnitTree
from shared.calendar import WorkingCalendar
from shared.config import section


def rules_from_config(config: Mapping[str, Any]) -> TimelinessRules:
    province = section(config, "province")
    timeliness = section(config, "timeliness")
    code = int(province["code"])
    unit_files = [Path(p) for p in province.get("unit_files") or []]  # the packaged files are always read
    procedures = timeliness.get("procedures_file")
    return TimelinessRules(
        calendar=WorkingCalendar.from_config(section(config, "calendar")),
        catalogue=Catalogue.load(Path(procedures) if procedures else None),
        units=UnitTree.for_province(code, unit_files),
        policy=SupplementPolicy(timeliness["supplement_policy"]),
        granularity=Granularity(timeliness["granularity"]),
        time_precedence=TimePrecedence(timeliness["processing_time_precedence"]),
    )

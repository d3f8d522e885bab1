"""The time every service stamps and judges with: aware UTC, so comparisons never mix naive and local times."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from shared.config import section


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def retention_cutoff(config: Mapping[str, Any]) -> tuple[dt.datetime, int]:
    """Personal data older than this instant is erased (``privacy.retention_days``); returns it and the days."""
    days = int(section(config, "privacy")["retention_days"])
    return utcnow() - dt.timedelta(days=days), days

"""Times as people in the province read them: ISO 8601 in Vietnam's time, with the +07:00 offset.

Services store and compare aware UTC (shared/clock.py); whatever a person or a partner system reads — RPC replies,
documents, command-line output — carries local time, so "2026-07-06T09:15:00+07:00" is what the one-door clerk
typed, not "2026-07-06T02:15:00+00:00". Same instant, the reading people expect.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import fields

from shared.calendar import LOCAL_TZ

__all__ = ["LocalDateTime", "local", "local_iso"]


def local(value: dt.datetime) -> dt.datetime:
    """``value`` in Vietnam's time; a naive value is refused (it could be anything)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, got naive {value!r}")
    return value.astimezone(LOCAL_TZ)


def local_iso(value: dt.datetime | str | None) -> str | None:
    """ISO 8601 with +07:00 (an ISO string with another offset is converted; None stays None)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return local(value).isoformat()


class LocalDateTime(fields.AwareDateTime):
    """A marshmallow field that dumps aware datetimes in local time (+07:00) and loads any offset."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return super()._serialize(local(value) if value is not None else None, attr, obj, **kwargs)

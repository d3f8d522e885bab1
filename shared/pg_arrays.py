"""PostgreSQL array literals (``{"a","b",NULL}``) for set-based statements over ``unnest``.

psycopg2 adapts a Python list element by element into ``ARRAY['…'::timestamptz, …]``: an adapter object and a
cast per value, then as many casts for the server to parse. A batch of 1,000 dossiers has 26,000 values, and
that adaptation was the largest single cost of the ingest (py-spy: 13% of the service's CPU). Sending each column
as one text literal in PostgreSQL's array syntax, cast once with ``CAST(:param AS timestamptz[])``, leaves
psycopg2 one string to quote and the server its plain input functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any


def _text(value: str) -> str:
    if '"' in value or "\\" in value:
        value = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + value + '"'


def _timestamp(value: dt.datetime) -> str:
    if value.tzinfo is None:  # a naive time would be read in the session's time zone: refuse, do not guess
        raise ValueError(f"naive datetime {value!r} in a timestamptz array")
    return value.isoformat()


_ENCODERS: dict[type, Callable[[Any], str]] = {
    str: _text,
    dt.datetime: _timestamp,
    dt.date: dt.date.isoformat,
    type(None): lambda _: "NULL",
    bool: lambda value: "t" if value else "f",
    int: str,
    Decimal: str,
}


def _element(value: Any) -> str:
    """Subclasses (and unknown types) by isinstance; the exact types above by one dictionary look-up."""
    for kind, encode in _ENCODERS.items():
        if isinstance(value, kind):
            return encode(value)
    raise TypeError(f"no array literal for {type(value).__name__}")


def array_literal(values: Iterable[Any]) -> str:
    """One PostgreSQL array literal for ``values`` (str, datetime (aware), date, int, Decimal, bool, None)."""
    get = _ENCODERS.get
    return "{" + ",".join([get(type(v), _element)(v) for v in values]) + "}"

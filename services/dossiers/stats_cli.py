"""``cchc stats verify|rebuild``: the statistics counters checked against (or rebuilt from) the dossiers.

Like the other operator commands they read the service's own tables directly (``open_database``), with the same
configuration as the service (granularity, province), while it runs or not. ``verify`` prints every difference
between the kept counters — and the figures read from them — and a full recomputation, and exits non-zero on
any; ``rebuild`` recomputes them (what the service does by itself at start-up when ``timeliness.granularity``
changed).
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

SERVICE = "dossiers"


def verify(config: Mapping[str, Any], periods: list[str] | None = None, now: dt.datetime | None = None,
           out: Any = None) -> int:
    """Print the differences (none: a one-line summary) to ``out`` (None: the stdout of the moment, not the one
    bound at import); returns how many there are."""
    from services.dossiers import stats_verify
    from services.dossiers.rules import rules_from_config
    from shared.clock import utcnow
    from shared.db import open_database

    rules = rules_from_config(config)
    db = open_database(config, SERVICE)
    try:
        with db.transaction() as session:
            found = stats_verify.differences(session, rules, now or utcnow(), periods)
    finally:
        db.engine.dispose()
    for difference in found:
        print(difference, file=out)
    what = f"periods {', '.join(periods)}" if periods else "every period with data"
    print(f"{len(found)} difference(s) between the statistics counters and a full recomputation "
          f"({what}, granularity {rules.granularity.value})", file=out)
    return len(found)


def rebuild(config: Mapping[str, Any], out: Any = None) -> int:
    from services.dossiers import stats_verify
    from services.dossiers.rules import rules_from_config
    from shared.db import open_database

    rules = rules_from_config(config)
    db = open_database(config, SERVICE)
    try:
        with db.transaction() as session:
            keys = stats_verify.rebuild(session, rules.granularity)
    finally:
        db.engine.dispose()
    print(f"statistics counters rebuilt: {keys} unit-days (granularity {rules.granularity.value})", file=out)
    return keys


def add_parser(sub: Any, load_config: Callable[[argparse.Namespace], Mapping[str, Any]]) -> None:
    stats = sub.add_parser("stats", help="statistics counters: verify against a full recomputation, or rebuild")
    actions = stats.add_subparsers(dest="action", required=True)
    check = actions.add_parser("verify", help="print every difference from a full recomputation; exit 1 if any")
    from cchc.inputs import instant_arg, period_arg

    check.add_argument("--period", action="append", type=period_arg,
                       help="only this period (2026, 2026-H1, 2026-Q3, 2026-07); "
                       "repeatable; default every period with data")
    check.add_argument("--now", type=instant_arg, help="judge running periods at this ISO 8601 instant (default: now)")
    check.set_defaults(func=lambda args: 1 if verify(
        load_config(args), args.period, args.now) else 0)
    again = actions.add_parser("rebuild", help="recompute the counters from the dossiers")
    again.set_defaults(func=lambda args: rebuild(load_config(args)) and 0)

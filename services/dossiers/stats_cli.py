"""``cchc stats verify|rebuild``: the statistics counters checked against (or rebuilt from) the dossiers.

Like the other operator commands they read the service's own tables directly (``open_database``), with the same
configuration as the service (granularity, province), while it runs or not. ``verify`` prints every difference
between the kept counters — and the figures read from them — and a full recomputation, and exits non-zero on
any; ``rebuild`` recomputes them (what the service does by itself at start-up when ``timeliness.granularity``
changed).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import Any

SERVICE = "dossiers"
GRANULARITY_VI = {"date": "ngày", "minute": "phút"}


def verify(config: Mapping[str, Any], periods: list[str] | None = None, now: dt.datetime | None = None,
           out: Any = None) -> int:
    """Print the differences (none: a one-line summary) to ``out`` (None: the stdout of the moment, not the one
    bound at import); returns how many there are (counters never built: one line saying so, and 1)."""
    import sqlalchemy as sa

    from services.dossiers import stats_verify
    from services.dossiers.models import Dossier
    from services.dossiers.rules import rules_from_config
    from shared.clock import utcnow

    rules = rules_from_config(config)
    granularity = rules.granularity.value
    with _tables(config) as session:
        made_for = stats_verify.made_for(session)
        if made_for != granularity:
            built = f"được tính theo {GRANULARITY_VI.get(made_for, made_for)}" if made_for else "chưa được tính"
            print(f"Bộ đếm thống kê {built}, cấu hình tính theo {GRANULARITY_VI[granularity]}: dịch vụ hồ sơ tự tính "
                  "lại khi khởi động, hoặc chạy `cchc stats rebuild`.", file=out)
            return 1
        found = stats_verify.differences(session, rules, now or utcnow(), periods)
        dossiers = session.scalar(sa.select(sa.func.count()).select_from(Dossier))
    for difference in found:
        print(difference, file=out)
    what = f"các kỳ {', '.join(periods)}" if periods else "mọi kỳ có dữ liệu"
    print(f"{len(found)} chênh lệch giữa bộ đếm thống kê và phép tính lại toàn bộ ({what}, {dossiers:,} hồ sơ, "
          f"tính theo {GRANULARITY_VI[granularity]})", file=out)
    return len(found)


def rebuild(config: Mapping[str, Any], out: Any = None) -> int:
    from services.dossiers import stats_verify
    from services.dossiers.rules import rules_from_config

    rules = rules_from_config(config)
    with _tables(config) as session:
        keys = stats_verify.rebuild(session, rules.granularity)
    print(f"Đã tính lại bộ đếm thống kê: {keys:,} cặp đơn vị–ngày "
          f"(tính theo {GRANULARITY_VI[rules.granularity.value]})", file=out)
    return keys


@contextlib.contextmanager
def _tables(config: Mapping[str, Any]) -> Iterator[Any]:
    """One transaction on the service's existing tables; a database that is not there is refused, not created."""
    from cchc.inputs import InputError
    from shared.db import database_missing, tool_transaction

    missing = database_missing(config, SERVICE, "dossiers")
    if missing:
        raise InputError(f"{missing}; không tạo mới gì — kiểm tra cấu hình")
    with tool_transaction(config, SERVICE) as session:
        yield session


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

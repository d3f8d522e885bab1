"""``cchc intake tokens add|rotate|revoke|list``: the vendors allowed to post events over HTTP, and their tokens.

Works on the intake service's own database directly (like ``cchc notifications``), so it runs whether the service
is up or not; running replicas see a change within ``intake.token_cache_seconds``. A token is printed once, when
issued: only its hash is kept.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

SERVICE = "intake"


def _session(config: Mapping[str, Any]) -> Any:
    from shared.db import tool_transaction  # imported here: `cchc --help` must stay fast

    return tool_transaction(config, SERVICE)


def _who(actor: str | None) -> str:
    from services.dossiers.cli import _who as who

    return actor or who()


def add(config: Mapping[str, Any], vendor: str, *, source: str | None = None, subject: str | None = None,
        actor: str | None = None) -> int:
    from services.intake import vendors
    from shared.clock import utcnow

    with _session(config) as session:
        token_id, token = vendors.add(session, vendor, _who(actor), utcnow(), source=source, client_subject=subject)
    print(f"Nhà cung cấp {vendor}: mã truy cập mới {token_id} (chỉ hiện một lần, hệ thống chỉ lưu mã băm):")
    print(token)
    return 0


def rotate(config: Mapping[str, Any], vendor: str, *, grace_seconds: float | None = None,
           actor: str | None = None) -> int:
    from services.intake import vendors
    from shared.clock import utcnow
    from shared.config import section

    grace = float(section(config, "intake")["token_rotation_grace_seconds"] if grace_seconds is None
                  else grace_seconds)
    with _session(config) as session:
        token_id, token = vendors.rotate(session, vendor, _who(actor), utcnow(), dt.timedelta(seconds=grace))
    print(f"Nhà cung cấp {vendor}: mã truy cập mới {token_id}; các mã cũ còn dùng được {grace:g} giây nữa:")
    print(token)
    return 0


def revoke(config: Mapping[str, Any], vendor: str, token_id: str | None = None) -> int:
    from services.intake import vendors
    from shared.clock import utcnow

    with _session(config) as session:
        count = vendors.revoke(session, vendor, utcnow(), token_id)
    print(f"Nhà cung cấp {vendor}: đã thu hồi {count} mã truy cập (hiệu lực trong vòng "
          f"{_cache_seconds(config)} giây trên mọi bản sao dịch vụ).")
    return 0


def _cache_seconds(config: Mapping[str, Any]) -> str:
    from shared.config import section

    return str(section(config, "intake")["token_cache_seconds"])


def listing(config: Mapping[str, Any]) -> int:
    from services.intake import vendors
    from shared.clock import utcnow
    from shared.local_time import local_iso

    with _session(config) as session:
        rows = vendors.list_vendors(session, utcnow())
    for row in rows:
        for token in row["tokens"]:
            for key in ("created_at", "expires_at", "revoked_at"):
                token[key] = local_iso(token[key])
        print(json.dumps(row, ensure_ascii=False))
    return 0


def add_parser(subparsers: Any, load_config: Callable[[argparse.Namespace], dict[str, Any]]) -> None:
    """Add ``intake tokens add|rotate|revoke|list`` to ``cchc``'s sub-parsers."""
    top = subparsers.add_parser("intake", help="the HTTP intake's vendors and tokens")
    groups = top.add_subparsers(dest="group", required=True)
    tokens = groups.add_parser("tokens", help="issue, rotate, revoke or list vendor tokens")
    sub = tokens.add_subparsers(dest="action", required=True)
    adding = sub.add_parser("add", help="register a vendor (or update it) and issue it a token")
    adding.add_argument("vendor")
    adding.add_argument("--source", help="the envelope `source` its events must carry (e.g. onedoor.phutho)")
    adding.add_argument("--subject", help="client certificate subject DN, for mTLS through the Ingress")
    adding.add_argument("--by", help="who issues it (default: $CCHC_ACTOR or the login name)")
    adding.set_defaults(func=lambda a: _guard(lambda: add(load_config(a), a.vendor, source=a.source,
                                                          subject=a.subject, actor=a.by)))
    rotating = sub.add_parser("rotate", help="issue a new token; the old ones expire after a grace period")
    rotating.add_argument("vendor")
    rotating.add_argument("--grace-seconds", type=float, help="default: intake.token_rotation_grace_seconds")
    rotating.add_argument("--by")
    rotating.set_defaults(func=lambda a: _guard(lambda: rotate(load_config(a), a.vendor,
                                                               grace_seconds=a.grace_seconds, actor=a.by)))
    revoking = sub.add_parser("revoke", help="end a vendor's tokens now (or one, with --token-id)")
    revoking.add_argument("vendor")
    revoking.add_argument("--token-id")
    revoking.set_defaults(func=lambda a: _guard(lambda: revoke(load_config(a), a.vendor, a.token_id)))
    listed = sub.add_parser("list", help="vendors and token ids (never the tokens)")
    listed.set_defaults(func=lambda a: listing(load_config(a)))


def _guard(command: Callable[[], int]) -> int:
    from services.intake.vendors import VendorError

    try:
        return command()
    except VendorError as exc:
        print(f"lỗi: {exc}", file=sys.stderr)
        return 2

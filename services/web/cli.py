"""``cchc users add|disable|enable|roles|list``: accounts from the command line — the first administrator of a new
deployment, or a rescue when nobody can sign in. Writes the web service's schema directly (same rules and audit
log as the administration page; the actor is ``cli:<operating-system user>``)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from typing import Any

from services.web import accounts, audit
from services.web.access import ROLE_TITLES, Role
from services.web.accounts import AccountError, AccountInput, AccountNotFound
from services.web.audit import Origin
from shared.clock import utcnow


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in a bare container
        return "cli"


def _known_units(config: dict[str, Any]) -> set[str]:
    from services.dossiers.rules import rules_from_config

    return {u.code for u in rules_from_config(config).units}


def _password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        return None
    first = getpass.getpass("Mật khẩu: ")
    if first != getpass.getpass("Nhập lại mật khẩu: "):
        raise AccountError("password", "Hai lần nhập mật khẩu không khớp.")
    return first


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def run(args: argparse.Namespace, config: dict[str, Any]) -> int:
    from shared.db import open_database

    db = open_database(config, "web")
    origin = Origin(ip="cli", user_agent=f"cchc users ({os.uname().nodename})")
    now = utcnow()
    try:
        with db.transaction() as session:
            if args.action == "list":
                for a in accounts.all_accounts(session):
                    state = "disabled" if a.disabled else "active"
                    print(f"{a.username}\t{a.display_name}\t{','.join(a.roles or [])}\t{','.join(a.unit_codes or [])}"
                          f"\t{state}")
                return 0
            if args.action == "add":
                password = _password(args)
                data = AccountInput(display_name=args.name, email=args.email, password=password,
                                    roles=_split(args.role), unit_codes=_split(args.unit))
                account = accounts.create(session, args.username, data, now, _known_units(config),
                                          require_password=not args.sso_only)
                audit.record(session, _actor(), "account_created", now, origin, target=account.username,
                             detail={"roles": account.roles, "unit_codes": account.unit_codes})
                print(f"created {account.username} ({', '.join(ROLE_TITLES[Role(r)] for r in account.roles)})")
                return 0
            account = accounts.get(session, args.username)
            if args.action in ("disable", "enable"):
                changes = accounts.update(session, account, AccountInput(disabled=args.action == "disable"), now)
                if args.action == "enable":
                    accounts.unlock(account, now)
                audit.record(session, _actor(), f"account_{args.action}d", now, origin, target=account.username,
                             detail=changes)
                print(f"{account.username}: {args.action}d")
                return 0
            # roles
            data = AccountInput(roles=_split(args.set) if args.set else None,
                                unit_codes=_split(args.units) if args.units is not None else None,
                                password=_password(args) if args.password_stdin else None)
            changes = accounts.update(session, account, data, now, _known_units(config))
            if changes:
                audit.record(session, _actor(), "account_updated", now, origin, target=account.username,
                             detail=changes)
            print(f"{account.username}: roles {','.join(account.roles)}; units {','.join(account.unit_codes) or '-'}")
            return 0
    except AccountError as exc:
        print(f"refused: {exc.field}: {exc.reason}", file=sys.stderr)
        return 2
    except AccountNotFound as exc:
        print(f"refused: username: no account {exc}", file=sys.stderr)
        return 2
    finally:
        db.engine.dispose()


def add_parser(sub: Any, load_config: Callable[[argparse.Namespace], dict[str, Any]]) -> None:
    users = sub.add_parser("users", help="web accounts: add, disable, enable, roles, list")
    actions = users.add_subparsers(dest="action", required=True)
    roles_help = f"role ({', '.join(r.value for r in Role)}); repeat or comma-separate"
    add = actions.add_parser("add", help="create an account (the password is asked, or read with --password-stdin)")
    add.add_argument("username")
    add.add_argument("--name", required=True,
                     help="full name shown in the pages (required, as on the administration form)")
    add.add_argument("--email")
    add.add_argument("--role", action="append", required=True, help=roles_help)
    add.add_argument("--unit", action="append", help="unit code for a unit officer; repeat or comma-separate")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    add.add_argument("--sso-only", action="store_true", help="no password: signs in with single sign-on only")
    for name in ("disable", "enable"):
        p = actions.add_parser(name, help=f"{name} an account ({'ends its sessions' if name == 'disable' else ''})")
        p.add_argument("username")
    roles = actions.add_parser("roles", help="replace an account's roles and/or units")
    roles.add_argument("username")
    roles.add_argument("--set", action="append", help=roles_help)
    roles.add_argument("--units", action="append", help="unit codes (comma-separated); '' clears them")
    roles.add_argument("--password-stdin", action="store_true", help="also set a new password read from stdin")
    actions.add_parser("list", help="every account: user name, name, roles, units, state")
    users.set_defaults(func=lambda args: run(args, load_config(args)))

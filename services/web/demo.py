"""``cchc demo --serve``: one account per role, with fresh passwords printed once, so a newcomer can sign in to the
web application as each kind of user right after the demo's data is in."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.web import accounts, audit
from services.web.access import ROLE_TITLES, Role
from services.web.accounts import AccountInput
from services.web.audit import Origin
from shared.clock import utcnow
from shared.db import open_database


@dataclass(frozen=True)
class DemoAccount:
    role: Role
    username: str
    password: str
    display_name: str
    unit_codes: tuple[str, ...] = ()

    @property
    def role_title(self) -> str:
        return ROLE_TITLES[self.role]


def demo_accounts(unit_codes: Sequence[str]) -> list[DemoAccount]:
    """Sở Nội vụ, the appraisal council, a leader, and an officer of the given units (random passwords)."""
    def password() -> str:
        return "Cchc-" + secrets.token_urlsafe(9)

    return [
        DemoAccount(Role.PROVINCE_ADMIN, "sonoivu", password(), "Nguyễn Thị Hoa (Sở Nội vụ)"),
        DemoAccount(Role.APPRAISER, "thamdinh", password(), "Trần Văn Bình (Hội đồng thẩm định)"),
        DemoAccount(Role.LEADER, "lanhdao", password(), "Lê Minh Châu (Lãnh đạo UBND tỉnh)"),
        DemoAccount(Role.UNIT_OFFICER, "canbo", password(), "Phạm Thu Dung (cán bộ một cửa)", tuple(unit_codes)),
    ]


def create_demo_accounts(config: Mapping[str, Any], unit_codes: Sequence[str]) -> list[DemoAccount]:
    """Create (or reset) the demo accounts in the web schema; returns them with their passwords."""
    db = open_database(config, "web")
    now = utcnow()
    made = demo_accounts(unit_codes)
    try:
        with db.transaction() as session:
            for account in made:
                data = AccountInput(display_name=account.display_name, password=account.password,
                                    roles=[account.role.value], unit_codes=list(account.unit_codes), disabled=False)
                try:
                    existing = accounts.get(session, account.username)
                except accounts.AccountNotFound:
                    accounts.create(session, account.username, data, now)
                else:
                    accounts.update(session, existing, data, now)
                    accounts.unlock(existing, now)
                audit.record(session, "cli:demo", "account_created", now, Origin("cli", "cchc demo --serve"),
                             target=account.username, detail={"roles": [account.role.value]})
    finally:
        db.engine.dispose()
    return made

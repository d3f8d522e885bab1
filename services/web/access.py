"""Roles, what each may do, and which units a person may see: pure rules, checked on the server for every page
and every download (hiding a link is never the check).

Roles (vai trò):
- ``province_admin`` — Sở Nội vụ: everything, plus accounts, document builds and notification retries;
- ``appraiser`` — hội đồng thẩm định: reads everything, appraises scores;
- ``leader`` — lãnh đạo: reads everything;
- ``unit_officer`` — cán bộ đơn vị: reads only the units in his scope (and the units below them); self-assesses
  them in a season (drafts, evidence files, answers to the council);
- ``unit_head`` — lãnh đạo đơn vị: as the officer, and sends (submits) the unit's self-assessment.

Acting for a unit in the season (self-assessing, submitting, answering) needs the unit in the person's own units:
reading everything (province administrators, appraisers) is not acting for a unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    PROVINCE_ADMIN = "province_admin"
    APPRAISER = "appraiser"
    UNIT_OFFICER = "unit_officer"
    LEADER = "leader"
    UNIT_HEAD = "unit_head"


ROLE_TITLES = {
    Role.PROVINCE_ADMIN: "Quản trị (Sở Nội vụ)",
    Role.APPRAISER: "Hội đồng thẩm định",
    Role.LEADER: "Lãnh đạo",
    Role.UNIT_OFFICER: "Cán bộ đơn vị",
    Role.UNIT_HEAD: "Lãnh đạo đơn vị",
}


class Permission(StrEnum):
    READ_ALL = "read_all"  # every unit, not only a scope
    BUILD_DOCUMENTS = "build_documents"
    RETRY_NOTIFICATIONS = "retry_notifications"
    MANAGE_ACCOUNTS = "manage_accounts"
    APPRAISE = "appraise"
    SELF_ASSESS = "self_assess"  # drafts and answers for one's own units
    SUBMIT_SELF_ASSESSMENT = "submit_self_assessment"  # the unit's head sends the sheet
    PUBLISH_RESULTS = "publish_results"  # the office: deadlines, provisional ranking, publication


GRANTS: Mapping[Role, frozenset[Permission]] = {
    Role.PROVINCE_ADMIN: frozenset(Permission),
    Role.APPRAISER: frozenset({Permission.READ_ALL, Permission.APPRAISE}),
    Role.LEADER: frozenset({Permission.READ_ALL}),
    Role.UNIT_OFFICER: frozenset({Permission.SELF_ASSESS}),
    Role.UNIT_HEAD: frozenset({Permission.SELF_ASSESS, Permission.SUBMIT_SELF_ASSESSMENT}),
}


class Forbidden(Exception):
    """The signed-in person may not see or do this (403, with nothing of the resource in the page)."""


def parse_roles(values: Iterable[str]) -> list[Role]:
    """Known roles in a stable order; an unknown one raises ValueError naming it."""
    roles = set()
    for value in values:
        try:
            roles.add(Role(value))
        except ValueError:
            raise ValueError(f"roles: unknown role {value!r}; known: {', '.join(r.value for r in Role)}") from None
    return [r for r in Role if r in roles]


@dataclass(frozen=True)
class Principal:
    """Who is asking: the signed-in account as this request sees it."""

    account_id: int
    username: str
    display_name: str
    roles: frozenset[Role]
    unit_codes: tuple[str, ...] = ()
    csrf_token: str = ""
    permissions: frozenset[Permission] = field(init=False)

    def __post_init__(self) -> None:
        granted: set[Permission] = set()
        for role in self.roles:
            granted |= GRANTS[role]
        object.__setattr__(self, "permissions", frozenset(granted))

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(permission.value)

    @property
    def reads_all(self) -> bool:
        return self.can(Permission.READ_ALL)

    @property
    def role_titles(self) -> list[str]:
        return [ROLE_TITLES[r] for r in Role if r in self.roles]


class UnitScope:
    """The units one person may see: every unit (None), or his units and everything below them."""

    def __init__(self, principal: Principal, parents: Mapping[str, str | None]) -> None:
        self.all = principal.reads_all
        self.codes: frozenset[str] = frozenset() if self.all else _subtrees(principal.unit_codes, parents)

    def allows(self, unit_code: str) -> bool:
        return self.all or unit_code in self.codes

    def require(self, unit_code: str) -> None:
        if not self.allows(unit_code):
            raise Forbidden(f"unit {unit_code}")

    def filter(self, rows: Iterable[dict], key: str = "unit_code") -> list[dict]:
        return [row for row in rows if self.allows(str(row.get(key)))]


def acts_for(principal: Principal, unit_code: str, parents: Mapping[str, str | None]) -> bool:
    """Whether ``principal`` may act *as* the unit (self-assess, submit, answer): one of his own units or below."""
    return unit_code in _subtrees(principal.unit_codes, parents)


def _subtrees(roots: Iterable[str], parents: Mapping[str, str | None]) -> frozenset[str]:
    wanted = set(roots)
    found = set()
    for code in parents:
        current: str | None = code
        seen = 0
        while current is not None and seen < 64:  # a registry loop must not hang a page
            if current in wanted:
                found.add(code)
                break
            current = parents.get(current)
            seen += 1
    return frozenset(found | (wanted & set(parents)))

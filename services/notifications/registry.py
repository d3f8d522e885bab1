"""The unit registry as this service keeps it: a copy of dossiers.units(), refreshed by a timer, so an event
handler never waits on another service to know a unit's name, kind or parent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.notifications.models import Unit
from services.notifications.rules import Directory, UnitInfo
from shared.db import upsert


def store_units(session: Session, units: Iterable[Mapping[str, Any]], now: dt.datetime) -> int:
    rows = [{"code": u["code"], "name": u["name"], "kind": u["kind"], "parent_code": u.get("parent_code"),
             "refreshed_at": now} for u in units]
    if rows:
        session.execute(upsert(session, Unit.__table__, ["code"], ["name", "kind", "parent_code", "refreshed_at"]),
                        rows)
    return len(rows)


def load_units(session: Session) -> list[UnitInfo]:
    return [UnitInfo(u.code, u.name, u.kind, u.parent_code) for u in session.scalars(sa.select(Unit))]


def is_empty(session: Session) -> bool:
    return session.scalar(sa.select(sa.func.count()).select_from(Unit)) == 0


def directory(session: Session, settings: Mapping[str, Any]) -> Directory:
    return Directory.from_settings(settings, load_units(session))

"""Transactional outbox: an event that must follow a database change is written in the same transaction,
then relayed to the bus by a timer. A crash between commit and publish delays the event, never loses it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.clock import utcnow
from shared.db import UTCDateTime
from shared.metrics import events_published, outbox_pending


class OutboxMixin:
    """Mix into a service's declarative Base: ``class OutboxEvent(OutboxMixin, Base)``."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    event_type: Mapped[str] = mapped_column(sa.String(80))
    payload: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


def enqueue(session: Session, model: type[Any], event_type: str, payload: dict[str, Any]) -> None:
    session.add(model(event_type=event_type, payload=json.dumps(payload, default=str, ensure_ascii=False),
                      created_at=utcnow()))


def relay(session: Session, model: type[Any], dispatch: Callable[[str, Any], None], service: str,
          limit: int = 500) -> int:
    """Publish and delete up to ``limit`` queued events, oldest first; replicas skip each other's rows."""
    query = sa.select(model).order_by(model.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = session.scalars(query).all()
    for row in rows:
        dispatch(row.event_type, json.loads(row.payload))
        events_published.labels(service, row.event_type).inc()
        session.delete(row)
    session.flush()  # the count below then sees the deletes: what it says is exactly what is left
    remaining = session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
    outbox_pending.labels(service).set(remaining)
    return len(rows)

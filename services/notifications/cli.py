"""``cchc notifications list|show|resend|preview``: functions the command line calls.

list / show / resend read and change this service's own tables directly (``open_database``), like Alembic
does: they work when the service is stopped (the zero-install SQLite file, or PostgreSQL with the service's
schema), and a resend is picked up by the running service's delivery timer. Personal data is masked unless
``reveal`` is asked for. ``preview`` renders a template with sample data and needs nothing running.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

SERVICE = "notifications"


def _database(config: Mapping[str, Any]) -> Any:
    from shared.db import open_database  # imported here: `cchc --help` must stay fast

    return open_database(config, SERVICE)


def list_notifications(config: Mapping[str, Any], **filters: Any) -> list[dict[str, Any]]:
    """Filters: status, kind, channel, unit_code, dossier_code, limit, offset."""
    from services.notifications import delivery

    db = _database(config)
    try:
        with db.transaction() as session:
            return delivery.list_notifications(session, **filters)
    finally:
        db.engine.dispose()


def show(config: Mapping[str, Any], notification_id: int, reveal: bool = False) -> dict[str, Any]:
    from services.notifications import delivery

    db = _database(config)
    try:
        with db.transaction() as session:
            return delivery.detail(session, notification_id, reveal)
    finally:
        db.engine.dispose()


def resend(config: Mapping[str, Any], notification_id: int | None = None, *, failed: bool = False,
           kind: str | None = None, channel: str | None = None) -> dict[str, Any]:
    """One notification by id, or with ``failed`` every failed one (optionally of a kind / channel)."""
    from services.notifications import delivery
    from shared.clock import utcnow

    now = utcnow()
    db = _database(config)
    try:
        with db.transaction() as session:
            if failed:
                return {"requeued": delivery.resend_failed(session, now, kind, channel)}
            if notification_id is None:
                raise ValueError("give a notification id, or --failed")
            return delivery.resend(session, notification_id, now)
    finally:
        db.engine.dispose()


def preview(kind: str, channel: str, out: str | Path | None = None) -> str:
    """The message ``kind`` on ``channel`` rendered with sample data; a letter is written as PDF to ``out``."""
    from services.notifications import rendering, samples

    if (kind, channel) not in rendering.available():
        known = ", ".join(f"{k}/{c}" for k, c in rendering.available())
        raise ValueError(f"no template for {kind}/{channel}; known: {known}")
    context = samples.context(kind)
    if channel == "letter":
        path = Path(out or f"{kind}-preview.pdf")
        path.write_bytes(rendering.letter_pdf(context))
        return f"PDF written to {path}"
    rendered = rendering.render(kind, channel, context)
    return (f"Tiêu đề: {rendered.subject}\n\n" if rendered.subject else "") + rendered.body


# -- argparse wiring for cchc/cli.py ----------------------------------------------------------------------------
def add_parser(subparsers: Any, load_config: Callable[[argparse.Namespace], dict[str, Any]]) -> None:
    """Add ``notifications`` with its sub-commands to ``cchc``'s sub-parsers."""
    top = subparsers.add_parser("notifications", help="list, inspect, resend or preview notifications")
    sub = top.add_subparsers(dest="action", required=True)

    listing = sub.add_parser("list", help="newest first, recipients masked")
    for name in ("status", "kind", "channel", "unit-code", "dossier-code"):
        listing.add_argument(f"--{name}")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(func=lambda a: _guard(lambda: _print_rows(list_notifications(
        load_config(a), status=a.status, kind=a.kind, channel=a.channel, unit_code=a.unit_code,
        dossier_code=a.dossier_code, limit=a.limit))))

    showing = sub.add_parser("show", help="one notification: text and every attempt")
    showing.add_argument("id", type=int)
    showing.add_argument("--reveal", action="store_true", help="show personal data unmasked")
    showing.set_defaults(func=lambda a: _guard(lambda: _print_json(show(load_config(a), a.id, a.reveal))))

    resending = sub.add_parser("resend", help="put a notification (or every failed one) back in the queue")
    resending.add_argument("id", type=int, nargs="?")
    resending.add_argument("--failed", action="store_true", help="every failed notification")
    resending.add_argument("--kind")
    resending.add_argument("--channel")
    resending.set_defaults(func=lambda a: _guard(lambda: _print_json(resend(
        load_config(a), a.id, failed=a.failed, kind=a.kind, channel=a.channel))))

    previewing = sub.add_parser("preview", help="render a template with sample data")
    previewing.add_argument("kind", help="apology, late_alert, due_soon_digest, overdue_digest, window_opening, "
                                         "window_closing, ranking_published")
    previewing.add_argument("channel", help="email, sms, webhook, letter")
    previewing.add_argument("--out", help="where to write a letter's PDF")
    previewing.set_defaults(func=lambda a: _guard(lambda: print(preview(a.kind, a.channel, a.out)) or 0))


def _guard(command: Callable[[], int]) -> int:
    """Clear one-line errors (unknown id, bad filter or template) instead of a traceback."""
    try:
        return command()
    except (LookupError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _print_rows(rows: list[dict[str, Any]]) -> int:
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))
    return 0


def _print_json(value: Any) -> int:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0

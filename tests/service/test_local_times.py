"""Times as people read them: RPC replies, command-line output and refusal reasons carry +07:00, not UTC."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from cchc.cli import parked_view
from cchc.runner import rpc_proxy, running
from services.dossiers.service import DossiersService
from services.notifications.delivery import view
from services.notifications.models import Notification
from services.reports.store import StoredFile
from services.scoring.criteria import DATA_DIR, load_criteria_set, parse_criteria_set
from services.scoring.service import ScoringService
from shared import deadletter
from shared.events import make_envelope
from shared.messaging import connect
from shared.publisher import publisher_for
from tests.support import wait_until

TZ = dt.timezone(dt.timedelta(hours=7))
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)")
AT = dt.datetime(2026, 7, 6, 9, 15, tzinfo=TZ)


def times_in(value) -> list[str]:
    """Every ISO 8601 date-time in a JSON-able value (strings inside strings too: reasons, messages)."""
    return [m.group(0) for m in ISO.finditer(json.dumps(value, ensure_ascii=False))]


def all_local(value) -> list[str]:
    found = times_in(value)
    assert found, "expected some times"
    assert all(t.endswith("+07:00") for t in found), found
    return found


def test_dossier_replies_and_refusal_reasons_are_in_vietnam_time(backend_config):
    config = backend_config(timeliness={"scan_interval_seconds": 3600})
    receipt = make_envelope("dossier.received", {"dossier_code": "T-1", "procedure_code": "1.000894.H44",
                                                 "unit_code": "07900", "received_at": AT}, occurred_at=AT)
    early = AT - dt.timedelta(days=1)
    resolved = make_envelope("dossier.resolved", {"dossier_code": "T-1", "resolved_at": early}, occurred_at=early)
    with running([DossiersService], config):
        publisher = publisher_for(config)
        publisher.publish_many([receipt, resolved])
        publisher.close()
        with connect(config) as connection:
            letters = wait_until(lambda: deadletter.browse(connection, "dossiers"), timeout=30, message="dead letter")
        with rpc_proxy(config) as rpc:
            dossier = rpc.dossiers.get_dossier("T-1")
    found = all_local(dossier)
    assert "2026-07-06T09:15:00+07:00" in found  # exactly what the one-door clerk typed
    (letter,) = letters
    printed = parked_view(letter)
    assert printed["dead_lettered_at"].endswith("+07:00")
    assert all_local(printed["reason"]) == ["2026-07-05T09:15:00+07:00", "2026-07-06T09:15:00+07:00"]


def test_scoring_ranking_and_history_are_in_vietnam_time(backend_config, tmp_path: Path):
    config = backend_config(outbox={"relay_interval_seconds": 0.1})
    cs = load_criteria_set(DATA_DIR / "department-2026.yaml")
    data = json.loads(cs.to_json())
    now = dt.datetime.now(TZ)
    data.update(id="dept-local-2026", window={"opens": (now - dt.timedelta(days=1)).isoformat(),
                                              "closes": (now + dt.timedelta(days=1)).isoformat()})
    path = tmp_path / "set.json.yaml"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    cs = parse_criteria_set(data, str(path))
    leaf = next(leaf for leaf in cs.leaves() if leaf.method.kind == "self" and not leaf.is_deduction)
    with running([DossiersService, ScoringService], config), rpc_proxy(config) as rpc:
        rpc.scoring.sync_units()
        rpc.scoring.publish_criteria_set(str(path))
        rpc.scoring.submit_scores(cs.id, "H44.07", [{"leaf_id": leaf.id, "points": str(leaf.max_points),
                                                      "evidence": ["QĐ-1"]}], actor="Sở Công Thương")
        ranking = wait_until(lambda: (lambda r: r if r["computed_at"] else None)(rpc.scoring.ranking(cs.id)),
                             timeout=30, message="a ranking")
        history = rpc.scoring.history(cs.id, "H44.07")
    assert ranking["computed_at"].endswith("+07:00")
    all_local(history)


def test_notifications_and_documents_listed_in_vietnam_time():
    at = dt.datetime(2026, 7, 6, 2, 15, tzinfo=dt.UTC)
    row = Notification(id=1, kind="apology", channel="email", recipient="an@example.vn", recipient_masked="a***@e…",
                       status="sent", attempts=1, topic="t", unit_code="07900", dossier_code="D", subject="S",
                       personal=[], created_at=at, sent_at=at, next_attempt_at=None, last_error=None)
    assert view(row)["created_at"] == view(row)["sent_at"] == "2026-07-06T09:15:00+07:00"
    stored = StoredFile(id=1, kind="ranking", key="k", version=1, format="pdf", title="t", filename="x.pdf",
                        size=1, sha256="0" * 64, token="t", built_at=at, sources={})
    described = stored.to_dict(link_expires=int(at.timestamp()) + 3600)
    assert described["built_at"] == "2026-07-06T09:15:00+07:00"
    assert described["url_expires_at"] == "2026-07-06T10:15:00+07:00"

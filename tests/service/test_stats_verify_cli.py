"""``cchc stats verify`` prints every difference between the counters and a full recomputation and exits 1 if there
is any, 0 otherwise; ``cchc stats rebuild`` puts them right."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
import yaml

from cchc.cli import main
from services.dossiers.ingest import ingest_batch
from services.dossiers.models import StatsDay
from services.dossiers.rules import rules_from_config
from shared.config import load_config
from shared.db import open_database
from shared.events import make_envelope, parse_event

TZ = dt.timezone(dt.timedelta(hours=7))
RECEIVED = dt.datetime(2025, 3, 3, 9, tzinfo=TZ)
NOW = dt.datetime(2025, 3, 20, 10, tzinfo=TZ)


def test_verify_and_rebuild_from_the_command_line(tmp_path, capsys):
    config_file = tmp_path / "cchc.yaml"
    config_file.write_text(yaml.safe_dump({"DATABASE_URL": f"sqlite:///{tmp_path}/<service>.db"}))
    config = load_config(str(config_file))
    db = open_database(config, "dossiers")
    events = []
    for i, unit in enumerate(("D227", "D228", "D227")):
        code = f"V{i}"
        payload = {"dossier_code": code, "procedure_code": "1.000894.H44", "unit_code": unit, "received_at": RECEIVED}
        events.append(make_envelope("dossier.received", payload, occurred_at=RECEIVED, event_id=str(uuid.uuid4())))
    resolved = RECEIVED + dt.timedelta(days=9)
    events.append(make_envelope("dossier.resolved", {"dossier_code": "V0", "resolved_at": resolved},
                                occurred_at=resolved, event_id=str(uuid.uuid4())))
    with db.transaction() as session:
        ingest_batch(session, [parse_event(e) for e in events], rules_from_config(config), NOW)

    assert main(["--config", str(config_file), "stats", "verify", "--now", NOW.isoformat()]) == 0
    assert "0 difference(s)" in capsys.readouterr().out

    with db.transaction() as session:
        session.execute(sa.update(StatsDay).where(StatsDay.unit_code == "D228", StatsDay.day == RECEIVED.date())
                        .values(received=5))
    assert main(["--config", str(config_file), "stats", "verify", "--period", "2025-03",
                 "--now", NOW.isoformat()]) == 1
    out = capsys.readouterr().out
    assert "counters D228/2025-03-03 received: kept 5, recomputed 1" in out
    assert "period 2025-03 unit D228 received_new: kept 5, recomputed 1" in out

    assert main(["--config", str(config_file), "stats", "rebuild"]) == 0
    assert main(["--config", str(config_file), "stats", "verify", "--now", NOW.isoformat()]) == 0
    db.engine.dispose()

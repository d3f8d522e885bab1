"""``cchc stats verify`` prints every difference between the counters and a full recomputation and exits 1 if there
is any, 0 otherwise; ``cchc stats rebuild`` puts them right. Pointed at a database that holds no dossiers (a typo in
``DATABASE_URL`` or ``DATABASE_SCHEMA``), both refuse and create nothing: a clean pass on an empty database made
for the occasion said nothing about the real one (an outside review found that)."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
import yaml

from cchc.cli import main
from services.dossiers import stats_verify
from services.dossiers.ingest import ingest_batch
from services.dossiers.models import StatsDay
from services.dossiers.outcomes import Granularity
from services.dossiers.rules import rules_from_config
from shared.config import load_config
from shared.db import open_database
from shared.events import make_envelope, parse_event
from tests.support import PG_URL

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
        stats_verify.ensure(session, Granularity(config["timeliness"]["granularity"]))  # as the service's start
        ingest_batch(session, [parse_event(e) for e in events], rules_from_config(config), NOW)

    assert main(["--config", str(config_file), "stats", "verify", "--now", NOW.isoformat()]) == 0
    assert "0 chênh lệch giữa bộ đếm thống kê và phép tính lại toàn bộ (mọi kỳ có dữ liệu, 3 hồ sơ, tính theo ngày)" \
        in capsys.readouterr().out

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


def _config_file(tmp_path, **settings):
    config_file = tmp_path / "cchc.yaml"
    config_file.write_text(yaml.safe_dump(settings))
    return str(config_file)


def test_a_sqlite_file_that_does_not_exist_is_refused_and_not_created(tmp_path, capsys):
    target = tmp_path / "nowhere" / "dossiers.db"
    config_file = _config_file(tmp_path, DATABASE_URL=f"sqlite:///{target}")
    for action in ("verify", "rebuild"):
        assert main(["--config", config_file, "stats", action]) == 2
        err = capsys.readouterr().err
        assert "DATABASE_URL" in err and "không tồn tại" in err and "Traceback" not in err, err
    assert not target.exists() and not target.parent.exists()


def test_a_postgresql_schema_that_does_not_exist_is_refused_and_not_created(tmp_path, capsys):
    schema = f"no_such_{uuid.uuid4().hex[:8]}"
    config_file = _config_file(tmp_path, DATABASE_URL=PG_URL, DATABASE_SCHEMA=schema)
    assert main(["--config", config_file, "stats", "verify"]) == 2
    err = capsys.readouterr().err
    assert "DATABASE_SCHEMA" in err and schema in err, err
    engine = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg2://"))
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}).first() \
            is None
    engine.dispose()


def test_counters_never_built_are_named_not_listed_as_differences(tmp_path, capsys):
    """A database migrated by a tool before the service ever started (or downgraded below the counters and
    upgraded again): verify says the counters were never built, not thousands of differences."""
    config_file = _config_file(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/<service>.db")
    config = load_config(config_file)
    db = open_database(config, "dossiers")
    payload = {"dossier_code": "V0", "procedure_code": "1.000894.H44", "unit_code": "D227", "received_at": RECEIVED}
    with db.transaction() as session:
        ingest_batch(session, [parse_event(make_envelope("dossier.received", payload, occurred_at=RECEIVED))],
                     rules_from_config(config), NOW)
        session.execute(sa.delete(StatsDay))
    db.engine.dispose()
    assert main(["--config", config_file, "stats", "verify", "--now", NOW.isoformat()]) == 1
    out = capsys.readouterr().out
    assert "chưa được tính" in out and "cchc stats rebuild" in out and "kept" not in out, out
    assert main(["--config", config_file, "stats", "rebuild"]) == 0
    assert main(["--config", config_file, "stats", "verify", "--now", NOW.isoformat()]) == 0


def test_a_database_url_that_cannot_be_used_is_one_line_naming_it(tmp_path, capsys):
    for url in ("garbage://x", "postgresql://postgres@127.0.0.1:1/postgres", ""):
        config_file = _config_file(tmp_path, DATABASE_URL=url)
        assert main(["--config", config_file, "stats", "verify"]) == 2, url
        err = capsys.readouterr().err
        assert "DATABASE_URL" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, (url, err)


def test_another_services_database_is_refused_and_left_as_it_was(tmp_path, capsys):
    """The services' Alembic revision ids overlap: scoring's database has an ``alembic_version`` too, and the tool
    migrated the dossiers' tables into it before failing."""
    config_file = _config_file(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/<service>.db")
    open_database(load_config(config_file), "scoring").engine.dispose()
    scoring = tmp_path / "scoring.db"
    before = scoring.read_bytes()
    other = _config_file(tmp_path, DATABASE_URL=f"sqlite:///{scoring}")
    assert main(["--config", other, "stats", "rebuild"]) == 2
    err = capsys.readouterr().err
    assert "không phải cơ sở dữ liệu của dịch vụ dossiers" in err and "Traceback" not in err, err
    assert scoring.read_bytes() == before


def test_a_file_that_is_not_a_database_is_one_line(tmp_path, capsys):
    junk = tmp_path / "dossiers.db"
    junk.write_text("không phải SQLite")
    assert main(["--config", _config_file(tmp_path, DATABASE_URL=f"sqlite:///{junk}"), "stats", "verify"]) == 2
    err = capsys.readouterr().err
    assert "SQLite" in err and "Traceback" not in err, err

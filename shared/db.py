"""Database access for every service: one engine per service, its own schema (PostgreSQL) or file (SQLite).

The dependency provider builds the engine and runs the service's Alembic migrations once in ``setup()``;
each worker gets a small :class:`Database` handle whose ``transaction()`` is the unit of work. SQLite has a
single writer and its calls never yield to eventlet, so its transactions are serialised by a green lock
rather than left to fail with "database is locked".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from nameko.extensions import DependencyProvider
from sqlalchemy import event as sa_event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from shared.config import setting

log = logging.getLogger(__name__)

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"


def service_url(config: Mapping[str, Any], service: str) -> str:
    return str(setting(config, "DATABASE_URL")).replace("<service>", service)


def service_schema(config: Mapping[str, Any], service: str) -> str:
    return str(setting(config, "DATABASE_SCHEMA")).replace("<service>", service)


def make_engine(url: str, *, schema: str | None = None, pool_size: int = 5) -> Engine:
    """An engine whose connections see only this service's schema (PostgreSQL) or file (SQLite).

    Every engine hides bound parameters from its errors (``hide_parameters``): an error's text is logged, and the
    parameters are citizens' names, phones and addresses. The statement itself stays in the message.
    """
    parsed = sa.engine.make_url(url)
    if parsed.drivername == "postgresql":
        # SQLAlchemy 2.1 defaults to psycopg 3, which blocks the whole eventlet hub during each query.
        parsed = parsed.set(drivername="postgresql+psycopg2")
    url = parsed.render_as_string(hide_password=False)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True)

        @sa_event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    # Send executemany UPDATEs in pages rather than one round trip per row (each one an eventlet wait).
    batch = {"executemany_mode": "values_plus_batch"}
    if not schema:
        return sa.create_engine(url, pool_size=pool_size, pool_pre_ping=True, hide_parameters=True, **batch)
    with sa.create_engine(url, poolclass=sa.pool.NullPool, hide_parameters=True).begin() as conn:
        # CREATE SCHEMA IF NOT EXISTS needs CREATE on the whole database even when the schema exists: look first,
        # so a service role owning only its schema can start.
        exists = conn.execute(sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}).first()
        if not exists:
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    return sa.create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"options": f"-csearch_path={schema}"},
        hide_parameters=True,
        **batch,
    )


def database_missing(config: Mapping[str, Any], service: str, table: str) -> str | None:
    """Why the service's database is not there (None: it is), found without creating anything — opening one
    creates the SQLite file or the PostgreSQL schema and migrates it, so an operator tool pointed at a mistyped
    setting would report on an empty database made for the occasion. ``table`` is one only this service has (the
    services' Alembic revision ids overlap, so another service's database has an ``alembic_version`` too). The
    answer names the setting to check."""
    url = service_url(config, service)
    try:
        parsed = sa.engine.make_url(url)
        parsed.get_dialect()
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        return f"DATABASE_URL: không dùng được ({_first_line(exc)})"  # not the URL itself: it may hold a password
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if not parsed.database or parsed.database == ":memory:" or not path.is_file():
            return f"DATABASE_URL: tệp cơ sở dữ liệu '{parsed.database or ''}' của dịch vụ {service} không tồn tại"
        try:
            with contextlib.closing(sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)) as connection:
                found = connection.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
        except sqlite3.Error as exc:
            return f"DATABASE_URL: không đọc được tệp '{parsed.database}' như cơ sở dữ liệu SQLite ({_first_line(exc)})"
        if found:
            return None
        return f"DATABASE_URL: tệp '{parsed.database}' không phải cơ sở dữ liệu của dịch vụ {service}"
    schema = service_schema(config, service)
    engine = make_engine(url)  # no schema: nothing created
    try:
        with engine.connect() as connection:
            found = connection.execute(
                sa.text("SELECT 1 FROM pg_tables WHERE tablename = :t AND schemaname = coalesce(:s, current_schema())"),
                {"t": table, "s": schema.lower() or None}).first()  # search_path folds an unquoted name to lower case
    except sa.exc.OperationalError as exc:
        return f"DATABASE_URL: không kết nối được cơ sở dữ liệu ({_first_line(exc.orig)})"
    except sa.exc.DBAPIError as exc:
        return f"DATABASE_SCHEMA: không đọc được lược đồ '{schema}' ({_first_line(exc.orig)})"
    finally:
        engine.dispose()
    if found:
        return None
    where = f"{parsed.host or ''}/{parsed.database or ''}"
    if schema:
        return (f"DATABASE_SCHEMA: lược đồ '{schema}' trong {where} không tồn tại hoặc không có bảng của dịch vụ "
                f"{service}")
    return f"DATABASE_URL: cơ sở dữ liệu {where} không có bảng của dịch vụ {service}"


def _first_line(exc: BaseException | None) -> str:
    lines = str(exc or "").strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def migrate(engine: Engine, service: str, revision: str = "head") -> None:
    """Bring the service's tables to ``revision`` with its own Alembic scripts."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # replicas starting together must not migrate at once: one waits for the other, then finds nothing to do
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"cchc-migrate-{service}"}
            )
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def insert_ignore(engine_or_session: Engine | Session, table: sa.Table) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for the dialect in use: idempotent writes need it everywhere."""
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    dialect = postgresql if bind.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


def upsert(bind_source: Engine | Session, table: sa.Table, keys: Sequence[str], update: Sequence[str],
           newer: str | None = None) -> Any:
    """``INSERT … ON CONFLICT (keys) DO UPDATE SET update = excluded.update``: no read-modify-write.

    With ``newer`` (a timestamp column) a row is only replaced by a version at least as new: consumers handling
    events concurrently may apply an older one last."""
    bind = bind_source.get_bind() if isinstance(bind_source, Session) else bind_source
    dialect = postgresql if bind.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    where = table.c[newer] <= stmt.excluded[newer] if newer else None
    return stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in update},
                                      where=where)


_PREBUILT: dict[tuple[str, str], Any] = {}


def prebuilt(session: Session, name: str, build: Callable[[str], Any]) -> Any:
    """A statement built once per dialect (``build(dialect_name)``) and named ``<service>.<what>``, its values
    bound at execution: building SQLAlchemy statements afresh was a third of a score submission's Python time
    (bench/scoring_recalc.py), for the same statements every time."""
    dialect = session.get_bind().dialect.name
    statement = _PREBUILT.get((name, dialect))
    if statement is None:
        statement = _PREBUILT[(name, dialect)] = build(dialect)
    return statement


class Database:
    """What a worker sees: transactions, never the pool."""

    def __init__(self, engine: Engine, lock: Any | None) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._lock = lock

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any exception."""
        with self._lock or contextlib.nullcontext(), self._sessions() as session, session.begin():
            yield session

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))


def open_database(config: Mapping[str, Any], service: str, *, auto_migrate: bool | None = None) -> Database:
    """Engine + migrations for ``service``; used by the dependency provider, the CLI and tests."""
    url = service_url(config, service)
    pool_size = int(setting(config, "DATABASE_POOL_SIZE"))
    engine = make_engine(url, schema=service_schema(config, service), pool_size=pool_size)
    if auto_migrate if auto_migrate is not None else _truthy(setting(config, "DATABASE_AUTO_MIGRATE")):
        migrate(engine, service)
    lock = _green_lock() if engine.dialect.name == "sqlite" else None
    return Database(engine, lock)


@contextlib.contextmanager
def tool_transaction(config: Mapping[str, Any], service: str) -> Iterator[Session]:
    """One transaction on a service's own database for a command-line tool (like Alembic: it works whether the
    service runs or not); the engine is disposed afterwards."""
    database = open_database(config, service)
    try:
        with database.transaction() as session:
            yield session
    finally:
        database.engine.dispose()


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def _green_lock() -> Any:
    """A lock that eventlet patches into a green one when the process is monkey-patched."""
    return threading.RLock()


class DatabaseProvider(DependencyProvider):
    """nameko dependency: ``db = DatabaseProvider()`` gives each worker the service's :class:`Database`."""

    def __init__(self, service: str | None = None) -> None:
        self.service = service
        self.database: Database | None = None

    def setup(self) -> None:
        service = self.service or self.container.service_name
        self.database = open_database(self.container.config, service)
        log.info("database ready for %s (%s)", service, self.database.engine.url.render_as_string(hide_password=True))

    def stop(self) -> None:
        if self.database is not None:
            self.database.engine.dispose()

    def get_dependency(self, worker_ctx: Any) -> Database:
        assert self.database is not None
        return self.database


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC datetimes out, on PostgreSQL (timestamptz) and SQLite (text) alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)

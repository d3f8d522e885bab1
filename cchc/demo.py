"""``cchc demo``: a half-year of one province's one-door traffic, replayed over the bus, then its statistics.

With no broker configured everything runs in this process on the in-memory transport and SQLite; with
AMQP_URI and DATABASE_URL it runs the same services against RabbitMQ and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from cchc import demo_feeds
from cchc.demo_scoring import run_scoring
from cchc.runner import rpc_proxy, running
from cchc.traffic import TrafficSpec, generate
from services.dossiers.periods import PeriodKind, period_containing
from services.dossiers.rules import rules_from_config
from services.dossiers.service import DossiersService
from services.dossiers.statistics import display
from services.intake.service import IntakeService
from services.notifications.demo import summarize as summarize_notifications
from services.notifications.service import NotificationsService
from services.reports.demo import write_demo_documents
from services.reports.service import ReportsService
from services.scoring.service import ScoringService
from services.web.demo import create_demo_accounts
from services.web.service import WebService
from shared.calendar import LOCAL_TZ
from shared.publisher import publisher_for

SERVICES = [DossiersService, ScoringService, ReportsService, NotificationsService, IntakeService]


@dataclass(frozen=True)
class DemoOptions:
    dossiers: int = 6000
    seed: int = 766
    now: dt.datetime | None = None
    malformed: int = 5
    serve: bool = False  # keep running with the web application until interrupted
    web_address: str = "127.0.0.1:8080"


def malformed_messages(count: int) -> list[bytes]:
    """A few messages a careless integration would send: each must be dead-lettered with its reason."""
    at = "2026-07-01T08:00:00+07:00"

    def envelope(**changes: Any) -> bytes:
        body = {"event_id": str(uuid.uuid4()), "event_type": "dossier.received", "occurred_at": at,
                "source": "demo", "schema_version": 1, "payload": {}, **changes}
        return json.dumps(body).encode()

    samples: list[bytes] = [
        b"{not json",
        envelope(occurred_at="2026-07-01T08:00:00"),  # no UTC offset
        envelope(event_type="dossier.teleported"),  # unknown type
        envelope(event_type="dossier.resolved", schema_version=9,
                 payload={"dossier_code": "X", "resolved_at": at}),  # unknown schema version
        envelope(payload={"dossier_code": "DEMO-BAD-UNIT", "procedure_code": "1.001193.H44",
                          "unit_code": "NO-SUCH-UNIT", "received_at": at}),  # unknown unit
    ]
    return (samples * (count // len(samples) + 1))[:count]


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def run_demo(config: Mapping[str, Any], options: DemoOptions, console: Console) -> dict[str, Any]:
    now = options.now or dt.datetime.now(LOCAL_TZ)
    period = period_containing(now.astimezone(LOCAL_TZ).date(), PeriodKind.HALF_YEAR)
    rules = rules_from_config(config)
    spec = TrafficSpec(
        start=period.start, end=now.astimezone(LOCAL_TZ).date(), now=now, dossiers=options.dossiers, seed=options.seed
    )
    console.print(f"[bold]Sinh dữ liệu[/]: {options.dossiers:,} hồ sơ, {period.title_vi}, đến {now:%d/%m/%Y %H:%M}")
    traffic = generate(spec, rules.units, rules.catalogue, rules.calendar)
    bad = malformed_messages(options.malformed)
    messages: list[Any] = list(traffic.messages) + bad
    console.print(
        f"  {len(traffic.messages):,} thông điệp ({traffic.distinct_events:,} sự kiện khác nhau, "
        f"{len(traffic.messages) - traffic.distinct_events:,} bản trùng) + {len(bad)} thông điệp lỗi"
    )
    services = [*SERVICES, WebService] if options.serve else SERVICES
    with running(services, config, http_base_port=8101, http_addresses={"web": options.web_address}) as containers:
        with rpc_proxy(config, timeout=180) as rpc:
            demo_feeds.import_catalogue(rpc, console)
        publisher = publisher_for(dict(config))
        started = time.monotonic()
        with Progress(
            TextColumn("Gửi sự kiện"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("publish", total=len(messages))
            publisher.publish_many(messages, progress=lambda n: bar.advance(task, n))
        publisher.close()
        with rpc_proxy(config, timeout=180) as rpc:
            expected = traffic.distinct_events + 1  # the bad-unit receipt is stored, then refused
            done = wait_for(lambda: rpc.dossiers.ingest_progress()["events_stored"] >= expected, timeout=600)
            elapsed = time.monotonic() - started
            progress = rpc.dossiers.ingest_progress()
            rows = rpc.dossiers.period_stats(root_code(rules), period.label, include_children=True)
            print_ingest_summary(console, progress, len(messages), elapsed, done)
            print_stats_table(console, rows)
            feeds = demo_feeds.vendor_over_http(config, containers, rpc, rules.calendar, now, console, wait_for)
            demo_feeds.reconcile(rpc, console, DEMO_DOCUMENTS)
            # the yearly figures reach scoring as timeliness_updated events: let them drain first
            wait_for(
                lambda: not any(rpc.dossiers.ingest_progress()[k] for k in ("stats_pending", "outbox_pending")),
                timeout=120,
            )
            set_ids = run_scoring(rpc, now, console)
            # the deadline scan after the whole replay: during it, dossiers whose later events are not yet
            # ingested would look overdue and get apologies they are not owed
            rpc.dossiers.scan_deadlines(force=True)  # the replay is complete: judge now
            summarize_notifications(config, rpc, console)
            paths = write_demo_documents(rpc, set_ids, now.year, period.label, DEMO_DOCUMENTS)
            print_documents(console, paths)
        if options.serve:
            serve_until_interrupted(config, rules, options.web_address, console)
    return {"rows": rows, "progress": progress, "elapsed": elapsed, "complete": done, "expected": traffic.expected,
            "set_ids": set_ids, "feeds": feeds}


DEMO_DOCUMENTS = Path("var/cchc/demo/documents")
# the demo's unit officer: a busy ward and a department, so his pages have late dossiers and a PAR Index sheet
DEMO_OFFICER_UNITS = ("07900", "H44.22")


def serve_until_interrupted(config: Mapping[str, Any], rules: Any, address: str, console: Console) -> None:
    """Print one sign-in line per role and keep every service running until Ctrl-C (or SIGTERM)."""
    units = [code for code in DEMO_OFFICER_UNITS if rules.units.get(code) is not None]
    made = create_demo_accounts(config, units or [next(u.code for u in rules.units if u.parent_code)])
    console.print(f"\n[bold]Ứng dụng web[/]: http://{address}  (Ctrl-C để dừng)")
    for account in made:
        scope = f"  — đơn vị {', '.join(account.unit_codes)}" if account.unit_codes else ""
        console.print(f"  {account.role_title:<22} {account.username} / {account.password}{scope}",
                      highlight=False, markup=False)
    console.file.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        console.print("Đang dừng…")


def print_documents(console: Console, paths: list[Path]) -> None:
    """Ranking and statistics files by name; the many commitments by folder, all of them in INDEX.txt."""
    index = DEMO_DOCUMENTS / "INDEX.txt"
    index.write_text("\n".join(str(p) for p in paths) + "\n", encoding="utf-8")
    console.print(f"\n[bold]Văn bản[/]: {len(paths)} tệp (DOCX, PDF, XLSX); danh sách đầy đủ: {index}")
    commitments = [p for p in paths if "cam-ket" in p.parts]
    for path in paths:
        if path not in commitments:
            console.print(f"  {path}")
    if commitments:
        console.print(f"  {commitments[0].parent}/ — {len(commitments)} tệp văn bản cam kết của từng đơn vị")


def root_code(rules: Any) -> str:
    return next(u.code for u in rules.units if u.parent_code is None)


def print_ingest_summary(console: Console, progress: dict[str, int], messages: int, elapsed: float,
                         done: bool) -> None:
    console.print(
        f"  Đã ghi {progress['events_stored']:,} sự kiện, {progress['dossiers']:,} hồ sơ trong "
        f"{elapsed:.1f} s ({messages / elapsed:,.0f} thông điệp/s)"
        + ("" if done else " [red](chưa xử lý xong khi hết thời gian chờ)[/]")
    )


def print_stats_table(console: Console, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    first = rows[0]
    gran = "so sánh theo ngày" if first["granularity"] == "date" else "so sánh theo phút"
    table = Table(
        title=f"Tình hình giải quyết hồ sơ — {first['period_title']} (số liệu đến {first['as_of']}, {gran})",
        show_lines=False,
        header_style="bold",
    )
    for heading in (
        "Đơn vị",
        "Tồn",
        "Mới",
        "Tổng",
        "Trước hạn",
        "Đúng hạn",
        "Trễ hạn",
        "Trong hạn",
        "Quá hạn",
        "Rút",
        "Trả lại",
        "Đúng hạn %",
        "766 %",
        "766 điểm",
    ):
        table.add_column(heading, justify="left" if heading == "Đơn vị" else "right")
    for index, row in enumerate(rows):
        table.add_row(
            ("[bold]" if index == 0 else "") + row["unit_name"],
            *(
                f"{row[k]:,}"
                for k in (
                    "carried_over",
                    "received_new",
                    "total",
                    "finished_early",
                    "finished_on_time",
                    "finished_late",
                    "unfinished_within",
                    "unfinished_overdue",
                    "withdrawn",
                    "returned",
                )
            ),
            *(display(row[k]) for k in ("on_time_rate", "progress_766_rate", "progress_766_score")),
            end_section=index == 0,
        )
    console.print(table)


DEMO_SQLITE = "sqlite:///var/cchc/demo/<service>.db"
DEMO_SCHEMA = "demo_<service>"


def demo_config(config: Mapping[str, Any], services: Sequence[str]) -> dict[str, Any]:
    """The demo starts from empty storage every run: its own SQLite folder, or ``demo_*`` PostgreSQL schemas,
    wiped first (never the schemas a real deployment uses)."""
    import shutil

    import sqlalchemy as sa

    from shared.config import deep_merge, setting
    from shared.db import make_engine

    cfg = dict(config)
    # the demo's apologies and warnings go to var/cchc/demo/{mail,letters}, wiped with the rest: local channels
    # on purpose, which the notifications service refuses anywhere else
    folders = {"email": {"folder": "var/cchc/demo/mail"}, "letters": {"folder": "var/cchc/demo/letters"},
               "allow_local_channels": True}
    cfg["notifications"] = deep_merge(cfg.get("notifications") or {}, folders)
    url = str(setting(cfg, "DATABASE_URL"))
    if url.startswith("sqlite"):
        cfg["DATABASE_URL"] = DEMO_SQLITE
        shutil.rmtree("var/cchc/demo", ignore_errors=True)
        return cfg
    for folder in ("var/cchc/demo/mail", "var/cchc/demo/letters", "var/cchc/demo/documents"):
        shutil.rmtree(folder, ignore_errors=True)
    cfg["DATABASE_SCHEMA"] = DEMO_SCHEMA
    engine = make_engine(url)
    with engine.begin() as conn:
        for service in services:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{DEMO_SCHEMA.replace("<service>", service)}" CASCADE'))
    engine.dispose()
    return cfg

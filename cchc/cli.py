"""The ``cchc`` command line: demo, run a service, publish and replay events, dead letters, the contract."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

SERVICES = ("dossiers", "scoring", "reports", "notifications", "intake", "web")


def _config(args: argparse.Namespace) -> dict[str, Any]:
    from shared.config import load_config

    return load_config(args.config)


def cmd_demo(args: argparse.Namespace) -> int:
    import eventlet

    eventlet.monkey_patch()
    from rich.console import Console

    from cchc.demo import SERVICES, DemoOptions, demo_config, run_demo

    now = args.now
    console = Console() if sys.stdout.isatty() else Console(width=170)
    config = demo_config(_config(args), [s.name for s in SERVICES] + ["web"])
    options = DemoOptions(dossiers=args.dossiers, seed=args.seed, now=now, serve=args.serve,
                          web_address=f"{args.host}:{args.port}")
    if args.serve:
        _forward_sigterm()
    result = run_demo(config, options, console)
    return 0 if result["complete"] else 1


def _forward_sigterm() -> None:
    """``demo --serve`` stops on SIGTERM as on Ctrl-C: the services stop gracefully either way."""
    import signal

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def cmd_run(args: argparse.Namespace) -> int:
    """Replace this process with ``nameko run`` so it is PID 1 in a container and gets SIGTERM."""
    from shared.config import DEFAULTS_PATH

    config = args.config or os.environ.get("CCHC_CONFIG") or str(DEFAULTS_PATH)
    argv = ["nameko", "run", "--config", config, f"services.{args.service}.service"]
    os.execvp(sys.executable, [sys.executable, "-m", *argv])
    return 0  # unreachable


def cmd_publish(args: argparse.Namespace) -> int:
    from shared.calendar import LOCAL_TZ
    from shared.events import InvalidEvent, make_envelope, parse_event
    from shared.publisher import publisher_for

    if args.file:
        from cchc.inputs import decode_text, read_input

        message = json.loads(decode_text(read_input(args.file), args.file))
    else:
        payload = json.loads(args.payload)
        occurred = dt.datetime.now(LOCAL_TZ)
        message = make_envelope(args.type, payload, occurred_at=occurred, source=args.source)
    try:
        parse_event(message)
    except InvalidEvent as exc:
        print(f"refused before sending: {exc}", file=sys.stderr)
        if not args.force:
            return 2
    publisher = publisher_for(_config(args))
    publisher.publish_many([message])
    publisher.close()
    print(json.dumps({"published": message["event_id"], "event_type": message["event_type"]}))
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from cchc.inputs import read_input
    from shared.publisher import publisher_for

    lines = [line for line in read_input(args.file).splitlines() if line.strip()]
    console = Console(stderr=True)
    publisher = publisher_for(_config(args))
    started = time.monotonic()
    with Progress(
        TextColumn("replay"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
    ) as bar:
        task = bar.add_task("replay", total=len(lines))
        sent = publisher.publish_many(lines, progress=lambda n: bar.advance(task, n))
    publisher.close()
    elapsed = max(time.monotonic() - started, 1e-9)
    console.print(
        f"sent {sent:,} messages from {args.file} in {elapsed:.1f} s ({sent / elapsed:,.0f}/s), "
        "all confirmed by the broker"
    )
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    """Write a realistic stream (the demo's generator) as JSON Lines, for `cchc replay` or a vendor's tests."""
    from cchc.traffic import TrafficSpec, generate, write_jsonl
    from services.dossiers.rules import rules_from_config
    from shared.calendar import LOCAL_TZ

    rules = rules_from_config(_config(args))
    now = args.now or dt.datetime.now(LOCAL_TZ)
    start = args.start or (now - dt.timedelta(days=182)).date()
    spec = TrafficSpec(start=start, end=now.astimezone(LOCAL_TZ).date(), now=now, dossiers=args.dossiers,
                       seed=args.seed, duplicate_share=args.duplicates, index766=args.index766)
    traffic = generate(spec, rules.units, rules.catalogue, rules.calendar)
    lines = write_jsonl(traffic.messages, args.out)
    if args.procedure_facts and traffic.truth766 is not None:
        import csv

        with open(args.procedure_facts, "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(traffic.truth766.procedure_rows())
        print(f"wrote the procedure facts to {args.procedure_facts} (cchc index766 import FILE --period …)")
    print(f"wrote {lines:,} messages ({traffic.distinct_events:,} distinct events, {traffic.dossiers:,} dossiers) "
          f"to {args.out}")
    return 0


def cmd_dlq(args: argparse.Namespace) -> int:
    from shared import deadletter
    from shared.messaging import connect

    with connect(_config(args)) as connection:
        if args.action == "list":
            for parked in deadletter.browse(connection, args.service, limit=args.limit):
                print(json.dumps(parked_view(parked), ensure_ascii=False))
        elif args.action == "count":
            print(deadletter.count(connection, args.service))
        else:
            report = deadletter.replay_report(connection, args.service, limit=args.limit)
            print(f"replayed {report.replayed} message(s)")
            for parked, why in report.kept:
                print(json.dumps({"kept_parked": why, **parked_view(parked)}, ensure_ascii=False))
            if report.kept:
                print(f"kept {len(report.kept)} message(s) parked: their origin is not a queue of {args.service}")
                return 1
    return 0


def parked_view(parked: Any) -> dict[str, Any]:
    """A dead letter as `cchc dlq list` prints it (times in Vietnam's time, +07:00)."""
    from shared.local_time import local_iso

    try:
        at = local_iso(parked.dead_lettered_at) if parked.dead_lettered_at else None
    except ValueError:  # a header some other tool wrote: shown as it is
        at = parked.dead_lettered_at
    return {
        "reason": parked.reason,
        "field": parked.field,
        "kind": parked.kind,
        "routing_key": parked.original_routing_key,
        "dead_lettered_at": at,
        "body": parked.body.decode("utf-8", "replace")[:500],
    }


def cmd_topology(args: argparse.Namespace) -> int:
    from shared.topology import main as topology_main

    return int(topology_main(args.args) or 0)


def cmd_contract(args: argparse.Namespace) -> int:
    from services.intake.openapi import write as write_openapi
    from shared.contract import write_contract

    for path in [*write_contract(Path(args.out)), write_openapi(Path(args.out))]:
        print(path)
    return 0


def parser() -> argparse.ArgumentParser:
    from cchc.inputs import CchcParser, date_arg, instant_arg

    top = CchcParser(prog="cchc", description="CCHC: one-door timeliness, PAR Index, documents.")
    top.add_argument(
        "--config",
        default=os.environ.get("CCHC_CONFIG"),
        help="YAML configuration (default: built-in defaults, env vars applied)",
    )
    sub = top.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="generate a half-year of one-door traffic, replay it, print statistics")
    demo.add_argument("--dossiers", type=int, default=6000)
    demo.add_argument("--seed", type=int, default=766)
    demo.add_argument("--now", type=instant_arg, help="pretend the current time is this ISO 8601 instant (with offset)")
    demo.add_argument("--serve", action="store_true",
                      help="keep running with the web application and print a sign-in per role (Ctrl-C stops)")
    demo.add_argument("--host", default="127.0.0.1", help="web application address with --serve")
    demo.add_argument("--port", type=int, default=8080, help="web application port with --serve")
    demo.set_defaults(func=cmd_demo)

    run = sub.add_parser("run", help="run one service (nameko run)")
    run.add_argument("service", choices=SERVICES)
    run.set_defaults(func=cmd_run)

    publish = sub.add_parser("publish", help="send one event as the one-door software would")
    publish.add_argument("--file", help="a complete envelope as JSON")
    publish.add_argument("--type", help="event type, e.g. dossier.received (with --payload)")
    publish.add_argument("--payload", help="the payload as JSON (an envelope is built around it)")
    publish.add_argument("--source", default="cchc-cli")
    publish.add_argument("--force", action="store_true", help="send even if it fails validation (testing)")
    publish.set_defaults(func=cmd_publish)

    replay = sub.add_parser("replay", help="send every envelope of a JSON Lines file")
    replay.add_argument("file")
    replay.set_defaults(func=cmd_replay)

    gen = sub.add_parser("generate", help="write generated one-door traffic as JSON Lines")
    gen.add_argument("--out", required=True)
    gen.add_argument("--dossiers", type=int, default=6000)
    gen.add_argument("--seed", type=int, default=766)
    gen.add_argument("--start", type=date_arg, help="first receipt date (default: six months before --now)")
    gen.add_argument("--now", type=instant_arg, help="the stream's present, ISO 8601 with offset (default: now)")
    gen.add_argument("--duplicates", type=float, default=0.2, help="share of re-sent messages")
    gen.add_argument("--index766", action="store_true",
                     help="add the Decision 766 facts and petitions (schema_version 2)")
    gen.add_argument("--procedure-facts", help="with --index766: also write the period's procedure facts (CSV) here")
    gen.set_defaults(func=cmd_generate)

    dlq = sub.add_parser("dlq", help="inspect or replay dead letters")
    dlq.add_argument("action", choices=("list", "count", "replay"))
    dlq.add_argument("--service", default="dossiers", choices=[s for s in SERVICES if s != "intake"])
    dlq.add_argument("--limit", type=int, default=100)
    dlq.set_defaults(func=cmd_dlq)

    contract = sub.add_parser("contract", help="write the event contract (JSON Schema + AsyncAPI, and the HTTP "
                                               "intake's OpenAPI)")
    contract.add_argument("--out", default="docs/contract")
    contract.set_defaults(func=cmd_contract)
    topology = sub.add_parser("topology", help="render or apply the RabbitMQ topology (deploy/rabbitmq)")
    topology.add_argument("args", nargs=argparse.REMAINDER)
    topology.set_defaults(func=cmd_topology)

    from services.dossiers.cli import add_parsers as add_dossiers_parsers
    from services.dossiers.index766.cli import add_parser as add_index766_parser
    from services.intake.cli import add_parser as add_intake_parser
    from services.notifications.cli import add_parser as add_notifications_parser

    add_notifications_parser(sub, _config)  # cchc notifications list|show|resend|preview
    add_index766_parser(sub, _config)  # cchc index766 show|ranking|import|imports
    add_dossiers_parsers(sub, _config)  # cchc catalogue import|show|gaps|versions, cchc reconcile
    add_intake_parser(sub, _config)  # cchc intake tokens add|rotate|revoke|list
    from services.dossiers.stats_cli import add_parser as add_stats_parser

    add_stats_parser(sub, _config)  # cchc stats verify|rebuild
    from services.web.cli import add_parser as add_users_parser

    add_users_parser(sub, _config)  # cchc users add|disable|enable|roles|list
    from services.scoring.cli import add_parser as add_scoring_parser

    add_scoring_parser(sub, _config)  # cchc scoring import-table|example-table|survey|ranking
    return top


def main(argv: list[str] | None = None) -> int:
    """Exit status of the command; a usage error (argparse's, after its one line "lỗi: …") is returned as 2 rather
    than raised, so in-process callers (tests, tools) get a status either way."""
    import warnings

    # eventlet's import-time deprecation notice (eight lines on stderr) would bury the one-line answers
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a refused argument (2)
        return exc.code if isinstance(exc.code, int) else 2
    if args.command == "publish" and not args.file and not (args.type and args.payload):
        parser().error("publish needs --file, or --type with --payload")
    from cchc.inputs import guarded

    return guarded(lambda: args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())

"""``cchc index766 show|ranking|import|imports``: the Decision 766 index from the command line.

Like ``cchc notifications``, these read (and, for ``import``, write) the dossiers service's own database directly
(``open_database`` with the same configuration), so they work whether the service runs or not: the zero-install
SQLite file, or PostgreSQL with the service's schema. They call the same read models as the RPCs
(``dossiers.index766``, ``dossiers.index766_ranking``, ``dossiers.index766_import_procedure_facts``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SERVICE = "dossiers"


@contextmanager
def _session(config: Mapping[str, Any]) -> Iterator[tuple[Any, Any]]:
    from services.dossiers.rules import rules_from_config  # imported here: `cchc --help` must stay fast
    from shared.db import open_database

    db = open_database(config, SERVICE)
    try:
        with db.transaction() as session:
            yield session, rules_from_config(config)
    finally:
        db.engine.dispose()


def show(config: Mapping[str, Any], unit_code: str, period: str, items: int = 20) -> dict[str, Any]:
    from services.dossiers.index766 import reads
    from shared.clock import utcnow

    with _session(config) as (session, rules):
        return reads.unit_index(session, rules, unit_code, period, utcnow(), max_items=items)


def ranking(config: Mapping[str, Any], period: str, unit_kind: str | None = None) -> dict[str, Any]:
    from services.dossiers.index766 import reads
    from shared.clock import utcnow

    with _session(config) as (session, rules):
        return reads.ranking(session, rules, period, utcnow(), unit_kind)


def import_facts(config: Mapping[str, Any], path: Path, period: str, actor: str, *, skip_invalid: bool = False,
                 skip_unknown: bool = False) -> dict[str, Any]:
    from cchc.inputs import read_input
    from services.dossiers.index766 import reads
    from shared.clock import utcnow

    with _session(config) as (session, rules):
        return reads.import_procedure_facts(session, rules, period, path.name, read_input(path), actor, utcnow(),
                                            skip_invalid=skip_invalid, skip_unknown=skip_unknown)


def list_imports(config: Mapping[str, Any], period: str | None = None) -> list[dict[str, Any]]:
    from services.dossiers.index766 import store
    from shared.local_time import local_iso  # people read Vietnam's time (+07:00), as `cchc dlq list` prints

    with _session(config) as (session, _):
        return [{**row, "imported_at": local_iso(row["imported_at"])} for row in store.imports(session, period)]


# -- output -----------------------------------------------------------------------------------------------------


def _console() -> Any:
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=200)


def print_unit(doc: dict[str, Any], items: int) -> None:
    from rich.table import Table

    console = _console()
    console.print(f"[bold]{doc['unit_name']} ({doc['unit_code']})[/bold] — Chỉ số QĐ 766 — {doc['period_title']}, "
                  f"số liệu đến {doc['as_of']}: [bold]{doc['total']}[/bold]/100, bị mất {doc['points_lost']} điểm")
    table = Table("Nhóm / chỉ tiêu", "Tử số", "Mẫu số", "Tỷ lệ %", "Điểm", "Tối đa", "Bị mất", "Suy luận")
    for group in doc["groups"]:
        table.add_row(f"[bold]{group['name']}[/bold]", "", "", "", f"[bold]{group['score']}[/bold]",
                      group["max_points"], group["points_lost"], "")
        for ind in group["indicators"]:
            table.add_row(f"  {ind['number']} {ind['name']}", str(ind["numerator"]), str(ind["denominator"]),
                          ind["ratio"] or "—", ind["score"] or "—", ind["max_points"], ind["points_lost"],
                          "có" if ind["inferred"] else "")
    console.print(table)
    if doc["losses"]:
        losses = Table("Chỉ tiêu", "Bị mất", "Chưa đạt", "Cần khắc phục", "Hồ sơ / TTHC (lý do)", title="Điểm bị mất")
        for loss in doc["losses"]:
            shown = "; ".join(f"{i['code']}: {i['reason']}" if i["reason"] else i["code"]
                              for i in loss["items"][:items])
            more = loss["missing"] - min(items, len(loss["items"]))
            shown = shown + (f" … và {more} khác" if more > 0 else "") if loss["items"] else (loss["note"] or "")
            losses.add_row(f"{loss['number']} {loss['name']}", loss["points_lost"], str(loss["missing"]),
                           str(loss["items_to_full"]), shown)
        console.print(losses)
    for warning in doc["warnings"]:
        console.print(f"[yellow]• {warning}[/yellow]")


def print_ranking(doc: dict[str, Any]) -> None:
    from rich.table import Table

    from services.dossiers.index766.groups import GROUPS

    console = _console()
    console.print(f"[bold]Chỉ số QĐ 766 — {doc['period_title']}[/bold], số liệu đến {doc['as_of']}: đơn vị xếp theo "
                  "số điểm bị mất")
    table = Table("STT", "Mã", "Đơn vị", *(g.name_vi + ("*" if g.inferred_numbers else "") for g in GROUPS), "Tổng",
                  "Bị mất", "Hạng", "Mất nhiều nhất")
    province = doc.get("province")
    if province:
        scores = {g["code"]: g["score"] for g in province["groups"]}
        table.add_row("", province["unit_code"], f"[bold]{province['unit_name']}[/bold]",
                      *(scores[g.code] for g in GROUPS), province["total"], province["points_lost"], "", "")
    for unit in doc["units"]:
        worst = ", ".join(f"{t['number']} (−{t['points_lost']})" for t in unit["top_losses"])
        table.add_row(str(unit["position"]), unit["unit_code"], unit["unit_name"],
                      *(unit["groups"][g.code] for g in GROUPS), unit["total"], unit["points_lost"],
                      str(unit["board_rank"]), worst)
    console.print(table)
    console.print("* nhóm có chỉ tiêu tính theo cách suy luận (chưa được công bố chính thức): " + "; ".join(
        f"{g.name_vi} ({', '.join(g.inferred_numbers)})" for g in GROUPS if g.inferred_numbers), highlight=False)
    for warning in doc["warnings"]:
        console.print(f"[yellow]• {warning}[/yellow]")


def print_imports(rows: list[dict[str, Any]]) -> None:
    """The procedure-facts imports, newest first, times in Vietnam's time."""
    from rich.table import Table

    console = _console()
    if not rows:
        console.print("Chưa nhập tệp dữ liệu thủ tục nào.")
        return
    table = Table("Mã", "Kỳ", "Nhập lúc (+07:00)", "Người nhập", "Tệp", "Số dòng", title="Các lần nhập dữ liệu thủ tục")
    for row in rows:
        at = dt.datetime.fromisoformat(row["imported_at"]).strftime("%d/%m/%Y %H:%M:%S")
        table.add_row(str(row["id"]), row["period"], at, row["actor"], row["file_name"], f"{row['rows']:,}")
    console.print(table)


def print_import_report(report: dict[str, Any]) -> None:
    """What ``index766 import`` did: imported or refused, and every refused row and unknown procedure."""
    console = _console()
    if report["accepted"]:
        console.print(f"[green]Đã nhập[/] {report['file_name']} cho kỳ {report['period']}: {report['rows_imported']:,}"
                      f" / {report['rows_read']:,} dòng.", highlight=False)
    else:
        console.print(f"[red]Không nhập[/] {report['file_name']} (kỳ {report['period']}): "
                      f"{report['refused_because'] or 'tệp có lỗi'}.", highlight=False)
    for error in report["errors"]:
        console.print(f"  [red]✗[/] dòng {error['row']}, {error['column']}: {error['reason']}", highlight=False)
    for unknown in report["unknown_procedures"]:
        console.print(f"  [yellow]?[/] dòng {unknown['row']}: thủ tục {unknown['procedure_code']} không có trong danh "
                      "mục", highlight=False)


def _write_xlsx(path: str, content: bytes) -> None:
    Path(path).write_bytes(content)
    print(f"XLSX written to {path}", file=sys.stderr)


def _show(args: argparse.Namespace, config: Mapping[str, Any]) -> int:
    doc = show(config, args.unit_code, args.period, args.items if not args.xlsx else 1000)
    if args.xlsx:
        from services.dossiers.index766.workbook import unit_workbook

        _write_xlsx(args.xlsx, unit_workbook(doc))
    if args.json:
        return _print_json(doc)
    print_unit(doc, args.items)
    return 0


def _ranking(args: argparse.Namespace, config: Mapping[str, Any]) -> int:
    doc = ranking(config, args.period, args.kind)
    if args.xlsx:
        from services.dossiers.index766.workbook import ranking_workbook

        _write_xlsx(args.xlsx, ranking_workbook(doc))
    if args.json:
        return _print_json(doc)
    print_ranking(doc)
    return 0


def _import(args: argparse.Namespace, config: Mapping[str, Any]) -> int:
    report = import_facts(config, Path(args.file), args.period, args.actor, skip_invalid=args.skip_invalid,
                          skip_unknown=args.skip_unknown)
    if args.json:
        _print_json(report)
    else:
        print_import_report(report)
    return 0 if report["accepted"] else 1


def _imports(args: argparse.Namespace, config: Mapping[str, Any]) -> int:
    rows = list_imports(config, args.period)
    if args.json:
        return _print_json(rows)
    print_imports(rows)
    return 0


# -- argparse wiring for cchc/cli.py ----------------------------------------------------------------------------
def add_parser(subparsers: Any, load_config: Callable[[argparse.Namespace], dict[str, Any]]) -> None:
    """Add ``index766`` with its sub-commands to ``cchc``'s sub-parsers."""
    from cchc.inputs import period_arg

    top = subparsers.add_parser("index766", help="the whole Decision 766 index per unit, and where the points go")
    sub = top.add_subparsers(dest="action", required=True)

    showing = sub.add_parser("show", help="one unit's six groups, its indicators and the items behind lost points")
    showing.add_argument("unit_code")
    showing.add_argument("--period", required=True, type=period_arg,
                         help="board period: 2026-08, 2026-Q3 or 2026 (calendar)")
    showing.add_argument("--items", type=int, default=5, help="items shown per indicator")
    showing.add_argument("--xlsx", help="also write the unit's workbook here")
    showing.add_argument("--json", action="store_true", help="print the RPC's JSON instead of tables")
    showing.set_defaults(func=lambda a: _guard(lambda: _show(a, load_config(a))))

    ranked = sub.add_parser("ranking", help="the province's units by the points they have at stake")
    ranked.add_argument("--period", required=True, type=period_arg)
    ranked.add_argument("--kind", choices=("department", "commune"))
    ranked.add_argument("--xlsx", help="also write the ranking workbook here")
    ranked.add_argument("--json", action="store_true")
    ranked.set_defaults(func=lambda a: _guard(lambda: _ranking(a, load_config(a))))

    importing = sub.add_parser("import", help="import procedure-level facts (CSV or XLSX) for a board period")
    importing.add_argument("file")
    importing.add_argument("--period", required=True, type=period_arg)
    importing.add_argument("--actor", default="cchc-cli", help="who imports (kept with the import)")
    importing.add_argument("--skip-invalid", action="store_true", help="import the readable rows of a file")
    importing.add_argument("--skip-unknown", action="store_true", help="import the rows the catalogue knows")
    importing.add_argument("--json", action="store_true", help="print the report as JSON instead of text")
    importing.set_defaults(func=lambda a: _guard(lambda: _import(a, load_config(a))))

    listing = sub.add_parser("imports", help="procedure-facts imports, newest first")
    listing.add_argument("--period", type=period_arg)
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(func=lambda a: _guard(lambda: _imports(a, load_config(a))))


def _guard(command: Callable[[], int]) -> int:
    """Clear one-line errors (unknown unit, bad period or file) instead of a traceback."""
    from services.dossiers.index766.procedure_facts import FactsError

    try:
        return command()
    except (LookupError, ValueError, FactsError, OSError) as exc:
        print(f"lỗi: {exc}", file=sys.stderr)
        return 2


def _print_json(value: Any) -> int:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0

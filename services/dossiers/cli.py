"""``cchc catalogue import|show|gaps|versions`` and ``cchc reconcile``: the office's commands on the dossiers data.

Like Alembic and ``cchc notifications``, they work on the dossiers service's own database directly
(``open_database``): they run whether or not the service is up (the zero-install SQLite file, or PostgreSQL with
the service's schema). The running replicas pick up an imported catalogue within
``timeliness.catalogue_refresh_seconds``; the import itself already received the dossiers it unblocks. The same
operations are RPCs of the dossiers service (``import_catalogue``, ``catalogue_procedure``, ``catalogue_gaps``,
``reconcile``) for other services.

Output is Vietnamese, times in Vietnam's time (+07:00).
"""

from __future__ import annotations

import argparse
import csv
import getpass
import hashlib
import io
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

SERVICE = "dossiers"
UNIT_WORDS = {"working_days": "ngày làm việc", "calendar_days": "ngày", "working_hours": "giờ làm việc",
              "none": "không quy định"}


def _session(config: Mapping[str, Any]) -> Any:
    from shared.db import tool_transaction  # imported here: `cchc --help` must stay fast

    return tool_transaction(config, SERVICE)


def _console() -> Any:
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=200, soft_wrap=False)


def _time(procedure: Any) -> str:
    if procedure.time_unit == "none":
        return "Không quy định"
    amount = procedure.processing_amount.normalize()
    cutoff = " (sau 15:00 tính từ ngày làm việc tiếp theo)" if procedure.cutoff is not None else ""
    return f"{format(amount, 'f')} {UNIT_WORDS[procedure.time_unit]}{cutoff}"


def _local(value: Any) -> str:
    from shared.local_time import local

    return local(value).strftime("%d/%m/%Y %H:%M (%z)") if value is not None else ""


# -- catalogue import ------------------------------------------------------------------------------------------
def import_catalogue(config: Mapping[str, Any], path: str, *, skip_invalid: bool = False, mode: str = "replace",
                     actor: str | None = None, sheet: str | None = None, default_level: str | None = None,
                     dry_run: bool = False) -> int:
    """Exit status: 0 imported (or checked clean), 1 refused for invalid rows, 2 the file cannot be read."""
    from cchc.inputs import read_input
    from services.dossiers import catalogue_store
    from services.dossiers.catalogue_import import CatalogueFileError, check_table, error_lines, read_table
    from services.dossiers.rules import rules_from_config
    from shared.clock import utcnow

    console = _console()
    data = read_input(path)
    try:
        table = read_table(path, data, sheet=sheet)
    except CatalogueFileError as exc:
        console.print(f"[red]Không đọc được tệp[/]: {exc}")
        return 2
    check = check_table(table, default_level=default_level)
    console.print(f"Tệp {path}: {len(table.rows):,} dòng dữ liệu (tiêu đề ở dòng {table.header_row}"
                  + (f"; bỏ qua các cột {', '.join(table.ignored)}" if table.ignored else "") + f"), "
                  f"{len(check.procedures):,} thủ tục hợp lệ, {len(check.error_rows):,} dòng lỗi"
                  + (f", {check.headings} dòng tiêu đề mục" if check.headings else ""))
    for line in error_lines(check.errors):
        console.print(f"  [red]✗[/] {line}", highlight=False)
    if dry_run:
        return 1 if check.errors else 0
    rules = rules_from_config(config)
    try:
        with _session(config) as session:
            provenance = catalogue_store.Provenance(Path(path).name, hashlib.sha256(data).hexdigest(),
                                                    actor or _who(), utcnow())
            result, catalogue = catalogue_store.import_table(
                session, table, rules, rules.catalogue, provenance, mode=mode, skip_invalid=skip_invalid,
                default_level=default_level)
    except catalogue_store.ImportRefused as exc:
        console.print(f"[red]Không nhập[/]: {exc}")
        return 1
    console.print(
        f"[green]Đã nhập phiên bản {result.version}[/] ({'thay thế toàn bộ' if mode == 'replace' else 'bổ sung'}): "
        f"{result.procedures:,} thủ tục; thêm {len(result.added):,}, đổi thời hạn/cấp {len(result.changed):,}, "
        f"bỏ {len(result.removed):,}; bỏ qua {len(check.error_rows):,} dòng lỗi; "
        f"{result.rederived:,} hồ sơ bị từ chối vì thiếu thời hạn nay đã được tiếp nhận."
    )
    units = catalogue_store.time_counts(catalogue)
    console.print("  Thời hạn: " + ", ".join(f"{UNIT_WORDS[u]}: {n:,}" for u, n in sorted(units.items())))
    console.print(f"  Các dịch vụ đang chạy dùng phiên bản mới trong vòng "
                  f"{_refresh_seconds(config)} giây, không cần khởi động lại.")
    return 0


def _who() -> str:
    try:
        return os.environ.get("CCHC_ACTOR") or getpass.getuser()
    except Exception:  # no login name in a container: say so rather than fail
        return "unknown"


def _refresh_seconds(config: Mapping[str, Any]) -> str:
    from shared.config import section

    return str(section(config, "timeliness")["catalogue_refresh_seconds"])


def show(config: Mapping[str, Any], code: str) -> int:
    from rich.table import Table

    from services.dossiers import catalogue_store
    from services.dossiers.rules import rules_from_config

    console = _console()
    seed = rules_from_config(config).catalogue
    with _session(config) as session:
        found = catalogue_store.procedure_history(session, code, seed)
    procedure = found["procedure"]
    if procedure is None:
        console.print(f"Thủ tục {found['key']} không có trong danh mục đang áp dụng (phiên bản {found['version']}).")
    else:
        console.print(f"[bold]{procedure.code}[/] — {procedure.name}", highlight=False)
        console.print(f"  Lĩnh vực: {procedure.field}; cấp thực hiện: "
                      f"{'Cấp tỉnh' if procedure.level == 'province' else 'Cấp xã'}"
                      + (f"; cơ quan thực hiện: {procedure.agency}" if procedure.agency else ""), highlight=False)
        console.print(f"  Thời hạn áp dụng: {_time(procedure)}"
                      + (f" — theo văn bản: “{procedure.time_text}”" if procedure.time_text else "")
                      + (" [cắt giảm]" if procedure.reduced else ""), highlight=False)
        console.print(f"  Danh mục đang áp dụng: phiên bản {found['version']}")
    table = Table(title="Lịch sử trong các phiên bản danh mục", header_style="bold")
    for heading in ("Phiên bản", "Nhập lúc", "Người nhập", "Tệp", "Thời hạn"):
        table.add_column(heading)
    for item in found["history"]:
        table.add_row(str(item["version"]), _local(item["imported_at"]) or "(tệp đóng gói)",
                      item["imported_by"] or "", item["source_name"] or "", _time(item["procedure"]))
    console.print(table)
    return 0 if procedure is not None else 1


def gaps(config: Mapping[str, Any], limit: int = 100) -> int:
    from rich.table import Table

    from services.dossiers import catalogue_store
    from services.dossiers.rules import rules_from_config

    console = _console()
    seed = rules_from_config(config).catalogue
    with _session(config) as session:
        catalogue = catalogue_store.load(session, seed)
        found = catalogue_store.gaps(session, catalogue)
    if not found:
        console.print(f"Mọi thủ tục trong hồ sơ đã nhận đều có trong danh mục (phiên bản {catalogue.version}).")
        return 0
    table = Table(title=f"Thủ tục có trong hồ sơ nhưng chưa có trong danh mục (phiên bản {catalogue.version})",
                  header_style="bold")
    for heading, justify in (("Mã thủ tục", "left"), ("Hồ sơ đã nhận (thời hạn theo phần mềm một cửa)", "right"),
                             ("Hồ sơ bị từ chối (chờ nhập danh mục)", "right"), ("Số đơn vị", "right"),
                             ("Nhận từ", "left"), ("đến", "left")):
        table.add_column(heading, justify=justify)  # type: ignore[arg-type]
    for gap in found[:limit]:
        table.add_row(gap.code, f"{gap.dossiers:,}", f"{gap.refused:,}", f"{gap.units:,}",
                      f"{gap.first_received:%d/%m/%Y}" if gap.first_received else "",
                      f"{gap.last_received:%d/%m/%Y}" if gap.last_received else "")
    console.print(table)
    console.print(f"{len(found):,} thủ tục. Nhập chúng vào danh mục (cchc catalogue import), rồi gửi lại các hồ sơ "
                  "bị từ chối (cchc dlq replay).")
    return 0


def versions(config: Mapping[str, Any]) -> int:
    from rich.table import Table

    from services.dossiers import catalogue_store

    console = _console()
    with _session(config) as session:
        rows = catalogue_store.versions(session)
    table = Table(title="Các phiên bản danh mục thủ tục", header_style="bold")
    for heading in ("Phiên bản", "Nhập lúc", "Người nhập", "Tệp", "Cách nhập", "Thủ tục", "Dòng lỗi bỏ qua"):
        table.add_column(heading)
    for row in rows:
        table.add_row(str(row["version"]), _local(row["imported_at"]), row["imported_by"], row["source_name"],
                      row["mode"], f"{row['procedures']:,}", str(row["skipped"]))
    console.print(table if rows else "Chưa nhập phiên bản nào: đang dùng danh mục đóng gói (phiên bản 0).")
    return 0


# -- reconcile -------------------------------------------------------------------------------------------------
def read_portal_csv(path: str) -> list[dict[str, str]]:
    from cchc.inputs import decode_text, read_input

    text = decode_text(read_input(path), path)
    return list(csv.DictReader(io.StringIO(text, newline="")))


def read_portal_file(path: str) -> list[dict[str, Any]]:
    """The portal's export as dicts by header: CSV, or XLSX (first sheet, headers on its first row); a file that
    cannot be read is an :class:`~cchc.inputs.InputError` naming it."""
    if Path(path).suffix.lower() != ".xlsx":
        return read_portal_csv(path)
    from openpyxl import load_workbook

    from cchc.inputs import InputError, read_input

    data = read_input(path)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (BadZipFile, KeyError, …) for a file that is no workbook
        raise InputError(f"tệp {path}: không phải bảng tính XLSX ({type(exc).__name__})") from None
    try:
        rows = list(book.worksheets[0].iter_rows(values_only=True))
    finally:
        book.close()
    if not rows:
        return []
    header = [str(value).strip() if value is not None else "" for value in rows[0]]
    return [{name: ("" if value is None else str(value)) for name, value in zip(header, row, strict=False) if name}
            for row in rows[1:] if any(value is not None and str(value).strip() for value in row)]


def reconcile_file(config: Mapping[str, Any], path: str, period: str, *, basis: str = "calendar",
                   xlsx: str | None = None, limit: int = 40, skip_invalid: bool = False) -> int:
    """Exit status: 0 reconciled, 1 the file has rows that cannot be read (every field listed; the workbook is
    written only with ``skip_invalid``), 2 the file or the period cannot be used at all."""
    from cchc.inputs import InputError
    from services.dossiers import reconcile
    from services.dossiers.reconcile_groups import is_group_file
    from services.dossiers.reconcile_xlsx import workbook_bytes
    from services.dossiers.rules import rules_from_config
    from shared.clock import utcnow

    rules = rules_from_config(config)
    rows = read_portal_file(path)
    if not rows:
        raise InputError(f"tệp {path}: không có dòng số liệu nào (cần tiêu đề và ít nhất một đơn vị)")
    _warn_period(path, rows, period)
    if is_group_file(list(rows[0])):
        return reconcile_groups_file(config, rows, path, period, xlsx=xlsx, limit=limit, skip_invalid=skip_invalid)
    with _session(config) as session:
        result = reconcile.reconcile(session, rules, rows, period, utcnow(), basis=basis).as_dict()
    if _refused(result, skip_invalid):
        return 1
    print_reconciliation(_console(), {**result, "errors": []}, limit)
    out = Path(xlsx or f"doi-soat-766-{result['period']['label']}.xlsx")
    out.write_bytes(workbook_bytes(result, Path(path).name))
    _console().print(f"Bảng tính gửi các đơn vị: {out}")
    return 0


def _warn_period(path: str, rows: list[dict[str, Any]], period: str) -> None:
    """A file that states another period than ``--period`` is most likely last month's export: say so."""
    from services.dossiers.reconcile import calendar_period, stated_periods

    stated = stated_periods(rows)
    wanted = calendar_period(period).label
    if stated and stated != {wanted}:
        print(f"cảnh báo: tệp {path} ghi kỳ {', '.join(sorted(stated))}, khác kỳ --period {wanted}", file=sys.stderr)


def _refused(result: Mapping[str, Any], skip_invalid: bool) -> bool:
    """Unreadable rows: all listed; without ``--skip-invalid`` nothing else is shown or written (exit 1)."""
    console = _console()
    for error in result["errors"]:
        console.print(f"  [red]✗[/] dòng {error['row']}, cột {error['column']}: {error['reason']}", highlight=False)
    if not result["errors"] or skip_invalid:
        return False
    rows = len({e["row"] for e in result["errors"]})
    console.print(f"[red]Không đối soát[/]: {rows} dòng của tệp có lỗi; sửa tệp, hoặc dùng --skip-invalid để đối "
                  "soát các dòng đọc được.", highlight=False)
    return True


def reconcile_groups_file(config: Mapping[str, Any], rows: list[dict[str, Any]], path: str, period: str, *,
                          xlsx: str | None = None, limit: int = 40, skip_invalid: bool = False) -> int:
    """The portal's six group scores per unit beside ours (reconcile_groups.py): table and workbook."""
    from services.dossiers.reconcile_groups import reconcile_groups
    from services.dossiers.reconcile_xlsx import groups_workbook_bytes
    from services.dossiers.rules import rules_from_config
    from shared.clock import utcnow

    with _session(config) as session:
        result = reconcile_groups(session, rules_from_config(config), rows, period, utcnow())
    if _refused(result, skip_invalid):
        return 1
    print_group_reconciliation(_console(), {**result, "errors": []}, limit)
    out = Path(xlsx or f"doi-soat-766-6-nhom-{result['period']['label']}.xlsx")
    out.write_bytes(groups_workbook_bytes(result, Path(path).name))
    _console().print(f"Bảng tính gửi các đơn vị: {out}")
    return 0


def print_group_reconciliation(console: Any, result: Mapping[str, Any], limit: int = 40) -> None:
    """Every group side by side (Cổng / hệ thống), province first, then the units with most points at stake; a
    group marked * has indicators whose method is inferred (766-INDEX.md)."""
    from rich.table import Table

    console.print(f"[bold]Đối soát sáu nhóm chỉ số QĐ 766 với Cổng DVCQG[/] — kỳ {result['period']['label']} "
                  f"({result['period']['title']}), số liệu đến {result['as_of'][:16].replace('T', ' ')} (+07:00)",
                  highlight=False)
    table = Table(header_style="bold")
    table.add_column("Đơn vị", overflow="fold")
    for group in result["groups"]:
        mark = "*" if group["inferred_indicators"] else ""
        table.add_column(f"{group['portal_code']}{mark} /{group['max_points']}\nCổng → HT", justify="right")
    table.add_column("Tổng\nCổng → HT", justify="right")
    table.add_column("Có thể thay đổi", justify="right")
    table.add_column("Ghi chú", overflow="fold")

    def cell(portal: str | None, ours: str | None) -> str:
        if portal is None:
            return f"— → {ours}"
        return f"{portal} → {ours}" + ("" if portal == ours else " [red]≠[/]")

    def row(line: Mapping[str, Any], bold: bool = False) -> None:
        stake = float(line["points_at_stake"])
        style = "bold" if bold else ("red" if stake >= 1 else "yellow" if stake else "")
        table.add_row(f"{line['portal_code']} {line['unit_name'] or line['portal_name']}",
                      *(cell(g["portal"], g["ours"]) for g in line["groups"]),
                      cell(line["total"]["portal"], line["total"]["ours"]), line["points_at_stake"],
                      "; ".join(line["notes"]), style=style, end_section=bold)

    if result["province"]:
        row(result["province"], bold=True)
    for line in result["lines"][:limit]:
        row(line)
    console.print(table)
    inferred = [f"{g['portal_code']} ({', '.join(g['inferred_indicators'])})" for g in result["groups"]
                if g["inferred_indicators"]]
    console.print("* Nhóm có chỉ tiêu tính theo cách suy luận (chưa được công bố chính thức): " + "; ".join(inferred),
                  highlight=False)
    console.print(f"{result['differing']:,} đơn vị có chênh lệch; hiển thị {min(limit, len(result['lines']))} đơn vị "
                  f"chênh nhiều điểm nhất (đủ {len(result['lines']):,} đơn vị trong bảng tính).")
    if result["unmatched"]:
        console.print(f"[yellow]{len(result['unmatched'])} dòng của Cổng không khớp đơn vị nào[/]: "
                      + ", ".join(f"{u['code']} {u['name']}" for u in result["unmatched"][:10]), highlight=False)
    for error in result["errors"]:
        console.print(f"[red]dòng {error['row']}, {error['column']}[/]: {error['reason']}", highlight=False)


def print_reconciliation(console: Any, result: Mapping[str, Any], limit: int = 40) -> None:
    """The side-by-side table (rich): province first, then the units with most points at stake."""
    from rich.table import Table

    period = result["period"]
    console.print(f"[bold]Đối soát tiến độ giải quyết (QĐ 766) với Cổng DVCQG[/] — kỳ {period['label']}")
    console.print(f"  Cổng DVCQG: {period['portal']['title']}, {period['portal']['basis']}", highlight=False)
    console.print(f"  Hệ thống:   {period['ours']['title']}, {period['ours']['basis']}; số liệu đến "
                  f"{result['as_of'][:16].replace('T', ' ')} (+07:00)", highlight=False)
    table = Table(header_style="bold", show_lines=False)
    for heading, justify in (("Đơn vị", "left"), ("Cổng: HS", "right"), ("Cổng: đúng hạn", "right"),
                             ("Cổng: điểm", "right"), ("HT: HS", "right"), ("HT: đúng hạn", "right"),
                             ("HT: đang GQ", "right"), ("HT: điểm", "right"), ("Δ HS", "right"),
                             ("Δ điểm", "right"), ("Ghi chú", "left")):
        table.add_column(heading, justify=justify, overflow="fold")  # type: ignore[arg-type]

    def row(line: Mapping[str, Any], bold: bool = False) -> None:
        ours = line["ours"] or {}
        stake = float(line["points_at_stake"] or 0)
        style = "bold" if bold else ("red" if stake >= 1 else "yellow" if stake or line["received_diff"] else "")
        diff = line["received_diff"]
        table.add_row(
            f"{line['portal_code']} {line['unit_name'] or line['portal_name']}",
            f"{line['portal']['received']:,}", f"{line['portal']['on_time']:,}", line["portal"]["score"],
            f"{ours.get('received', 0):,}" if ours else "—", f"{ours.get('on_time', 0):,}" if ours else "—",
            f"{ours.get('in_progress', 0):,}" if ours else "—", (ours.get("score") or "—") if ours else "—",
            f"{diff:+,}" if diff is not None else "—", line["score_diff"] if line["score_diff"] else "—",
            "; ".join(line["notes"]), style=style, end_section=bold,
        )

    if result["province"]:
        row(result["province"], bold=True)
    for line in result["lines"][:limit]:
        row(line)
    console.print(table)
    shown = min(limit, len(result["lines"]))
    console.print(f"{result['differing']:,} đơn vị có chênh lệch; hiển thị {shown} đơn vị chênh nhiều điểm nhất "
                  f"(đủ {len(result['lines']):,} đơn vị trong bảng tính).")
    if result["unmatched"]:
        console.print(f"[yellow]{len(result['unmatched'])} dòng của Cổng không khớp đơn vị nào[/]: "
                      + ", ".join(f"{u['code']} {u['name']}" for u in result["unmatched"][:10]), highlight=False)
    if result["missing_in_portal"]:
        console.print(f"[yellow]{len(result['missing_in_portal'])} đơn vị có hồ sơ nhưng Cổng không có số liệu[/]: "
                      + ", ".join(f"{u['unit_code']} {u['unit_name']}" for u in result["missing_in_portal"][:10]),
                      highlight=False)
    for error in result["errors"]:
        console.print(f"[red]dòng {error['row']}, {error['column']}[/]: {error['reason']}", highlight=False)


# -- argparse wiring for cchc/cli.py ----------------------------------------------------------------------------
def add_parsers(subparsers: Any, load_config: Callable[[argparse.Namespace], dict[str, Any]]) -> None:
    """Add ``catalogue`` (import, show, gaps, versions) and ``reconcile`` to ``cchc``'s sub-parsers."""
    top = subparsers.add_parser("catalogue", help="the province's procedure catalogue: import, show, gaps")
    sub = top.add_subparsers(dest="action", required=True)
    importing = sub.add_parser("import", help="load a catalogue file (CSV or XLSX, national database shape)")
    importing.add_argument("file")
    importing.add_argument("--skip-invalid", action="store_true",
                           help="import the valid rows of a file with errors (they are listed and kept in the log)")
    importing.add_argument("--mode", choices=("replace", "merge"), default="replace",
                           help="replace: the file is the whole catalogue (default); merge: add to / update the "
                                "current one")
    importing.add_argument("--by", help="who imports (default: $CCHC_ACTOR or the login name)")
    importing.add_argument("--sheet", help="XLSX sheet (default: the first)")
    importing.add_argument("--level", choices=("commune", "province"),
                           help="level of rows that give none (a decision for one level only)")
    importing.add_argument("--dry-run", action="store_true", help="check the file, import nothing")
    importing.set_defaults(func=lambda a: import_catalogue(
        load_config(a), a.file, skip_invalid=a.skip_invalid, mode=a.mode, actor=a.by, sheet=a.sheet,
        default_level=a.level, dry_run=a.dry_run))
    showing = sub.add_parser("show", help="one procedure: time in force and its history")
    showing.add_argument("code")
    showing.set_defaults(func=lambda a: _guard(lambda: show(load_config(a), a.code)))
    gap = sub.add_parser("gaps", help="procedures seen in dossiers but not in the catalogue, with counts")
    gap.add_argument("--limit", type=int, default=100)
    gap.set_defaults(func=lambda a: gaps(load_config(a), a.limit))
    listing = sub.add_parser("versions", help="the imports: who, when, which file")
    listing.set_defaults(func=lambda a: versions(load_config(a)))

    from cchc.inputs import period_arg

    rec = subparsers.add_parser("reconcile", help="our Decision-766 figures beside the national portal's file")
    rec.add_argument("file", help="the portal's CSV or XLSX: its timeliness table (departmentCode, totalReceived, "
                                  "totalOnTime, …, score) or its group scores per unit (departmentCode, CKMB, TDGQ, "
                                  "CLGQ, MDSH, MDHL, TTTT, totalScore): every group side by side")
    rec.add_argument("--period", required=True, type=period_arg,
                     help="the portal's calendar period: 2026-08, 2026-Q3 or 2026")
    rec.add_argument("--basis", choices=("calendar", "reporting"), default="calendar",
                     help="our figures over the portal's calendar dates (default) or our 15th–14th period")
    rec.add_argument("--xlsx", help="where to write the workbook (default: doi-soat-766-<period>.xlsx)")
    rec.add_argument("--limit", type=int, default=40, help="units shown in the table (all are in the workbook)")
    rec.add_argument("--skip-invalid", action="store_true",
                     help="reconcile the readable rows of a file with errors (they are listed; exit 0)")
    rec.set_defaults(func=lambda a: _guard(lambda: reconcile_file(
        load_config(a), a.file, a.period, basis=a.basis, xlsx=a.xlsx, limit=a.limit, skip_invalid=a.skip_invalid)))


def _guard(command: Callable[[], int]) -> int:
    """Clear one-line errors (unknown code, bad period or file) instead of a traceback."""
    try:
        return command()
    except (LookupError, ValueError, OSError) as exc:
        print(f"lỗi: {exc}", file=sys.stderr)
        return 2

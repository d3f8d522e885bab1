"""``cchc scoring import-table|example-table|survey|ranking``: the Sở Nội vụ's commands on the scoring data.

Like ``cchc catalogue``, they work on the scoring service's own database directly (``tool_transaction``), whether
or not the service runs; the same operations are RPCs of the scoring service (``import_criteria_table``,
``import_survey``, ``ranking``). Output is Vietnamese; points and indexes carry the set's decimals; a leaf or
figure that does not apply is "—".

Exit status: 0 done (or previewed clean), 1 refused (every problem listed, nothing stored), 2 unreadable file.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

SERVICE = "scoring"


def _session(config: Mapping[str, Any]) -> Any:
    from shared.db import tool_transaction  # imported here: `cchc --help` must stay fast

    return tool_transaction(config, SERVICE)


def _console() -> Any:
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=200, soft_wrap=False)


def _vi(value: str | None, places: int) -> str:
    from shared.vi_numbers import vi_decimal

    return "—" if value is None else vi_decimal(value, places)


def import_table(config: Mapping[str, Any], path: str, *, publish: bool = False) -> int:
    """Preview (default) or publish a province's XLSX criteria table as the next version of its set."""
    from cchc.inputs import read_input
    from services.scoring import submissions
    from services.scoring.criteria import CriteriaSetError
    from services.scoring.criteria_table import CriteriaTableError
    from shared.clock import utcnow

    console = _console()
    content = read_input(path)  # unreadable: "lỗi: tệp …", exit 2 (cchc.inputs)
    try:
        with _session(config) as session:
            if publish:
                answer = submissions.publish_criteria_table(session, content, Path(path).name, utcnow())
            else:
                answer = submissions.criteria_table_preview(session, content, Path(path).name)[1]
    except CriteriaTableError as exc:  # every bad cell, one per line
        console.print(f"[red]Bảng tiêu chí không hợp lệ[/]: {len(exc.errors)} ô lỗi", highlight=False)
        for error in exc.errors:
            console.print(f"  [red]✗[/] {error['cell']} ({error['column']}): {error['reason']}", highlight=False)
        return 1
    except (CriteriaSetError, submissions.SetConflict) as exc:
        console.print(f"[red]Bảng tiêu chí không hợp lệ[/]: {exc}", highlight=False)
        return 1
    console.print(f"Bộ tiêu chí {answer['set_id']} phiên bản {answer['version']} ({answer['year']}, "
                  f"{answer['unit_kind']}): {answer['areas']} lĩnh vực, {answer['criteria']} tiêu chí, "
                  f"{answer['leaves']} tiêu chí chấm điểm, tổng {answer['total_max_points']} điểm, "
                  f"{answer['precision']} chữ số thập phân", highlight=False)
    for key, label in (("added", "thêm"), ("removed", "bỏ"), ("changed", "sửa")):
        if answer.get(key):
            console.print(f"  {label}: {', '.join(answer[key])}", highlight=False)
    if answer.get("same_as_current"):
        console.print("Bảng giống hệt phiên bản đang dùng: không công bố phiên bản mới.")
    elif publish:
        console.print("Đã công bố.")
    else:
        console.print("Xem trước: chưa công bố gì (thêm --publish để công bố).")
    return 0


def example_table(set_file: str, out: str) -> int:
    """Write a criteria set (YAML) as the province-shaped XLSX table."""
    from services.scoring.criteria import load_criteria_set
    from services.scoring.criteria_table import criteria_set_to_xlsx

    Path(out).write_bytes(criteria_set_to_xlsx(load_criteria_set(set_file)))
    print(out)
    return 0


def survey(config: Mapping[str, Any], set_id: str, path: str, *, preview: bool, skip_invalid: bool,
           actor: str | None) -> int:
    """Survey results from CSV/XLSX: what changes, every bad row, applied only when clean (or --skip-invalid)."""
    from cchc.inputs import InputError, read_input
    from services.scoring import submissions
    from services.scoring.recalc import NotFound
    from services.scoring.scores import ScoreError
    from services.scoring.survey_import import SurveyFileError, read_survey_table
    from shared.clock import utcnow

    console = _console()
    who = actor or os.environ.get("CCHC_ACTOR") or getpass.getuser()
    content = read_input(path)
    try:  # an unreadable file is an input error (exit 2), before any database work
        read_survey_table(content, Path(path).name)
    except SurveyFileError as exc:
        raise InputError(f"tệp {path}: {exc}") from None
    try:
        with _session(config) as session:
            answer = submissions.import_survey(session, set_id, content, who, utcnow(), filename=Path(path).name,
                                               preview=True)
        for error in answer["errors"]:
            console.print(f"  [red]✗[/] dòng {error['row']}, cột {error['field']}: {error['reason']}", highlight=False)
        for change in answer["changes"]:
            console.print(f"  {change['unit_code']} {change['leaf_id']}: {change['old'] or '—'} → {change['new']}",
                          highlight=False)
        console.print(f"{answer['rows']} dòng: {len(answer['changes'])} thay đổi, {answer['unchanged']} không đổi, "
                      f"{len(answer['errors'])} dòng lỗi")
        if preview or (answer["errors"] and not skip_invalid):
            if answer["errors"] and not preview:
                console.print("[red]Không nhập gì[/]: sửa các dòng lỗi, hoặc dùng --skip-invalid.")
                return 1
            return 0
        with _session(config) as session:
            done = submissions.import_survey(session, set_id, content, who, utcnow(), filename=Path(path).name,
                                             skip_invalid=skip_invalid)
        console.print(f"Đã nhập {done['imported']} điểm điều tra của {done['units']} đơn vị.")
        return 0
    except (ScoreError, NotFound) as exc:
        console.print(f"[red]Từ chối[/]: {exc}", highlight=False)
        return 1


def ranking(config: Mapping[str, Any], set_id: str, limit: int) -> int:
    """The set's ranking with its precision, and the tie-breakers as the document states them."""
    from services.scoring import reads
    from services.scoring.recalc import NotFound

    console = _console()
    try:
        with _session(config) as session:
            answer = reads.ranking(session, set_id)
    except NotFound as exc:
        console.print(f"[red]Không tìm thấy[/]: {exc}")
        return 1
    places = answer["precision"]
    console.print(f"{answer['title']} (phiên bản {answer['set_version']}, bảng xếp hạng lần {answer['version']})")
    for row in answer["table"][:limit]:
        rank = row["rank"] if row["rank"] is not None else "—"
        console.print(f"{rank!s:>4}  {row['unit_name'][:50]:50}  {_vi(row['total_points'], places):>9}  "
                      f"{_vi(row['index'], places):>9}%  {row['classification']}", highlight=False)
    if answer["tie_breakers"]:
        console.print("Khi bằng chỉ số: xét lần lượt " + ", ".join(answer["tie_breakers"]) + ".")
    return 0


def add_parser(subparsers: Any, load_config: Callable[[argparse.Namespace], dict[str, Any]]) -> None:
    """Add ``scoring`` (import-table, example-table, survey, ranking) to ``cchc``'s sub-parsers."""
    top = subparsers.add_parser("scoring", help="PAR Index: criteria tables, survey results, rankings")
    sub = top.add_subparsers(dest="action", required=True)
    table = sub.add_parser("import-table", help="a province's criteria table (XLSX) as the next version of its set")
    table.add_argument("file")
    table.add_argument("--publish", action="store_true", help="publish it (default: preview only)")
    table.set_defaults(func=lambda a: import_table(load_config(a), a.file, publish=a.publish))
    example = sub.add_parser("example-table", help="write a criteria set (YAML) as the province-shaped XLSX")
    example.add_argument("set_file")
    example.add_argument("out")
    example.set_defaults(func=lambda a: example_table(a.set_file, a.out))
    results = sub.add_parser("survey", help="survey results (CSV or XLSX: unit_code, leaf_id, points)")
    results.add_argument("set_id")
    results.add_argument("file")
    results.add_argument("--preview", action="store_true", help="show what would change, store nothing")
    results.add_argument("--skip-invalid", action="store_true", help="store the good rows of a file with errors")
    results.add_argument("--by", help="who imports (default: $CCHC_ACTOR or the login name)")
    results.set_defaults(func=lambda a: survey(load_config(a), a.set_id, a.file, preview=a.preview,
                                               skip_invalid=a.skip_invalid, actor=a.by))
    rank = sub.add_parser("ranking", help="a set's ranking, with its decimals and tie-breakers")
    rank.add_argument("set_id")
    rank.add_argument("--limit", type=int, default=200)
    rank.set_defaults(func=lambda a: ranking(load_config(a), a.set_id, a.limit))

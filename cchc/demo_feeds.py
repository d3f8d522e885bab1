"""The one-door-feeds part of ``cchc demo``: the province's whole catalogue, a vendor posting over HTTP, the
vendor's processing times beside the catalogue's, a procedure the catalogue lacks, and the reconciliation with the
national portal's published month.

Everything goes through what a province would use: the ``dossiers.import_catalogue`` RPC with the rows
``cchc catalogue import`` reads, the intake's ``POST /v1/events`` with a vendor token, ``dossiers.catalogue_gaps``
and ``dossiers.reconcile`` with the portal's file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nameko.web.server import WebServer
from rich.console import Console
from rich.table import Table

from services.dossiers.catalogue_import import read_table
from services.dossiers.cli import print_reconciliation, read_portal_csv
from services.dossiers.reconcile_xlsx import workbook_bytes
from shared.calendar import LOCAL_TZ, WorkingCalendar
from shared.events import make_envelope

DATA = Path(__file__).resolve().parents[1] / "services" / "dossiers" / "data"
SAMPLE_CATALOGUE = DATA / "catalogue" / "phu_tho_tthc_sample.xlsx"
PORTAL_FILE = DATA / "portal" / "766_phutho_tien_do_giai_quyet_2026-08.csv"
PORTAL_PERIOD = "2026-08"
MARRIAGE = "1.000894.000.00.00.H44"  # Đăng ký kết hôn: 5 working days in the catalogue
UNCATALOGUED = "2.999101.000.00.00.H44"
NEWLY_ANNOUNCED = "2.999102.000.00.00.H44"
SOURCE = "onedoor.demo-vendor"


def import_catalogue(rpc: Any, console: Console, path: Path = SAMPLE_CATALOGUE) -> dict[str, Any]:
    """The sample province catalogue (≈1,500 procedures) as version 1, as `cchc catalogue import` would."""
    table = read_table(path)
    rows = [list(r.cells.get(c) for c in ("code", "name", "field", "level", "agency", "time")) for r in table.rows]
    header = ["Mã thủ tục", "Tên thủ tục", "Lĩnh vực", "Cấp thực hiện", "Cơ quan thực hiện", "Thời hạn giải quyết"]
    result = rpc.dossiers.import_catalogue([header, *rows], [table.header_row, *(r.row for r in table.rows)],
                                           path.name, hashlib.sha256(path.read_bytes()).hexdigest(), "cchc demo")
    console.print(f"\n[bold]Danh mục thủ tục[/]: nhập {path.name} — phiên bản {result['version']}, "
                  f"{result['procedures']:,} thủ tục (các dịch vụ dùng ngay, không khởi động lại)")
    return result


def _http_port(containers: Sequence[Any], service: str) -> int:
    container = next(c for c in containers if c.service_name == service)
    server = next(e for e in container.subextensions if isinstance(e, WebServer))
    return int(server._sock.getsockname()[1])


def _post(port: int, token: str, events: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", "/v1/events", json.dumps(events, ensure_ascii=False).encode(),
                           {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def _issue_token(config: Mapping[str, Any]) -> str:
    from services.intake import vendors
    from shared.clock import utcnow
    from shared.db import open_database

    db = open_database(config, "intake")
    try:
        with db.transaction() as session:
            return vendors.add(session, "demo-vendor", "cchc demo", utcnow(), source=SOURCE)[1]
    finally:
        db.engine.dispose()


def vendor_over_http(config: Mapping[str, Any], containers: Sequence[Any], rpc: Any, calendar: WorkingCalendar,
                     now: dt.datetime, console: Console, wait_for: Any) -> dict[str, Any]:
    """A vendor that speaks HTTP posts five dossiers: its own (reduced) time, none, an uncatalogued procedure with
    and without a time; then the province announces the missing procedure."""
    day = (now - dt.timedelta(days=21)).astimezone(LOCAL_TZ).date()
    while not calendar.is_working_day(day):
        day += dt.timedelta(days=1)
    received_at = dt.datetime.combine(day, dt.time(9, 0), LOCAL_TZ)
    finished_at = dt.datetime.combine(calendar.add_working_days(day, 4), dt.time(10, 0), LOCAL_TZ)

    def receipt(code: str, procedure: str, **extra: Any) -> dict[str, Any]:
        payload = {"dossier_code": code, "procedure_code": procedure, "unit_code": "07900",
                   "received_at": received_at, "channel": "online", **extra}
        return make_envelope("dossier.received", payload, occurred_at=received_at, source=SOURCE)

    def done(code: str) -> dict[str, Any]:
        return make_envelope("dossier.resolved", {"dossier_code": code, "resolved_at": finished_at},
                             occurred_at=finished_at, source=SOURCE)

    three = {"processing_time": "3", "processing_time_unit": "working_days"}
    naive = receipt("DEMO-HTTP-NAIVE", MARRIAGE)
    naive["payload"]["received_at"] = received_at.replace(tzinfo=None).isoformat()
    events = [receipt("DEMO-HTTP-3NGAY", MARRIAGE, **three), done("DEMO-HTTP-3NGAY"),
              receipt("DEMO-HTTP-DANHMUC", MARRIAGE), done("DEMO-HTTP-DANHMUC"),
              receipt("DEMO-HTTP-CHUACO", UNCATALOGUED, processing_time="10", processing_time_unit="calendar_days"),
              receipt("DEMO-HTTP-MOI", NEWLY_ANNOUNCED), done("DEMO-HTTP-MOI"), naive]
    port = _http_port(containers, "intake")
    stored = rpc.dossiers.ingest_progress()["events_stored"]
    status, answer = _post(port, _issue_token(config), events + events[:2])  # two events sent twice
    console.print(f"\n[bold]Tiếp nhận qua HTTP[/] (POST /v1/events, cổng {port}): HTTP {status}, "
                  f"{answer['accepted']} sự kiện được nhận (đã được hàng đợi sự kiện xác nhận), "
                  f"{answer['refused']} bị từ chối")
    for result in answer["results"]:
        if result["status"] == "refused":
            console.print(f"  sự kiện #{result['index']}: {result['field']} — {result['reason']}", highlight=False)
    codes = ["DEMO-HTTP-3NGAY", "DEMO-HTTP-DANHMUC", "DEMO-HTTP-CHUACO", "DEMO-HTTP-MOI"]
    accepted = len({r["event_id"] for r in answer["results"] if r["status"] == "accepted"})
    wait_for(lambda: rpc.dossiers.ingest_progress()["events_stored"] >= stored + accepted, timeout=60)
    _print_dossiers(console, [_dossier(rpc, c) for c in codes])
    gaps = rpc.dossiers.catalogue_gaps()
    console.print("  Thủ tục chưa có trong danh mục (cchc catalogue gaps): " + "; ".join(
        f"{g['code']}: {g['dossiers']} hồ sơ đã nhận, {g['refused']} hồ sơ bị từ chối" for g in gaps))
    decision = [["Mã thủ tục", "Tên thủ tục", "Lĩnh vực", "Cấp thực hiện", "Cơ quan thực hiện", "Thời hạn giải quyết"],
                [NEWLY_ANNOUNCED, "Thủ tục mới công bố (quyết định bổ sung)", "Hộ tịch", "Cấp xã", "UBND cấp xã",
                 "02 ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ"]]
    imported = rpc.dossiers.import_catalogue(decision, [1, 2], "qd-bo-sung.csv", "0" * 64, "cchc demo",
                                             mode="merge")
    console.print(f"  Nhập quyết định bổ sung {NEWLY_ANNOUNCED} (phiên bản {imported['version']}): "
                  f"{imported['rederived']} hồ sơ bị từ chối vì thiếu thời hạn nay đã được tiếp nhận; gửi lại thư "
                  "lỗi (cchc dlq replay) không tạo bản trùng")
    _print_dossiers(console, [_dossier(rpc, "DEMO-HTTP-MOI")])
    return {"status": status, "answer": answer, "gaps": gaps, "imported": imported}


def _dossier(rpc: Any, code: str) -> dict[str, Any]:
    return rpc.dossiers.get_dossier(code)["dossier"]


UNITS = {"working_days": "ngày làm việc", "calendar_days": "ngày", "working_hours": "giờ làm việc", "none": "—"}


def _time(amount: str | None, unit: str | None) -> str:
    if unit is None:
        return "—"
    return UNITS[unit] if amount is None else f"{amount.rstrip('0').rstrip('.')} {UNITS[unit]}"


def _print_dossiers(console: Console, dossiers: list[dict[str, Any]]) -> None:
    table = Table(header_style="bold")
    for heading in ("Hồ sơ", "Thủ tục", "Tiếp nhận", "Thời hạn theo phần mềm một cửa", "Theo danh mục", "Áp dụng",
                    "Hạn xử lý", "Kết quả"):
        table.add_column(heading)
    outcome = {"early": "trước hạn", "on_time": "đúng hạn", "late": "trễ hạn", None: "đang giải quyết"}
    for d in dossiers:
        if d["status"] == "awaiting_receipt":
            table.add_row(d["dossier_code"], "", "", "", "", "", "", "[red]từ chối: chưa có thời hạn[/]")
            continue
        table.add_row(d["dossier_code"], d["procedure_code"], d["received_at"][:16].replace("T", " "),
                      _time(d["payload_time"], d["payload_unit"]), _time(d["catalogue_time"], d["catalogue_unit"]),
                      ("phần mềm một cửa" if d["time_source"] == "payload" else "danh mục")
                      + (" [yellow](khác nhau)[/]" if d["time_mismatch"] else ""),
                      (d["due_at"] or "")[:16].replace("T", " "), outcome[d["outcome"]])
    console.print(table)


def reconcile(rpc: Any, console: Console, out_dir: Path) -> Path:
    """Our August beside the portal's published August (calendar month), and the workbook for the units."""
    result = rpc.dossiers.reconcile(read_portal_csv(str(PORTAL_FILE)), PORTAL_PERIOD)
    console.print()
    print_reconciliation(console, result, limit=12)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"doi-soat-766-{PORTAL_PERIOD}.xlsx"
    path.write_bytes(workbook_bytes(result, PORTAL_FILE.name))
    console.print(f"  Bảng tính gửi các đơn vị: {path}")
    return path

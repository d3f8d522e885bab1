"""What ``cchc demo`` shows of notifications: after the replay, wait until the apologies and warnings for the
late dossiers are produced and delivered (into the local mail folder and letter folder by default), then print
counts per kind and channel and where to find the files."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from services.notifications.settings import settings_from

KIND_VI = {
    "apology": "Xin lỗi người nộp hồ sơ",
    "late_alert": "Cảnh báo quá hạn cho lãnh đạo",
    "due_soon_digest": "Tổng hợp hồ sơ sắp đến hạn",
    "overdue_digest": "Tổng hợp hồ sơ quá hạn",
    "window_opening": "Mở kỳ tự đánh giá",
    "window_closing": "Sắp hết hạn tự đánh giá",
    "ranking_published": "Công bố xếp hạng",
    "explanation_requested": "Đề nghị giải trình",
    "explanation_answered": "Đơn vị đã giải trình",
}
CHANNEL_VI = {"email": "thư điện tử", "sms": "SMS", "webhook": "webhook", "letter": "văn bản in"}


def _settled(rpc: Any, quiet_seconds: float, timeout: float) -> dict[str, Any]:
    """Wait until nothing new was produced for ``quiet_seconds`` and nothing is waiting, or ``timeout``."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    summary = rpc.notifications.summary()
    while time.monotonic() < deadline:
        summary = rpc.notifications.summary()
        total = sum(c["count"] for c in summary["counts"])
        waiting = sum(c["count"] for c in summary["counts"] if c["status"] in ("pending", "sending"))
        if total != last:
            last, since = total, time.monotonic()
        elif total and not waiting and time.monotonic() - since >= quiet_seconds:
            break
        time.sleep(0.25)
    return summary


def summarize(config: Mapping[str, Any], rpc: Any, console: Any, timeout: float = 120.0,
              quiet_seconds: float = 3.0) -> dict[str, Any]:
    """Print the notifications the demo produced; ``rpc`` is a cluster proxy, ``console`` a rich Console.

    Call after the replay with the notifications service running (and dossiers' deadline scan frequent enough
    for the late dossiers to be announced, e.g. ``timeliness.scan_interval_seconds: 1``). The waiting digests
    are sent at once rather than at the next digest interval.
    """
    from rich.table import Table

    _settled(rpc, quiet_seconds, timeout)
    rpc.notifications.flush_digests()
    summary = _settled(rpc, 1.0, timeout)
    table = Table(title="Thông báo đã tạo (xin lỗi, cảnh báo, tổng hợp)", header_style="bold")
    for heading in ("Loại", "Kênh", "Đã gửi", "Lỗi", "Chờ gửi"):
        table.add_column(heading, justify="left" if heading in ("Loại", "Kênh") else "right")
    cells: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in summary["counts"]:
        cells[(row["kind"], row["channel"])][row["status"]] += row["count"]
    for (kind, channel), counts in sorted(cells.items()):
        table.add_row(KIND_VI.get(kind, kind), CHANNEL_VI.get(channel, channel), f"{counts['sent']:,}",
                      f"{counts['failed']:,}", f"{counts['pending'] + counts['sending']:,}")
    console.print(table)
    settings = settings_from(config)
    if settings["email"]["transport"] == "folder":
        console.print(f"  Thư điện tử (.eml): {Path(settings['email']['folder']).resolve()}")
    console.print(f"  Văn bản xin lỗi chờ in (PDF): {Path(settings['letters']['folder']).resolve()}")
    if settings["sms"]["transport"] == "console":
        console.print("  SMS: in ra nhật ký (console), số điện thoại và họ tên đã được che")
    return summary

"""A one-door vendor's day one, over the bus on both backends (RabbitMQ + PostgreSQL is the real broker): receipts
whose processing time differs from the catalogue, a procedure the catalogue lacks, duplicates and shuffled order —
then the office imports the missing procedure with `cchc catalogue import`, every replica picks the new version up
without a restart, and `cchc dlq replay` finishes the refused receipt."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

from cchc.cli import main
from cchc.runner import rpc_proxy, running
from services.dossiers.cli import read_portal_csv
from services.dossiers.service import DossiersService, Rules
from shared import deadletter
from shared.events import make_envelope
from shared.messaging import connect
from shared.publisher import publisher_for
from tests.support import wait_until

TZ = dt.timezone(dt.timedelta(hours=7))
MON = dt.datetime(2026, 7, 6, 9, 0, tzinfo=TZ)  # Monday 6/7/2026
MARRIAGE = "1.000894.000.00.00.H44"  # Đăng ký kết hôn: 5 working days in the catalogue
UNCATALOGUED = "2.999101.000.00.00.H44"
NEVER_TIMED = "2.999102.000.00.00.H44"
PORTAL = Path(__file__).resolve().parents[2] / "services" / "dossiers" / "data" / "portal" / \
    "766_phutho_tien_do_giai_quyet_2026-08.csv"


def received(code: str, procedure: str, **extra) -> dict:
    payload = {"dossier_code": code, "procedure_code": procedure, "unit_code": "07900", "received_at": MON, **extra}
    return make_envelope("dossier.received", payload, occurred_at=MON, source="onedoor.vendor")


def resolved(code: str, days: int) -> dict:
    at = MON + dt.timedelta(days=days)
    return make_envelope("dossier.resolved", {"dossier_code": code, "resolved_at": at}, occurred_at=at,
                         source="onedoor.vendor")


def mismatches() -> float:
    return REGISTRY.get_sample_value("cchc_processing_time_mismatches_total",
                                     {"service": "dossiers", "applied": "payload"}) or 0.0


def replicas_versions(containers) -> list[int]:
    return [next(d for d in c.dependencies if isinstance(d, Rules)).rules.catalogue.version for c in containers]


def cli_config(config: dict, tmp_path: Path) -> str:
    path = tmp_path / "cchc.yaml"
    keys = ("AMQP_URI", "DATABASE_URL", "DATABASE_SCHEMA")
    path.write_text(yaml.safe_dump({k: config[k] for k in keys if k in config}), encoding="utf-8")
    return str(path)


def test_the_payload_time_decides_and_an_import_then_a_replay_finishes_the_rest(backend_config, tmp_path):
    config = backend_config(timeliness={"scan_interval_seconds": 3600, "catalogue_refresh_seconds": 0.3})
    three_days = {"processing_time": "3", "processing_time_unit": "working_days"}
    events = [
        received("REDUCED", MARRIAGE, **three_days), resolved("REDUCED", 4),  # Friday: late by the promised 3 days
        received("ON-CATALOGUE", MARRIAGE), resolved("ON-CATALOGUE", 4),  # early by the catalogue's 5
        received("UNCATALOGUED", UNCATALOGUED, processing_time="10", processing_time_unit="calendar_days"),
        resolved("UNCATALOGUED", 9),
        received("NO-TIME", NEVER_TIMED), resolved("NO-TIME", 2),
    ]
    stream = events + events[::2]  # every receipt delivered twice
    random.Random(13).shuffle(stream)  # and the order a vendor's retries produce
    before = mismatches()
    with running([DossiersService, DossiersService], config) as replicas, rpc_proxy(config) as rpc:
        publisher = publisher_for(config)
        publisher.publish_many(stream)
        publisher.close()
        with connect(config) as connection:
            letters = wait_until(lambda: deadletter.browse(connection, "dossiers"), timeout=60,
                                 message="the receipt without any processing time dead-lettered")
        wait_until(lambda: rpc.dossiers.ingest_progress()["events_stored"] >= len(events), timeout=60,
                   message="every distinct event stored")
        reduced = rpc.dossiers.get_dossier("REDUCED")["dossier"]
        on_catalogue = rpc.dossiers.get_dossier("ON-CATALOGUE")["dossier"]
        uncatalogued = rpc.dossiers.get_dossier("UNCATALOGUED")["dossier"]
        gaps = {g["code"]: g for g in rpc.dossiers.catalogue_gaps()}
        assert rpc.dossiers.get_dossier("NO-TIME")["dossier"]["status"] == "awaiting_receipt"

        # (a receipt delivered twice is dead-lettered once: its refusal is written with the batch that stored it)
        (letter,) = {(p.body, p.field, p.reason): p for p in letters}.values()
        assert letter.field == "payload.procedure_code" and "no processing time" in letter.reason
        assert (reduced["due_at"], reduced["outcome"], reduced["time_source"]) == (
            "2026-07-09T09:00:00+07:00", "late", "payload")
        assert (reduced["processing_time"], reduced["catalogue_time"], reduced["time_mismatch"]) == ("3.00", "5.00",
                                                                                                    True)
        assert (on_catalogue["due_at"], on_catalogue["outcome"], on_catalogue["time_mismatch"]) == (
            "2026-07-13T09:00:00+07:00", "early", False)
        assert (uncatalogued["due_at"], uncatalogued["outcome"], uncatalogued["catalogue_unit"]) == (
            "2026-07-16T09:00:00+07:00", "early", None)
        assert (gaps[UNCATALOGUED]["dossiers"], gaps[NEVER_TIMED]["refused"]) == (1, 1)
        assert mismatches() - before == 1  # counted once, though the receipt came twice

        # The office imports the missing procedure (the sample catalogue plus a decision announcing it) ...
        decision = tmp_path / "qd-bo-sung.csv"
        decision.write_text("Mã thủ tục,Tên thủ tục,Lĩnh vực,Cấp thực hiện,Cơ quan thực hiện,Thời hạn giải quyết\n"
                            f"{NEVER_TIMED},Thủ tục mới công bố,Hộ tịch,Cấp xã,UBND cấp xã,"
                            "02 ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ\n", encoding="utf-8")
        cfg = cli_config(config, tmp_path)
        assert main(["--config", cfg, "catalogue", "import", "--by", "Sở Nội vụ", "--mode", "merge",
                     str(decision)]) == 0
        # ... every replica switches to it without a restart ...
        wait_until(lambda: replicas_versions(replicas) == [1, 1], timeout=30, message="both replicas on version 1")
        # ... and the replay of the dead letter is harmless: the import already received the dossier.
        assert main(["--config", cfg, "dlq", "replay"]) == 0
        with connect(config) as connection:
            wait_until(lambda: deadletter.count(connection, "dossiers") == 0, timeout=30, message="the DLQ drained")
        no_time = wait_until(lambda: (lambda d: d if d["closing"] else None)(
            rpc.dossiers.get_dossier("NO-TIME")["dossier"]), timeout=30, message="NO-TIME finished")
        progress = rpc.dossiers.ingest_progress()
        assert rpc.dossiers.catalogue_gaps() == [{**gaps[UNCATALOGUED]}]
        # the four dossiers of July at Phường Việt Trì (H44.100), set beside a portal file over the same month
        month = rpc.dossiers.reconcile(read_portal_csv(str(PORTAL)), "2026-07")
        viet_tri = next(line for line in month["lines"] if line["portal_code"] == "H44.100")
        assert (viet_tri["ours"]["received"], viet_tri["ours"]["on_time"], viet_tri["ours"]["score"]) == (4, 3,
                                                                                                         "15.00")
        assert month["period"]["ours"]["start"] == "2026-07-01"
        assert rpc.dossiers.catalogue_procedure(NEVER_TIMED)["procedure"]["time_unit"] == "working_days"
    assert (no_time["due_at"], no_time["outcome"], no_time["time_source"]) == ("2026-07-08T09:00:00+07:00", "on_time",
                                                                               "catalogue")
    assert progress["events_stored"] == len(events) and progress["events_refused"] == 0

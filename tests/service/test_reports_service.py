"""The reports service over a bus with the dossiers and scoring services, on both backends: malformed requests
answered with an error and no file; the ranking document built when ranking_updated arrives and downloadable
with its token; a commitment proposed from last year's figures and, at the year's end, set against the actual
ones; the one-door statistics of the province and of a unit. Every figure is read back from the
generated DOCX / XLSX / PDF and compared with what the scoring and dossiers services return."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import random
import socket
import unicodedata
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import docx
import openpyxl
import pytest
from nameko.exceptions import RemoteError
from prometheus_client import REGISTRY
from pypdf import PdfReader

from cchc.runner import rpc_proxy, running
from services.dossiers.service import DossiersService
from services.reports.commitment import TARGET_LABELS
from services.reports.formats.xlsx import HEADER_ROW
from services.reports.numbers import parse_vi_number
from services.reports.service import ReportsService
from services.scoring.criteria import DATA_DIR, load_criteria_set, parse_criteria_set
from services.scoring.service import ScoringService
from shared.events import make_envelope
from shared.publisher import publisher_for
from tests.support import http_get, wait_until

TZ = dt.timezone(dt.timedelta(hours=7))
PROCEDURE = "2.002127.H44"  # a provincial procedure, 3 working days


def free_port_block(count: int) -> int:
    """``count`` consecutive free ports (one HTTP listener per container), so parallel runs do not collide."""
    for _ in range(100):
        base = random.randint(20000, 60000)
        sockets = []
        try:
            for offset in range(count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no free ports")


def open_window_copy(tmp_path: Path, set_id: str) -> tuple[Path, object]:
    """The example department set with its self-assessment window around now."""
    data = json.loads(load_criteria_set(DATA_DIR / "department-2026.yaml").to_json())
    now = dt.datetime.now(TZ)
    data["id"] = set_id
    data["window"] = {"opens": (now - dt.timedelta(days=1)).isoformat(),
                      "closes": (now + dt.timedelta(days=1)).isoformat()}
    path = tmp_path / f"{set_id}.json.yaml"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path, parse_criteria_set(data, str(path))


def full_marks(cs) -> list[dict]:
    return [{"leaf_id": leaf.id, "points": str(leaf.max_points), "evidence": [f"QĐ-{leaf.id}"]}
            for leaf in cs.leaves() if leaf.method.kind == "self" and not leaf.is_deduction]


@pytest.fixture
def reports(backend_config, tmp_path):
    config = backend_config(timeliness={"stats_publish_interval_seconds": 0.2}, outbox={"relay_interval_seconds": 0.1},
                            reports={"ranking_build_interval_seconds": 0.2,
                                     "commitment": {"goals": {"on_time_rate": "60"}}})
    path, cs = open_window_copy(tmp_path, "dept-test-2026")
    port = free_port_block(3)
    with running([DossiersService, ScoringService, ReportsService], config, http_base_port=port), \
            rpc_proxy(config, timeout=120) as rpc:
        assert rpc.scoring.sync_units() > 100
        rpc.scoring.publish_criteria_set(str(path))
        yield SimpleNamespace(rpc=rpc, cs=cs, config=config, http=f"http://127.0.0.1:{port + 2}")


def read_file(rpc, file: dict) -> bytes:
    """A kept file's content, as the web application fetches it (RPC, no token), checked against its row."""
    answer = rpc.reports.document_file(file["id"])
    data = base64.b64decode(answer["content_b64"])
    assert len(data) == file["size"] == answer["size"] > 0
    assert hashlib.sha256(data).hexdigest() == file["sha256"] == answer["sha256"]
    assert answer["filename"] == file["filename"]
    return data


def by_format(rpc, result: dict) -> dict[str, bytes]:
    return {f["format"]: read_file(rpc, f) for f in result["files"]}


def pdf_lines(data: bytes) -> list[str]:
    return [line for page in PdfReader(io.BytesIO(data)).pages for line in page.extract_text().splitlines()]


def docx_table(data: bytes, first_header: str, third_header: str) -> list[list[str]]:
    document = docx.Document(io.BytesIO(data))
    for table in document.tables:
        header = [cell.text for cell in table.rows[0].cells]
        if header[:1] == [first_header] and header[2:3] == [third_header]:
            return [[cell.text for cell in row.cells] for row in table.rows]
    raise AssertionError(f"no table headed {first_header!r} … {third_header!r}")


get = http_get


def assert_malformed_requests_build_nothing(reports):
    """An unknown unit, set or period, a bad format or figure: a named error, and no file, row or download."""
    rpc = reports.rpc
    for call, kind in [
        (lambda: rpc.reports.build_ranking("no-such-set"), "NotFound"),
        (lambda: rpc.reports.build_ranking(reports.cs.id), "NotFound"),  # published, but nobody scored yet
        (lambda: rpc.reports.build_ranking([]), "BadRequest"),
        (lambda: rpc.reports.build_commitment("NO-SUCH", 2026), "NotFound"),
        (lambda: rpc.reports.build_commitment("H44.07", 2026, apologies={"actual": "150"}), "BadRequest"),
        (lambda: rpc.reports.build_commitment("H44.07", 2026, formats=["odt"]), "BadRequest"),
        (lambda: rpc.reports.build_statistics("H44.07", "2026-13"), "BadRequest"),
        (lambda: rpc.reports.build_statistics("H44.07", "2026-Q5"), "BadRequest"),
        (lambda: rpc.reports.build_statistics("P25", ""), "BadRequest"),
        (lambda: rpc.reports.build_statistics("NO-SUCH", "2026"), "NotFound"),
    ]:
        with pytest.raises(RemoteError) as error:
            call()
        assert error.value.exc_type == kind, error.value
    assert rpc.reports.documents() == []
    status, _ = get(reports.http + "/documents/1", {"Authorization": "Bearer x"})
    assert status == 404
    with pytest.raises(RemoteError) as error:
        rpc.reports.document_file(1)
    assert error.value.exc_type == "NotFound"


def test_ranking_document_follows_ranking_updated(reports):
    rpc, cs = reports.rpc, reports.cs
    assert_malformed_requests_build_nothing(reports)  # first, while nothing at all is built
    marks = full_marks(cs)
    rpc.scoring.submit_scores(cs.id, "H44.07", marks, "u", True)
    rpc.scoring.submit_scores(cs.id, "H44.08", marks[:-5], "u", True)
    rpc.scoring.submit_scores(cs.id, "H44.42", marks[:-2], "u", True)  # Sở Nội vụ: ranked like any department

    def built_from_the_latest_ranking():
        ranking = rpc.scoring.ranking(cs.id)
        files = rpc.reports.documents(kind="ranking", key=cs.id)
        done = len(ranking["table"]) == 3 and len(files) == 3 and all(
            f["sources"]["ranking_versions"][cs.id] == ranking["version"] for f in files)
        gauge = REGISTRY.get_sample_value("cchc_documents_ranking_version", {"service": "reports", "set_id": cs.id})
        return done and gauge == ranking["version"] and (ranking, files)  # the gauge is set just after the files

    ranking, files = wait_until(built_from_the_latest_ranking, timeout=60, message="the ranking document")
    data = {f["format"]: read_file(rpc, f) for f in files}
    expected = [[str(i), r["unit_name"] + (" (*)" if r["provisional"] else ""),
                 *(f"{Decimal(r[k]):.2f}".replace(".", ",") for k in ("self_total", "appraised_total", "survey_total",
                                                                      "total_points", "index")),
                 "–" if r["rank"] is None else str(r["rank"]), r["classification"]]
                for i, r in enumerate(ranking["table"], start=1)]
    assert [r[1] for r in expected] == ["Sở Công Thương (*)", "Sở Nội vụ (*)", "Sở Giáo dục và Đào tạo (*)"]
    assert [r[7] for r in expected] == ["1", "2", "3"]  # no invented exclusion: Sở Nội vụ has its rank

    assert docx_table(data["docx"], "STT", "Điểm tự đánh giá")[1:] == expected
    areas = docx_table(data["docx"], "STT", "Chỉ số thành phần theo lĩnh vực (%)")
    first = ranking["table"][0]
    assert [parse_vi_number(c) for c in areas[2][2:-1]] == [Decimal(first["areas"][a["area_id"]])
                                                            for a in ranking["areas"]]
    sheet = openpyxl.load_workbook(io.BytesIO(data["xlsx"]))["Xếp hạng I"]
    for i, r in enumerate(ranking["table"]):
        row = [sheet.cell(HEADER_ROW + 1 + i, col).value for col in range(1, 10)]
        assert [Decimal(str(v)) for v in row[2:7]] == [Decimal(r[k]) for k in ("self_total", "appraised_total",
                                                                               "survey_total", "total_points",
                                                                               "index")]
        assert row[7] == r["rank"] and row[8] == r["classification"]
    lines = pdf_lines(data["pdf"])
    assert all(" ".join(row) in lines for row in expected)
    assert unicodedata.normalize("NFC", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM") in lines
    assert any(line.startswith(f"Số liệu: bảng xếp hạng phiên bản {ranking['version']}") for line in lines)
    assert REGISTRY.get_sample_value("cchc_documents_ranking_version",
                                     {"service": "reports", "set_id": cs.id}) == ranking["version"]

    # downloadable with its signed link or its token in a header, and only so
    pdf = next(f for f in files if f["format"] == "pdf")
    status, body = get(reports.http + pdf["url"])
    assert status == 200 and hashlib.sha256(body).hexdigest() == pdf["sha256"]
    status, body = get(reports.http + f"/documents/{pdf['id']}", {"Authorization": f"Bearer {pdf['token']}"})
    assert status == 200 and hashlib.sha256(body).hexdigest() == pdf["sha256"]
    signed = pdf["url"].split("?")[1]
    for url, headers in [(f"/documents/{pdf['id']}?token={pdf['token']}", {}),  # the token never in a URL
                         (f"/documents/{pdf['id']}", {}), (f"/documents/{pdf['id']}", {"Authorization": "Bearer x"}),
                         (f"/documents/{pdf['id'] + 999}?{signed}", {}),
                         (f"/documents/{pdf['id'] + 999}", {"Authorization": f"Bearer {pdf['token']}"}),
                         (f"/documents/..%2F..%2Fetc%2Fpasswd?{signed}", {})]:
        status, body = get(reports.http + url, headers)
        assert status == 404 and b"%PDF" not in body, url
    # asking again for the same ranking builds nothing new
    again = rpc.reports.build_ranking(cs.id, ["pdf"])
    assert not again["built"] and again["files"][0]["id"] == pdf["id"]


def receive(code: str, unit: str, at: dt.datetime, channel: str) -> dict:
    return make_envelope("dossier.received", {"dossier_code": code, "procedure_code": PROCEDURE, "unit_code": unit,
                                              "received_at": at, "channel": channel}, occurred_at=at)


def resolve(code: str, at: dt.datetime) -> dict:
    return make_envelope("dossier.resolved", {"dossier_code": code, "resolved_at": at}, occurred_at=at)


def test_commitment_and_statistics_equal_the_services_figures(reports):
    rpc, cs = reports.rpc, reports.cs
    aug25, jul26 = dt.datetime(2025, 8, 4, 9, tzinfo=TZ), dt.datetime(2026, 7, 6, 9, tzinfo=TZ)
    hour, day = dt.timedelta(hours=1), dt.timedelta(days=1)
    publisher = publisher_for(reports.config)
    publisher.publish_many([
        receive("R25-1", "H44.07", aug25, "online"), resolve("R25-1", aug25 + 2 * hour),
        receive("R25-2", "H44.07", aug25 + hour, "in_person"), resolve("R25-2", aug25 + 57 * day),  # late
        receive("R25-3", "H44.07", aug25 + day, "in_person"), resolve("R25-3", aug25 + day + hour),
        receive("R26-1", "H44.07", jul26, "online"), resolve("R26-1", jul26 + 2 * hour),
        receive("R26-2", "H44.07", jul26 + day, "in_person"),  # never resolved: overdue by now
        receive("R26-3", "H44.08", jul26 + 2 * day, "online"), resolve("R26-3", jul26 + 2 * day + hour),
    ])
    publisher.close()
    wait_until(lambda: rpc.dossiers.period_stats("H44.07", "2025")["finished"] == 3
               and rpc.dossiers.period_stats("P25", "2026")["total"] == 3, timeout=30, message="dossiers stored")
    rpc.scoring.set_plan_items("H44.07", 2025, [{"title": f"Nhiệm vụ {i}", "status": s} for i, s in
                                                enumerate(["done", "done", "done", "not_started"])])
    rpc.scoring.set_plan_items("H44.07", 2026, [{"title": "Rà soát thủ tục", "status": "done"},
                                                {"title": "Số hóa hồ sơ", "status": "in_progress"}])

    # -- the commitment, proposed from last year's results and the province's goals
    last = rpc.dossiers.period_stats("H44.07", "2025")
    result = rpc.reports.build_commitment("H44.07", 2026, apologies={"last_year": "90"})
    data = by_format(rpc, result)
    rows = docx_table(data["docx"], "STT", "Kết quả năm 2025")
    assert rows[0] == ["STT", "Chỉ tiêu", "Kết quả năm 2025", "Mục tiêu của tỉnh", "Cam kết năm 2026"]
    table = {row[1]: row[2:] for row in rows[1:]}
    on_time = Decimal(last["on_time_rate"])
    assert on_time == Decimal("66.67")
    assert [parse_vi_number(v) for v in table[TARGET_LABELS["on_time_rate"]]] == [on_time, 60, on_time]
    assert [parse_vi_number(v) for v in table[TARGET_LABELS["online_share"]]] == [Decimal(last["online_share"]), 50,
                                                                                  50]
    assert [parse_vi_number(v) for v in table[TARGET_LABELS["progress_766_rate"]]] == [
        Decimal(last["progress_766_rate"]), 90, 90]
    assert [parse_vi_number(v) for v in table[TARGET_LABELS["plan_completion"]]] == [75, 100, 100]
    assert table[TARGET_LABELS["par_index"]] == ["Chưa có số liệu", "80,00", "80,00"]  # no 2025 set for departments
    assert [parse_vi_number(v) for v in table[TARGET_LABELS["apologies_on_time"]]] == [90, 100, 100]
    sheet = openpyxl.load_workbook(io.BytesIO(data["xlsx"]))["Chỉ tiêu cam kết"]
    assert sheet.cell(HEADER_ROW + 2, 3).value == float(on_time)
    text = "\n".join(pdf_lines(data["pdf"]))
    assert "Bên cam kết (Bên B): Sở Công Thương, đại diện là Thủ trưởng cơ quan." in text
    assert "ĐẠI DIỆN BÊN A" in text and "ĐẠI DIỆN BÊN B" in text

    # -- the year's end: the unit is scored, the same targets against the actual results
    rpc.scoring.submit_scores(cs.id, "H44.07", full_marks(cs), "u", True)
    wait_until(lambda: rpc.reports.documents(kind="ranking", key=cs.id), timeout=60, message="the set seen")
    index = Decimal(rpc.scoring.unit_result(cs.id, "H44.07")["index"])
    now = rpc.dossiers.period_stats("H44.07", "2026")
    final = rpc.reports.build_commitment("H44.07", 2026, with_results=True)
    rows = docx_table(by_format(rpc, final)["docx"], "STT", "Kết quả năm 2025")
    assert rows[0][-2:] == ["Kết quả năm 2026", "Đánh giá"]
    table = {row[1]: row[2:] for row in rows[1:]}
    assert table[TARGET_LABELS["on_time_rate"]][2:] == ["66,67", "100,00", "Đạt"]
    assert Decimal(now["on_time_rate"]) == 100
    assert table[TARGET_LABELS["online_share"]][2:] == ["50,00", "50,00", "Đạt"]
    assert table[TARGET_LABELS["plan_completion"]][2:] == ["100,00", "50,00", "Không đạt"]
    assert table[TARGET_LABELS["apologies_on_time"]][2:] == ["100,00", "Chưa có số liệu", "Chưa có số liệu"]
    assert parse_vi_number(table[TARGET_LABELS["par_index"]][3]) == index
    assert table[TARGET_LABELS["par_index"]][4] == ("Đạt" if index >= 80 else "Không đạt")

    # -- one-door statistics: the province for a quarter, a unit for a month
    expected = rpc.dossiers.period_stats("P25", "2026-Q3", True)
    stats = by_format(rpc, rpc.reports.build_statistics("P25", "2026-Q3"))
    sheet = openpyxl.load_workbook(io.BytesIO(stats["xlsx"]))["Thống kê một cửa"]
    keys = ["carried_over", "received_new", "total", "finished", "finished_early", "finished_on_time",
            "finished_late", "unfinished", "unfinished_within", "unfinished_overdue", "withdrawn", "returned"]
    rates = ["on_time_rate", "progress_766_rate", "progress_766_score", "online_share"]
    written = {}
    for row in sheet.iter_rows(min_row=HEADER_ROW + 2, max_col=18, values_only=True):
        if isinstance(row[1], str) and row[2] is not None:
            written[row[1]] = row[2:]
    by_name = {r["unit_name"]: r for r in expected}
    for name in ("UBND tỉnh Phú Thọ", "Sở Công Thương", "Sở Giáo dục và Đào tạo"):
        figures = by_name[name]
        assert list(written[name][:12]) == [figures[k] for k in keys]
        assert [Decimal(str(v)) for v in written[name][12:]] == [Decimal(figures[k]) for k in rates]
    assert by_name["UBND tỉnh Phú Thọ"]["total"] == 3 and set(written) <= set(by_name)
    lines = pdf_lines(stats["pdf"])
    assert any(line.startswith("Tình hình, kết quả giải quyết thủ tục hành chính quý III năm 2026") for line in lines)
    month = by_format(rpc, rpc.reports.build_statistics("H44.07", "2026-07", ["pdf"]))
    figures = rpc.dossiers.period_stats("H44.07", "2026-07")
    row = " ".join(["Sở Công Thương", *(str(figures[k]) for k in keys),
                    *(f"{Decimal(figures[k]):.2f}".replace(".", ",") for k in rates)])
    assert row in pdf_lines(month["pdf"])

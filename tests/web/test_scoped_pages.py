"""Pages of the web application served in-process with the dossiers and reports services, on both backends
(memory + SQLite, RabbitMQ + PostgreSQL), for what the browser tests cannot cheaply stage: a province with more
than a thousand documents, a public table longer than a page, and bad input in the URLs of those pages."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from types import SimpleNamespace

import pytest

from cchc.runner import running
from services.dossiers.service import DossiersService
from services.reports import store
from services.reports.models import DocumentFile
from services.reports.service import ReportsService
from services.web import accounts, sessions
from services.web.accounts import AccountInput
from services.web.audit import Origin
from services.web.pages import public
from services.web.service import WebService
from services.web.settings import load_settings
from shared.clock import utcnow
from shared.db import open_database
from tests.support import http_get

PASSWORD = "Mat-khau-thu-2026"
OFFICER_UNIT, OTHER_UNIT = "07900", "07894"  # Việt Trì, Nông Trang


@pytest.fixture
def rpc_timeout() -> float:
    """How long the web service waits for a backend: a thousand documents listed on a busy machine take their time."""
    return 30


@pytest.fixture
def site(backend_config, tmp_path, rpc_timeout):
    config = backend_config(web={"cookie_secure": False, "rpc_timeout_seconds": rpc_timeout},
                            reports={"output_dir": str(tmp_path / "documents")})
    with running([DossiersService, ReportsService, WebService], config) as containers:
        server = next(ext for ext in containers[2].extensions if type(ext).__name__ == "WebServer")
        host, port = server._sock.getsockname()[:2]
        web_db = open_database(config, "web")
        cookies = {}
        with web_db.transaction() as session:
            for username, roles, units in (("canbo", ["unit_officer"], [OFFICER_UNIT]),
                                           ("lanhdao", ["leader"], []), ("sonoivu", ["province_admin"], [])):
                account = accounts.create(session, username, AccountInput(
                    display_name=username, password=PASSWORD, roles=roles, unit_codes=units), utcnow())
                opened = sessions.open_session(session, account, load_settings(config), utcnow(),
                                               Origin("127.0.0.1", "pytest"))
                cookies[username] = opened.cookie_value
        web_db.engine.dispose()
        yield SimpleNamespace(config=config, url=f"http://{host}:{port}", cookies=cookies)


def get(site, path: str, user: str | None = None) -> tuple[int, str]:
    headers = {"Cookie": f"{sessions.COOKIE}={site.cookies[user]}"} if user else {}
    status, body = http_get(site.url + path, headers, timeout=60)
    return status, body.decode("utf-8", errors="replace")


def stock_documents(config, newer: int) -> tuple[int, bytes, int]:
    """The officer's unit's statistics report, then ``newer`` later documents of another unit (bulk rows sharing
    one blob: their bytes are never fetched). Returns the officer's document id, its bytes, one other id."""
    db = open_database(config, "reports")
    data = b"PK\x03\x04 bao cao thong ke cua Viet Tri"
    now = utcnow() - dt.timedelta(days=30)
    with db.transaction() as session:
        [mine], _ = store.record(session, store.blob_store(10_000_000), kind="statistics",
                                 key=f"{OFFICER_UNIT}/2026-H1", title="Báo cáo thống kê", filename="bao-cao",
                                 content_hash="h-mine", sources={"unit_code": OFFICER_UNIT},
                                 files={"xlsx": data}, now=now)
    with db.transaction() as session:
        session.add_all([DocumentFile(kind="statistics", key=f"{OTHER_UNIT}/2026-{n:04d}", version=1, format="xlsx",
                                      title="Báo cáo thống kê", filename=f"khac-{n}.xlsx", size=len(data),
                                      sha256=hashlib.sha256(data).hexdigest(), content_hash=f"h-{n}",
                                      sources={"unit_code": OTHER_UNIT}, token=f"t{n}",
                                      built_at=now + dt.timedelta(minutes=n + 1)) for n in range(newer)])
    with db.transaction() as session:
        other = session.query(DocumentFile.id).filter(DocumentFile.key == f"{OTHER_UNIT}/2026-0000").scalar()
    db.engine.dispose()
    return mine.id, data, other


def test_a_unit_officer_downloads_and_lists_his_document_behind_a_thousand_newer_ones(site):
    mine, data, other = stock_documents(site.config, newer=1001)
    status, body = http_get(f"{site.url}/van-ban/{mine}/tai-ve",
                            {"Cookie": f"{sessions.COOKIE}={site.cookies['canbo']}"}, timeout=60)
    assert status == 200 and body == data
    status, page = get(site, "/van-ban", "canbo")  # his library lists it, though 1,001 newer ones exist
    assert status == 200 and f"/van-ban/{mine}/tai-ve" in page and f"/van-ban/{other}/tai-ve" not in page
    # another unit's document, and one that does not exist, are refused alike, with nothing of them in the page
    for document_id in (other, 999_999):
        status, page = get(site, f"/van-ban/{document_id}/tai-ve", "canbo")
        assert status == 403 and "khac-" not in page and OTHER_UNIT not in page
    status, body = http_get(f"{site.url}/van-ban/{other}/tai-ve",
                            {"Cookie": f"{sessions.COOKIE}={site.cookies['lanhdao']}"}, timeout=60)
    assert status == 200 and body == data  # a reader of everything fetches any


def test_the_public_page_shows_the_table_a_page_at_a_time(site, monkeypatch):
    monkeypatch.setattr(public, "TABLE_ROWS", 40)
    status, first = get(site, "/cong-khai")
    assert status == 200
    rows = re.findall(r'<tr class="(?:unit|empty)"', first)
    assert len(rows) == 40
    total = int(re.search(r'data-total="(\d+)"', first).group(1))
    assert total > 120  # the province's units: several pages
    seen = []
    for offset in range(0, total, 40):
        status, page = get(site, f"/cong-khai?offset={offset}")
        assert status == 200
        seen += re.findall(r'<td class="unit">([^<]+)</td>', page)
    assert len(seen) == total and len(set(seen)) == total  # every unit once, none twice
    status, page = get(site, f"/cong-khai?offset={total + 40}")
    assert status == 200 and not re.findall(r'<td class="unit">', page)  # past the end: an empty page, no error
    for bad in ("-1", "abc", "1e9", "9" * 30, "%C2%B2"):  # the last: "²", a digit to str.isdigit
        status, page = get(site, f"/cong-khai?offset={bad}")
        assert status == 404 and "Không tìm thấy trang" in page and "Traceback" not in page


def test_unknown_unit_or_period_in_the_overview_urls_is_a_vietnamese_404(site):
    for path in ("/tong-quan?period=2026-13", "/tong-quan?period=2099-01", "/tong-quan/don-vi/KHONG-CO",
                 "/tong-quan/don-vi/07900?period=abc", "/tong-quan?offset=-5",
                 "/tong-quan/don-vi/07900?status=late&offset=" + "9" * 30, "/tong-quan?offset=%C2%B2"):
        status, page = get(site, path, "lanhdao")
        assert status == 404, path
        assert "Không tìm thấy trang" in page and "Traceback" not in page, path


def test_a_unit_officers_overview_is_his_units_in_one_request(site):
    status, page = get(site, "/tong-quan?period=2026-H2", "canbo")
    assert status == 200 and "Việt Trì" in page and "Nông Trang" not in page
    headers = {"Cookie": f"{sessions.COOKIE}={site.cookies['canbo']}"}
    import urllib.request

    with urllib.request.urlopen(urllib.request.Request(f"{site.url}/tong-quan?period=2026-H2", headers=headers),
                                timeout=60) as answer:
        calls = int(re.search(r'desc="(\d+) calls"', answer.headers["Server-Timing"]).group(1))
    assert calls == 1  # his units' figures (the unit registry is already held)


def test_the_overview_table_asks_only_the_figures_it_shows(site):
    status, page = get(site, "/tong-quan?period=2026-H2", "lanhdao")
    assert status == 200 and "Việt Trì" in page and "Nông Trang" in page
    from nameko.exceptions import RemoteError

    from cchc.runner import rpc_proxy
    from services.web.pages.overview import TABLE_FIELDS

    with rpc_proxy(site.config, timeout=60) as rpc:
        whole = rpc.dossiers.period_stats("P25", "2026-H2", True)
        slim = rpc.dossiers.period_stats("P25", "2026-H2", True, TABLE_FIELDS)
        assert slim[0] == whole[0]  # the unit's own row stays whole (the cards)
        assert slim[1:] == [{k: row[k] for k in TABLE_FIELDS} for row in whole[1:]]
        for bad in (["unit_code", "secret"], "unit_code"):
            with pytest.raises(RemoteError, match="child_fields: unknown field"):
                rpc.dossiers.period_stats("P25", "2026-H2", True, bad)


# 5 s: on the in-memory broker a call to a service that is not running is only given up at the time-out
@pytest.mark.parametrize("rpc_timeout", [5], ids=["rpc-timeout-5s"])
def test_paged_lists_refuse_offsets_they_cannot_answer_and_a_dead_service_is_a_503(site):
    for path, user in (("/thong-bao?offset=" + "9" * 30, "lanhdao"), ("/thong-bao?offset=%C2%B2", "lanhdao"),
                       ("/quan-tri/nhat-ky?offset=" + "9" * 30, "sonoivu"), ("/quan-tri/nhat-ky?offset=x", "sonoivu"),
                       ("/thong-bao?offset=990", "canbo")):  # merged per unit: beyond the newest 1,000
        status, page = get(site, path, user)
        assert status == 404 and "Không tìm thấy trang" in page and "Traceback" not in page, path
    status, page = get(site, "/quan-tri/nhat-ky?offset=0", "sonoivu")
    assert status == 200
    # the notifications service is not running here: its page is the 503 page, never a traceback
    status, page = get(site, "/thong-bao", "lanhdao")
    assert status == 503 and "Hệ thống đang tạm gián đoạn" in page and "Traceback" not in page

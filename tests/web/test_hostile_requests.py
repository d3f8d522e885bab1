"""The web application over a real socket, as the reviewer drove it: ids of 23 digits in URLs, periods years
ahead, a NUL byte in a URL echoed in the 404 page, methods no route takes, and the audit log's detail column.
Each answer is the Vietnamese page with the right status, never a 500 nor Werkzeug's English page."""

from __future__ import annotations

import http.client
from types import SimpleNamespace

import pytest

from cchc.runner import running
from services.dossiers.service import DossiersService
from services.web import accounts, audit, sessions
from services.web.accounts import AccountInput
from services.web.audit import Origin
from services.web.service import WebService
from services.web.settings import load_settings
from shared.clock import utcnow
from shared.db import open_database

PASSWORD = "Mat-khau-thu-2026"
HUGE = "99999999999999999999999"


@pytest.fixture
def site(backend_config):
    config = backend_config(web={"cookie_secure": False, "rpc_timeout_seconds": 30})
    with running([DossiersService, WebService], config) as containers:
        server = next(ext for ext in containers[1].extensions if type(ext).__name__ == "WebServer")
        host, port = server._sock.getsockname()[:2]
        web_db = open_database(config, "web")
        with web_db.transaction() as session:
            account = accounts.create(session, "sonoivu", AccountInput(
                display_name="Sở Nội vụ", password=PASSWORD, roles=["province_admin"]), utcnow())
            audit.record(session, "sonoivu", "account_created", utcnow(), Origin("127.0.0.1", "pytest"),
                         target="lanhdao", detail={"roles": ["leader"], "unit_codes": [], "password": True})
            opened = sessions.open_session(session, account, load_settings(config), utcnow(),
                                           Origin("127.0.0.1", "pytest"))
            cookie, csrf = opened.cookie_value, opened.row.csrf_token
        web_db.engine.dispose()
        yield SimpleNamespace(host=host, port=port, cookie=cookie, csrf=csrf)


def call(site, method: str, path: str, body: str = "", signed_in: bool = True) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection(site.host, site.port, timeout=60)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signed_in:
        headers["Cookie"] = f"{sessions.COOKIE}={site.cookie}"
    try:
        connection.request(method, path, body=body.encode(), headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode("utf-8", errors="replace")
    finally:
        connection.close()


def test_ids_beyond_any_row_in_urls_are_a_vietnamese_404_not_a_500(site):
    for method, path, body in (
            ("GET", f"/chi-so/dept-2026/danh-gia/H44.07/tep/{HUGE}", ""),
            ("GET", "/chi-so/dept-2026/danh-gia/H44.07/tep/9223372036854775808", ""),
            ("GET", f"/van-ban/{HUGE}/tai-ve", ""),
            ("POST", "/thong-bao/99999999999999999999/gui-lai", f"csrf_token={site.csrf}"),
            ("POST", "/thong-bao/%C2%B2/gui-lai", f"csrf_token={site.csrf}")):  # "²": isdigit, but not an int
        status, _, page = call(site, method, path, body)
        assert status == 404, (path, status)
        assert "Không tìm thấy trang" in page and "lang=\"vi\"" in page.replace("'", '"'), path


@pytest.mark.parametrize("path", ["/chi-so-766?period=2030-01", "/chi-so-766?period=2099",
                                  "/chi-so-766/don-vi/07900?period=2030-01",
                                  "/chi-so-766/don-vi/07900/bang-tinh?period=2030-01"])
def test_a_766_period_that_starts_after_today_is_a_vietnamese_404(site, path):
    status, headers, page = call(site, "GET", path)
    assert status == 404 and headers["Content-Type"].startswith("text/html"), (path, status)
    assert "Không có kỳ" in page


def test_a_nul_byte_in_the_url_is_not_echoed_raw_in_the_404_page(site):
    for path in ("/chi-so-766/don-vi/079%00%E2%80%AE00", "/chi-so-766?period=2026%00-01"):
        status, _, page = call(site, "GET", path)
        assert status == 404 and "\x00" not in page and "\u202e" not in page and "\ufffd" in page, path


@pytest.mark.parametrize(("method", "path"), [("POST", "/tong-quan"), ("PUT", "/tong-quan"),
                                              ("DELETE", "/quan-tri"), ("PATCH", "/chi-so-766")])
def test_a_method_no_route_takes_is_the_vietnamese_405_page_with_allow(site, method, path):
    status, headers, page = call(site, method, path, signed_in=False)
    assert status == 405
    assert headers["Content-Type"].startswith("text/html") and "GET" in headers["Allow"]
    assert "Thao tác không được hỗ trợ" in page and "Method Not Allowed" not in page
    assert headers["X-Frame-Options"] == "DENY"  # the security headers of every page


def test_the_audit_log_detail_is_vietnamese_not_python_syntax(site):
    status, _, page = call(site, "GET", "/quan-tri/nhat-ky")
    assert status == 200
    assert "Vai trò: Lãnh đạo; Đơn vị: –; Mật khẩu: đã đặt" in page
    assert "[&#39;leader&#39;]" not in page and "password: True" not in page

"""The browser scenarios of test_browser.py, run in a plain Python process (no eventlet): Playwright's asyncio
loop and eventlet's monkey-patching starve each other (waits for navigation never returned), and the pytest
process must be patched for the services' own tests. The running system is described by a JSON file the test
wrote; each scenario's outcome (and traceback) goes to a results file the test reads.

    python tests/web/browser_scenarios.py INFO.json RESULTS.json
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-dev-shm-usage"]
SCREENSHOTS = ROOT / "var" / "screenshots"
SCENARIOS: dict[str, Callable[[Browser, dict[str, Any]], None]] = {}


def scenario(function: Callable[[Browser, dict[str, Any]], None]) -> Callable[[Browser, dict[str, Any]], None]:
    SCENARIOS[function.__name__] = function
    return function


def context(browser: Browser, **options: Any) -> BrowserContext:
    ctx = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, "locale": "vi-VN", **options})
    ctx.errors = []  # type: ignore[attr-defined]
    ctx.on("weberror", lambda e: ctx.errors.append(str(e.error)))  # type: ignore[attr-defined]
    ctx.on("console", lambda m: ctx.errors.append(m.text) if m.type == "error" else None)  # type: ignore[attr-defined]
    return ctx


def sign_in(ctx: BrowserContext, info: dict[str, Any], username: str, target: str = "/tong-quan") -> Page:
    page = ctx.new_page()
    page.goto(f"{info['url']}{target}")
    page.fill("#username", username)
    page.fill("#password", info["password"])
    with page.expect_navigation():
        page.click("form[action='/dang-nhap'] button[type=submit]")
    return page


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def audit(info: dict[str, Any], action: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(info["pg_url"].replace("postgresql://", "postgresql+psycopg2://"),
                              connect_args={"options": f"-csearch_path={info['web_schema']}"})
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT actor, target, ip FROM audit_log WHERE action = :a ORDER BY id"),
                                {"a": action})
            return [tuple(r) for r in rows]
    finally:
        engine.dispose()


@scenario
def sign_in_and_out(browser: Browser, info: dict[str, Any]) -> None:
    ctx = context(browser)
    page = ctx.new_page()
    page.goto(f"{info['url']}/tong-quan?period=2026-H2")
    assert "/dang-nhap?next=" in page.url, page.url
    shot(page, "00-dang-nhap")
    page.fill("#username", "sonoivu")
    page.fill("#password", "sai-mat-khau-roi")
    with page.expect_navigation():
        page.click("form[action='/dang-nhap'] button[type=submit]")
    assert page.locator("#login-error").inner_text() == "Tên đăng nhập hoặc mật khẩu không đúng."
    assert page.get_attribute("#password", "aria-invalid") == "true"
    page.fill("#username", "sonoivu")
    page.fill("#password", info["password"])
    with page.expect_navigation():
        page.click("form[action='/dang-nhap'] button[type=submit]")
    assert page.url.endswith("/tong-quan?period=2026-H2"), page.url  # back where the person was going
    assert page.locator("h1").inner_text().startswith("Tổng quan")
    [cookie] = [c for c in ctx.cookies() if c["name"] == "cchc_session"]
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Lax", cookie
    with page.expect_navigation():
        page.click("text=Đăng xuất")
    assert page.url.endswith("/dang-nhap"), page.url
    page.goto(f"{info['url']}/tong-quan")
    assert "/dang-nhap" in page.url
    assert ("sonoivu", None, "127.0.0.1") in audit(info, "logout")


@scenario
def officer_refused_other_units(browser: Browser, info: dict[str, Any]) -> None:
    facts = info["facts"]
    page = sign_in(context(browser), info, "canbo")
    response = page.goto(f"{info['url']}/chi-so/{facts['set_id']}/don-vi/{facts['other_department']}")
    assert response.status == 403, response.status
    body = page.content()
    assert "Không có quyền truy cập" in body
    assert facts["other_department_name"] not in body and facts["other_department_index"] not in body
    shot(page, "12-403-phieu-cham-don-vi-khac")
    other = facts["other_document"]
    download = page.request.get(f"{info['url']}/van-ban/{other['id']}/tai-ve")
    assert download.status == 403 and other["filename"] not in download.text()
    assert page.request.get(f"{info['url']}/tong-quan/don-vi/{facts['other_unit']}").status == 403
    assert page.request.get(f"{info['url']}/tong-quan/don-vi/{facts['other_unit']}/ho-so?status=late").status == 403
    assert page.goto(f"{info['url']}/tong-quan/don-vi/{facts['officer_unit']}?period=2026-H2").status == 200
    page.goto(f"{info['url']}/van-ban")
    links = page.locator("a[href$='/tai-ve']").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert f"/van-ban/{facts['own_document']['id']}/tai-ve" in links, links
    assert f"/van-ban/{other['id']}/tai-ve" not in links
    assert "token=" not in page.content()


@scenario
def drill_down_to_a_late_dossier(browser: Browser, info: dict[str, Any]) -> None:
    facts = info["facts"]
    page = sign_in(context(browser), info, "lanhdao", "/tong-quan?period=2026-H2")
    with page.expect_navigation():
        page.click("th a:has-text('Trễ hạn')")  # htmx swaps the table and pushes the URL; a plain link otherwise
    page.wait_for_function("() => location.search.includes('sort=late_766')")
    first = page.locator("#ket-qua tbody tr td.unit a").first
    assert first.inner_text() == facts["worst_unit_name"], first.inner_text()
    with page.expect_navigation():
        first.click()
    assert page.locator("h1").inner_text() == facts["worst_unit_name"]
    assert page.locator("svg[role=img] polyline").count() >= 1  # the twelve-month trend
    page.click("nav.tabs a:has-text('Đã giải quyết trễ hạn')")  # htmx swaps the list in
    page.wait_for_selector("#ds-ho-so nav.tabs a[aria-current=page]:has-text('Đã giải quyết trễ hạn')")
    item = facts["worst_unit_first_late"]
    text = page.locator("#ds-ho-so tbody tr").first.inner_text()
    assert item["dossier_code"] in text and item["procedure_name"] in text, text
    assert f"{item['days_late']} ngày làm việc" in text, text
    assert "@" not in page.locator("#ds-ho-so").inner_text()  # no e-mail, no personal data
    shot(page, "20-don-vi-ho-so-tre-han")


@scenario
def download_checked_byte_for_byte(browser: Browser, info: dict[str, Any]) -> None:
    doc = info["facts"]["own_document"]
    page = sign_in(context(browser, accept_downloads=True), info, "sonoivu", "/van-ban?kind=statistics")
    link = page.locator(f"a[href='/van-ban/{doc['id']}/tai-ve']")
    shown = link.locator("xpath=..").locator("small.mono").inner_text()
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    data = Path(download.path()).read_bytes()
    assert hashlib.sha256(data).hexdigest() == doc["sha256"] == shown
    assert data[:2] == b"PK" and download.suggested_filename == doc["filename"]
    assert ("sonoivu", str(doc["id"]), "127.0.0.1") in audit(info, "document_download")
    shot(page, "30-van-ban-thong-ke")


@scenario
def form_without_csrf_token_refused(browser: Browser, info: dict[str, Any]) -> None:
    page = sign_in(context(browser), info, "sonoivu", "/quan-tri/tai-khoan/moi")
    page.fill("#username", "khong.token")
    page.fill("#display_name", "Không có mã")
    page.check("input[name=roles][value=leader]")
    page.evaluate("document.querySelector('main input[name=csrf_token]').remove()")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.locator("h1").inner_text() == "Biểu mẫu không hợp lệ"
    forged = page.request.post(f"{info['url']}/thong-bao/gui-lai-tat-ca", form={"csrf_token": "doan-bua"})
    assert forged.status == 403
    page.goto(f"{info['url']}/quan-tri")
    assert "khong.token" not in page.content()
    assert len(audit(info, "csrf_refused")) >= 2


@scenario
def malformed_form_marks_the_field(browser: Browser, info: dict[str, Any]) -> None:
    page = sign_in(context(browser), info, "sonoivu", "/quan-tri/tai-khoan/moi")
    page.fill("#username", "Tên Có Dấu")
    page.fill("#display_name", "Nguyễn Văn Mới")
    page.check("input[name=roles][value=unit_officer]")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.get_attribute("#username", "aria-invalid") == "true"
    assert "chữ thường không dấu" in page.locator("#username-error").inner_text()
    assert page.input_value("#display_name") == "Nguyễn Văn Mới"  # what was typed is kept
    shot(page, "40-bieu-mau-loi")
    page.fill("#username", "nguyenvanmoi")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.get_attribute("#unit_codes", "aria-invalid") == "true"  # a unit officer needs a unit
    page.select_option("#unit_codes", [info["facts"]["officer_unit"]])
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "/quan-tri?tb=" in page.url and "Đã tạo tài khoản nguyenvanmoi" in page.content()


@scenario
def unknown_unit_or_period_is_404(browser: Browser, info: dict[str, Any]) -> None:
    page = sign_in(context(browser), info, "lanhdao")
    for path, reason in (("/tong-quan/don-vi/KHONGCO", "Không có đơn vị mã “KHONGCO”."),
                         ("/tong-quan?period=2026-13", "Không có kỳ báo cáo “2026-13”."),
                         ("/tong-quan?period=2031-01", "Không có kỳ báo cáo “2031-01”."),
                         (f"/chi-so/khong-co-bo/don-vi/{info['facts']['officer_unit']}", ""),
                         ("/van-ban/999999/tai-ve", ""),
                         ("/mot-trang-khong-co", "")):
        response = page.goto(f"{info['url']}{path}")
        assert response.status == 404, (path, response.status)
        assert page.locator("h1").inner_text() == "Không tìm thấy trang"
        assert reason in page.content() and "Traceback" not in page.content(), path
    shot(page, "50-404")


def _provider_sign_in(page: Page, login: str) -> None:
    page.wait_for_selector("input[name=login]")  # the provider's own sign-in page
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any")
    with page.expect_navigation():
        page.click("button[type=submit]")
    if page.locator("button[autofocus]").count():  # the provider's consent page
        with page.expect_navigation():
            page.click("button[autofocus]")
    page.wait_for_load_state()


@scenario
def single_sign_on(browser: Browser, info: dict[str, Any]) -> None:
    page = context(browser).new_page()
    page.goto(f"{info['url']}/dang-nhap")
    with page.expect_navigation():
        page.click("text=Đăng nhập một lần")
    assert page.url.startswith(info["issuer"]), page.url
    _provider_sign_in(page, info["sso_user"])
    page.wait_for_url(f"{info['url']}/tong-quan")
    assert "Lãnh đạo (SSO)" in page.locator(".who").inner_text()
    assert [(a, t) for a, t, _ in audit(info, "oidc_linked")] == [(info["sso_user"], info["sso_user"])]
    stranger_ctx = context(browser)
    stranger = stranger_ctx.new_page()
    stranger.goto(f"{info['url']}/dang-nhap/sso")
    _provider_sign_in(stranger, "nguoi.la")
    stranger.wait_for_selector("#login-error")
    assert "chưa được cấp quyền" in stranger.locator("#login-error").inner_text()
    assert not [c for c in stranger_ctx.cookies() if c["name"] == "cchc_session"]


@scenario
def every_page_and_a_phone(browser: Browser, info: dict[str, Any]) -> None:
    facts = info["facts"]
    ctx = context(browser)
    page = sign_in(ctx, info, "sonoivu")
    pages = {"01-tong-quan": "/tong-quan?period=2026-H2", "02-tong-quan-xa": "/tong-quan?period=2026-H2&kind=commune",
             "03-don-vi": f"/tong-quan/don-vi/{facts['worst_unit']}?period=2026-H2&status=late",
             "04-chi-so": f"/chi-so/{facts['set_id']}",
             "05-phieu-cham": f"/chi-so/{facts['set_id']}/don-vi/{facts['other_department']}",
             "06-van-ban": "/van-ban", "07-thong-bao": "/thong-bao", "08-quan-tri": "/quan-tri",
             "09-nhat-ky": "/quan-tri/nhat-ky", "10-cong-khai": "/cong-khai"}
    for name, path in pages.items():
        response = page.goto(f"{info['url']}{path}")
        assert response.status == 200, (path, response.status)
        assert page.locator("h1").count() == 1, path
        shot(page, name)
    assert ctx.errors == [], ctx.errors  # no script error, no Content-Security-Policy violation
    page.goto(f"{info['url']}/tong-quan")
    page.keyboard.press("Tab")  # keyboard: the first Tab reaches the skip link, which moves focus to the content
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "noi-dung"
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                storage_state=ctx.storage_state())
    small = phone.new_page()
    small.goto(f"{info['url']}/tong-quan?period=2026-H2")
    width = small.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # nothing wider than the phone: tables scroll inside their box
    shot(small, "11-tong-quan-dien-thoai")


@scenario
def dead_backend_is_503(browser: Browser, info: dict[str, Any]) -> None:
    """Last: it stops the dossiers service's process."""
    page = sign_in(context(browser), info, "lanhdao")
    os.kill(info["dossiers_pid"], signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until its HTTP listener is gone: it has stopped consuming too
        try:
            with socket.create_connection(("127.0.0.1", info["dossiers_port"]), timeout=1):
                time.sleep(0.2)
        except OSError:
            break
    response = page.goto(f"{info['url']}/tong-quan?period=2026-Q4")
    assert response.status == 503, response.status
    assert page.locator("h1").inner_text() == "Hệ thống đang tạm gián đoạn"
    assert "Traceback" not in page.content() and "dossiers" not in page.content()
    shot(page, "60-503")


def run_scenarios(scenarios: dict[str, Callable[[Browser, dict[str, Any]], dict[str, Any] | None]], info_path: str,
                  results_path: str) -> int:
    """Run each scenario in one Chromium, writing every result (ok, what it returned, or the traceback) as soon as
    it is known, so the pytest side reports each scenario on its own even if a later one hangs."""
    info = json.loads(Path(info_path).read_text())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name, run in scenarios.items():
            started = time.monotonic()
            try:
                results[name] = {"ok": True, **(run(browser, info) or {})}
            except Exception:
                results[name] = {"ok": False, "error": traceback.format_exc()}
            results[name]["seconds"] = round(time.monotonic() - started, 1)  # where a slow run spends its time
            for ctx in list(browser.contexts):
                ctx.close()
            Path(results_path).write_text(json.dumps(results, ensure_ascii=False, indent=1))
        browser.close()
    return 0


def main(info_path: str, results_path: str) -> int:
    return run_scenarios(SCENARIOS, info_path, results_path)


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:3]))

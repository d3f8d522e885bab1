"""The web application in a real browser (Playwright driving Debian's chromium) against the whole running system:
signing in and out, scope enforced on the server, the drill-down to a late dossier, a download checked byte for
byte, CSRF, bad input, single sign-on with a real OpenID Connect provider, and a dead backend. One stack for the
module; every test opens its own browser context. Full-page screenshots go to var/screenshots/."""

from __future__ import annotations

import hashlib
import re

import pytest
import sqlalchemy as sa

from services.web.models import AuditEntry
from shared.clock import pinned
from shared.db import open_database
from tests.support import PINNED_TIMES
from tests.web.conftest import SCREENSHOTS
from tests.web.stack import OFFICER_UNIT, OTHER_DEPARTMENT, OTHER_UNIT, PASSWORD, SSO_USER, web_stack

NOW = PINNED_TIMES["lunch-break"]  # Tuesday 8/12/2026 12:15: deadlines judged at a fixed instant


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with pinned(NOW), web_stack(tmp_path_factory.mktemp("web"), NOW) as running_stack:
        yield running_stack


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    errors: list[str] = []
    ctx.on("weberror", lambda e: errors.append(str(e.error)))
    ctx.console_errors = errors
    yield ctx
    ctx.close()


def sign_in(ctx, stack, username, password=PASSWORD, target="/tong-quan"):
    page = ctx.new_page()
    page.on("console", lambda m: ctx.console_errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{stack.url}{target}")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("form[action='/dang-nhap'] button[type=submit]")
    page.wait_for_load_state()
    return page


def shot(page, name):
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def audit_actions(stack, action):
    db = open_database(stack.config, "web")
    try:
        with db.transaction() as session:
            return list(session.execute(sa.select(AuditEntry.actor, AuditEntry.target, AuditEntry.ip)
                                        .where(AuditEntry.action == action)))
    finally:
        db.engine.dispose()


def test_sign_in_and_out(stack, context):
    page = context.new_page()
    page.goto(f"{stack.url}/tong-quan?period=2026-H2")
    assert "/dang-nhap?next=" in page.url
    shot(page, "00-dang-nhap")
    page.fill("#username", "sonoivu")
    page.fill("#password", "sai-mat-khau-roi")
    page.click("form[action='/dang-nhap'] button[type=submit]")
    assert page.locator("#login-error").inner_text() == "Tên đăng nhập hoặc mật khẩu không đúng."
    assert page.get_attribute("#password", "aria-invalid") == "true"
    page.fill("#username", "sonoivu")
    page.fill("#password", PASSWORD)
    page.click("form[action='/dang-nhap'] button[type=submit]")
    page.wait_for_url("**/tong-quan?period=2026-H2")  # back where the person was going
    assert page.locator("h1").inner_text().startswith("Tổng quan")
    [cookie] = [c for c in context.cookies() if c["name"] == "cchc_session"]
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Lax"
    page.click("text=Đăng xuất")
    page.wait_for_url("**/dang-nhap")
    page.goto(f"{stack.url}/tong-quan")
    assert "/dang-nhap" in page.url
    assert ("sonoivu", None, "127.0.0.1") in audit_actions(stack, "logout")


def test_unit_officer_gets_403_and_no_data_for_another_units_sheet_document_and_figures(stack, context):
    page = sign_in(context, stack, "canbo")
    with stack.rpc() as rpc:
        other_sheet = rpc.scoring.unit_result(stack.facts["set_id"], OTHER_DEPARTMENT)
        other_name = next(u["name"] for u in rpc.dossiers.units() if u["code"] == OTHER_DEPARTMENT)
    response = page.goto(f"{stack.url}/chi-so/{stack.facts['set_id']}/don-vi/{OTHER_DEPARTMENT}")
    assert response.status == 403
    body = page.content()
    assert "Không có quyền truy cập" in body
    assert other_name not in body and other_sheet["index"].replace(".", ",") not in body
    shot(page, "10-403-phieu-cham-don-vi-khac")
    other_doc = stack.facts["other_document"]
    download = page.request.get(f"{stack.url}/van-ban/{other_doc['id']}/tai-ve")
    assert download.status == 403 and other_doc["filename"] not in download.text()
    assert page.request.get(f"{stack.url}/tong-quan/don-vi/{OTHER_UNIT}").status == 403
    assert page.request.get(f"{stack.url}/tong-quan/don-vi/{OTHER_UNIT}/ho-so?status=late").status == 403
    # his own unit and document are there; the other unit's document is not even listed
    assert page.goto(f"{stack.url}/tong-quan/don-vi/{OFFICER_UNIT}?period=2026-H2").status == 200
    page.goto(f"{stack.url}/van-ban")
    links = page.locator("a[href$='/tai-ve']").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert f"/van-ban/{stack.facts['own_document']['id']}/tai-ve" in links
    assert f"/van-ban/{other_doc['id']}/tai-ve" not in links
    assert "token=" not in page.content()


def test_drill_down_from_the_province_to_a_late_dossier(stack, context):
    page = sign_in(context, stack, "lanhdao", target="/tong-quan?period=2026-H2")
    page.click("th a:has-text('Trễ hạn')")  # worst first
    page.wait_for_url(re.compile(r"sort=late_766"))
    first = page.locator("#ket-qua tbody tr td.unit a").first
    unit_name = first.inner_text()
    first.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == unit_name
    assert page.locator("svg[role=img] polyline").count() >= 1  # the twelve-month trend
    unit_code = page.url.split("/don-vi/")[1].split("?")[0]
    page.click("nav.tabs a:has-text('Đã giải quyết trễ hạn')")  # htmx swaps the list in
    page.wait_for_selector("#ds-ho-so td.mono")
    with stack.rpc() as rpc:
        late = rpc.dossiers.unit_dossiers(unit_code, "2026-H2", "late", 50, 0)
    assert late["total"] >= 1
    first_row = page.locator("#ds-ho-so tbody tr").first
    text = first_row.inner_text()
    item = late["items"][0]
    assert item["dossier_code"] in text and item["procedure_name"] in text
    assert f"{item['days_late']} ngày làm việc" in text
    assert "@" not in page.locator("#ds-ho-so").inner_text()  # no e-mail, no personal data
    shot(page, "20-don-vi-ho-so-tre-han")


def test_download_a_document_with_the_session_and_check_its_bytes(stack, context):
    page = sign_in(context, stack, "sonoivu", target="/van-ban?kind=statistics")
    doc = stack.facts["own_document"]
    link = page.locator(f"a[href='/van-ban/{doc['id']}/tai-ve']")
    shown_sha = link.locator("xpath=..").locator("small.mono").inner_text()
    with page.expect_download() as info:
        link.click()
    data = info.value.path().read_bytes()
    assert hashlib.sha256(data).hexdigest() == doc["sha256"] == shown_sha
    assert data[:2] == b"PK" and info.value.suggested_filename == doc["filename"]
    assert ("sonoivu", str(doc["id"]), "127.0.0.1") in audit_actions(stack, "document_download")
    shot(page, "30-van-ban")


def test_a_form_without_its_csrf_token_is_refused(stack, context):
    page = sign_in(context, stack, "sonoivu", target="/quan-tri/tai-khoan/moi")
    page.fill("#username", "khong.token")
    page.fill("#display_name", "Không có mã")
    page.check("input[name=roles][value=leader]")
    page.evaluate("document.querySelector('input[name=csrf_token]').remove()")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Biểu mẫu không hợp lệ"
    assert "khong.token" not in page.content()
    forged = page.request.post(f"{stack.url}/thong-bao/gui-lai-tat-ca", form={"csrf_token": "doan-bua"})
    assert forged.status == 403
    page.goto(f"{stack.url}/quan-tri")
    assert "khong.token" not in page.content()
    assert len(audit_actions(stack, "csrf_refused")) >= 2


def test_a_malformed_form_comes_back_with_the_field_marked_and_the_reason(stack, context):
    page = sign_in(context, stack, "sonoivu", target="/quan-tri/tai-khoan/moi")
    page.fill("#username", "Tên Có Dấu")
    page.fill("#display_name", "Nguyễn Văn Mới")
    page.check("input[name=roles][value=unit_officer]")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert page.get_attribute("#username", "aria-invalid") == "true"
    assert "chữ thường không dấu" in page.locator("#username-error").inner_text()
    assert page.input_value("#display_name") == "Nguyễn Văn Mới"  # what was typed is kept
    shot(page, "40-bieu-mau-loi")
    page.fill("#username", "nguyenvanmoi")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert page.get_attribute("#unit_codes", "aria-invalid") == "true"  # a unit officer needs a unit
    page.select_option("#unit_codes", [OFFICER_UNIT])
    page.click("main form button[type=submit]")
    page.wait_for_url("**/quan-tri?tb=*")
    assert "Đã tạo tài khoản nguyenvanmoi" in page.content()


def test_unknown_unit_or_period_is_a_404_page_in_vietnamese(stack, context):
    page = sign_in(context, stack, "lanhdao")
    for path, reason in (("/tong-quan/don-vi/KHONGCO", "Không có đơn vị mã “KHONGCO”."),
                         ("/tong-quan?period=2026-13", "Không có kỳ báo cáo “2026-13”."),
                         ("/tong-quan?period=2031-01", "Không có kỳ báo cáo “2031-01”."),
                         (f"/chi-so/khong-co-bo/don-vi/{OFFICER_UNIT}", ""),
                         ("/van-ban/999999/tai-ve", ""),
                         ("/mot-trang-khong-co", "")):
        response = page.goto(f"{stack.url}{path}")
        assert response.status == 404, path
        assert page.locator("h1").inner_text() == "Không tìm thấy trang"
        assert reason in page.content() and "Traceback" not in page.content()
    shot(page, "50-404")


def test_single_sign_on_with_a_real_openid_connect_provider(stack, context):
    page = context.new_page()
    page.goto(f"{stack.url}/dang-nhap")
    page.click("text=Đăng nhập một lần")
    page.wait_for_selector("input[name=login]")  # the provider's own sign-in page
    assert page.url.startswith(stack.config["web"]["oidc"]["issuer"])
    page.fill("input[name=login]", SSO_USER)
    page.fill("input[name=password]", "any")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    if page.locator("button[autofocus]").count():  # the provider's consent page
        page.click("button[autofocus]")
    page.wait_for_url(f"{stack.url}/tong-quan")
    assert "Lãnh đạo (SSO)" in page.locator(".who").inner_text()
    linked = audit_actions(stack, "oidc_linked")
    assert [(actor, target) for actor, target, _ in linked] == [(SSO_USER, SSO_USER)]
    # a provider account that was never given access here is refused
    other = context.browser.new_context()
    try:
        stranger = other.new_page()
        stranger.goto(f"{stack.url}/dang-nhap/sso")
        stranger.fill("input[name=login]", "nguoi.la")
        stranger.fill("input[name=password]", "any")
        stranger.click("button[type=submit]")
        stranger.wait_for_load_state()
        if stranger.locator("button[autofocus]").count():
            stranger.click("button[autofocus]")
        stranger.wait_for_selector("#login-error")
        assert "chưa được cấp quyền" in stranger.locator("#login-error").inner_text()
        assert not [c for c in other.cookies() if c["name"] == "cchc_session"]
    finally:
        other.close()


def test_every_page_renders_without_errors_and_is_kept_as_a_screenshot(stack, context):
    page = sign_in(context, stack, "sonoivu")
    set_id = stack.facts["set_id"]
    pages = {"01-tong-quan": "/tong-quan?period=2026-H2", "02-tong-quan-xa": "/tong-quan?period=2026-H2&kind=commune",
             "03-don-vi": f"/tong-quan/don-vi/{OFFICER_UNIT}?period=2026-H2&status=late",
             "04-chi-so": f"/chi-so/{set_id}", "05-phieu-cham": f"/chi-so/{set_id}/don-vi/{OTHER_DEPARTMENT}",
             "06-van-ban": "/van-ban", "07-thong-bao": "/thong-bao", "08-quan-tri": "/quan-tri",
             "09-nhat-ky": "/quan-tri/nhat-ky", "10-cong-khai": "/cong-khai"}
    for name, path in pages.items():
        response = page.goto(f"{stack.url}{path}")
        assert response.status == 200, path
        assert page.locator("h1").count() == 1
        shot(page, name)
    assert context.console_errors == []  # no script error and no Content-Security-Policy violation
    # keyboard: the first Tab reaches the skip link, which moves focus to the content
    page.goto(f"{stack.url}/tong-quan")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "noi-dung"
    phone = context.browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                        storage_state=context.storage_state())
    try:
        small = phone.new_page()
        small.goto(f"{stack.url}/tong-quan?period=2026-H2")
        assert small.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
        shot(small, "11-tong-quan-dien-thoai")
    finally:
        phone.close()


def test_a_dead_backend_gives_a_503_page_never_a_traceback(stack, context):
    """Last in the module: it stops the dossiers service."""
    page = sign_in(context, stack, "lanhdao")
    stack.container("dossiers").stop()
    response = page.goto(f"{stack.url}/tong-quan?period=2026-Q4")
    assert response.status == 503
    assert page.locator("h1").inner_text() == "Hệ thống đang tạm gián đoạn"
    assert "Traceback" not in page.content() and "dossiers" not in page.content()
    shot(page, "60-503")

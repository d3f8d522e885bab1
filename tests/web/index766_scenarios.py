"""The browser scenarios of test_index766_pages.py, run in a plain Python process (see browser_scenarios.py why).

    python tests/web/index766_scenarios.py INFO.json RESULTS.json
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from openpyxl import load_workbook  # noqa: E402
from playwright.sync_api import Browser  # noqa: E402

from tests.web.browser_scenarios import context, run_scenarios, shot, sign_in  # noqa: E402

SCENARIOS: dict[str, Callable[[Browser, dict[str, Any]], None]] = {}


def scenario(function: Callable[[Browser, dict[str, Any]], None]) -> Callable[[Browser, dict[str, Any]], None]:
    SCENARIOS[function.__name__] = function
    return function


def vi(text: str) -> str:
    """"12.34" → "12,34" as the pages print decimals."""
    whole, _, fraction = text.partition(".")
    return f"{int(whole):,}".replace(",", ".") + ("," + fraction if fraction else "")


@scenario
def province_view(browser: Browser, info: dict[str, Any]) -> None:
    ranking = info["ranking"]
    ctx = context(browser)
    page = sign_in(ctx, info, "sonoivu", "/chi-so-766?period=2026-08")
    assert page.url.endswith("/chi-so-766?period=2026-08"), page.url
    assert page.locator("h1").inner_text().startswith("Chỉ số phục vụ người dân")
    assert page.locator("nav a[aria-current=page]").inner_text() == "Chỉ số 766"
    body = page.content()
    province = ranking["province"]
    assert vi(province["total"]) in page.locator("section.cards").inner_text()
    rows = page.locator("#bang-766-day-du tbody tr")
    assert rows.count() == min(250, len(ranking["units"]))
    first = ranking["units"][0]
    first_row = rows.nth(0).inner_text()
    assert first["unit_name"] in first_row and vi(first["points_lost"]) in first_row
    shown = [Decimal(rows.nth(i).locator("td.late").inner_text().replace(".", "").replace(",", "."))
             for i in range(min(20, rows.count()))]
    assert shown == sorted(shown, reverse=True), shown  # most points at stake first
    assert "suy luận" in body and "Chỉ tiêu có dấu này được tính theo cách" in body
    shot(page, "766-10-xep-hang")
    page.select_option("#kind", "department")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert "kind=department" in page.url and "period=2026-08" in page.url  # bookmarkable
    departments = [u for u in ranking["units"] if u["unit_kind"] == "department"]
    assert page.locator("#bang-766-day-du tbody tr").count() == max(1, min(250, len(departments)))
    assert not ctx.errors, ctx.errors  # type: ignore[attr-defined]


@scenario
def unit_view(browser: Browser, info: dict[str, Any]) -> None:
    ctx = context(browser)
    first = info["ranking"]["units"][0]
    page = sign_in(ctx, info, "sonoivu", "/chi-so-766?period=2026-08")
    with page.expect_navigation():
        page.click(f"#bang-766-day-du a[href^='/chi-so-766/don-vi/{first['unit_code']}']")
    assert f"/chi-so-766/don-vi/{first['unit_code']}?period=2026-08" in page.url
    assert vi(first["total"]) in page.locator("p.lead").inner_text()
    table = page.locator("#chi-tieu").inner_text()
    for name in ("Công khai, minh bạch", "Tiến độ giải quyết", "Dịch vụ công trực tuyến", "Số hóa hồ sơ",
                 "Mức độ hài lòng", "Thanh toán trực tuyến"):
        assert name in table, name
    assert page.locator("#chi-tieu .badge.warn").count() >= 5  # 1.1, 1.2, 1.4, 3.1–3.3 … marked inferred
    assert page.locator("#diem-bi-mat").count() == 1 and page.locator("section h3").count() >= 1
    shot(page, "766-20-don-vi")
    with page.expect_download() as waiting:
        page.click("a[href*='/bang-tinh']")
    book = load_workbook(io.BytesIO(Path(waiting.value.path()).read_bytes()))
    assert book.sheetnames[:3] == ["Chỉ số", "Điểm bị mất", "Hồ sơ, TTHC"]
    assert not ctx.errors, ctx.errors  # type: ignore[attr-defined]
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                storage_state=ctx.storage_state())
    small = phone.new_page()
    for path in ("/chi-so-766?period=2026-08", f"/chi-so-766/don-vi/{first['unit_code']}?period=2026-08"):
        small.goto(f"{info['url']}{path}")
        width = small.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)  # tables scroll inside their box
    shot(small, "766-21-don-vi-dien-thoai")


@scenario
def officer_scope(browser: Browser, info: dict[str, Any]) -> None:
    ctx = context(browser)
    page = sign_in(ctx, info, "canbo", "/chi-so-766?period=2026-08")
    rows = page.locator("#bang-766-day-du tbody tr")
    assert rows.count() == 1 and info["officer"]["unit_name"] in rows.nth(0).inner_text()
    assert page.locator("section.cards").count() == 0  # the province's figures are not his to read
    response = page.goto(f"{info['url']}/chi-so-766/don-vi/{info['officer_unit']}?period=2026-08")
    assert response is not None and response.status == 200
    body = page.content()
    items = [i for loss in info["officer"]["losses"] for i in loss["items"] if i.get("applicant")]
    assert items, "the officer's unit has dossiers behind lost points"
    assert items[0]["code"] in body and items[0]["applicant"] in body and "***" in body
    leaked = [name for name in info["applicant_names"] if name in body]
    assert not leaked, leaked  # names are masked
    shot(page, "766-30-can-bo-don-vi")
    for path in (f"/chi-so-766/don-vi/{info['other_unit']}?period=2026-08",
                 f"/chi-so-766/don-vi/{info['other_unit']}/bang-tinh?period=2026-08"):
        assert page.request.get(f"{info['url']}{path}").status == 403, path


@scenario
def bad_input(browser: Browser, info: dict[str, Any]) -> None:
    ctx = context(browser)
    page = sign_in(ctx, info, "sonoivu", "/chi-so-766?period=2026-08")
    for path, words in (("/chi-so-766?period=2026-13", "2026-13"), ("/chi-so-766?period=2026-08&kind=huyen", "huyen"),
                        ("/chi-so-766/don-vi/99999?period=2026-08", "99999")):
        response = page.goto(f"{info['url']}{path}")
        assert response is not None and response.status == 404, (path, response and response.status)
        assert "Không tìm thấy trang" in page.content() and words in page.content()
    shot(page, "766-40-404")


def main(info_path: str, results_path: str) -> int:
    return run_scenarios(SCENARIOS, info_path, results_path)


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:3]))

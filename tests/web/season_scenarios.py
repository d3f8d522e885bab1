"""The season's browser scenarios (tests/web/test_season_browser.py), in a plain Python process like
browser_scenarios.py; they run in order — each builds on the one before — and write what they saw to the results
file the test reads.

    python tests/web/season_scenarios.py INFO.json RESULTS.json
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Browser, Page  # noqa: E402

from tests.season_files import DOCX, JPEG, PDF, PNG  # noqa: E402
from tests.web.browser_scenarios import audit, context, run_scenarios, shot  # noqa: E402

SCENARIOS: dict[str, Callable[[Browser, dict[str, Any]], dict[str, Any] | None]] = {}


def scenario(function: Callable[[Browser, dict[str, Any]], dict[str, Any] | None]) -> Any:
    SCENARIOS[function.__name__] = function
    return function


def sign_in(browser: Browser, info: dict[str, Any], username: str, target: str) -> Page:
    page = context(browser).new_page()
    page.goto(f"{info['url']}{target}")
    page.fill("#username", username)
    page.fill("#password", info["password"])
    with page.expect_navigation():
        page.click("form[action='/dang-nhap'] button[type=submit]")
    assert page.url.endswith(target), page.url
    return page


def sheet_url(info: dict[str, Any], unit_code: str) -> str:
    return f"/chi-so/{info['set_id']}/danh-gia/{unit_code}"


def leaf(page: Page, leaf_id: str) -> Any:
    found = page.locator(f'[id="tc-{leaf_id}"]')
    found.evaluate("element => element.open = true")
    return found


def post(page: Page, form: Any, button: str = "button[type=submit]") -> int:
    with page.expect_navigation() as navigation:
        form.locator(button).click()
    response = navigation.value
    return response.status if response else 0


def vi_number(text: str) -> Decimal:
    return Decimal(text.strip().rstrip("%").strip().replace(".", "").replace(",", "."))


def status_of(page: Page) -> str:
    return page.locator("#trang-thai").get_attribute("data-status") or ""


def upload(name: str, data: bytes, mime: str) -> dict[str, Any]:
    return {"name": name, "mimeType": mime, "buffer": data}


@scenario
def self_assessment(browser: Browser, info: dict[str, Any]) -> dict[str, Any]:
    first, second = info["leaves"]
    for n, (username, unit_code) in enumerate(info["users"].items()):
        page = sign_in(browser, info, username, sheet_url(info, unit_code))
        assert status_of(page) == "draft", status_of(page)  # the prefilled leaves made it a draft
        form = leaf(page, first).locator("form.leaf-form")
        form.locator("input[name=points]").fill(("0,5", "0,25", "0,5")[n])
        form.locator("textarea[name=explanation]").fill("Kế hoạch CCHC năm 2026 ban hành ngày 05/01/2026.")
        form.locator("input[type=file]").set_input_files([upload("ke-hoach.pdf", PDF, "application/pdf"),
                                                         upload("anh-chup.png", PNG, "image/png")])
        assert post(page, form) == 200
        assert f"Đã lưu nháp tiêu chí {first}" in page.locator("p.notice").inner_text()
        assert leaf(page, first).locator("ul.files li").count() == 2
        if n == 0:
            shot(page, "season-01-luu-nhap")
            # a PNG named .pdf: refused, named, nothing saved (points and explanation of that form neither)
            form = leaf(page, second).locator("form.leaf-form")
            form.locator("input[name=points]").fill("0,5")
            form.locator("input[type=file]").set_input_files([upload("bao-cao.pdf", PNG, "application/pdf")])
            assert post(page, form) == 422
            error = leaf(page, second).locator(".field-error").inner_text()
            assert "bao-cao.pdf" in error and "nội dung là ảnh PNG" in error, error
            assert leaf(page, second).locator("input[type=file]").get_attribute("aria-invalid") == "true"
            shot(page, "season-02-tep-gia-mao")
            assert "Chưa có tệp" in leaf(page, second).locator("ul.files").inner_text()
            assert leaf(page, second).locator(".self-points").inner_text().startswith("–")
            # points off the step
            form = leaf(page, second).locator("form.leaf-form")
            form.locator("input[name=points]").fill("0,3")
            assert post(page, form) == 422
            assert "theo bước 0,25" in leaf(page, second).locator(".field-error").inner_text()
            # an empty file
            form = leaf(page, second).locator("form.leaf-form")
            form.locator("input[name=points]").fill("0,25")
            form.locator("input[type=file]").set_input_files([upload("rong.docx", b"", "application/msword")])
            assert post(page, form) == 422
            assert "rỗng" in leaf(page, second).locator(".field-error").inner_text()
        form = leaf(page, second).locator("form.leaf-form")
        form.locator("input[name=points]").fill("0,25")
        form.locator("textarea[name=explanation]").fill("Đủ nội dung, nhiệm vụ; thiếu thời hạn một nhiệm vụ.")
        form.locator("input[type=file]").set_input_files([upload("nhiem-vu.docx", DOCX, "application/vnd."
                                                                 "openxmlformats-officedocument.wordprocessingml."
                                                                 "document"), upload("anh.jpg", JPEG, "image/jpeg")])
        assert post(page, form) == 200
        with page.expect_navigation():
            page.click("#gui-tu-danh-gia")
        assert status_of(page) == "submitted", page.locator("main").inner_text()[:500]
        assert page.locator("form.leaf-form").count() == 0  # locked for the unit
        if n == 0:
            shot(page, "season-03-da-gui")
    assert len(audit(info, "season_submit")) == 3
    return None


@scenario
def scope_tampering(browser: Browser, info: dict[str, Any]) -> dict[str, Any]:
    own, other = info["units"][0], info["units"][1]
    other_name = info["names"][other]
    page = sign_in(browser, info, "dv1", sheet_url(info, own))
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    base = info["url"]
    response = page.goto(f"{base}{sheet_url(info, other)}")
    assert response.status == 403, response.status
    assert other_name not in page.content() and "Phiếu tự đánh giá" not in page.content()
    shot(page, "season-11-403-don-vi-khac")
    file_id = info["other_unit_file"]
    for url in (f"{base}{sheet_url(info, other)}/tep/{file_id}", f"{base}{sheet_url(info, own)}/tep/{file_id}"):
        answer = page.request.get(url)
        assert answer.status == 403, (url, answer.status)
        assert PDF not in answer.body() and other_name not in answer.text()
    first = info["leaves"][0]
    for url, fields in ((f"{base}{sheet_url(info, other)}/tieu-chi/{first}", {"points": "0"}),
                        (f"{base}{sheet_url(info, other)}/giai-trinh/{first}", {"answer": "Trả lời thay"}),
                        (f"{base}{sheet_url(info, other)}/gui", {}),
                        (f"{base}{sheet_url(info, own)}/tieu-chi/{first}", {"remove": str(file_id)})):
        answer = page.request.post(url, multipart={"csrf_token": token, **fields})
        assert answer.status == 403, (url, answer.status)
        assert other_name not in answer.text()
    assert page.request.get(f"{base}/chi-so/{info['set_id']}/tam-tinh").status == 403
    page.goto(f"{base}/chi-so/{info['set_id']}/danh-gia")
    assert page.locator("tbody tr").count() == 1 and other_name not in page.content()  # only his unit
    return None


def appraise(page: Page, leaf_id: str, decision: str, points: str = "", reason: str = "") -> int:
    form = leaf(page, leaf_id).locator("form.appraise-form")
    form.locator(f"input[name=decision][value={decision}]").check()
    form.locator("input[name=points]").fill(points)
    form.locator("textarea[name=reason]").fill(reason)
    return post(page, form)


@scenario
def appraisal_and_publication(browser: Browser, info: dict[str, Any]) -> dict[str, Any]:
    a, b, c = info["units"]
    first, second = info["leaves"]
    set_id = info["set_id"]
    office = sign_in(browser, info, "sonoivu", f"/chi-so/{set_id}/danh-gia")
    assert office.locator("#so-da-gui").inner_text() == "3"
    office.fill("#deadline", info["deadline"])
    with office.expect_navigation():
        office.click("form[action$='han-giai-trinh'] button[type=submit]")
    assert "Đã đặt hạn giải trình" in office.locator("p.notice").inner_text()

    council = sign_in(browser, info, "thamdinh", sheet_url(info, a))
    assert appraise(council, first, "request", reason="Đề nghị gửi bản kế hoạch có chữ ký số.") == 200
    assert status_of(council) == "explanation_requested"
    shot(council, "season-05-de-nghi-giai-trinh")
    link = leaf(council, first).locator("ul.files a").first  # the council reads the evidence: the bytes uploaded
    download = council.request.get(f"{info['url']}{link.get_attribute('href')}")
    assert download.status == 200 and download.body() == PDF, download.status
    assert "ke-hoach.pdf" in download.headers["content-disposition"]
    timing = {"sheet_with_forms": council.goto(f"{info['url']}{sheet_url(info, b)}").headers.get("server-timing")}
    reason = "Tài liệu kiểm chứng là kế hoạch năm 2025, không đúng năm đánh giá."
    assert appraise(council, first, "adjust", "0", reason) == 200
    adjusted_text = leaf(council, first).locator(".verdict-detail").inner_text()
    # two appraisers on one leaf: the later save, made from a stale page, is refused and told what changed
    council.goto(f"{info['url']}{sheet_url(info, c)}")
    other = sign_in(browser, info, "thamdinh2", sheet_url(info, c))
    assert appraise(council, second, "adjust", "0,25", "Thiếu thời hạn của hai nhiệm vụ.") == 200
    assert appraise(other, second, "adjust", "0", "Không có tài liệu") == 409
    conflict = leaf(other, second).locator(".field-error").inner_text()
    assert "thamdinh" in conflict and "0,25" in conflict and "Thiếu thời hạn của hai nhiệm vụ" in conflict, conflict
    shot(other, "season-06-xung-dot")

    unit = sign_in(browser, info, "dv1", sheet_url(info, a))
    form = leaf(unit, first).locator("form.answer-form")
    form.locator("textarea[name=answer]").fill("Đơn vị gửi kèm Kế hoạch số 12/KH có chữ ký số.")
    form.locator("input[type=file]").set_input_files([upload("ke-hoach-ky-so.pdf", PDF, "application/pdf")])
    assert post(unit, form) == 200
    assert status_of(unit) == "under_appraisal"
    shot(unit, "season-07-da-giai-trinh")
    unit.goto(f"{info['url']}/chi-so/{set_id}/don-vi/{a}")  # the older sheet page: no index before publication
    assert unit.locator("#chua-cong-bo").count() == 1 and unit.locator("section.cards").count() == 0

    timing["progress"] = office.goto(f"{info['url']}/chi-so/{set_id}/danh-gia").headers.get("server-timing")
    assert office.locator("#so-tranh-chap").inner_text() == "3"  # a request, an adjustment, an adjustment
    shot(office, "season-04-tien-do")
    for code in (a, b, c):
        council.goto(f"{info['url']}{sheet_url(info, code)}")
        with council.expect_navigation():
            council.click("#khoa")
        assert status_of(council) == "appraised", council.locator("main").inner_text()[:400]

    leader = sign_in(browser, info, "lanhdao", f"/chi-so/{set_id}")
    assert leader.locator("#chua-cong-bo").count() == 1 and "Chưa có kết quả" in leader.content()
    office.goto(f"{info['url']}/chi-so/{set_id}/tam-tinh")
    assert office.locator("#tam-tinh").count() == 1
    assert all(info["names"][code] in office.content() for code in (a, b, c))
    shot(office, "season-08-tam-tinh")
    office.goto(f"{info['url']}/chi-so/{set_id}/danh-gia")
    with office.expect_navigation():
        office.click("#cong-bo")
    assert "Đã công bố kết quả của 3 đơn vị" in office.locator("p.notice").inner_text()
    shot(office, "season-09-cong-bo")
    ranking_page = {}
    for code in (a, b, c):
        row = office.locator("tbody tr", has=office.locator(f"a[href$='/don-vi/{code}']"))
        ranking_page[code] = str(vi_number(row.locator("td strong").inner_text()))
    sheet_page = {}
    for username, code in info["users"].items():
        page = sign_in(browser, info, username, sheet_url(info, code))
        assert status_of(page) == "published"
        sheet_page[code] = str(vi_number(page.locator("#chi-so").inner_text()))
        if code == b:
            shot(page, "season-10-phieu-da-cong-bo")
    assert len(audit(info, "season_publish")) == 1 and len(audit(info, "season_appraise")) == 3
    return {"server_timing": timing,
            "seen": {"ranking_page": ranking_page, "sheet_page": sheet_page, "adjusted_text": adjusted_text,
                     "adjusted_leaf": {"unit": b, "leaf": first, "reason": reason}}}


def main(info_path: str, results_path: str) -> int:
    return run_scenarios(SCENARIOS, info_path, results_path)


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:3]))

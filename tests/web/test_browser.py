"""The web application in a real browser (Playwright driving Debian's chromium) against the whole running system:
signing in and out, scope enforced on the server, the drill-down to a late dossier, a download checked byte for
byte, CSRF, bad input, single sign-on with a real OpenID Connect provider, every page (no script error, no CSP
violation, keyboard, phone width), and a dead backend.

One system, shared with test_season_browser.py (every service as a process, tests/web/stack.py, deadlines judged
at the lunch break of Tuesday 8/12/2026; the fixture ``lunch_stack``); the browser scenarios run in one
plain Python process (tests/web/browser_scenarios.py, see there why), each in its own browser context; each test
below reports one scenario. Full-page screenshots go to var/screenshots/."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from services.dossiers.periods import parse_period
from services.web import figures
from tests.support import PG_URL
from tests.web.stack import OFFICER_UNIT, OTHER_DEPARTMENT, OTHER_UNIT, PASSWORD, SSO_USER

pytestmark = pytest.mark.integration
SCRIPT = Path(__file__).with_name("browser_scenarios.py")


def _facts(stack) -> dict:
    """What the scenarios check the pages against, asked of the services (the scenarios' process has no RPC)."""
    facts = dict(stack.facts)
    with stack.rpc() as rpc:
        units = {u["code"]: u for u in rpc.dossiers.units()}
        rows = rpc.dossiers.period_stats("P25", "2026-H2", True)
        worst = figures.table_rows(rows[1:], units, "", "late_766", True, parse_period("2026-H2"))[0]
        late = rpc.dossiers.unit_dossiers(worst["unit_code"], "2026-H2", "late", 50, 0)
        other = rpc.scoring.unit_result(facts["set_id"], OTHER_DEPARTMENT)
    assert late["total"] >= 1, "the stream must give the worst unit a late dossier"
    facts.update(worst_unit=worst["unit_code"], worst_unit_name=worst["unit_name"],
                 worst_unit_first_late=late["items"][0], other_department=OTHER_DEPARTMENT,
                 other_department_name=units[OTHER_DEPARTMENT]["name"],
                 other_department_index=other["index"].replace(".", ","), officer_unit=OFFICER_UNIT,
                 other_unit=OTHER_UNIT)
    return facts


@pytest.fixture(scope="module")
def results(tmp_path_factory, lunch_stack):
    folder, stack = tmp_path_factory.mktemp("web"), lunch_stack
    with stack.pinned():
        dossiers = stack.processes["dossiers"]
        info = {"url": stack.url, "password": PASSWORD, "sso_user": SSO_USER, "facts": _facts(stack),
                "issuer": stack.config["web"]["oidc"]["issuer"], "pg_url": PG_URL,
                "web_schema": stack.config["DATABASE_SCHEMA"].replace("<service>", "web"),
                "dossiers_pid": dossiers.process.pid, "dossiers_port": dossiers.port}
        info_path, results_path = folder / "info.json", folder / "results.json"
        info_path.write_text(json.dumps(info, ensure_ascii=False, default=str))
        try:
            run = subprocess.run([sys.executable, str(SCRIPT), str(info_path), str(results_path)],
                                 capture_output=True, text=True, timeout=900)
        finally:
            stack.restart("dossiers")  # dead_backend_is_503 stopped it; the stack is shared with other modules
        if not results_path.exists():
            pytest.fail(f"the browser scenarios did not run (exit {run.returncode}):\n{run.stderr[-4000:]}")
        results = json.loads(results_path.read_text())
    yield results


def check(results, name):
    outcome = results.get(name)
    assert outcome is not None, f"scenario {name} did not run"
    assert outcome["ok"], outcome["error"]


def test_sign_in_and_out(results):
    check(results, "sign_in_and_out")


def test_unit_officer_gets_403_and_no_data_for_another_units_sheet_document_and_figures(results):
    check(results, "officer_refused_other_units")


def test_drill_down_from_the_province_to_a_late_dossier(results):
    check(results, "drill_down_to_a_late_dossier")


def test_download_a_document_with_the_session_and_check_its_bytes(results):
    check(results, "download_checked_byte_for_byte")


def test_a_form_without_its_csrf_token_is_refused(results):
    check(results, "form_without_csrf_token_refused")


def test_a_malformed_form_comes_back_with_the_field_marked_and_the_reason(results):
    check(results, "malformed_form_marks_the_field")


def test_unknown_unit_or_period_is_a_404_page_in_vietnamese(results):
    check(results, "unknown_unit_or_period_is_404")


def test_single_sign_on_with_a_real_openid_connect_provider(results):
    check(results, "single_sign_on")


def test_every_page_renders_without_errors_keyboard_and_phone(results):
    check(results, "every_page_and_a_phone")


def test_a_dead_backend_gives_a_503_page_never_a_traceback(results):
    check(results, "dead_backend_is_503")

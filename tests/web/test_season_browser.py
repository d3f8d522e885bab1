"""One whole PAR Index season in a real browser (Playwright driving Debian's chromium) against the whole running
system: three departments self-assess with uploads and submit, the council asks one for an explanation that is
answered, adjusts a leaf of another with its reason (a second appraiser's stale save is refused and told what
changed), locks all three; the office sets the deadline, sees the provisional ranking, publishes — then the
ranking page, each unit's sheet and the rebuilt ranking document agree to the cent. A unit officer cannot read or
change another unit's sheet or files by URL or form tampering (403, nothing of it in the page).

The running system is the one test_browser.py uses too (the fixture ``lunch_stack``): this module's criteria set,
units and accounts are its own. The browser runs in a plain Python process (tests/web/season_scenarios.py; see
browser_scenarios.py for why); screenshots go to var/screenshots/season-*.png."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from cchc.demo_scoring import demo_copy
from services.scoring.criteria import MethodKind
from services.scoring.evidence import encode
from services.web import accounts
from services.web.accounts import AccountInput
from shared.clock import utcnow
from shared.db import open_database
from tests.season_files import PDF
from tests.support import PG_URL, wait_until
from tests.web.stack import LUNCH_BREAK, PASSWORD

pytestmark = pytest.mark.integration
NOW = LUNCH_BREAK  # the shared stack's instant
SCRIPT = Path(__file__).with_name("season_scenarios.py")
SET_ID = "dept-season-2026"
UNITS = ("H44.07", "H44.08", "H44.44")
SEASON_USERS = {"dv1": UNITS[0], "dv2": UNITS[1], "dv3": UNITS[2]}


def _season_set(rpc, folder: Path):
    path, cs = demo_copy("department-2026.yaml", NOW, folder, season=True)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["id"] = SET_ID
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    rpc.scoring.publish_criteria_set(str(path))
    return [leaf for leaf in cs.leaves() if leaf.method.kind is MethodKind.SELF]


def _accounts(config) -> None:
    db = open_database(config, "web")
    try:
        with db.transaction() as session:
            for username, unit_code in SEASON_USERS.items():
                accounts.create(session, username, AccountInput(
                    display_name=f"Cán bộ {unit_code}", password=PASSWORD, roles=["unit_officer", "unit_head"],
                    unit_codes=[unit_code]), utcnow())
            accounts.create(session, "thamdinh2", AccountInput(display_name="Thẩm định viên thứ hai",
                                                               password=PASSWORD, roles=["appraiser"]), utcnow())
    finally:
        db.engine.dispose()


def _prefill(rpc, leaves) -> dict:
    """Leaves 3–14 of each unit through the scoring service (the browser fills the first two with uploads)."""
    files = {}
    for n, unit_code in enumerate(UNITS):
        share = (Decimal(1), Decimal("0.5"), Decimal("0.75"))[n]
        for leaf in leaves[2:14]:
            step = leaf.method.step
            points = (leaf.max_points * share / step).to_integral_value() * step
            saved = rpc.scoring.season_save_leaf(SET_ID, unit_code, leaf.id, str(points), f"Thuyết minh {leaf.id}",
                                                 [{"filename": f"{leaf.id}.pdf", "data": encode(PDF)}], [], "prefill")
            files.setdefault(unit_code, saved["files_added"][0])
    return files


def _document_indexes(rpc, version: int, names: dict[str, str]) -> dict[str, Decimal]:
    """The rebuilt ranking document (XLSX) of the published version: each unit's index as the document prints it."""
    def built():
        docs = rpc.reports.documents("ranking", SET_ID)
        return next((d for d in docs if d["format"] == "xlsx"
                     and d["sources"].get("ranking_versions", {}).get(SET_ID) == version), None)

    wait_until(built, timeout=120, message="the ranking document rebuilt after publication")
    found = rpc.reports.document_file(built()["id"])
    book = openpyxl.load_workbook(io.BytesIO(base64.b64decode(found["content_b64"])), data_only=True)
    indexes = {}
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            for code, name in names.items():
                if name in [str(v).strip() for v in row if v is not None]:
                    indexes[code] = [n for n in (_number(v) for v in row) if n is not None]
    return indexes


def _number(value) -> Decimal | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    text = str(value or "").strip().rstrip("%").replace(".", "").replace(",", ".")
    try:
        return Decimal(text) if text and text.replace(".", "", 1).lstrip("-").isdigit() else None
    except ArithmeticError:
        return None


@pytest.fixture(scope="module")
def season_results(tmp_path_factory, lunch_stack):
    folder, stack = tmp_path_factory.mktemp("season"), lunch_stack
    with stack.pinned():
        with stack.rpc() as rpc, tempfile.TemporaryDirectory() as sets:
            leaves = _season_set(rpc, Path(sets))
            _accounts(stack.config)
            other_files = _prefill(rpc, leaves)
            names = {u["code"]: u["name"] for u in rpc.dossiers.units() if u["code"] in UNITS}
        info = {"url": stack.url, "password": PASSWORD, "set_id": SET_ID, "units": list(UNITS), "names": names,
                "users": SEASON_USERS, "leaves": [leaf.id for leaf in leaves[:2]],
                "other_unit_file": other_files[UNITS[1]], "pg_url": PG_URL,
                "deadline": (NOW + dt.timedelta(days=3)).astimezone(dt.timezone(dt.timedelta(hours=7)))
                .strftime("%Y-%m-%dT17:00"),
                "web_schema": stack.config["DATABASE_SCHEMA"].replace("<service>", "web")}
        info_path, results_path = folder / "info.json", folder / "results.json"
        info_path.write_text(json.dumps(info, ensure_ascii=False, default=str))
        run = subprocess.run([sys.executable, str(SCRIPT), str(info_path), str(results_path)],
                             capture_output=True, text=True, timeout=900)
        if not results_path.exists():
            pytest.fail(f"the season scenarios did not run (exit {run.returncode}):\n{run.stderr[-4000:]}")
        results = json.loads(results_path.read_text())
        with stack.rpc() as rpc:
            ranking = rpc.scoring.ranking(SET_ID)
            results["rpc"] = {
                "ranking": ranking,
                "unit_results": {code: rpc.scoring.unit_result(SET_ID, code)["index"] for code in UNITS},
                "other_sheet": rpc.scoring.season_sheet(SET_ID, UNITS[1]),
                "document": _document_indexes(rpc, ranking["version"], names) if ranking["published"] else {},
            }
    yield results


def check(results, name):
    outcome = results.get(name)
    assert outcome is not None, f"scenario {name} did not run"
    assert outcome["ok"], outcome["error"]


def test_three_units_self_assess_with_uploads_and_submit_bad_files_and_points_refused(season_results):
    check(season_results, "self_assessment")


def test_a_unit_officer_cannot_read_or_change_another_units_sheet_or_files(season_results):
    check(season_results, "scope_tampering")
    other = season_results["rpc"]["other_sheet"]
    assert other["status"] == "published"
    assert not [a for a in other["actions"] if a["actor"] == "dv1"]  # nothing of dv1's tampering was kept


def test_explanation_adjustment_conflict_lock_and_publication(season_results):
    check(season_results, "appraisal_and_publication")


def test_ranking_page_sheets_and_rebuilt_document_agree_to_the_cent(season_results):
    check(season_results, "appraisal_and_publication")
    seen = season_results["appraisal_and_publication"]["seen"]
    rpc = season_results["rpc"]
    table = {r["unit_code"]: r for r in rpc["ranking"]["table"]}
    for code in UNITS:
        published = Decimal(table[code]["index"])
        assert Decimal(seen["ranking_page"][code]) == published
        assert Decimal(seen["sheet_page"][code]) == published
        assert Decimal(rpc["unit_results"][code]) == published
        assert any(abs(Decimal(str(v)) - published) < Decimal("0.005") for v in rpc["document"][code]), \
            (code, published, rpc["document"].get(code))
    adjusted = seen["adjusted_leaf"]
    assert adjusted["reason"] in seen["adjusted_text"]

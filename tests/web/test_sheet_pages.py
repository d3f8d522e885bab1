"""The two pages that show a unit's sheet, served in-process with the dossiers and scoring services on both
backends (memory + SQLite, RabbitMQ + PostgreSQL): each asks the scoring service once (``Server-Timing`` counts
the calls), a unit officer gets a 403 for another unit's sheet before anything of it is asked, a new version of
the set replaces the outline the web kept, and a season sheet not yet started is shown to the office without an
index. (The browser modules check the same pages in chromium; these need no browser.)"""

from __future__ import annotations

import re
import socket
import statistics
import time
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest
import requests

from cchc.runner import rpc_proxy, running
from services.dossiers.service import DossiersService
from services.scoring.service import ScoringService
from services.web import accounts, sessions
from services.web.accounts import AccountInput
from services.web.audit import Origin
from services.web.service import WebService
from services.web.settings import load_settings
from shared.clock import utcnow
from shared.db import open_database
from tests.service.test_scoring_service import full_marks, open_window_copy
from tests.support import http_get

UNIT, OTHER = "H44.07", "H44.08"
CALLS = re.compile(r'rpc;dur=[0-9.]+;desc="(\d+) calls"')


@pytest.fixture
def site(backend_config, tmp_path):
    config = backend_config(web={"cookie_secure": False, "rpc_timeout_seconds": 30})
    path, cs = open_window_copy(tmp_path, "department-2026.yaml", "dept-web-2026")
    season_path, season_cs = open_window_copy(tmp_path, "department-2026.yaml", "dept-web-season-2026", season=True)
    with running([DossiersService, ScoringService, WebService], config) as containers, rpc_proxy(config) as rpc:
        rpc.scoring.sync_units()
        for published in (path, season_path):
            rpc.scoring.publish_criteria_set(str(published))
        for code in (UNIT, OTHER):
            rpc.scoring.submit_scores(cs.id, code, full_marks(cs), f"canbo.{code}", True)
        server = next(ext for ext in containers[2].extensions if type(ext).__name__ == "WebServer")
        host, port = server._sock.getsockname()[:2]
        web_db = open_database(config, "web")
        cookies = {}
        with web_db.transaction() as session:
            for username, roles, units in (("canbo", ["unit_officer"], [UNIT]), ("sonoivu", ["province_admin"], [])):
                account = accounts.create(session, username, AccountInput(
                    display_name=username, password="Mat-khau-thu-2026", roles=roles, unit_codes=units), utcnow())
                cookies[username] = sessions.open_session(session, account, load_settings(config), utcnow(),
                                                          Origin("127.0.0.1", "pytest")).cookie_value
        web_db.engine.dispose()
        yield SimpleNamespace(url=f"http://{host}:{port}", cookies=cookies, rpc=rpc, cs=cs, season_cs=season_cs,
                              tmp_path=tmp_path, listener=server._sock)


def get(site, path: str, user: str) -> tuple[int, str, int]:
    """Status, body and the number of RPC calls the page made (its ``Server-Timing``)."""
    request_headers = {"Cookie": f"{sessions.COOKIE}={site.cookies[user]}"}
    try:
        with urllib.request.urlopen(urllib.request.Request(site.url + path, headers=request_headers),
                                    timeout=60) as response:
            status, body, timing = response.status, response.read(), response.headers.get("Server-Timing", "")
    except urllib.error.HTTPError as error:
        status, body, timing = error.code, error.read(), error.headers.get("Server-Timing", "")
    found = CALLS.search(timing)
    assert found, timing
    return status, body.decode("utf-8"), int(found.group(1))


def vi(number: str) -> str:
    return number.replace(".", ",")


def test_the_sheet_is_one_call_and_another_units_sheet_is_refused_before_any(site):
    cs = site.cs
    assert http_get(site.url + "/ready")[0] == 200
    get(site, "/tong-quan", "canbo")  # the unit registry is fetched once per process: out of the counts below
    status, body, calls = get(site, f"/chi-so/{cs.id}/don-vi/{UNIT}", "canbo")
    mine = site.rpc.scoring.unit_result(cs.id, UNIT)
    assert (status, calls) == (200, 1)
    assert f"{vi(mine['index'])}%" in body and cs.leaves()[0].title in body
    assert f"{len(site.rpc.scoring.history(cs.id, UNIT))} thay đổi" in body

    status, body, calls = get(site, f"/chi-so/{cs.id}/don-vi/{OTHER}", "canbo")
    assert (status, calls) == (403, 0)  # refused on the web's side: nothing of the other unit was even asked
    assert OTHER not in body or "Không có quyền" in body
    assert "Phiếu chấm" not in body

    status, body, calls = get(site, f"/chi-so/{cs.id}/don-vi/{OTHER}", "sonoivu")
    assert (status, calls) == (200, 1)
    assert f"{vi(site.rpc.scoring.unit_result(cs.id, OTHER)['index'])}%" in body
    assert get(site, f"/chi-so/khong-co-bo/don-vi/{UNIT}", "sonoivu")[0] == 404


def test_a_new_version_of_the_set_replaces_the_outline_the_web_kept(site):
    cs = site.cs
    assert cs.title in get(site, f"/chi-so/{cs.id}/don-vi/{UNIT}", "sonoivu")[1]
    folder = site.tmp_path / "v2"
    folder.mkdir()
    path, _ = open_window_copy(folder, "department-2026.yaml", cs.id, version=cs.version + 1,
                               title="Bộ tiêu chí sửa đổi lần hai")
    site.rpc.scoring.publish_criteria_set(str(path))
    site.rpc.scoring.recalculate(cs.id)
    status, body, calls = get(site, f"/chi-so/{cs.id}/don-vi/{UNIT}", "sonoivu")
    assert (status, calls) == (200, 1) and "Bộ tiêu chí sửa đổi lần hai" in body


def test_the_season_sheet_is_one_call_shown_before_any_index_and_hidden_from_the_unit(site):
    cs = site.season_cs
    get(site, "/tong-quan", "canbo")
    status, body, calls = get(site, f"/chi-so/{cs.id}/danh-gia/{UNIT}", "sonoivu")
    assert (status, calls) == (200, 1) and 'id="chi-so"' not in body  # not started: nothing computed yet
    site.rpc.scoring.recalculate(cs.id)
    status, body, calls = get(site, f"/chi-so/{cs.id}/danh-gia/{UNIT}", "sonoivu")
    index = site.rpc.scoring.unit_result(cs.id, UNIT)["index"]
    assert (status, calls) == (200, 1) and f"{vi(index)}%" in body
    status, body, calls = get(site, f"/chi-so/{cs.id}/danh-gia/{UNIT}", "canbo")
    assert (status, calls) == (200, 1) and 'id="chi-so"' not in body  # the unit: no index before publication
    status, body, calls = get(site, f"/chi-so/{cs.id}/don-vi/{UNIT}", "canbo")
    assert (status, calls) == (200, 1) and 'id="chua-cong-bo"' in body
    result = site.rpc.scoring.unit_result(cs.id, UNIT)
    area = result["areas"][0]
    # no area total, no points of any leaf: the index could be worked out from them
    assert f"{vi(area['points'])} <small>({vi(area['index'])}%)</small>" not in body and 'id="tc-' not in body
    assert get(site, f"/chi-so/{cs.id}/danh-gia/{OTHER}", "canbo")[:3:2] == (403, 0)


def test_a_page_over_16_kib_on_a_kept_alive_connection_waits_for_no_delayed_ack(site):
    """eventlet sends the headers, then a body over its 16 KiB buffer as a second segment; with Nagle on, that
    segment waited for the client's delayed ACK: 40 ms more on every such page (shared/ops.py sets TCP_NODELAY)."""
    assert site.listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    browser = requests.Session()  # one kept-alive connection, as a browser's
    browser.cookies.set(sessions.COOKIE, site.cookies["sonoivu"])
    path = f"{site.url}/chi-so/{site.cs.id}/don-vi/{UNIT}"
    beyond = []
    for _ in range(7):
        started = time.perf_counter()
        answer = browser.get(path, timeout=60)
        wall = (time.perf_counter() - started) * 1000
        assert answer.status_code == 200 and len(answer.content) > 16 * 1024
        server = float(re.search(r"total;dur=([0-9.]+)", answer.headers["Server-Timing"]).group(1))
        beyond.append(wall - server)
    assert statistics.median(beyond) < 25, beyond  # the delayed ACK alone is 40 ms


def test_an_appraisal_from_the_sheet_is_refused_beside_its_field_then_saved_and_shown(site):
    cs = site.cs
    leaf = cs.leaves()[0]
    browser = requests.Session()
    browser.cookies.set(sessions.COOKIE, site.cookies["sonoivu"])
    page = f"{site.url}/chi-so/{cs.id}/don-vi/{UNIT}"
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(page, timeout=60).text).group(1)
    form = {"csrf_token": token, "leaf_id": leaf.id, "points": "abc", "reason": "Thiếu tài liệu kiểm chứng"}
    refused = browser.post(f"{page}/tham-dinh", data=form, timeout=60, allow_redirects=False)
    assert refused.status_code == 422 and "Nhập số điểm, ví dụ 0,75." in refused.text
    assert f'value="{leaf.id}" selected' in refused.text  # the sheet again, with what was typed
    saved = browser.post(f"{page}/tham-dinh", data={**form, "points": "0,25"}, timeout=60, allow_redirects=False)
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"?da_luu={leaf.id}#tham-dinh")
    shown = browser.get(site.url + saved.headers["Location"], timeout=60).text
    assert "Thiếu tài liệu kiểm chứng" in shown and f"Đã lưu điểm thẩm định tiêu chí {leaf.id}" in shown
    assert site.rpc.scoring.score_sheet(cs.id, UNIT)[0]["appraised_points"] == "0.25"


def test_two_sets_of_the_same_level_and_year_are_told_apart_in_the_ranking_tabs(site):
    status, body, _ = get(site, f"/chi-so/{site.cs.id}", "sonoivu")
    assert status == 200
    for cs in (site.cs, site.season_cs):  # both "Sở, ban, ngành 2026": the tab names its set
        assert f'<a href="/chi-so/{cs.id}" title="{cs.title}"' in body and f"<small>({cs.id})</small>" in body

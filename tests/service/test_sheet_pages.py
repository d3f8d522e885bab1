"""The RPCs behind the two pages that show a unit's sheet (services/scoring/sheet_pages.py), on both backends:
each answers in one call what the older entrypoints answer in several — compared with them, so the page cannot
drift from what the service says elsewhere — leaves the outline out when the caller holds the current version,
hides a season's result from a unit until publication, and keeps a long history to its latest 200 changes."""

from __future__ import annotations

import datetime as dt

import pytest
from nameko.exceptions import RemoteError

from cchc.runner import rpc_proxy, running
from services.dossiers.service import DossiersService
from services.scoring.models import ScoreHistory
from services.scoring.service import ScoringService
from shared.db import open_database
from tests.service.test_scoring_service import full_marks, open_window_copy, self_leaves

UNIT, OTHER = "H44.07", "H44.08"


@pytest.fixture
def sets(backend_config, tmp_path):
    """A set scored as submitted and a seasonal one, both published; the config to reach the database."""
    config = backend_config()
    path, cs = open_window_copy(tmp_path, "department-2026.yaml", "dept-sheet-2026")
    season_path, season_cs = open_window_copy(tmp_path, "department-2026.yaml", "dept-sheet-season-2026",
                                              season=True)
    with running([DossiersService, ScoringService], config), rpc_proxy(config) as rpc:
        rpc.scoring.sync_units()
        rpc.scoring.publish_criteria_set(str(path))
        rpc.scoring.publish_criteria_set(str(season_path))
        yield rpc, cs, season_cs, config


def not_found(call, *args) -> str:
    with pytest.raises(RemoteError) as caught:
        call(*args)
    assert caught.value.exc_type == "NotFound", caught.value
    return str(caught.value.value)


def test_the_sheet_page_gets_in_one_call_what_five_entrypoints_answer(sets):
    rpc, cs, _, _ = sets
    rpc.scoring.submit_scores(cs.id, UNIT, full_marks(cs), "canbo", True)
    leaf = self_leaves(cs)[0]
    rpc.scoring.appraise(cs.id, UNIT, leaf.id, "0", "Tài liệu kiểm chứng không đúng năm", "hoidong")

    page = rpc.scoring.unit_sheet_page(cs.id, UNIT, False)
    assert page["outline"] == rpc.scoring.criteria_outline(cs.id)
    assert page["outline_key"] == [cs.version, cs.checksum]
    assert page["result"] == rpc.scoring.unit_result(cs.id, UNIT)
    assert page["scores"] == rpc.scoring.score_sheet(cs.id, UNIT)
    history = rpc.scoring.history(cs.id, UNIT)
    assert page["history"] == sorted(history, key=lambda h: h["at"], reverse=True)  # what the page sorted itself
    assert page["history_total"] == len(history) > len(full_marks(cs))
    assert page["history"][0]["kind"] == "appraisal" and not page["result_hidden"]  # no season: nothing hidden

    # the caller holding this version's outline is not sent it again; a stale or foreign copy is replaced
    assert rpc.scoring.unit_sheet_page(cs.id, UNIT, False, page["outline_key"])["outline"] is None
    assert rpc.scoring.unit_sheet_page(cs.id, UNIT, False, [cs.version, "0" * 64])["outline"] == page["outline"]
    assert rpc.scoring.unit_sheet_page(cs.id, UNIT, False, [cs.version - 1, cs.checksum])["outline"] is not None

    assert "KHONG-CO" in not_found(rpc.scoring.unit_sheet_page, cs.id, "KHONG-CO", True)
    assert "khong-co-bo" in not_found(rpc.scoring.unit_sheet_page, "khong-co-bo", UNIT, True)


def test_a_long_history_is_cut_to_the_latest_200_newest_first_with_its_total(sets):
    rpc, cs, _, config = sets
    rpc.scoring.submit_scores(cs.id, UNIT, full_marks(cs), "canbo", True)
    submitted = len(rpc.scoring.history(cs.id, UNIT))
    start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    db = open_database(config, "scoring", auto_migrate=False)
    try:
        with db.transaction() as session:
            session.add_all([ScoreHistory(set_id=cs.id, unit_code=UNIT, leaf_id="1.1", kind="self",
                                          old_value=None, new_value=str(n), actor=f"nguoi-{n}", reason=None,
                                          at=start + dt.timedelta(minutes=n // 2))  # two changes per minute
                             for n in range(250)])
            session.add(ScoreHistory(set_id=cs.id, unit_code=OTHER, leaf_id="1.1", kind="self", old_value=None,
                                     new_value="9", actor="khac", reason=None, at=start))  # another unit's
    finally:
        db.engine.dispose()
    everything = rpc.scoring.history(cs.id, UNIT)
    page = rpc.scoring.unit_sheet_page(cs.id, UNIT, True)
    assert page["history_total"] == len(everything) == submitted + 250
    assert page["history"] == sorted(everything, key=lambda h: h["at"], reverse=True)[:200]
    same_minute = [(a["actor"], b["actor"]) for a, b in zip(page["history"], page["history"][1:], strict=False)
                   if a["at"] == b["at"] and a["actor"].startswith("nguoi-")]
    assert same_minute and all(int(a[6:]) + 1 == int(b[6:]) for a, b in same_minute)  # same instant: older first


def test_a_season_hides_the_result_from_the_unit_until_published_and_the_season_page_asks_once(sets):
    rpc, _, cs, _ = sets
    not_started = rpc.scoring.season_sheet_page(cs.id, UNIT, True)
    assert not_started["sheet"]["status"] == "not_started" and not_started["result"] is None  # nothing computed
    not_found(rpc.scoring.unit_result, cs.id, UNIT)
    rpc.scoring.recalculate(cs.id)
    office = rpc.scoring.season_sheet_page(cs.id, UNIT, True)
    assert office["sheet"] == rpc.scoring.season_sheet(cs.id, UNIT)
    assert office["result"] == rpc.scoring.unit_result(cs.id, UNIT)
    unit = rpc.scoring.season_sheet_page(cs.id, UNIT, False)
    assert unit["sheet"] == office["sheet"] and unit["result"] is None  # not published: no index for the unit
    hidden = rpc.scoring.unit_sheet_page(cs.id, UNIT, False)
    assert hidden["result_hidden"]
    # nothing the index could be worked out from: no result (area points, leaf points), no appraised or survey
    # points, no history of the council's changes — the outline only
    assert (hidden["result"], hidden["scores"], hidden["history"], hidden["history_total"]) == (None, [], [], 0)
    assert hidden["outline"]["set_id"] == cs.id
    assert not rpc.scoring.unit_sheet_page(cs.id, UNIT, True)["result_hidden"]
    assert "KHONG-CO" in not_found(rpc.scoring.season_sheet_page, "KHONG-CO", UNIT, True)


def test_a_set_without_a_season_has_no_season_sheet_page(sets):
    rpc, cs, _, _ = sets
    with pytest.raises(RemoteError) as caught:
        rpc.scoring.season_sheet_page(cs.id, UNIT, True)
    assert caught.value.exc_type == "SeasonError" and str(caught.value.value).startswith("set_id: ")

"""The season over the bus, on both backends: three units self-assess with evidence files, submit, the council asks
for an explanation that is answered, adjusts a leaf with its reason, locks; the office publishes — and only then is
ranking_updated announced and the published ranking served. Bad input (lying, empty or large files, points off
the step, answers after the deadline, a second appraiser's conflicting save, late submission) is refused with a
Vietnamese message naming the field, and nothing of the refused step is kept."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from decimal import Decimal

import alembic.autogenerate
import pytest
from alembic.migration import MigrationContext
from nameko.events import event_handler
from nameko.exceptions import RemoteError

import services.scoring.season_models  # noqa: F401  (the season's tables join Base.metadata)
from cchc.runner import rpc_proxy, running
from services.dossiers.service import DossiersService
from services.notifications.service import NotificationsService
from services.scoring.evidence import encode
from services.scoring.models import Base
from services.scoring.service import ScoringService
from shared.clock import pinned, utcnow
from tests.season_files import DOCX, JPEG, PDF, PNG, XLSX
from tests.service.conftest import migrated
from tests.service.test_scoring_service import open_window_copy, self_leaves
from tests.support import wait_until

UNITS = ("H44.07", "H44.08", "H44.44")
MAX_BYTES = 50_000


class Announcements:
    name = "season_listener"
    seen: list = []  # noqa: RUF012

    @event_handler("scoring", "ranking_updated")
    def on_ranking(self, payload):
        Announcements.seen.append(("ranking_updated", payload["set_id"], payload["version"]))

    @event_handler("scoring", "season_explanation_requested")
    def on_requested(self, payload):
        Announcements.seen.append(("requested", payload["unit_code"], payload["leaf_id"]))

    @event_handler("scoring", "season_explanation_answered")
    def on_answered(self, payload):
        Announcements.seen.append(("answered", payload["unit_code"], payload["leaf_id"]))


@contextlib.contextmanager
def _season(backend_config, tmp_path, services=(), **over):
    config = backend_config(outbox={"relay_interval_seconds": 0.1}, scoring={"evidence_max_bytes": MAX_BYTES}, **over)
    path, cs = open_window_copy(tmp_path, "department-2026.yaml", "dept-season-2026", season=True)
    Announcements.seen = []
    with running([DossiersService, ScoringService, Announcements, *services], config), rpc_proxy(config) as rpc:
        rpc.scoring.sync_units()
        rpc.scoring.publish_criteria_set(str(path))
        yield rpc, cs


@pytest.fixture
def season(backend_config, tmp_path):
    with _season(backend_config, tmp_path) as found:
        yield found


@pytest.fixture
def season_with_notices(backend_config, tmp_path):
    """The season with the notifications service: the lead of the first unit, the office's appraisal address."""
    notifications = {
        "allow_local_channels": True, "delivery_interval_seconds": 0.1, "schedule_interval_seconds": 0.1,
        "ranking_debounce_seconds": 0.1, "email": {"folder": str(tmp_path / "mail")},
        "letters": {"folder": str(tmp_path / "letters")},
        "leads": {UNITS[0]: {"email": "lanhdao@sct.phutho.gov.vn"}},
        "announcements": {"emails": ["congbo@snv.phutho.gov.vn"], "to_unit_leads": False,
                          "appraisal_emails": ["hoidong@snv.phutho.gov.vn"]}}
    with _season(backend_config, tmp_path, (NotificationsService,), notifications=notifications) as found:
        yield found


def f(name, data):
    return {"filename": name, "data": encode(data)}


def refused(call, *args) -> tuple[str, str]:
    with pytest.raises(RemoteError) as caught:
        call(*args)
    assert caught.value.exc_type in ("SeasonError", "SeasonConflict"), caught.value
    field, _, message = str(caught.value.value).partition(": ")
    return field, message


def self_assess(rpc, cs, unit_code, leaves, share):
    for i, leaf in enumerate(leaves):
        step = leaf.method.step
        points = (leaf.max_points * share / step).to_integral_value() * step
        kind = (("a.pdf", PDF), ("b.docx", DOCX), ("c.xlsx", XLSX), ("d.jpg", JPEG), ("e.png", PNG))[i % 5]
        rpc.scoring.season_save_leaf(cs.id, unit_code, leaf.id, str(points).replace(".", ","),
                                     f"Thuyết minh {leaf.id}", [f(*kind)], [], f"canbo.{unit_code}")


def test_a_whole_season_for_three_units_then_the_published_ranking_agrees_with_each_sheet(season_with_notices):
    rpc, cs = season_with_notices
    leaves = self_leaves(cs)[:6]
    for unit_code, share in zip(UNITS, (Decimal(1), Decimal("0.5"), Decimal("0.75")), strict=True):
        self_assess(rpc, cs, unit_code, leaves, share)
        assert rpc.scoring.season_sheet(cs.id, unit_code)["status"] == "draft"
        assert rpc.scoring.season_submit(cs.id, unit_code, f"truong.{unit_code}")["status"] == "submitted"
    with pytest.raises(RemoteError, match="Kỳ đánh giá"):  # the older RPC cannot bypass the season's appraisal
        rpc.scoring.appraise(cs.id, UNITS[0], leaves[0].id, "0", "Lối cũ", "x")
    before = rpc.scoring.ranking(cs.id)
    assert before["season"] and not before["published"] and before["table"] == []  # nobody but the office sees it
    provisional = rpc.scoring.provisional_ranking(cs.id)
    assert {r["unit_code"] for r in provisional["table"]} >= set(UNITS)

    deadline = (utcnow() + dt.timedelta(days=3)).astimezone(dt.timezone(dt.timedelta(hours=7)))
    rpc.scoring.season_set_deadline(cs.id, deadline.isoformat(), "sonoivu")
    a, b, _ = UNITS
    asked = rpc.scoring.season_sheet(cs.id, a)["leaves"][0]
    rpc.scoring.season_appraise(cs.id, a, asked["leaf_id"], "request", "", "Đề nghị bổ sung kế hoạch đã ký",
                                asked["version"], "thamdinh")
    assert rpc.scoring.season_sheet(cs.id, a)["status"] == "explanation_requested"
    rpc.scoring.season_answer(cs.id, a, asked["leaf_id"], "Đã bổ sung bản ký số", [f("ky-so.pdf", PDF)], "canbo.a")
    assert rpc.scoring.season_sheet(cs.id, a)["status"] == "under_appraisal"
    adjusted = rpc.scoring.season_sheet(cs.id, b)["leaves"][1]
    rpc.scoring.season_appraise(cs.id, b, adjusted["leaf_id"], "adjust", "0", "Tài liệu kiểm chứng không đúng năm",
                                adjusted["version"], "thamdinh")
    for unit_code in UNITS:
        for leaf in rpc.scoring.season_sheet(cs.id, unit_code)["leaves"][:6]:
            if leaf["verdict"] is None and leaf["points"] is not None:
                rpc.scoring.season_appraise(cs.id, unit_code, leaf["leaf_id"], "accept", "", "", leaf["version"],
                                            "thamdinh")
        rpc.scoring.season_lock(cs.id, unit_code, "thamdinh")
    progress = rpc.scoring.season_progress(cs.id)
    assert progress["counts"]["appraised"] == 3 and progress["disputed"] == 2
    assert not [e for e in Announcements.seen if e[0] == "ranking_updated"]  # provisional changes: not announced

    assert rpc.scoring.season_status(cs.id, a) == {"seasonal": True, "status": "appraised", "published": False}
    published = rpc.scoring.season_publish(cs.id, "sonoivu")
    assert rpc.scoring.season_status(cs.id, a)["published"]
    wait_until(lambda: ("ranking_updated", cs.id, published["ranking_version"]) in Announcements.seen, timeout=20,
               message="ranking_updated after publication")
    assert ("requested", a, asked["leaf_id"]) in Announcements.seen and ("answered", a, asked["leaf_id"]) in \
        Announcements.seen
    ranking = rpc.scoring.ranking(cs.id)
    assert ranking["published"] and ranking["version"] == published["ranking_version"]
    rows = {r["unit_code"]: r for r in ranking["table"]}
    for unit_code in UNITS:
        sheet = rpc.scoring.season_sheet(cs.id, unit_code)
        assert sheet["status"] == "published"
        assert rows[unit_code]["index"] == rpc.scoring.unit_result(cs.id, unit_code)["index"]
        moves = [(x["action"], x["from_status"], x["to_status"]) for x in reversed(sheet["actions"])
                 if x["from_status"] != x["to_status"]]
        assert moves[0] == ("save_draft", "not_started", "draft") and moves[-1] == ("publish", "appraised",
                                                                                    "published")
        assert all(x["actor"] and x["at"] for x in sheet["actions"])
    history = rpc.scoring.history(cs.id, b, adjusted["leaf_id"])
    assert history[-1]["kind"] == "appraisal" and history[-1]["reason"] == "Tài liệu kiểm chứng không đúng năm"
    file_id = rpc.scoring.season_sheet(cs.id, a)["leaves"][0]["files"][0]["file_id"]
    assert rpc.scoring.evidence_file(file_id)["data"] == encode(PDF)
    def notices(kind):
        return [(n["unit_code"], n["channel"]) for n in rpc.notifications.list_notifications(kind=kind)]

    wait_until(lambda: notices("ranking_published"), timeout=30, message="the results-published notice")
    assert notices("explanation_requested") == [(a, "email")]  # to the unit's lead
    assert notices("explanation_answered") == [(a, "email")]  # to the office and council
    assert len(notices("ranking_published")) == 1  # one announcement: the publication, not each provisional change
    # after publication: nothing changes any more, by the season or the older RPCs
    field, message = refused(rpc.scoring.season_appraise, cs.id, a, asked["leaf_id"], "adjust", "0",
                             "Sửa sau công bố", None, "thamdinh")
    assert field == "status" and "“Đã công bố”" in message
    with pytest.raises(RemoteError, match="đã khóa"):
        rpc.scoring.appraise(cs.id, a, asked["leaf_id"], "0", "sửa lén", "x")


def _unchanged(rpc, cs, unit_code, leaf_id):
    sheet = rpc.scoring.season_sheet(cs.id, unit_code)
    leaf = next(x for x in sheet["leaves"] if x["leaf_id"] == leaf_id)
    return sheet["status"], sheet["version"], leaf["points"], leaf["explanation"], leaf["files"]


def test_bad_files_and_points_are_refused_naming_the_field_and_nothing_is_half_saved(season):
    rpc, cs = season
    leaf = self_leaves(cs)[0]
    unit = UNITS[0]
    rpc.scoring.season_save_leaf(cs.id, unit, leaf.id, "0", "Nháp đầu", [], [], "canbo")
    before = _unchanged(rpc, cs, unit, leaf.id)
    cases = [
        ([f("ok.pdf", PDF), f("bao-cao.pdf", PNG)], "0,25", "files", "nội dung là ảnh PNG"),
        ([f("script.pdf", b"#!/bin/sh\nrm -rf /")], "0,25", "files", "không phải PDF, DOCX"),
        ([f("rong.docx", b"")], "0,25", "files", "rỗng"),
        ([f("lon.pdf", PDF + b"0" * MAX_BYTES)], "0,25", "files", "vượt giới hạn"),
        ([f("ok.pdf", PDF)], "0,3", "points", "theo bước 0,25"),
        ([f("ok.pdf", PDF)], "7", "points", "từ 0 đến 0,5"),
        ([f("ok.pdf", PDF)], "abc", "points", "không phải là số"),
    ]
    for files, points, field, words in cases:
        got_field, message = refused(rpc.scoring.season_save_leaf, cs.id, unit, leaf.id, points, "Sửa", files, [],
                                     "canbo")
        assert (got_field, words in message) == (field, True), message
        assert _unchanged(rpc, cs, unit, leaf.id) == before


def test_submission_needs_evidence_and_the_window_and_is_refused_after_it_closes(season):
    rpc, cs = season
    first, second = self_leaves(cs)[:2]
    unit = UNITS[1]
    rpc.scoring.season_save_leaf(cs.id, unit, first.id, "0,5", "Có điểm, chưa có tệp", [], [], "canbo")
    field, message = refused(rpc.scoring.season_submit, cs.id, unit, "truong")
    assert field == "files" and first.id in message
    assert rpc.scoring.season_sheet(cs.id, unit)["status"] == "draft"
    rpc.scoring.season_save_leaf(cs.id, unit, first.id, "0,5", "Đã có tệp", [f("kh.pdf", PDF)], [], "canbo")
    with pinned(cs.window_closes + dt.timedelta(minutes=1)):
        field, message = refused(rpc.scoring.season_submit, cs.id, unit, "truong")
        assert field == "window" and "đã đóng" in message and cs.window_closes.astimezone(
            dt.timezone(dt.timedelta(hours=7))).strftime("%d/%m/%Y") in message
        field, _ = refused(rpc.scoring.season_save_leaf, cs.id, unit, second.id, "0", "", [], [], "canbo")
        assert field == "window"
    assert rpc.scoring.season_submit(cs.id, unit, "truong")["status"] == "submitted"
    field, message = refused(rpc.scoring.season_save_leaf, cs.id, unit, second.id, "0", "", [], [], "canbo")
    assert field == "status" and "từ “Đã gửi tự đánh giá” sang “Đang tự đánh giá”" in message


def test_an_explanation_after_the_deadline_is_refused_and_a_conflicting_appraisal_is_told_what_changed(season):
    rpc, cs = season
    first, second = self_leaves(cs)[:2]
    unit = UNITS[2]
    for leaf in (first, second):
        rpc.scoring.season_save_leaf(cs.id, unit, leaf.id, "0,5", "", [f("kh.pdf", PDF)], [], "canbo")
    rpc.scoring.season_submit(cs.id, unit, "truong")
    field, _ = refused(rpc.scoring.season_appraise, cs.id, unit, first.id, "request", "", "Giải trình giúp", None,
                       "thamdinh")
    assert field == "deadline"  # the office has not set one yet
    deadline = utcnow() + dt.timedelta(days=2)
    rpc.scoring.season_set_deadline(cs.id, deadline.isoformat(), "sonoivu")
    rpc.scoring.season_appraise(cs.id, unit, first.id, "request", "", "Giải trình giúp", None, "thamdinh")
    with pinned(deadline + dt.timedelta(seconds=1)):
        field, message = refused(rpc.scoring.season_answer, cs.id, unit, first.id, "Trả lời muộn",
                                 [f("muon.pdf", PDF)], "canbo")
        assert field == "answer" and "quá hạn giải trình" in message
        assert rpc.scoring.season_sheet(cs.id, unit)["leaves"][0]["answer_text"] is None

    seen = next(x for x in rpc.scoring.season_sheet(cs.id, unit)["leaves"] if x["leaf_id"] == second.id)["version"]
    rpc.scoring.season_appraise(cs.id, unit, second.id, "adjust", "0,25", "Thiếu một báo cáo quý", seen, "thamdinh.a")
    field, message = refused(rpc.scoring.season_appraise, cs.id, unit, second.id, "adjust", "0", "Không có tài liệu",
                             seen, "thamdinh.b")
    assert field == "version" and "thamdinh.a" in message and "0,25" in message and "Thiếu một báo cáo quý" in message
    assert rpc.scoring.score_sheet(cs.id, unit)[1]["appraised_points"] == "0.25"
    field, message = refused(rpc.scoring.season_appraise, cs.id, unit, second.id, "adjust", "0,3", "", seen + 1,
                             "thamdinh.b")
    assert field == "reason"
    field, message = refused(rpc.scoring.season_lock, cs.id, unit, "thamdinh")
    assert field == "status" and first.id in message  # still within the deadline for the open request


@pytest.fixture(params=["sqlite", "postgresql"])
def scoring_database(request, tmp_path):
    with migrated(request, tmp_path, "scoring") as db:
        yield db


def test_migration_0002_season_creates_what_the_models_declare(scoring_database):
    with scoring_database.engine.connect() as connection:
        diff = alembic.autogenerate.compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_evidence_is_kept_by_sha256_removed_per_leaf_and_another_units_file_cannot_be_removed(season):
    rpc, cs = season
    first, second = self_leaves(cs)[:2]
    own, other = UNITS[0], UNITS[1]
    saved = rpc.scoring.season_save_leaf(cs.id, own, first.id, "0,5", "", [f("a.pdf", PDF), f("b.xlsx", XLSX)], [],
                                         "canbo")
    foreign = rpc.scoring.season_save_leaf(cs.id, other, first.id, "0,5", "", [f("c.pdf", PDF)], [], "khac")
    files = rpc.scoring.season_sheet(cs.id, own)["leaves"][0]["files"]
    assert [(x["filename"], x["size"]) for x in files] == [("a.pdf", len(PDF)), ("b.xlsx", len(XLSX))]
    assert files[0]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert rpc.scoring.evidence_file(foreign["files_added"][0])["sha256"] == files[0]["sha256"]  # stored once
    for wrong in ([foreign["files_added"][0]], [saved["files_added"][0], foreign["files_added"][0]]):
        with pytest.raises(RemoteError) as caught:
            rpc.scoring.season_save_leaf(cs.id, own, first.id, "0,5", "", [], wrong, "canbo")
        assert caught.value.exc_type == "SeasonNotFound"
    with pytest.raises(RemoteError):  # a file of the first leaf named from the second one
        rpc.scoring.season_save_leaf(cs.id, own, second.id, "0", "", [], [saved["files_added"][0]], "canbo")
    assert len(rpc.scoring.season_sheet(cs.id, own)["leaves"][0]["files"]) == 2
    rpc.scoring.season_save_leaf(cs.id, own, first.id, "0,5", "", [], [saved["files_added"][0]], "canbo")
    assert [x["filename"] for x in rpc.scoring.season_sheet(cs.id, own)["leaves"][0]["files"]] == ["b.xlsx"]
    assert rpc.scoring.evidence_file(foreign["files_added"][0])["data"] == encode(PDF)  # the other unit's: intact


def test_a_set_without_a_season_refuses_its_steps_and_a_units_visit_never_hides_its_published_ranking(
        backend_config, tmp_path):
    """A reviewer found rankings announced (documents, "công bố" e-mails) before a set "became" seasonal when a
    unit first saved a draft, while the ranking page then said nothing was published. Whether a set runs a season
    is now its definition's ``season: true``; a set without it keeps ranking and announcing every final
    submission, and its season steps are refused by name."""
    config = backend_config(outbox={"relay_interval_seconds": 0.1})
    path, cs = open_window_copy(tmp_path, "department-2026.yaml", "dept-immediate-2026")
    with running([DossiersService, ScoringService], config), rpc_proxy(config) as rpc:
        rpc.scoring.sync_units()
        rpc.scoring.publish_criteria_set(str(path))
        leaf = self_leaves(cs)[0]
        rpc.scoring.submit_scores(cs.id, UNITS[0], [{"leaf_id": leaf.id, "points": "0", "evidence": []}], "canbo",
                                  True)
        before = rpc.scoring.ranking(cs.id)
        assert [row["unit_code"] for row in before["table"]] == [UNITS[0]] and not before.get("season")
        assert rpc.scoring.season_status(cs.id, UNITS[0])["seasonal"] is False
        for step, args in [(rpc.scoring.season_save_leaf, (cs.id, UNITS[0], leaf.id, "0", "Nháp", [], [], "canbo")),
                           (rpc.scoring.season_submit, (cs.id, UNITS[0], "canbo")),
                           (rpc.scoring.season_sheet, (cs.id, UNITS[0])),
                           (rpc.scoring.season_progress, (cs.id,)),
                           (rpc.scoring.season_publish, (cs.id, "sonoivu"))]:
            field, message = refused(step, *args)
            assert field == "set_id" and "không tổ chức kỳ đánh giá" in message, message
        after = rpc.scoring.ranking(cs.id)
        assert (after["version"], after["table"]) == (before["version"], before["table"])


def test_an_evidence_file_id_no_table_can_hold_is_not_found_not_an_overflow(season):
    """SQLite raised OverflowError for 10**23 (a 500 on the web); every out-of-range id is "no such file"."""
    rpc, _ = season
    for bad in (10**23, 2**63, 0, -1):
        with pytest.raises(RemoteError) as caught:
            rpc.scoring.evidence_file(bad)
        assert caught.value.exc_type == "SeasonNotFound"


def test_rpc_callers_get_the_same_text_and_id_bounds_as_the_web_forms(season):
    """The web refuses NUL, control and bidi characters in free text and only sends ids it matched; an RPC caller
    is held to the same rules in the season itself (a huge file id used to reach SQLite as an OverflowError)."""
    rpc, cs = season
    leaf = self_leaves(cs)[0]
    for text in ("Thuyết minh\x00ẩn", "Đảo chiều \u202eđọc ngược"):
        field, message = refused(rpc.scoring.season_save_leaf, cs.id, UNITS[0], leaf.id, "0", text, [], [], "canbo")
        assert field == "explanation" and "ký tự điều khiển" in message, message
    kept = rpc.scoring.season_save_leaf(cs.id, UNITS[0], leaf.id, "0", "Dòng 1\nDòng 2\tcột", [], [], "canbo")
    assert kept["points"] == "0" and kept["files_added"] == []
    with pytest.raises(RemoteError) as caught:
        rpc.scoring.season_save_leaf(cs.id, UNITS[0], leaf.id, "0", "Xóa", [], [10**23], "canbo")
    assert caught.value.exc_type == "SeasonNotFound"

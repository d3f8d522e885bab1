"""The season's pure rules: the status table (every refused move names from and to in Vietnamese) and evidence
files judged on their bytes, not their names."""

from __future__ import annotations

import pytest

from services.scoring.evidence import check_file, clean_filename, decode_uploads, detect, encode
from services.scoring.season import ACTION_TITLES, MOVES, Action, SeasonError, Status, allowed_actions, transition
from tests.season_files import DOCX, JPEG, PDF, PLAIN_ZIP, PNG, XLSX


def test_the_season_goes_from_not_started_to_published_in_the_table_order():
    status = Status.NOT_STARTED
    for action in (Action.SAVE_DRAFT, Action.SUBMIT, Action.APPRAISE, Action.REQUEST_EXPLANATION, Action.ANSWER,
                   Action.LOCK, Action.PUBLISH):
        status = transition(status, action)
    assert status is Status.PUBLISHED


def test_an_answer_returns_the_sheet_to_appraisal_only_when_no_request_stays_open():
    assert transition("explanation_requested", "answer", open_requests_after=1) is Status.EXPLANATION_REQUESTED
    assert transition("explanation_requested", "answer", open_requests_after=0) is Status.UNDER_APPRAISAL


@pytest.mark.parametrize(("status", "action", "source", "target"), [
    (Status.SUBMITTED, Action.SAVE_DRAFT, "Đã gửi tự đánh giá", "Đang tự đánh giá"),
    (Status.DRAFT, Action.LOCK, "Đang tự đánh giá", "Đã thẩm định (khóa)"),
    (Status.UNDER_APPRAISAL, Action.PUBLISH, "Đang thẩm định", "Đã công bố"),
    (Status.PUBLISHED, Action.APPRAISE, "Đã công bố", "Đang thẩm định"),
    (Status.NOT_STARTED, Action.SUBMIT, "Chưa bắt đầu", "Đã gửi tự đánh giá"),
])
def test_a_refused_move_names_where_it_starts_and_where_it_would_go(status, action, source, target):
    with pytest.raises(SeasonError) as refused:
        transition(status, action)
    assert refused.value.field == "status"
    assert f"từ “{source}” sang “{target}”" in refused.value.message


def test_every_action_has_a_vietnamese_title_and_a_setting_is_not_a_sheet_move():
    assert set(ACTION_TITLES) == set(Action)
    with pytest.raises(SeasonError, match="không phải một bước của phiếu"):
        transition(Status.DRAFT, Action.SET_DEADLINE)


def test_every_status_but_published_has_a_way_forward_and_the_table_only_names_known_statuses():
    for status in Status:
        assert bool(allowed_actions(status)) is (status is not Status.PUBLISHED)
    assert all(isinstance(a, Status) and isinstance(b, Status) for (a, _), b in MOVES.items())


@pytest.mark.parametrize(("data", "kind"), [(PDF, "pdf"), (PNG, "png"), (JPEG, "jpeg"), (DOCX, "docx"),
                                            (XLSX, "xlsx"), (PLAIN_ZIP, None), (b"MZ\x90\x00", None),
                                            (b"hello", None)])
def test_the_type_is_read_from_the_bytes(data, kind):
    assert detect(data) == kind


def test_an_accepted_file_keeps_its_sha256_size_and_media_type():
    checked = check_file("Báo cáo số 12.pdf", PDF)
    assert (checked.kind, checked.size, checked.media_type) == ("pdf", len(PDF), "application/pdf")
    assert len(checked.sha256) == 64


@pytest.mark.parametrize(("name", "data", "words"), [
    ("bao-cao.pdf", PNG, "mang tên tệp PDF nhưng nội dung là ảnh PNG"),
    ("bao-cao.pdf", b"just text pretending", "nội dung không phải PDF, DOCX, XLSX, JPEG hoặc PNG"),
    ("bang.xlsx", DOCX, "mang tên tệp Excel (XLSX) nhưng nội dung là Word (DOCX)"),
    ("anh.gif", PNG, "phần mở rộng “.gif” không được nhận"),
    ("rong.pdf", b"", "rỗng (0 byte)"),
    ("lon.pdf", PDF + b"x" * 2000, "vượt giới hạn"),
])
def test_files_that_lie_are_empty_or_too_large_are_refused_naming_the_file(name, data, words):
    with pytest.raises(SeasonError) as refused:
        check_file(name, data, max_bytes=1024)
    assert refused.value.field == "files"
    assert words in refused.value.message
    assert name in refused.value.message


def test_a_file_name_loses_its_path_and_control_characters():
    assert clean_filename("C:\\Users\\a\\Ke hoach\x00.docx") == "Ke hoach.docx"
    assert clean_filename("../../etc/passwd") == "passwd"


def test_files_cross_rpc_as_base64_and_garbage_is_refused():
    assert decode_uploads([{"filename": "a.pdf", "data": encode(PDF)}]) == [("a.pdf", PDF)]
    with pytest.raises(SeasonError, match="files"):
        decode_uploads([{"filename": "a.pdf", "data": "***"}])

"""The season's notices: a request for explanation goes to the unit's lead, its answer to the office and the
appraisal council, each once per request, and the webhooks that subscribed hear of both."""

from __future__ import annotations

from services.notifications import rendering, rules
from services.notifications.rules import Directory, Lead, UnitInfo

REQUEST = {"set_id": "department-2026", "set_title": "Bộ tiêu chí 2026", "unit_code": "H44.07", "leaf_id": "1.1.1",
           "leaf_title": "Ban hành kế hoạch", "request": "Đề nghị gửi kế hoạch đã ký.",
           "deadline": "2026-12-10T17:00:00+07:00"}
ANSWER = {**REQUEST, "answer": "Đã gửi kế hoạch số 12/KH-SCT.", "files": 2, "answered_at": "2026-12-08T09:30:00+07:00"}


def directory() -> Directory:
    return Directory(units={"H44.07": UnitInfo("H44.07", "Sở Công Thương", "department")},
                     leads={"H44.07": Lead(email="lanhdao@sct.example.vn")},
                     webhooks=[("office-bot", frozenset({"explanation_requested", "explanation_answered"}))],
                     appraisal_emails=["thamdinh@snv.example.vn"])


def test_a_request_for_explanation_goes_to_the_units_lead_with_the_deadline():
    drafts = rules.for_explanation("explanation_requested", REQUEST, directory())
    assert [(d.channel, d.recipient) for d in drafts] == [("email", "lanhdao@sct.example.vn"),
                                                          ("webhook", "office-bot")]
    text = rendering.render("explanation_requested", "email", drafts[0].context)
    assert "Sở Công Thương" in text.body and "17:00 ngày 10/12/2026" in text.body and "1.1.1" in text.subject


def test_an_answer_goes_to_the_office_and_council_and_says_how_many_files():
    drafts = rules.for_explanation("explanation_answered", ANSWER, directory())
    assert [(d.channel, d.recipient) for d in drafts] == [("email", "thamdinh@snv.example.vn"),
                                                          ("webhook", "office-bot")]
    assert "kèm 2 tệp tài liệu" in rendering.render("explanation_answered", "email", drafts[0].context).body


def test_the_same_request_redelivered_has_the_same_topic_and_a_new_request_another():
    first = rules.for_explanation("explanation_requested", REQUEST, directory())[0].topic
    again = rules.for_explanation("explanation_requested", dict(REQUEST), directory())[0].topic
    later = rules.for_explanation("explanation_requested", {**REQUEST, "deadline": "2026-12-20T17:00:00+07:00"},
                                  directory())[0].topic
    assert first == again != later

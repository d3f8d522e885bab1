"""What an outside review sent the older scoring RPCs, on SQLite and PostgreSQL: an empty submission, items that
are not objects, evidence as a bare string, control and bidi characters or an over-long actor or reason — each
refused naming the field, with nothing stored (no leaf row, no history row, no new ranking version); and a unit
that moved to another kind keeps its name in the ranking it was scored in."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from services.scoring import reads, submissions
from services.scoring.criteria import DATA_DIR, load_criteria_set, parse_criteria_set
from services.scoring.models import LeafScore, Ranking, ScoreHistory
from services.scoring.scores import ScoreError

TZ = dt.timezone(dt.timedelta(hours=7))
NOW = dt.datetime(2026, 11, 10, 9, tzinfo=TZ)
UNITS = [{"code": "H44.01", "name": "Sở Tư pháp", "kind": "department"},
         {"code": "H44.02", "name": "Sở Y tế", "kind": "department"}]


@pytest.fixture
def scored(scoring_database):
    with scoring_database.transaction() as session:
        data = json.loads(load_criteria_set(DATA_DIR / "department-2026.yaml").to_json())
        cs = parse_criteria_set(data, "department-2026.yaml")
        submissions.publish_set(session, cs, json.loads(cs.to_json()), NOW)
        submissions.upsert_units(session, UNITS)
        submissions.submit_scores(session, cs.id, "H44.01", [{"leaf_id": "1.1.1", "points": "0.5",
                                                              "evidence": ["KH 1"]}], "canbo", NOW)
    return scoring_database, cs


def stored(db) -> tuple[int, int, int]:
    with db.transaction() as session:
        return (session.scalar(sa.select(sa.func.count()).select_from(LeafScore)),
                session.scalar(sa.select(sa.func.count()).select_from(ScoreHistory)),
                session.scalar(sa.select(Ranking.version)))


BAD_SUBMISSIONS = [
    ("nothing to save", [], False, "scores", "không có điểm tiêu chí nào để lưu"),
    ("nothing to submit", [], True, "scores", "không có điểm tự đánh giá nào của đơn vị H44.02 để nộp"),
    ("not a list", None, False, "scores", "phải là danh sách"),
    ("an item that is not an object", ["1.1.1"], False, "scores[0]", "phải là một tiêu chí"),
    ("evidence as one string", [{"leaf_id": "1.1.1", "points": "0.5", "evidence": "KH 1"}], False,
     "scores[0].evidence", "phải là danh sách tài liệu kiểm chứng"),
    ("a bidi override in a reference", [{"leaf_id": "1.1.1", "points": "0.5", "evidence": ["KH \u202e1"]}], False,
     "scores[0].evidence[0]", "U+202E"),
]


@pytest.mark.parametrize(("case", "scores", "final", "field", "message"), BAD_SUBMISSIONS,
                         ids=[case[0] for case in BAD_SUBMISSIONS])
def test_a_bad_submission_is_refused_by_field_and_stores_nothing(scored, case, scores, final, field, message):
    db, cs = scored
    before = stored(db)
    with pytest.raises(ScoreError) as refused, db.transaction() as session:
        submissions.submit_scores(session, cs.id, "H44.02", scores, "canbo", NOW, final)
    assert refused.value.field == field and message in refused.value.message, refused.value
    assert stored(db) == before


@pytest.mark.parametrize(("actor", "reason", "field", "message"), [
    ("x" * 201, "Lý do", "actor", "Tối đa 200 ký tự"),
    ("hội\x00đồng", "Lý do", "actor", "U+0000"),
    ("hội đồng", "Sai \u202enăm", "reason", "U+202E"),
])
def test_an_appraisal_with_a_hostile_actor_or_reason_is_refused_by_field(scored, actor, reason, field, message):
    db, cs = scored
    before = stored(db)
    with pytest.raises(ScoreError) as refused, db.transaction() as session:
        submissions.appraise(session, cs.id, "H44.01", "1.1.1", "0.25", reason, actor, NOW)
    assert refused.value.field == field and message in refused.value.message, refused.value
    assert stored(db) == before


def test_a_unit_of_another_kind_is_named_by_its_level_in_vietnamese(scored):
    db, cs = scored
    with db.transaction() as session:
        submissions.upsert_units(session, [{"code": "07900", "name": "Phường Việt Trì", "kind": "commune"}])
    with pytest.raises(ScoreError) as refused, db.transaction() as session:
        submissions.submit_scores(session, cs.id, "07900", [{"leaf_id": "1.1.1", "points": "0.5",
                                                             "evidence": ["KH 1"]}], "canbo", NOW)
    assert refused.value.message == ("đơn vị 07900 là cấp xã, phường; bộ tiêu chí department-2026 chấm các đơn vị "
                                      "cấp sở, ban, ngành")


def test_a_unit_that_moved_to_another_kind_keeps_its_name_in_the_ranking_it_was_scored_in(scored):
    db, cs = scored
    with db.transaction() as session:
        submissions.upsert_units(session, [{**UNITS[0], "kind": "commune"}])
        submissions.submit_scores(session, cs.id, "H44.02", [{"leaf_id": "1.1.1", "points": "0.25",
                                                              "evidence": ["KH 1"]}], "canbo", NOW)
    with db.transaction() as session:
        names = {row["unit_code"]: row["unit_name"] for row in reads.ranking(session, cs.id)["table"]}
    assert names == {"H44.01": "Sở Tư pháp", "H44.02": "Sở Y tế"}

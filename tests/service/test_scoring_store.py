"""The scoring rules through the scoring database, on SQLite and PostgreSQL: migrations that build the models,
three-decimal points kept exactly, submissions refused whole (nothing half-saved), a rate sent as null making
its computed leaf not applicable, survey files (CSV and XLSX) with a preview and every bad row named, and a
province's XLSX table published as the next version of its set."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from services.scoring import reads, submissions
from services.scoring.criteria import DATA_DIR, load_criteria_set, parse_criteria_set
from services.scoring.criteria_table import criteria_set_to_xlsx
from services.scoring.models import Base, LeafScore, ScoreHistory
from services.scoring.recalc import current_set, unit_sheet
from services.scoring.scores import ScoreError

TZ = dt.timezone(dt.timedelta(hours=7))
NOW = dt.datetime(2026, 11, 10, 9, tzinfo=TZ)
UNITS = [{"code": c, "name": f"Sở {c}", "kind": "department"} for c in ("H44.01", "H44.02", "H44.42")]


def publish(session, data: dict) -> object:
    cs = parse_criteria_set(data, f"{data['id']}.yaml")
    submissions.publish_set(session, cs, json.loads(cs.to_json()), NOW)
    submissions.upsert_units(session, UNITS)
    return cs


def department(**changes) -> dict:
    data = json.loads(load_criteria_set(DATA_DIR / "department-2026.yaml").to_json())
    data.update(changes)
    return data


def three_decimals() -> dict:
    data = department(id="dept-3dp", precision=3)
    data["areas"][0]["criteria"][0]["sub_criteria"][0]["step"] = 0.001  # leaf 1.1.1, max 0.5
    return data


def test_the_migrations_build_exactly_the_models(scoring_database) -> None:
    with scoring_database.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_three_decimal_points_are_kept_exactly_and_shown_with_three_decimals(scoring_database) -> None:
    with scoring_database.transaction() as session:
        cs = publish(session, three_decimals())
        answer = submissions.submit_scores(session, cs.id, "H44.01",
                                           [{"leaf_id": "1.1.1", "points": "0.375", "evidence": ["KH 1"]}], "u", NOW)
        assert answer["accepted"] == ["1.1.1"]
    with scoring_database.transaction() as session:
        assert session.scalar(sa.select(LeafScore.self_points)) == Decimal("0.375")
        [row] = reads.score_sheet(session, cs.id, "H44.01")
        assert row["self_points"] == "0.375"
        assert session.scalar(sa.select(ScoreHistory.new_value)) == "0.375"
        table = reads.ranking(session, cs.id)
        assert table["precision"] == 3 and table["table"][0]["total_points"] == "0.375"
        assert len(table["table"][0]["index"].split(".")[1]) == 3


def test_a_submission_with_one_point_off_the_step_saves_nothing(scoring_database) -> None:
    with scoring_database.transaction() as session:
        cs = publish(session, department())
    with pytest.raises(ScoreError) as refused, scoring_database.transaction() as session:
        submissions.submit_scores(session, cs.id, "H44.01", [
            {"leaf_id": "1.1.1", "points": "0.5", "evidence": ["KH 1"]},  # good
            {"leaf_id": "1.1.2", "points": "0.3", "evidence": ["KH 1"]},  # off the 0.25 step
        ], "u", NOW)
    assert refused.value.field == "scores[1].points"
    assert "0.3 không phải bội số của bước chấm 0.25 của tiêu chí 1.1.2" in str(refused.value)
    with scoring_database.transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(LeafScore)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(ScoreHistory)) == 0


def test_an_unknown_leaf_and_a_late_submission_are_refused_naming_the_field(scoring_database) -> None:
    with scoring_database.transaction() as session:
        cs = publish(session, department())
    with pytest.raises(ScoreError) as unknown, scoring_database.transaction() as session:
        submissions.submit_scores(session, cs.id, "H44.01", [{"leaf_id": "1.9", "points": "1"}], "u", NOW)
    assert unknown.value.field == "scores[0].leaf_id" and "không có tiêu chí '1.9'" in str(unknown.value)
    late = dt.datetime(2026, 11, 16, 0, 0, tzinfo=TZ)
    with pytest.raises(ScoreError) as closed, scoring_database.transaction() as session:
        submissions.submit_scores(session, cs.id, "H44.01", [{"leaf_id": "1.1.1", "points": "0.5",
                                                              "evidence": ["x"]}], "u", late)
    assert closed.value.field == "submitted_at"
    assert "từ 2026-11-05T00:00:00+07:00 đến 2026-11-15T23:59:59+07:00 đã kết thúc" in str(closed.value)
    with scoring_database.transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(LeafScore)) == 0


def test_a_rate_sent_as_null_makes_its_computed_leaves_not_applicable_shown_as_a_dash(scoring_database) -> None:
    with scoring_database.transaction() as session:
        cs = publish(session, department())
        payload = {"unit_code": "H44.02", "unit_kind": "department", "unit_name": "Sở H44.02", "period": "2026",
                   "on_time_rate": None, "progress_766_rate": None, "online_share": "60.00",
                   "computed_at": NOW.isoformat()}
        assert submissions.store_timeliness(session, payload, NOW) == [cs.id]
    with scoring_database.transaction() as session:
        sheet = unit_sheet(session, cs, "H44.02")
        leaves = {leaf["leaf_id"]: leaf for leaf in sheet["leaves"]}
        for leaf_id in ("3.4", "3.5"):  # on-time rate and 766 progress: nothing to measure
            assert leaves[leaf_id]["applicable"] is False and leaves[leaf_id]["points"] is None
            assert (leaves[leaf_id]["display"], leaves[leaf_id]["note"]) == ("—", "không áp dụng")
        assert leaves["7.2.1"]["points"] == "3.00"  # 60% online against a 50% threshold: full points
        assert sheet["applicable_max"] == "95.00"  # 100 − 3 − 2
    with scoring_database.transaction() as session:  # dossiers arrive later: the rate replaces the null
        later = dict(payload, on_time_rate="100.00", computed_at=(NOW + dt.timedelta(hours=1)).isoformat())
        submissions.store_timeliness(session, later, NOW)
        leaves = {leaf["leaf_id"]: leaf for leaf in unit_sheet(session, cs, "H44.02")["leaves"]}
        assert leaves["3.4"]["points"] == "3.00" and leaves["3.5"]["applicable"] is False


def _survey_xlsx(rows: list[list[object]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_survey_xlsx_preview_names_every_bad_row_and_applies_nothing_unless_told_to_skip(scoring_database) -> None:
    content = _survey_xlsx([["Mã đơn vị", "Tiêu chí", "Điểm"], ["H44.01", "8.1", "7,5"], ["H44.02", "8.1", 6],
                            ["H44.99", "8.1", 5], ["H44.01", "1.1.1", 1], ["H44.02", "8.2", "abc"],
                            ["H44.01", "8.1", 7]])
    with scoring_database.transaction() as session:
        cs = publish(session, department())
        preview = submissions.import_survey(session, cs.id, content, "snv", NOW, filename="ks.xlsx", preview=True)
    assert [(e["row"], e["field"]) for e in preview["errors"]] == [
        (4, "unit_code"), (5, "leaf_id"), (6, "points"), (7, "leaf_id")]
    assert "đã có ở dòng 2" in preview["errors"][3]["reason"]
    assert [(c["unit_code"], c["new"]) for c in preview["changes"]] == [("H44.01", "7.50"), ("H44.02", "6.00")]
    with pytest.raises(ScoreError, match=r"row\[4\]\.unit_code: 4 lỗi"), scoring_database.transaction() as session:
        submissions.import_survey(session, cs.id, content, "snv", NOW, filename="ks.xlsx")
    with scoring_database.transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(LeafScore)) == 0
        done = submissions.import_survey(session, cs.id, content, "snv", NOW, filename="ks.xlsx", skip_invalid=True)
        assert (done["applied"], done["imported"]) == (True, 2)
        assert session.scalar(sa.select(sa.func.count()).select_from(LeafScore)) == 2


def test_a_survey_row_with_three_bad_fields_names_all_three(scoring_database) -> None:
    """An outside review: with an unknown leaf, the bad points of the same row went unmentioned (one round of
    corrections per field instead of one for the file)."""
    content = _survey_xlsx([["Mã đơn vị", "Tiêu chí", "Điểm"], ["H44.99", "9.9", "abc"], ["H44.01", "8.1", "99"]])
    with scoring_database.transaction() as session:
        cs = publish(session, department())
        preview = submissions.import_survey(session, cs.id, content, "snv", NOW, filename="ks.xlsx", preview=True)
    assert [(e["row"], e["field"]) for e in preview["errors"]] == [
        (2, "unit_code"), (2, "leaf_id"), (2, "points"), (3, "points")]
    assert "nằm ngoài 0…" in preview["errors"][3]["reason"]


def test_a_provinces_xlsx_table_is_previewed_then_published_as_the_next_version(scoring_database) -> None:
    original = load_criteria_set(DATA_DIR / "department-2026.yaml")
    with scoring_database.transaction() as session:
        publish(session, json.loads(original.to_json()))
        data = copy.deepcopy(json.loads(original.to_json()))
        data["areas"][0]["criteria"][0]["sub_criteria"][0]["title"] = "Ban hành kế hoạch CCHC năm đúng hạn"
        changed = parse_criteria_set(data, "x")
        content = criteria_set_to_xlsx(changed)
        preview = submissions.criteria_table_preview(session, content, "bang-tieu-chi.xlsx")[1]
        assert (preview["set_id"], preview["version"], preview["leaves"]) == ("department-2026", 2, 63)
        assert (preview["changed"], preview["added"], preview["removed"]) == (["1.1.1"], [], [])
        assert preview["same_as_current"] is False
        published = submissions.publish_criteria_table(session, content, "bang-tieu-chi.xlsx", NOW)
        assert published["published"] and published["version"] == 2
    with scoring_database.transaction() as session:
        outline = reads.criteria_outline(current_set(session, "department-2026"))
        assert outline["version"] == 2
        assert outline["areas"][0]["criteria"][0]["leaves"][0]["title"] == "Ban hành kế hoạch CCHC năm đúng hạn"

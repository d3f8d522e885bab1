"""The scoring service over a bus, on both backends: submissions with per-leaf errors, drafts and final
submission, the window, appraisal with history, survey import, rankings with versions, concurrent
submissions for one unit, and a computed criterion that moves when the dossiers' figures change."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import eventlet
import pytest
from nameko.events import event_handler
from nameko.exceptions import RemoteError

from cchc.runner import rpc_proxy, running
from services.dossiers.service import DossiersService
from services.scoring.criteria import DATA_DIR, load_criteria_set, parse_criteria_set
from services.scoring.service import ScoringService
from shared.events import make_envelope
from shared.publisher import publisher_for
from tests.support import wait_until

TZ = dt.timezone(dt.timedelta(hours=7))


def open_window_copy(tmp_path: Path, name: str, set_id: str, **extra: object) -> tuple[Path, object]:
    """The example set with its submission window around now (the real 2026 window is already closed);
    ``extra``: top-level keys to set (``season=True``)."""
    cs = load_criteria_set(DATA_DIR / name)
    data = json.loads(cs.to_json())
    now = dt.datetime.now(TZ)
    data["id"] = set_id
    data.update(extra)
    data["window"] = {
        "opens": (now - dt.timedelta(days=1)).isoformat(),
        "closes": (now + dt.timedelta(days=1)).isoformat(),
    }
    path = tmp_path / f"{set_id}.json.yaml"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path, parse_criteria_set(data, str(path))


def self_leaves(cs) -> list:
    return [leaf for leaf in cs.leaves() if leaf.method.kind == "self" and not leaf.is_deduction]


def full_marks(cs) -> list[dict]:
    return [
        {"leaf_id": leaf.id, "points": str(leaf.max_points), "evidence": [f"QĐ-{leaf.id}"]} for leaf in self_leaves(cs)
    ]


class RankingListener:
    name = "ranking_listener"
    versions: list = []  # noqa: RUF012

    @event_handler("scoring", "ranking_updated")
    def on_ranking(self, payload):
        RankingListener.versions.append((payload["set_id"], payload["version"]))


@pytest.fixture
def scoring(backend_config, tmp_path):
    config = backend_config(timeliness={"stats_publish_interval_seconds": 0.2}, outbox={"relay_interval_seconds": 0.1})
    path, cs = open_window_copy(tmp_path, "department-2026.yaml", "dept-test-2026")
    RankingListener.versions = []
    with running([DossiersService, ScoringService, RankingListener], config), rpc_proxy(config) as rpc:
        assert rpc.scoring.sync_units() > 100
        rpc.scoring.publish_criteria_set(str(path))
        yield rpc, cs, config


def test_a_submission_with_bad_leaves_is_refused_whole_naming_each_and_saves_nothing(scoring):
    """Points above the maximum, an unknown leaf and a negative score: one Vietnamese refusal naming every bad
    leaf, and the good leaf of the same submission is not saved either (nothing half-saved)."""
    rpc, cs, _ = scoring
    leaves = self_leaves(cs)
    good, other = leaves[0], leaves[1]
    with pytest.raises(RemoteError) as refused:
        rpc.scoring.submit_scores(
            cs.id,
            "H44.07",
            [
                {"leaf_id": good.id, "points": str(good.max_points), "evidence": ["Báo cáo số 12/BC-SCT"]},
                {"leaf_id": other.id, "points": str(other.max_points + 1), "evidence": ["x"]},  # above the maximum
                {"leaf_id": "99.9", "points": "1", "evidence": ["x"]},  # unknown criterion
                {"leaf_id": other.id, "points": "-1", "evidence": ["x"]},  # negative
            ],
            "chuyen_vien@sct",
        )
    message = str(refused.value.value)
    assert message.startswith("scores[1].points: 3 lỗi, không lưu gì")
    for named in ("scores[1].points", "scores[2].leaf_id", "scores[3].points", "vượt điểm tối đa", "'99.9'"):
        assert named in message
    assert rpc.scoring.score_sheet(cs.id, "H44.07") == []


def test_drafts_change_until_submitted_then_only_appraisal_changes_them(scoring):
    rpc, cs, _ = scoring
    leaf = self_leaves(cs)[0]
    half = f"{leaf.max_points / 2:.2f}"
    full = f"{leaf.max_points:.2f}"
    rpc.scoring.submit_scores(cs.id, "H44.08", [{"leaf_id": leaf.id, "points": half, "evidence": ["a"]}], "u1")
    rpc.scoring.submit_scores(
        cs.id, "H44.08", [{"leaf_id": leaf.id, "points": str(leaf.max_points), "evidence": ["a"]}], "u1", True
    )
    with pytest.raises(RemoteError, match="đã nộp chính thức"):
        rpc.scoring.submit_scores(cs.id, "H44.08", [{"leaf_id": leaf.id, "points": half, "evidence": ["a"]}], "u1")

    with pytest.raises(Exception, match="reason"):
        rpc.scoring.appraise(cs.id, "H44.08", leaf.id, half, "", "hoi_dong")
    rpc.scoring.appraise(cs.id, "H44.08", leaf.id, half, "Thiếu tài liệu kiểm chứng", "hoi_dong")
    history = rpc.scoring.history(cs.id, "H44.08", leaf.id)
    kinds = [(h["kind"], h["old"], h["new"], h["actor"]) for h in history]
    assert kinds == [
        ("self", None, half, "u1"),
        ("self", half, full, "u1"),
        ("status", "draft", "submitted", "u1"),
        ("appraisal", None, half, "hoi_dong"),
    ]
    assert history[-1]["reason"] == "Thiếu tài liệu kiểm chứng"
    sheet = rpc.scoring.unit_result(cs.id, "H44.08")
    leaf_result = next(x for x in sheet["leaves"] if x["leaf_id"] == leaf.id)
    assert Decimal(leaf_result["points"]) == Decimal(half) and leaf_result["source"] == "appraised"


def test_window_unit_and_set_errors(scoring, tmp_path):
    rpc, cs, _ = scoring
    leaf = self_leaves(cs)[0]
    item = [{"leaf_id": leaf.id, "points": "0", "evidence": []}]
    rpc.scoring.publish_criteria_set(str(DATA_DIR / "department-2026.yaml"))  # the real set: closed on 15/11/2026
    with pytest.raises(Exception, match="submitted_at"):
        rpc.scoring.submit_scores("department-2026", "H44.07", item, "u")
    with pytest.raises(Exception, match="unit_code"):
        rpc.scoring.submit_scores(cs.id, "NO-SUCH", item, "u")
    with pytest.raises(Exception, match="unit_code"):
        rpc.scoring.submit_scores(cs.id, "07900", item, "u")  # a commune, not a department
    with pytest.raises(Exception, match="set_id"):
        rpc.scoring.submit_scores("no-such-set", "H44.07", item, "u")
    changed = json.loads((tmp_path / "dept-test-2026.json.yaml").read_text(encoding="utf-8"))
    changed["title"] = "Bộ tiêu chí đã sửa"
    (tmp_path / "changed.yaml").write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(Exception, match="version"):
        rpc.scoring.publish_criteria_set(str(tmp_path / "changed.yaml"))  # published sets are immutable


def test_ranking_ties_versions_and_survey(scoring):
    rpc, cs, _ = scoring
    marks = full_marks(cs)
    for unit in ("H44.07", "H44.08"):
        rpc.scoring.submit_scores(cs.id, unit, marks, "u", True)
    rpc.scoring.submit_scores(cs.id, "H44.03", marks[:-3], "u", True)
    survey = [leaf for leaf in cs.leaves() if leaf.method.kind == "survey"]
    lines = ["unit_code,leaf_id,points"] + [f"H44.07,{leaf.id},{leaf.max_points}" for leaf in survey]
    lines += [f"H44.08,{leaf.id},{leaf.max_points}" for leaf in survey] + ["H44.08,1.1,3", "NOPE,9,1"]
    with pytest.raises(RemoteError, match=r"row\[8\].leaf_id: 3 lỗi, không lưu gì"):  # nothing applied
        rpc.scoring.import_survey(cs.id, "\n".join(lines), "so_noi_vu")
    preview = rpc.scoring.import_survey(cs.id, "\n".join(lines), "so_noi_vu", preview=True)
    assert preview["applied"] is False and len(preview["changes"]) == 2 * len(survey)
    assert [(e["row"], e["field"]) for e in preview["errors"]] == [(8, "leaf_id"), (9, "unit_code"), (9, "leaf_id")]
    imported = rpc.scoring.import_survey(cs.id, "\n".join(lines), "so_noi_vu", skip_invalid=True)
    assert imported["imported"] == 2 * len(survey) and len(imported["errors"]) == 3 and imported["applied"]
    ranking = rpc.scoring.ranking(cs.id)
    top = {row["unit_code"]: row for row in ranking["table"]}
    assert top["H44.07"]["index"] == top["H44.08"]["index"]
    assert top["H44.07"]["rank"] == top["H44.08"]["rank"] == 1  # equal indexes share a rank
    assert top["H44.03"]["rank"] == 3
    assert Decimal(top["H44.03"]["index"]) < Decimal(top["H44.07"]["index"])
    assert set(top["H44.07"]["areas"]) == {a.id for a in cs.areas}
    wait_until(
        lambda: any(v == ranking["version"] for _, v in RankingListener.versions),
        timeout=30,
        message="ranking_updated with the current version",
    )
    versions = [v for s, v in RankingListener.versions if s == cs.id]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)


def test_concurrent_submissions_for_one_unit_lose_nothing(scoring):
    rpc, cs, config = scoring
    leaves = self_leaves(cs)[:12]

    def submit(leaf):
        with rpc_proxy(config) as own:
            return own.scoring.submit_scores(
                cs.id,
                "H44.07",
                [{"leaf_id": leaf.id, "points": str(leaf.max_points), "evidence": ["e"]}],
                f"worker-{leaf.id}",
            )

    pool = eventlet.GreenPool(12)
    results = list(pool.imap(submit, leaves))
    assert all(r["accepted"] for r in results)
    sheet = {row["leaf_id"]: row for row in rpc.scoring.score_sheet(cs.id, "H44.07")}
    assert all(Decimal(sheet[leaf.id]["self_points"]) == leaf.max_points for leaf in leaves)
    unit = rpc.scoring.unit_result(cs.id, "H44.07")
    assert sum(Decimal(x["points"] or 0) for x in unit["leaves"] if x["source"] == "self") == sum(
        leaf.max_points for leaf in leaves
    )
    assert len(rpc.scoring.history(cs.id, "H44.07")) == len(leaves)


def test_computed_criterion_follows_the_dossier_figures(scoring):
    rpc, cs, config = scoring
    computed = [leaf for leaf in cs.leaves() if leaf.method.kind == "computed" and leaf.method.metric == "on_time_rate"]
    assert computed, "the example department set has an on-time-rate criterion"
    leaf = computed[0]

    def points():
        try:
            sheet = rpc.scoring.unit_result(cs.id, "H44.07")
        except Exception:
            return None
        return next(x["points"] for x in sheet["leaves"] if x["leaf_id"] == leaf.id)

    mon = dt.datetime(2026, 7, 6, 9, tzinfo=TZ)
    messages = [
        make_envelope(
            "dossier.received",
            {"dossier_code": "T1", "procedure_code": "2.002127.H44", "unit_code": "H44.07", "received_at": mon},
            occurred_at=mon,
        ),
        make_envelope(
            "dossier.resolved",
            {"dossier_code": "T1", "resolved_at": mon + dt.timedelta(hours=2)},
            occurred_at=mon + dt.timedelta(hours=2),
        ),
    ]
    publisher = publisher_for(config)
    publisher.publish_many(messages)
    full = wait_until(
        lambda: (p := points()) is not None and Decimal(p) == leaf.max_points and p,
        timeout=30,
        message="the on-time criterion at full points (100% on time)",
    )
    late_resolution = mon + dt.timedelta(days=40)
    publisher.publish_many(
        [
            make_envelope(
                "dossier.received",
                {"dossier_code": "T2", "procedure_code": "2.002127.H44", "unit_code": "H44.07", "received_at": mon},
                occurred_at=mon,
            ),
            make_envelope(
                "dossier.resolved", {"dossier_code": "T2", "resolved_at": late_resolution}, occurred_at=late_resolution
            ),
        ]
    )
    publisher.close()
    lowered = wait_until(
        lambda: (p := points()) is not None and Decimal(p) < Decimal(full) and p,
        timeout=30,
        message="the criterion lowered by a late dossier (50% on time)",
    )
    assert Decimal(lowered) < leaf.max_points

"""What the ranking, commitment and statistics documents say (layout model, before any format)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.reports import commitment as c
from services.reports.errors import NotFound
from services.reports.layout import BarChart, Heading, Paragraph, Signatures, Table
from services.reports.ranking_document import build_ranking_document, roman
from services.reports.settings import load_settings
from services.reports.statistics_report import build_statistics_document
from shared.config import defaults
from shared.rounding import round_half_up
from tests.reports_samples import sample_ranking, stats_row

TODAY = dt.date(2026, 12, 21)


@pytest.fixture
def settings(tmp_path):
    return load_settings({})


def texts(document) -> list[str]:
    return [b.text for b in document.blocks() if isinstance(b, Heading | Paragraph)]


# -- ranking ------------------------------------------------------------------------------------------------
def test_ranking_table_is_the_scoring_table_in_order(settings) -> None:
    ranking = sample_ranking(12)
    document = build_ranking_document([ranking], settings, "Phú Thọ", TODAY)
    table, areas = document.tables()
    assert [col.title for col in table.columns] == ["STT", "Đơn vị", "Điểm tự đánh giá", "Điểm thẩm định",
                                                    "Điểm điều tra XHH", "Tổng điểm", "Chỉ số CCHC (%)",
                                                    "Xếp hạng", "Xếp loại"]
    assert len(table.rows) == 12
    for position, (row, source) in enumerate(zip(table.rows, ranking["table"], strict=True), start=1):
        no, name, self_total, appraised, survey, total, index, rank, klass = row.values
        assert no == position
        assert name == source["unit_name"] + (" (*)" if source["provisional"] else "")
        assert (self_total, appraised, survey, total, index) == tuple(
            Decimal(source[k]) for k in ("self_total", "appraised_total", "survey_total", "total_points", "index"))
        assert rank == source["rank"] and klass == source["classification"]
    excluded = [r for r in table.rows if r.values[7] is None]
    assert len(excluded) == 1 and excluded[0] is table.rows[-1]  # excluded units last, without a rank
    assert any("không xếp hạng chung" in note for note in table.notes)
    assert any(note.startswith("(*) Kết quả tạm tính") for note in table.notes)
    # component indexes: one column per area, in the set's order, for every unit
    assert [col.title for col in areas.columns[2:-1]] == [a["area_id"] for a in ranking["areas"]]
    first = ranking["table"][0]
    assert areas.rows[0].values[2:-1] == tuple(Decimal(first["areas"][a["area_id"]]) for a in ranking["areas"])
    [legend] = areas.notes
    assert [n.split(":")[0] for n in legend.split("; ")] == [f"Lĩnh vực {a['area_id']}" for a in ranking["areas"]]
    assert legend.startswith("Lĩnh vực 1: Công tác chỉ đạo, điều hành cải cách hành chính (tối đa 10 điểm); ")


def test_ranking_decision_text_and_appendix(settings) -> None:
    document = build_ranking_document([sample_ranking(3, set_id="department-2026", unit_kind="department"),
                                       sample_ranking(5)], settings, "Phú Thọ", TODAY)
    text = "\n".join(texts(document))
    assert "Về việc công bố Chỉ số cải cách hành chính năm 2026 của các sở, ban, ngành và Ủy ban nhân dân các xã, " \
           "phường tỉnh Phú Thọ" in text
    assert "Công bố Chỉ số cải cách hành chính năm 2026 của 3 sở, ban, ngành và 5 xã, phường tỉnh Phú Thọ" in text
    assert "Phụ lục I, II kèm theo" in text
    assert document.header.issuer == "Ủy ban nhân dân\ntỉnh Phú Thọ"
    signatures = next(b for b in document.blocks() if isinstance(b, Signatures))
    assert signatures.right.title == "Chủ tịch" and signatures.recipients[0] == "Như Điều 3;"
    assert [t.name for t in document.tables()] == ["Xếp hạng I", "Lĩnh vực I", "Xếp hạng II", "Lĩnh vực II"]
    assert [s.landscape for s in document.sections] == [False, False, True, False, False, True, False]


def test_ranking_summary_and_charts(settings) -> None:
    ranking = sample_ranking(100)
    document = build_ranking_document([ranking], settings, "Phú Thọ", TODAY)
    indexes = [Decimal(r["index"]) for r in ranking["table"]]
    summary = next(t for t in texts(document) if t.startswith("Tổng số 100 đơn vị"))
    average = str(round_half_up(sum(indexes) / len(indexes))).replace(".", ",")
    assert f"Chỉ số CCHC trung bình đạt {average}%" in summary
    charts = document.charts()
    bars = [ch for ch in charts if ch.horizontal]
    assert [len(ch.categories) for ch in bars] == [45, 45, 10]  # reports.ranking.units_per_chart
    assert [v for ch in bars for v in ch.series[0].values] == indexes
    areas = charts[-1]
    assert not areas.horizontal and [s.name for s in areas.series] == ["Trung bình", "Cao nhất", "Thấp nhất"]
    first_area = [Decimal(r["areas"]["1"]) for r in ranking["table"]]
    assert areas.series[1].values[0] == max(first_area) and areas.series[2].values[0] == min(first_area)


def test_a_ranking_without_units_or_sets_of_different_years_is_refused(settings) -> None:
    empty = sample_ranking(0)
    with pytest.raises(NotFound, match="no unit results"):
        build_ranking_document([empty], settings, "Phú Thọ", TODAY)
    with pytest.raises(NotFound, match="different years"):
        build_ranking_document([sample_ranking(2), sample_ranking(2, set_id="d", year=2025)], settings, "Phú Thọ",
                               TODAY)
    with pytest.raises(NotFound):
        build_ranking_document([], settings, "Phú Thọ", TODAY)


def test_roman_numerals() -> None:
    assert [roman(n) for n in (1, 2, 3, 4, 5, 9, 10, 14)] == ["I", "II", "III", "IV", "V", "IX", "X", "XIV"]


# -- commitment ---------------------------------------------------------------------------------------------
def test_targets_never_below_the_goal_nor_last_years_result() -> None:
    last = {"par_index": Decimal("85.20"), "on_time_rate": Decimal("99.10"), "progress_766_rate": None,
            "online_share": Decimal("41.67"), "plan_completion": Decimal("100.00"), "apologies_on_time": None}
    goals = {"par_index": Decimal(80), "on_time_rate": Decimal(98), "progress_766_rate": Decimal(90),
             "online_share": Decimal(50), "plan_completion": Decimal(100), "apologies_on_time": None}
    targets = {t.id: t for t in c.propose_targets(last, goals, Decimal("0.5"))}
    assert targets["par_index"].target == Decimal("85.70")  # last year + 0.5 beats the goal of 80
    assert targets["on_time_rate"].target == Decimal("99.60")
    assert targets["progress_766_rate"].target == Decimal(90)  # no result last year: the goal
    assert targets["online_share"].target == Decimal(50)  # the goal beats 41.67 + 0.5
    assert targets["plan_completion"].target == Decimal(100)  # capped at 100
    assert targets["apologies_on_time"].target is None  # neither a goal nor a result
    assert [t.id for t in c.propose_targets(last, goals)] == list(c.TARGET_LABELS)


def test_figures_treat_an_empty_denominator_as_no_data() -> None:
    stats = {"finished": 0, "on_time_rate": "0.00", "progress_766_total": 0, "progress_766_rate": "0.00",
             "received_new": 0, "online_share": "0.00"}
    figures = c.figures(stats, {"total": 0, "done_pct": "0.00"}, None, None)
    assert set(figures.values()) == {None}
    stats = {"finished": 3, "on_time_rate": "66.67", "progress_766_total": 3, "progress_766_rate": "66.67",
             "received_new": 3, "online_share": "33.33"}
    figures = c.figures(stats, {"total": 4, "done_pct": "75.00"}, "81.33", "90")
    assert figures == {"par_index": Decimal("81.33"), "on_time_rate": Decimal("66.67"),
                       "progress_766_rate": Decimal("66.67"), "online_share": Decimal("33.33"),
                       "plan_completion": Decimal("75.00"), "apologies_on_time": Decimal(90)}
    with pytest.raises(ValueError, match="apologies_on_time"):
        c.figures(None, None, None, "150")


def test_verdicts() -> None:
    targets = [c.Target("par_index", None, Decimal(80), Decimal(80)), c.Target("on_time_rate", None, None, None),
               c.Target("online_share", None, Decimal(50), Decimal(50))]
    outcomes = c.evaluate(targets, {"par_index": Decimal("80.00"), "on_time_rate": Decimal(99),
                                    "online_share": Decimal("49.99")})
    assert [(o.met, o.verdict) for o in outcomes] == [(True, "Đạt"), (None, "–"), (False, "Không đạt")]
    assert c.evaluate(targets[:1], {})[0].verdict == "Chưa có số liệu"
    assert c.targets_from_json(c.targets_to_json(targets)) == targets


def test_commitment_document_parties_targets_and_results(settings) -> None:
    unit = {"code": "07900", "name": "Phường Việt Trì", "kind": "commune"}
    last = {"par_index": None, "on_time_rate": Decimal("96.5"), "progress_766_rate": None, "online_share": None,
            "plan_completion": None, "apologies_on_time": None}
    targets = c.propose_targets(last, settings.goals_for("commune"))
    document = c.build_commitment_document(unit, 2026, targets, None, settings, "Phú Thọ", TODAY)
    assert document.header.issuer == "Ủy ban nhân dân\nphường Việt Trì" and document.header.issuer_parent is None
    text = "\n".join(texts(document))
    assert "Ủy ban nhân dân phường Việt Trì, đại diện là Chủ tịch Ủy ban nhân dân." in text
    assert "Ủy ban nhân dân tỉnh Phú Thọ, đại diện là Chủ tịch Ủy ban nhân dân tỉnh." in text
    [table] = document.tables()
    assert [col.title for col in table.columns] == ["STT", "Chỉ tiêu", "Kết quả năm 2025", "Mục tiêu của tỉnh",
                                                    "Cam kết năm 2026"]
    on_time = table.rows[1].values
    assert on_time[1].startswith("Tỷ lệ hồ sơ thủ tục hành chính giải quyết đúng hạn")
    goal = Decimal(defaults()["reports"]["commitment"]["goals"]["on_time_rate"])
    assert on_time[2:] == (Decimal("96.5"), goal, Decimal(98))
    assert table.rows[0].values[2] == "Chưa có số liệu"
    signatures = next(b for b in document.blocks() if isinstance(b, Signatures))
    assert (signatures.left.capacity, signatures.right.capacity) == ("Đại diện Bên A", "Đại diện Bên B")

    actual = dict.fromkeys(c.TARGET_LABELS, None) | {"on_time_rate": Decimal(99), "online_share": Decimal(10)}
    result = c.build_commitment_document(unit, 2026, targets, c.evaluate(targets, actual), settings, "Phú Thọ",
                                         TODAY, "2026-12-14")
    [table] = result.tables()
    assert result.kind == "commitment_result" and table.columns[-2].title == "Kết quả năm 2026"
    verdicts = [row.values[-1] for row in table.rows]
    assert verdicts == ["Chưa có số liệu", "Đạt", "Chưa có số liệu", "Không đạt", "Chưa có số liệu",
                        "Chưa có số liệu"]
    assert "đạt 1/2 chỉ tiêu có số liệu; 4 chỉ tiêu chưa có số liệu. Số liệu giải quyết hồ sơ tính đến ngày " \
           "14/12/2026." in "\n".join(texts(result))


def test_goals_by_kind_override(tmp_path) -> None:
    settings = load_settings({"reports": {"commitment": {
        "goals_by_kind": {"commune": {"online_share": "40"}}}}})
    assert settings.goals_for("commune")["online_share"] == Decimal(40)
    assert settings.goals_for("department")["online_share"] == Decimal(50)
    with pytest.raises(ValueError, match=r"goals\.speed"):
        load_settings({"reports": {"commitment": {"goals": {"speed": "1"}}}})
    with pytest.raises(ValueError, match="odt"):
        load_settings({"reports": {"formats": ["pdf", "odt"]}})


# -- statistics ---------------------------------------------------------------------------------------------
def test_statistics_rows_equal_the_period_figures(settings) -> None:
    units = [{"code": "P25", "name": "UBND tỉnh Phú Thọ", "kind": "province"},
             {"code": "H44.07", "name": "Sở Công Thương", "kind": "department", "valid_from": "2025-07-01"},
             {"code": "07900", "name": "Phường Việt Trì", "kind": "commune", "valid_from": "2022-01-01"},
             {"code": "07901", "name": "Phường Mới", "kind": "commune", "valid_from": "2025-07-01"},
             {"code": "D227", "name": "Thành phố Việt Trì", "kind": "district", "valid_to": "2025-06-30"}]
    empty = stats_row("07901", "Phường Mới", 0)
    rows = [stats_row("P25", "UBND tỉnh Phú Thọ", 3), stats_row("H44.07", "Sở Công Thương"),
            stats_row("07900", "Phường Việt Trì"), empty, stats_row("D227", "Thành phố Việt Trì")]
    document = build_statistics_document(rows, units, settings, "Phú Thọ", TODAY)
    [table] = document.tables()
    assert table.rows[0].style == "total" and table.rows[0].values[1] == "UBND tỉnh Phú Thọ"
    # the district still holds dossiers of 2023, the new ward did not exist then: left out
    layout = [(r.style, r.values[1] if r.style != "group" else r.values[0]) for r in table.rows]
    assert layout == [("total", "UBND tỉnh Phú Thọ"), ("group", "Sở, ban, ngành"), ("", "Sở Công Thương"),
                      ("group", "Xã, phường"), ("", "Phường Việt Trì"),
                      ("group", "Huyện, thị xã, thành phố (trước ngày 01/7/2025)"), ("", "Thành phố Việt Trì")]
    titles = [col.title for col in table.columns]
    first = table.rows[0].values
    assert first[titles.index("Mới tiếp nhận")] == 3 * 13324 and first[titles.index("Tổng số")] == 3 * 15051
    assert first[titles.index("Tỷ lệ đúng hạn (%)")] == Decimal("86.51")
    assert first[titles.index("Điểm tiến độ QĐ 766")] == Decimal("17.32")
    text = "\n".join(texts(document))
    assert "Tình hình, kết quả giải quyết thủ tục hành chính 6 tháng đầu năm 2023" in text
    assert "Kỳ báo cáo từ ngày 15/12/2022 đến ngày 14/06/2023" in text
    assert "theo ngày" in text  # the report says how timeliness was compared
    assert "mới tiếp nhận 39.972" in text and "tỷ lệ giải quyết đúng hạn 86,51%" in text
    assert [s.landscape for s in document.sections] == [False, True]
    assert document.header.issuer == "Ủy ban nhân dân\ntỉnh Phú Thọ"


def test_a_units_own_report_has_no_groups(settings) -> None:
    units = [{"code": "H44.07", "name": "Sở Công Thương", "kind": "department"}]
    document = build_statistics_document([stats_row("H44.07", "Sở Công Thương")], units, settings, "Phú Thọ",
                                         TODAY)
    [table] = document.tables()
    assert len(table.rows) == 1 and document.header.issuer_parent == "UBND tỉnh Phú Thọ"
    assert isinstance(table, Table) and not any(isinstance(b, BarChart) for b in document.blocks())
    with pytest.raises(NotFound):
        build_statistics_document([], units, settings, "Phú Thọ", TODAY)

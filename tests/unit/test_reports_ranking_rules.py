"""The ranking document under the provinces' scoring rules: the set's three decimals in every figure, a bonus
column, and notes that state the tie-breakers, the bonus cap and what "—" (not applicable) means."""

from __future__ import annotations

import datetime as dt

from services.reports.formats.docx import render as render_docx
from services.reports.layout import cell_text
from services.reports.ranking_document import build_ranking_document
from services.reports.settings import load_settings
from tests.reports_samples import sample_ranking

TODAY = dt.date(2026, 12, 21)


def three_decimal_ranking() -> dict:
    ranking = sample_ranking(3, set_id="dept-3dp", unit_kind="department")
    ranking["precision"] = 3
    ranking["tie_breakers"] = ["Chỉ số CCHC chưa làm tròn", "chỉ số thành phần lĩnh vực 3", "tổng điểm thẩm định"]
    ranking["areas"].append({"area_id": "9", "title": "Điểm thưởng", "max_points": "2", "bonus": True})
    ranking["cap_index_at"] = "100"
    top = ranking["table"][0]
    top.update(index="91.651", total_points="91.651", bonus_total="1.500")
    for row in ranking["table"][1:]:
        row["bonus_total"] = "0.000"
    return ranking


def test_a_three_decimal_set_prints_91_651_and_states_its_tie_breakers_in_order() -> None:
    document = build_ranking_document([three_decimal_ranking()], load_settings({}), "Phú Thọ", TODAY)
    table, areas = document.tables()
    titles = [c.title for c in table.columns]
    assert titles[5] == "Điểm thưởng" and "9" not in [c.title for c in areas.columns]  # no bonus component index
    index_column = titles.index("Chỉ số CCHC (%)")
    assert table.columns[index_column].places == 3
    assert cell_text(table.rows[0].values[index_column], "decimal", 3) == "91,651"
    assert cell_text(table.rows[0].values[5], "decimal", 3) == "1,500"
    notes = " ".join(table.notes)
    assert ("làm tròn 3 chữ số thập phân) được xếp hạng lần lượt theo: Chỉ số CCHC chưa làm tròn; chỉ số thành "
            "phần lĩnh vực 3; tổng điểm thẩm định; bằng nhau ở tất cả thì đồng hạng") in notes
    assert "Chỉ số CCHC tối đa 100%" in notes
    assert "không tính vào điểm tối đa" in notes


def test_the_docx_shows_the_three_decimals(tmp_path) -> None:
    document = build_ranking_document([three_decimal_ranking()], load_settings({}), "Phú Thọ", TODAY)
    import io
    import zipfile

    data = render_docx(document)
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode("utf-8")
    assert "91,651" in xml and "Chỉ số CCHC chưa làm tròn" in xml


def test_a_two_decimal_set_without_breakers_says_equal_indexes_share_a_rank() -> None:
    document = build_ranking_document([sample_ranking(3)], load_settings({}), "Phú Thọ", TODAY)
    table, _ = document.tables()
    assert any("làm tròn 2 chữ số thập phân) được xếp đồng hạng" in note for note in table.notes)
    assert "Điểm thưởng" not in [c.title for c in table.columns]

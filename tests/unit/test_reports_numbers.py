"""Figures written the Vietnamese way (services/reports/numbers.py) and the table cells built from them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.reports.layout import Column, ColumnGroup, Row, Table, cell_text
from services.reports.numbers import NO_DATA, decimal_or_none, parse_vi_number, vi_decimal, vi_int, vi_percent


def test_counts_use_a_dot_between_thousands() -> None:
    assert vi_int(15051) == "15.051"
    assert vi_int(1727) == "1.727"
    assert vi_int(999) == "999"
    assert vi_int(1_000_000) == "1.000.000"
    assert vi_int(-1234) == "-1.234"
    assert vi_int(None) == "–"


def test_decimals_use_a_comma_and_two_places_rounded_half_up() -> None:
    assert vi_decimal(Decimal("81.33")) == "81,33"
    assert vi_decimal("86.5") == "86,50"
    assert vi_decimal(Decimal("90.625")) == "90,63"  # half up, as published (Python's round() gives 90.62)
    assert vi_decimal(Decimal("18.125")) == "18,13"
    assert vi_decimal(Decimal("15051.5")) == "15.051,50"
    assert vi_decimal(100) == "100,00"
    assert vi_decimal(Decimal("-0.125")) == "-0,13"
    assert vi_decimal(Decimal("68.32"), 0) == "68"
    assert vi_decimal(None) == "–"


def test_percent_in_sentences_and_missing_figures() -> None:
    assert vi_percent("86.5") == "86,50%"
    assert vi_percent(None) == NO_DATA == "chưa có số liệu"


@pytest.mark.parametrize("text", ["15.051", "81,33", "86,50%", "1.000.000", "0,00", "100", "-3,25"])
def test_parse_reads_back_what_was_written(text: str) -> None:
    value = parse_vi_number(text)
    written = vi_int(int(value)) if "," not in text else vi_decimal(value)
    assert written == text.removesuffix("%")


@pytest.mark.parametrize("text", ["15,051.00", "1.23", "abc", "", "12.34,5,6"])
def test_parse_refuses_other_notations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_vi_number(text)


def test_figures_from_services() -> None:
    assert decimal_or_none("85.20") == Decimal("85.20")
    assert decimal_or_none(None) is None and decimal_or_none("") is None
    assert decimal_or_none(0.1) == Decimal("0.1")
    with pytest.raises(ValueError):
        decimal_or_none("NaN")
    with pytest.raises(ValueError):
        decimal_or_none("x")
    with pytest.raises(TypeError):
        decimal_or_none(True)


def test_cells_by_column_kind() -> None:
    assert cell_text(15051, "int") == "15.051"
    assert cell_text(Decimal("81.33"), "decimal") == "81,33"
    assert cell_text(3, "center") == "3"
    assert cell_text(None, "decimal") == "–"
    assert cell_text("Chưa có số liệu", "decimal") == "Chưa có số liệu"
    assert cell_text("Phường Việt Trì", "text") == "Phường Việt Trì"


def test_grouped_header_rows() -> None:
    table = Table(name="Thống kê", caption="", columns=tuple(Column(t) for t in ("STT", "Đơn vị", "Trước hạn",
                                                                                  "Đúng hạn", "Trễ hạn")),
                  rows=(Row((1, "Xã A", 1, 2, 3)),), groups=(ColumnGroup("Đã giải quyết", 2, 3),))
    top, bottom = table.header_rows()
    assert [(c.title, c.colspan, c.rowspan) for c in top] == [("STT", 1, 2), ("Đơn vị", 1, 2), ("Đã giải quyết", 3, 1)]
    assert [c.title for c in bottom] == ["Trước hạn", "Đúng hạn", "Trễ hạn"]


def test_tables_refuse_inconsistent_shapes() -> None:
    columns = (Column("STT"), Column("Đơn vị"))
    with pytest.raises(ValueError, match="2 columns"):
        Table(name="A", caption="", columns=columns, rows=(Row((1, "x", 3)),))
    with pytest.raises(ValueError, match="sheet name"):
        Table(name="Bảng 1/2", caption="", columns=columns, rows=())
    with pytest.raises(ValueError, match="outside"):
        Table(name="A", caption="", columns=columns, rows=(), groups=(ColumnGroup("G", 1, 2),))

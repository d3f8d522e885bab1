"""The three formats read back: python-docx, openpyxl and PDF text extraction must find the same figures, in
Vietnamese with its diacritics intact, in the Nghị định 30 layout (A4, margins, Times New Roman / Liberation
Serif), with native charts in DOCX and XLSX; the PDF is also rendered to an image to see it is not blank."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
import unicodedata
import zipfile
from decimal import Decimal

import docx
import openpyxl
import pytest
from pypdf import PdfReader

from services.reports import commitment as c
from services.reports.formats import check_formats, render
from services.reports.formats.xlsx import HEADER_ROW
from services.reports.layout import cell_text
from services.reports.numbers import parse_vi_number
from services.reports.ranking_document import build_ranking_document
from services.reports.settings import load_settings
from services.reports.statistics_report import build_statistics_document
from tests.reports_samples import sample_ranking, stats_row

TODAY = dt.date(2026, 12, 21)
NFD_NAME = unicodedata.normalize("NFD", "Xã Đồng Lạc")


@pytest.fixture(scope="module")
def ranking_files(tmp_path_factory):
    settings = load_settings({})
    ranking = sample_ranking(50)
    ranking["table"][4]["unit_name"] = NFD_NAME  # decomposed input must come out precomposed
    document = build_ranking_document([ranking], settings, "Phú Thọ", TODAY)
    return ranking, document, {fmt: render(document, fmt) for fmt in ("docx", "pdf", "xlsx")}


def expected_rows(ranking) -> list[list[str]]:
    """The ranking table as the documents must print it."""
    rows = []
    for position, r in enumerate(ranking["table"], start=1):
        name = unicodedata.normalize("NFC", r["unit_name"]) + (" (*)" if r["provisional"] else "")
        rows.append([str(position), name, *(cell_text(Decimal(r[k]), "decimal") for k in (
            "self_total", "appraised_total", "survey_total", "total_points", "index")),
            "–" if r["rank"] is None else str(r["rank"]), r["classification"]])
    return rows


def header_of(table) -> list[str]:
    return [cell.text for cell in table.rows[0].cells]


def test_docx_tables_layout_and_fonts(ranking_files) -> None:
    ranking, document, files = ranking_files
    d = docx.Document(io.BytesIO(files["docx"]))
    first = d.sections[0]
    def mm(length) -> float:
        return round(length.mm, 1)

    assert (mm(first.page_width), mm(first.page_height)) == (210, 297)
    assert (mm(first.top_margin), mm(first.bottom_margin), mm(first.left_margin), mm(first.right_margin)) == (
        20, 20, 30, 15)
    assert [s.page_width > s.page_height for s in d.sections] == [s.landscape for s in document.sections]
    normal = d.styles["Normal"]
    assert normal.font.name == "Times New Roman" and normal.font.size.pt == 14
    fonts = normal.element.rPr.rFonts
    assert {fonts.get(f"{{{fonts.nsmap['w']}}}{a}") for a in ("ascii", "hAnsi", "cs", "eastAsia")} == {
        "Times New Roman"}
    header = d.tables[0]
    assert header.cell(0, 0).text.split("\n")[:2] == ["ỦY BAN NHÂN DÂN", "TỈNH PHÚ THỌ"]
    assert header.cell(0, 1).paragraphs[0].text == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert header.cell(0, 1).paragraphs[1].text == "Độc lập - Tự do - Hạnh phúc"
    assert "Phú Thọ, ngày 21 tháng 12 năm 2026" in header.cell(0, 1).text
    table = next(t for t in d.tables if header_of(t)[:3] == ["STT", "Đơn vị", "Điểm tự đánh giá"])
    rows = [[cell.text for cell in row.cells] for row in table.rows[1:]]
    assert rows == expected_rows(ranking)
    names = [r[1].removesuffix(" (*)") for r in rows]
    assert "Xã Đồng Lạc" in names and NFD_NAME not in names
    areas = next(t for t in d.tables if header_of(t)[2:3] == ["Chỉ số thành phần theo lĩnh vực (%)"])
    assert [c.text for c in areas.rows[1].cells[2:-1]] == [a["area_id"] for a in ranking["areas"]]
    first_unit = ranking["table"][0]
    assert [parse_vi_number(c.text) for c in areas.rows[2].cells[2:-1]] == [
        Decimal(first_unit["areas"][a["area_id"]]) for a in ranking["areas"]]
    text = "\n".join(p.text for p in d.paragraphs)
    assert "QUYẾT ĐỊNH" in text and "Điều 1. Công bố Chỉ số cải cách hành chính năm 2026 của 50 xã, phường" in text
    assert d.core_properties.title == document.title


def test_docx_charts_are_native_and_editable(ranking_files) -> None:
    ranking, document, files = ranking_files
    with zipfile.ZipFile(io.BytesIO(files["docx"])) as package:
        names = package.namelist()
        charts = sorted(n for n in names if re.fullmatch(r"word/charts/chart\d+\.xml", n))
        assert len(charts) == len(document.charts()) == 3  # 45 + 5 units, then the areas
        first = package.read("word/charts/chart1.xml").decode()
        content_types = package.read("[Content_Types].xml").decode()
        embedded = package.read("word/embeddings/Microsoft_Excel_Worksheet1.xlsx")
    assert "drawingml.chart+xml" in content_types
    cached = [Decimal(v) for v in re.findall(r"<pt idx=\"\d+\"><v>([\d.]+)</v></pt>", first)]
    assert cached == [Decimal(r["index"]) for r in ranking["table"][:45]]
    assert "externalData" in first and "Times New Roman" in first
    sheet = openpyxl.load_workbook(io.BytesIO(embedded)).active
    assert [sheet.cell(i + 2, 2).value for i in range(45)] == [float(r["index"]) for r in ranking["table"][:45]]


def test_xlsx_holds_real_numbers(ranking_files) -> None:
    ranking, document, files = ranking_files
    wb = openpyxl.load_workbook(io.BytesIO(files["xlsx"]))
    assert wb.sheetnames == ["Xếp hạng I", "Lĩnh vực I", "Biểu đồ"]
    ws = wb["Xếp hạng I"]
    assert ws["A1"].value == "ỦY BAN NHÂN DÂN TỈNH PHÚ THỌ" and ws["A2"].value == document.title
    assert [ws.cell(HEADER_ROW, col).value for col in range(1, 10)] == [c.title for c in document.tables()[0].columns]
    for i, r in enumerate(ranking["table"]):
        row = [ws.cell(HEADER_ROW + 1 + i, col).value for col in range(1, 10)]
        assert row[0] == i + 1
        assert row[1] == unicodedata.normalize("NFC", r["unit_name"]) + (" (*)" if r["provisional"] else "")
        assert [Decimal(str(v)) for v in row[2:7]] == [Decimal(r[k]) for k in (
            "self_total", "appraised_total", "survey_total", "total_points", "index")]
        assert row[7] == r["rank"] and row[8] == r["classification"]
    assert ws.cell(HEADER_ROW + 1, 7).number_format == "0.00"
    areas = wb["Lĩnh vực I"]
    assert areas.cell(HEADER_ROW, 3).value == "Chỉ số thành phần theo lĩnh vực (%)"
    assert [areas.cell(HEADER_ROW + 1, 3 + i).value for i in range(len(ranking["areas"]))] == [
        a["area_id"] for a in ranking["areas"]]
    with zipfile.ZipFile(io.BytesIO(files["xlsx"])) as package:
        assert len([n for n in package.namelist() if n.startswith("xl/charts/chart")]) == 3


def pdf_lines(data: bytes) -> list[str]:
    return [line for page in PdfReader(io.BytesIO(data)).pages for line in page.extract_text().splitlines()]


def test_pdf_text_fonts_and_pages(ranking_files, tmp_path) -> None:
    ranking, _, files = ranking_files
    reader = PdfReader(io.BytesIO(files["pdf"]))
    sizes = [(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in reader.pages]
    assert set(sizes) == {(595, 842), (842, 595)}  # A4 portrait and landscape, in points
    lines = pdf_lines(files["pdf"])
    assert all(unicodedata.is_normalized("NFC", line) for line in lines)
    text = "\n".join(lines)
    for phrase in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "QUYẾT ĐỊNH:",
                   "Phú Thọ, ngày 21 tháng 12 năm 2026", "Chỉ số thành phần theo lĩnh vực (%)"):
        assert phrase in text
    # every ranking row as one line: "STT name self appraised survey total index rank class"
    expected = [" ".join(row) for row in expected_rows(ranking)]
    found = [line for line in lines if any(line == e for e in expected)]
    assert len(found) == len(expected)
    pdf = tmp_path / "ranking.pdf"
    pdf.write_bytes(files["pdf"])
    if shutil.which("pdffonts"):
        fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
        families = {line.split()[0].split("+")[-1] for line in fonts.splitlines()[2:]}
        assert families and all(f.startswith("Liberation-Serif") for f in families), families
        assert all(" yes yes yes " in line for line in fonts.splitlines()[2:])  # embedded, subset, unicode map


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils not installed")
def test_pdf_pages_render(ranking_files, tmp_path) -> None:
    from PIL import Image

    _, _, files = ranking_files
    pdf = tmp_path / "ranking.pdf"
    pdf.write_bytes(files["pdf"])
    subprocess.run(["pdftoppm", "-r", "30", "-png", "-f", "1", "-l", "3", str(pdf), str(tmp_path / "page")],
                   check=True)
    for image in sorted(tmp_path.glob("page-*.png")):
        gray = Image.open(image).convert("L")
        histogram = gray.histogram()
        dark = sum(histogram[:128]) / (gray.width * gray.height)
        assert 0.005 < dark < 0.5, (image.name, dark)  # text on the page, not a blank or black page


def test_commitment_and_statistics_in_every_format(tmp_path) -> None:
    settings = load_settings({})
    unit = {"code": "H44.07", "name": "Sở Công Thương", "kind": "department"}
    targets = c.propose_targets(dict.fromkeys(c.TARGET_LABELS, None) | {"on_time_rate": Decimal("96.5")},
                                settings.goals_for("department"))
    actual = dict.fromkeys(c.TARGET_LABELS, None) | {"on_time_rate": Decimal("99.25")}
    commitment = c.build_commitment_document(unit, 2026, targets, c.evaluate(targets, actual), settings, "Phú Thọ",
                                             TODAY, "2026-12-14")
    files = {fmt: render(commitment, fmt) for fmt in ("docx", "pdf", "xlsx")}
    d = docx.Document(io.BytesIO(files["docx"]))
    assert d.tables[0].cell(0, 0).text.split("\n")[:2] == ["UBND TỈNH PHÚ THỌ", "SỞ CÔNG THƯƠNG"]
    targets_table = d.tables[1]
    row = [cell.text for cell in targets_table.rows[2].cells]
    assert row == ["2", c.TARGET_LABELS["on_time_rate"], "96,50", "98,00", "98,00", "99,25", "Đạt"]
    signatures = d.tables[-1]
    assert signatures.cell(0, 0).text.startswith("ĐẠI DIỆN BÊN A") and "ĐẠI DIỆN BÊN B" in signatures.cell(0, 1).text
    ws = openpyxl.load_workbook(io.BytesIO(files["xlsx"]))["Chỉ tiêu cam kết"]
    assert [ws.cell(HEADER_ROW + 2, col).value for col in range(3, 8)] == [96.5, 98, 98, 99.25, "Đạt"]
    assert "2 Tỷ lệ hồ sơ thủ tục hành chính giải quyết" in "\n".join(pdf_lines(files["pdf"]))

    rows = [stats_row("P25", "UBND tỉnh Phú Thọ", 2), stats_row("07900", "Phường Việt Trì")]
    units = [{"code": "P25", "name": "UBND tỉnh Phú Thọ", "kind": "province"},
             {"code": "07900", "name": "Phường Việt Trì", "kind": "commune"}]
    statistics = build_statistics_document(rows, units, settings, "Phú Thọ", TODAY)
    ws = openpyxl.load_workbook(io.BytesIO(render(statistics, "xlsx")))["Thống kê một cửa"]
    assert ws.cell(HEADER_ROW, 3).value == "Số hồ sơ phải giải quyết" and ws.cell(HEADER_ROW + 1, 3).value == \
        "Kỳ trước chuyển sang"
    total = [ws.cell(HEADER_ROW + 2, col).value for col in range(2, 8)]
    assert total == ["UBND tỉnh Phú Thọ", 3454, 26648, 30102, 25060, 18000]
    assert ws.cell(HEADER_ROW + 3, 1).value == "Xã, phường"
    lines = pdf_lines(render(statistics, "pdf"))
    assert "UBND tỉnh Phú Thọ 3.454 26.648 30.102 25.060 18.000 3.680 3.380 4.600 4.000 600 300 142 86,51 86,58 " \
           "17,32 45,03" in lines
    doc = docx.Document(io.BytesIO(render(statistics, "docx")))
    table = next(t for t in doc.tables if t.cell(0, 0).text == "STT")
    assert [cell.text for cell in table.rows[0].cells[:4]] == ["STT", "Đơn vị", "Số hồ sơ phải giải quyết",
                                                                "Số hồ sơ phải giải quyết"]  # merged across
    assert [cell.text for cell in table.rows[2].cells[1:5]] == ["UBND tỉnh Phú Thọ", "3.454", "26.648", "30.102"]


def test_formats_are_checked_before_anything_is_built() -> None:
    assert check_formats(None, ("pdf", "docx")) == ("docx", "pdf")
    assert check_formats("xlsx", ("pdf",)) == ("xlsx",)
    with pytest.raises(ValueError, match="odt"):
        check_formats(["pdf", "odt"], ("pdf",))
    with pytest.raises(ValueError, match="none given"):
        check_formats([], ("pdf",))

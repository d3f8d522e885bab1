"""A province's procedure catalogue as the national database and announcement decisions publish it.

The National Database on Administrative Procedures (CSDLQG về TTHC) exports, and the annexes of the chairman's
decisions that announce a province's catalogue (quyết định công bố danh mục TTHC), are tables — CSV or Excel —
with one procedure per row: its code (``1.000894.000.00.00.H44``, ``1.000894.H44`` or ``1.000894``), name, field
(lĩnh vực), level (cấp tỉnh / cấp xã), implementing agency (cơ quan thực hiện) and processing time as written
("05 ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ"; time_text.py reads it). Headers are recognised by their
usual Vietnamese names (``Mã thủ tục``, ``Tên thủ tục``, ``Lĩnh vực``, ``Cấp thực hiện``, ``Cơ quan thực hiện``,
``Thời hạn giải quyết``; see COLUMN_NAMES), wherever the header row is among the first rows (decisions put a title
above it); other columns (fees, legal basis…) are ignored and named in the report. Decisions group procedures under
heading rows ("A. THỦ TỤC HÀNH CHÍNH CẤP TỈNH", "I. Lĩnh vực Hộ tịch"): such a row has no code and no time, and
sets the level or field of the rows below that leave theirs empty.

Checking is pure: :func:`check_table` returns every procedure that is valid and every row that is not, with the
column and the reason, so an import can refuse a file with errors as a whole (or skip them when told to).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.dossiers.catalogue import _CODE_RE, CUTOFF_TIME, Procedure, procedure_key
from services.dossiers.deadlines import TimeUnit
from services.dossiers.time_text import TimeTextError, parse_time_text

__all__ = ["COLUMN_NAMES", "CatalogueFileError", "ImportCheck", "RawRow", "RowError", "Table", "check_table",
           "read_table", "table_from_rows"]

# Column → the header texts that name it (compared lower-case, NFC, single spaces, without "(*)" marks).
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "code": ("mã thủ tục", "mã tthc", "mã số", "mã số tthc", "mã thủ tục hành chính", "mã số thủ tục", "mã",
             "procedure_code", "code"),
    "name": ("tên thủ tục", "tên tthc", "tên thủ tục hành chính", "tên", "name"),
    "field": ("lĩnh vực", "tên lĩnh vực", "field"),
    "level": ("cấp thực hiện", "cấp giải quyết", "cấp", "level"),
    "agency": ("cơ quan thực hiện", "cơ quan giải quyết", "đơn vị thực hiện", "cơ quan có thẩm quyền giải quyết",
               "agency"),
    "time": ("thời hạn giải quyết", "thời gian giải quyết", "thời hạn", "processing_time", "time"),
}
REQUIRED = ("code", "name", "time")  # field and level may come from heading rows or a default
HEADER_SEARCH_ROWS = 30
MAX_ROWS = 20_000
MAX_TEXT = {"name": 1000, "field": 300, "agency": 500, "time": 1000}
COLUMN_LABELS = {"code": "Mã thủ tục", "name": "Tên thủ tục", "field": "Lĩnh vực", "level": "Cấp thực hiện",
                 "agency": "Cơ quan thực hiện", "time": "Thời hạn giải quyết"}

_HEADING_FIELD = re.compile(r"lĩnh vực\s*:?\s*(.+)$", re.IGNORECASE)
_HEADING_PREFIX = re.compile(r"^([a-zđ]|[ivxlc]+|\d+)[.)]\s+", re.IGNORECASE)


class CatalogueFileError(ValueError):
    """A file that cannot be read as a catalogue at all (no header, a required column missing, not UTF-8…)."""


@dataclass(frozen=True)
class RawRow:
    """One data row: ``row`` is its line (CSV) or row number (XLSX) in the file, ``cells`` the recognised columns
    as they were written (numbers as Python numbers: a code typed into Excel as 2.002156 must be caught)."""

    row: int
    cells: dict[str, Any]
    text: str = ""  # every non-empty cell of the row, joined (headings often sit in a column the import ignores)


@dataclass(frozen=True)
class Table:
    header_row: int
    columns: dict[str, str]  # column → header as written
    ignored: list[str]  # headers of columns the import does not use
    rows: list[RawRow]


@dataclass(frozen=True)
class RowError:
    row: int
    column: str  # one of COLUMN_NAMES' keys
    value: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "value": self.value, "reason": self.reason}


@dataclass
class ImportCheck:
    """The outcome of checking a table: valid procedures (with their rows) and every refused row."""

    procedures: list[Procedure] = field(default_factory=list)
    source_rows: dict[str, int] = field(default_factory=dict)  # procedure key → its row in the file
    errors: list[RowError] = field(default_factory=list)
    headings: int = 0
    rows: int = 0

    @property
    def error_rows(self) -> list[int]:
        return sorted({e.row for e in self.errors})


def _norm(value: Any) -> str:
    return " ".join(unicodedata.normalize("NFC", str(value)).replace("\u00a0", " ").split())


def _header_key(text: str) -> str:
    text = re.sub(r"\(\s*\*\s*\)|\*", "", _norm(text).casefold())
    return " ".join(text.split()).strip(" :.")


_HEADER_LOOKUP = {name: column for column, names in COLUMN_NAMES.items() for name in names}


def _find_header(rows: Sequence[Sequence[Any]]) -> tuple[int, dict[str, int], list[str]]:
    """(index of the header row, column → position, ignored headers): the first row naming code, name and time."""
    for index, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        positions: dict[str, int] = {}
        ignored: list[str] = []
        for position, cell in enumerate(cells):
            if cell is None or not _norm(cell):
                continue
            column = _HEADER_LOOKUP.get(_header_key(str(cell)))
            if column is None or column in positions:
                ignored.append(_norm(cell))
            else:
                positions[column] = position
        if all(column in positions for column in REQUIRED):
            return index, positions, ignored
    wanted = "; ".join(f"{COLUMN_LABELS[c]} ({', '.join(COLUMN_NAMES[c][:3])}…)" for c in REQUIRED)
    raise CatalogueFileError(f"không thấy dòng tiêu đề cột trong {HEADER_SEARCH_ROWS} dòng đầu: cần các cột {wanted}")


def table_from_rows(rows: Sequence[Sequence[Any]], numbers: Sequence[int] | None = None) -> Table:
    """A table from rows of cells (``numbers``: each row's number in the file, 1-based; default: position + 1)."""
    numbers = list(numbers) if numbers is not None else list(range(1, len(rows) + 1))
    header_index, positions, ignored = _find_header(rows)
    data = []
    for cells, number in zip(rows[header_index + 1:], numbers[header_index + 1:], strict=True):
        values = {column: cells[position] if position < len(cells) else None for column, position in positions.items()}
        if all(v is None or not _norm(v) for v in values.values()) and all(c is None or not _norm(c) for c in cells):
            continue  # a blank line
        text = " ".join(_norm(c) for c in cells if c is not None and _norm(c))
        data.append(RawRow(row=number, cells=values, text=text))
    if len(data) > MAX_ROWS:
        raise CatalogueFileError(f"{len(data)} dòng: quá {MAX_ROWS} dòng, tệp này có phải danh mục thủ tục?")
    header = rows[header_index]
    return Table(header_row=numbers[header_index], columns={c: _norm(header[p]) for c, p in positions.items()},
                 ignored=ignored, rows=data)


def _read_csv(data: bytes, name: str) -> Table:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogueFileError(f"{name}: không phải mã UTF-8 (byte {exc.start}); lưu tệp dạng CSV UTF-8") from None
    try:
        dialect: Any = csv.Sniffer().sniff(text[:8192], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    rows: list[list[str]] = []
    numbers: list[int] = []
    start = 1
    for cells in reader:
        rows.append(cells)
        numbers.append(start)  # the line the row starts on (a quoted cell may span lines)
        start = reader.line_num + 1
    return table_from_rows(rows, numbers)


def _read_xlsx(data: bytes, name: str, sheet: str | None) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # a damaged or mislabelled file: openpyxl raises assorted types
        raise CatalogueFileError(f"{name}: không đọc được tệp XLSX ({exc})") from None
    try:
        if sheet is not None and sheet not in workbook.sheetnames:
            raise CatalogueFileError(f"{name}: không có trang {sheet!r}; tệp có {', '.join(workbook.sheetnames)}")
        worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
        rows = [list(cells) for cells in worksheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    return table_from_rows(rows)


def read_table(path: Path | str, data: bytes | None = None, *, sheet: str | None = None) -> Table:
    """Read a catalogue table from a CSV (UTF-8; comma, semicolon or tab) or XLSX file (first sheet unless named)."""
    path = Path(path)
    data = path.read_bytes() if data is None else data
    if path.suffix.lower() in (".xlsx", ".xlsm") or data[:2] == b"PK":
        return _read_xlsx(data, path.name, sheet)
    return _read_csv(data, path.name)


def _level(text: str) -> str:
    """'Cấp tỉnh' → province, 'Cấp xã' → commune; raises ValueError with the reason."""
    key = _norm(text).casefold().removeprefix("cấp ").strip()
    parts = {p.strip().removeprefix("cấp ").strip() for p in re.split(r"[,;/]|\bvà\b", key) if p.strip()}
    kinds = set()
    for part in parts:
        if part in ("tỉnh", "sở", "tỉnh/thành phố", "province"):
            kinds.add("province")
        elif part in ("xã", "phường", "xã, phường", "đặc khu", "commune"):
            kinds.add("commune")
        elif part in ("huyện", "quận", "thị xã", "district"):
            raise ValueError("cấp huyện đã kết thúc hoạt động từ 01/7/2025: thủ tục nay thuộc cấp tỉnh hoặc cấp xã")
        else:
            raise ValueError(f"'{text}' không phải cấp thực hiện: ghi 'Cấp tỉnh' hoặc 'Cấp xã'")
    if len(kinds) != 1:
        raise ValueError(f"'{text}': mỗi dòng một cấp thực hiện ('Cấp tỉnh' hoặc 'Cấp xã'); thủ tục thực hiện ở "
                         "cả hai cấp ghi thành hai dòng, mỗi dòng theo mã của cấp đó")
    return kinds.pop()


def _heading(row: RawRow) -> tuple[str | None, str | None] | None:
    """A section heading (no code, no time): the (field, level) it announces, or None if it is not one."""
    if _text_cell(row, "time") or re.search(r"\d\.\d{6}", _text_cell(row, "code")):
        return None
    text = _HEADING_PREFIX.sub("", row.text)
    lowered = text.casefold()
    if not (_HEADING_PREFIX.match(row.text) or "lĩnh vực" in lowered or "thủ tục hành chính" in lowered
            or re.search(r"cấp (tỉnh|xã)", lowered)):
        return None  # a procedure row missing its code and time: an error, not a heading
    field_match = _HEADING_FIELD.search(text)
    field_name = field_match.group(1).strip(" :.") if field_match else None
    level = "province" if "cấp tỉnh" in lowered else "commune" if "cấp xã" in lowered else None
    return field_name, level


def _text_cell(row: RawRow, column: str) -> str:
    value = row.cells.get(column)
    return "" if value is None else _norm(value)


def check_table(table: Table, *, default_level: str | None = None, default_field: str | None = None) -> ImportCheck:
    """Every valid procedure and every refused row (all of a row's problems, by column) of ``table``."""
    check = ImportCheck()
    context_field, context_level = default_field, default_level
    first_row: dict[str, int] = {}
    for raw in table.rows:
        heading = _heading(raw)
        if heading is not None:
            check.headings += 1
            context_field = heading[0] or context_field
            context_level = heading[1] or context_level
            continue
        check.rows += 1
        errors: list[RowError] = []

        def fail(column: str, value: Any, reason: str, raw: RawRow = raw, errors: list[RowError] = errors) -> None:
            errors.append(RowError(raw.row, column, "" if value is None else _norm(value)[:200], reason))

        code_cell = raw.cells.get("code")
        code = "".join(_text_cell(raw, "code").split())
        if isinstance(code_cell, float | int) and not isinstance(code_cell, bool):
            fail("code", code_cell, "mã bị lưu dạng số nên mất chữ số 0 (1.000890 → 1.00089): định dạng cột là "
                                    "văn bản (Text)")
        elif not code:
            fail("code", code_cell, "bỏ trống")
        elif not _CODE_RE.fullmatch(code):
            fail("code", code_cell, "không phải mã thủ tục quốc gia (ví dụ 1.000894, 1.000894.H44 hoặc "
                                    "1.000894.000.00.00.H44)")
        name = _text_cell(raw, "name")
        field_name = _text_cell(raw, "field") or context_field or ""
        level_text = _text_cell(raw, "level")
        agency = _text_cell(raw, "agency") or None
        time_text = _text_cell(raw, "time")
        for column, value in (("name", name), ("field", field_name), ("agency", agency or ""),
                              ("time", time_text)):
            if len(value) > MAX_TEXT[column]:
                fail(column, value, f"dài quá {MAX_TEXT[column]} ký tự")
        if not name:
            fail("name", None, "bỏ trống")
        if not field_name:
            fail("field", None, "bỏ trống (và không có dòng tiêu đề mục 'Lĩnh vực …' phía trên)")
        level = None
        if level_text:
            try:
                level = _level(level_text)
            except ValueError as exc:
                fail("level", level_text, str(exc))
        elif context_level:
            level = context_level
        else:
            fail("level", None, "bỏ trống (và không có dòng tiêu đề mục 'Cấp tỉnh' / 'Cấp xã' phía trên)")
        parsed = None
        try:
            parsed = parse_time_text(time_text)
        except TimeTextError as exc:
            fail("time", time_text, exc.reason)
        key = None if any(e.column == "code" for e in errors) else procedure_key(code)
        if key is not None and key in first_row:
            fail("code", code, f"trùng thủ tục {key} đã có ở dòng {first_row[key]}")
        if errors:
            check.errors.extend(errors)
            continue
        assert key is not None and parsed is not None and level is not None
        first_row[key] = raw.row
        check.source_rows[key] = raw.row
        check.procedures.append(Procedure(
            code=code,
            name=name,
            field=field_name,
            processing_amount=parsed.amount,
            time_unit=parsed.unit.value,
            cutoff=CUTOFF_TIME if parsed.cutoff_15h and parsed.unit is not TimeUnit.NONE else None,
            level=level,
            agency=agency,
            time_text=time_text,
            reduced=parsed.reduced,
        ))
    return check


def error_lines(errors: Iterable[RowError]) -> list[str]:
    """One readable line per refused cell: "dòng 17, Thời hạn giải quyết ('02 tháng'): thời hạn tính bằng tháng…"."""
    return [f"dòng {e.row}, {COLUMN_LABELS[e.column]}" + (f" ({e.value!r})" if e.value else "") + f": {e.reason}"
            for e in errors]

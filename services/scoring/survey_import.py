"""Survey results (điều tra xã hội học) from the office's file: CSV or XLSX, checked row by row before anything
is stored.

The file has one row per unit and survey leaf: ``unit_code, leaf_id, points`` (the Vietnamese headings
``Mã đơn vị, Tiêu chí, Điểm`` are read too; other columns are ignored). Points may use a decimal comma (8,5).
:func:`read_survey_table` turns the bytes into rows with their row numbers; :func:`check_survey_rows` names
every bad row (row, field, reason — in Vietnamese) against the criteria set and the known units. What to
store, preview or refuse is decided by the caller (submissions.import_survey).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from services.scoring.criteria import CriteriaSet, MethodKind

__all__ = ["SurveyFileError", "SurveyRow", "check_survey_rows", "read_survey_table"]

HEADINGS = {
    "unit_code": ("unit_code", "mã đơn vị", "ma don vi", "mã cơ quan"),
    "leaf_id": ("leaf_id", "tiêu chí", "mã tiêu chí", "tieu chi"),
    "points": ("points", "điểm", "diem", "điểm điều tra"),
}


class SurveyFileError(ValueError):
    """A file that cannot be read as a survey table at all (format, missing columns)."""


@dataclass(frozen=True)
class SurveyRow:
    """One data row of the file, as written (``row`` is the line in the file, 1-based, heading included)."""

    row: int
    unit_code: str
    leaf_id: str
    points: str


def _columns(heading: Sequence[Any]) -> dict[str, int]:
    names = [str(cell or "").strip().lower() for cell in heading]
    found: dict[str, int] = {}
    for key, spellings in HEADINGS.items():
        for position, name in enumerate(names):
            if name in spellings:
                found[key] = position
                break
    missing = [key for key in HEADINGS if key not in found]
    if missing:
        raise SurveyFileError(f"thiếu cột {', '.join(missing)} (cần unit_code, leaf_id, points — hoặc Mã đơn vị, "
                              "Tiêu chí, Điểm)")
    return found


def read_survey_table(data: bytes | str, filename: str = "survey.csv") -> list[SurveyRow]:
    """The file's data rows; XLSX when the name ends in .xlsx (first sheet), otherwise UTF-8 CSV."""
    if filename.lower().endswith(".xlsx"):
        if isinstance(data, str):
            raise SurveyFileError("tệp XLSX phải được gửi dưới dạng bytes")
        import openpyxl

        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
            raise SurveyFileError(f"không đọc được tệp XLSX: {exc}") from None
        rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    else:
        try:
            text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        except UnicodeDecodeError as exc:
            raise SurveyFileError(f"tệp CSV không phải văn bản UTF-8 (byte {exc.start}): lưu lại tệp dạng "
                                  "'CSV UTF-8'") from None
        rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise SurveyFileError("tệp trống")
    columns = _columns(rows[0])
    result = []
    for number, cells in enumerate(rows[1:], start=2):
        if not any(str(c or "").strip() for c in cells):
            continue

        def cell(key: str, cells: Sequence[Any] = cells) -> str:
            position = columns[key]
            value = cells[position] if position < len(cells) else None
            if isinstance(value, float):
                value = repr(value)
            return "" if value is None else str(value).strip()

        result.append(SurveyRow(number, cell("unit_code"), cell("leaf_id"), cell("points")))
    return result


def _points(text: str) -> Decimal:
    cleaned = text.replace(",", ".") if "," in text and "." not in text else text
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{text!r} không phải là số") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} không phải là số")
    return value


def check_survey_rows(rows: Sequence[SurveyRow], cs: CriteriaSet,
                      unit_kind_of: Callable[[str], str | None]) -> tuple[dict[tuple[str, str], Decimal],
                                                                           list[dict[str, Any]]]:
    """The valid (unit, leaf) → points, and every bad row as ``{"row", "field", "reason"}``.

    ``unit_kind_of`` gives a unit's kind (None: unknown unit). A (unit, leaf) given twice is an error on the
    second row: the file would not say which one the office meant.
    """
    valid: dict[tuple[str, str], Decimal] = {}
    first: dict[tuple[str, str], int] = {}
    errors: list[dict[str, Any]] = []
    if not cs.survey_held:
        raise SurveyFileError(f"bộ tiêu chí {cs.label} không tổ chức điều tra xã hội học")
    for row in rows:
        problems = _row_problems(row, cs, unit_kind_of)  # every bad field of the row, not only the first
        leaf = _leaf_or_none(cs, row.leaf_id) if not any(f == "leaf_id" for f, _ in problems) else None
        if not problems and leaf is not None:
            key = (row.unit_code, leaf.id)
            if key in first:
                problems.append(("leaf_id", f"đơn vị {row.unit_code}, tiêu chí {leaf.id} đã có ở dòng {first[key]}"))
            else:
                first[key] = row.row
                valid[key] = _points(row.points)
        errors.extend({"row": row.row, "field": field, "reason": reason} for field, reason in problems)
    return valid, errors


def _leaf_or_none(cs: CriteriaSet, leaf_id: str) -> Any:
    try:
        return cs.leaf(leaf_id)
    except KeyError:
        return None


def _row_problems(row: SurveyRow, cs: CriteriaSet,
                  unit_kind_of: Callable[[str], str | None]) -> list[tuple[str, str]]:
    """(field, reason) for each bad field of one row: the unit, the leaf and the points are checked apart."""
    problems: list[tuple[str, str]] = []
    kind = unit_kind_of(row.unit_code) if row.unit_code else None
    if not row.unit_code:
        problems.append(("unit_code", "để trống"))
    elif kind is None:
        problems.append(("unit_code", f"không có đơn vị {row.unit_code!r}"))
    elif kind != cs.unit_kind:
        problems.append(("unit_code", f"đơn vị {row.unit_code} thuộc loại {kind}, bộ tiêu chí chấm loại "
                                      f"{cs.unit_kind}"))
    leaf = _leaf_or_none(cs, row.leaf_id)
    if leaf is None:
        problems.append(("leaf_id", f"bộ tiêu chí {cs.label} không có tiêu chí {row.leaf_id!r}"))
    elif leaf.method.kind is not MethodKind.SURVEY:
        problems.append(("leaf_id", f"tiêu chí {leaf.id} không chấm bằng điều tra xã hội học"))
        leaf = None
    try:
        points = _points(row.points)
    except ValueError as exc:
        problems.append(("points", str(exc)))
        return problems
    if leaf is not None and not 0 <= points <= leaf.max_points:
        problems.append(("points", f"{row.points} nằm ngoài 0…{leaf.max_points} (điểm tối đa của tiêu chí {leaf.id})"))
    elif points != points.quantize(cs.quantum, rounding="ROUND_DOWN"):
        problems.append(("points", f"{row.points} có nhiều hơn {cs.precision} chữ số thập phân"))
    return problems


def preview_changes(valid: Mapping[tuple[str, str], Decimal],
                    stored: Mapping[tuple[str, str], Decimal | None], places: int) -> list[dict[str, Any]]:
    """What an import would change: old and new points for every (unit, leaf) whose points differ."""
    changes = []
    for (unit_code, leaf_id), points in sorted(valid.items()):
        old = stored.get((unit_code, leaf_id))
        if old is None or old != points:
            changes.append({"unit_code": unit_code, "leaf_id": leaf_id,
                            "old": None if old is None else f"{old:.{places}f}", "new": f"{points:.{places}f}"})
    return changes

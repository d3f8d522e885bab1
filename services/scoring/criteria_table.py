"""Criteria sets from the province's own table (bảng tiêu chí): an XLSX in the shape provinces publish, read
into the YAML model and validated with criteria.py's messages; and the reverse, to ship an example.

Sheet ``Bộ tiêu chí`` (the first sheet if no sheet has that name), one heading row, then one row per area,
criterion or sub-criterion:

=====  =========  ========  ===================  ============  ===============  ===================
STT    Lĩnh vực   Tiêu chí  Tiêu chí thành phần  Điểm tối đa   Phương pháp chấm Tài liệu kiểm chứng
=====  =========  ========  ===================  ============  ===============  ===================
I      title                                     10
1.1               title                          2
1.1.1                       title                0,5           Tự đánh giá      Kế hoạch CCHC năm
=====  =========  ========  ===================  ============  ===============  ===================

* the filled title column says the level; STT is the id: a Roman or plain number for an area (I → "1"),
  a full dotted id ("1.2") or the number within its parent ("2" under area 1 → "1.2");
* Phương pháp chấm, in words: ``Tự đánh giá`` (optionally ``, bước 0,25``), ``Điểm trừ``, ``Điểm thưởng``
  (both may give a ``bước``), ``Điều tra xã hội học``, ``Tính tự động: on_time_rate; 100→3; 95→1; 0→0``
  (bands, rate in % → points) or ``Tính tự động: online_share; ngưỡng 50`` (Decision 766 threshold); a
  trailing ``(không áp dụng cho: H44.23, H44.01)`` lists the units the leaf does not apply to;
* Tài liệu kiểm chứng: any text makes evidence required for a self-assessed / bonus leaf; empty, not.

Sheet ``Thông tin chung``: two columns, a key of the YAML format (id, year, unit_kind, title,
total_max_points, precision, classification, window_opens, window_closes, survey_held, tie_breakers,
cap_index_at, excluded_units) and its value (YAML flow syntax for lists). The version is not read: publishing
an imported table makes the next version of the set.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from services.scoring.criteria import (
    CriteriaSet,
    CriteriaSetError,
    Leaf,
    MethodKind,
    _Loader,
    parse_criteria_set,
)

__all__ = ["HEADINGS", "CriteriaTableError", "criteria_set_to_xlsx", "read_criteria_xlsx", "table_to_data"]

TABLE_SHEET = "Bộ tiêu chí"
INFO_SHEET = "Thông tin chung"
HEADINGS = ("STT", "Lĩnh vực", "Tiêu chí", "Tiêu chí thành phần", "Điểm tối đa", "Phương pháp chấm",
            "Tài liệu kiểm chứng")
INFO_KEYS = ("id", "year", "unit_kind", "title", "total_max_points", "precision", "classification", "window_opens",
             "window_closes", "survey_held", "rescale_when_absent", "tie_rule", "tie_breakers", "cap_index_at",
             "excluded_units")
_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50}
_NOT_APPLICABLE = re.compile(r"\(không áp dụng cho:\s*([^)]*)\)", re.IGNORECASE)
_STEP = re.compile(r"bước\s*([0-9]+(?:[.,][0-9]+)?)", re.IGNORECASE)


def _fail(where: str, message: str) -> CriteriaSetError:
    return CriteriaSetError(f"{where}: {message}")


def _roman(text: str) -> int | None:
    if not text or any(c not in _ROMAN for c in text.upper()):
        return None
    total, previous = 0, 0
    for char in reversed(text.upper()):
        value = _ROMAN[char]
        total += -value if value < previous else value
        previous = max(previous, value)
    return total


def _number(value: Any, where: str) -> Decimal:
    if isinstance(value, float):
        value = repr(value)
    text = str(value).strip()
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise _fail(where, f"{value!r} không phải là số") from None
    if number == number.to_integral_value():
        return number.quantize(Decimal(1))
    return number.normalize()


def _method(text: str, evidence: str, where: str) -> dict[str, Any]:
    exceptions = _NOT_APPLICABLE.search(text)
    if exceptions:
        text = _NOT_APPLICABLE.sub("", text).strip()
        data = _method(text, evidence, where)
        data["not_applicable_for"] = [code.strip() for code in exceptions.group(1).split(",") if code.strip()]
        return data
    lowered = " ".join(text.lower().split())
    if lowered.startswith("tự đánh giá") or lowered.startswith("tự chấm"):
        data = {"method": "self"}
    elif lowered.startswith("điểm trừ"):
        data = {"method": "deduction"}
    elif lowered.startswith("điểm thưởng"):
        data = {"method": "bonus"}
    elif lowered.startswith("điều tra"):
        return {"method": "survey"}
    elif lowered.startswith("tính tự động"):
        _, _, rest = text.partition(":")
        parts = [p.strip() for p in rest.split(";") if p.strip()]
        if not parts:
            raise _fail(where, "Tính tự động cần chỉ số: on_time_rate, progress_766_rate hoặc online_share")
        data = {"method": "computed", "metric": parts[0]}
        if len(parts) == 2 and parts[1].lower().startswith("ngưỡng"):
            data["threshold"] = _number(parts[1].split()[-1].rstrip("%"), where)
            return data
        bands = []
        for part in parts[1:]:
            low, arrow, points = part.partition("→")
            if not arrow:
                raise _fail(where, f"mức {part!r} không ghi dạng tỷ lệ→điểm (ví dụ 95→1)")
            bands.append({"min": _number(low.strip().rstrip("%"), where), "points": _number(points, where)})
        data["bands"] = bands
        return data
    else:
        raise _fail(where, f"không rõ Phương pháp chấm {text!r} (ghi Tự đánh giá, Điểm trừ, Điểm thưởng, "
                           "Điều tra xã hội học hoặc Tính tự động: …)")
    step = _STEP.search(text)
    if step:
        data["step"] = _number(step.group(1), where)
    data["evidence_required"] = bool(evidence.strip())
    return data


def _info(rows: list[list[Any]], where: str) -> dict[str, Any]:
    info: dict[str, Any] = {}
    for number, cells in enumerate(rows, start=1):
        if not cells or cells[0] is None or not str(cells[0]).strip():
            continue
        key = str(cells[0]).strip()
        if key not in INFO_KEYS:
            if number == 1:
                continue  # a heading row
            raise _fail(f"{where}: {INFO_SHEET}!A{number}", f"unknown key {key!r} (allowed: {', '.join(INFO_KEYS)})")
        value = cells[1] if len(cells) > 1 else None
        if isinstance(value, str) and key not in ("id", "title", "unit_kind"):
            try:  # numbers, lists and dates as YAML reads them (exact decimals)
                value = yaml.load(value, Loader=_Loader)
            except yaml.YAMLError:
                raise _fail(f"{where}: {INFO_SHEET}!B{number}", f"cannot read {value!r}") from None
        elif isinstance(value, str):
            value = value.strip()
        elif isinstance(value, float):
            value = Decimal(repr(value))
        info[key] = value
    return info


class CriteriaTableError(CriteriaSetError):
    """Every bad cell of a table at once (``errors``: cell, column, reason in Vietnamese), so the Sở Nội vụ fixes
    the table in one round, as the catalogue import lists every bad row."""

    def __init__(self, where: str, errors: list[dict[str, str]]) -> None:
        super().__init__("\n".join(f"{where}: {e['cell']} ({e['column']}): {e['reason']}" for e in errors))
        self.errors = errors


_LETTERS = "ABCDEFG"  # the columns of HEADINGS


def table_to_data(table: list[list[Any]], info: Mapping[str, Any], version: int, where: str) -> dict[str, Any]:
    """The YAML model (plain data) of a table's rows and the set's general information; not yet validated.

    Every bad cell is collected and raised together (:class:`CriteriaTableError`), naming sheet!cell and column."""
    header = [str(c or "").strip() for c in table[0]] if table else []
    if [h.lower() for h in header[:len(HEADINGS)]] != [h.lower() for h in HEADINGS]:
        raise CriteriaTableError(where, [{"cell": f"{TABLE_SHEET}!A1", "column": "dòng tiêu đề",
                                          "reason": f"dòng tiêu đề phải là {' | '.join(HEADINGS)}"}])
    errors: list[dict[str, str]] = []
    areas: list[dict[str, Any]] = []
    criterion: dict[str, Any] | None = None
    for number, cells in enumerate(table[1:], start=2):
        cells = [*cells, *[None] * (len(HEADINGS) - len(cells))]
        stt, area_title, criterion_title, sub_title, max_points, method, evidence = (
            "" if c is None else (repr(c) if isinstance(c, float) else str(c)).strip() for c in cells[:7])
        if not any((stt, area_title, criterion_title, sub_title, max_points, method)):
            continue
        here = f"{where}: {TABLE_SHEET}!{number}"

        def bad(column: int, reason: str, number: int = number) -> None:
            errors.append({"cell": f"{TABLE_SHEET}!{_LETTERS[column]}{number}", "column": HEADINGS[column],
                           "reason": reason})

        def parsed(read: Any, column: int, *args: Any, here: str = here) -> Any:
            try:
                return read(*args, here)
            except CriteriaSetError as exc:
                bad(column, str(exc).removeprefix(f"{here}: "))
                return None

        titles = [t for t in (area_title, criterion_title, sub_title) if t]
        if len(titles) != 1:
            bad(1, "ghi đúng một trong các cột Lĩnh vực, Tiêu chí, Tiêu chí thành phần")
            continue
        points = parsed(_number, 4, max_points) if max_points else bad(4, "bỏ trống")
        node: dict[str, Any] = {"title": titles[0], "max_points": points}
        if area_title:
            roman = _roman(stt)
            node.update(id=str(roman) if roman else stt.rstrip("."), criteria=[])
            areas.append(node)
            criterion = None
            continue
        if not areas:
            bad(2 if criterion_title else 3, "tiêu chí đứng trước mọi dòng Lĩnh vực")
            continue
        area = areas[-1]
        if criterion_title:
            node["id"] = stt if stt.startswith(f"{area['id']}.") else f"{area['id']}.{stt.rstrip('.')}"
            if method:
                node.update(parsed(_method, 5, method, evidence) or {})
            area["criteria"].append(node)
            criterion = node
            continue
        if criterion is None or "method" in criterion:
            bad(3, "Tiêu chí thành phần phải đứng dưới một dòng Tiêu chí không ghi Phương pháp chấm")
            continue
        node["id"] = stt if stt.startswith(f"{criterion['id']}.") else f"{criterion['id']}.{stt.rstrip('.')}"
        if not method:
            bad(5, "bỏ trống")
        else:
            node.update(parsed(_method, 5, method, evidence) or {})
        criterion.setdefault("sub_criteria", []).append(node)
    if errors:
        raise CriteriaTableError(where, errors)
    data: dict[str, Any] = {"id": info.get("id"), "version": version, "year": info.get("year"),
                            "unit_kind": info.get("unit_kind"), "title": info.get("title"),
                            "total_max_points": info.get("total_max_points"),
                            "classification": info.get("classification"),
                            "window": {"opens": info.get("window_opens"), "closes": info.get("window_closes")},
                            "areas": areas}
    if "survey_held" in info:
        data["survey"] = {"held": info["survey_held"] in (True, "true", "có", "Có", 1)}
        if "rescale_when_absent" in info:
            data["survey"]["rescale_when_absent"] = info["rescale_when_absent"] in (True, "true", "có", "Có", 1)
    for key in ("precision", "tie_rule", "tie_breakers", "cap_index_at", "excluded_units"):
        if info.get(key) not in (None, ""):
            data[key] = int(info[key]) if key == "precision" else info[key]
    return data


def read_criteria_xlsx(content: bytes, where: str, version: int = 1) -> CriteriaSet:
    """Read and validate a province's table; every problem raises :class:`CriteriaSetError` naming the cell."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise _fail(where, f"not an XLSX workbook: {exc}") from None
    table_sheet = book[TABLE_SHEET] if TABLE_SHEET in book.sheetnames else book.worksheets[0]
    if INFO_SHEET not in book.sheetnames:
        raise _fail(where, f"no sheet {INFO_SHEET!r} (id, year, unit_kind, title, … of the set)")
    table = [list(r) for r in table_sheet.iter_rows(values_only=True)]
    info = _info([list(r) for r in book[INFO_SHEET].iter_rows(values_only=True)], where)
    return parse_criteria_set(table_to_data(table, info, version, where), where)


def _points_text(value: Decimal) -> str:
    return format(value.normalize(), "f").replace(".", ",")


def _method_text(leaf: Leaf) -> str:
    if leaf.not_applicable_for:
        return f"{_method_text_only(leaf)} (không áp dụng cho: {', '.join(sorted(leaf.not_applicable_for))})"
    return _method_text_only(leaf)


def _method_text_only(leaf: Leaf) -> str:
    method = leaf.method
    step = f", bước {_points_text(method.step)}" if method.step is not None else ""
    if method.kind is MethodKind.SELF:
        return f"Tự đánh giá{step}"
    if method.kind is MethodKind.DEDUCTION:
        return f"Điểm trừ{step}"
    if method.kind is MethodKind.BONUS:
        return f"Điểm thưởng{step}"
    if method.kind is MethodKind.SURVEY:
        return "Điều tra xã hội học"
    assert method.metric is not None
    if method.threshold is not None:
        return f"Tính tự động: {method.metric.value}; ngưỡng {format(method.threshold.normalize(), 'f')}"
    bands = "; ".join(f"{format(b.min.normalize(), 'f')}→{format(b.points.normalize(), 'f')}" for b in method.bands)
    return f"Tính tự động: {method.metric.value}; {bands}"


def _evidence_text(leaf: Leaf) -> str:
    return "Văn bản, tài liệu chứng minh" if leaf.method.evidence_required else ""


def criteria_set_to_xlsx(cs: CriteriaSet) -> bytes:
    """The set as the province's table (what :func:`read_criteria_xlsx` reads back to the same set)."""
    import openpyxl
    from openpyxl.styles import Alignment, Font

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = TABLE_SHEET
    sheet.append(list(HEADINGS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for area in cs.areas:
        sheet.append([area.id, area.title, None, None, _points_text(area.max_points), None, None])
        for criterion in area.criteria:
            if criterion.has_sub_criteria:
                sheet.append([criterion.id, None, criterion.title, None, _points_text(criterion.max_points), None,
                              None])
                for leaf in criterion.leaves:
                    sheet.append([leaf.id, None, None, leaf.title, _points_text(leaf.max_points), _method_text(leaf),
                                  _evidence_text(leaf)])
            else:
                leaf = criterion.leaves[0]
                sheet.append([leaf.id, None, leaf.title, None, _points_text(leaf.max_points), _method_text(leaf),
                              _evidence_text(leaf)])
    for column, width in zip("ABCDEFG", (8, 40, 50, 50, 12, 40, 30), strict=True):
        sheet.column_dimensions[column].width = width
        for cell in sheet[column]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    info = book.create_sheet(INFO_SHEET)
    info.append(["Khóa", "Giá trị", "Ý nghĩa"])
    data = cs.as_dict()
    rows: list[tuple[str, Any, str]] = [
        ("id", cs.id, "Mã bộ tiêu chí"), ("year", cs.year, "Năm đánh giá"),
        ("unit_kind", cs.unit_kind.value, "Loại đơn vị (department / commune / district)"),
        ("title", cs.title, "Tên bộ tiêu chí"),
        ("total_max_points", format(cs.total_max_points.normalize(), "f"), "Tổng điểm tối đa"),
        ("precision", cs.precision, "Số chữ số thập phân của điểm và chỉ số"),
        ("classification", yaml.safe_dump([{"name": b["name"], "min_index": float(b["min_index"])}
                                           for b in data["classification"]], allow_unicode=True,
                                          default_flow_style=True).strip(), "Xếp loại"),
        ("window_opens", cs.window_opens.isoformat(), "Mở thời hạn tự đánh giá"),
        ("window_closes", cs.window_closes.isoformat(), "Đóng thời hạn tự đánh giá"),
        ("survey_held", "có" if cs.survey_held else "không", "Có điều tra xã hội học"),
        ("rescale_when_absent", "có" if cs.rescale_when_absent else "không",
         "Không điều tra thì quy đổi trên phần còn lại"),
        ("tie_rule", cs.tie_rule.value, "Cách xếp hạng khi bằng chỉ số"),
    ]
    if cs.tie_breakers:
        rows.append(("tie_breakers", "[" + ", ".join(b.code for b in cs.tie_breakers) + "]",
                     "Tiêu chí phụ khi bằng chỉ số, theo thứ tự"))
    if cs.cap_index_at is not None:
        rows.append(("cap_index_at", _points_text(cs.cap_index_at).replace(",", "."), "Chỉ số tối đa"))
    if cs.excluded_units:
        rows.append(("excluded_units", "[" + ", ".join(f'"{c}"' for c in sorted(cs.excluded_units)) + "]",
                     "Đơn vị không xếp hạng chung"))
    for row in rows:
        info.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()

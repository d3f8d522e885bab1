"""Procedure-level facts for a period, read from the national procedure database's export or a file the province
keeps (CSV or XLSX), with the catalogue's import discipline.

No dossier carries these facts: whether a procedure was published on time (1.1) and made public on time (1.2),
whether its public content is complete (1.3), its online service level (3.1, 3.2), whether it bears a fee (3.5,
3.5b, 3.6), whether its subjects include citizens (4.5a), and which communes offer e-certified copies. They come
from the national procedure database (CSDLQG về TTHC), once per board period.

Discipline: every bad row is named with its row number, column and reason, and a file with any bad row imports
nothing unless told to skip them; a file naming procedures the catalogue does not know lists them and imports
nothing unless told to skip those. Known means whatever the service's catalogue answers to ``get(code)`` today
(the packaged CSV, or a catalogue loaded into the database): facts are stored under the catalogue's own code.

Columns (English names, or the Vietnamese headings of the export; order free, unknown columns refused):
``procedure_code`` (Mã TTHC, required), ``level`` (Cấp thực hiện: cấp tỉnh / cấp xã / both), ``agency_code``
(Cơ quan thực hiện: a unit code or name, scoping the row to that unit), ``online_level`` (Mức độ DVCTT: toàn
trình / một phần / không), and yes/no columns ``published_in_period``, ``published_on_time``,
``public_update_due``, ``public_update_on_time``, ``public_content_complete``, ``fee_bearing``,
``citizen_subject``, ``e_certified_copy`` (có / không, x, 1 / 0, true / false; empty = not stated).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from services.dossiers.index766.views import ProcedureFacts
from services.dossiers.units import UnitTree, name_key

__all__ = ["COLUMNS", "FactsError", "ImportPlan", "RowError", "plan_import", "read_rows"]

BOOLEAN_COLUMNS = ("published_in_period", "published_on_time", "public_update_due", "public_update_on_time",
                   "public_content_complete", "fee_bearing", "citizen_subject", "e_certified_copy")
COLUMNS = ("procedure_code", "level", "agency_code", "online_level", *BOOLEAN_COLUMNS)

# Vietnamese headings (folded: lower case, NFC, single spaces) of the national export and of our template.
HEADINGS = {
    "mã tthc": "procedure_code", "mã thủ tục": "procedure_code", "mã thủ tục hành chính": "procedure_code",
    "cấp thực hiện": "level", "cơ quan thực hiện": "agency_code", "mã cơ quan thực hiện": "agency_code",
    "mức độ dvctt": "online_level", "mức độ dịch vụ công trực tuyến": "online_level", "mức độ dvc": "online_level",
    "công bố trong kỳ": "published_in_period", "công bố đúng hạn": "published_on_time",
    "phải công khai trong kỳ": "public_update_due", "công khai đúng hạn": "public_update_on_time",
    "công khai đầy đủ": "public_content_complete", "có phí, lệ phí": "fee_bearing",
    "đối tượng là công dân": "citizen_subject", "chứng thực bản sao điện tử": "e_certified_copy",
}
TEMPLATE_HEADINGS = {  # what our own template writes (workbook.py)
    "procedure_code": "Mã TTHC", "level": "Cấp thực hiện", "agency_code": "Cơ quan thực hiện",
    "online_level": "Mức độ DVCTT", "published_in_period": "Công bố trong kỳ", "published_on_time": "Công bố đúng hạn",
    "public_update_due": "Phải công khai trong kỳ", "public_update_on_time": "Công khai đúng hạn",
    "public_content_complete": "Công khai đầy đủ", "fee_bearing": "Có phí, lệ phí",
    "citizen_subject": "Đối tượng là công dân", "e_certified_copy": "Chứng thực bản sao điện tử",
}
_TRUE = {"có", "co", "x", "1", "true", "yes", "đúng", "đạt", "c"}
_FALSE = {"không", "khong", "0", "false", "no", "k", "chưa"}
_LEVELS = {"commune": "commune", "xã": "commune", "cấp xã": "commune", "province": "province", "tỉnh": "province",
           "cấp tỉnh": "province", "both": "both", "cấp tỉnh, cấp xã": "both", "cấp xã, cấp tỉnh": "both"}
_ONLINE = {"full": "full", "toàn trình": "full", "dvctt toàn trình": "full", "partial": "partial",
           "một phần": "partial", "dvctt một phần": "partial", "none": "none", "không": "none",
           "chưa cung cấp": "none", "cung cấp thông tin": "none"}


class FactsError(ValueError):
    """A file that cannot be read at all (not CSV or XLSX, no header, unknown or repeated columns)."""


@dataclass(frozen=True)
class RowError:
    row: int  # the line (CSV) or sheet row (XLSX), 1 = the header
    column: str | None
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}" + (f", column {self.column}" if self.column else "") + f": {self.reason}"


class CatalogueLike(Protocol):
    def get(self, code: str) -> Any: ...


@dataclass
class ImportPlan:
    """What an import would store: nothing unless ``accepted``; every refusal is listed."""

    facts: list[ProcedureFacts] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    unknown: list[tuple[int, str]] = field(default_factory=list)  # (row, code) the catalogue does not know
    rows_read: int = 0
    accepted: bool = False
    refused_because: str | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted, "refused_because": self.refused_because, "rows_read": self.rows_read,
            "rows_imported": len(self.facts) if self.accepted else 0,
            "errors": [{"row": e.row, "column": e.column, "reason": e.reason} for e in self.errors],
            "unknown_procedures": [{"row": row, "procedure_code": code} for row, code in self.unknown],
        }


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return unicodedata.normalize("NFC", str(value)).strip()


def _table(content: bytes, file_name: str) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of the file's first sheet or of the CSV, blank rows skipped."""
    if file_name.lower().endswith((".xlsx", ".xlsm")):
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises several kinds for a file that is not a workbook
            raise FactsError(f"{file_name}: not a readable XLSX workbook ({exc})") from exc
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell(v) for v in values]
            if any(cells):
                yield number, cells
        workbook.close()
        return
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FactsError(f"{file_name}: not UTF-8 text ({exc}); save the CSV as UTF-8 or send the XLSX") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    for cells in reader:
        if any(c.strip() for c in cells):
            yield reader.line_num, [_cell(c) for c in cells]


def _columns(header: Sequence[str], file_name: str) -> list[str]:
    names = []
    for heading in header:
        folded = _fold(heading)
        name = folded if folded in COLUMNS else HEADINGS.get(folded)
        if name is None:
            raise FactsError(f"{file_name}, row 1: unknown column {heading!r}; expected {', '.join(COLUMNS)} "
                             "or the headings of the national procedure database's export")
        if name in names:
            raise FactsError(f"{file_name}, row 1: column {heading!r} appears twice (as {name})")
        names.append(name)
    if "procedure_code" not in names:
        raise FactsError(f"{file_name}, row 1: missing column procedure_code (Mã TTHC)")
    return names


def _boolean(text: str) -> bool | None:
    folded = _fold(text)
    if not folded:
        return None
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise ValueError(f"{text!r} is not yes or no (có / không, x, 1 / 0, true / false)")


def _unit(text: str, units: UnitTree) -> str:
    if text in units:
        return text
    wanted = name_key(text)
    matches = [u.code for u in units if name_key(u.name) == wanted]
    if len(matches) == 1:
        return matches[0]
    raise ValueError(f"{text!r} is not a unit code or the name of one unit of the province")


def read_rows(content: bytes, file_name: str, units: UnitTree) -> tuple[list[tuple[int, ProcedureFacts]],
                                                                         list[RowError]]:
    """Every row of the file as facts, and every row that cannot be read with its reason."""
    rows = _table(content, file_name)
    first = next(rows, None)
    if first is None:
        raise FactsError(f"{file_name}: the file is empty; expected a header row")
    names = _columns(first[1], file_name)
    facts: list[tuple[int, ProcedureFacts]] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str | None], int] = {}
    for number, cells in rows:
        if len(cells) > len(names) and any(cells[len(names):]):
            errors.append(RowError(number, None, f"{len(cells)} values for {len(names)} columns"))
            continue
        values = dict(zip(names, cells + [""] * (len(names) - len(cells)), strict=False))
        parsed, problem = _parse(values, units)
        if problem is not None:
            errors.append(RowError(number, *problem))
            continue
        assert parsed is not None
        key = (parsed.procedure_code, parsed.agency_code)
        if key in seen:
            errors.append(RowError(number, "procedure_code", f"{parsed.procedure_code} is already given on row "
                                                             f"{seen[key]}" + (f" for {key[1]}" if key[1] else "")))
            continue
        seen[key] = number
        facts.append((number, parsed))
    return facts, errors


def _parse(values: dict[str, str], units: UnitTree) -> tuple[ProcedureFacts | None, tuple[str, str] | None]:
    code = values["procedure_code"]
    if not code:
        return None, ("procedure_code", "must not be empty")
    if len(code) > 64 or any(ch.isspace() for ch in code):
        return None, ("procedure_code", f"{code!r} is not a procedure code")
    found: dict[str, Any] = {"procedure_code": code}
    level = values.get("level", "")
    if level:
        if _fold(level) not in _LEVELS:
            return None, ("level", f"{level!r} is not cấp tỉnh, cấp xã or both")
        found["level"] = _LEVELS[_fold(level)]
    online = values.get("online_level", "")
    if online:
        if _fold(online) not in _ONLINE:
            return None, ("online_level", f"{online!r} is not toàn trình, một phần or không")
        found["online_level"] = _ONLINE[_fold(online)]
    agency = values.get("agency_code", "")
    if agency:
        try:
            found["agency_code"] = _unit(agency, units)
        except ValueError as exc:
            return None, ("agency_code", str(exc))
    for column in BOOLEAN_COLUMNS:
        try:
            found[column] = _boolean(values.get(column, ""))
        except ValueError as exc:
            return None, (column, str(exc))
    for flag, depends in (("published_on_time", "published_in_period"),
                          ("public_update_on_time", "public_update_due")):
        if found[flag] is not None and not found[depends]:
            return None, (flag, f"says whether it was on time, but {depends} is not yes")
    return ProcedureFacts(**found), None


def plan_import(content: bytes, file_name: str, units: UnitTree, catalogue: CatalogueLike, *,
                skip_invalid: bool = False, skip_unknown: bool = False) -> ImportPlan:
    """Read, check against the catalogue, and decide: the facts to store, or why nothing is stored."""
    plan = ImportPlan()
    facts, plan.errors = read_rows(content, file_name, units)
    plan.rows_read = len(facts) + len(plan.errors)
    known: list[ProcedureFacts] = []
    for number, row in facts:
        procedure = catalogue.get(row.procedure_code)
        if procedure is None:
            plan.unknown.append((number, row.procedure_code))
        else:
            known.append(replace(row, procedure_code=procedure.code, level=row.level or procedure.level))
    if plan.errors and not skip_invalid:
        plan.refused_because = f"{len(plan.errors)} row(s) cannot be read; nothing imported (skip_invalid to " \
                               "import the others)"
    elif plan.unknown and not skip_unknown:
        plan.refused_because = f"{len(plan.unknown)} procedure(s) not in the catalogue; nothing imported " \
                               "(skip_unknown to import the others)"
    elif not known:
        plan.refused_because = "no row to import"
    else:
        plan.accepted = True
        plan.facts = known
    return plan


def rows_for_template(facts: Iterable[ProcedureFacts]) -> list[list[str]]:
    """Facts as rows of the template (Vietnamese headings first), to hand back what was imported."""
    out = [[TEMPLATE_HEADINGS[c] for c in COLUMNS]]
    words = {True: "có", False: "không", None: ""}
    online = {"full": "toàn trình", "partial": "một phần", "none": "không", None: ""}
    level = {"commune": "cấp xã", "province": "cấp tỉnh", "both": "both", None: ""}
    for f in facts:
        out.append([f.procedure_code, level[f.level], f.agency_code or "", online[f.online_level],
                    *(words[getattr(f, c)] for c in BOOLEAN_COLUMNS)])
    return out

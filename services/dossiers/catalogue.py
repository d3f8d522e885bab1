"""The administrative-procedure catalogue (danh mục thủ tục hành chính) a province's dossiers refer to.

Every dossier names its procedure by national code (MaTTHC, e.g. ``1.001193.H44``); the procedure says how
long the administration may take (its legal processing time and in which unit it is counted), whether a
receipt after 15:00 only starts counting the next working day, and which kind of unit handles it. Those
facts differ between provinces and change with each decision that publishes a catalogue, so they live in a
CSV file the province can replace without a release (``data/procedures.csv`` is the packaged default).

CSV columns, one procedure per row:

``procedure_code``
    national code: ``<1 digit>.<6 digits>`` optionally followed by the long form's ``.000.00.00`` and/or a
    locality suffix ``.H<2 digits>`` (the packaged file uses the short ``1.001193.H44`` form throughout).
``name``, ``field``
    the procedure's name and its field (lĩnh vực), in Vietnamese, as published.
``processing_time``
    the legal processing time: a positive number (decimals allowed, e.g. 0.5 days), as
    ``deadlines.ProcessingTime`` requires; empty when the procedure has no deadline.
``time_unit``
    ``working_days``, ``calendar_days``, ``working_hours``, or ``none`` (no deadline; processing_time empty).
``cutoff_15h``
    ``true`` or ``false``: whether a receipt after 15:00 counts from the next working day.
``level``
    ``commune`` or ``province``: which kind of unit handles the procedure since the two-level government
    of 1 July 2025.

"Same day" procedures (chứng thực, đăng ký khai sinh: "ngay trong ngày tiếp nhận; trường hợp nhận hồ sơ
sau 15 giờ … trả kết quả trong ngày làm việc tiếp theo") are written as ``2,working_hours,true``: counting
from the receipt, or from the next morning after the 15:00 cut-off, 2 working hours always end on the legal
due date (the day of receipt, or the next working day) when the afternoon session ends at 17:00 or later,
and Decision 766 reports compare dates. The deadline rules have no "end of the receiving day" unit, and 0
is not a processing time they accept.

A file with any invalid row is refused as a whole, with an error that names the line and the column: a
half-loaded catalogue would compute wrong deadlines silently.

This file is the seed (version 0). A province loads its whole catalogue, as the national database and its
announcement decisions publish it, with ``cchc catalogue import`` (catalogue_import.py reads the file,
catalogue_store.py keeps every version in the database); the services then use the newest version.

Codes are matched on their national core ``<1 digit>.<6 digits>``: ``1.000894``, ``1.000894.H44`` and
``1.000894.000.00.00.H44`` name the same procedure, whichever form a one-door system sends.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import NoReturn

__all__ = [
    "COLUMNS",
    "CUTOFF_TIME",
    "LEVELS",
    "TIME_UNITS",
    "Catalogue",
    "CatalogueError",
    "Procedure",
    "procedure_key",
]

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "procedures.csv"

COLUMNS = ("procedure_code", "name", "field", "processing_time", "time_unit", "cutoff_15h", "level")

# Kept as plain strings here; the deadline module defines the TimeUnit enum with exactly these values.
TIME_UNITS = frozenset({"working_days", "calendar_days", "working_hours", "none"})
NO_DEADLINE = "none"
LEVELS = frozenset({"commune", "province"})
CUTOFF_TIME = time(15, 0)

_CODE_RE = re.compile(r"\d\.\d{6}(?:\.\d{3}\.\d{2}\.\d{2})?(?:\.H\d{2})?")
_BOOLEANS = {"true": True, "false": False}


def procedure_key(code: str) -> str | None:
    """The national core of a procedure code (``1.000894.000.00.00.H44`` → ``1.000894``), or None when ``code`` is
    not in any of the national forms (a vendor's own code is then matched literally by nobody)."""
    text = _text(code) if isinstance(code, str) else ""
    return text[:8] if _CODE_RE.fullmatch(text) else None


class CatalogueError(ValueError):
    """An invalid catalogue file; ``row`` is the line number in the file, ``column`` the column's name."""

    def __init__(self, message: str, *, path: Path | None = None, row: int | None = None,
                 column: str | None = None) -> None:
        where = [str(path)] if path is not None else []
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.path = path
        self.row = row
        self.column = column


@dataclass(frozen=True)
class Procedure:
    """One administrative procedure (thủ tục hành chính) and the rules its deadline is computed from."""

    code: str
    name: str
    field: str  # lĩnh vực, e.g. "Hộ tịch"
    processing_amount: Decimal | None  # None when the procedure has no deadline (time_unit "none")
    time_unit: str  # one of TIME_UNITS
    cutoff: time | None  # 15:00 when a later receipt counts from the next working day, else None
    level: str  # "commune" or "province"
    agency: str | None = None  # cơ quan thực hiện, as published (imports only)
    time_text: str | None = None  # the processing time as written in the imported file
    reduced: bool = False  # the text says the province cut the legal time (cắt giảm)

    @property
    def has_deadline(self) -> bool:
        return self.time_unit != NO_DEADLINE

    @property
    def key(self) -> str:
        """The national core code every form of this procedure's code is matched on."""
        key = procedure_key(self.code)
        assert key is not None, self.code  # codes are validated when a catalogue is read
        return key


def _text(value: str) -> str:
    """Trimmed NFC text: files saved by different editors mix composed and decomposed Vietnamese."""
    return unicodedata.normalize("NFC", value).strip()


def _parse_row(raw: dict[str, str], path: Path, row: int) -> Procedure:
    """Validate one CSV row (``row`` is its line number) and build its Procedure."""

    def fail(column: str, message: str) -> NoReturn:
        raise CatalogueError(message, path=path, row=row, column=column)

    code = _text(raw["procedure_code"])
    if not _CODE_RE.fullmatch(code):
        fail("procedure_code", f"{code!r} is not a national procedure code such as '1.001193.H44'")

    name = _text(raw["name"])
    if not name:
        fail("name", "must not be empty")
    field = _text(raw["field"])
    if not field:
        fail("field", "must not be empty")

    time_unit = _text(raw["time_unit"])
    if time_unit not in TIME_UNITS:
        fail("time_unit", f"{time_unit!r} is not one of {', '.join(sorted(TIME_UNITS))}")

    amount_text = _text(raw["processing_time"])
    amount: Decimal | None = None
    if time_unit == NO_DEADLINE:
        if amount_text:
            fail("processing_time", f"must be empty when time_unit is 'none', got {amount_text!r}")
    else:
        if not amount_text:
            fail("processing_time", f"must be given when time_unit is {time_unit!r}")
        try:
            amount = Decimal(amount_text)
        except InvalidOperation:
            fail("processing_time", f"{amount_text!r} is not a number")
        if not amount.is_finite() or amount <= 0:
            # The deadline rules refuse 0 too: a catalogue that loads must give computable due dates.
            fail("processing_time", f"{amount_text!r} must be a positive number")

    cutoff_text = _text(raw["cutoff_15h"]).lower()
    if cutoff_text not in _BOOLEANS:
        fail("cutoff_15h", f"{raw['cutoff_15h']!r} is not 'true' or 'false'")
    if _BOOLEANS[cutoff_text] and time_unit == NO_DEADLINE:
        fail("cutoff_15h", "a procedure without a deadline cannot have a 15:00 cut-off")

    level = _text(raw["level"])
    if level not in LEVELS:
        fail("level", f"{level!r} is not one of {', '.join(sorted(LEVELS))}")

    return Procedure(
        code=code,
        name=name,
        field=field,
        processing_amount=amount,
        time_unit=time_unit,
        cutoff=CUTOFF_TIME if _BOOLEANS[cutoff_text] else None,
        level=level,
    )


class Catalogue:
    """The procedures of one province, by national core code; ``version`` 0 is the packaged (or configured) file,
    later versions are imports kept in the database (catalogue_store.py)."""

    def __init__(self, procedures: Sequence[Procedure] = (), *, version: int = 0, source: str = "") -> None:
        self.version = version
        self.source = source
        self._by_code: dict[str, Procedure] = {}
        for procedure in procedures:
            if procedure.key in self._by_code:
                raise CatalogueError(f"duplicate procedure code {procedure.code!r}")
            self._by_code[procedure.key] = procedure

    @classmethod
    def load(cls, path: Path | None = None) -> Catalogue:
        """Read and validate a catalogue CSV (UTF-8, BOM tolerated); the packaged one if ``path`` is None."""
        path = DEFAULT_PATH if path is None else Path(path)
        procedures: list[Procedure] = []
        first_row: dict[str, int] = {}
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise CatalogueError("the file is empty; expected a header row", path=path, row=1)
            header = [_text(name) for name in header]
            for column in COLUMNS:
                if column not in header:
                    raise CatalogueError("missing column", path=path, row=1, column=column)
            for extra in header:
                if extra not in COLUMNS:
                    raise CatalogueError(f"unknown column; expected {', '.join(COLUMNS)}", path=path, row=1,
                                         column=extra)
            if len(set(header)) != len(header):
                raise CatalogueError("a column appears more than once", path=path, row=1)

            for values in reader:
                row = reader.line_num
                if not any(value.strip() for value in values):
                    continue  # a blank line, typically at the end of a hand-edited file
                if len(values) != len(header):
                    # The usual cause is an unquoted comma in a name: say which column overflowed.
                    column = header[-1] if len(values) > len(header) else header[len(values)]
                    raise CatalogueError(f"expected {len(header)} values, found {len(values)} "
                                         "(is a name with a comma missing its quotes?)",
                                         path=path, row=row, column=column)
                procedure = _parse_row(dict(zip(header, values, strict=True)), path, row)
                if procedure.key in first_row:
                    raise CatalogueError(f"duplicate code {procedure.code!r}, first given on row "
                                         f"{first_row[procedure.key]}", path=path, row=row,
                                         column="procedure_code")
                first_row[procedure.key] = row
                procedures.append(procedure)
        return cls(procedures, version=0, source=str(path))

    def get(self, code: str) -> Procedure | None:
        """The procedure with this national code (any of its forms), or None if the catalogue does not have it."""
        key = procedure_key(code)
        return self._by_code.get(key) if key is not None else None

    def for_level(self, level: str) -> list[Procedure]:
        """Procedures handled by units of one kind (``commune`` or ``province``), in file order."""
        if level not in LEVELS:
            raise ValueError(f"unknown level {level!r}; expected one of {', '.join(sorted(LEVELS))}")
        return [procedure for procedure in self._by_code.values() if procedure.level == level]

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and self.get(code) is not None

    def __len__(self) -> int:
        return len(self._by_code)

    def __iter__(self) -> Iterator[Procedure]:
        return iter(self._by_code.values())

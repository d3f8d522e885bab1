"""The document model every format renders: what a document says, not how a format draws it.

A :class:`Document` is the Nghị định 30/2020 header block (issuing body, number, place and date) followed by
sections of blocks — headings, paragraphs, tables, bar charts and signature blocks. The ranking, commitment and
statistics modules build one from the services' figures; ``formats/`` turns the same model into DOCX, PDF and
XLSX, so the three files cannot disagree on a number. Table cells keep typed values (int, Decimal, text):
each format writes them its own way (Vietnamese "81,33" in DOCX and PDF, real numbers in XLSX).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Literal

from services.reports.numbers import DASH, vi_decimal, vi_int

Value = str | int | Decimal | None
ColumnKind = Literal["text", "int", "decimal", "center"]


@dataclass(frozen=True)
class Header:
    """Thể thức: issuing body (and the body above it), number and symbol, place and date."""

    issuer: str
    place: str
    date: dt.date
    issuer_parent: str | None = None
    number: str | None = None  # "      /QĐ-UBND": the clerk fills in the number when the document is issued


@dataclass(frozen=True)
class Heading:
    """level 1: the document's name (centered, bold, upper case); 2: its summary line (centered, bold);
    3: a section heading (left, bold)."""

    block_type: ClassVar[str] = "heading"
    text: str
    level: int = 1


@dataclass(frozen=True)
class Paragraph:
    block_type: ClassVar[str] = "paragraph"
    text: str
    bold_lead: str = ""  # a bold start ("Điều 1.") before the text
    italic: bool = False
    centered: bool = False
    indent: bool = True


@dataclass(frozen=True)
class Column:
    title: str
    kind: ColumnKind = "text"
    width: float = 15.0  # millimetres on the page; formats scale the columns to the text width
    places: int = 2  # decimals of a "decimal" column (a criteria set may choose 3: Thanh Hóa's 91,651)


@dataclass(frozen=True)
class ColumnGroup:
    """A header cell above ``span`` adjacent columns starting at column ``first`` (0-based)."""

    title: str
    first: int
    span: int


@dataclass(frozen=True)
class Row:
    """``style``: "total" rows are bold; a "group" row is one text cell across the whole table."""

    values: tuple[Value, ...]
    style: Literal["", "total", "group"] = ""


@dataclass(frozen=True)
class Table:
    block_type: ClassVar[str] = "table"
    name: str  # the XLSX sheet name (31 characters at most, no []:*?/\)
    caption: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    groups: tuple[ColumnGroup, ...] = ()
    font_pt: float = 11.0
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.name) > 31 or any(c in self.name for c in "[]:*?/\\"):
            raise ValueError(f"table name {self.name!r} cannot be a sheet name")
        for row in self.rows:
            if row.style != "group" and len(row.values) != len(self.columns):
                raise ValueError(f"{self.name}: a row has {len(row.values)} values for {len(self.columns)} columns")
        for group in self.groups:
            if group.first < 0 or group.span < 1 or group.first + group.span > len(self.columns):
                raise ValueError(f"{self.name}: column group {group.title!r} is outside the table")

    def group_of(self, column: int) -> ColumnGroup | None:
        return next((g for g in self.groups if g.first <= column < g.first + g.span), None)

    def header_rows(self) -> list[list[HeaderCell]]:
        """The header as rows of cells: one row, or two when columns are grouped (an ungrouped column's
        title then spans both rows; a group's title spans its columns)."""
        if not self.groups:
            return [[HeaderCell(c.title, i) for i, c in enumerate(self.columns)]]
        top: list[HeaderCell] = []
        bottom: list[HeaderCell] = []
        for i, column in enumerate(self.columns):
            group = self.group_of(i)
            if group is None:
                top.append(HeaderCell(column.title, i, rowspan=2))
                continue
            if i == group.first:
                top.append(HeaderCell(group.title, i, colspan=group.span))
            bottom.append(HeaderCell(column.title, i))
        return [top, bottom]


@dataclass(frozen=True)
class HeaderCell:
    title: str
    column: int
    colspan: int = 1
    rowspan: int = 1


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[Decimal | None, ...]
    color: str = "#1f4e79"


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars (one per category, e.g. one per unit) or vertical clustered columns (per area)."""

    block_type: ClassVar[str] = "chart"
    name: str
    title: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    horizontal: bool = True
    max_value: Decimal = Decimal(100)
    value_title: str = "%"

    def __post_init__(self) -> None:
        for s in self.series:
            if len(s.values) != len(self.categories):
                raise ValueError(f"{self.name}: series {s.name!r} has {len(s.values)} values "
                                 f"for {len(self.categories)} categories")


@dataclass(frozen=True)
class Signer:
    """One signature block: "TM. ỦY BAN NHÂN DÂN" / "CHỦ TỊCH" / (space to sign) / name."""

    capacity: str  # thẩm quyền / chức vụ, e.g. "TM. Ủy ban nhân dân" or "Đại diện bên giao"
    title: str  # chức vụ của người ký, e.g. "Chủ tịch"
    name: str = ""


@dataclass(frozen=True)
class Signatures:
    block_type: ClassVar[str] = "signatures"
    left: Signer | None = None
    right: Signer | None = None
    recipients: tuple[str, ...] = ()  # "Nơi nhận:" on the left when there is no left signer


@dataclass(frozen=True)
class PageBreak:
    block_type: ClassVar[str] = "page_break"


Block = Heading | Paragraph | Table | BarChart | Signatures | PageBreak


@dataclass(frozen=True)
class Section:
    """Blocks on pages of one orientation; every section after the first starts on a new page."""

    blocks: tuple[Block, ...]
    landscape: bool = False


@dataclass(frozen=True)
class Document:
    kind: str  # ranking | commitment | commitment_result | statistics
    title: str  # what the document is, for file metadata and listings
    filename: str  # ASCII stem of the files, without extension
    header: Header
    sections: tuple[Section, ...]
    template: str = "document.html"
    subject: str = ""
    keywords: tuple[str, ...] = field(default_factory=tuple)

    def blocks(self) -> list[Block]:
        return [block for section in self.sections for block in section.blocks]

    def tables(self) -> list[Table]:
        return [b for b in self.blocks() if isinstance(b, Table)]

    def charts(self) -> list[BarChart]:
        return [b for b in self.blocks() if isinstance(b, BarChart)]


def normalized(value: Any) -> Any:
    """The document (or any part of it) with every text in Unicode NFC: what users and text extractors compare.

    Names may arrive decomposed (NFD) from another system; DOCX and XLSX store what they are given, so the
    formats are handed precomposed text, as the PDF path does for itself.
    """
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, tuple):
        return tuple(normalized(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: normalized(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changes)
    return value


def cell_text(value: Value, kind: ColumnKind, places: int = 2) -> str:
    """How DOCX and PDF print a cell: Vietnamese separators, ``places`` decimals for decimals, a dash for None."""
    if value is None:
        return DASH
    if isinstance(value, str):
        return value
    if kind == "int" or (isinstance(value, int) and kind != "decimal"):
        return vi_int(int(value))
    return vi_decimal(value, places)

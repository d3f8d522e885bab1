"""The tree of administrative units a province's dossiers and scores are attached to.

Since 1 July 2025 Vietnam has two levels of local government: a province (UBND tỉnh) with its departments
(sở, ban, ngành) and its communes and wards (xã, phường). Before that, districts (huyện) sat between
province and commune, and dossiers and reports from those years still name them. So a unit is data, with
the dates it was valid, and the tree is assembled from:

* the province itself, as root ``P<code>`` (``P25`` = UBND tỉnh Phú Thọ);
* today's communes and wards from the ``vietnam-provinces`` package, which ships the official codes and
  names; a commune's code is its 5-digit ward code (``07900`` = Phường Việt Trì), valid from 2025-07-01;
* YAML files for what that package does not know: departments and abolished districts (the packaged
  ones are ``data/units/*.yaml``, found by :func:`packaged_unit_files`; the format is described at the
  top of each file).

The national public-service portal names communes by its own agency codes (``H44.100``…); the file
``data/units/phu_tho_portal_codes.csv`` maps them to ward codes (see :func:`load_portal_codes`).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from vietnam_provinces import Province, ProvinceCode, Ward

__all__ = [
    "COMMUNES_VALID_FROM",
    "Unit",
    "UnitDataError",
    "UnitKind",
    "UnitTree",
    "load_portal_codes",
    "name_key",
    "packaged_unit_files",
    "province_root_code",
]

DATA_DIR = Path(__file__).resolve().parent / "data" / "units"

# The day the two-level local government took effect: today's communes and wards exist from it.
COMMUNES_VALID_FROM = date(2025, 7, 1)

_UNIT_KEYS = frozenset({"code", "name", "kind", "parent", "valid_from", "valid_to"})


class UnitDataError(ValueError):
    """A unit file (YAML or portal-code CSV) that cannot be loaded; the message names the file and unit."""


class UnitKind(StrEnum):
    PROVINCE = "province"  # UBND tỉnh / thành phố trực thuộc trung ương
    DEPARTMENT = "department"  # sở, ban, ngành of the province
    COMMUNE = "commune"  # xã, phường, đặc khu
    DISTRICT = "district"  # huyện, thị xã, thành phố thuộc tỉnh: abolished on 1 July 2025


@dataclass(frozen=True)
class Unit:
    """One administrative unit and the dates it existed (both ends inclusive; None = open-ended)."""

    code: str
    name: str
    kind: UnitKind
    parent_code: str | None
    valid_from: date | None
    valid_to: date | None

    def __post_init__(self) -> None:
        if not self.code:
            raise ValueError("a unit needs a code")
        if self.valid_from is not None and self.valid_to is not None and self.valid_from > self.valid_to:
            raise ValueError(
                f"unit {self.code}: valid_from {self.valid_from} is after valid_to {self.valid_to}"
            )

    def is_valid_on(self, d: date) -> bool:
        """Whether the unit existed on day ``d``."""
        if self.valid_from is not None and d < self.valid_from:
            return False
        return self.valid_to is None or d <= self.valid_to


def province_root_code(province_code: int) -> str:
    """Code of a province's root unit: ``P`` and the 2-digit province code (25 → ``P25``)."""
    return f"P{province_code:02d}"


class UnitTree:
    """Units linked by parent code, with lookups by code, by date and along the hierarchy.

    Children keep the order in which units were given (root, communes in the package's order, then the
    YAML files' order), so listings follow the order the sources publish.
    """

    def __init__(self, units: Iterable[Unit]) -> None:
        self._units: dict[str, Unit] = {}
        for unit in units:
            if unit.code in self._units:
                raise ValueError(f"duplicate unit code {unit.code!r}")
            self._units[unit.code] = unit
        self._children: dict[str, list[str]] = {code: [] for code in self._units}
        for unit in self._units.values():
            if unit.parent_code is None:
                continue
            if unit.parent_code not in self._units:
                raise ValueError(f"unit {unit.code!r} has unknown parent {unit.parent_code!r}")
            self._children[unit.parent_code].append(unit.code)
        self._check_acyclic()

    def _check_acyclic(self) -> None:
        """A parent loop would make ancestors() and descendants() run forever; refuse it up front."""
        settled: set[str] = set()
        for start in self._units:
            path: list[str] = []
            on_path: set[str] = set()
            code: str | None = start
            while code is not None and code not in settled:
                if code in on_path:
                    loop = " → ".join([*path[path.index(code):], code])
                    raise ValueError(f"unit {code!r} is its own ancestor: {loop}")
                path.append(code)
                on_path.add(code)
                code = self._units[code].parent_code
            settled.update(path)

    @classmethod
    def for_province(cls, province_code: int, extra_files: Sequence[Path] = ()) -> UnitTree:
        """The units of one province: root, today's communes and wards, and its unit files.

        The packaged unit files of the province (:func:`packaged_unit_files`; for Phú Thọ its departments
        and its pre-2025 districts) are always read. ``extra_files`` are read after them, for a deployment
        to add units without a release; a unit already defined (e.g. by passing a packaged file again) is a
        duplicate and refused, as is a file written for another province.
        """
        try:
            province = Province.from_code(ProvinceCode(province_code))
        except (ValueError, KeyError) as error:
            raise ValueError(f"unknown province code {province_code!r}") from error
        root = Unit(
            code=province_root_code(province_code),
            name=_root_name(province.name),
            kind=UnitKind.PROVINCE,
            parent_code=None,
            valid_from=None,
            valid_to=None,
        )
        units = [root]
        units.extend(
            Unit(
                code=f"{int(ward.code):05d}",
                name=ward.name,
                kind=UnitKind.COMMUNE,
                parent_code=root.code,
                valid_from=COMMUNES_VALID_FROM,
                valid_to=None,
            )
            for ward in Ward.iter_by_province(province.code)
        )
        for path in sorted(DATA_DIR.glob("*.yaml")):  # what packaged_unit_files() finds, each read once
            file_province, file_units = _read_unit_file(path)
            if file_province == province_code:
                units.extend(file_units)
        for path in extra_files:
            file_province, file_units = _read_unit_file(Path(path))
            if file_province != province_code:
                raise UnitDataError(f"{path}: the file is for province {file_province}, not {province_code}")
            units.extend(file_units)
        return cls(units)

    def get(self, code: str) -> Unit | None:
        """The unit with this code, whatever its dates, or None."""
        return self._units.get(code)

    def resolve(self, code: str, on: date) -> Unit | None:
        """The unit with this code if it existed on ``on``, else None.

        Use it for a dossier's handling unit: a 2024 dossier handled by a district resolves, a 2026 one
        naming the same district does not, and that is a data error the caller must report.
        """
        unit = self._units.get(code)
        if unit is None or not unit.is_valid_on(on):
            return None
        return unit

    def children(self, code: str) -> list[Unit]:
        """Units whose parent is ``code``; KeyError for an unknown code, so a typo is not 'no children'."""
        return [self._units[child] for child in self._children[self._require(code)]]

    def descendants(self, code: str, include_self: bool = True) -> list[str]:
        """Codes of the whole subtree under ``code`` in depth-first order (``code`` first if included)."""
        result = [code] if include_self else []
        stack = list(reversed(self._children[self._require(code)]))
        while stack:
            current = stack.pop()
            result.append(current)
            stack.extend(reversed(self._children[current]))
        return result

    def ancestors(self, code: str) -> list[str]:
        """Codes from the parent of ``code`` up to the root, nearest first."""
        result: list[str] = []
        parent = self._units[self._require(code)].parent_code
        while parent is not None:
            result.append(parent)
            parent = self._units[parent].parent_code
        return result

    def _require(self, code: str) -> str:
        if code not in self._units:
            raise KeyError(f"unknown unit code {code!r}")
        return code

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self._units

    def __iter__(self) -> Iterator[Unit]:
        return iter(self._units.values())

    def __len__(self) -> int:
        return len(self._units)


def packaged_unit_files(province_code: int) -> list[Path]:
    """The unit YAML files shipped for a province (``data/units/*.yaml`` with that ``province_code``).

    For Phú Thọ (25): its departments and its pre-2025 districts. Sorted by file name, so the tree's
    order does not depend on the file system.
    """
    return [path for path in sorted(DATA_DIR.glob("*.yaml")) if _read_unit_file(path)[0] == province_code]


def _root_name(province_name: str) -> str:
    """'UBND tỉnh Phú Thọ'; a city the package names 'Thành phố Hà Nội' becomes 'UBND thành phố Hà Nội'."""
    city_prefix = "Thành phố "
    if province_name.startswith(city_prefix):
        return f"UBND thành phố {province_name.removeprefix(city_prefix)}"
    return f"UBND tỉnh {province_name}"


def _as_date(value: Any, where: str, key: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):  # a datetime is a date subclass: check it first
        raise UnitDataError(f"{where}: {key} must be a date (YYYY-MM-DD), not a date and time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise UnitDataError(f"{where}: {key} {value!r} is not a date (YYYY-MM-DD) or null")


def _read_unit_file(path: Path) -> tuple[int, list[Unit]]:
    """Parse one unit YAML file into its province code and units, refusing anything ambiguous."""
    try:
        with path.open(encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except yaml.YAMLError as error:
        raise UnitDataError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(document, Mapping):
        raise UnitDataError(f"{path}: expected a mapping with province_code and units")
    unknown = set(document) - {"province_code", "defaults", "units"}
    if unknown:
        raise UnitDataError(f"{path}: unknown top-level keys {sorted(unknown)}")
    province_code = document.get("province_code")
    if isinstance(province_code, bool) or not isinstance(province_code, int):
        raise UnitDataError(f"{path}: province_code must be an integer such as 25")
    defaults = document.get("defaults") or {}
    if not isinstance(defaults, Mapping) or set(defaults) - _UNIT_KEYS:
        raise UnitDataError(f"{path}: defaults must be a mapping with keys among {sorted(_UNIT_KEYS)}")
    entries = document.get("units")
    if not isinstance(entries, list):
        raise UnitDataError(f"{path}: units must be a list")

    units = []
    for index, entry in enumerate(entries, start=1):
        where = f"{path}, unit #{index}"
        if not isinstance(entry, Mapping):
            raise UnitDataError(f"{where}: expected a mapping")
        fields = {**defaults, **entry}
        unknown = set(fields) - _UNIT_KEYS
        if unknown:
            raise UnitDataError(f"{where}: unknown keys {sorted(unknown)}")
        code = fields.get("code")
        if not isinstance(code, str) or not code.strip():
            # An unquoted 07900 is read by YAML as a number and would lose its leading zero.
            raise UnitDataError(
                f"{where}: code must be a non-empty string (quote codes that look like numbers)"
            )
        where = f"{path}, unit {code!r}"
        name = fields.get("name")
        if not isinstance(name, str) or not name.strip():
            raise UnitDataError(f"{where}: name must be a non-empty string")
        try:
            kind = UnitKind(fields.get("kind"))
        except ValueError as error:
            expected = ", ".join(kind.value for kind in UnitKind)
            raise UnitDataError(f"{where}: kind {fields.get('kind')!r} is not one of {expected}") from error
        parent = fields.get("parent")
        if parent is not None and not isinstance(parent, str):
            raise UnitDataError(f"{where}: parent must be a unit code string or null")
        try:
            units.append(
                Unit(
                    code=code.strip(),
                    name=unicodedata.normalize("NFC", name.strip()),
                    kind=kind,
                    parent_code=parent,
                    valid_from=_as_date(fields.get("valid_from"), where, "valid_from"),
                    valid_to=_as_date(fields.get("valid_to"), where, "valid_to"),
                )
            )
        except ValueError as error:
            if isinstance(error, UnitDataError):
                raise
            raise UnitDataError(f"{where}: {error}") from error
    return province_code, units


# Vietnamese tone marks, as combining characters after NFD decomposition. The vowel-quality marks
# (circumflex, breve, horn) and đ are kept: they distinguish names, whereas tone placement only varies.
_TONE_MARKS = {"\u0300": "2", "\u0301": "1", "\u0303": "4", "\u0309": "3", "\u0323": "5"}
_PROVINCE_SUFFIX = re.compile(r"\s+-\s+(tỉnh|thành phố)\s.*$")


def name_key(name: str) -> str:
    """A comparison key under which two spellings of the same unit name are equal.

    The portal writes "UBND xã Lâm Thao - Tỉnh Phú Thọ" and "UBND xã Thanh Thủy" where vietnam-provinces
    writes "Xã Lâm Thao" and "Xã Thanh Thuỷ". The key ignores case, Unicode composition, a leading
    "UBND", a trailing " - Tỉnh …" and where the tone mark sits ("thuỷ" = "thủy", "hoà" = "hòa"), but keeps
    the division type (xã vs phường) and every letter, so different places never share a key.
    """
    text = unicodedata.normalize("NFC", name).casefold()
    text = " ".join(text.split())
    text = _PROVINCE_SUFFIX.sub("", text)
    text = text.removeprefix("ubnd ")
    words = []
    for word in unicodedata.normalize("NFD", text).split(" "):
        tones = "".join(_TONE_MARKS[char] for char in word if char in _TONE_MARKS)
        letters = "".join(char for char in word if char not in _TONE_MARKS)
        words.append(unicodedata.normalize("NFC", letters) + tones)
    return " ".join(words)


def load_portal_codes(path: Path | None = None) -> dict[str, str]:
    """Map national-portal agency codes (``H44.100``) to unit codes (``07900``) from a mapping CSV.

    The CSV has columns ``portal_code,ward_code,name`` (``name`` is the portal's own name for the unit,
    kept so a reader can check the match); the packaged default is Phú Thọ's.
    """
    path = DATA_DIR / "phu_tho_portal_codes.csv" if path is None else Path(path)
    mapping: dict[str, str] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"portal_code", "ward_code"} <= set(reader.fieldnames):
            raise UnitDataError(f"{path}: expected columns portal_code,ward_code,name")
        for row in reader:
            portal_code, ward_code = row["portal_code"].strip(), (row["ward_code"] or "").strip()
            if not re.fullmatch(r"\d{5}", ward_code):
                raise UnitDataError(f"{path}, row {reader.line_num}: ward_code {ward_code!r} is not 5 digits")
            if portal_code in mapping:
                raise UnitDataError(f"{path}, row {reader.line_num}: duplicate portal_code {portal_code!r}")
            mapping[portal_code] = ward_code
    return mapping

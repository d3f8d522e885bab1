"""Criteria sets (bộ tiêu chí) of the yearly PAR Index (Chỉ số CCHC), read from YAML and validated.

The province issues one criteria set per year and per kind of evaluated unit (see
../shared/spec/DOMAIN.md, "PAR Index scoring"). A set is data, not code: this module reads it, refuses
anything that does not add up, and hands the rest of the scoring domain frozen dataclasses.

Glossary: area = lĩnh vực; criterion = tiêu chí; sub-criterion = tiêu chí thành phần; leaf = the level
that carries points (a criterion without sub-criteria, or a sub-criterion); self-assessed = tự đánh giá;
evidence = tài liệu kiểm chứng; survey = điều tra xã hội học; deduction = điểm trừ; appraisal = thẩm định;
classification = xếp loại.

YAML format
===========

.. code-block:: yaml

    id: department-2026            # string, no spaces; with version it names the set everywhere
    version: 1                     # int ≥ 1; a published set never changes, a correction is version 2
    year: 2026                     # evaluation year
    unit_kind: department          # department | commune | district
    title: "Bộ tiêu chí ... năm 2026"
    total_max_points: 100          # must equal the sum of the areas' max_points
    survey:                        # optional; defaults held: true, rescale_when_absent: true
      held: true                   # false: no sociological survey this year
      rescale_when_absent: true    # survey not held → survey leaves leave the maximum (index over the rest)
    classification:                # highest min_index first, strictly decreasing, the last one 0
      - {name: Tốt, min_index: 90}
      - {name: Khá, min_index: 80}
      - {name: Trung bình, min_index: 70}
      - {name: Yếu, min_index: 0}
    precision: 2                   # optional, 2 (default) or 3: decimals of points, totals and indexes
                                   # (Thanh Hóa publishes 91.651 points); steps and maxima may use them
    cap_index_at: 100              # optional: with bonus leaves the index may pass 100 unless capped here
    tie_rule: shared               # optional, default shared: equal displayed indexes share a rank
                                   # (1, 2, 2, 4); unrounded: rank by the exact index instead
    tie_breakers:                  # optional, in order, applied to equal displayed indexes (replaces
      - unrounded_index            # tie_rule): unrounded_index | area:<area id> (that area's component
      - area:3                     # index, as displayed) | appraised_points (the appraised total);
      - appraised_points           # units equal on every one share a rank
    excluded_units: ["H44.42"]     # optional: scored and classified, but left out of the common ranking
    season: true                   # optional, default false: the units self-assess, the council appraises and
                                   # the office publishes in the web application's season; the ranking is
                                   # provisional (never announced) until publication. Without it, every final
                                   # submission is ranked and announced at once
    window:                        # self-assessment window; ISO 8601 with a UTC offset, both ends inclusive
      opens: 2026-11-05T00:00:00+07:00
      closes: 2026-11-15T23:59:59+07:00
    areas:
      - id: "1"                    # one segment
        title: Công tác chỉ đạo, điều hành CCHC
        max_points: 10             # = sum of its criteria's max_points (deductions excluded)
        criteria:
          - id: "1.1"              # must extend the area's id by one segment
            title: Kế hoạch CCHC năm
            max_points: 2          # = sum of its sub-criteria's max_points (deductions excluded)
            sub_criteria:
              - id: "1.1.1"        # must extend the criterion's id by one segment
                title: Ban hành kế hoạch kịp thời
                max_points: 0.5
                method: self       # self | computed | survey | deduction | bonus
                step: 0.25         # self / deduction / bonus only; default 0.25; must divide max_points
                evidence_required: true   # self / deduction / bonus; default true for self and bonus
                not_applicable_for: ["H44.23"]   # optional, any leaf: units for which the leaf does not apply
          - id: "1.2"              # a criterion without sub_criteria is itself a leaf
            title: Tỷ lệ hồ sơ giải quyết đúng hạn
            max_points: 3
            method: computed
            metric: on_time_rate   # on_time_rate | progress_766_rate | online_share (percent, 0–100)
            bands:                 # highest min first, strictly decreasing; the highest min reached wins;
              - {min: 100, points: 3}   # points never rise as min falls, never exceed max_points;
              - {min: 95, points: 1}    # a rate below the lowest min earns 0
              - {min: 0, points: 0}
          - id: "1.3"
            title: Tỷ lệ hồ sơ trực tuyến
            max_points: 2
            method: computed
            metric: online_share
            threshold: 50          # Decision 766 style, instead of bands: full points at or above the
                                   # threshold, else rate × max / threshold (half up, 2 decimals); (0, 100]
          - id: "1.4"
            title: Vi phạm kỷ luật, kỷ cương hành chính
            max_points: 2          # a deduction's max_points is the largest deduction; it does not count
            method: deduction      # towards its parent's maximum; points are 0 down to −max_points
      - id: "9"                    # bonus points (điểm thưởng, Hà Nội's sets from 2025): an area (or
        title: Điểm thưởng         # criterion) of bonus leaves; max_points is the largest bonus, it counts
        max_points: 2              # towards no maximum (nor total_max_points); points are 0…max_points
        criteria:
          - {id: "9.1", title: Sáng kiến được công nhận, max_points: 2, method: bonus}

Numbers are exact: YAML floats are read as :class:`~decimal.Decimal` from their text (``0.1`` is one tenth,
not the nearest binary float); points carry at most ``precision`` decimals (2 unless the set says 3).
Ids, unit codes and names are strings —
quote anything YAML would read as a number (``"3.10"``, ``"07900"``).

Every problem raises :class:`CriteriaSetError`, whose message starts with the file and the path inside it::

    department-2026.yaml: areas[2].criteria[1].max_points: sub-criteria add up to 2.5, but criterion 3.2 has max 3

The data/README.md beside the shipped sets describes the same format for the people who write the files.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "DATA_DIR",
    "Area",
    "Band",
    "ClassBand",
    "CriteriaSet",
    "CriteriaSetError",
    "Criterion",
    "Leaf",
    "Method",
    "MethodKind",
    "Metric",
    "TieBreaker",
    "TieRule",
    "UnitKind",
    "load_criteria_set",
    "parse_criteria_set",
    "parse_criteria_yaml",
]

# The criteria sets shipped with the service (see data/README.md).
DATA_DIR = Path(__file__).parent / "data"

DEFAULT_STEP = Decimal("0.25")
_HUNDREDTH = Decimal("0.01")
PRECISIONS = (2, 3)  # decimals a set may choose for its points and indexes
_HUNDRED = Decimal(100)
_MAX_POINTS = Decimal(10_000)  # far above any real set (100 points); keeps Decimal arithmetic in its precision

_SEGMENT = r"[0-9A-Za-z]+"
_ID_RE = re.compile(rf"{_SEGMENT}(?:\.{_SEGMENT})*")
_SET_ID_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]*")


class CriteriaSetError(ValueError):
    """A criteria set that cannot be used; the message starts with ``<file>: <path in the file>:``."""


class UnitKind(StrEnum):
    """Kind of evaluated unit a set is issued for (same values as the unit tree's kinds)."""

    DEPARTMENT = "department"  # sở, ban, ngành
    COMMUNE = "commune"  # xã, phường
    DISTRICT = "district"  # huyện — the level abolished on 1 July 2025; kept for earlier years

    @property
    def title_vi(self) -> str:
        return {"department": "sở, ban, ngành", "commune": "xã, phường", "district": "huyện"}[self.value]


class MethodKind(StrEnum):
    """How a leaf gets its points."""

    SELF = "self"  # self-assessed (tự đánh giá) with evidence, then appraised (thẩm định)
    COMPUTED = "computed"  # mapped from a rate the dossiers service measures
    SURVEY = "survey"  # sociological survey (điều tra xã hội học), imported per unit
    DEDUCTION = "deduction"  # điểm trừ: 0 down to −max_points
    BONUS = "bonus"  # điểm thưởng: 0 up to max_points, beside the maximum (the index may pass 100)


class Metric(StrEnum):
    """Rates (percent, 0–100) the dossiers service provides per unit and year for computed leaves."""

    ON_TIME_RATE = "on_time_rate"  # (early + on time) / finished
    PROGRESS_766_RATE = "progress_766_rate"  # Decision 766 "tiến độ giải quyết" rate
    ONLINE_SHARE = "online_share"  # share of dossiers received online


class TieRule(StrEnum):
    """How equal indexes are ranked (see ranking.py)."""

    SHARED = "shared"  # equal displayed (2-decimal) indexes share a rank: 1, 2, 2, 4
    UNROUNDED = "unrounded"  # compare exact indexes: equal displayed values may get distinct ranks


@dataclass(frozen=True)
class TieBreaker:
    """One tie-breaker of a set, applied in order to units whose displayed indexes are equal.

    ``kind``: ``unrounded_index`` (the exact index), ``area`` (the component index of area ``area_id``, as
    displayed), ``appraised_points`` (the appraised total: the non-survey points the index uses).
    """

    kind: str
    area_id: str | None = None

    @property
    def code(self) -> str:
        """The YAML spelling: ``unrounded_index``, ``area:3``, ``appraised_points``."""
        return f"area:{self.area_id}" if self.kind == "area" else self.kind

    @property
    def label_vi(self) -> str:
        """How the ranking document's notes name it."""
        if self.kind == "unrounded_index":
            return "Chỉ số CCHC chưa làm tròn"
        if self.kind == "area":
            return f"chỉ số thành phần lĩnh vực {self.area_id}"
        return "tổng điểm thẩm định"


TIE_BREAKER_KINDS = ("unrounded_index", "area", "appraised_points")


@dataclass(frozen=True)
class Band:
    """A rate at or above ``min`` (percent) earns ``points``."""

    min: Decimal
    points: Decimal


@dataclass(frozen=True)
class Method:
    """How one leaf is scored. Only the fields of its ``kind`` are set.

    ``step`` and ``evidence_required`` belong to self-assessed and deduction leaves; ``metric`` with either
    ``bands`` (highest min first) or ``threshold`` to computed leaves; survey leaves carry nothing more.
    """

    kind: MethodKind
    step: Decimal | None = None
    evidence_required: bool = False
    metric: Metric | None = None
    bands: tuple[Band, ...] = ()
    threshold: Decimal | None = None


@dataclass(frozen=True)
class Leaf:
    """The level that carries points: a criterion without sub-criteria, or a sub-criterion.

    For a criterion that is itself a leaf, ``criterion_id == id``. ``max_points`` of a deduction is the
    largest deduction and does not count towards any maximum.
    """

    id: str
    title: str
    max_points: Decimal
    method: Method
    area_id: str
    criterion_id: str
    not_applicable_for: frozenset[str] = frozenset()

    @property
    def is_deduction(self) -> bool:
        return self.method.kind is MethodKind.DEDUCTION

    @property
    def is_bonus(self) -> bool:
        return self.method.kind is MethodKind.BONUS

    @property
    def is_extra(self) -> bool:
        """Deductions and bonuses sit beside the maximum: they count towards no max_points."""
        return self.method.kind in (MethodKind.DEDUCTION, MethodKind.BONUS)


@dataclass(frozen=True)
class Criterion:
    """A criterion (tiêu chí): either a leaf itself or the parent of its sub-criteria (``leaves``)."""

    id: str
    title: str
    max_points: Decimal
    leaves: tuple[Leaf, ...]
    has_sub_criteria: bool


@dataclass(frozen=True)
class Area:
    """An area (lĩnh vực) and its criteria; ``max_points`` excludes deductions and bonuses (an area made only
    of bonus or deduction leaves has their largest sum as ``max_points`` and counts towards no total)."""

    id: str
    title: str
    max_points: Decimal
    criteria: tuple[Criterion, ...]

    def leaves(self) -> tuple[Leaf, ...]:
        return tuple(leaf for criterion in self.criteria for leaf in criterion.leaves)

    @property
    def is_extra(self) -> bool:
        """Only bonus / deduction leaves: an area beside the maximum (e.g. Điểm thưởng)."""
        return all(leaf.is_extra for leaf in self.leaves())


@dataclass(frozen=True)
class ClassBand:
    """A classification (xếp loại) band: an index at or above ``min_index`` is called ``name``."""

    name: str
    min_index: Decimal


@dataclass(frozen=True)
class CriteriaSet:
    """One published criteria set. Build it with :func:`load_criteria_set` or :func:`parse_criteria_set`.

    ``classes`` are highest first and end at 0; ``window_opens``/``window_closes`` are aware datetimes,
    both inclusive. Two sets with the same content are equal and hash alike (by :attr:`checksum`).
    """

    id: str
    version: int
    year: int
    unit_kind: UnitKind
    title: str
    areas: tuple[Area, ...]
    survey_held: bool
    rescale_when_absent: bool
    classes: tuple[ClassBand, ...]
    tie_rule: TieRule
    excluded_units: frozenset[str]
    window_opens: datetime
    window_closes: datetime
    total_max_points: Decimal
    precision: int = 2
    cap_index_at: Decimal | None = None
    tie_breakers: tuple[TieBreaker, ...] = ()
    season: bool = False

    # Equality and hash by content checksum: the generated ones would walk every leaf on each call, and
    # computation looks compiled plans up by set for every unit.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CriteriaSet):
            return NotImplemented
        return self is other or self.checksum == other.checksum

    def __hash__(self) -> int:
        return hash(self.checksum)

    def leaves(self) -> tuple[Leaf, ...]:
        """Every leaf, in the order of the set."""
        return self._leaf_tuple

    def leaf(self, leaf_id: str) -> Leaf:
        """The leaf with this id; KeyError if the set has none (a criterion with sub-criteria is no leaf)."""
        try:
            return self._leaf_index[leaf_id]
        except KeyError:
            raise KeyError(f"criteria set {self.id} v{self.version} has no leaf {leaf_id!r}") from None

    def area_of(self, leaf_id: str) -> Area:
        """The area a leaf belongs to."""
        return self._area_index[self.leaf(leaf_id).area_id]

    @property
    def quantum(self) -> Decimal:
        """The smallest step of points and indexes: 0.01, or 0.001 for a 3-decimal set."""
        return Decimal(1).scaleb(-self.precision)

    def effective_tie_breakers(self) -> tuple[TieBreaker, ...]:
        """The tie-breakers ranking applies: the set's list, or ``tie_rule: unrounded`` as its one breaker."""
        if self.tie_breakers:
            return self.tie_breakers
        if self.tie_rule is TieRule.UNROUNDED:
            return (TieBreaker("unrounded_index"),)
        return ()

    @property
    def label(self) -> str:
        """``department-2026 v1``: how messages and documents name the set."""
        return f"{self.id} v{self.version}"

    def as_dict(self) -> dict[str, Any]:
        """The set as plain data in the YAML format, every default spelled out.

        Numbers stay :class:`~decimal.Decimal` and datetimes become ISO strings, so
        ``parse_criteria_set(s.as_dict(), ...) == s``.
        """
        return {
            "id": self.id,
            "version": self.version,
            "year": self.year,
            "unit_kind": self.unit_kind.value,
            "title": self.title,
            "total_max_points": self.total_max_points,
            "survey": {"held": self.survey_held, "rescale_when_absent": self.rescale_when_absent},
            "classification": [{"name": band.name, "min_index": band.min_index} for band in self.classes],
            "tie_rule": self.tie_rule.value,
            **({"precision": self.precision} if self.precision != 2 else {}),
            **({"cap_index_at": self.cap_index_at} if self.cap_index_at is not None else {}),
            **({"tie_breakers": [b.code for b in self.tie_breakers]} if self.tie_breakers else {}),
            **({"season": True} if self.season else {}),
            "excluded_units": sorted(self.excluded_units),
            "window": {"opens": self.window_opens.isoformat(), "closes": self.window_closes.isoformat()},
            "areas": [
                {
                    "id": area.id,
                    "title": area.title,
                    "max_points": area.max_points,
                    "criteria": [_criterion_dict(criterion) for criterion in area.criteria],
                }
                for area in self.areas
            ],
        }

    def to_json(self) -> str:
        """Canonical JSON of :meth:`as_dict`: sorted keys, no spaces, numbers as JSON numbers (``0.5``, ``2``).

        Safe to store in a JSON column; ``parse_criteria_set(json.loads(s.to_json()), ...) == s`` (floats are
        read through their shortest repr, which is the decimal written here).
        """
        return json.dumps(_jsonable(self.as_dict()), sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    @cached_property
    def checksum(self) -> str:
        """sha256 (hex) of :meth:`to_json`.

        Independent of how the YAML was written (key order, ``2`` or ``2.0``, defaults given or not). A
        published set is immutable: the service stores this checksum with the set and refuses a different
        content under the same id and version — a correction must be published as a new version.
        """
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()

    @cached_property
    def _leaf_tuple(self) -> tuple[Leaf, ...]:
        return tuple(leaf for area in self.areas for leaf in area.leaves())

    @cached_property
    def _leaf_index(self) -> dict[str, Leaf]:
        return {leaf.id: leaf for leaf in self._leaf_tuple}

    @cached_property
    def _area_index(self) -> dict[str, Area]:
        return {area.id: area for area in self.areas}


def _jsonable(value: Any) -> Any:
    """Decimals as JSON numbers: int when integral, else the float whose repr is the same decimal."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        number = float(value)
        if Decimal(repr(number)) != value:  # cannot happen for points with 2 decimals; never store a lie
            raise ValueError(f"{value} has no exact short float form")
        return number
    return value


def _leaf_dict(leaf: Leaf) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": leaf.id,
        "title": leaf.title,
        "max_points": leaf.max_points,
        "method": leaf.method.kind.value,
    }
    method = leaf.method
    if method.kind in (MethodKind.SELF, MethodKind.DEDUCTION, MethodKind.BONUS):
        data["step"] = method.step
        data["evidence_required"] = method.evidence_required
    elif method.kind is MethodKind.COMPUTED:
        data["metric"] = method.metric.value if method.metric else None
        if method.bands:
            data["bands"] = [{"min": band.min, "points": band.points} for band in method.bands]
        else:
            data["threshold"] = method.threshold
    if leaf.not_applicable_for:
        data["not_applicable_for"] = sorted(leaf.not_applicable_for)
    return data


def _criterion_dict(criterion: Criterion) -> dict[str, Any]:
    if not criterion.has_sub_criteria:
        return _leaf_dict(criterion.leaves[0])
    return {
        "id": criterion.id,
        "title": criterion.title,
        "max_points": criterion.max_points,
        "sub_criteria": [_leaf_dict(leaf) for leaf in criterion.leaves],
    }


# --------------------------------------------------------------------------------------------------- reading


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads floats as exact Decimals and refuses duplicate keys."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        # .inf, .nan, sexagesimal: keep YAML's reading; validation refuses it as a number with a message.
        return loader.construct_yaml_float(node)
    return value


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_Loader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def load_criteria_set(source: Path | str) -> CriteriaSet:
    """Read and validate the criteria set in the YAML file ``source``; messages name the file as given."""
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CriteriaSetError(f"{source}: cannot read the file: {error}") from error
    return parse_criteria_yaml(text, str(source))


def parse_criteria_yaml(text: str, where: str = "<string>") -> CriteriaSet:
    """Validate a criteria set given as YAML text (e.g. as stored with a published set)."""
    try:
        data = yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise CriteriaSetError(f"{where}: {at}not valid YAML: {problem}") from error
    return parse_criteria_set(data, where)


def parse_criteria_set(data: Any, where: str) -> CriteriaSet:
    """Validate plain data (the YAML format above, already parsed) into a :class:`CriteriaSet`.

    ``where`` names the source in messages (a file name). Numbers may be int, Decimal or float (a float is
    read through its shortest repr); prefer :func:`parse_criteria_yaml`, which never makes floats.
    """
    return _Parser(where).criteria_set(data)


_TOP_REQUIRED = ("id", "version", "year", "unit_kind", "title", "total_max_points", "classification", "window",
                 "areas")
_TOP_OPTIONAL = ("survey", "tie_rule", "excluded_units", "precision", "cap_index_at", "tie_breakers", "season")
_AREA_KEYS = ("id", "title", "max_points", "criteria")
_PARENT_KEYS = ("id", "title", "max_points", "sub_criteria")
_LEAF_REQUIRED = ("id", "title", "max_points", "method")
_METHOD_KEYS: dict[MethodKind, tuple[str, ...]] = {
    MethodKind.SELF: ("step", "evidence_required"),
    MethodKind.DEDUCTION: ("step", "evidence_required"),
    MethodKind.BONUS: ("step", "evidence_required"),
    MethodKind.COMPUTED: ("metric", "bands", "threshold"),
    MethodKind.SURVEY: (),
}
_METHOD_NAMES = {
    MethodKind.SELF: "a self-assessed leaf",
    MethodKind.DEDUCTION: "a deduction leaf",
    MethodKind.COMPUTED: "a computed leaf",
    MethodKind.SURVEY: "a survey leaf",
    MethodKind.BONUS: "a bonus leaf",
}


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


class _Parser:
    """Walks the data once, keeping the path for messages; every check raises at the first problem."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.ids: dict[str, str] = {}  # id → path where it was first seen
        self.places = 2  # the set's precision, read before any points

    def fail(self, path: str, message: str) -> CriteriaSetError:
        return CriteriaSetError(f"{self.where}: {path}: {message}" if path else f"{self.where}: {message}")

    # --- generic values

    def mapping(self, value: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...] = (),
                what: str = "") -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"expected a mapping{what}, got {_kind(value)}")
        for key in value:
            if key not in required and key not in optional:
                allowed = ", ".join((*required, *optional))
                raise self.fail(_join(path, str(key)), f"unknown key{what} (allowed: {allowed})")
        for key in required:
            if key not in value:
                raise self.fail(_join(path, key), f"missing (required{what})")
        return value

    def sequence(self, value: Any, path: str, *, allow_empty: bool = False) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(path, f"expected a list, got {_kind(value)}")
        if not value and not allow_empty:
            raise self.fail(path, "must not be empty")
        return value

    def text(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"expected a non-empty string, got {_kind(value)}")
        return unicodedata.normalize("NFC", " ".join(value.split()))

    def integer(self, value: Any, path: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"expected an integer, got {_kind(value)}")
        if not low <= value <= high:
            raise self.fail(path, f"{value} is outside {low}–{high}")
        return value

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"expected true or false, got {_kind(value)}")
        return value

    def number(self, value: Any, path: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise self.fail(path, f"expected a number, got {_kind(value)}")
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if not number.is_finite():
            raise self.fail(path, f"expected a finite number, got {value}")
        return number

    def points(self, value: Any, path: str, *, positive: bool) -> Decimal:
        number = self.number(value, path)
        if positive and number <= 0:
            raise self.fail(path, f"must be more than 0, got {_fmt(number)}")
        if number < 0:
            raise self.fail(path, f"must not be negative, got {_fmt(number)}")
        if number > _MAX_POINTS:
            raise self.fail(path, f"{_fmt(number)} is implausibly large (at most {_MAX_POINTS})")
        if number != number.quantize(Decimal(1).scaleb(-self.places), rounding="ROUND_DOWN"):
            hint = "" if self.places == 3 else " (a set that needs 3 decimals says precision: 3)"
            raise self.fail(path, f"points carry at most {self.places} decimals, got {_fmt(number)}{hint}")
        return number

    def percent(self, value: Any, path: str, *, zero_allowed: bool = True) -> Decimal:
        number = self.number(value, path)
        if number > _HUNDRED or number < 0 or (number == 0 and not zero_allowed):
            interval = "[0, 100]" if zero_allowed else "(0, 100]"
            raise self.fail(path, f"{_fmt(number)} is outside {interval} (a percentage)")
        return number

    def moment(self, value: Any, path: str) -> datetime:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            raise self.fail(path, f"expected a date and time with a UTC offset, got the date {value}")
        elif isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError:
                raise self.fail(path, f"{value!r} is not an ISO 8601 date and time") from None
        else:
            raise self.fail(path, f"expected an ISO 8601 date and time, got {_kind(value)}")
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise self.fail(path, f"{moment.isoformat()} has no UTC offset (write e.g. +07:00)")
        return moment

    def codes(self, value: Any, path: str) -> frozenset[str]:
        codes: set[str] = set()
        for index, code in enumerate(self.sequence(value, path, allow_empty=True)):
            if not isinstance(code, str) or not code.strip():
                raise self.fail(
                    _join(path, index), f"expected a unit code string, got {_kind(code)} (quote numeric codes)"
                )
            if code.strip() in codes:
                raise self.fail(_join(path, index), f"unit {code.strip()} is listed twice")
            codes.add(code.strip())
        return frozenset(codes)

    def node_id(self, value: Any, path: str, parent_id: str | None, level: str) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            hint = " (quote dotted ids: \"3.10\" read as a number would be 3.1)" if isinstance(
                value, float | Decimal) else ""
            raise self.fail(path, f"expected an id string such as \"3.2\", got {_kind(value)}{hint}")
        node_id = str(value).strip()
        if not _ID_RE.fullmatch(node_id):
            raise self.fail(path, f"{node_id!r} is not a dotted id such as \"3\", \"3.2\" or \"3.2.1\"")
        if parent_id is None:
            if "." in node_id:
                raise self.fail(path, f"{level} id {node_id!r} must be a single segment such as \"3\"")
        elif node_id.rpartition(".")[0] != parent_id:
            raise self.fail(
                path, f"{level} id {node_id!r} does not extend its parent's id {parent_id!r} (expected "
                f"{parent_id}.<n>)"
            )
        if node_id in self.ids:
            raise self.fail(path, f"duplicate id {node_id} (first at {self.ids[node_id]})")
        self.ids[node_id] = path
        return node_id

    # --- the tree

    def criteria_set(self, data: Any) -> CriteriaSet:
        top = self.mapping(data, "", _TOP_REQUIRED, _TOP_OPTIONAL, what="")
        set_id = self.text(top["id"], "id")
        if not _SET_ID_RE.fullmatch(set_id):
            raise self.fail("id", f"{set_id!r} must be letters, digits, '.', '_' or '-' (e.g. department-2026)")
        version = self.integer(top["version"], "version", 1, 10_000)
        year = self.integer(top["year"], "year", 2000, 2100)
        kind_value = top["unit_kind"]
        try:
            unit_kind = UnitKind(kind_value)
        except ValueError:
            expected = ", ".join(kind.value for kind in UnitKind)
            raise self.fail("unit_kind", f"{kind_value!r} is not one of {expected}") from None
        title = self.text(top["title"], "title")
        if "precision" in top:
            self.places = self.integer(top["precision"], "precision", 0, 10)
            if self.places not in PRECISIONS:
                raise self.fail("precision", f"{self.places} is not one of {', '.join(map(str, PRECISIONS))} "
                                             "(decimals of points and indexes)")

        survey_held, rescale = True, True
        if "survey" in top:
            survey = self.mapping(top["survey"], "survey", ("held",), ("rescale_when_absent",))
            survey_held = self.boolean(survey["held"], "survey.held")
            if "rescale_when_absent" in survey:
                rescale = self.boolean(survey["rescale_when_absent"], "survey.rescale_when_absent")

        classes = self.classification(top["classification"], "classification")

        tie_rule = TieRule.SHARED
        if "tie_rule" in top:
            try:
                tie_rule = TieRule(top["tie_rule"])
            except ValueError:
                expected = ", ".join(rule.value for rule in TieRule)
                raise self.fail("tie_rule", f"{top['tie_rule']!r} is not one of {expected}") from None

        excluded = self.codes(top["excluded_units"], "excluded_units") if "excluded_units" in top else frozenset()
        season = self.boolean(top["season"], "season") if "season" in top else False

        window = self.mapping(top["window"], "window", ("opens", "closes"))
        opens = self.moment(window["opens"], "window.opens")
        closes = self.moment(window["closes"], "window.closes")
        if closes <= opens:
            raise self.fail(
                "window.closes", f"{closes.isoformat()} is not after window.opens {opens.isoformat()}"
            )

        areas = tuple(
            self.area(entry, _join("areas", index))
            for index, entry in enumerate(self.sequence(top["areas"], "areas"))
        )
        total = self.points(top["total_max_points"], "total_max_points", positive=True)
        areas_sum = sum((area.max_points for area in areas if not area.is_extra), Decimal(0))
        if areas_sum != total:
            raise self.fail(
                "total_max_points", f"areas add up to {_fmt(areas_sum)}, but total_max_points is {_fmt(total)}"
            )
        cap = None
        if top.get("cap_index_at") is not None:
            cap = self.points(top["cap_index_at"], "cap_index_at", positive=True)
        breakers = self.tie_breakers(top["tie_breakers"], "tie_breakers", areas) if "tie_breakers" in top else ()
        return CriteriaSet(
            id=set_id,
            version=version,
            year=year,
            unit_kind=unit_kind,
            title=title,
            areas=areas,
            survey_held=survey_held,
            rescale_when_absent=rescale,
            classes=classes,
            tie_rule=tie_rule,
            excluded_units=excluded,
            window_opens=opens,
            window_closes=closes,
            total_max_points=total,
            precision=self.places,
            cap_index_at=cap,
            tie_breakers=breakers,
            season=season,
        )

    def tie_breakers(self, value: Any, path: str, areas: tuple[Area, ...]) -> tuple[TieBreaker, ...]:
        breakers: list[TieBreaker] = []
        area_ids = {area.id for area in areas}
        for index, entry in enumerate(self.sequence(value, path, allow_empty=True)):
            here = _join(path, index)
            if not isinstance(entry, str):
                raise self.fail(here, f"expected unrounded_index, area:<id> or appraised_points, got {_kind(entry)}")
            kind, _, area_id = entry.strip().partition(":")
            if kind not in TIE_BREAKER_KINDS or (kind == "area") != bool(area_id):
                raise self.fail(here, f"{entry!r} is not one of unrounded_index, area:<area id>, appraised_points")
            if kind == "area" and area_id not in area_ids:
                raise self.fail(here, f"no area {area_id!r} in this set (areas: {', '.join(sorted(area_ids))})")
            breaker = TieBreaker(kind, area_id or None)
            if breaker in breakers:
                raise self.fail(here, f"{entry!r} is listed twice")
            breakers.append(breaker)
        return tuple(breakers)

    def classification(self, value: Any, path: str) -> tuple[ClassBand, ...]:
        bands: list[ClassBand] = []
        for index, entry in enumerate(self.sequence(value, path)):
            here = _join(path, index)
            band = self.mapping(entry, here, ("name", "min_index"))
            name = self.text(band["name"], f"{here}.name")
            if any(existing.name == name for existing in bands):
                raise self.fail(f"{here}.name", f"class {name!r} is listed twice")
            min_index = self.percent(band["min_index"], f"{here}.min_index")
            if bands and min_index >= bands[-1].min_index:
                raise self.fail(
                    f"{here}.min_index",
                    f"classes must go from the highest min_index down: {_fmt(min_index)} does not come "
                    f"below {_fmt(bands[-1].min_index)} ({bands[-1].name})",
                )
            bands.append(ClassBand(name, min_index))
        if bands[-1].min_index != 0:
            raise self.fail(
                f"{_join(path, len(bands) - 1)}.min_index",
                f"the last class must start at 0 so every index gets one, got {_fmt(bands[-1].min_index)}",
            )
        return tuple(bands)

    def area(self, value: Any, path: str) -> Area:
        entry = self.mapping(value, path, _AREA_KEYS, what=" for an area")
        area_id = self.node_id(entry["id"], f"{path}.id", None, "area")
        title = self.text(entry["title"], f"{path}.title")
        max_points = self.points(entry["max_points"], f"{path}.max_points", positive=True)
        criteria = tuple(
            self.criterion(item, _join(f"{path}.criteria", index), area_id)
            for index, item in enumerate(self.sequence(entry["criteria"], f"{path}.criteria"))
        )
        extra_only = all(_is_extra_only(c) for c in criteria)
        counted = sum((c.max_points for c in criteria if extra_only or not _is_extra_only(c)), Decimal(0))
        if counted != max_points:
            raise self.fail(
                f"{path}.max_points",
                f"criteria add up to {_fmt(counted)}, but area {area_id} has max {_fmt(max_points)}",
            )
        return Area(area_id, title, max_points, criteria)

    def criterion(self, value: Any, path: str, area_id: str) -> Criterion:
        if isinstance(value, Mapping) and "sub_criteria" in value:
            entry = self.mapping(value, path, _PARENT_KEYS, what=" for a criterion with sub_criteria")
            criterion_id = self.node_id(entry["id"], f"{path}.id", area_id, "criterion")
            title = self.text(entry["title"], f"{path}.title")
            max_points = self.points(entry["max_points"], f"{path}.max_points", positive=True)
            leaves = tuple(
                self.leaf(item, _join(f"{path}.sub_criteria", index), area_id, criterion_id, "sub-criterion")
                for index, item in enumerate(self.sequence(entry["sub_criteria"], f"{path}.sub_criteria"))
            )
            extra_only = all(leaf.is_extra for leaf in leaves)
            counted = sum(
                (leaf.max_points for leaf in leaves if extra_only or not leaf.is_extra), Decimal(0)
            )
            if counted != max_points:
                raise self.fail(
                    f"{path}.max_points",
                    f"sub-criteria add up to {_fmt(counted)}, but criterion {criterion_id} has max "
                    f"{_fmt(max_points)}",
                )
            return Criterion(criterion_id, title, max_points, leaves, has_sub_criteria=True)
        leaf = self.leaf(value, path, area_id, None, "criterion")
        return Criterion(leaf.id, leaf.title, leaf.max_points, (leaf,), has_sub_criteria=False)

    def leaf(self, value: Any, path: str, area_id: str, criterion_id: str | None, level: str) -> Leaf:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"expected a mapping for a {level}, got {_kind(value)}")
        if "method" not in value:
            hint = "" if level == "sub-criterion" else " (or sub_criteria)"
            raise self.fail(f"{path}.method", f"missing (a {level} without sub-criteria needs a method{hint})")
        method_value = value["method"]
        try:
            kind = MethodKind(method_value)
        except ValueError:
            expected = ", ".join(kind.value for kind in MethodKind)
            raise self.fail(f"{path}.method", f"unknown method {method_value!r} (expected one of: {expected})") \
                from None
        entry = self.mapping(value, path, _LEAF_REQUIRED, (*_METHOD_KEYS[kind], "not_applicable_for"),
                             what=f" for {_METHOD_NAMES[kind]}")
        leaf_id = self.node_id(entry["id"], f"{path}.id", criterion_id or area_id, level)
        title = self.text(entry["title"], f"{path}.title")
        max_points = self.points(entry["max_points"], f"{path}.max_points", positive=True)
        method = self.method(kind, entry, path, max_points)
        not_applicable = (
            self.codes(entry["not_applicable_for"], f"{path}.not_applicable_for")
            if "not_applicable_for" in entry
            else frozenset()
        )
        return Leaf(leaf_id, title, max_points, method, area_id, criterion_id or leaf_id, not_applicable)

    def method(self, kind: MethodKind, entry: Mapping[str, Any], path: str, max_points: Decimal) -> Method:
        if kind in (MethodKind.SELF, MethodKind.DEDUCTION, MethodKind.BONUS):
            step = DEFAULT_STEP
            if "step" in entry:
                step = self.points(entry["step"], f"{path}.step", positive=True)
            if max_points % step != 0:
                raise self.fail(
                    f"{path}.step", f"step {_fmt(step)} does not divide max_points {_fmt(max_points)}"
                )
            evidence = kind in (MethodKind.SELF, MethodKind.BONUS)
            if "evidence_required" in entry:
                evidence = self.boolean(entry["evidence_required"], f"{path}.evidence_required")
            return Method(kind, step=step, evidence_required=evidence)
        if kind is MethodKind.SURVEY:
            return Method(kind)
        # computed
        if "metric" not in entry:
            raise self.fail(f"{path}.metric", "missing (required for a computed leaf)")
        try:
            metric = Metric(entry["metric"])
        except ValueError:
            expected = ", ".join(metric.value for metric in Metric)
            raise self.fail(
                f"{path}.metric", f"unknown metric {entry['metric']!r} (expected one of: {expected})"
            ) from None
        if ("bands" in entry) == ("threshold" in entry):
            raise self.fail(path, "a computed leaf needs exactly one of bands or threshold")
        if "threshold" in entry:
            threshold = self.percent(entry["threshold"], f"{path}.threshold", zero_allowed=False)
            return Method(kind, metric=metric, threshold=threshold)
        return Method(kind, metric=metric, bands=self.bands(entry["bands"], f"{path}.bands", max_points))

    def bands(self, value: Any, path: str, max_points: Decimal) -> tuple[Band, ...]:
        bands: list[Band] = []
        for index, entry in enumerate(self.sequence(value, path)):
            here = _join(path, index)
            band = self.mapping(entry, here, ("min", "points"), what=" for a band")
            minimum = self.percent(band["min"], f"{here}.min")
            points = self.points(band["points"], f"{here}.points", positive=False)
            if points > max_points:
                raise self.fail(
                    f"{here}.points", f"{_fmt(points)} is above the leaf's max_points {_fmt(max_points)}"
                )
            if bands:
                above = bands[-1]
                if minimum == above.min:
                    raise self.fail(f"{here}.min", f"overlaps the band above: both start at {_fmt(minimum)}")
                if minimum > above.min:
                    raise self.fail(
                        f"{here}.min",
                        f"bands must go from the highest min down: {_fmt(minimum)} comes after {_fmt(above.min)}",
                    )
                if points > above.points:
                    raise self.fail(
                        f"{here}.points",
                        f"{_fmt(points)} is more than the {_fmt(above.points)} of the band above: a lower rate "
                        "cannot earn more",
                    )
            bands.append(Band(minimum, points))
        return tuple(bands)


def _is_extra_only(criterion: Criterion) -> bool:
    """A criterion made only of deductions or bonuses counts towards no maximum."""
    return all(leaf.is_extra for leaf in criterion.leaves)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float | Decimal):
        return f"the number {value}"
    return type(value).__name__

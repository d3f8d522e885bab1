"""Criteria sets: the shipped examples add up, and every malformed set is refused with file and path."""

from __future__ import annotations

import copy
import dataclasses
import json
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.scoring.criteria import (
    DATA_DIR,
    CriteriaSet,
    CriteriaSetError,
    MethodKind,
    Metric,
    TieRule,
    UnitKind,
    load_criteria_set,
    parse_criteria_set,
    parse_criteria_yaml,
)

ICT = timezone(timedelta(hours=7))


def _base() -> dict[str, Any]:
    """A small valid set: 10 points in 3 areas, one of every method."""
    return {
        "id": "dept-2026",
        "version": 1,
        "year": 2026,
        "unit_kind": "department",
        "title": "Bộ tiêu chí thử nghiệm",
        "total_max_points": 10,
        "survey": {"held": True, "rescale_when_absent": True},
        "classification": [
            {"name": "Tốt", "min_index": 90},
            {"name": "Khá", "min_index": 80},
            {"name": "Trung bình", "min_index": 70},
            {"name": "Yếu", "min_index": 0},
        ],
        "tie_rule": "shared",
        "excluded_units": ["H44.42"],
        "window": {"opens": "2026-11-05T00:00:00+07:00", "closes": "2026-11-15T23:59:59+07:00"},
        "areas": [
            {
                "id": "1",
                "title": "Chỉ đạo, điều hành",
                "max_points": 4,
                "criteria": [
                    {
                        "id": "1.1",
                        "title": "Kế hoạch CCHC",
                        "max_points": 3,
                        "sub_criteria": [
                            {"id": "1.1.1", "title": "Ban hành kịp thời", "max_points": 1, "method": "self"},
                            {"id": "1.1.2", "title": "Thực hiện", "max_points": 2, "method": "self", "step": 0.5},
                            {"id": "1.1.3", "title": "Vi phạm", "max_points": 1, "method": "deduction"},
                        ],
                    },
                    {
                        "id": "1.2",
                        "title": "Tỷ lệ đúng hạn",
                        "max_points": 1,
                        "method": "computed",
                        "metric": "on_time_rate",
                        "bands": [{"min": 100, "points": 1}, {"min": 95, "points": 0.5}, {"min": 0, "points": 0}],
                    },
                ],
            },
            {
                "id": "2",
                "title": "Chính phủ số",
                "max_points": 3,
                "criteria": [
                    {"id": "2.1", "title": "Hồ sơ trực tuyến", "max_points": 2, "method": "computed",
                     "metric": "online_share", "threshold": 50},
                    {"id": "2.2", "title": "Sáng kiến", "max_points": 1, "method": "self",
                     "not_applicable_for": ["H44.23"]},
                ],
            },
            {
                "id": "3",
                "title": "Điều tra xã hội học",
                "max_points": 3,
                "criteria": [{"id": "3.1", "title": "Hài lòng", "max_points": 3, "method": "survey"}],
            },
        ],
    }


def _write(tmp_path: Path, data: Any, name: str = "dept-2026.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _sub(data: dict[str, Any], area: int, criterion: int, sub: int | None = None) -> dict[str, Any]:
    node = data["areas"][area]["criteria"][criterion]
    return node if sub is None else node["sub_criteria"][sub]


# ------------------------------------------------------------------------------------------ shipped sets


@pytest.mark.parametrize(
    ("name", "kind", "year", "areas", "criteria", "survey_points", "held"),
    [
        ("department-2026", UnitKind.DEPARTMENT, 2026, 8, 39, 20, True),
        ("commune-2026", UnitKind.COMMUNE, 2026, 8, 34, 30, True),
        ("district-2024", UnitKind.DISTRICT, 2024, 9, 44, 20, False),
    ],
)
def test_shipped_sets_load_and_add_up(
    name: str, kind: UnitKind, year: int, areas: int, criteria: int, survey_points: int, held: bool
) -> None:
    cs = load_criteria_set(DATA_DIR / f"{name}.yaml")
    assert (cs.id, cs.unit_kind, cs.year, cs.version) == (name, kind, year, 1)
    assert len(cs.areas) == areas
    assert sum(len(area.criteria) for area in cs.areas) == criteria
    assert 50 <= len(cs.leaves()) <= 70
    assert cs.total_max_points == 100
    assert sum(area.max_points for area in cs.areas) == 100
    counted = [leaf for leaf in cs.leaves() if not leaf.is_deduction]
    assert sum(leaf.max_points for leaf in counted) == 100
    survey = sum(leaf.max_points for leaf in cs.leaves() if leaf.method.kind is MethodKind.SURVEY)
    assert survey == survey_points
    assert cs.survey_held is held and cs.rescale_when_absent
    for area in cs.areas:
        assert sum(c.max_points for c in area.criteria if not all(x.is_deduction for x in c.leaves)) \
            == area.max_points
    # Every kind of leaf the product scores, with the rules the brief names.
    computed = {leaf.method.metric: leaf.method for leaf in cs.leaves() if leaf.method.kind is MethodKind.COMPUTED}
    assert computed[Metric.ON_TIME_RATE].bands[0].min == 100
    assert computed[Metric.PROGRESS_766_RATE].threshold == 80
    assert computed[Metric.ONLINE_SHARE].threshold == 50
    assert any(leaf.is_deduction for leaf in cs.leaves())
    assert [band.name for band in cs.classes] == ["Tốt", "Khá", "Trung bình", "Yếu"]
    assert cs.window_opens < cs.window_closes
    assert cs.window_opens.utcoffset() == timedelta(hours=7)
    assert cs.window_opens.year == year


def test_shipped_titles_are_vietnamese_in_nfc() -> None:
    for path in sorted(DATA_DIR.glob("*.yaml")):
        cs = load_criteria_set(path)
        titles = [cs.title, *(area.title for area in cs.areas), *(leaf.title for leaf in cs.leaves())]
        assert all(unicodedata.is_normalized("NFC", title) for title in titles)
        assert any(area.title.startswith("Cải cách thủ tục hành chính") for area in cs.areas)


def test_shipped_sets_round_trip_through_dict_and_json() -> None:
    for path in sorted(DATA_DIR.glob("*.yaml")):
        cs = load_criteria_set(path)
        assert parse_criteria_set(cs.as_dict(), "again") == cs
        assert parse_criteria_set(json.loads(cs.to_json()), "json") == cs
        assert parse_criteria_set(json.loads(cs.to_json()), "json").checksum == cs.checksum


def test_lookups() -> None:
    cs = load_criteria_set(DATA_DIR / "department-2026.yaml")
    leaf = cs.leaf("3.7.2")
    assert (leaf.area_id, leaf.criterion_id, leaf.max_points) == ("3", "3.7", Decimal("1.5"))
    assert cs.area_of("3.7.2").title == "Cải cách thủ tục hành chính"
    assert cs.leaf("3.4").criterion_id == "3.4"  # a criterion without sub-criteria is its own leaf
    assert cs.leaf("3.4").not_applicable_for == frozenset({"H44.23"})
    with pytest.raises(KeyError, match=r"no leaf '3\.7'"):
        cs.leaf("3.7")  # a criterion with sub-criteria carries no points itself
    assert cs.excluded_units == frozenset()  # Sở Nội vụ (H44.42) is ranked like any other department
    assert cs.label == "department-2026 v1"


# ---------------------------------------------------------------------------------------------- checksum


def test_checksum_ignores_spelling_but_not_content(tmp_path: Path) -> None:
    original = parse_criteria_set(_base(), "a")
    respelt = _base()
    respelt["areas"][0]["max_points"] = 4.0  # 4.0 is 4
    _sub(respelt, 0, 0, 0)["step"] = 0.25  # the default, spelt out
    respelt = dict(reversed(list(respelt.items())))  # key order
    assert parse_criteria_set(respelt, "b").checksum == original.checksum
    assert parse_criteria_set(respelt, "b") == original
    assert hash(parse_criteria_set(respelt, "b")) == hash(original)

    corrected = _base()
    _sub(corrected, 1, 1)["title"] = "Sáng kiến, giải pháp mới"
    assert parse_criteria_set(corrected, "c").checksum != original.checksum
    bumped = _base()
    bumped["version"] = 2
    assert parse_criteria_set(bumped, "d").checksum != original.checksum
    assert len(original.checksum) == 64


def test_defaults() -> None:
    data = _base()
    for key in ("survey", "tie_rule", "excluded_units"):
        del data[key]
    cs = parse_criteria_set(data, "x")
    assert (cs.survey_held, cs.rescale_when_absent, cs.tie_rule, cs.excluded_units) == (
        True, True, TieRule.SHARED, frozenset())
    self_leaf, deduction = cs.leaf("1.1.1"), cs.leaf("1.1.3")
    assert (self_leaf.method.step, self_leaf.method.evidence_required) == (Decimal("0.25"), True)
    assert (deduction.method.step, deduction.method.evidence_required) == (Decimal("0.25"), False)
    assert cs.window_opens == datetime(2026, 11, 5, tzinfo=ICT)


def test_yaml_numbers_are_exact_decimals(tmp_path: Path) -> None:
    # 0.1 + 0.2 is not 0.3 in binary floating point; read from YAML text it must be.
    data = _base()
    data["areas"][0]["criteria"][0]["sub_criteria"] = [
        {"id": "1.1.1", "title": "Một", "max_points": 0.1, "method": "self", "step": 0.05},
        {"id": "1.1.2", "title": "Hai", "max_points": 0.2, "method": "self", "step": 0.05},
    ]
    data["areas"][0]["criteria"][0]["max_points"] = 0.3
    data["areas"][0]["max_points"] = 1.3
    data["total_max_points"] = 7.3
    cs = load_criteria_set(_write(tmp_path, data))
    assert cs.leaf("1.1.1").max_points == Decimal("0.1")
    assert isinstance(cs.total_max_points, Decimal) and cs.total_max_points == Decimal("7.3")


def test_deduction_only_criterion_counts_for_no_maximum() -> None:
    data = _base()
    data["areas"][0]["criteria"].append(
        {"id": "1.3", "title": "Điểm trừ", "max_points": 3, "sub_criteria": [
            {"id": "1.3.1", "title": "Kỷ luật", "max_points": 2, "method": "deduction"},
            {"id": "1.3.2", "title": "Khiếu nại", "max_points": 1, "method": "deduction"},
        ]}
    )
    cs = parse_criteria_set(data, "x")
    assert cs.areas[0].max_points == 4
    assert cs.leaf("1.3.2").is_deduction


# ------------------------------------------------------------------------------------ validation errors


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return mutate


def _delete(path: list[Any]) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        node = data
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return mutate


SUB = ["areas", 0, "criteria", 0, "sub_criteria"]
BANDS = ["areas", 0, "criteria", 1, "bands"]

INVALID = [
    # missing / unknown keys
    ("missing top-level key", _delete(["year"]), "year", "missing"),
    ("unknown top-level key", _set(["colour"], "xanh"), "colour", "unknown key"),
    ("unknown area key", _set(["areas", 0, "weight"], 2), "areas[0].weight", "unknown key for an area"),
    ("missing leaf max", _delete(["areas", 0, "criteria", 1, "max_points"]), "areas[0].criteria[1].max_points",
     "missing"),
    ("missing method", _delete([*SUB, 0, "method"]), "areas[0].criteria[0].sub_criteria[0].method", "missing"),
    ("key of another method", _set([*SUB, 0, "threshold"], 50), "areas[0].criteria[0].sub_criteria[0].threshold",
     "unknown key for a self-assessed leaf"),
    ("method on a parent criterion", _set(["areas", 0, "criteria", 0, "method"], "self"),
     "areas[0].criteria[0].method", "unknown key for a criterion with sub_criteria"),
    ("window key", _set(["window", "close"], "2026-11-15T23:59:59+07:00"), "window.close", "unknown key"),
    ("computed without metric", _delete(["areas", 0, "criteria", 1, "metric"]), "areas[0].criteria[1].metric",
     "missing"),
    # wrong types
    ("version as text", _set(["version"], "1"), "version", "expected an integer, got the string '1'"),
    ("points as text", _set([*SUB, 0, "max_points"], "1"), "areas[0].criteria[0].sub_criteria[0].max_points",
     "expected a number, got the string '1'"),
    ("points as bool", _set([*SUB, 0, "max_points"], True), "areas[0].criteria[0].sub_criteria[0].max_points",
     "expected a number"),
    ("empty title", _set(["title"], "  "), "title", "expected a non-empty string"),
    ("areas not a list", _set(["areas"], {"1": "x"}), "areas", "expected a list"),
    ("no areas", _set(["areas"], []), "areas", "must not be empty"),
    ("criterion not a mapping", _set(["areas", 1, "criteria", 0], "2.1"), "areas[1].criteria[0]",
     "expected a mapping"),
    ("survey.held as text", _set(["survey", "held"], "yes"), "survey.held", "expected true or false"),
    ("evidence flag as text", _set([*SUB, 0, "evidence_required"], "có"),
     "areas[0].criteria[0].sub_criteria[0].evidence_required", "expected true or false"),
    ("numeric excluded unit", _set(["excluded_units"], [7900]), "excluded_units[0]", "expected a unit code string"),
    ("unit listed twice", _set(["areas", 1, "criteria", 1, "not_applicable_for"], ["H44.23", "H44.23"]),
     "areas[1].criteria[1].not_applicable_for[1]", "listed twice"),
    ("unknown unit kind", _set(["unit_kind"], "province"), "unit_kind", "'province' is not one of"),
    ("unknown tie rule", _set(["tie_rule"], "random"), "tie_rule", "'random' is not one of shared, unrounded"),
    # points that do not add up, at each level
    ("sub-criteria vs criterion", _set([*SUB, 1, "max_points"], 1.5), "areas[0].criteria[0].max_points",
     "sub-criteria add up to 2.5, but criterion 1.1 has max 3"),
    ("criteria vs area", _set(["areas", 1, "max_points"], 4), "areas[1].max_points",
     "criteria add up to 3, but area 2 has max 4"),
    ("areas vs total", _set(["total_max_points"], 12), "total_max_points",
     "areas add up to 10, but total_max_points is 12"),
    ("zero max", _set(["areas", 1, "criteria", 1, "max_points"], 0), "areas[1].criteria[1].max_points",
     "must be more than 0"),
    ("huge max", _set([*SUB, 0, "max_points"], 1e30), "areas[0].criteria[0].sub_criteria[0].max_points",
     "implausibly large"),
    ("three decimals", _set([*SUB, 0, "max_points"], 0.125), "areas[0].criteria[0].sub_criteria[0].max_points",
     "at most 2 decimals"),
    # ids
    ("duplicate id", _set(["areas", 1, "criteria", 1, "id"], "2.1"), "areas[1].criteria[1].id",
     "duplicate id 2.1 (first at areas[1].criteria[0].id)"),
    ("child id not extending parent", _set([*SUB, 1, "id"], "1.2.2"), "areas[0].criteria[0].sub_criteria[1].id",
     "does not extend its parent's id '1.1'"),
    ("criterion under another area", _set(["areas", 1, "criteria", 0, "id"], "1.9"), "areas[1].criteria[0].id",
     "does not extend its parent's id '2'"),
    ("dotted area id", _set(["areas", 2, "id"], "3.1"), "areas[2].id", "single segment"),
    ("roman area id", _set(["areas", 2, "id"], "III"), "areas[2].criteria[0].id",
     "does not extend its parent's id 'III'"),
    ("id with spaces", _set(["areas", 2, "id"], "3 a"), "areas[2].id", "is not a dotted id"),
    # methods
    ("unknown method", _set(["areas", 0, "criteria", 1, "method"], "manual"), "areas[0].criteria[1].method",
     "unknown method 'manual' (expected one of: self, computed, survey, deduction, bonus)"),
    ("unknown metric", _set(["areas", 0, "criteria", 1, "metric"], "speed"), "areas[0].criteria[1].metric",
     "unknown metric 'speed' (expected one of: on_time_rate, progress_766_rate, online_share)"),
    ("bands and threshold", _set(["areas", 0, "criteria", 1, "threshold"], 80), "areas[0].criteria[1]",
     "exactly one of bands or threshold"),
    ("neither bands nor threshold", _delete(["areas", 0, "criteria", 1, "bands"]), "areas[0].criteria[1]",
     "exactly one of bands or threshold"),
    ("step not dividing max", _set([*SUB, 1, "step"], 0.75), "areas[0].criteria[0].sub_criteria[1].step",
     "step 0.75 does not divide max_points 2"),
    ("default step not dividing max", _set([*SUB, 0, "max_points"], 0.1),
     "areas[0].criteria[0].sub_criteria[0].step", "step 0.25 does not divide max_points 0.1"),
    ("zero step", _set([*SUB, 1, "step"], 0), "areas[0].criteria[0].sub_criteria[1].step", "must be more than 0"),
    # bands
    ("unsorted bands", _set(BANDS, [{"min": 95, "points": 0.5}, {"min": 100, "points": 1}]),
     "areas[0].criteria[1].bands[1].min", "bands must go from the highest min down: 100 comes after 95"),
    ("overlapping bands", _set(BANDS, [{"min": 100, "points": 1}, {"min": 100, "points": 0.5}]),
     "areas[0].criteria[1].bands[1].min", "overlaps the band above"),
    ("band above max", _set([*BANDS, 0, "points"], 2), "areas[0].criteria[1].bands[0].points",
     "2 is above the leaf's max_points 1"),
    ("band points rising", _set([*BANDS, 2, "points"], 0.75), "areas[0].criteria[1].bands[2].points",
     "a lower rate cannot earn more"),
    ("band min above 100", _set([*BANDS, 0, "min"], 101), "areas[0].criteria[1].bands[0].min", "outside [0, 100]"),
    ("band without points", _delete([*BANDS, 1, "points"]), "areas[0].criteria[1].bands[1].points", "missing"),
    # threshold
    ("zero threshold", _set(["areas", 1, "criteria", 0, "threshold"], 0), "areas[1].criteria[0].threshold",
     "0 is outside (0, 100]"),
    ("threshold above 100", _set(["areas", 1, "criteria", 0, "threshold"], 120), "areas[1].criteria[0].threshold",
     "120 is outside (0, 100]"),
    ("negative threshold", _set(["areas", 1, "criteria", 0, "threshold"], -5), "areas[1].criteria[0].threshold",
     "outside (0, 100]"),
    # classification
    ("unsorted classes", _set(["classification", 1, "min_index"], 95), "classification[1].min_index",
     "classes must go from the highest min_index down: 95 does not come below 90"),
    ("classes not ending at 0", _set(["classification", 3, "min_index"], 50), "classification[3].min_index",
     "the last class must start at 0"),
    ("class listed twice", _set(["classification", 1, "name"], "Tốt"), "classification[1].name", "listed twice"),
    ("class above 100", _set(["classification", 0, "min_index"], 190), "classification[0].min_index",
     "outside [0, 100]"),
    # window
    ("window closes before it opens", _set(["window", "closes"], "2026-11-01T00:00:00+07:00"), "window.closes",
     "2026-11-01T00:00:00+07:00 is not after window.opens 2026-11-05T00:00:00+07:00"),
    ("window closes as it opens", _set(["window", "closes"], "2026-11-05T00:00:00+07:00"), "window.closes",
     "is not after window.opens"),
    ("naive datetime", _set(["window", "opens"], "2026-11-05T00:00:00"), "window.opens",
     "2026-11-05T00:00:00 has no UTC offset"),
    ("not a datetime", _set(["window", "opens"], "5/11/2026"), "window.opens", "is not an ISO 8601 date and time"),
]


@pytest.mark.parametrize(("case", "mutate", "where", "message"), INVALID, ids=[case[0] for case in INVALID])
def test_invalid_sets_name_file_and_path(
    tmp_path: Path, case: str, mutate: Callable[[dict[str, Any]], None], where: str, message: str
) -> None:
    data = copy.deepcopy(_base())
    mutate(data)
    path = _write(tmp_path, data)
    with pytest.raises(CriteriaSetError) as error:
        load_criteria_set(path)
    text = str(error.value)
    assert text.startswith(f"{path}: {where}: "), text
    assert message in text, text
    assert isinstance(error.value, ValueError)


def test_base_set_is_valid(tmp_path: Path) -> None:
    cs = load_criteria_set(_write(tmp_path, _base()))
    assert isinstance(cs, CriteriaSet)
    assert [leaf.id for leaf in cs.leaves()] == ["1.1.1", "1.1.2", "1.1.3", "1.2", "2.1", "2.2", "3.1"]
    assert cs.areas[0].max_points == 4  # the deduction 1.1.3 adds nothing


def test_message_names_the_file_as_given(tmp_path: Path) -> None:
    data = _base()
    _set([*SUB, 1, "max_points"], 1.5)(data)
    _write(tmp_path, data)
    with pytest.raises(CriteriaSetError, match=r"^dept-2026\.yaml: areas\[0\]\.criteria\[0\]\.max_points: "):
        parse_criteria_set(data, "dept-2026.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # an unquoted dotted id is a YAML number: 3.10 would silently become 3.1
        ("areas:\n  - id: 1.1\n", "areas[0].id: expected an id string such as \"3.2\", got the number 1.1 (quote"),
        # a date without a time
        ("window:\n  opens: 2026-11-05\n", "window.opens: expected a date and time with a UTC offset"),
        # not a mapping at all
        ("- a\n- b\n", "expected a mapping, got a list"),
        ("max_points: .nan\n", "expected a finite number"),
    ],
)
def test_invalid_yaml_values(tmp_path: Path, text: str, message: str) -> None:
    data = yaml.safe_dump(_base(), allow_unicode=True, sort_keys=False)
    document = yaml.safe_load(text)
    path = tmp_path / "dept-2026.yaml"
    if isinstance(document, dict) and "areas" in document:
        # keep the whole set, with the first area's id replaced by the raw YAML value
        data = data.replace("- id: '1'\n", "- id: 1.1\n", 1)
    elif isinstance(document, dict) and "window" in document:
        data = data.replace("opens: '2026-11-05T00:00:00+07:00'", "opens: 2026-11-05", 1)
    elif isinstance(document, dict) and "max_points" in document:
        data = data.replace("max_points: 1\n", "max_points: .nan\n", 1)
    else:
        data = text
    path.write_text(data, encoding="utf-8")
    with pytest.raises(CriteriaSetError) as error:
        load_criteria_set(path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)


def test_yaml_datetime_with_offset_is_accepted(tmp_path: Path) -> None:
    text = yaml.safe_dump(_base(), allow_unicode=True, sort_keys=False).replace(
        "opens: '2026-11-05T00:00:00+07:00'", "opens: 2026-11-05T00:00:00+07:00"
    )
    cs = parse_criteria_yaml(text, "x.yaml")
    assert cs.window_opens == datetime(2026, 11, 5, tzinfo=ICT)


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    text = yaml.safe_dump(_base(), allow_unicode=True, sort_keys=False).replace(
        "title: Bộ tiêu chí thử nghiệm\n", "title: Bộ tiêu chí thử nghiệm\ntitle: Bộ khác\n", 1
    )
    path = tmp_path / "dept-2026.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CriteriaSetError, match=r"dept-2026\.yaml: line 6, column 1: not valid YAML: duplicate key"):
        load_criteria_set(path)


def test_broken_yaml_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(CriteriaSetError, match=r"broken\.yaml: line \d+, column \d+: not valid YAML"):
        load_criteria_set(path)
    with pytest.raises(CriteriaSetError, match="cannot read the file"):
        load_criteria_set(tmp_path / "absent.yaml")


def test_sets_are_frozen() -> None:
    cs = parse_criteria_set(_base(), "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cs.version = 2  # type: ignore[misc]

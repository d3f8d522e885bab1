"""The unit tree: Phú Thọ's root, communes, departments and pre-2025 districts."""

import csv
from datetime import date
from pathlib import Path

import pytest
from vietnam_provinces import ProvinceCode, Ward

from services.dossiers.units import (
    Unit,
    UnitDataError,
    UnitKind,
    UnitTree,
    load_portal_codes,
    name_key,
    packaged_unit_files,
)
from tests.support import handbook_data

DATA_766 = handbook_data("766_phutho_tien_do_giai_quyet_2026-08.csv")  # ../shared/data, from a worktree too


@pytest.fixture(scope="module")
def tree() -> UnitTree:
    return UnitTree.for_province(25)


def unit(code: str, parent: str | None = None, kind: UnitKind = UnitKind.DEPARTMENT) -> Unit:
    return Unit(code=code, name=f"Unit {code}", kind=kind, parent_code=parent, valid_from=None, valid_to=None)


def kinds(tree: UnitTree) -> dict[UnitKind, int]:
    counts = dict.fromkeys(UnitKind, 0)
    for member in tree:
        counts[member.kind] += 1
    return counts


def test_phu_tho_has_root_communes_departments_and_districts(tree: UnitTree) -> None:
    counts = kinds(tree)
    assert counts == {UnitKind.PROVINCE: 1, UnitKind.COMMUNE: 148, UnitKind.DEPARTMENT: 15,
                      UnitKind.DISTRICT: 13}
    assert len(tree) == 1 + 148 + 15 + 13
    root = tree.get("P25")
    assert root == Unit("P25", "UBND tỉnh Phú Thọ", UnitKind.PROVINCE, None, None, None)


def test_communes_come_from_vietnam_provinces(tree: UnitTree) -> None:
    viet_tri = tree.get("07900")
    assert viet_tri == Unit("07900", "Phường Việt Trì", UnitKind.COMMUNE, "P25", date(2025, 7, 1), None)
    expected = {f"{int(ward.code):05d}" for ward in Ward.iter_by_province(ProvinceCode.P_25)}
    assert {member.code for member in tree if member.kind is UnitKind.COMMUNE} == expected


def test_departments_carry_portal_codes(tree: UnitTree) -> None:
    cong_thuong = tree.get("H44.07")
    assert cong_thuong is not None
    assert cong_thuong.name == "Sở Công Thương"
    assert (cong_thuong.kind, cong_thuong.parent_code) == (UnitKind.DEPARTMENT, "P25")
    assert cong_thuong.valid_from == date(2025, 7, 1) and cong_thuong.valid_to is None
    names = {member.name for member in tree if member.kind is UnitKind.DEPARTMENT}
    expected = {"Văn phòng UBND tỉnh", "Sở Nội vụ", "Sở Tư pháp", "Thanh tra tỉnh",
                "Sở Nông nghiệp và Môi trường"}
    assert expected <= names


def test_every_department_of_the_766_file_is_in_the_tree(tree: UnitTree) -> None:
    with DATA_766.open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["level"] == "PROVINCE"]
    assert len(rows) == 15
    for row in rows:
        department = tree.get(row["departmentCode"])
        assert department is not None and department.kind is UnitKind.DEPARTMENT, row["departmentCode"]


def test_children_descendants_ancestors(tree: UnitTree) -> None:
    children = tree.children("P25")
    assert len(children) == len(tree) - 1
    assert children[0].code == "07900"  # communes first, in the package's order
    assert tree.children("07900") == []
    descendants = tree.descendants("P25")
    assert descendants[0] == "P25" and len(descendants) == len(tree) == len(set(descendants))
    assert tree.descendants("P25", include_self=False) == descendants[1:]
    assert tree.descendants("H44.07") == ["H44.07"]
    assert tree.descendants("H44.07", include_self=False) == []
    assert tree.ancestors("07900") == ["P25"]
    assert tree.ancestors("P25") == []


def test_deeper_hierarchy() -> None:
    small = UnitTree([unit("C", "B"), unit("A"), unit("B", "A"), unit("D", "A"), unit("E", "B")])
    assert small.descendants("A") == ["A", "B", "C", "E", "D"]
    assert small.ancestors("C") == ["B", "A"]
    assert [child.code for child in small.children("B")] == ["C", "E"]


def test_unknown_codes(tree: UnitTree) -> None:
    assert tree.get("X99") is None
    assert "X99" not in tree
    assert "07900" in tree
    for method in (tree.children, tree.descendants, tree.ancestors):
        with pytest.raises(KeyError, match="X99"):
            method("X99")


def test_legacy_district_resolves_only_before_the_reform(tree: UnitTree) -> None:
    viet_tri_city = tree.resolve("D227", date(2024, 5, 1))
    assert viet_tri_city is not None and viet_tri_city.name == "Thành phố Việt Trì"
    assert viet_tri_city.kind is UnitKind.DISTRICT and viet_tri_city.parent_code == "P25"
    assert tree.resolve("D227", date(2025, 6, 30)) is not None
    assert tree.resolve("D227", date(2025, 7, 1)) is None
    assert tree.resolve("D227", date(2025, 8, 1)) is None
    assert tree.get("D227") is not None  # still known, for old records


def test_communes_and_departments_resolve_only_after_the_reform(tree: UnitTree) -> None:
    assert tree.resolve("07900", date(2025, 8, 1)) is not None
    assert tree.resolve("07900", date(2024, 5, 1)) is None
    assert tree.resolve("H44.07", date(2025, 7, 1)) is not None
    assert tree.resolve("P25", date(2010, 1, 1)) is not None
    assert tree.resolve("X99", date(2025, 8, 1)) is None


def test_duplicate_codes_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"H44\.07"):
        UnitTree([unit("P25", kind=UnitKind.PROVINCE), unit("H44.07", "P25"), unit("H44.07", "P25")])


def test_unknown_parent_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"H44\.07.*P99"):
        UnitTree([unit("P25", kind=UnitKind.PROVINCE), unit("H44.07", "P99")])


def test_parent_loop_is_rejected() -> None:
    with pytest.raises(ValueError, match="ancestor"):
        UnitTree([unit("A", "B"), unit("B", "A")])


def test_validity_dates() -> None:
    district = Unit("D227", "Thành phố Việt Trì", UnitKind.DISTRICT, None, date(1962, 6, 4),
                    date(2025, 6, 30))
    assert district.is_valid_on(date(1962, 6, 4)) and district.is_valid_on(date(2025, 6, 30))
    assert not district.is_valid_on(date(1962, 6, 3)) and not district.is_valid_on(date(2025, 7, 1))
    with pytest.raises(ValueError):
        Unit("X", "X", UnitKind.DISTRICT, None, date(2025, 7, 1), date(2025, 6, 30))


def test_extra_files_add_units(tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "province_code: 25\n"
        "units:\n"
        "  - {code: H44.99, name: Trung tâm Phục vụ hành chính công, kind: department, parent: P25,"
        " valid_from: 2025-07-01}\n"
        "  - {code: '07900.1', name: Bộ phận một cửa, kind: department, parent: '07900',"
        " valid_from: '2025-07-01'}\n",
        encoding="utf-8",
    )
    tree = UnitTree.for_province(25, extra_files=[extra])
    assert tree.ancestors("07900.1") == ["07900", "P25"]
    assert tree.resolve("H44.99", date(2025, 7, 1)) is not None


ONE_UNIT = "province_code: 25\nunits:\n  - "


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("province_code: 26\nunits: []\n", "province 26"),
        (f"{ONE_UNIT}{{code: 00634, name: X, kind: commune, parent: P25}}\n", "string"),
        (f"{ONE_UNIT}{{code: H44.98, name: X, kind: ward, parent: P25}}\n", "kind"),
        (f"{ONE_UNIT}{{code: H44.98, name: X, kind: department, parent: P25, typo: 1}}\n", "typo"),
        (f"{ONE_UNIT}{{code: H44.98, name: X, kind: department, valid_to: soon}}\n", "valid_to"),
        (f"{ONE_UNIT}{{code: H44.07, name: Again, kind: department, parent: P25}}\n", r"H44\.07"),
        ("- just a list\n", "mapping"),
    ],
)
def test_bad_extra_files_are_refused(tmp_path: Path, body: str, message: str) -> None:
    extra = tmp_path / "bad.yaml"
    extra.write_text(body, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        UnitTree.for_province(25, extra_files=[extra])


def test_unknown_province_is_refused() -> None:
    with pytest.raises(ValueError, match="99"):
        UnitTree.for_province(99)


def test_packaged_unit_files() -> None:
    names = [path.name for path in packaged_unit_files(25)]
    assert names == ["legacy_districts.yaml", "phu_tho_departments.yaml"]
    assert packaged_unit_files(1) == []


def test_packaged_files_are_not_given_twice() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        UnitTree.for_province(25, extra_files=packaged_unit_files(25))


def test_a_province_without_unit_files_has_root_and_communes() -> None:
    hanoi = UnitTree.for_province(1)
    assert kinds(hanoi)[UnitKind.DEPARTMENT] == kinds(hanoi)[UnitKind.DISTRICT] == 0
    assert hanoi.get("P01").name == "UBND thành phố Hà Nội"  # type: ignore[union-attr]
    assert kinds(hanoi)[UnitKind.COMMUNE] == sum(1 for _ in Ward.iter_by_province(ProvinceCode.P_01))


def test_name_key_matches_spelling_variants() -> None:
    assert name_key("UBND xã Lâm Thao - Tỉnh Phú Thọ") == name_key("Xã Lâm Thao")
    assert name_key("UBND xã Vĩnh Tường - tỉnh Phú Thọ") == name_key("Xã Vĩnh Tường")
    assert name_key("UBND xã Thanh Thủy") == name_key("Xã Thanh Thuỷ")
    assert name_key("UBND Phường Việt Trì") == name_key("Phường Việt Trì")
    assert name_key("Xã Việt Trì") != name_key("Phường Việt Trì")
    assert name_key("Xã Vĩnh Phú") != name_key("Xã Vĩnh Phúc")
    assert name_key("Xã Tân Sơn") != name_key("Xã Tân Son")


def test_portal_codes_map_every_766_commune_to_a_commune(tree: UnitTree) -> None:
    mapping = load_portal_codes()
    with DATA_766.open(encoding="utf-8", newline="") as handle:
        communes = [row for row in csv.DictReader(handle) if row["level"] == "COMMUNE"]
    assert len(communes) == len(mapping) == 148
    assert len(set(mapping.values())) == 148  # one portal code per commune, no two on the same ward
    for row in communes:
        commune = tree.get(mapping[row["departmentCode"]])
        assert commune is not None and commune.kind is UnitKind.COMMUNE
        assert name_key(row["departmentName"]) == name_key(commune.name), row["departmentCode"]


def test_portal_code_file_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "codes.csv"
    path.write_text("portal_code,ward_code,name\nH44.100,7900,UBND Phường Việt Trì\n", encoding="utf-8")
    with pytest.raises(UnitDataError, match="row 2"):
        load_portal_codes(path)

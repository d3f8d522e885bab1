"""The packaged procedure catalogue and the validation that protects it."""

import unicodedata
from datetime import time
from decimal import Decimal
from pathlib import Path

import pytest

from services.dossiers.catalogue import COLUMNS, LEVELS, TIME_UNITS, Catalogue, CatalogueError, Procedure
from services.dossiers.deadlines import ProcessingTime, TimeUnit

HEADER = ",".join(COLUMNS)
GOOD_ROW = "1.001193.H44,Đăng ký khai sinh,Hộ tịch,2,working_hours,true,commune"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "procedures.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_packaged_catalogue_loads(catalogue: Catalogue) -> None:
    assert 35 <= len(catalogue) <= 50
    assert all(isinstance(procedure, Procedure) for procedure in catalogue)
    assert len({procedure.code for procedure in catalogue}) == len(catalogue)


def test_every_packaged_row_is_valid(catalogue: Catalogue) -> None:
    for procedure in catalogue:
        assert procedure.code.endswith(".H44"), procedure.code
        assert procedure.name and procedure.field
        assert unicodedata.is_normalized("NFC", procedure.name)
        assert procedure.time_unit in TIME_UNITS
        assert procedure.level in LEVELS
        if procedure.time_unit == "none":
            assert procedure.processing_amount is None and not procedure.has_deadline
            assert procedure.cutoff is None
        else:
            assert isinstance(procedure.processing_amount, Decimal) and procedure.processing_amount > 0
        assert procedure.cutoff in (None, time(15, 0))


def test_packaged_catalogue_covers_the_cases_the_deadline_rules_need(catalogue: Catalogue) -> None:
    units = [procedure.time_unit for procedure in catalogue]
    assert units.count("working_hours") >= 2
    assert units.count("calendar_days") >= 2
    assert units.count("none") >= 2
    assert sum(procedure.cutoff is not None for procedure in catalogue) >= 3
    assert catalogue.for_level("commune") and catalogue.for_level("province")
    fields = {procedure.field for procedure in catalogue}
    assert {"Hộ tịch", "Chứng thực", "Đất đai", "Xây dựng", "Đăng ký kinh doanh", "Y tế"} <= fields


def test_every_packaged_procedure_gives_a_processing_time(catalogue: Catalogue) -> None:
    """What the catalogue accepts, the deadline rules must accept (the lifecycle builds one per dossier)."""
    assert {unit.value for unit in TimeUnit} == TIME_UNITS
    for procedure in catalogue:
        amount = procedure.processing_amount if procedure.has_deadline else Decimal(0)
        processing_time = ProcessingTime(amount=amount or Decimal(0), unit=TimeUnit(procedure.time_unit))
        assert processing_time.unit.value == procedure.time_unit


def test_lookup(catalogue: Catalogue) -> None:
    birth = catalogue.get("1.001193.H44")
    assert birth == Procedure(
        code="1.001193.H44",
        name="Đăng ký khai sinh",
        field="Hộ tịch",
        processing_amount=Decimal(2),
        time_unit="working_hours",
        cutoff=time(15, 0),
        level="commune",
    )
    assert "1.001193.H44" in catalogue
    assert "9.999999.H44" not in catalogue
    assert catalogue.get("9.999999.H44") is None
    assert 42 not in catalogue


def test_for_level_partitions_the_catalogue(catalogue: Catalogue) -> None:
    commune, province = catalogue.for_level("commune"), catalogue.for_level("province")
    assert len(commune) + len(province) == len(catalogue)
    assert all(procedure.level == "commune" for procedure in commune)
    with pytest.raises(ValueError):
        catalogue.for_level("district")


def test_load_from_explicit_path(tmp_path: Path) -> None:
    no_deadline = "2.000950.H44,Công nhận tổ trưởng tổ hòa giải,Tư pháp,,none,false,commune"
    path = write(tmp_path, HEADER, GOOD_ROW, "", no_deadline)
    loaded = Catalogue.load(path)
    assert len(loaded) == 2
    assert loaded.get("2.000950.H44").processing_amount is None  # type: ignore[union-attr]


def test_decomposed_text_is_normalised(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, unicodedata.normalize("NFD", GOOD_ROW))
    procedure = Catalogue.load(path).get("1.001193.H44")
    assert procedure is not None and procedure.name == "Đăng ký khai sinh"


BIRTH = "1.001193.H44,Đăng ký khai sinh,Hộ tịch"


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("1.1193.H44,Đăng ký khai sinh,Hộ tịch,2,working_hours,true,commune", "procedure_code"),
        ("1.001193.H44,,Hộ tịch,2,working_hours,true,commune", "name"),
        ("1.001193.H44,Đăng ký khai sinh,,2,working_hours,true,commune", "field"),
        (f"{BIRTH},ba,working_days,true,commune", "processing_time"),
        (f"{BIRTH},-1,working_days,true,commune", "processing_time"),
        (f"{BIRTH},0,working_days,true,commune", "processing_time"),
        (f"{BIRTH},,working_days,true,commune", "processing_time"),
        (f"{BIRTH},3,none,false,commune", "processing_time"),
        (f"{BIRTH},3,days,true,commune", "time_unit"),
        (f"{BIRTH},3,working_days,yes,commune", "cutoff_15h"),
        (f"{BIRTH},,none,true,commune", "cutoff_15h"),
        (f"{BIRTH},3,working_days,true,district", "level"),
        # An unquoted comma in a name shifts every later value: refused, not silently misread.
        ("1.004232.H44,Cấp giấy phép khai thác, sử dụng nước mặt,Môi trường,30,working_days,false,province",
         "level"),
        (f"{BIRTH},2,working_hours,true", "level"),
    ],
)
def test_malformed_row_names_row_and_column(tmp_path: Path, row: str, column: str) -> None:
    good = "2.000815.H44,Chứng thực bản sao,Chứng thực,2,working_hours,true,commune"
    path = write(tmp_path, HEADER, good, row)
    with pytest.raises(CatalogueError) as error:
        Catalogue.load(path)
    assert error.value.row == 3
    assert error.value.column == column
    assert "row 3" in str(error.value) and repr(column) in str(error.value)
    assert isinstance(error.value, ValueError)


def test_duplicate_code_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, GOOD_ROW, GOOD_ROW)
    with pytest.raises(CatalogueError, match=r"row 3.*procedure_code.*first given on row 2"):
        Catalogue.load(path)


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER.replace(",cutoff_15h", ""), f"{BIRTH},2,working_hours,commune")
    with pytest.raises(CatalogueError) as error:
        Catalogue.load(path)
    assert (error.value.row, error.value.column) == (1, "cutoff_15h")


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(CatalogueError, match="empty"):
        Catalogue.load(path)

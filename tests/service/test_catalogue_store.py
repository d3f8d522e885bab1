"""The catalogue in the dossiers database, on SQLite and PostgreSQL: versions with who/what/when, imports that write
nothing when a row is invalid, gaps counted from the events, and refused receipts received once their procedure is
imported."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from services.dossiers import catalogue_store, stats_verify
from services.dossiers.catalogue_import import read_table, table_from_rows
from services.dossiers.ingest import ingest_batch
from services.dossiers.models import Base, CatalogueVersion, Dossier, DossierEvent, OutboxEvent
from services.dossiers.rules import rules_from_config
from shared.config import load_config
from shared.events import make_envelope, parse_event

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "services" / "dossiers" / "data" / "catalogue" / "phu_tho_tthc_sample.csv"
MALFORMED = ROOT / "tests" / "data" / "catalogue_malformed.csv"
TZ = dt.timezone(dt.timedelta(hours=7))
RULES = rules_from_config(load_config())
SEED = RULES.catalogue
NOW = dt.datetime(2026, 7, 20, 9, tzinfo=TZ)
MON = dt.datetime(2026, 7, 6, 9, tzinfo=TZ)
HEADER = ["Mã thủ tục", "Tên thủ tục", "Lĩnh vực", "Cấp thực hiện", "Cơ quan thực hiện", "Thời hạn giải quyết"]
NEW_CODE = "1.999002.000.00.00.H44"  # in no catalogue until a test imports it


def table(*rows: list[str]):
    return table_from_rows([HEADER, *rows])


def do_import(database, tbl, *, rules=RULES, **options):
    with database.transaction() as session:
        provenance = catalogue_store.Provenance(options.pop("name", "test.csv"), "0" * 64,
                                                options.pop("actor", "Lê Thị Hoa"), NOW)
        return catalogue_store.import_table(session, tbl, rules, SEED, provenance, **options)


def received(code: str, procedure: str, **extra) -> dict:
    payload = {"dossier_code": code, "procedure_code": procedure, "unit_code": "07900", "received_at": MON, **extra}
    return make_envelope("dossier.received", payload, occurred_at=MON, source="test")


def ingest(database, *envelopes, rules=RULES):
    with database.transaction() as session:
        return ingest_batch(session, [parse_event(e) for e in envelopes], rules, NOW)


def test_the_migrations_build_exactly_the_models(database) -> None:
    with database.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_an_import_becomes_the_newest_version_with_who_and_what(database) -> None:
    result, catalogue = do_import(database, read_table(SAMPLE), name="phu_tho_tthc_sample.csv")
    assert (result.version, result.procedures, len(catalogue)) == (1, 1500, 1500)
    assert len(result.added) == 1500 - len(SEED)  # the seed's 41 were already known
    with database.transaction() as session:
        assert catalogue_store.newest_version(session) == 1
        loaded = catalogue_store.load(session, SEED)
        (version,) = catalogue_store.versions(session)
    assert loaded.version == 1 and len(loaded) == 1500
    assert loaded.get("1.000894").processing_amount == Decimal(5)
    assert (version["imported_by"], version["source_name"], version["procedures"]) == (
        "Lê Thị Hoa", "phu_tho_tthc_sample.csv", 1500)
    assert version["imported_at"] == NOW


def test_a_file_with_invalid_rows_imports_nothing_unless_told_to_skip_them(database) -> None:
    with pytest.raises(catalogue_store.ImportRefused) as refused:
        do_import(database, read_table(MALFORMED))
    assert len({e.row for e in refused.value.errors}) == 8
    with database.transaction() as session:
        assert catalogue_store.newest_version(session) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(CatalogueVersion)) == 0
    result, _ = do_import(database, read_table(MALFORMED), skip_invalid=True)
    assert result.procedures == 1492 and len({e.row for e in result.skipped}) == 8
    with database.transaction() as session:
        kept = session.get(CatalogueVersion, 1).skipped
    assert sorted({e["row"] for e in kept}) == [59, 212, 335, 482, 704, 907, 1113, 1302]


def test_merge_keeps_the_rest_and_history_shows_each_version(database) -> None:
    do_import(database, table(["1.000894", "Đăng ký kết hôn", "Hộ tịch", "Cấp xã", "", "05 ngày làm việc"],
                              ["1.001193", "Đăng ký khai sinh", "Hộ tịch", "Cấp xã", "", "Trong ngày"]))
    result, catalogue = do_import(database, table(
        ["1.000894.000.00.00.H44", "Đăng ký kết hôn", "Hộ tịch", "Cấp xã", "", "03 ngày làm việc (cắt giảm 40%)"]),
        mode="merge")
    assert (result.version, result.procedures, result.changed, result.added) == (2, 2, ["1.000894"], [])
    assert catalogue.get("1.001193") is not None
    replaced, _ = do_import(database, table(["1.001193", "Đăng ký khai sinh", "Hộ tịch", "Cấp xã", "", "Trong ngày"]))
    assert replaced.removed == ["1.000894"]
    with database.transaction() as session:
        found = catalogue_store.procedure_history(session, "1.000894.H44", SEED)
    assert found["procedure"] is None  # not in version 3
    assert [(h["version"], h["procedure"].processing_amount) for h in found["history"]] == [
        (0, Decimal(5)), (1, Decimal(5)), (2, Decimal(3))]
    assert found["history"][2]["procedure"].reduced


def test_gaps_count_stored_and_refused_receipts_of_uncatalogued_procedures(database) -> None:
    with_time = "2.999003"
    ingest(database,
           received("G-1", with_time, processing_time="7", processing_time_unit="working_days"),
           received("G-2", with_time, processing_time="7", processing_time_unit="working_days"),
           received("G-3", NEW_CODE),  # no time anywhere: refused
           received("G-4", "1.000894.H44"))  # catalogued
    with database.transaction() as session:
        found = {g.code: g for g in catalogue_store.gaps(session, SEED)}
    assert set(found) == {with_time, NEW_CODE}
    assert (found[with_time].dossiers, found[with_time].refused, found[with_time].units) == (2, 0, 1)
    assert (found[NEW_CODE].dossiers, found[NEW_CODE].refused) == (0, 1)
    assert found[with_time].first_received == MON.date()


def test_an_import_receives_the_dossiers_refused_for_want_of_a_time(database) -> None:
    receipt = received("R-1", NEW_CODE)
    done = MON + dt.timedelta(days=2)
    report = ingest(database, receipt, make_envelope("dossier.resolved", {"dossier_code": "R-1", "resolved_at": done},
                                                     occurred_at=done, source="test"))
    assert [r.field for r in report.rejections.values()] == ["payload.procedure_code"]
    with database.transaction() as session:
        assert session.get(Dossier, "R-1").status == "awaiting_receipt"
    result, catalogue = do_import(database, table(
        ["1.999002", "Thủ tục mới công bố", "Hộ tịch", "Cấp xã", "UBND cấp xã", "03 ngày làm việc"]), mode="merge")
    assert result.rederived == 1
    with database.transaction() as session:
        dossier = session.get(Dossier, "R-1")
        refused = session.scalar(sa.select(sa.func.count()).select_from(DossierEvent)
                                 .where(DossierEvent.rejected_field.is_not(None)))
        assert catalogue_store.gaps(session, catalogue) == []
        assert catalogue_store.refused_for_lack_of_time(session, catalogue) == []
        outbox = session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent))
    assert (dossier.status, dossier.closing, dossier.outcome) == ("resolved", "finished", "early")
    assert (dossier.time_source, dossier.processing_amount) == ("catalogue", Decimal(3))
    # the refusal is lifted, nothing new dead-lettered: the outbox holds only the receipt's first dead letter,
    # written with the batch that refused it
    assert refused == 0 and outbox == 1
    with database.transaction() as session:  # the statistics counters followed the re-derived dossier
        assert stats_verify.differences(session, RULES, NOW) == []
    # the same receipt delivered again (a dead-letter replay) is a harmless duplicate
    again = ingest(database, receipt, rules=dataclasses.replace(RULES, catalogue=catalogue))
    assert (again.stored, again.duplicates, again.rejections) == (0, 1, {})


def test_a_refused_receipt_stays_refused_when_the_import_does_not_cover_it(database) -> None:
    ingest(database, received("S-1", NEW_CODE))
    result, catalogue = do_import(database, table(
        ["2.000815", "Chứng thực bản sao", "Chứng thực", "Cấp xã", "", "Trong ngày"]), mode="merge")
    assert result.rederived == 0
    with database.transaction() as session:
        assert session.get(Dossier, "S-1").status == "awaiting_receipt"
        assert [g.code for g in catalogue_store.gaps(session, catalogue)] == [NEW_CODE]

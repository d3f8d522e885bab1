"""The PostgreSQL fast path writes every column of ``dossiers`` the derivation produces: its column list is derived
from the table, so a column added to the model is written (or the batch fails on its missing value), never
silently left unwritten."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from services.dossiers import ingest_pg
from services.dossiers.ingest import _row
from services.dossiers.lifecycle import DossierState
from services.dossiers.models import Dossier

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_the_written_columns_are_the_tables_less_the_scans_markers():
    table_columns = set(Dossier.__table__.columns.keys())
    assert set(ingest_pg.UPDATE_COLUMNS) == table_columns - ingest_pg.NOT_DERIVED
    assert set(_row(DossierState(dossier_code="X"), NOW)) == set(ingest_pg.UPDATE_COLUMNS) | {"dossier_code"}
    assert all(f"{c} = " in ingest_pg.UPDATE for c in ingest_pg.UPDATE_COLUMNS)


def test_a_column_added_to_the_table_is_written():
    metadata = sa.MetaData()
    extended = sa.Table("dossiers", metadata, *(c._copy() for c in Dossier.__table__.columns),
                        sa.Column("priority", sa.SmallInteger), sa.Column("notes", sa.JSON))
    columns = ingest_pg.update_columns(extended)
    assert columns["priority"] == "smallint"
    assert columns["notes"] == "text"  # JSON travels as text and is cast back in the UPDATE
    assert set(columns) == set(ingest_pg.UPDATE_COLUMNS) | {"priority", "notes"}

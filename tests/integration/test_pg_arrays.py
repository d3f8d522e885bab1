"""Array literals (shared/pg_arrays.py) read back by the real PostgreSQL exactly as the values sent: quotes,
backslashes, braces, commas, "NULL" as text, Vietnamese in both normal forms, JSON documents, offsets."""

from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.pg_arrays import array_literal
from tests.support import PG_URL

ROUND_TRIP = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
texts = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=40)
aware = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1),
                     timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=7)),
                                                dt.timezone(dt.timedelta(hours=-9, minutes=-30))]))


@pytest.fixture(scope="module")
def connection():
    engine = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg2://"))
    with engine.connect() as conn:
        yield conn
    engine.dispose()


def read_back(connection, values, pg_type):
    literal = array_literal(values)
    return connection.execute(sa.text(f"SELECT CAST(:a AS {pg_type}[])"), {"a": literal}).scalar_one()


@ROUND_TRIP
@given(st.lists(st.one_of(st.none(), texts, st.sampled_from(['NULL', '"', "\\", "{}", "a,b", " ", "", "\\\"{,}"]))))
def test_text(connection, values):
    assert read_back(connection, values, "text") == values


@ROUND_TRIP
@given(st.lists(st.one_of(st.none(), aware), max_size=20))
def test_timestamptz_is_the_same_instant(connection, values):
    assert read_back(connection, values, "timestamptz") == values


@ROUND_TRIP
@given(st.lists(st.one_of(st.none(), st.dates(), ), max_size=20), st.lists(st.one_of(st.none(), st.booleans())),
       st.lists(st.integers(min_value=-32768, max_value=32767)),
       st.lists(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**6, max_value=10**6)))
def test_dates_booleans_numbers(connection, dates, flags, small, amounts):
    assert read_back(connection, dates, "date") == dates
    assert read_back(connection, flags, "boolean") == flags
    assert read_back(connection, small, "smallint") == small
    assert read_back(connection, amounts, "numeric") == amounts


def test_vietnamese_and_json_documents(connection):
    name = "Nguyễn Thị Hồng Nhung"
    values = [name, unicodedata.normalize("NFD", name), '{"name": "Lê \\"Văn\\" A", "kind": "citizen"}']
    assert read_back(connection, values, "text") == values


def test_naive_and_unknown_values_are_refused():
    with pytest.raises(ValueError, match="naive"):
        array_literal([dt.datetime(2026, 1, 1)])
    with pytest.raises(TypeError, match="float"):
        array_literal([1.5])
    assert array_literal([]) == "{}"
    assert array_literal([None, True, Decimal("2.50")]) == "{NULL,t,2.50}"

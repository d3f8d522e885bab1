"""A failing statement's error never carries its bound parameters: services log database errors (and the dossiers
service writes an unexpected error's text into the dead letter's headers), and the parameters are citizens'
phones and addresses. Every engine shared/db.py makes hides them, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from shared.db import make_engine
from tests.support import PG_URL, pg_schema_prefix

PHONE = "0912345678"
ADDRESS = "Số 5 đường Hùng Vương, phường Việt Trì"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path}/errors.db")
        yield engine
        engine.dispose()
        return
    request.applymarker(pytest.mark.integration)
    with pg_schema_prefix() as template:
        engine = make_engine(PG_URL, schema=template.replace("<service>", "errors"))
        yield engine
        engine.dispose()


def test_a_failing_statement_names_no_parameter(engine) -> None:
    table = sa.Table("applicants", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("phone", sa.String(20)), sa.Column("address", sa.String(200)))
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), {"id": 1, "phone": "0000000000", "address": "-"})
    with pytest.raises(sa.exc.IntegrityError) as error, engine.begin() as conn:
        conn.execute(table.insert(), {"id": 1, "phone": PHONE, "address": ADDRESS})  # the same key again
    text = f"{error.value}\n{error.value!r}"
    assert "applicants" in text  # the statement is still there to debug with
    assert PHONE not in text and "Hùng Vương" not in text, text
    assert "[SQL parameters hidden due to hide_parameters=True]" in text

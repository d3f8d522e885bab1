"""The body of every service's Alembic ``env.py``: migrate on the connection ``shared.db.migrate`` hands in."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context


def run_migrations(metadata: sa.MetaData) -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:  # `alembic` command line: use the URL given with -x url=...
        url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///var/cchc/dev.db")
        with sa.create_engine(url, hide_parameters=True).connect() as connection:
            _run(connection, metadata)
            connection.commit()
        return
    _run(connection, metadata)


def _run(connection: sa.Connection, metadata: sa.MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()

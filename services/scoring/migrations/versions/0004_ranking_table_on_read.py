"""the ranking table is rebuilt when read, not on every change: rankings.table_version

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 10:30:00

A change of one unit's score bumps ``rankings.version`` (and queues ranking_updated) without reading and
rewriting the whole table (50 KB of JSON for 170 departments, 1 MB for 3,321 communes, on every submission).
``table_version`` is the version the stored ``table`` was ranked at; a read that finds it behind ranks the
stored results again and keeps the table for the next reader. Existing tables were current when written.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rankings") as batch:
        batch.add_column(sa.Column("table_version", sa.Integer(), nullable=True))
    op.execute("UPDATE rankings SET table_version = version WHERE \"table\" IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("rankings") as batch:
        batch.drop_column("table_version")

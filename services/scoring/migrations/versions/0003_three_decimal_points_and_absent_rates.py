"""three-decimal points and indexes; a yearly rate may be absent (nothing to measure)

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-07

Points, totals and indexes follow the criteria set's precision (2 or 3 decimals): the columns widen from
Numeric(7, 2) to Numeric(9, 3), which keeps every stored value. ``metric_values.value`` becomes nullable: a
NULL rate is the dossiers service saying there was nothing to measure (no dossiers), which makes a computed
leaf not applicable instead of scoring 0. (The season branch adds 0002; the lead re-chains at merge.)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002_season"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_POINT_COLUMNS = (("leaf_scores", "self_points"), ("leaf_scores", "appraised_points"),
                  ("leaf_scores", "survey_points"), ("unit_results", "index"))


def upgrade() -> None:
    for table, column in _POINT_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.Numeric(9, 3), existing_type=sa.Numeric(7, 2),
                               existing_nullable=True)
    with op.batch_alter_table("metric_values") as batch:
        batch.alter_column("value", existing_type=sa.Numeric(7, 2), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM metric_values WHERE value IS NULL")
    with op.batch_alter_table("metric_values") as batch:
        batch.alter_column("value", existing_type=sa.Numeric(7, 2), nullable=False)
    for table, column in _POINT_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.Numeric(7, 2), existing_type=sa.Numeric(9, 3),
                               existing_nullable=True)

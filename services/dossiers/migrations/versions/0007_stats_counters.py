"""Per-unit, per-day statistics counters; indexes for what the deadline scan and running periods select.

The counters start empty with no recorded granularity: the service rebuilds them from the dossiers at start-up
(services/dossiers/stats_counters.py ``ensure``), so an existing database gets them without a data migration
that would have to know the configured granularity.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTERS = ("received", "received_online", "finished_early", "finished_on_time", "finished_late", "finished_766",
            "withdrawn", "rejected", "open_delta", "open_le1_delta", "overdue_delta", "overdue_le1_delta",
            "open_due", "open_due_le1")
OPEN_UNPAUSED = sa.text("closing IS NULL AND NOT paused")
UNANNOUNCED = sa.text("closing IS NULL AND late_notified_at IS NULL")
OPEN = sa.text("closing IS NULL")


def upgrade() -> None:
    op.create_table(
        "stats_days",
        sa.Column("unit_code", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTERS),
        sa.PrimaryKeyConstraint("unit_code", "day"),
    )
    op.create_table(
        "stats_meta",
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.drop_index("ix_dossiers_unit_received", table_name="dossiers")
    op.create_index("ix_dossiers_closed_date", "dossiers", ["closed_date"])
    op.drop_index("ix_dossiers_open_due", table_name="dossiers")
    op.create_index("ix_dossiers_open_due", "dossiers", ["due_at"], postgresql_where=OPEN_UNPAUSED,
                    sqlite_where=OPEN_UNPAUSED)
    op.create_index("ix_dossiers_unannounced_due", "dossiers", ["due_at"], postgresql_where=UNANNOUNCED,
                    sqlite_where=UNANNOUNCED)


def downgrade() -> None:
    op.drop_index("ix_dossiers_unannounced_due", table_name="dossiers")
    op.drop_index("ix_dossiers_open_due", table_name="dossiers")
    op.create_index("ix_dossiers_open_due", "dossiers", ["due_at"], postgresql_where=OPEN, sqlite_where=OPEN)
    op.drop_index("ix_dossiers_closed_date", table_name="dossiers")
    op.create_index("ix_dossiers_unit_received", "dossiers", ["unit_code", "received_date"])
    op.drop_table("stats_meta")
    op.drop_table("stats_days")

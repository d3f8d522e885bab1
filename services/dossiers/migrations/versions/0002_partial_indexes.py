"""Partial indexes for the deadline scan and the orphan check.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("closing IS NULL")
AWAITING = sa.text("status = 'awaiting_receipt'")


def upgrade() -> None:
    op.drop_index("ix_dossiers_open_due", table_name="dossiers")
    op.drop_index("ix_dossiers_awaiting", table_name="dossiers")
    op.create_index("ix_dossiers_open_due", "dossiers", ["due_at"], postgresql_where=OPEN, sqlite_where=OPEN)
    op.create_index("ix_dossiers_awaiting", "dossiers", ["first_seen_at"], postgresql_where=AWAITING,
                    sqlite_where=AWAITING)


def downgrade() -> None:
    op.drop_index("ix_dossiers_open_due", table_name="dossiers")
    op.drop_index("ix_dossiers_awaiting", table_name="dossiers")
    op.create_index("ix_dossiers_open_due", "dossiers", ["closing", "due_at"])
    op.create_index("ix_dossiers_awaiting", "dossiers", ["status", "first_seen_at"])

"""Index on dossier_events.stored_at: the deadline scan looks for a backfill among recently stored events.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_dossier_events_stored_at", "dossier_events", ["stored_at"])


def downgrade() -> None:
    op.drop_index("ix_dossier_events_stored_at", table_name="dossier_events")

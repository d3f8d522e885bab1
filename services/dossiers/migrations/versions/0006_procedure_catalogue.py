"""The procedure catalogue in the database, with versions; each dossier's legal time keeps where it came from.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSED_RECEIPTS = "rejected_field IS NOT NULL AND event_type = 'dossier.received'"


def upgrade() -> None:
    op.create_table(
        "catalogue_versions",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("imported_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=200), nullable=False),
        sa.Column("source_name", sa.String(length=500), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("procedures", sa.Integer(), nullable=False),
        sa.Column("rows_in_file", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_table(
        "catalogue_procedures",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column("field", sa.String(length=300), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("agency", sa.String(length=500), nullable=True),
        sa.Column("time_text", sa.String(length=1000), nullable=True),
        sa.Column("processing_amount", sa.Numeric(8, 2), nullable=True),
        sa.Column("time_unit", sa.String(length=16), nullable=False),
        sa.Column("cutoff_15h", sa.Boolean(), nullable=False),
        sa.Column("reduced", sa.Boolean(), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["version"], ["catalogue_versions.version"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("version", "key"),
    )
    with op.batch_alter_table("dossiers") as batch:
        batch.add_column(sa.Column("time_source", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("payload_amount", sa.Numeric(8, 2), nullable=True))
        batch.add_column(sa.Column("payload_unit", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("catalogue_amount", sa.Numeric(8, 2), nullable=True))
        batch.add_column(sa.Column("catalogue_unit", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("time_mismatch", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_index("ix_dossier_events_refused_receipts", "dossier_events", ["dossier_code"],
                    postgresql_where=sa.text(REFUSED_RECEIPTS), sqlite_where=sa.text(REFUSED_RECEIPTS))


def downgrade() -> None:
    op.drop_index("ix_dossier_events_refused_receipts", table_name="dossier_events")
    with op.batch_alter_table("dossiers") as batch:
        for column in ("time_mismatch", "catalogue_unit", "catalogue_amount", "payload_unit", "payload_amount",
                       "time_source"):
            batch.drop_column(column)
    op.drop_table("catalogue_procedures")
    op.drop_table("catalogue_versions")

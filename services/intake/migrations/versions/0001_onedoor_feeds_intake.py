"""The intake service's vendors and their hashed tokens.

Revision ID: 0001_onedoor_feeds_intake
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0001_onedoor_feeds_intake"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vendors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("client_subject", sa.String(length=500), nullable=True),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("disabled_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name"),
        sa.UniqueConstraint("client_subject"),
    )
    op.create_table(
        "vendor_tokens",
        sa.Column("token_id", sa.String(length=16), nullable=False),
        sa.Column("vendor", sa.String(length=64), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("expires_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["vendor"], ["vendors.name"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_id"),
    )
    op.create_index("ix_vendor_tokens_vendor", "vendor_tokens", ["vendor"])


def downgrade() -> None:
    op.drop_index("ix_vendor_tokens_vendor", table_name="vendor_tokens")
    op.drop_table("vendor_tokens")
    op.drop_table("vendors")

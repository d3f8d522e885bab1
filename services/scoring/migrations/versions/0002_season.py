"""the season: sheets with their status, leaves' drafts and appraisal dialogue, evidence files (bytes in blobs),
every action, the office's settings and the published rankings

Revision ID: 0002_season
Revises: 0001
Create Date: 2026-12-07 07:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0002_season"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = shared.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # PDF, DOCX, XLSX, JPEG and PNG are compressed already: keep them out of line, uncompressed again
        op.execute("ALTER TABLE blobs ALTER COLUMN content SET STORAGE EXTERNAL")
    op.create_table(
        "season_sheets",
        sa.Column("set_id", sa.String(length=80), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("set_id", "unit_code"),
    )
    op.create_table(
        "season_leaves",
        sa.Column("set_id", sa.String(length=80), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("leaf_id", sa.String(length=40), nullable=False),
        sa.Column("points", sa.Numeric(9, 3), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=True),
        sa.Column("verdict", sa.String(length=12), nullable=True),
        sa.Column("verdict_points", sa.Numeric(9, 3), nullable=True),
        sa.Column("verdict_reason", sa.Text(), nullable=True),
        sa.Column("request_text", sa.Text(), nullable=True),
        sa.Column("request_deadline", _AT, nullable=True),
        sa.Column("answer_text", sa.Text(), nullable=True),
        sa.Column("answered_at", _AT, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("set_id", "unit_code", "leaf_id"),
    )
    op.create_table(
        "season_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("set_id", sa.String(length=80), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("leaf_id", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=12), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
        sa.Column("uploaded_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_season_files_leaf", "season_files", ["set_id", "unit_code", "leaf_id"])
    op.create_table(
        "season_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("set_id", sa.String(length=80), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=True),
        sa.Column("leaf_id", sa.String(length=40), nullable=True),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=True),
        sa.Column("to_status", sa.String(length=24), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_season_actions_unit", "season_actions", ["set_id", "unit_code"])
    op.create_table(
        "season_settings",
        sa.Column("set_id", sa.String(length=80), nullable=False),
        sa.Column("explanation_deadline", _AT, nullable=True),
        sa.Column("updated_at", _AT, nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("set_id"),
    )
    op.create_table(
        "season_publications",
        sa.Column("set_id", sa.String(length=80), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("ranking_version", sa.Integer(), nullable=False),
        sa.Column("table", sa.JSON(), nullable=False),
        sa.Column("published_at", _AT, nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("set_id", "number"),
    )


def downgrade() -> None:
    op.drop_table("season_publications")
    op.drop_table("season_settings")
    op.drop_index("ix_season_actions_unit", table_name="season_actions")
    op.drop_table("season_actions")
    op.drop_index("ix_season_files_leaf", table_name="season_files")
    op.drop_table("season_files")
    op.drop_table("season_leaves")
    op.drop_table("season_sheets")
    op.drop_table("blobs")

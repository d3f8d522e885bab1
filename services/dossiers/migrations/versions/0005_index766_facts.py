"""Decision 766 index: the facts no timeliness column holds — per-dossier facts folded from the contract's version-2
fields and events, petitions, and the procedure-level facts imported per board period.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, shared.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "index766_dossier_facts",
        sa.Column("dossier_code", sa.String(64), nullable=False),
        sa.Column("receipt_event_id", sa.String(36), nullable=True),
        _at("receipt_at"),
        sa.Column("component_count", sa.SmallInteger(), nullable=True),
        sa.Column("digitised", sa.Boolean(), nullable=True),
        sa.Column("reused", sa.Boolean(), nullable=True),
        sa.Column("from_store", sa.Boolean(), nullable=True),
        sa.Column("vneid", sa.Boolean(), nullable=True),
        sa.Column("population_data", sa.Boolean(), nullable=True),
        sa.Column("fee_lines", sa.SmallInteger(), nullable=True),
        sa.Column("fee_nonzero", sa.Boolean(), nullable=True),
        _at("receipt_paid_at"),
        sa.Column("receipt_payment_channel", sa.String(20), nullable=True),
        _at("paid_at"),
        sa.Column("paid_channel", sa.String(20), nullable=True),
        _at("e_result_at"),
        sa.Column("result_pushed", sa.Boolean(), nullable=False),
        sa.Column("rating_event_id", sa.String(36), nullable=True),
        _at("rated_at"),
        sa.Column("rating", sa.String(16), nullable=True),
        _at("synced_at"),
        _at("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("dossier_code"),
    )
    op.create_table(
        "index766_petitions",
        sa.Column("petition_code", sa.String(64), nullable=False),
        sa.Column("received_event_id", sa.String(36), nullable=True),
        sa.Column("unit_code", sa.String(64), nullable=True),
        _at("received_at"),
        _at("transferred_at"),
        _at("due_at"),
        sa.Column("category", sa.String(12), nullable=True),
        sa.Column("dossier_code", sa.String(64), nullable=True),
        sa.Column("repeat_of", sa.String(64), nullable=True),
        sa.Column("answer_event_id", sa.String(36), nullable=True),
        _at("answered_at"),
        sa.Column("outcome", sa.String(12), nullable=True),
        sa.Column("rating_event_id", sa.String(36), nullable=True),
        _at("rated_at"),
        sa.Column("likes", sa.Integer(), nullable=False),
        sa.Column("dislikes", sa.Integer(), nullable=False),
        _at("first_seen_at", nullable=False),
        _at("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("petition_code"),
    )
    with op.batch_alter_table("index766_petitions") as batch:
        batch.create_index("ix_index766_petitions_dossier_code", ["dossier_code"], unique=False)
        batch.create_index("ix_index766_petitions_unit_received", ["unit_code", "received_at"], unique=False)
    op.create_table(
        "index766_procedure_imports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        _at("imported_at", nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("file_name", sa.String(300), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("index766_procedure_imports") as batch:
        batch.create_index("ix_index766_procedure_imports_period", ["period"], unique=False)
    op.create_table(
        "index766_procedure_facts",
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("procedure_code", sa.String(64), nullable=False),
        sa.Column("agency_code", sa.String(64), nullable=False),
        sa.Column("level", sa.String(10), nullable=True),
        sa.Column("online_level", sa.String(10), nullable=True),
        *(sa.Column(name, sa.Boolean(), nullable=True) for name in (
            "published_in_period", "published_on_time", "public_update_due", "public_update_on_time",
            "public_content_complete", "fee_bearing", "citizen_subject", "e_certified_copy")),
        sa.ForeignKeyConstraint(["import_id"], ["index766_procedure_imports.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("import_id", "procedure_code", "agency_code"),
    )


def downgrade() -> None:
    op.drop_table("index766_procedure_facts")
    op.drop_table("index766_procedure_imports")
    op.drop_table("index766_petitions")
    op.drop_table("index766_dossier_facts")

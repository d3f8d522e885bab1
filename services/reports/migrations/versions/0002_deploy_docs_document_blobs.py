"""documents' bytes in the database (blobs), a file name instead of a path on a pod's disk

Rows built before this revision name a file on the disk of the pod that built it; their content is not in
``blobs``, so they are answered "no longer stored" and the next request for that document builds it again.

Revision ID: 0002_deploy_docs_document_blobs
Revises: 0001
Create Date: 2026-12-07 10:00:00

"""

from collections.abc import Sequence
from pathlib import PurePosixPath

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0002_deploy_docs_document_blobs"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # DOCX, XLSX and PDF are compressed already: keep them out of line without trying to compress again.
        op.execute("ALTER TABLE blobs ALTER COLUMN content SET STORAGE EXTERNAL")
    with op.batch_alter_table("document_files") as batch_op:
        batch_op.add_column(sa.Column("filename", sa.String(length=300), nullable=True))
    files = sa.table("document_files", sa.column("id", sa.Integer), sa.column("path", sa.String),
                     sa.column("filename", sa.String))
    connection = op.get_bind()
    for row in connection.execute(sa.select(files.c.id, files.c.path)).all():
        connection.execute(files.update().where(files.c.id == row.id)
                           .values(filename=PurePosixPath(row.path).name or "document"))
    with op.batch_alter_table("document_files") as batch_op:
        batch_op.alter_column("filename", existing_type=sa.String(length=300), nullable=False)
        batch_op.drop_column("path")


def downgrade() -> None:
    with op.batch_alter_table("document_files") as batch_op:
        batch_op.add_column(sa.Column("path", sa.String(length=500), nullable=True))
    files = sa.table("document_files", sa.column("id", sa.Integer), sa.column("kind", sa.String),
                     sa.column("key", sa.String), sa.column("version", sa.Integer), sa.column("path", sa.String),
                     sa.column("filename", sa.String))
    connection = op.get_bind()
    for row in connection.execute(sa.select(files)).all():
        path = f"{row.kind}/{row.key.replace('/', '_')}/v{row.version}/{row.filename}"
        connection.execute(files.update().where(files.c.id == row.id).values(path=path))
    with op.batch_alter_table("document_files") as batch_op:
        batch_op.alter_column("path", existing_type=sa.String(length=500), nullable=False)
        batch_op.drop_column("filename")
    op.drop_table("blobs")

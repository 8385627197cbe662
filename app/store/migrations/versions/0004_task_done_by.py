"""Clerk tasks: who settled a conflict at the counter, and when.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_tasks") as batch_op:
        batch_op.add_column(sa.Column("done_by", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("done_at", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_tasks") as batch_op:
        batch_op.drop_column("outcome")
        batch_op.drop_column("done_at")
        batch_op.drop_column("done_by")

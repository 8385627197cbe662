"""Outbox events carry their shift in a column of their own, indexed: a shift's settlement reads the
shift's own events instead of parsing the payload of every event the terminal ever wrote. And an index
of the open shifts only, which every operation looks up.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("shift_id", sa.String(length=48), nullable=True))
    # Every existing event, not only those of shifts still open: the column means the same on every row.
    op.execute("UPDATE outbox SET shift_id = json_extract(payload, '$.shift_id') "
               "WHERE json_extract(payload, '$.shift_id') IS NOT NULL")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_shift_id"), ["shift_id"], unique=False)
    with op.batch_alter_table("shifts") as batch_op:
        batch_op.create_index("ix_shifts_open", ["clerk", "terminal_id"], unique=False,
                              sqlite_where=sa.text("closed_at IS NULL"))


def downgrade() -> None:
    with op.batch_alter_table("shifts") as batch_op:
        batch_op.drop_index("ix_shifts_open", sqlite_where=sa.text("closed_at IS NULL"))
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_shift_id"))
        batch_op.drop_column("shift_id")

"""Paper owed: a ticket whose paper the counter has not printed yet.

A sale, change, reseat, reprint or pickup commits a row per ticket in its own transaction; the row
goes when the printer takes the job (or the clerk says the paper came out). A row still there at the
next start is a ticket sold but never printed — the process or the machine went down between the
commit and the print — and the window lists it for the clerk. Rows are written only by this
counter's own operations, never by the feed, so another channel's ticket is never "owed" here.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_owed",
        sa.Column("ticket_id", sa.String(length=40), nullable=False),
        sa.Column("stock_no", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("clerk", sa.String(length=16), nullable=False),
        sa.Column("shift_id", sa.String(length=48), nullable=False),
        sa.Column("owed_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", "stock_no", name=op.f("pk_paper_owed")),
    )


def downgrade() -> None:
    op.drop_table("paper_owed")

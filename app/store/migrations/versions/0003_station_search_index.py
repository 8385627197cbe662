"""Station search index on (pinyin, code): prefix results come out in display order, no sort.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stations") as batch_op:
        batch_op.drop_index("ix_stations_pinyin")
        batch_op.create_index("ix_stations_pinyin_code", ["pinyin", "code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stations") as batch_op:
        batch_op.drop_index("ix_stations_pinyin_code")
        batch_op.create_index("ix_stations_pinyin", ["pinyin"], unique=False)

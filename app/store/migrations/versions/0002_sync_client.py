"""Sync client: the terminal's enrolment, ticket-code public keys, clerk tasks, held-back feed rows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 00:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_deferred",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("data", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("kind", "key", name=op.f("pk_sync_deferred")),
    )
    op.create_table(
        "sync_identity",
        sa.Column("terminal_id", sa.String(length=40), nullable=False),
        sa.Column("station_code", sa.String(length=12), nullable=False),
        sa.Column("server_url", sa.String(length=256), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("signing_key", sa.String(length=128), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("enrolled_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("terminal_id", name=op.f("pk_sync_identity")),
    )
    op.create_table(
        "sync_tasks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("conflict", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.String(length=40), nullable=True),
        sa.Column("departure_id", sa.String(length=64), nullable=True),
        sa.Column("seat_no", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("resolved_at", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_tasks")),
        sa.UniqueConstraint("key", name=op.f("uq_sync_tasks_key")),
    )
    with op.batch_alter_table("sync_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_tasks_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_sync_tasks_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_keys",
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("terminal_id", sa.String(length=40), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_ticket_keys")),
    )
    with op.batch_alter_table("ticket_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_keys_terminal_id"), ["terminal_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_keys_terminal_id"))
    op.drop_table("ticket_keys")
    with op.batch_alter_table("sync_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_tasks_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_sync_tasks_status"))
    op.drop_table("sync_tasks")
    op.drop_table("sync_identity")
    op.drop_table("sync_deferred")

"""The gate: check records, each departure's check state, ride changes, road bills, and the ticket's
print count.

``tickets.prints`` counts the reprints of a ticket: the ticket code of a reprinted paper carries it,
so the gate can refuse the old paper. It is added in place (ALTER TABLE ... ADD COLUMN with a
default) rather than by rebuilding ``tickets``, which at a large station holds months of sales.

A check row is never deleted: undoing a check stamps ``undone_at``. The partial unique index keeps
one live check per ticket, so two scans racing on one terminal cannot both board it.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tickets", sa.Column("prints", sa.Integer(), nullable=False, server_default=sa.text("0")))
    # The gate names the departure a changed ticket went to (the CHANGED verdict).
    op.create_index("ix_tickets_changed_from", "tickets", ["changed_from"], unique=False)
    op.create_table(
        "gate_departures",
        sa.Column("departure_id", sa.String(length=64), nullable=False),
        sa.Column("gate", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=True),
        sa.Column("driver", sa.String(length=32), nullable=True),
        sa.Column("checker", sa.String(length=16), nullable=True),
        sa.Column("opened_at", sa.String(length=32), nullable=True),
        sa.Column("stopped_at", sa.String(length=32), nullable=True),
        sa.Column("merged_into", sa.String(length=64), nullable=True),
        sa.Column("road_bill_no", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("departure_id", name=op.f("pk_gate_departures")),
    )
    with op.batch_alter_table("gate_departures") as batch_op:
        batch_op.create_index(batch_op.f("ix_gate_departures_merged_into"), ["merged_into"], unique=False)
    op.create_table(
        "gate_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.String(length=40), nullable=False),
        sa.Column("departure_id", sa.String(length=64), nullable=False),
        sa.Column("gate", sa.String(length=8), nullable=False),
        sa.Column("checker", sa.String(length=16), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.Column("seat_no", sa.Integer(), nullable=True),
        sa.Column("ticket_type", sa.String(length=16), nullable=False),
        sa.Column("printed_version", sa.Integer(), nullable=False),
        sa.Column("unknown", sa.Boolean(), nullable=False),
        sa.Column("checked_at", sa.String(length=32), nullable=False),
        sa.Column("undone_at", sa.String(length=32), nullable=True),
        sa.Column("undo_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_checks")),
    )
    with op.batch_alter_table("gate_checks") as batch_op:
        batch_op.create_index("uq_gate_checks_live", ["ticket_id"], unique=True,
                              sqlite_where=sa.text("undone_at IS NULL"))
        batch_op.create_index("ix_gate_checks_departure", ["departure_id"], unique=False,
                              sqlite_where=sa.text("undone_at IS NULL"))
    op.create_table(
        "gate_ride_changes",
        sa.Column("ticket_id", sa.String(length=40), nullable=False),
        sa.Column("from_departure_id", sa.String(length=64), nullable=False),
        sa.Column("to_departure_id", sa.String(length=64), nullable=False),
        sa.Column("seat_no", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("approver", sa.String(length=16), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_gate_ride_changes")),
    )
    with op.batch_alter_table("gate_ride_changes") as batch_op:
        batch_op.create_index(batch_op.f("ix_gate_ride_changes_to_departure_id"), ["to_departure_id"], unique=False)
    op.create_table(
        "road_bills",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("departure_id", sa.String(length=64), nullable=False),
        sa.Column("terminal_id", sa.String(length=32), nullable=False),
        sa.Column("gate", sa.String(length=8), nullable=False),
        sa.Column("checker", sa.String(length=16), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("driver", sa.String(length=32), nullable=False),
        sa.Column("made_at", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("reprints", sa.Integer(), nullable=False),
        sa.Column("printed_at", sa.String(length=32), nullable=True),
        sa.Column("voided_at", sa.String(length=32), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_road_bills")),
    )
    with op.batch_alter_table("road_bills") as batch_op:
        batch_op.create_index(batch_op.f("ix_road_bills_departure_id"), ["departure_id"], unique=False)


def downgrade() -> None:
    op.drop_table("road_bills")
    op.drop_table("gate_ride_changes")
    op.drop_table("gate_checks")
    op.drop_table("gate_departures")
    op.drop_index("ix_tickets_changed_from", table_name="tickets")
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_column("prints")

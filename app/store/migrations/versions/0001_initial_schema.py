"""Initial schema: network, seats and leases, people, shifts and stock, tickets, outbox, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-24 00:28:42.567731
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=16), nullable=False),
        sa.Column("terminal_id", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_action"), ["action"], unique=False)

    op.create_table(
        "counters",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counters")),
    )
    op.create_table(
        "outbox",
        sa.Column("terminal_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=24), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("terminal_id", "seq", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
    )
    op.create_table(
        "roles",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_roles")),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )
    op.create_table(
        "stations",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("pinyin", sa.String(length=32), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("city", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_stations")),
    )
    with op.batch_alter_table("stations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stations_pinyin"), ["pinyin"], unique=False)
        batch_op.create_index(batch_op.f("ix_stations_region_code"), ["region_code"], unique=False)

    op.create_table(
        "sync_cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sync_cursors")),
    )
    op.create_table(
        "vehicle_classes",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_vehicle_classes")),
    )
    op.create_table(
        "routes",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("origin", sa.String(length=12), nullable=False),
        sa.Column("via", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(["origin"], ["stations.code"], name=op.f("fk_routes_origin_stations")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_routes")),
    )
    op.create_table(
        "users",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["role"], ["roles.code"], name=op.f("fk_users_role_roles")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_users")),
    )
    op.create_table(
        "departures",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("schedule_code", sa.String(length=16), nullable=False),
        sa.Column("route", sa.String(length=32), nullable=False),
        sa.Column("date", sa.String(length=10), nullable=False),
        sa.Column("time", sa.String(length=5), nullable=False),
        sa.Column("departs_at", sa.String(length=32), nullable=False),
        sa.Column("vehicle_class", sa.String(length=8), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("gate", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("extra", sa.Boolean(), nullable=False),
        sa.Column("stop_sale_minutes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["route"], ["routes.code"], name=op.f("fk_departures_route_routes")),
        sa.ForeignKeyConstraint(
            ["vehicle_class"],
            ["vehicle_classes.code"],
            name=op.f("fk_departures_vehicle_class_vehicle_classes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departures")),
    )
    with op.batch_alter_table("departures", schema=None) as batch_op:
        batch_op.create_index("ix_departures_date_time", ["date", "time"], unique=False)
        batch_op.create_index("ix_departures_route_date", ["route", "date"], unique=False)

    op.create_table(
        "fares",
        sa.Column("route", sa.String(length=32), nullable=False),
        sa.Column("from_station", sa.String(length=12), nullable=False),
        sa.Column("to_station", sa.String(length=12), nullable=False),
        sa.Column("vehicle_class", sa.String(length=8), nullable=False),
        sa.Column("full_fare", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_station"], ["stations.code"], name=op.f("fk_fares_from_station_stations")
        ),
        sa.ForeignKeyConstraint(["route"], ["routes.code"], name=op.f("fk_fares_route_routes")),
        sa.ForeignKeyConstraint(["to_station"], ["stations.code"], name=op.f("fk_fares_to_station_stations")),
        sa.ForeignKeyConstraint(
            ["vehicle_class"], ["vehicle_classes.code"], name=op.f("fk_fares_vehicle_class_vehicle_classes")
        ),
        sa.PrimaryKeyConstraint(
            "route", "from_station", "to_station", "vehicle_class", name=op.f("pk_fares")
        ),
    )
    op.create_table(
        "route_stops",
        sa.Column("route", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("station", sa.String(length=12), nullable=False),
        sa.Column("km", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["route"], ["routes.code"], name=op.f("fk_route_stops_route_routes")),
        sa.ForeignKeyConstraint(["station"], ["stations.code"], name=op.f("fk_route_stops_station_stations")),
        sa.PrimaryKeyConstraint("route", "seq", name=op.f("pk_route_stops")),
    )
    with op.batch_alter_table("route_stops", schema=None) as batch_op:
        batch_op.create_index("ix_route_stops_station", ["station", "route"], unique=False)

    op.create_table(
        "shifts",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("clerk", sa.String(length=16), nullable=False),
        sa.Column("terminal_id", sa.String(length=32), nullable=False),
        sa.Column("opened_at", sa.String(length=32), nullable=False),
        sa.Column("closed_at", sa.String(length=32), nullable=True),
        sa.Column("cash_counted", sa.Integer(), nullable=True),
        sa.Column("settlement", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["clerk"], ["users.code"], name=op.f("fk_shifts_clerk_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shifts")),
    )
    with op.batch_alter_table("shifts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shifts_clerk"), ["clerk"], unique=False)

    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("clerk", sa.String(length=16), nullable=True),
        sa.Column("shift_id", sa.String(length=48), nullable=True),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["shift_id"], ["shifts.id"], name=op.f("fk_orders_shift_id_shifts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_shift_id"), ["shift_id"], unique=False)

    op.create_table(
        "seat_leases",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("departure_id", sa.String(length=64), nullable=False),
        sa.Column("seats", sa.Text(), nullable=False),
        sa.Column("granted_at", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["departure_id"], ["departures.id"], name=op.f("fk_seat_leases_departure_id_departures")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seat_leases")),
    )
    with op.batch_alter_table("seat_leases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_seat_leases_departure_id"), ["departure_id"], unique=False)

    op.create_table(
        "spoiled_stock",
        sa.Column("stock_no", sa.String(length=20), nullable=False),
        sa.Column("shift_id", sa.String(length=48), nullable=False),
        sa.Column("clerk", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("ticket_id", sa.String(length=40), nullable=True),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["shift_id"], ["shifts.id"], name=op.f("fk_spoiled_stock_shift_id_shifts")),
        sa.PrimaryKeyConstraint("stock_no", name=op.f("pk_spoiled_stock")),
    )
    with op.batch_alter_table("spoiled_stock", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spoiled_stock_shift_id"), ["shift_id"], unique=False)

    op.create_table(
        "stock_rolls",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("shift_id", sa.String(length=48), nullable=False),
        sa.Column("first_no", sa.String(length=20), nullable=False),
        sa.Column("last_no", sa.String(length=20), nullable=True),
        sa.Column("next_no", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["shift_id"], ["shifts.id"], name=op.f("fk_stock_rolls_shift_id_shifts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_rolls")),
    )
    with op.batch_alter_table("stock_rolls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_rolls_shift_id"), ["shift_id"], unique=False)

    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=True),
        sa.Column("ticket_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("tendered", sa.Integer(), nullable=True),
        sa.Column("change_given", sa.Integer(), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("shift_id", sa.String(length=48), nullable=True),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_payments_order_id_orders")),
        sa.ForeignKeyConstraint(["shift_id"], ["shifts.id"], name=op.f("fk_payments_shift_id_shifts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payments_shift_id"), ["shift_id"], unique=False)

    op.create_table(
        "seats",
        sa.Column("departure_id", sa.String(length=64), nullable=False),
        sa.Column("seat_no", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("lease_id", sa.String(length=64), nullable=True),
        sa.Column("ticket_id", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["departure_id"], ["departures.id"], name=op.f("fk_seats_departure_id_departures")
        ),
        sa.ForeignKeyConstraint(["lease_id"], ["seat_leases.id"], name=op.f("fk_seats_lease_id_seat_leases")),
        sa.PrimaryKeyConstraint("departure_id", "seat_no", name=op.f("pk_seats")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("departure_id", sa.String(length=64), nullable=False),
        sa.Column("seat_no", sa.Integer(), nullable=True),
        sa.Column("stock_no", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("ticket_type", sa.String(length=16), nullable=False),
        sa.Column("fare", sa.Integer(), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("insurance", sa.Integer(), nullable=False),
        sa.Column("board", sa.String(length=12), nullable=False),
        sa.Column("stop", sa.String(length=12), nullable=False),
        sa.Column("carried_by", sa.String(length=40), nullable=True),
        sa.Column("doc_hash", sa.String(length=64), nullable=True),
        sa.Column("times_changed", sa.Integer(), nullable=False),
        sa.Column("changed_from", sa.String(length=40), nullable=True),
        sa.Column("clerk", sa.String(length=16), nullable=True),
        sa.Column("shift_id", sa.String(length=48), nullable=True),
        sa.Column("sold_at", sa.String(length=32), nullable=False),
        sa.Column("closed_at", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["departure_id"], ["departures.id"], name=op.f("fk_tickets_departure_id_departures")
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_tickets_order_id_orders")),
        sa.ForeignKeyConstraint(["shift_id"], ["shifts.id"], name=op.f("fk_tickets_shift_id_shifts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_carried_by", ["carried_by"], unique=False)
        batch_op.create_index("ix_tickets_departure_seat", ["departure_id", "seat_no"], unique=False)
        batch_op.create_index("ix_tickets_doc_hash", ["doc_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_shift_id"), ["shift_id"], unique=False)
        batch_op.create_index(
            "uq_tickets_departure_doc",
            ["departure_id", "doc_hash"],
            unique=True,
            sqlite_where=sa.text("status = 'active' AND doc_hash IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_tickets_stock_no", ["stock_no"], unique=True, sqlite_where=sa.text("stock_no IS NOT NULL")
        )

    op.create_table(
        "passengers",
        sa.Column("ticket_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("doc_type", sa.String(length=16), nullable=False),
        sa.Column("doc_masked", sa.String(length=40), nullable=False),
        sa.Column("doc_hash", sa.String(length=64), nullable=True),
        sa.Column("doc_number", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_passengers_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_passengers")),
    )
    # The audit log is append-only: the file itself refuses to rewrite history.
    op.execute(
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END"
    )
    roles = sa.table("roles", sa.column("code", sa.String), sa.column("name", sa.String))
    op.bulk_insert(
        roles,
        [
            {"code": "clerk", "name": "售票员"},
            {"code": "gate", "name": "检票员"},
            {"code": "supervisor", "name": "值班站长"},
            {"code": "technician", "name": "技术员"},
        ],
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    op.drop_table("passengers")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("uq_tickets_stock_no", sqlite_where=sa.text("stock_no IS NOT NULL"))
        batch_op.drop_index(
            "uq_tickets_departure_doc", sqlite_where=sa.text("status = 'active' AND doc_hash IS NOT NULL")
        )
        batch_op.drop_index(batch_op.f("ix_tickets_shift_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_order_id"))
        batch_op.drop_index("ix_tickets_doc_hash")
        batch_op.drop_index("ix_tickets_departure_seat")
        batch_op.drop_index("ix_tickets_carried_by")

    op.drop_table("tickets")
    op.drop_table("seats")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_shift_id"))
        batch_op.drop_index(batch_op.f("ix_payments_order_id"))

    op.drop_table("payments")
    with op.batch_alter_table("stock_rolls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_rolls_shift_id"))

    op.drop_table("stock_rolls")
    with op.batch_alter_table("spoiled_stock", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spoiled_stock_shift_id"))

    op.drop_table("spoiled_stock")
    with op.batch_alter_table("seat_leases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seat_leases_departure_id"))

    op.drop_table("seat_leases")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_shift_id"))

    op.drop_table("orders")
    with op.batch_alter_table("shifts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shifts_clerk"))

    op.drop_table("shifts")
    with op.batch_alter_table("route_stops", schema=None) as batch_op:
        batch_op.drop_index("ix_route_stops_station")

    op.drop_table("route_stops")
    op.drop_table("fares")
    with op.batch_alter_table("departures", schema=None) as batch_op:
        batch_op.drop_index("ix_departures_route_date")
        batch_op.drop_index("ix_departures_date_time")

    op.drop_table("departures")
    op.drop_table("users")
    op.drop_table("routes")
    op.drop_table("vehicle_classes")
    op.drop_table("sync_cursors")
    with op.batch_alter_table("stations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stations_region_code"))
        batch_op.drop_index(batch_op.f("ix_stations_pinyin"))

    op.drop_table("stations")
    op.drop_table("settings")
    op.drop_table("roles")
    op.drop_table("outbox")
    op.drop_table("counters")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_action"))

    op.drop_table("audit_log")

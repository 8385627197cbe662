"""The reference server's schema (its own; the terminal's store is a different database).

SQLAlchemy Core tables, portable between SQLite and PostgreSQL: no dialect-specific types,
JSON kept as text (canonical JSON, so a row's text is also its comparison key), instants as
aware UTC datetimes (stored naive UTC, see UTCDateTime).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend (SQLite drops tzinfo)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


SCHEMA_VERSION = "1"

metadata = MetaData()

# BigInteger ids autoincrement on PostgreSQL; SQLite only treats INTEGER PRIMARY KEY as rowid.
AutoId = BigInteger().with_variant(Integer(), "sqlite")

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Master data the province document carries, one row per (kind, key); data is canonical JSON.
master = Table(
    "master",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column("key", String(160), primary_key=True),
    Column("data", Text, nullable=False),
)

departures = Table(
    "departures",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("route", String(40), nullable=False),
    Column("origin", String(20), nullable=False),
    Column("vehicle_class", String(20), nullable=False),
    Column("departs_at", UTCDateTime(), nullable=False),
    Column("seats", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("stop_sale_minutes", Integer, nullable=False, default=0),
)

terminals = Table(
    "terminals",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("station", String(20), nullable=False, index=True),
    Column("label", String(80), nullable=False, default=""),
    # The HMAC key: symmetric, so the server must be able to read it back.
    Column("secret", String(80), nullable=False),
    Column("status", String(16), nullable=False, default="active"),
    Column("enrolled_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
    Column("high_water", BigInteger, nullable=False, default=0),
    Column("last_seen_at", UTCDateTime()),
)

# The one copy of a terminal's data allowed to use its identity (the Kezhan-Instance header). A
# table of its own: a province database from before it gains it by create_all, no column added.
terminal_instances = Table(
    "terminal_instances",
    metadata,
    Column("terminal_id", String(40), primary_key=True),
    Column("instance_id", String(64), nullable=False),
    Column("bound_at", UTCDateTime(), nullable=False),
    # The last newcomer refused, so one clone raises one alarm, not one per request.
    Column("refused_instance", String(64)),
    Column("refused_at", UTCDateTime()),
)

enrolment_codes = Table(
    "enrolment_codes",
    metadata,
    # Only a hash of the code is kept: a database dump does not hand out enrolments.
    Column("code_hash", String(64), primary_key=True),
    Column("station", String(20), nullable=False),
    Column("label", String(80), nullable=False, default=""),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime()),
    Column("terminal_id", String(40)),
)

nonces = Table(
    "nonces",
    metadata,
    Column("terminal_id", String(40), primary_key=True),
    Column("nonce", String(64), primary_key=True),
    Column("seen_at", UTCDateTime(), nullable=False, index=True),
)

ticket_keys = Table(
    "ticket_keys",
    metadata,
    Column("key_id", String(60), primary_key=True),
    Column("terminal_id", String(40), nullable=False, index=True),
    Column("public_key", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
)

events = Table(
    "events",
    metadata,
    Column("terminal_id", String(40), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("type", String(32), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    # Local (station zone) date of the operation, for reconciliation per terminal and day.
    Column("day", String(10), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Index("ix_events_terminal_day", "terminal_id", "day"),
)

tickets = Table(
    "tickets",
    metadata,
    Column("ticket_id", String(64), primary_key=True),
    Column("order_id", String(64), nullable=False),
    Column("channel", String(16), nullable=False),  # "terminal" | "web"
    Column("terminal_id", String(40), index=True),
    Column("departure_id", String(80), nullable=False, index=True),
    Column("seat_no", Integer),
    # "<departure_id>#<seat_no>" while the ticket holds its seat, NULL otherwise (refunded,
    # changed away, voided, free child, seat in conflict). The unique index is what makes
    # "one active ticket per departure seat" a property of the database, not of this code:
    # NULLs never collide, on SQLite and PostgreSQL alike.
    Column("active_seat", String(100), unique=True),
    Column("status", String(16), nullable=False),  # active | refunded | changed | voided | conflict
    Column("ticket_type", String(20), nullable=False),
    Column("fare", Integer, nullable=False, default=0),
    Column("price", Integer, nullable=False, default=0),
    Column("insurance", Integer, nullable=False, default=0),
    Column("stop", String(20)),
    Column("passenger_name", String(80)),
    Column("doc_type", String(20)),
    Column("doc_number", String(40)),
    Column("doc_hash", String(128)),
    Column("carried_by", String(64)),
    Column("stock_no", String(40)),
    Column("clerk", String(40)),
    Column("shift_id", String(64)),
    Column("sold_at", String(40), nullable=False),
    Column("sold_seq", BigInteger),
    Column("closed_at", String(40)),
    Column("pickup_code", String(20), unique=True),
    Column("picked_up_at", String(40)),
    Column("picked_up_by", String(40)),
)

leases = Table(
    "leases",
    metadata,
    Column("lease_id", String(40), primary_key=True),
    Column("departure_id", String(80), nullable=False),
    Column("terminal_id", String(40), nullable=False),
    Column("granted_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("departure_id", "terminal_id", name="uq_lease_departure_terminal"),
)

# One holder per seat at a time (the primary key). An expired row is dead and is swept.
lease_seats = Table(
    "lease_seats",
    metadata,
    Column("departure_id", String(80), primary_key=True),
    Column("seat_no", Integer, primary_key=True, autoincrement=False),
    Column("lease_id", String(40), nullable=False, index=True),
    Column("terminal_id", String(40), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False, index=True),
)

conflicts = Table(
    "conflicts",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("terminal_id", String(40), nullable=False, index=True),
    Column("seq", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("ticket_id", String(64)),
    Column("departure_id", String(80)),
    Column("seat_no", Integer),
    Column("detail", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False, default="open"),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("resolved_at", UTCDateTime()),
    Column("resolution", String(32)),
)

alarms = Table(
    "alarms",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("terminal_id", String(40), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("seq", BigInteger),
    Column("detail", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime(), nullable=False),
)

# The change feed. ``id`` is the cursor position; ``scope`` NULL = every terminal, else only the
# named terminal (its leases, its conflicts).
changes = Table(
    "changes",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("key", String(160), nullable=False),
    Column("scope", String(40)),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("data", Text),
    Column("at", UTCDateTime(), nullable=False),
    Index("ix_changes_kind_key", "kind", "key", "scope"),
)

# --- the gate (docs/protocol.md § The gate) ---------------------------------------------------------
# Kept beside ``tickets`` rather than as columns of it: a database made before the gate gains these
# tables from ``create_all`` and needs no migration.

# What the gate knows of a ticket: how often it was reprinted (paper older than the last print is
# superseded), and its check -- the first one only; a second is a DOUBLE_BOARDING conflict.
ticket_checks = Table(
    "ticket_checks",
    metadata,
    Column("ticket_id", String(64), primary_key=True),
    Column("reprints", Integer, nullable=False, default=0),
    Column("checked_at", String(40)),
    Column("departure_id", String(80), index=True),  # the departure it boarded (a merge's target)
    Column("gate", String(20)),
    Column("terminal_id", String(40)),
    Column("checker", String(40)),
    Column("via", String(10)),
    Column("printed_version", Integer),
    Column("seq", BigInteger),
    Column("ride_from", String(80)),  # the departure a ride change (改乘) took it from
)

# Each departure's check at the gate: the 发班信息 the province reads back per day.
departure_checks = Table(
    "departure_checks",
    metadata,
    Column("departure_id", String(80), primary_key=True),
    Column("state", String(16), nullable=False),  # checking | late | stopped | merged
    Column("gate", String(20)),
    Column("plate", String(20)),
    Column("driver", String(40)),
    Column("terminal_id", String(40)),
    Column("checker", String(40)),
    Column("opened_at", String(40)),
    Column("stopped_at", String(40)),
    Column("merged_into", String(80)),
    Column("road_bill_terminal", String(40)),
    Column("road_bill_no", String(40)),
)

# Road bills (路单), numbered per gate terminal: the number is unique within its terminal.
road_bills = Table(
    "road_bills",
    metadata,
    Column("terminal_id", String(40), primary_key=True),
    Column("number", String(40), primary_key=True),
    Column("departure_id", String(80), nullable=False, index=True),
    Column("data", Text, nullable=False),  # the roadbill.made payload, canonical JSON
    Column("made_at", String(40), nullable=False),
    Column("reprints", Integer, nullable=False, default=0),
    Column("voided_at", String(40)),
    Column("void_reason", Text),
)

# Idempotency keys (docs/protocol.md § Idempotency keys): the first answer to a call that changes
# something, returned again to a retry with the same key from the same caller. ``status`` NULL:
# the first request is still being answered.
idempotency = Table(
    "idempotency",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("caller", String(80), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer),
    Column("body", Text),
    Column("created_at", UTCDateTime(), nullable=False, index=True),
)

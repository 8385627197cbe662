"""The terminal's tables (SQLAlchemy 2.x typed models).

Conventions:

* money is an integer number of fen;
* instants are UTC, stored as ISO-8601 text ending in ``Z`` (see :class:`UTCDateTime`) so the file
  stays readable with the sqlite3 shell and sorts correctly as text;
* a departure keeps its local ``date``/``time`` as the schedule says it, plus ``departs_at`` (UTC);
* refunds, voids and changes never delete rows: they change a ticket's status and add rows.

The schema itself is created by the Alembic migrations in ``app/store/migrations``; these models
must describe the same thing (a test compares them).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def iso_utc(value: datetime) -> str:
    """The stored form of an instant: ``2026-11-24T01:02:03.456789Z``."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: instants must carry a time zone")
    value = value.astimezone(UTC)
    if value.year < 1000:  # isoformat pads the year to four digits, strftime's %Y may not
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # The same text as that strftime, a few times faster (every check and event stamps one).
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_utc(value: str) -> datetime:
    # fromisoformat reads the Z (Python 3.11) and gives a UTC instant the UTC tzinfo itself.
    instant = datetime.fromisoformat(value)
    return instant if instant.tzinfo is UTC else instant.astimezone(UTC)


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime stored as ISO text; naive datetimes are refused (a bug, not data)."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            return value
        return iso_utc(value)

    def process_result_value(self, value, dialect):
        return None if value is None else parse_utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# --- network: stations, routes, fares, departures, seats -------------------------------------------


class Station(Base):
    __tablename__ = "stations"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    # 助记码: upper-case pinyin initials, searched by prefix at every keystroke.
    pinyin: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    city: Mapped[str] = mapped_column(String(64), default="")
    # (pinyin, code) so a prefix search returns rows already in display order: no sort per keystroke.
    __table_args__ = (Index("ix_stations_pinyin_code", "pinyin", "code"),)


class VehicleClass(Base):
    __tablename__ = "vehicle_classes"
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    seats: Mapped[int] = mapped_column(Integer)


class Route(Base):
    __tablename__ = "routes"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    origin: Mapped[str] = mapped_column(ForeignKey("stations.code"))
    via: Mapped[str] = mapped_column(String(256), default="")


class RouteStop(Base):
    __tablename__ = "route_stops"
    route: Mapped[str] = mapped_column(ForeignKey("routes.code"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    station: Mapped[str] = mapped_column(ForeignKey("stations.code"))
    km: Mapped[int] = mapped_column(Integer)
    __table_args__ = (Index("ix_route_stops_station", "station", "route"),)


class Fare(Base):
    __tablename__ = "fares"
    route: Mapped[str] = mapped_column(ForeignKey("routes.code"), primary_key=True)
    from_station: Mapped[str] = mapped_column(ForeignKey("stations.code"), primary_key=True)
    to_station: Mapped[str] = mapped_column(ForeignKey("stations.code"), primary_key=True)
    vehicle_class: Mapped[str] = mapped_column(ForeignKey("vehicle_classes.code"), primary_key=True)
    full_fare: Mapped[int] = mapped_column(Integer)


class Departure(Base):
    """A 班次 on one date."""

    __tablename__ = "departures"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    schedule_code: Mapped[str] = mapped_column(String(16))
    route: Mapped[str] = mapped_column(ForeignKey("routes.code"))
    date: Mapped[str] = mapped_column(String(10))  # local date, YYYY-MM-DD
    time: Mapped[str] = mapped_column(String(5))  # local time, HH:MM
    departs_at: Mapped[datetime] = mapped_column(UTCDateTime())
    vehicle_class: Mapped[str] = mapped_column(ForeignKey("vehicle_classes.code"))
    seats: Mapped[int] = mapped_column(Integer)
    gate: Mapped[str] = mapped_column(String(8), default="")
    status: Mapped[str] = mapped_column(String(12), default="normal")
    extra: Mapped[bool] = mapped_column(Boolean, default=False)
    stop_sale_minutes: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (
        Index("ix_departures_route_date", "route", "date"),
        Index("ix_departures_date_time", "date", "time"),
    )


SEAT_FREE = "free"  # in the provincial pool: sellable while online
SEAT_LEASED = "leased"  # leased to this terminal: sellable offline until the lease expires
SEAT_HELD = "held"  # sold or held by another channel
SEAT_SOLD = "sold"  # sold here (ticket_id says by which ticket)


class Seat(Base):
    __tablename__ = "seats"
    departure_id: Mapped[str] = mapped_column(ForeignKey("departures.id"), primary_key=True)
    seat_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(8), default=SEAT_FREE)
    lease_id: Mapped[str | None] = mapped_column(ForeignKey("seat_leases.id"), default=None)
    ticket_id: Mapped[str | None] = mapped_column(String(40), default=None)
    # The seat map is the biggest table (~675k rows at a large station): no rowid saves a b-tree.
    __table_args__ = ({"sqlite_with_rowid": False},)


class SeatLease(Base):
    __tablename__ = "seat_leases"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    departure_id: Mapped[str] = mapped_column(ForeignKey("departures.id"), index=True)
    seats: Mapped[str] = mapped_column(Text)  # JSON list of seat numbers
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- people ---------------------------------------------------------------------------------------


class Role(Base):
    __tablename__ = "roles"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(32))


class User(Base):
    __tablename__ = "users"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)  # the clerk code on the ticket face
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(ForeignKey("roles.code"))
    password_hash: Mapped[str] = mapped_column(String(256))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


# --- counter work: shifts, stock, orders, tickets -------------------------------------------------


class Shift(Base):
    __tablename__ = "shifts"
    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    clerk: Mapped[str] = mapped_column(ForeignKey("users.code"), index=True)
    terminal_id: Mapped[str] = mapped_column(String(32))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    cash_counted: Mapped[int | None] = mapped_column(Integer, default=None)
    settlement: Mapped[str | None] = mapped_column(Text, default=None)  # JSON, written at close
    __table_args__ = (
        # Every operation looks up the clerk's open shift: the index holds only the open ones, so the
        # lookup does not walk the clerk's closed shifts of years past.
        Index("ix_shifts_open", "clerk", "terminal_id", sqlite_where=text("closed_at IS NULL")),
    )


class StockRoll(Base):
    """A roll of pre-printed ticket paper registered at shift open; ``next_no`` is the next blank."""

    __tablename__ = "stock_rolls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shift_id: Mapped[str] = mapped_column(ForeignKey("shifts.id"), index=True)
    first_no: Mapped[str] = mapped_column(String(20))
    last_no: Mapped[str | None] = mapped_column(String(20), default=None)
    next_no: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class SpoiledStock(Base):
    """A stock number consumed without a valid ticket (void, reprint, jam)."""

    __tablename__ = "spoiled_stock"
    stock_no: Mapped[str] = mapped_column(String(20), primary_key=True)
    shift_id: Mapped[str] = mapped_column(ForeignKey("shifts.id"), index=True)
    clerk: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(16))
    ticket_id: Mapped[str | None] = mapped_column(String(40), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    clerk: Mapped[str | None] = mapped_column(String(16), default=None)  # null: sold by another channel
    shift_id: Mapped[str | None] = mapped_column(ForeignKey("shifts.id"), default=None, index=True)
    channel: Mapped[str] = mapped_column(String(12), default="counter")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    total: Mapped[int] = mapped_column(Integer)


class Payment(Base):
    """Money in (positive) or out (negative) at the counter, tied to what caused it."""

    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.id"), default=None, index=True)
    ticket_id: Mapped[str | None] = mapped_column(String(40), default=None)
    kind: Mapped[str] = mapped_column(String(12))  # sale | refund | change
    method: Mapped[str] = mapped_column(String(8))  # cash | epay
    amount: Mapped[int] = mapped_column(Integer)
    tendered: Mapped[int | None] = mapped_column(Integer, default=None)
    change_given: Mapped[int | None] = mapped_column(Integer, default=None)
    reference: Mapped[str | None] = mapped_column(String(64), default=None)
    shift_id: Mapped[str | None] = mapped_column(ForeignKey("shifts.id"), default=None, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


TICKET_ACTIVE = "active"
TICKET_REFUNDED = "refunded"
TICKET_CHANGED = "changed"
TICKET_VOIDED = "voided"


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # system-wide ticket id
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    departure_id: Mapped[str] = mapped_column(ForeignKey("departures.id"))
    seat_no: Mapped[int | None] = mapped_column(Integer, default=None)
    stock_no: Mapped[str | None] = mapped_column(String(20), default=None)
    status: Mapped[str] = mapped_column(String(10), default=TICKET_ACTIVE)
    ticket_type: Mapped[str] = mapped_column(String(16))
    fare: Mapped[int] = mapped_column(Integer)  # the full fare of the stop pair
    price: Mapped[int] = mapped_column(Integer)  # what this ticket costs (type discount applied)
    insurance: Mapped[int] = mapped_column(Integer, default=0)
    board: Mapped[str] = mapped_column(String(12))  # boarding station code
    stop: Mapped[str] = mapped_column(String(12))  # alighting station code
    carried_by: Mapped[str | None] = mapped_column(String(40), default=None)
    # The full document hash (the terminal's key) of this terminal's own sales only: its one seat per
    # document and its lookups. A ticket from the feed (web, peer) has none.
    doc_hash: Mapped[str | None] = mapped_column(String(64), default=None)  # copy of passengers.doc_hash
    # The 8-bit document tag (migration 0009): of every ticket; what a feed ticket is matched by.
    doc_tag: Mapped[str | None] = mapped_column(String(2), default=None)
    times_changed: Mapped[int] = mapped_column(Integer, default=0)
    changed_from: Mapped[str | None] = mapped_column(String(40), default=None)
    clerk: Mapped[str | None] = mapped_column(String(16), default=None)
    shift_id: Mapped[str | None] = mapped_column(ForeignKey("shifts.id"), default=None, index=True)
    sold_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)  # refunded/changed/voided
    # Reprints of this ticket (migration 0008): the ticket code of the n-th reprint carries n.
    prints: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    __table_args__ = (
        # One paper serial for one ticket, ever.
        Index("uq_tickets_stock_no", "stock_no", unique=True, sqlite_where=text("stock_no IS NOT NULL")),
        # 一证一座: one document per departure among live tickets, enforced by the file itself.
        Index(
            "uq_tickets_departure_doc",
            "departure_id",
            "doc_hash",
            unique=True,
            sqlite_where=text("status = 'active' AND doc_hash IS NOT NULL"),
        ),
        Index("ix_tickets_doc_hash", "doc_hash"),
        Index("ix_tickets_departure_seat", "departure_id", "seat_no"),
        Index("ix_tickets_carried_by", "carried_by"),
        Index("ix_tickets_changed_from", "changed_from"),
        Index("ix_tickets_doc_tag", "doc_tag"),
    )


class Passenger(Base):
    """The named traveller of one ticket. ``doc_number`` is kept because the real-name upload needs it;
    lists and logs use ``doc_masked``; lookups use ``doc_hash``."""

    __tablename__ = "passengers"
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    doc_type: Mapped[str] = mapped_column(String(16))
    doc_masked: Mapped[str] = mapped_column(String(40))
    doc_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    doc_number: Mapped[str | None] = mapped_column(String(40), default=None)


class PaperOwed(Base):
    """A ticket committed with a stock number whose paper has not been printed yet (migration 0007).

    Written in the operation's transaction, deleted when the printer takes the job or the clerk says
    the paper came out: a row left at the next start is a sale the crash kept from the printer."""

    __tablename__ = "paper_owed"
    ticket_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    stock_no: Mapped[str] = mapped_column(String(20), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # sale | change | reseat | reprint | pickup
    clerk: Mapped[str] = mapped_column(String(16))
    shift_id: Mapped[str] = mapped_column(String(48))
    owed_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- the gate (migration 0008) --------------------------------------------------------------------


class GateDeparture(Base):
    """A departure's check state at this gate terminal: who opened it, with which bus and driver."""

    __tablename__ = "gate_departures"
    departure_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    gate: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(12))  # waiting | checking | stopped | late | departed | merged
    plate: Mapped[str | None] = mapped_column(String(16), default=None)
    driver: Mapped[str | None] = mapped_column(String(32), default=None)
    checker: Mapped[str | None] = mapped_column(String(16), default=None)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    merged_into: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    road_bill_no: Mapped[str | None] = mapped_column(String(32), default=None)


class GateCheck(Base):
    """One passenger checked on board; undoing it stamps ``undone_at`` (rows are never deleted)."""

    __tablename__ = "gate_checks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(String(40))
    departure_id: Mapped[str] = mapped_column(String(64))  # the bus it boarded
    gate: Mapped[str] = mapped_column(String(8))
    checker: Mapped[str] = mapped_column(String(16))
    via: Mapped[str] = mapped_column(String(8))  # code | card | number
    seat_no: Mapped[int | None] = mapped_column(Integer, default=None)
    ticket_type: Mapped[str] = mapped_column(String(16))
    printed_version: Mapped[int] = mapped_column(Integer, default=0)
    unknown: Mapped[bool] = mapped_column(Boolean, default=False)  # boarded on a code for a ticket not held here
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    undo_reason: Mapped[str | None] = mapped_column(Text, default=None)
    __table_args__ = (
        Index("uq_gate_checks_live", "ticket_id", unique=True, sqlite_where=text("undone_at IS NULL")),
        # With the ticket type (and undone_at, always null here, which SQLite still wants to see): a
        # scan counts a departure's live checks by type from the index alone.
        Index("ix_gate_checks_departure", "departure_id", "ticket_type", "undone_at",
              sqlite_where=text("undone_at IS NULL")),
    )


class GateRideChange(Base):
    """改乘: a ticket boards another bus serving its destination; its own seat was freed."""

    __tablename__ = "gate_ride_changes"
    ticket_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    from_departure_id: Mapped[str] = mapped_column(String(64))
    to_departure_id: Mapped[str] = mapped_column(String(64), index=True)
    seat_no: Mapped[int | None] = mapped_column(Integer, default=None)
    reason: Mapped[str] = mapped_column(Text)
    approver: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class RoadBill(Base):
    """路单: numbered from this terminal's own counter in the transaction that stops the check, so a
    number is never reused and a bill the printer failed on is still there to print."""

    __tablename__ = "road_bills"
    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    departure_id: Mapped[str] = mapped_column(String(64), index=True)
    terminal_id: Mapped[str] = mapped_column(String(32))
    gate: Mapped[str] = mapped_column(String(8))
    checker: Mapped[str] = mapped_column(String(16))
    plate: Mapped[str] = mapped_column(String(16))
    driver: Mapped[str] = mapped_column(String(32))
    made_at: Mapped[datetime] = mapped_column(UTCDateTime())
    body: Mapped[str] = mapped_column(Text)  # JSON: rows, totals, fees, manifest
    reprints: Mapped[int] = mapped_column(Integer, default=0)
    printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    void_reason: Mapped[str | None] = mapped_column(Text, default=None)


# --- sync: outbox, counters, cursors --------------------------------------------------------------


class OutboxEvent(Base):
    """Exactly the event of docs/architecture.md § Outbox events, plus the shift it belongs to."""

    __tablename__ = "outbox"
    terminal_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(32), unique=True)
    type: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[str] = mapped_column(String(32))  # UTC ISO-8601 with Z, exactly as hashed
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON, exactly as hashed
    hash: Mapped[str] = mapped_column(String(64))
    # The payload's shift_id, kept beside it so a shift's settlement reads its own events by index
    # instead of parsing every payload the terminal ever wrote. Not part of the event or its hash.
    # Indexed only where set: the gate's events (most of a day's) carry none, and skip the index.
    shift_id: Mapped[str | None] = mapped_column(String(48), default=None)
    __table_args__ = (Index("ix_outbox_shift_id", "shift_id", sqlite_where=text("shift_id IS NOT NULL")),)


class Counter(Base):
    """Named monotonic counters (outbox seq per terminal, ticket and order serials); bumped inside the
    transaction that uses the value, so a rolled-back operation never burns or reuses one."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class SyncCursor(Base):
    __tablename__ = "sync_cursors"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


# --- settings and audit ---------------------------------------------------------------------------


class Setting(Base):
    """Key/value; values are JSON (the province's rule tables live here: ticket_types, refund_policy...)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class AuditEntry(Base):
    """Append-only (SQLite triggers refuse UPDATE and DELETE). Never holds an ID number in clear."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(16))
    terminal_id: Mapped[str] = mapped_column(String(32), default="")
    action: Mapped[str] = mapped_column(String(32), index=True)
    subject: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="{}")


# --- sync: enrolment, ticket-code keys, clerk tasks, held-back feed rows ---------------------------


class SyncIdentity(Base):
    """This terminal's enrolment: one row. The HMAC secret and the ticket-code private key live in the
    terminal's own file, next to the outbox they vouch for."""

    __tablename__ = "sync_identity"
    terminal_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    station_code: Mapped[str] = mapped_column(String(12))
    server_url: Mapped[str] = mapped_column(String(256))
    secret: Mapped[str] = mapped_column(String(128))
    signing_key: Mapped[str] = mapped_column(String(128))  # base64 of the raw 32-byte Ed25519 private key
    key_id: Mapped[str] = mapped_column(String(64))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TicketKey(Base):
    """Public halves of every terminal's ticket-code key, from the feed: a gate verifies any ticket offline."""

    __tablename__ = "ticket_keys"
    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    terminal_id: Mapped[str] = mapped_column(String(40), index=True)
    public_key: Mapped[str] = mapped_column(String(64))  # base64 of the raw 32 bytes
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


TASK_RESEAT = "reseat"
TASK_REFUND = "refund"
TASK_REVIEW = "review"


class SyncTask(Base):
    """A conflict the server resolved that a clerk must act on (reseat or refund the passenger)."""

    __tablename__ = "sync_tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(
        String(96), unique=True
    )  # the server's conflict key: one task per conflict
    kind: Mapped[str] = mapped_column(String(12))  # reseat | refund | review
    conflict: Mapped[str] = mapped_column(String(32))  # the server's conflict code, e.g. SEAT_TAKEN
    seq: Mapped[int | None] = mapped_column(Integer, default=None)
    ticket_id: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    departure_id: Mapped[str | None] = mapped_column(String(64), default=None)
    seat_no: Mapped[int | None] = mapped_column(Integer, default=None)
    detail: Mapped[str] = mapped_column(Text, default="")
    # open: waiting for the clerk; done: the clerk settled it here (done_by, done_at, outcome);
    # resolved: the server closed it (its feed says so) before anyone acted at this counter.
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)  # open | resolved | done
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    done_by: Mapped[str | None] = mapped_column(String(16), default=None)  # the clerk's code
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    outcome: Mapped[str | None] = mapped_column(Text, default=None)  # e.g. "reseat 330102001T010000000012 seat 7"


class SyncDeferred(Base):
    """A feed row held back because the record it would overwrite has local changes the server has not
    seen yet; applied once they are acknowledged."""

    __tablename__ = "sync_deferred"
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[str | None] = mapped_column(Text, default=None)

"""Tickets, their passengers, orders and payments.

The sale path writes these through the sqlite3 cursor of its ``BEGIN IMMEDIATE`` transaction with
``executemany`` (a party of nine is still two statements); the feed brings the web channel's tickets
in through the same cursor-level functions.

Orders of channel ``peer`` hold the tickets other terminals sold for this station's departures: the
feed brings them so the gate can check every passenger offline. They are never this counter's to
export, refund or print.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from app.store.models import parse_utc

# The order channel of tickets another terminal sold, held here only for the gate (beside ``counter``,
# sold here, and ``web``, picked up here or waiting to be).
PEER_CHANNEL = "peer"


@dataclass(frozen=True)
class TicketColumns:
    """The ticket's own columns, first in every view of a ticket with its passenger."""

    ticket_id: str
    order_id: str
    departure_id: str
    seat_no: int | None
    stock_no: str | None
    status: str
    ticket_type: str
    fare: int
    price: int
    insurance: int
    board: str
    stop: str
    carried_by: str | None


@dataclass(frozen=True)
class TicketView(TicketColumns):
    times_changed: int
    changed_from: str | None
    clerk: str | None
    shift_id: str | None
    sold_at: datetime
    passenger_name: str
    doc_type: str
    doc_masked: str
    doc_hash: str | None
    doc_tag: str | None

_TICKET_VIEW = (
    "SELECT t.id, t.order_id, t.departure_id, t.seat_no, t.stock_no, t.status, t.ticket_type, t.fare, t.price, "
    "t.insurance, t.board, t.stop, t.carried_by, t.times_changed, t.changed_from, t.clerk, t.shift_id, t.sold_at, "
    "p.name, p.doc_type, p.doc_masked, t.doc_hash, t.doc_tag FROM tickets t JOIN passengers p ON p.ticket_id = t.id "
)

# A document's tickets: this terminal's own sales by the full hash; a ticket from the feed (web,
# peer), which has only the 8-bit tag, by the tag and the mask (the caller compares the names).
_BY_DOCUMENT = "(t.doc_hash = ? OR (t.doc_hash IS NULL AND t.doc_tag = ? AND p.doc_masked = ?))"

# The lookups a clerk has, each on an indexed column.
_VIEW_KEYS = {"ticket_id": "t.id", "stock_no": "t.stock_no", "doc_hash": "t.doc_hash"}


def ticket_views(cur, by: str, value) -> list[TicketView]:
    """Tickets whose ``by`` (``ticket_id``, ``stock_no`` or ``doc_hash``) is ``value``, oldest sale first;
    ``by`` ``document``: ``value`` a ``DocumentIdentity``'s (doc_hash, doc_tag, doc_masked)."""
    if by == "document":
        cur.execute(f"{_TICKET_VIEW}WHERE {_BY_DOCUMENT} ORDER BY t.sold_at, t.id", tuple(value))
    else:
        cur.execute(f"{_TICKET_VIEW}WHERE {_VIEW_KEYS[by]} = ? ORDER BY t.sold_at, t.id", (value,))
    out = []
    for row in cur.fetchall():
        fields = list(row)
        fields[17] = parse_utc(fields[17])
        out.append(TicketView(*fields))
    return out

# The keys of a ticket row as the operations pass it around (and as ``insert_tickets`` takes it).
TICKET_KEYS = (
    "id", "order_id", "departure_id", "seat_no", "stock_no", "status", "ticket_type", "fare", "price", "insurance",
    "board", "stop", "carried_by", "doc_hash", "times_changed", "changed_from", "clerk", "shift_id", "sold_at",
    "name", "doc_type", "doc_number", "prints", "doc_tag", "doc_masked",
)


def ticket_row(cur, ticket_id: str) -> dict | None:
    """The ticket and its passenger by name (``TICKET_KEYS``); ``doc_type`` None when there is none."""
    cur.execute(
        "SELECT t.id, t.order_id, t.departure_id, t.seat_no, t.stock_no, t.status, t.ticket_type, t.fare, t.price, "
        "t.insurance, t.board, t.stop, t.carried_by, t.doc_hash, t.times_changed, t.changed_from, t.clerk, "
        "t.shift_id, t.sold_at, p.name, p.doc_type, p.doc_number, t.prints, t.doc_tag, p.doc_masked "
        "FROM tickets t JOIN passengers p ON p.ticket_id = t.id WHERE t.id = ?",
        (ticket_id,),
    )
    row = cur.fetchone()
    if row is None:
        return None
    t = dict(zip(TICKET_KEYS, row, strict=True))
    t["doc_type"] = t["doc_type"] or None
    return t

_TICKET_INSERT = (
    "INSERT INTO tickets (id, order_id, departure_id, seat_no, stock_no, status, ticket_type, fare, price, insurance, "
    "board, stop, carried_by, doc_hash, doc_tag, times_changed, changed_from, clerk, shift_id, sold_at) "
    "VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

_PASSENGER_INSERT = (
    "INSERT INTO passengers (ticket_id, name, doc_type, doc_masked, doc_hash, doc_number) VALUES (?, ?, ?, ?, ?, ?)"
)


def insert_tickets(cur, tickets: list[dict], order_id: str) -> None:
    """Active tickets of ``order_id``. A document already on the departure raises sqlite3's
    IntegrityError naming ``doc_hash`` (the file's own 一证一座 index)."""
    cur.executemany(
        _TICKET_INSERT,
        [
            (
                t["id"], order_id, t["departure_id"], t["seat_no"], t["stock_no"], t["ticket_type"], t["fare"],
                t["price"], t["insurance"], t["board"], t["stop"], t["carried_by"], t["doc_hash"],
                t.get("doc_tag") or (t["doc_hash"] or "")[:2] or None, t.get("times_changed", 0),
                t.get("changed_from"), t["clerk"], t["shift_id"], t["sold_at"],
            )
            for t in tickets
        ],
    )


def insert_passengers(cur, passengers: Iterable[tuple[str, str, str, str, str | None, str | None]]) -> None:
    """``passengers``: (ticket_id, name, doc_type, doc_masked, doc_hash, doc_number)."""
    cur.executemany(_PASSENGER_INSERT, list(passengers))


def insert_order(cur, *, order_id: str, clerk: str, shift_id: str, created_at: str, total: int) -> None:
    cur.execute(
        "INSERT INTO orders (id, clerk, shift_id, channel, created_at, total) VALUES (?, ?, ?, 'counter', ?, ?)",
        (order_id, clerk, shift_id, created_at, total),
    )


def insert_payment(
    cur,
    *,
    order_id: str,
    kind: str,
    method: str,
    amount: int,
    shift_id: str,
    at: str,
    ticket_id: str | None = None,
    tendered: int | None = None,
    change_given: int | None = None,
    reference: str | None = None,
) -> None:
    """Money in (positive) or out (negative): ``kind`` is sale, refund, void or change."""
    cur.execute(
        "INSERT INTO payments (order_id, ticket_id, kind, method, amount, tendered, change_given, reference, "
        "shift_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (order_id, ticket_id, kind, method, amount, tendered, change_given, reference, shift_id, at),
    )


def active_of_types(cur, departure_id: str, ticket_types: list[str]) -> int:
    """Live tickets of the given types on the departure (the free-child cap counts them)."""
    cur.execute(
        f"SELECT count(*) FROM tickets WHERE departure_id = ? AND status = 'active' "
        f"AND ticket_type IN ({','.join('?' * len(ticket_types))})",
        [departure_id, *ticket_types],
    )
    return cur.fetchone()[0]


def document_holder(cur, departure_id: str, doc_hashes: list[str]) -> tuple[str, str, int | None] | None:
    """(doc_hash, ticket id, seat) of a live ticket on the departure held by one of ``doc_hashes``:
    what the clerk must be told when the same document is offered again."""
    if not doc_hashes:
        return None
    cur.execute(
        f"SELECT doc_hash, id, seat_no FROM tickets WHERE departure_id = ? AND status = 'active' AND doc_hash IN "
        f"({','.join('?' * len(doc_hashes))}) ORDER BY id LIMIT 1",
        [departure_id, *doc_hashes],
    )
    row = cur.fetchone()
    return (row[0], row[1], row[2]) if row else None


def close_ticket(cur, ticket_id: str, status: str, closed_at: str) -> None:
    """Refunded, changed or voided: nothing is deleted."""
    cur.execute("UPDATE tickets SET status = ?, closed_at = ? WHERE id = ?", (status, closed_at, ticket_id))


def set_stock_no(cur, ticket_id: str, stock_no: str) -> None:
    cur.execute("UPDATE tickets SET stock_no = ? WHERE id = ?", (stock_no, ticket_id))


def sale_method(cur, order_id: str) -> str | None:
    """How the order was paid at the counter (None: paid through another channel)."""
    cur.execute("SELECT method FROM payments WHERE order_id = ? AND kind = 'sale' LIMIT 1", (order_id,))
    row = cur.fetchone()
    return row[0] if row else None


def picked_up_here(cur, ticket_id: str) -> bool | None:
    """None for a ticket of the counter's own orders; for one sold by another channel (the web), whether a ``ticket.picked_up``
    event of this file names it (the server lets only the terminal that picked one up touch it)."""
    cur.execute("SELECT o.channel FROM tickets t JOIN orders o ON o.id = t.order_id WHERE t.id = ?", (ticket_id,))
    row = cur.fetchone()
    if row is None or row[0] == "counter":
        return None
    cur.execute("SELECT 1 FROM outbox WHERE type = 'ticket.picked_up' "
                "AND json_extract(payload, '$.ticket_id') = ? LIMIT 1", (ticket_id,))
    if cur.fetchone() is not None:
        return True
    # A pick-up more than a week old may have moved to the monthly archive with its event.
    from app.store.archive import archived_pickup

    cur.execute("PRAGMA database_list")
    main = next((row[2] for row in cur.fetchall() if row[1] == "main"), "")
    return bool(main) and archived_pickup(Path(main), ticket_id)


def carried_children(cur, ticket_id: str) -> list[str]:
    """Live free children carried by the ticket's passenger."""
    cur.execute("SELECT id FROM tickets WHERE carried_by = ? AND status = 'active' ORDER BY id", (ticket_id,))
    return [child for (child,) in cur.fetchall()]


def awaiting_pickup(cur, ticket_id: str) -> list[str]:
    """The ticket, if it is live and was never printed (sold by another channel)."""
    cur.execute("SELECT t.id FROM tickets t JOIN orders o ON o.id = t.order_id WHERE t.id = ? "
                "AND t.status = 'active' AND t.stock_no IS NULL AND o.channel != 'peer'", (ticket_id,))
    return [found for (found,) in cur.fetchall()]


def feed_document_holders(cur, departure_id: str, doc_tag: str, doc_masked: str) -> list[tuple[str, int | None, str]]:
    """(ticket id, seat, passenger name) of the live tickets from the feed (no full hash here) on the
    departure whose document shows ``doc_masked`` and ``doc_tag``."""
    cur.execute(
        "SELECT t.id, t.seat_no, p.name FROM tickets t JOIN passengers p ON p.ticket_id = t.id "
        "WHERE t.departure_id = ? AND t.status = 'active' AND t.doc_hash IS NULL AND t.doc_tag = ? "
        "AND p.doc_masked = ? ORDER BY t.id",
        (departure_id, doc_tag, doc_masked),
    )
    return [(found, seat, name or "") for found, seat, name in cur.fetchall()]


def awaiting_pickup_by_document(cur, document, after: str) -> list[tuple[str, str, bool]]:
    """(ticket id, passenger name, matched by the full hash) of the live unprinted tickets of a
    document (a ``DocumentIdentity``) on departures leaving after ``after``, earliest first."""
    cur.execute(
        "SELECT t.id, p.name, t.doc_hash IS NOT NULL FROM tickets t JOIN passengers p ON p.ticket_id = t.id "
        "JOIN departures d ON d.id = t.departure_id JOIN orders o ON o.id = t.order_id "
        f"WHERE {_BY_DOCUMENT} AND t.status = 'active' AND t.stock_no IS NULL AND o.channel != 'peer' "
        "AND d.departs_at > ? ORDER BY d.departs_at, t.id",
        (document.doc_hash, document.doc_tag, document.doc_masked, after),
    )
    return [(found, name or "", bool(full)) for found, name, full in cur.fetchall()]


def ticket_count(cur) -> int:
    cur.execute("SELECT count(*) FROM tickets")
    return cur.fetchone()[0]


@dataclass(frozen=True)
class ExportedTicket:
    """A ticket as ``kezhan export tickets`` writes it (web orders are the server's to export)."""

    ticket_id: str
    order_id: str
    departure_id: str
    seat_no: int | None
    status: str
    ticket_type: str
    fare: int
    price: int
    insurance: int
    stop: str
    name: str | None
    doc_type: str | None
    doc_masked: str | None
    doc_tag: str | None  # never the full hash: that stays in this file
    carried_by: str | None
    stock_no: str | None
    clerk: str | None
    shift_id: str | None
    sold_at: str
    closed_at: str | None


def exported_tickets(cur) -> list[ExportedTicket]:
    """Every ticket but the web channel's, oldest sale first."""
    cur.execute(
        "SELECT t.id, t.order_id, t.departure_id, t.seat_no, t.status, t.ticket_type, t.fare, t.price, "
        "t.insurance, t.stop, p.name, p.doc_type, p.doc_masked, substr(t.doc_hash, 1, 2), t.carried_by, t.stock_no, "
        "t.clerk, "
        "t.shift_id, t.sold_at, t.closed_at FROM tickets t JOIN orders o ON o.id = t.order_id "
        "LEFT JOIN passengers p ON p.ticket_id = t.id WHERE o.channel NOT IN ('web', 'peer') "
        "ORDER BY t.sold_at, t.id"
    )
    return [ExportedTicket(*row) for row in cur.fetchall()]


@dataclass(frozen=True)
class TicketState:
    status: str
    stock_no: str | None


def ticket_state(cur, ticket_id: str) -> TicketState | None:
    cur.execute("SELECT status, stock_no FROM tickets WHERE id = ?", (ticket_id,))
    row = cur.fetchone()
    return None if row is None else TicketState(*row)


@dataclass(frozen=True)
class WebTicket(TicketColumns):
    """A ticket sold on the web channel, with its passenger (no clerk, no shift, never changed here)."""

    sold_at: str
    closed_at: str | None
    passenger_name: str
    doc_type: str
    doc_masked: str
    doc_tag: str | None  # the feed's 8-bit tag: a ticket from the feed has no full hash here


def add_web_ticket(cur, t: WebTicket, *, channel: str = "web") -> None:
    """The ticket, its passenger, and its order (created on the order's first ticket; each ticket adds
    its price and insurance to the order's total). ``channel`` ``peer``: a ticket another terminal
    sold, held for the gate."""
    cur.execute(
        "INSERT OR IGNORE INTO orders (id, clerk, shift_id, channel, created_at, total) "
        "VALUES (?, NULL, NULL, ?, ?, 0)",
        (t.order_id, channel, t.sold_at),
    )
    cur.execute("UPDATE orders SET total = total + ? WHERE id = ?", (t.price + t.insurance, t.order_id))
    cur.execute(
        "INSERT INTO tickets (id, order_id, departure_id, seat_no, stock_no, status, ticket_type, fare, "
        "price, insurance, board, stop, carried_by, doc_hash, doc_tag, times_changed, changed_from, clerk, "
        "shift_id, sold_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, 0, NULL, NULL, "
        "NULL, ?, ?)",
        (t.ticket_id, t.order_id, t.departure_id, t.seat_no, t.stock_no, t.status, t.ticket_type, t.fare,
         t.price, t.insurance, t.board, t.stop, t.carried_by, t.doc_tag, t.sold_at, t.closed_at),
    )
    cur.execute(
        "INSERT INTO passengers (ticket_id, name, doc_type, doc_masked, doc_hash, doc_number) "
        "VALUES (?, ?, ?, ?, NULL, NULL)",
        (t.ticket_id, t.passenger_name, t.doc_type, t.doc_masked),
    )


def update_ticket_status(cur, ticket_id: str, status: str, closed_at: str | None, stock_no: str | None) -> None:
    cur.execute("UPDATE tickets SET status = ?, closed_at = ?, stock_no = ? WHERE id = ?",
                (status, closed_at, stock_no, ticket_id))


def is_peer_ticket(cur, ticket_id: str) -> bool:
    cur.execute("SELECT 1 FROM tickets t JOIN orders o ON o.id = t.order_id WHERE t.id = ? AND o.channel = ?",
                (ticket_id, PEER_CHANNEL))
    return cur.fetchone() is not None


def update_peer_ticket(cur, ticket_id: str, *, departure_id: str, seat_no: int | None, status: str,
                       stock_no: str | None) -> None:
    """A ticket another terminal sold, as the province now has it (a ride change moves its bus)."""
    cur.execute("UPDATE tickets SET departure_id = ?, seat_no = ?, status = ?, stock_no = ? WHERE id = ?",
                (departure_id, seat_no, status, stock_no, ticket_id))


@dataclass(frozen=True)
class SeatTicket:
    departure_id: str
    seat_no: int
    ticket_id: str


def live_counter_tickets(cur) -> list[SeatTicket]:
    """Active tickets sold at a counter (not on the web) that hold a seat."""
    cur.execute(
        "SELECT t.departure_id, t.seat_no, t.id FROM tickets t JOIN orders o ON o.id = t.order_id "
        "WHERE o.channel NOT IN ('web', 'peer') AND t.status = 'active' AND t.seat_no IS NOT NULL"
    )
    return [SeatTicket(*row) for row in cur.fetchall()]


def live_tickets_sold_here(cur, departure_id: str) -> list[SeatTicket]:
    """Active tickets of ``departure_id`` sold at this counter, carried free children left out (they go
    with their adult): what a cancelled departure owes a refund on."""
    cur.execute(
        "SELECT t.departure_id, t.seat_no, t.id FROM tickets t JOIN orders o ON o.id = t.order_id "
        "WHERE t.departure_id = ? AND o.channel NOT IN ('web', 'peer') AND t.status = 'active' "
        "AND t.carried_by IS NULL ORDER BY t.id",
        (departure_id,),
    )
    return [SeatTicket(*row) for row in cur.fetchall()]

"""Tickets, their passengers and orders: the web channel's tickets as the feed brings them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TicketState:
    status: str
    stock_no: str | None


def ticket_state(cur, ticket_id: str) -> TicketState | None:
    cur.execute("SELECT status, stock_no FROM tickets WHERE id = ?", (ticket_id,))
    row = cur.fetchone()
    return None if row is None else TicketState(*row)


@dataclass(frozen=True)
class WebTicket:
    """A ticket sold on the web channel, with its passenger (no clerk, no shift, never changed here)."""

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
    sold_at: str
    closed_at: str | None
    passenger_name: str
    doc_type: str
    doc_masked: str
    doc_hash: str | None


def add_web_ticket(cur, t: WebTicket) -> None:
    """The ticket, its passenger, and its order (created on the order's first ticket; each ticket adds
    its price and insurance to the order's total)."""
    cur.execute(
        "INSERT OR IGNORE INTO orders (id, clerk, shift_id, channel, created_at, total) "
        "VALUES (?, NULL, NULL, 'web', ?, 0)",
        (t.order_id, t.sold_at),
    )
    cur.execute("UPDATE orders SET total = total + ? WHERE id = ?", (t.price + t.insurance, t.order_id))
    cur.execute(
        "INSERT INTO tickets (id, order_id, departure_id, seat_no, stock_no, status, ticket_type, fare, "
        "price, insurance, board, stop, carried_by, doc_hash, times_changed, changed_from, clerk, "
        "shift_id, sold_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, NULL, "
        "NULL, ?, ?)",
        (t.ticket_id, t.order_id, t.departure_id, t.seat_no, t.stock_no, t.status, t.ticket_type, t.fare,
         t.price, t.insurance, t.board, t.stop, t.carried_by, t.doc_hash, t.sold_at, t.closed_at),
    )
    cur.execute(
        "INSERT INTO passengers (ticket_id, name, doc_type, doc_masked, doc_hash, doc_number) "
        "VALUES (?, ?, ?, ?, ?, NULL)",
        (t.ticket_id, t.passenger_name, t.doc_type, t.doc_masked, t.doc_hash),
    )


def update_ticket_status(cur, ticket_id: str, status: str, closed_at: str | None, stock_no: str | None) -> None:
    cur.execute("UPDATE tickets SET status = ?, closed_at = ?, stock_no = ? WHERE id = ?",
                (status, closed_at, stock_no, ticket_id))


@dataclass(frozen=True)
class SeatTicket:
    departure_id: str
    seat_no: int
    ticket_id: str


def live_counter_tickets(cur) -> list[SeatTicket]:
    """Active tickets sold at a counter (not on the web) that hold a seat."""
    cur.execute(
        "SELECT t.departure_id, t.seat_no, t.id FROM tickets t JOIN orders o ON o.id = t.order_id "
        "WHERE o.channel != 'web' AND t.status = 'active' AND t.seat_no IS NOT NULL"
    )
    return [SeatTicket(*row) for row in cur.fetchall()]

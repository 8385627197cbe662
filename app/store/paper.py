"""Paper owed: tickets committed with a stock number and not yet printed (table ``paper_owed``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def owe(cur, rows: Iterable[tuple[str, str, str, str, str, str]]) -> None:
    """``rows``: (ticket_id, stock_no, kind, clerk, shift_id, owed_at), in the operation's transaction."""
    cur.executemany(
        "INSERT OR REPLACE INTO paper_owed (ticket_id, stock_no, kind, clerk, shift_id, owed_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        list(rows),
    )


def paid(cur, pairs: Iterable[tuple[str, str]]) -> int:
    """The paper of these (ticket_id, stock_no) came out; returns how many rows that settled."""
    pairs = list(pairs)
    cur.executemany("DELETE FROM paper_owed WHERE ticket_id = ? AND stock_no = ?", pairs)
    return cur.rowcount


def drop_stale(cur) -> None:
    """Rows no paper can be owed for any more: the ticket was refunded, changed or voided, reprinted
    on another number, or moved to the archive before its paper came out."""
    cur.execute(
        "DELETE FROM paper_owed WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.id = paper_owed.ticket_id "
        "AND t.status = 'active' AND t.stock_no = paper_owed.stock_no)"
    )


@dataclass(frozen=True)
class OwedTicket:
    ticket_id: str
    stock_no: str
    kind: str
    clerk: str
    shift_id: str
    owed_at: str
    departure_id: str
    board: str
    stop: str
    seat_no: int | None
    ticket_type: str
    passenger_name: str
    doc_masked: str
    date: str
    time: str
    schedule_code: str
    departs_at: str


def owed(cur, leaving_after: str, shift_id: str | None = None) -> list[OwedTicket]:
    """Live tickets whose paper is owed, on departures leaving after ``leaving_after`` (UTC text),
    in stock-number order (the order the blanks come off the roll); ``shift_id``: that shift's only."""
    shift_clause = "" if shift_id is None else "AND o.shift_id = ? "
    cur.execute(
        "SELECT o.ticket_id, o.stock_no, o.kind, o.clerk, o.shift_id, o.owed_at, t.departure_id, t.board, t.stop, "
        "t.seat_no, t.ticket_type, p.name, p.doc_masked, d.date, d.time, d.schedule_code, d.departs_at "
        "FROM paper_owed o JOIN tickets t ON t.id = o.ticket_id AND t.stock_no = o.stock_no "
        "AND t.status = 'active' JOIN passengers p ON p.ticket_id = t.id "
        f"JOIN departures d ON d.id = t.departure_id WHERE d.departs_at > ? {shift_clause}"
        "ORDER BY o.stock_no, o.ticket_id",
        (leaving_after,) if shift_id is None else (leaving_after, shift_id),
    )
    return [OwedTicket(*row) for row in cur.fetchall()]

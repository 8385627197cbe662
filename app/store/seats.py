"""Seats and the seat leases the provincial server grants.

A seat is ``free`` in the pool, ``leased`` to this terminal, ``held`` by another terminal or
channel, or ``sold`` here. Whether this terminal may sell a seat now is the services' call
(``app.services.sales.sellable_seats``); the rows it decides on come from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.store.models import iso_utc


@dataclass(frozen=True)
class OpenSeat:
    """A seat in the pool or leased to us; ``lease_expires_at`` is the lease's ISO UTC text."""

    seat_no: int
    state: str
    lease_expires_at: str | None


def open_seats(cur, departure_id: str) -> list[OpenSeat]:
    cur.execute(
        "SELECT s.seat_no, s.state, l.expires_at FROM seats s LEFT JOIN seat_leases l ON l.id = s.lease_id "
        "WHERE s.departure_id = ? AND s.state IN ('free', 'leased')",
        (departure_id,),
    )
    return [OpenSeat(*row) for row in cur.fetchall()]


def mark_sold(cur, departure_id: str, seats: list[tuple[int, str]]) -> int:
    """``seats``: (seat_no, ticket_id). Returns how many were still free or leased and are now sold."""
    cur.executemany(
        "UPDATE seats SET state = 'sold', ticket_id = ? WHERE departure_id = ? AND seat_no = ? "
        "AND state IN ('free', 'leased')",
        [(ticket_id, departure_id, seat_no) for seat_no, ticket_id in seats],
    )
    return cur.rowcount


def give_back(cur, departure_id: str, seat_no: int) -> None:
    """To this terminal's lease if the seat came from one, else to the pool."""
    cur.execute(
        "UPDATE seats SET ticket_id = NULL, state = CASE WHEN lease_id IS NULL THEN 'free' ELSE 'leased' END "
        "WHERE departure_id = ? AND seat_no = ?",
        (departure_id, seat_no),
    )


def free_outright(cur, departure_id: str, seat_no: int) -> None:
    """Free in the pool, out of any lease (the server let the seat go)."""
    cur.execute(
        "UPDATE seats SET state = 'free', ticket_id = NULL, lease_id = NULL WHERE departure_id = ? AND seat_no = ?",
        (departure_id, seat_no),
    )


def hold(cur, departure_id: str, seat_no: int, holder: str | None) -> None:
    """Held elsewhere (by ``holder``'s ticket when known), out of our lease."""
    cur.execute(
        "UPDATE seats SET state = 'held', ticket_id = ?, lease_id = NULL WHERE departure_id = ? AND seat_no = ?",
        (holder, departure_id, seat_no),
    )


# --- leases (the sync client records them) ---------------------------------------------------------------


def grant_lease(
    session: Session,
    lease_id: str,
    departure_id: str,
    seats: list[int],
    granted_at: datetime,
    expires_at: datetime,
) -> int:
    """Record (or extend) a lease and mark its still-unsold seats as leased to us. Returns how many
    seats became sellable offline; a seat already sold or held elsewhere is left alone."""
    cur = session.connection().connection.dbapi_connection.cursor()
    cur.execute(
        "INSERT INTO seat_leases (id, departure_id, seats, granted_at, expires_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET seats = excluded.seats, expires_at = excluded.expires_at",
        (lease_id, departure_id, json.dumps(sorted(seats)), iso_utc(granted_at), iso_utc(expires_at)),
    )
    cur.executemany(
        "UPDATE seats SET state = 'leased', lease_id = ? WHERE departure_id = ? AND seat_no = ? "
        "AND state IN ('free', 'leased')",
        [(lease_id, departure_id, n) for n in seats],
    )
    return cur.rowcount


def release_lease(session: Session, lease_id: str) -> None:
    """Give unsold leased seats back to the pool (the lease expired or the server took it back)."""
    cur = session.connection().connection.dbapi_connection.cursor()
    cur.execute(
        "UPDATE seats SET state = 'free', lease_id = NULL WHERE lease_id = ? AND state = 'leased'",
        (lease_id,),
    )
    cur.execute("UPDATE seats SET lease_id = NULL WHERE lease_id = ?", (lease_id,))
    cur.execute("DELETE FROM seat_leases WHERE id = ?", (lease_id,))


def seat_count(cur) -> int:
    """Seat rows in the file, every departure and state (the initial pull's bench counts them)."""
    cur.execute("SELECT COUNT(*) FROM seats")
    return cur.fetchone()[0]

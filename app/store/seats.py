"""Seats and the seat leases the provincial server grants this terminal.

A seat is ``free`` (the provincial pool), ``leased`` (to this terminal, sellable offline until the
lease expires), ``held`` (sold or held by another channel) or ``sold`` (here). Whether this terminal
may sell a seat now is the services' call (``app.services.sales.sellable_seats``); the rows it decides
on come from here. The feed and the lease keeper write through the sqlite3 cursor of the caller's
transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.store.engine import raw_cursor
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
    cur = raw_cursor(session)
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
    cur = raw_cursor(session)
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


def record_lease(cur, lease_id: str, departure_id: str, seat_nos: Iterable[int], granted_at: datetime,
                 expires_at: datetime, *, keep_existing: bool = False) -> None:
    """One local lease row. A row of the same id gets the new seat list, unless ``keep_existing``."""
    on_conflict = "DO NOTHING" if keep_existing else "DO UPDATE SET seats = excluded.seats"
    cur.execute(
        "INSERT INTO seat_leases (id, departure_id, seats, granted_at, expires_at) VALUES (?, ?, ?, ?, ?) "
        f"ON CONFLICT (id) {on_conflict}",
        (lease_id, departure_id, json.dumps(sorted(seat_nos)), iso_utc(granted_at), iso_utc(expires_at)),
    )


def lease_seats(cur, lease_id: str, departure_id: str, seat_nos: Iterable[int]) -> None:
    """The seats leased to this terminal under ``lease_id``; a seat sold here stays sold."""
    cur.executemany(
        "UPDATE seats SET state = 'leased', lease_id = ? WHERE departure_id = ? AND seat_no = ? "
        "AND state IN ('free', 'leased', 'held')",
        [(lease_id, departure_id, s) for s in seat_nos],
    )


def free_leased_seats(cur, departure_id: str) -> None:
    """Every seat of the departure leased here and not sold goes back to the pool."""
    cur.execute(
        "UPDATE seats SET state = 'free', lease_id = NULL WHERE departure_id = ? AND state = 'leased'",
        (departure_id,),
    )


def leased_departure_ids(cur) -> list[str]:
    cur.execute("SELECT DISTINCT departure_id FROM seats WHERE state = 'leased'")
    return [departure_id for (departure_id,) in cur.fetchall()]


@dataclass(frozen=True)
class LeaseHolding:
    """What this terminal holds of one departure: unexpired leased seats, the first of their expiries,
    and the seats still free in the pool."""

    departure_id: str
    leased: int
    first_expiry: str | None  # UTC text, as stored
    free: int


def lease_holdings(cur, now: datetime, *, departs_after: datetime, departs_by: datetime) -> list[LeaseHolding]:
    """Departures still selling (normal or delayed) that leave in (departs_after, departs_by], soonest first."""
    now_text = iso_utc(now)
    cur.execute(
        "SELECT d.id, "
        " (SELECT COUNT(*) FROM seats s JOIN seat_leases l ON l.id = s.lease_id WHERE s.departure_id = d.id "
        "  AND s.state = 'leased' AND l.expires_at > ?), "
        " (SELECT MIN(l.expires_at) FROM seats s JOIN seat_leases l ON l.id = s.lease_id "
        "  WHERE s.departure_id = d.id AND s.state = 'leased' AND l.expires_at > ?), "
        " (SELECT COUNT(*) FROM seats s WHERE s.departure_id = d.id AND s.state = 'free') "
        "FROM departures d WHERE d.departs_at > ? AND d.departs_at <= ? AND d.status IN ('normal', 'delayed') "
        "ORDER BY d.departs_at",
        (now_text, now_text, iso_utc(departs_after), iso_utc(departs_by)),
    )
    return [LeaseHolding(*row) for row in cur.fetchall()]


@dataclass(frozen=True)
class SeatState:
    state: str
    ticket_id: str | None


def seat_state(cur, departure_id: str, seat_no: int) -> SeatState | None:
    cur.execute("SELECT state, ticket_id FROM seats WHERE departure_id = ? AND seat_no = ?", (departure_id, seat_no))
    row = cur.fetchone()
    return None if row is None else SeatState(*row)


def hold_as_fed(cur, departure_id: str, seat_no: int, ticket_id: str | None, *, unless_leased: bool) -> bool:
    """``set_held`` unless the seat is sold here (or leased here, with ``unless_leased``): True when
    it was held. A feed page applies hundreds of these, most to a free seat: one statement each
    instead of a read and a write."""
    cur.execute("UPDATE seats SET state = 'held', ticket_id = ? WHERE departure_id = ? AND seat_no = ? "
                "AND state <> 'sold' AND NOT (? AND state = 'leased')",
                (ticket_id, departure_id, seat_no, unless_leased))
    return cur.rowcount > 0


def free_if_held(cur, departure_id: str, seat_no: int) -> bool:
    """``set_free`` for a seat held here (by another channel): True when it was."""
    cur.execute("UPDATE seats SET state = 'free', ticket_id = NULL WHERE departure_id = ? AND seat_no = ? "
                "AND state = 'held'", (departure_id, seat_no))
    return cur.rowcount > 0


def set_held(cur, departure_id: str, seat_no: int, ticket_id: str | None) -> None:
    """Held by another channel, as the feed says; whatever lease id the seat has stays."""
    cur.execute("UPDATE seats SET state = 'held', ticket_id = ? WHERE departure_id = ? AND seat_no = ?",
                (ticket_id, departure_id, seat_no))


def hold_if_open(cur, departure_id: str, seat_no: int) -> None:
    """The server says another terminal or channel holds this seat: shown held here until the feed
    frees it, so the counter stops offering it. A seat sold here is left alone."""
    cur.execute("UPDATE seats SET state = 'held' WHERE departure_id = ? AND seat_no = ? AND state IN ('free', 'leased')",
                (departure_id, seat_no))


def set_free(cur, departure_id: str, seat_no: int) -> None:
    """Back in the pool, as the feed says; whatever lease id the seat has stays."""
    cur.execute("UPDATE seats SET state = 'free', ticket_id = NULL WHERE departure_id = ? AND seat_no = ?",
                (departure_id, seat_no))


def free_all_held_seats(cur) -> None:
    cur.execute("UPDATE seats SET state = 'free', ticket_id = NULL WHERE state = 'held'")


def seat_map(session: Session, departure_id: str) -> dict[int, str]:
    """Every seat of a departure and its state (``free``, ``leased``, ``held``, ``sold``), by seat
    number. Whether this terminal may sell a seat now is the services' call
    (``app.services.sales.sellable_seats``): it depends on the link and the lease expiries."""
    cur = raw_cursor(session)
    try:
        cur.execute(
            "SELECT seat_no, state FROM seats WHERE departure_id = ? ORDER BY seat_no", (departure_id,)
        )
        return dict(cur.fetchall())
    finally:
        cur.close()


def leased_seats_left(session: Session, departure_ids: Iterable[str], now: datetime) -> dict[str, int]:
    """Unsold seats under an unexpired lease to this terminal, per departure: what it can still sell
    with the link down. Every departure asked about is in the answer, 0 when it has none."""
    ids = list(dict.fromkeys(departure_ids))
    if not ids:
        return {}
    out = dict.fromkeys(ids, 0)
    cur = raw_cursor(session)
    try:
        cur.execute(
            "SELECT s.departure_id, count(*) FROM seats s JOIN seat_leases l ON l.id = s.lease_id "
            f"WHERE s.departure_id IN ({','.join('?' * len(ids))}) AND s.state = 'leased' "
            "AND l.expires_at > ? GROUP BY s.departure_id",
            [*ids, iso_utc(now)],
        )
        out.update(cur.fetchall())
    finally:
        cur.close()
    return out

"""Recording the seat leases the provincial server grants (the sync client calls these)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.orm import Session

from app.store.models import iso_utc


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

"""Departures, fares, stations and routes as the counter reads them.

Each read here is one statement on the sqlite3 cursor the caller passes: the sale and after-sale
operations run them inside their own transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from app.store.models import parse_utc


@dataclass
class DepartureInfo:
    """A departure with its fare from ``board`` to ``stop`` (None when the province has none) and the
    two stations' names (their codes when unknown)."""

    id: str
    schedule_code: str
    route: str
    date: str
    time: str
    departs_at: datetime
    vehicle_class: str
    vehicle_class_name: str
    seats: int
    gate: str
    status: str
    stop_sale_minutes: int
    full_fare: int | None
    board: str
    board_name: str
    stop: str
    stop_name: str


_DEPARTURE_WITH_FARE = (
    "SELECT d.id, d.schedule_code, d.route, d.date, d.time, d.departs_at, d.vehicle_class, v.name, d.seats, "
    "d.gate, d.status, d.stop_sale_minutes, f.full_fare, sb.name, ss.name "
    "FROM departures d JOIN vehicle_classes v ON v.code = d.vehicle_class "
    "LEFT JOIN fares f ON f.route = d.route AND f.from_station = ? AND f.to_station = ? "
    "AND f.vehicle_class = d.vehicle_class "
    "LEFT JOIN stations sb ON sb.code = ? LEFT JOIN stations ss ON ss.code = ? WHERE d.id = ?"
)


def departure_with_fare(cur, departure_id: str, board: str, stop: str) -> DepartureInfo | None:
    cur.execute(_DEPARTURE_WITH_FARE, (board, stop, board, stop, departure_id))
    row = cur.fetchone()
    if row is None:
        return None
    (id_, schedule_code, route, date, time, departs_at, vehicle_class, vehicle_class_name, seats, gate, status,
     stop_sale_minutes, full_fare, board_name, stop_name) = row
    return DepartureInfo(
        id_, schedule_code, route, date, time, parse_utc(departs_at), vehicle_class, vehicle_class_name, seats,
        gate, status, stop_sale_minutes, full_fare, board, board_name or board, stop, stop_name or stop,
    )


def station_name(cur, code: str) -> str | None:
    cur.execute("SELECT name FROM stations WHERE code = ?", (code,))
    row = cur.fetchone()
    return row[0] if row else None


def station_names(cur, codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    cur.execute(f"SELECT code, name FROM stations WHERE code IN ({','.join('?' * len(codes))})", codes)
    return {code: name for code, name in cur.fetchall()}


def route_vias(cur, routes: list[str]) -> dict[str, str]:
    """Route -> the names of the stops it goes via, joined with 、 (codes in ``via`` become names)."""
    if not routes:
        return {}
    cur.execute(f"SELECT code, via FROM routes WHERE code IN ({','.join('?' * len(routes))})", routes)
    raw = {code: [v for v in re.split(r"[,、，\s]+", via or "") if v] for code, via in cur.fetchall()}
    names = station_names(cur, sorted({v for vs in raw.values() for v in vs if v.isdigit()}))
    return {code: "、".join(names.get(v, v) for v in vs) for code, vs in raw.items()}


@dataclass(frozen=True)
class DepartureTime:
    date: str
    time: str
    schedule_code: str


def departure_times(cur, ids: list[str]) -> dict[str, DepartureTime]:
    if not ids:
        return {}
    cur.execute(f"SELECT id, date, time, schedule_code FROM departures WHERE id IN ({','.join('?' * len(ids))})", ids)
    return {id_: DepartureTime(date, time, code) for id_, date, time, code in cur.fetchall()}


def busiest_destination_pinyin(cur, date: str) -> str | None:
    """Pinyin initials of the station most departures of ``date`` stop at."""
    cur.execute(
        "SELECT s.pinyin FROM route_stops rs JOIN departures d ON d.route = rs.route AND d.date = ? "
        "JOIN stations s ON s.code = rs.station WHERE rs.seq > 0 GROUP BY s.code "
        "ORDER BY count(*) DESC, s.code LIMIT 1",
        (date,),
    )
    row = cur.fetchone()
    return row[0] if row else None


def station_initials(cur, *, besides: str) -> list[str]:
    """The pinyin initials of every station but ``besides`` (what a clerk types)."""
    cur.execute("SELECT pinyin FROM stations WHERE pinyin != '' AND code != ?", (besides,))
    return [pinyin for (pinyin,) in cur.fetchall()]


@dataclass(frozen=True)
class SaleTarget:
    """A departure and the last stop of its route: somewhere the bench and the demo can sell to."""

    departure_id: str
    last_stop: str
    route: str


_LAST_STOP = "(SELECT station FROM route_stops s WHERE s.route = d.route ORDER BY seq DESC LIMIT 1)"


def sale_targets(cur, date: str, *, not_before: str = "00:00", by_time: bool = False) -> list[SaleTarget]:
    """Normal departures of ``date`` leaving at ``not_before`` or later, by id (or by time, then id)."""
    order = "d.time, d.id" if by_time else "d.id"
    cur.execute(
        f"SELECT d.id, {_LAST_STOP}, d.route FROM departures d "
        f"WHERE d.date = ? AND d.status = 'normal' AND d.time >= ? ORDER BY {order}",
        (date, not_before),
    )
    return [SaleTarget(*row) for row in cur.fetchall()]


def first_leased_target(cur, after: str) -> SaleTarget | None:
    """The earliest normal departure with a seat under a lease of ours expiring after ``after``."""
    cur.execute(
        f"SELECT s.departure_id, {_LAST_STOP}, d.route"
        " FROM seats s JOIN departures d ON d.id = s.departure_id JOIN seat_leases l ON l.id = s.lease_id"
        " WHERE s.state = 'leased' AND l.expires_at > ? AND d.status = 'normal' ORDER BY d.departs_at LIMIT 1",
        (after,),
    )
    row = cur.fetchone()
    return None if row is None else SaleTarget(*row)

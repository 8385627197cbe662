"""Read queries the counter runs at every keystroke or screen refresh.

Prefix searches are written as ``col >= :p AND col < :p || U+FFFF`` so SQLite walks the index
(``LIKE 'x%'`` would not: it is case-insensitive and the indexes use BINARY collation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.store.engine import raw_cursor
from app.store.models import parse_utc
from app.store.province import get_setting

_HIGH = "\uffff"


@dataclass(frozen=True)
class StationHit:
    code: str
    name: str
    pinyin: str
    city: str


_BY_PINYIN = "SELECT code, name, pinyin, city FROM stations WHERE pinyin >= ? AND pinyin < ? ORDER BY pinyin, code LIMIT ?"
_BY_CODE = "SELECT code, name, pinyin, city FROM stations WHERE code >= ? AND code < ? ORDER BY code LIMIT ?"
_BY_NAME = (
    "SELECT code, name, pinyin, city FROM stations WHERE instr(name, ?) > 0 "
    "ORDER BY instr(name, ?), length(name), code LIMIT ?"
)


def search_destinations(session: Session, query: str, limit: int = 10) -> list[StationHit]:
    """Stations matching what the clerk typed: pinyin initials (``HZ``), a code prefix, or hanzi.

    Runs on the driver's cursor: at one query per keystroke the ORM's per-statement overhead would
    be most of the time spent."""
    query = (query or "").strip()
    if not query:
        return []
    cur = raw_cursor(session)
    try:
        if query.isascii() and query.isalpha():
            p = query.upper()
            cur.execute(_BY_PINYIN, (p, p + _HIGH, limit))
        elif query.isdigit():
            cur.execute(_BY_CODE, (query, query + _HIGH, limit))
        else:
            cur.execute(_BY_NAME, (query, query, limit))
        return [StationHit(*row) for row in cur.fetchall()]
    finally:
        cur.close()


@dataclass(frozen=True)
class DepartureRow:
    id: str
    schedule_code: str
    route: str
    route_name: str
    date: str
    time: str
    departs_at: datetime
    vehicle_class: str
    vehicle_name: str
    gate: str
    status: str
    extra: bool
    stop_sale_minutes: int
    full_fare: int  # fen, home station to the destination
    seats: int
    seats_left: int  # seats this terminal could still sell (free in the pool or leased to us)


_DEPARTURES_TO = text(
    """
    SELECT d.id, d.schedule_code, d.route, r.name, d.date, d.time, d.departs_at, d.vehicle_class, v.name,
           d.gate, d.status, d.extra, d.stop_sale_minutes, f.full_fare, d.seats,
           (SELECT count(*) FROM seats s WHERE s.departure_id = d.id AND s.state IN ('free', 'leased'))
    FROM route_stops rs
    JOIN departures d ON d.route = rs.route AND d.date = :date
    JOIN routes r ON r.code = d.route
    JOIN vehicle_classes v ON v.code = d.vehicle_class
    JOIN fares f ON f.route = d.route AND f.from_station = :board AND f.to_station = rs.station
                AND f.vehicle_class = d.vehicle_class
    WHERE rs.station = :station AND rs.seq > 0
    ORDER BY d.time, d.schedule_code
    """
)


def departures_to(
    session: Session, station_code: str, date: str, *, board: str | None = None
) -> list[DepartureRow]:
    """The departures of ``date`` (local, YYYY-MM-DD) that stop at ``station_code``, with price and seats left."""
    board = board or get_setting(session, "home_station")
    rows = session.execute(_DEPARTURES_TO, {"station": station_code, "date": date, "board": board}).all()
    out = []
    for row in rows:
        values = list(row)
        values[6] = parse_utc(values[6])
        values[11] = bool(values[11])
        out.append(DepartureRow(*values))
    return out

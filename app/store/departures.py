"""Departures, fares, stations, routes and vehicle classes: what the counter reads of the
timetable, and the upserts that bring it in.

Each read is one statement on the sqlite3 cursor the caller passes: the sale and after-sale
operations run them inside their own transaction. The province loader (a whole document) and the
sync client's feed (a page of changed rows) write the timetable through the same upserts, handing
over rows in the province document's shape, with ``executemany``: a large station's first load is
tens of thousands of rows and ~675k seats.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from app.domain.schedule import departure_instant
from app.store.models import iso_utc, parse_utc


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


def _via_text(route: dict) -> str:
    via = route.get("via", "")
    return via if isinstance(via, str) else "、".join(via)


def upsert_stations(cur, stations: Iterable[dict]) -> None:
    cur.executemany(
        "INSERT INTO stations (code, name, pinyin, region_code, city) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (code) DO UPDATE SET name = excluded.name, pinyin = excluded.pinyin, "
        "region_code = excluded.region_code, city = excluded.city",
        [(s["code"], s["name"], str(s.get("pinyin", "")).upper(), s.get("region_code") or s["code"][:6],
          s.get("city", "")) for s in stations],
    )


def upsert_vehicle_classes(cur, classes: Iterable[dict]) -> None:
    cur.executemany(
        "INSERT INTO vehicle_classes (code, name, seats) VALUES (?, ?, ?) "
        "ON CONFLICT (code) DO UPDATE SET name = excluded.name, seats = excluded.seats",
        [(v["code"], v["name"], int(v["seats"])) for v in classes],
    )


def upsert_routes(cur, routes: Iterable[dict]) -> None:
    """Routes with their stops: a route's stops are replaced by the ones given."""
    routes = list(routes)
    cur.executemany(
        "INSERT INTO routes (code, name, origin, via) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (code) DO UPDATE SET name = excluded.name, origin = excluded.origin, via = excluded.via",
        [(r["code"], r["name"], r["origin"], _via_text(r)) for r in routes],
    )
    cur.executemany("DELETE FROM route_stops WHERE route = ?", [(r["code"],) for r in routes])
    cur.executemany(
        "INSERT INTO route_stops (route, seq, station, km) VALUES (?, ?, ?, ?)",
        [(r["code"], int(s["seq"]), s["station"], int(s["km"])) for r in routes for s in r.get("stops", ())],
    )


def upsert_fares(cur, fares: Iterable[dict]) -> None:
    cur.executemany(
        "INSERT INTO fares (route, from_station, to_station, vehicle_class, full_fare) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (route, from_station, to_station, vehicle_class) DO UPDATE SET full_fare = excluded.full_fare",
        [(f["route"], f["from"], f["to"], f["vehicle_class"], int(f["full_fare"])) for f in fares],
    )


def upsert_departures(cur, departures: Iterable[dict], zone: ZoneInfo) -> int:
    """Departures and their seat maps. Seats that exist keep their state: an update of the timetable
    never frees a sold seat. Returns the number of seats the departures have."""
    departures = list(departures)
    cur.executemany(
        "INSERT INTO departures (id, schedule_code, route, date, time, departs_at, vehicle_class, seats, gate, "
        "status, extra, stop_sale_minutes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET schedule_code = excluded.schedule_code, route = excluded.route, "
        "date = excluded.date, time = excluded.time, departs_at = excluded.departs_at, "
        "vehicle_class = excluded.vehicle_class, seats = excluded.seats, gate = excluded.gate, "
        "status = excluded.status, extra = excluded.extra, stop_sale_minutes = excluded.stop_sale_minutes",
        [(d["id"], d.get("schedule_code", ""), d["route"], d["date"], d["time"],
          iso_utc(departure_instant(d["date"], d["time"], zone)), d["vehicle_class"], int(d["seats"]),
          str(d.get("gate") or ""), d.get("status", "normal"), 1 if d.get("extra") else 0,
          int(d.get("stop_sale_minutes") or 0)) for d in departures],
    )
    # The seat numbers are generated inside SQLite: one statement per departure instead of one per seat.
    cur.executemany(
        "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ?) "
        "INSERT INTO seats (departure_id, seat_no, state) SELECT ?, n, 'free' FROM s WHERE true "
        "ON CONFLICT DO NOTHING",
        [(int(d["seats"]), d["id"]) for d in departures if int(d["seats"]) > 0],
    )
    return sum(max(0, int(d["seats"])) for d in departures)


def add_missing_stations(cur, codes: Iterable[str]) -> None:
    """A station named by a row that arrived before the station's own row: a stand-in named by its
    code, replaced when the station's row comes."""
    codes = {c for c in codes if c}
    if codes:
        cur.executemany(
            "INSERT OR IGNORE INTO stations (code, name, pinyin, region_code, city) VALUES (?, ?, '', ?, '')",
            [(c, c, c[:6]) for c in codes],
        )


def add_missing_vehicle_classes(cur, codes: Iterable[str]) -> None:
    codes = {c for c in codes if c}
    if codes:
        cur.executemany("INSERT OR IGNORE INTO vehicle_classes (code, name, seats) VALUES (?, ?, 0)",
                        [(c, c) for c in codes])


def add_missing_routes(cur, codes: Iterable[str], origin: str) -> None:
    """Stand-in routes from ``origin`` (when that station is known)."""
    codes = {c for c in codes if c}
    if codes:
        cur.executemany(
            "INSERT OR IGNORE INTO routes (code, name, origin, via) SELECT ?, ?, code, '' FROM stations WHERE code = ?",
            [(c, c, origin) for c in codes],
        )


def _delete_unless_referenced(cur, sql: str, keys: Iterable) -> None:
    for key in keys:
        try:
            cur.execute(sql, key if isinstance(key, tuple) else (key,))
        except sqlite3.IntegrityError:
            # Still referenced (a route by a departure with tickets...): keep the row, harmless.
            pass


def delete_stations(cur, codes: Iterable[str]) -> None:
    _delete_unless_referenced(cur, "DELETE FROM stations WHERE code = ?", codes)


def delete_vehicle_classes(cur, codes: Iterable[str]) -> None:
    _delete_unless_referenced(cur, "DELETE FROM vehicle_classes WHERE code = ?", codes)


def delete_routes(cur, codes: Iterable[str]) -> None:
    """Routes no departure runs on, with their fares and stops; a route still in use stays."""
    for code in codes:
        cur.execute("SELECT 1 FROM departures WHERE route = ? LIMIT 1", (code,))
        if cur.fetchone() is None:
            cur.execute("DELETE FROM fares WHERE route = ?", (code,))
            cur.execute("DELETE FROM route_stops WHERE route = ?", (code,))
            _delete_unless_referenced(cur, "DELETE FROM routes WHERE code = ?", [code])


def delete_fares(cur, keys: Iterable[tuple[str, str, str, str]]) -> None:
    """Fares by (route, from, to, vehicle class)."""
    cur.executemany(
        "DELETE FROM fares WHERE route = ? AND from_station = ? AND to_station = ? AND vehicle_class = ?", list(keys)
    )


def delete_departures(cur, ids: Iterable[str]) -> None:
    """Departures no ticket was sold on, with their seats; one with tickets stays."""
    for departure_id in ids:
        cur.execute("SELECT 1 FROM tickets WHERE departure_id = ? LIMIT 1", (departure_id,))
        if cur.fetchone() is None:
            cur.execute("DELETE FROM seats WHERE departure_id = ?", (departure_id,))
            _delete_unless_referenced(cur, "DELETE FROM departures WHERE id = ?", [departure_id])


def departure_exists(cur, departure_id: str) -> bool:
    cur.execute("SELECT 1 FROM departures WHERE id = ?", (departure_id,))
    return cur.fetchone() is not None


@dataclass(frozen=True)
class OpenDeparture:
    departure_id: str
    last_stop: str | None  # the last stop of its route; None for a route without stops


def departures_with_seats(cur, *, after: str, min_seats: int, limit: int) -> list[OpenDeparture]:
    """Normal departures leaving after ``after`` (UTC text) with at least ``min_seats`` seats free or
    leased here, soonest first."""
    cur.execute(
        "SELECT d.id, (SELECT station FROM route_stops r WHERE r.route = d.route ORDER BY seq DESC LIMIT 1) "
        "FROM departures d WHERE d.departs_at > ? AND d.status = 'normal' "
        "AND (SELECT COUNT(*) FROM seats s WHERE s.departure_id = d.id AND s.state IN ('free', 'leased')) >= ? "
        "ORDER BY d.departs_at, d.id LIMIT ?",
        (after, min_seats, limit),
    )
    return [OpenDeparture(*row) for row in cur.fetchall()]


def departure_origin(cur, departure_id: str) -> str | None:
    """The station code the departure's route starts from (None for a departure the file lacks)."""
    cur.execute("SELECT r.origin FROM departures d JOIN routes r ON r.code = d.route WHERE d.id = ?", (departure_id,))
    row = cur.fetchone()
    return row[0] if row else None


# --- the station supervisor's departure actions (app/services/supervisor.py) ---------------------------


@dataclass(frozen=True)
class DepartureState:
    """A departure as a supervisor's action checks it: where it starts, when, and its state."""

    id: str
    schedule_code: str
    route: str
    origin: str | None
    date: str
    time: str
    departs_at: datetime
    vehicle_class: str
    seats: int
    gate: str
    status: str
    stop_sale_minutes: int
    extra: bool


def departure_state(cur, departure_id: str) -> DepartureState | None:
    cur.execute(
        "SELECT d.id, d.schedule_code, d.route, r.origin, d.date, d.time, d.departs_at, d.vehicle_class, d.seats, "
        "d.gate, d.status, d.stop_sale_minutes, d.extra FROM departures d LEFT JOIN routes r ON r.code = d.route "
        "WHERE d.id = ?",
        (departure_id,),
    )
    row = cur.fetchone()
    if row is None:
        return None
    values = list(row)
    values[6], values[12] = parse_utc(values[6]), bool(values[12])
    return DepartureState(*values)


def set_departure_status(cur, departure_id: str, status: str) -> None:
    cur.execute("UPDATE departures SET status = ? WHERE id = ?", (status, departure_id))


def move_departure(cur, departure_id: str, *, date: str, time: str, departs_at: datetime, status: str) -> None:
    """A new local date and time (a delay): the seats and tickets stay where they are."""
    cur.execute("UPDATE departures SET date = ?, time = ?, departs_at = ?, status = ? WHERE id = ?",
                (date, time, iso_utc(departs_at), status, departure_id))


def fare_count(cur, route: str, board: str, vehicle_class: str) -> int:
    """How many stops of ``route`` the province prices from ``board`` for ``vehicle_class``."""
    cur.execute("SELECT COUNT(*) FROM fares WHERE route = ? AND from_station = ? AND vehicle_class = ?",
                (route, board, vehicle_class))
    return cur.fetchone()[0]


def vehicle_class_seats(cur, code: str) -> int | None:
    cur.execute("SELECT seats FROM vehicle_classes WHERE code = ?", (code,))
    row = cur.fetchone()
    return None if row is None else int(row[0])

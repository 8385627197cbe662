"""Loading a province document (``kezhan-province/1``, docs/architecture.md) into the store.

Loading is an upsert: stations, routes, fares and departures are replaced by what the document says,
while seats that already exist keep their state — reloading a document never frees a sold seat.
The seat map is the bulk of the work (≈675k rows at a large station), so rows go in through the
sqlite3 driver's ``executemany`` inside the caller's transaction.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app.errors import StorageError
from app.store.models import Setting, iso_utc

RULE_KEYS = ("ticket_types", "refund_policy", "change_policy", "insurance")
DEPARTURE_STATUSES = {"normal", "cancelled", "delayed", "boarding", "departed"}


def departure_instant(date: str, time: str, zone: ZoneInfo) -> datetime:
    """The UTC instant of a schedule's local date and time."""
    local = datetime.fromisoformat(f"{date}T{time}").replace(tzinfo=zone)
    return local.astimezone(UTC)


def _bad(what: str) -> StorageError:
    return StorageError(
        f"线网数据文件格式错误：{what}", en=f"bad province document: {what}", code="BAD_PROVINCE"
    )


def load_province(session: Session, doc: dict, *, zone: ZoneInfo | None = None) -> dict:
    """Load ``doc`` into the session's transaction (the caller commits). Returns row counts."""
    # Imported here: the schema loads pydantic, which the window's start-up does not need.
    from app.domain.province import ProvinceDocumentError, validate_province

    try:
        validate_province(doc)
    except ProvinceDocumentError as exc:
        raise _bad(str(exc)) from None
    zone = zone or ZoneInfo("Asia/Shanghai")
    try:
        return _load(session, doc, zone)
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(f"{type(exc).__name__}: {exc}") from None


def _load(session: Session, doc: dict, zone: ZoneInfo) -> dict:
    cur = session.connection().connection.dbapi_connection.cursor()
    try:
        cur.executemany(
            "INSERT INTO stations (code, name, pinyin, region_code, city) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (code) DO UPDATE SET name = excluded.name, pinyin = excluded.pinyin, "
            "region_code = excluded.region_code, city = excluded.city",
            [
                (
                    s["code"],
                    s["name"],
                    str(s.get("pinyin", "")).upper(),
                    s.get("region_code", s["code"][:6]),
                    s.get("city", ""),
                )
                for s in doc["stations"]
            ],
        )
        cur.executemany(
            "INSERT INTO vehicle_classes (code, name, seats) VALUES (?, ?, ?) "
            "ON CONFLICT (code) DO UPDATE SET name = excluded.name, seats = excluded.seats",
            [(v["code"], v["name"], int(v["seats"])) for v in doc["vehicle_classes"]],
        )
        cur.executemany(
            "INSERT INTO routes (code, name, origin, via) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (code) DO UPDATE SET name = excluded.name, origin = excluded.origin, via = excluded.via",
            [
                (
                    r["code"],
                    r["name"],
                    r["origin"],
                    r.get("via", "") if isinstance(r.get("via", ""), str) else "、".join(r["via"]),
                )
                for r in doc["routes"]
            ],
        )
        cur.executemany(
            "INSERT INTO route_stops (route, seq, station, km) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (route, seq) DO UPDATE SET station = excluded.station, km = excluded.km",
            [
                (r["code"], int(s["seq"]), s["station"], int(s["km"]))
                for r in doc["routes"]
                for s in r["stops"]
            ],
        )
        cur.executemany(
            "INSERT INTO fares (route, from_station, to_station, vehicle_class, full_fare) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (route, from_station, to_station, vehicle_class) DO UPDATE SET full_fare = excluded.full_fare",
            [(f["route"], f["from"], f["to"], f["vehicle_class"], int(f["full_fare"])) for f in doc["fares"]],
        )
        departures = []
        seats = []
        for d in doc["departures"]:
            status = d.get("status", "normal")
            if status not in DEPARTURE_STATUSES:
                raise ValueError(f"departure {d['id']}: unknown status {status!r}")
            departures.append(
                (
                    d["id"],
                    d["schedule_code"],
                    d["route"],
                    d["date"],
                    d["time"],
                    iso_utc(departure_instant(d["date"], d["time"], zone)),
                    d["vehicle_class"],
                    int(d["seats"]),
                    str(d.get("gate", "")),
                    status,
                    1 if d.get("extra") else 0,
                    int(d.get("stop_sale_minutes", 0)),
                )
            )
            seats.extend((d["id"], n) for n in range(1, int(d["seats"]) + 1))
        cur.executemany(
            "INSERT INTO departures (id, schedule_code, route, date, time, departs_at, vehicle_class, seats, gate, "
            "status, extra, stop_sale_minutes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET schedule_code = excluded.schedule_code, route = excluded.route, "
            "date = excluded.date, time = excluded.time, departs_at = excluded.departs_at, "
            "vehicle_class = excluded.vehicle_class, seats = excluded.seats, gate = excluded.gate, "
            "status = excluded.status, extra = excluded.extra, stop_sale_minutes = excluded.stop_sale_minutes",
            departures,
        )
        cur.executemany(
            "INSERT INTO seats (departure_id, seat_no, state) VALUES (?, ?, 'free') ON CONFLICT DO NOTHING",
            seats,
        )
    finally:
        cur.close()
    settings = {key: doc[key] for key in RULE_KEYS if key in doc}
    settings["province"] = doc.get("province", {})
    settings["home_station"] = doc["home_station"]
    for key, value in settings.items():
        session.merge(Setting(key=key, value=json.dumps(value, ensure_ascii=False, sort_keys=True)))
    session.flush()
    return {
        "stations": len(doc["stations"]),
        "routes": len(doc["routes"]),
        "fares": len(doc["fares"]),
        "departures": len(departures),
        "seats": len(seats),
    }


def get_setting(session: Session, key: str, default=None):
    row = session.get(Setting, key)
    return default if row is None else json.loads(row.value)


def put_setting(session: Session, key: str, value) -> None:
    session.merge(Setting(key=key, value=json.dumps(value, ensure_ascii=False, sort_keys=True)))

"""Loading a province document (``kezhan-province/1``, docs/architecture.md) into the store.

Loading is an upsert: stations, routes, fares and departures are replaced by what the document says,
while seats that already exist keep their state — reloading a document never frees a sold seat.
The rows go in through the upserts of :mod:`app.store.departures`, the ones the sync client's feed
uses too.
"""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app.errors import StorageError
from app.store import departures
from app.store.engine import raw_cursor
from app.store.models import Setting

RULE_KEYS = ("ticket_types", "refund_policy", "change_policy", "insurance", "gate")


def _bad(what: str) -> StorageError:
    return StorageError(
        f"线网数据文件格式错误：{what}", en=f"bad province document: {what}", code="BAD_PROVINCE"
    )


def load_province(session: Session, doc: dict, *, zone: ZoneInfo | None = None) -> dict:
    """Load ``doc`` into the session's transaction (the caller commits). Returns row counts."""
    # Imported here: the window's start-up does not need the schema.
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
    cur = raw_cursor(session)
    try:
        departures.upsert_stations(cur, doc["stations"])
        departures.upsert_vehicle_classes(cur, doc["vehicle_classes"])
        departures.upsert_routes(cur, doc["routes"])
        departures.upsert_fares(cur, doc["fares"])
        seats = departures.upsert_departures(cur, doc["departures"], zone)
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
        "departures": len(doc["departures"]),
        "seats": seats,
    }


def get_setting(session: Session, key: str, default=None):
    row = session.get(Setting, key)
    return default if row is None else json.loads(row.value)


def put_setting(session: Session, key: str, value) -> None:
    session.merge(Setting(key=key, value=json.dumps(value, ensure_ascii=False, sort_keys=True)))

"""Importing a province document (``kezhan-province/1``) and publishing what changed."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select

from app.domain.province import FORMAT, province_problems
from app.domain.schedule import departure_instant
from sync import protocol
from sync.server import feed, models
from sync.server.db import set_meta

SETTINGS = ("province", "home_station", "refund_policy", "change_policy", "insurance", "gate")


class ProvinceFormatError(ValueError):
    """A document the schema (``app.domain.province``) refuses; the message names the bad fields."""


def master_rows(doc: dict) -> dict[tuple[str, str], object]:
    """(kind, key) -> data for everything the document carries."""
    problems = province_problems(doc)
    if problems:
        raise ProvinceFormatError(f"not a valid {FORMAT} document: {'; '.join(problems)}")
    out: dict[tuple[str, str], object] = {}
    for name in SETTINGS:
        if name in doc and doc[name] is not None:
            out[("setting", name)] = doc[name]
    for s in doc.get("stations", []):
        out[("station", s["code"])] = s
    for v in doc.get("vehicle_classes", []):
        out[("vehicle_class", v["code"])] = v
    for r in doc.get("routes", []):
        out[("route", r["code"])] = r
    for f in doc.get("fares", []):
        out[("fare", fare_key(f["route"], f["from"], f["to"], f["vehicle_class"]))] = f
    for d in doc.get("departures", []):
        out[("departure", d["id"])] = d
    for t in doc.get("ticket_types", []):
        out[("ticket_type", t["code"])] = t
    return out


def fare_key(route: str, from_: str, to: str, vehicle_class: str) -> str:
    return f"{route}/{from_}/{to}/{vehicle_class}"


def _departure_row(dep: dict, routes: dict, zone: ZoneInfo) -> dict:
    route = routes.get(dep["route"]) or {}
    return {
        "id": dep["id"],
        "route": dep["route"],
        "origin": route.get("origin", ""),
        "vehicle_class": dep["vehicle_class"],
        "departs_at": departure_instant(dep["date"], dep["time"], zone),
        "seats": int(dep["seats"]),
        "status": dep.get("status", "normal"),
        "stop_sale_minutes": int(dep.get("stop_sale_minutes") or 0),
    }


# The master kinds amounts are worked out by, and the meta row that says when one last changed.
RULE_KINDS = frozenset({"fare", "ticket_type", "setting"})
RULES_CHANGED_AT = "rules_changed_at"
# The meta row that changes whenever a row of those kinds does: a server process keeps the rules it
# read while it is unchanged (sync.server.authz), instead of reading them again for every batch.
RULES_VERSION = "rules_version"


def import_document(conn, doc: dict, *, zone: ZoneInfo, now: datetime, replace: bool = True) -> dict:
    """Bring master data in line with ``doc``; every addition or change goes into the feed and
    (with ``replace``) everything the document no longer has becomes a tombstone."""
    wanted = master_rows(doc)
    M = models.master
    existing = {(r.kind, r.key): r.data for r in conn.execute(select(M.c.kind, M.c.key, M.c.data))}
    routes = {key: data for (kind, key), data in wanted.items() if kind == "route"}
    for (kind, key), data in existing.items():
        if kind == "route" and key not in routes:
            routes[key] = json.loads(data)

    inserts, updates, changes = [], [], []
    for (kind, key), data in wanted.items():
        text = protocol.canonical_json(data).decode("utf-8")
        old = existing.get((kind, key))
        if old == text:
            continue
        (inserts if old is None else updates).append({"kind": kind, "key": key, "data": text})
        changes.append({"kind": kind, "key": key, "data": data})
    removed = [k for k in existing if k not in wanted] if replace else []

    if inserts:
        conn.execute(M.insert(), inserts)
    for row in updates:
        conn.execute(M.update().where(M.c.kind == row["kind"], M.c.key == row["key"]).values(data=row["data"]))
    for kind, key in removed:
        conn.execute(delete(M).where(M.c.kind == kind, M.c.key == key))
        changes.append({"kind": kind, "key": key, "deleted": True})

    D = models.departures
    dep_changes = [c for c in changes if c["kind"] == "departure"]
    if dep_changes:
        known = {r[0] for r in conn.execute(select(D.c.id))}
        new_rows = []
        for c in dep_changes:
            if c.get("deleted"):
                conn.execute(delete(D).where(D.c.id == c["key"]))
                continue
            row = _departure_row(c["data"], routes, zone)
            if row["id"] in known:
                conn.execute(D.update().where(D.c.id == row["id"]).values(**row))
            else:
                new_rows.append(row)
        if new_rows:
            conn.execute(D.insert(), new_rows)

    replaced = [(r["kind"], r["key"]) for r in updates] + removed
    if any(r["kind"] in RULE_KINDS for r in inserts) or any(kind in RULE_KINDS for kind, _key in replaced):
        set_meta(conn, RULES_VERSION, secrets.token_hex(8))
    if any(kind in RULE_KINDS for kind, _key in replaced):
        # A fare, ticket type or rule that terminals may have priced by is replaced or gone: what
        # they sold by the old one is let through for a while (sync.server.authz.RULES_GRACE).
        set_meta(conn, RULES_CHANGED_AT, now.isoformat())
    feed.publish_many(conn, changes, at=now)
    return {
        "added": len(inserts),
        "changed": len(updates),
        "removed": len(removed),
        "departures": sum(1 for k in wanted if k[0] == "departure"),
    }


def set_departure_status(conn, departure_id: str, status: str, *, now: datetime) -> dict | None:
    M = models.master
    row = conn.execute(select(M.c.data).where(M.c.kind == "departure", M.c.key == departure_id)).first()
    if row is None:
        return None
    data = json.loads(row.data)
    data["status"] = status
    conn.execute(
        M.update().where(M.c.kind == "departure", M.c.key == departure_id)
        .values(data=protocol.canonical_json(data).decode("utf-8"))
    )
    conn.execute(models.departures.update().where(models.departures.c.id == departure_id).values(status=status))
    feed.publish(conn, "departure", departure_id, data, at=now)
    return data


def get_master(conn, kind: str, key: str):
    M = models.master
    row = conn.execute(select(M.c.data).where(M.c.kind == kind, M.c.key == key)).first()
    return None if row is None else json.loads(row.data)

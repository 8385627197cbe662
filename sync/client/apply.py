"""Applying a page of the change feed to the terminal's store, inside the pull's one transaction.

The rule that shapes this module: server state never overwrites a record with local changes the
server has not seen. A seat this terminal sold stays sold here whatever the feed says about it;
a web ticket with an unsent pickup keeps its local state. Such feed rows are parked in
``sync_deferred`` and tried again on every pull, so they land once the local change is acknowledged
(or the clerk resolves the conflict).

Pages are applied with the sqlite3 cursor and ``executemany``: the first pull of a large station is
tens of thousands of feed rows and ~675k seat rows.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import defaultdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from app.store.models import iso_utc, parse_utc

log = logging.getLogger("kezhan.sync")

# Referenced rows before the rows that reference them, whatever order the feed's compaction left.
ORDER = ("setting", "station", "vehicle_class", "route", "fare", "departure", "ticket_type", "ticket_key",
         "lease", "seat", "web_ticket", "conflict")
SETTING_KEYS = {"province", "home_station", "refund_policy", "change_policy", "insurance", "doc_hash_key",
                "offline_budget_minutes", "void_window_minutes"}

TASK_FOR_CONFLICT = {
    "SEAT_TAKEN": "reseat",
    "SEAT_LEASED": "reseat",
    "SEAT_INVALID": "reseat",
    "UNKNOWN_DEPARTURE": "refund",
    "DEPARTURE_CANCELLED": "refund",
}
TICKET_STATUSES = {"active", "refunded", "changed", "voided"}
# What a malformed row can raise: missing fields, wrong types, a reference to nothing.
_BAD_ROW = (KeyError, TypeError, ValueError, AttributeError, sqlite3.IntegrityError)


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def task_kind(conflict: str) -> str:
    return TASK_FOR_CONFLICT.get(conflict, "review")


def record_task(cur, key: str, conflict: dict, now: datetime) -> bool:
    """One task per server conflict (``key``); a conflict reported again (upload answer, then feed) is
    not a second task. A conflict the server marks resolved closes its task. True when new."""
    status = conflict.get("status") or "open"
    cur.execute("SELECT status FROM sync_tasks WHERE key = ?", (key,))
    row = cur.fetchone()
    if row is None:
        cur.execute(
            "INSERT INTO sync_tasks (key, kind, conflict, seq, ticket_id, departure_id, seat_no, detail, status, "
            "created_at, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, task_kind(str(conflict.get("kind"))), str(conflict.get("kind")), conflict.get("seq"),
             conflict.get("ticket_id"), conflict.get("departure_id"), conflict.get("seat_no"),
             str(conflict.get("detail") or ""), "resolved" if status == "resolved" else "open", iso_utc(now),
             iso_utc(now) if status == "resolved" else None),
        )
        return True
    if status == "resolved" and row[0] == "open":
        cur.execute("UPDATE sync_tasks SET status = 'resolved', resolved_at = ? WHERE key = ?", (iso_utc(now), key))
    return False


class FeedApplier:
    """Applies feed rows for one terminal. ``pending_tickets`` is computed lazily: the ticket ids that
    unsent outbox events touch (only web tickets need it: the feed carries no other ticket)."""

    def __init__(self, cur, terminal_id: str, acked_seq: int, *, zone: ZoneInfo, now: datetime):
        self.cur = cur
        self.terminal_id = terminal_id
        self.acked_seq = acked_seq
        self.zone = zone
        self.now = now
        self._pending: set[str] | None = None
        self._home: str | None = None
        self.counts: dict[str, int] = defaultdict(int)
        self.deferred = 0
        self.new_tasks = 0
        self.skipped = 0

    # ------------------------------------------------------------------ bookkeeping

    def pending_tickets(self) -> set[str]:
        if self._pending is None:
            self.cur.execute(
                "SELECT payload FROM outbox WHERE terminal_id = ? AND seq > ? AND type LIKE 'ticket.%'",
                (self.terminal_id, self.acked_seq),
            )
            ids: set[str] = set()
            for (payload,) in self.cur.fetchall():
                p = json.loads(payload)
                for key in ("ticket_id", "old_ticket_id"):
                    if p.get(key):
                        ids.add(p[key])
                for t in p.get("tickets") or ():
                    ids.add(t.get("ticket_id"))
                if p.get("new_ticket"):
                    ids.add(p["new_ticket"].get("ticket_id"))
            self._pending = ids
        return self._pending

    def defer(self, change: dict) -> None:
        self.cur.execute(
            "INSERT INTO sync_deferred (kind, key, deleted, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (kind, key) DO UPDATE SET deleted = excluded.deleted, data = excluded.data",
            (change["kind"], change["key"], 1 if change.get("deleted") else 0,
             None if change.get("data") is None else _json(change["data"])),
        )
        self.deferred += 1

    def home_station(self) -> str:
        if self._home is None:
            self.cur.execute("SELECT value FROM settings WHERE key = 'home_station'")
            row = self.cur.fetchone()
            self._home = json.loads(row[0]) if row else ""
        return self._home

    # ------------------------------------------------------------------ entry points

    def retry_deferred(self) -> int:
        self.cur.execute("SELECT kind, key, deleted, data FROM sync_deferred")
        rows = self.cur.fetchall()
        if not rows:
            return 0
        self.cur.execute("DELETE FROM sync_deferred")
        changes = [{"kind": k, "key": key, "deleted": bool(d), "data": None if data is None else json.loads(data)}
                   for k, key, d, data in rows]
        before = self.deferred
        self.apply(changes, count=False)
        return len(rows) - (self.deferred - before)

    def apply(self, changes: list[dict], *, count: bool = True) -> None:
        # Within a page only the last row of a key matters; the feed is ordered, so later wins.
        latest: dict[tuple[str, str], dict] = {}
        for change in changes:
            latest[(change.get("kind"), change.get("key"))] = change
        by_kind: dict[str, list[dict]] = defaultdict(list)
        for (kind, _key), change in latest.items():
            by_kind[kind].append(change)
        for kind in ORDER:
            rows = by_kind.pop(kind, None)
            if rows:
                self._apply_kind(kind, rows)
                if count:
                    self.counts[kind] += len(rows)
        for kind, rows in by_kind.items():
            # A newer server may publish kinds this terminal does not know yet: skip, do not fail.
            log.info("feed: %d row(s) of unknown kind %r skipped", len(rows), kind)

    def _apply_kind(self, kind: str, rows: list[dict]) -> None:
        handler = getattr(self, f"_apply_{kind}")
        try:
            handler(rows)
        except _BAD_ROW:
            # One malformed row must not block the feed for ever: apply the rows one at a time (the
            # statements are upserts, so repeating the good ones is harmless) and skip the bad one.
            for row in rows:
                try:
                    handler([row])
                except _BAD_ROW as exc:
                    self.skipped += 1
                    log.warning("feed row %s/%s skipped: %s: %s", kind, row.get("key"), type(exc).__name__, exc)

    # ------------------------------------------------------------------ master data

    def _apply_setting(self, rows):
        for c in rows:
            if c["key"] not in SETTING_KEYS:
                continue
            if c.get("deleted"):
                self.cur.execute("DELETE FROM settings WHERE key = ?", (c["key"],))
            else:
                self.cur.execute(
                    "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (c["key"], _json(c["data"])),
                )
            if c["key"] == "home_station":
                self._home = None

    def _stub_stations(self, codes) -> None:
        codes = {c for c in codes if c}
        if codes:
            self.cur.executemany(
                "INSERT OR IGNORE INTO stations (code, name, pinyin, region_code, city) VALUES (?, ?, '', ?, '')",
                [(c, c, c[:6]) for c in codes],
            )

    def _stub_classes(self, codes) -> None:
        codes = {c for c in codes if c}
        if codes:
            self.cur.executemany("INSERT OR IGNORE INTO vehicle_classes (code, name, seats) VALUES (?, ?, 0)",
                                 [(c, c) for c in codes])

    def _stub_routes(self, codes) -> None:
        codes = {c for c in codes if c}
        if not codes:
            return
        self.cur.executemany(
            "INSERT OR IGNORE INTO routes (code, name, origin, via) "
            "SELECT ?, ?, code, '' FROM stations WHERE code = ?",
            [(c, c, self.home_station()) for c in codes],
        )

    def _delete(self, sql: str, keys) -> None:
        for key in keys:
            try:
                self.cur.execute(sql, key if isinstance(key, tuple) else (key,))
            except sqlite3.IntegrityError:
                # Still referenced (a route by a departure with tickets...): keep the row, harmless.
                pass

    def _apply_station(self, rows):
        live = [c["data"] for c in rows if not c.get("deleted")]
        self.cur.executemany(
            "INSERT INTO stations (code, name, pinyin, region_code, city) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (code) DO UPDATE SET name = excluded.name, pinyin = excluded.pinyin, "
            "region_code = excluded.region_code, city = excluded.city",
            [(s["code"], s["name"], str(s.get("pinyin", "")).upper(), s.get("region_code") or s["code"][:6],
              s.get("city", "")) for s in live],
        )
        self._delete("DELETE FROM stations WHERE code = ?", [c["key"] for c in rows if c.get("deleted")])

    def _apply_vehicle_class(self, rows):
        live = [c["data"] for c in rows if not c.get("deleted")]
        self.cur.executemany(
            "INSERT INTO vehicle_classes (code, name, seats) VALUES (?, ?, ?) "
            "ON CONFLICT (code) DO UPDATE SET name = excluded.name, seats = excluded.seats",
            [(v["code"], v["name"], int(v["seats"])) for v in live],
        )
        self._delete("DELETE FROM vehicle_classes WHERE code = ?", [c["key"] for c in rows if c.get("deleted")])

    def _apply_route(self, rows):
        live = [c["data"] for c in rows if not c.get("deleted")]
        self._stub_stations({r["origin"] for r in live} | {s["station"] for r in live for s in r.get("stops", ())})
        self.cur.executemany(
            "INSERT INTO routes (code, name, origin, via) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (code) DO UPDATE SET name = excluded.name, origin = excluded.origin, via = excluded.via",
            [(r["code"], r["name"], r["origin"],
              r.get("via", "") if isinstance(r.get("via", ""), str) else "、".join(r["via"])) for r in live],
        )
        self.cur.executemany("DELETE FROM route_stops WHERE route = ?", [(r["code"],) for r in live])
        self.cur.executemany(
            "INSERT INTO route_stops (route, seq, station, km) VALUES (?, ?, ?, ?)",
            [(r["code"], int(s["seq"]), s["station"], int(s["km"])) for r in live for s in r.get("stops", ())],
        )
        gone = [c["key"] for c in rows if c.get("deleted")]
        for code in gone:
            self.cur.execute("SELECT 1 FROM departures WHERE route = ? LIMIT 1", (code,))
            if self.cur.fetchone() is None:
                self.cur.execute("DELETE FROM fares WHERE route = ?", (code,))
                self.cur.execute("DELETE FROM route_stops WHERE route = ?", (code,))
                self._delete("DELETE FROM routes WHERE code = ?", [code])

    def _apply_fare(self, rows):
        live = [c["data"] for c in rows if not c.get("deleted")]
        self._stub_stations({f["from"] for f in live} | {f["to"] for f in live})
        self._stub_classes({f["vehicle_class"] for f in live})
        self._stub_routes({f["route"] for f in live})
        self.cur.executemany(
            "INSERT INTO fares (route, from_station, to_station, vehicle_class, full_fare) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (route, from_station, to_station, vehicle_class) DO UPDATE SET full_fare = excluded.full_fare",
            [(f["route"], f["from"], f["to"], f["vehicle_class"], int(f["full_fare"])) for f in live],
        )
        gone = []
        for c in rows:
            if c.get("deleted"):
                parts = c["key"].split("/")
                if len(parts) == 4:
                    gone.append(tuple(parts))
        self.cur.executemany(
            "DELETE FROM fares WHERE route = ? AND from_station = ? AND to_station = ? AND vehicle_class = ?", gone
        )

    def _apply_departure(self, rows):
        live = [c["data"] for c in rows if not c.get("deleted")]
        self._stub_classes({d["vehicle_class"] for d in live})
        self._stub_routes({d["route"] for d in live})
        deps = []
        for d in live:
            local = datetime.fromisoformat(f"{d['date']}T{d['time']}").replace(tzinfo=self.zone)
            deps.append((
                d["id"], d.get("schedule_code", ""), d["route"], d["date"], d["time"], iso_utc(local.astimezone(UTC)),
                d["vehicle_class"], int(d["seats"]), str(d.get("gate", "")), d.get("status", "normal"),
                1 if d.get("extra") else 0, int(d.get("stop_sale_minutes") or 0),
            ))
        self.cur.executemany(
            "INSERT INTO departures (id, schedule_code, route, date, time, departs_at, vehicle_class, seats, gate, "
            "status, extra, stop_sale_minutes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET schedule_code = excluded.schedule_code, route = excluded.route, "
            "date = excluded.date, time = excluded.time, departs_at = excluded.departs_at, "
            "vehicle_class = excluded.vehicle_class, seats = excluded.seats, gate = excluded.gate, "
            "status = excluded.status, extra = excluded.extra, stop_sale_minutes = excluded.stop_sale_minutes",
            deps,
        )
        # Existing seats keep their state: a departure update never frees a sold seat. The seat numbers
        # are generated inside SQLite: one statement per departure instead of one per seat.
        self.cur.executemany(
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ?) "
            "INSERT INTO seats (departure_id, seat_no, state) SELECT ?, n, 'free' FROM s WHERE true "
            "ON CONFLICT DO NOTHING",
            [(int(d["seats"]), d["id"]) for d in live if int(d["seats"]) > 0],
        )
        for c in rows:
            if c.get("deleted"):
                self.cur.execute("SELECT 1 FROM tickets WHERE departure_id = ? LIMIT 1", (c["key"],))
                if self.cur.fetchone() is None:
                    self.cur.execute("DELETE FROM seats WHERE departure_id = ?", (c["key"],))
                    self._delete("DELETE FROM departures WHERE id = ?", [c["key"]])

    def _apply_ticket_type(self, rows):
        self.cur.execute("SELECT value FROM settings WHERE key = 'ticket_types'")
        row = self.cur.fetchone()
        table = {t["code"]: t for t in (json.loads(row[0]) if row else [])}
        for c in rows:
            if c.get("deleted"):
                table.pop(c["key"], None)
            else:
                table[c["key"]] = c["data"]
        self.cur.execute(
            "INSERT INTO settings (key, value) VALUES ('ticket_types', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (_json(list(table.values())),),
        )

    def _apply_ticket_key(self, rows):
        for c in rows:
            if c.get("deleted"):
                self.cur.execute("UPDATE ticket_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                                 (iso_utc(self.now), c["key"]))
                continue
            k = c["data"]
            self.cur.execute(
                "INSERT INTO ticket_keys (key_id, terminal_id, public_key, revoked_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key_id) DO UPDATE SET terminal_id = excluded.terminal_id, "
                "public_key = excluded.public_key, revoked_at = excluded.revoked_at",
                (k["key_id"], k["terminal_id"], k["public_key"], k.get("revoked_at")),
            )

    # ------------------------------------------------------------------ seats, leases, tickets

    def _apply_lease(self, rows):
        for c in rows:
            departure_id = c["key"]
            self.cur.execute("SELECT 1 FROM departures WHERE id = ?", (departure_id,))
            if self.cur.fetchone() is None:
                self.defer(c)  # the departure's own row has not arrived yet
                continue
            # Seats leased here and not sold: the lease row says which stay leased.
            self.cur.execute(
                "UPDATE seats SET state = 'free', lease_id = NULL WHERE departure_id = ? AND state = 'leased'",
                (departure_id,),
            )
            if c.get("deleted"):
                continue
            lease = c["data"]
            expiry = lease.get("seat_expiry") or {}
            groups: dict[str, list[int]] = defaultdict(list)
            for seat in lease.get("seats") or ():
                groups[expiry.get(str(seat)) or lease["expires_at"]].append(int(seat))
            for expires_at, seat_nos in groups.items():
                # One local lease row per expiry: a seat held for two minutes must not look like one
                # held for thirty.
                local_id = f"{lease['lease_id']}@{expires_at}"
                granted = iso_utc(self.now)
                self.cur.execute(
                    "INSERT INTO seat_leases (id, departure_id, seats, granted_at, expires_at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET seats = excluded.seats",
                    (local_id, departure_id, json.dumps(sorted(seat_nos)), granted, iso_utc(parse_utc(expires_at))),
                )
                self.cur.executemany(
                    "UPDATE seats SET state = 'leased', lease_id = ? WHERE departure_id = ? AND seat_no = ? "
                    "AND state IN ('free', 'leased', 'held')",
                    [(local_id, departure_id, s) for s in seat_nos],
                )

    def _apply_seat(self, rows):
        for c in rows:
            departure_id, _, seat_text = c["key"].rpartition("/")
            if not seat_text.isdigit():
                continue
            seat_no = int(seat_text)
            self.cur.execute("SELECT state, ticket_id FROM seats WHERE departure_id = ? AND seat_no = ?",
                             (departure_id, seat_no))
            row = self.cur.fetchone()
            if row is None:
                self.defer(c)  # departure not here yet
                continue
            state, local_ticket = row
            data = c.get("data") or {}
            if not c.get("deleted") and data.get("terminal_id") == self.terminal_id and data.get("channel") == "terminal":
                continue  # our own sale or lease: the local record and our lease rows are the truth about it
            if state == "leased" and not c.get("deleted") and data.get("state") == "leased":
                # Another terminal's lease on a seat leased here is older than our lease row: the server
                # republishes a holder's lease before the seat can go to anyone else, and a page applies
                # lease rows before seat rows.
                continue
            if state == "sold":
                if not c.get("deleted") and data.get("ticket_id") == local_ticket:
                    continue
                self.defer(c)
                continue
            if c.get("deleted"):
                if state == "held":
                    self.cur.execute(
                        "UPDATE seats SET state = 'free', ticket_id = NULL WHERE departure_id = ? AND seat_no = ?",
                        (departure_id, seat_no),
                    )
            else:
                self.cur.execute(
                    "UPDATE seats SET state = 'held', ticket_id = ? WHERE departure_id = ? AND seat_no = ?",
                    (data.get("ticket_id"), departure_id, seat_no),
                )

    def _apply_web_ticket(self, rows):
        for c in rows:
            if c.get("deleted"):
                continue
            t = c["data"]
            ticket_id = t["ticket_id"]
            self.cur.execute("SELECT status, stock_no FROM tickets WHERE id = ?", (ticket_id,))
            row = self.cur.fetchone()
            if row is not None and ticket_id in self.pending_tickets():
                self.defer(c)
                continue
            status = t.get("status") if t.get("status") in TICKET_STATUSES else "active"
            ours = t.get("picked_up_by") == self.terminal_id
            stock_no = None if ours else t.get("stock_no")
            p = t.get("passenger") or {}
            try:
                if row is None:
                    self.cur.execute("SELECT 1 FROM departures WHERE id = ?", (t["departure_id"],))
                    if self.cur.fetchone() is None:
                        self.defer(c)
                        continue
                    self.cur.execute(
                        "INSERT OR IGNORE INTO orders (id, clerk, shift_id, channel, created_at, total) "
                        "VALUES (?, NULL, NULL, 'web', ?, 0)",
                        (t["order_id"], t["sold_at"]),
                    )
                    self.cur.execute("UPDATE orders SET total = total + ? WHERE id = ?",
                                     (int(t.get("price") or 0) + int(t.get("insurance") or 0), t["order_id"]))
                    self._stub_stations([t.get("stop"), self.home_station()])
                    self.cur.execute(
                        "INSERT INTO tickets (id, order_id, departure_id, seat_no, stock_no, status, ticket_type, fare, "
                        "price, insurance, board, stop, carried_by, doc_hash, times_changed, changed_from, clerk, "
                        "shift_id, sold_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, NULL, "
                        "NULL, ?, ?)",
                        (ticket_id, t["order_id"], t["departure_id"], t.get("seat_no"), stock_no, status,
                         t.get("ticket_type") or "full", int(t.get("fare") or 0), int(t.get("price") or 0),
                         int(t.get("insurance") or 0), self.home_station(), t.get("stop") or "", t.get("carried_by"),
                         p.get("doc_hash"), t["sold_at"], t.get("closed_at")),
                    )
                    self.cur.execute(
                        "INSERT INTO passengers (ticket_id, name, doc_type, doc_masked, doc_hash, doc_number) "
                        "VALUES (?, ?, ?, ?, ?, NULL)",
                        (ticket_id, p.get("name") or "", p.get("doc_type") or "", p.get("doc_masked") or "",
                         p.get("doc_hash")),
                    )
                else:
                    local_stock = row[1]
                    self.cur.execute(
                        "UPDATE tickets SET status = ?, closed_at = ?, stock_no = ? WHERE id = ?",
                        (status, t.get("closed_at"), local_stock if ours or stock_no is None else stock_no, ticket_id),
                    )
            except sqlite3.IntegrityError as exc:
                # Another ticket here holds the same document on that bus, or the same paper number:
                # a person must look at it.
                self.new_tasks += record_task(self.cur, f"web/{ticket_id}", {
                    "kind": "WEB_TICKET_CLASH", "ticket_id": ticket_id, "departure_id": t.get("departure_id"),
                    "seat_no": t.get("seat_no"), "detail": str(exc)}, self.now)

    def _apply_conflict(self, rows):
        for c in rows:
            if c.get("deleted") or not c.get("data"):
                continue
            self.new_tasks += record_task(self.cur, c["key"], c["data"], self.now)

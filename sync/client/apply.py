"""Applying a page of the change feed to the terminal's store, inside the pull's one transaction.

The rule that shapes this module: server state never overwrites a record with local changes the
server has not seen. A seat this terminal sold stays sold here whatever the feed says about it;
a web ticket with an unsent pickup keeps its local state. Such feed rows are parked in
``sync_deferred`` and tried again on every pull, so they land once the local change is acknowledged
(or the clerk resolves the conflict).

Pages are applied with the sqlite3 cursor through the store's functions (the timetable through the
very upserts the province loader uses): the first pull of a large station is tens of thousands of
feed rows and ~675k seat rows.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from app.domain.identity import mask, tag_of_hash
from app.store import departures, seats, sync_state, tasks, tickets
from app.store import gate as gate_store
from app.store.models import iso_utc, parse_utc
from app.store.outbox import gate_payloads_after, ticket_payloads_after

log = logging.getLogger("kezhan.sync")

# Referenced rows before the rows that reference them, whatever order the feed's compaction left.
ORDER = ("setting", "station", "vehicle_class", "route", "fare", "departure", "ticket_type", "ticket_key",
         "lease", "seat", "web_ticket", "gate_ticket", "departure_check", "conflict")
SETTING_KEYS = {"province", "home_station", "refund_policy", "change_policy", "insurance", "doc_hash_key",
                "offline_budget_minutes", "void_window_minutes", "gate"}

TASK_FOR_CONFLICT = {
    "SEAT_TAKEN": "reseat",
    "SEAT_LEASED": "reseat",
    "SEAT_INVALID": "reseat",
    "UNKNOWN_DEPARTURE": "refund",
    "DEPARTURE_CANCELLED": "refund",
    "DUPLICATE_DOCUMENT": "refund",
}
TICKET_STATUSES = {"active", "refunded", "changed", "voided"}
# What a malformed row can raise: missing fields, wrong types, a reference to nothing.
_BAD_ROW = (KeyError, TypeError, ValueError, AttributeError, sqlite3.IntegrityError)


def _passenger_document(p: dict) -> dict:
    """A feed passenger's mask and 8-bit tag, as this terminal keeps a ticket it did not sell. A row
    from a server of before the tag (``doc_hash``, the old mask) is cut down to the same."""
    return {"doc_masked": mask(p.get("doc_masked") or ""), "doc_tag": tag_of_hash(p.get("doc_tag") or p.get("doc_hash"))
            or None}


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def task_kind(conflict: str) -> str:
    return TASK_FOR_CONFLICT.get(conflict, "review")


def record_task(cur, key: str, conflict: dict, now: datetime) -> bool:
    """One task per server conflict (``key``); a conflict reported again (upload answer, then feed) is
    not a second task. A conflict the server marks resolved closes its task. True when new."""
    return tasks.upsert_task(cur, key, task_kind(str(conflict.get("kind"))), conflict, now)


class FeedApplier:
    """Applies feed rows for one terminal. ``pending_tickets`` is computed lazily: the ticket ids that
    unsent outbox events touch (web tickets, and the gate rows of this station's tickets)."""

    def __init__(self, cur, terminal_id: str, acked_seq: int, *, zone: ZoneInfo, now: datetime):
        self.cur = cur
        self.terminal_id = terminal_id
        self.acked_seq = acked_seq
        self.zone = zone
        self.now = now
        self._pending: set[str] | None = None
        self._pending_departures: set[str] | None = None
        self._home: str | None = None
        self.counts: dict[str, int] = defaultdict(int)
        self.deferred = 0
        self.new_tasks = 0
        self.skipped = 0

    # ------------------------------------------------------------------ bookkeeping

    def pending_tickets(self) -> set[str]:
        if self._pending is None:
            ids: set[str] = set()
            for payload in ticket_payloads_after(self.cur, self.terminal_id, self.acked_seq):
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

    def pending_departures(self) -> set[str]:
        """The departures whose check state this terminal changed in events not yet acknowledged."""
        if self._pending_departures is None:
            ids: set[str] = set()
            for payload in gate_payloads_after(self.cur, self.terminal_id, self.acked_seq):
                p = json.loads(payload)
                ids.update(p[k] for k in ("departure_id", "source_departure_id", "target_departure_id") if p.get(k))
            self._pending_departures = ids
        return self._pending_departures

    def defer(self, change: dict) -> None:
        sync_state.defer_row(self.cur, sync_state.DeferredRow(
            change["kind"], change["key"], bool(change.get("deleted")),
            None if change.get("data") is None else _json(change["data"])))
        self.deferred += 1

    def home_station(self) -> str:
        if self._home is None:
            self._home = sync_state.setting_value(self.cur, "home_station", "")
        return self._home

    # ------------------------------------------------------------------ entry points

    def retry_deferred(self) -> int:
        rows = sync_state.take_deferred_rows(self.cur)
        if not rows:
            return 0
        changes = [{"kind": r.kind, "key": r.key, "deleted": r.deleted,
                    "data": None if r.data is None else json.loads(r.data)} for r in rows]
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
                sync_state.delete_setting(self.cur, c["key"])
            else:
                sync_state.put_setting_value(self.cur, c["key"], c["data"])
            if c["key"] == "home_station":
                self._home = None

    def _apply_station(self, rows):
        departures.upsert_stations(self.cur, [c["data"] for c in rows if not c.get("deleted")])
        departures.delete_stations(self.cur, [c["key"] for c in rows if c.get("deleted")])

    def _apply_vehicle_class(self, rows):
        departures.upsert_vehicle_classes(self.cur, [c["data"] for c in rows if not c.get("deleted")])
        departures.delete_vehicle_classes(self.cur, [c["key"] for c in rows if c.get("deleted")])

    def _apply_route(self, rows):
        live = [c["data"] for c in rows if not c.get("deleted")]
        departures.add_missing_stations(
            self.cur, {r["origin"] for r in live} | {s["station"] for r in live for s in r.get("stops", ())})
        departures.upsert_routes(self.cur, live)
        departures.delete_routes(self.cur, [c["key"] for c in rows if c.get("deleted")])

    def _apply_fare(self, rows):
        live = [c["data"] for c in rows if not c.get("deleted")]
        departures.add_missing_stations(self.cur, {f["from"] for f in live} | {f["to"] for f in live})
        departures.add_missing_vehicle_classes(self.cur, {f["vehicle_class"] for f in live})
        departures.add_missing_routes(self.cur, {f["route"] for f in live}, self.home_station())
        departures.upsert_fares(self.cur, live)
        gone = []
        for c in rows:
            if c.get("deleted"):
                parts = c["key"].split("/")
                if len(parts) == 4:
                    gone.append(tuple(parts))
        departures.delete_fares(self.cur, gone)

    def _apply_departure(self, rows):
        live = [c["data"] for c in rows if not c.get("deleted")]
        departures.add_missing_vehicle_classes(self.cur, {d["vehicle_class"] for d in live})
        departures.add_missing_routes(self.cur, {d["route"] for d in live}, self.home_station())
        departures.upsert_departures(self.cur, live, self.zone)
        departures.delete_departures(self.cur, [c["key"] for c in rows if c.get("deleted")])

    def _apply_ticket_type(self, rows):
        table = {t["code"]: t for t in sync_state.setting_value(self.cur, "ticket_types", [])}
        for c in rows:
            if c.get("deleted"):
                table.pop(c["key"], None)
            else:
                table[c["key"]] = c["data"]
        sync_state.put_setting_value(self.cur, "ticket_types", list(table.values()))

    def _apply_ticket_key(self, rows):
        for c in rows:
            if c.get("deleted"):
                sync_state.revoke_ticket_key(self.cur, c["key"], iso_utc(self.now))
                continue
            k = c["data"]
            sync_state.upsert_ticket_key(self.cur, k["key_id"], k["terminal_id"], k["public_key"], k.get("revoked_at"))

    # ------------------------------------------------------------------ seats, leases, tickets

    def _apply_lease(self, rows):
        for c in rows:
            departure_id = c["key"]
            if not departures.departure_exists(self.cur, departure_id):
                self.defer(c)  # the departure's own row has not arrived yet
                continue
            # Seats leased here and not sold: the lease row says which stay leased.
            seats.free_leased_seats(self.cur, departure_id)
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
                seats.record_lease(self.cur, local_id, departure_id, seat_nos, self.now, parse_utc(expires_at))
                seats.lease_seats(self.cur, local_id, departure_id, seat_nos)

    def _apply_seat(self, rows):
        for c in rows:
            departure_id, _, seat_text = c["key"].rpartition("/")
            if not seat_text.isdigit():
                continue
            seat_no = int(seat_text)
            data = c.get("data") or {}
            deleted = c.get("deleted")
            if not deleted and data.get("terminal_id") == self.terminal_id and data.get("channel") == "terminal":
                continue  # our own sale or lease: the local record and our lease rows are the truth about it
            # The common case first, in one statement: a seat held or freed as the row says. Only a
            # row that changed nothing needs the seat's state to know why.
            if deleted:
                if seats.free_if_held(self.cur, departure_id, seat_no):
                    continue
            elif seats.hold_as_fed(self.cur, departure_id, seat_no, data.get("ticket_id"),
                                   unless_leased=data.get("state") == "leased"):
                # Another terminal's lease on a seat leased here is older than our lease row: the
                # server republishes a holder's lease before the seat can go to anyone else, and a
                # page applies lease rows before seat rows -- so such a row leaves a leased seat be.
                continue
            here = seats.seat_state(self.cur, departure_id, seat_no)
            if here is None:
                self.defer(c)  # departure not here yet
            elif here.state == "sold" and (deleted or data.get("ticket_id") != here.ticket_id):
                self.defer(c)

    def _apply_web_ticket(self, rows):
        for c in rows:
            if c.get("deleted"):
                continue
            t = c["data"]
            ticket_id = t["ticket_id"]
            local = tickets.ticket_state(self.cur, ticket_id)
            if local is not None and ticket_id in self.pending_tickets():
                self.defer(c)
                continue
            status = t.get("status") if t.get("status") in TICKET_STATUSES else "active"
            ours = t.get("picked_up_by") == self.terminal_id
            stock_no = None if ours else t.get("stock_no")
            try:
                if local is None:
                    if not departures.departure_exists(self.cur, t["departure_id"]):
                        self.defer(c)
                        continue
                    departures.add_missing_stations(self.cur, [t.get("stop"), self.home_station()])
                    tickets.add_web_ticket(self.cur, self._web_ticket(t, status, stock_no))
                else:
                    tickets.update_ticket_status(self.cur, ticket_id, status, t.get("closed_at"),
                                                 local.stock_no if ours or stock_no is None else stock_no)
            except sqlite3.IntegrityError as exc:
                # Another ticket here holds the same document on that bus, or the same paper number:
                # a person must look at it.
                self.new_tasks += record_task(self.cur, f"web/{ticket_id}", {
                    "kind": "WEB_TICKET_CLASH", "ticket_id": ticket_id, "departure_id": t.get("departure_id"),
                    "seat_no": t.get("seat_no"), "detail": str(exc)}, self.now)

    def _web_ticket(self, t: dict, status: str, stock_no: str | None) -> tickets.WebTicket:
        p = t.get("passenger") or {}
        return tickets.WebTicket(
            ticket_id=t["ticket_id"], order_id=t["order_id"], departure_id=t["departure_id"],
            seat_no=t.get("seat_no"), stock_no=stock_no, status=status, ticket_type=t.get("ticket_type") or "full",
            fare=int(t.get("fare") or 0), price=int(t.get("price") or 0), insurance=int(t.get("insurance") or 0),
            board=self.home_station(), stop=t.get("stop") or "", carried_by=t.get("carried_by"),
            sold_at=t["sold_at"], closed_at=t.get("closed_at"), passenger_name=p.get("name") or "",
            doc_type=p.get("doc_type") or "", **_passenger_document(p),
        )

    # ------------------------------------------------------------------ the gate

    def _apply_gate_ticket(self, rows):
        """Every channel's tickets of this station's departures, as the gate checks them offline: a
        ticket another terminal sold is held as a ``peer`` ticket; each ticket's reprint count and
        its check at another gate of the station land beside it. This terminal's own sales and its
        own unsent gate events stay as they are here."""
        for c in rows:
            if c.get("deleted"):
                continue
            t = c["data"]
            ticket_id = t["ticket_id"]
            if ticket_id in self.pending_tickets():
                self.defer(c)  # a local change the server has not seen yet
                continue
            mine = t.get("channel") == "terminal" and t.get("terminal_id") == self.terminal_id
            local = tickets.ticket_state(self.cur, ticket_id)
            status = t.get("status") if t.get("status") in TICKET_STATUSES else "active"
            try:
                if local is None:
                    if mine:
                        continue  # a sale of this file it no longer has: not the feed's to recreate
                    if t.get("channel") == "web" or not departures.departure_exists(self.cur, t["departure_id"]):
                        self.defer(c)  # the web ticket's own row, or its departure, comes first
                        continue
                    departures.add_missing_stations(self.cur, [t.get("stop"), self.home_station()])
                    tickets.add_web_ticket(self.cur, self._peer_ticket(t, status), channel=tickets.PEER_CHANNEL)
                elif tickets.is_peer_ticket(self.cur, ticket_id):
                    if not departures.departure_exists(self.cur, t["departure_id"]):
                        self.defer(c)
                        continue
                    tickets.update_peer_ticket(self.cur, ticket_id, departure_id=t["departure_id"],
                                               seat_no=t.get("seat_no"), status=status, stock_no=t.get("stock_no"))
                elif t.get("ride_from") and not self._ride_changed_elsewhere(ticket_id, t):
                    self.defer(c)
                    continue
                if not mine:
                    gate_store.set_prints(self.cur, ticket_id, int(t.get("reprints") or 0))
                self._apply_check(ticket_id, t)
            except sqlite3.IntegrityError as exc:
                self.new_tasks += record_task(self.cur, f"gate/{ticket_id}", {
                    "kind": "GATE_TICKET_CLASH", "ticket_id": ticket_id, "departure_id": t.get("departure_id"),
                    "seat_no": t.get("seat_no"), "detail": str(exc)}, self.now)

    def _peer_ticket(self, t: dict, status: str) -> tickets.WebTicket:
        p = t.get("passenger") or {}
        return tickets.WebTicket(
            ticket_id=t["ticket_id"], order_id=t.get("order_id") or t["ticket_id"], departure_id=t["departure_id"],
            seat_no=t.get("seat_no"), stock_no=t.get("stock_no"), status=status,
            ticket_type=t.get("ticket_type") or "full", fare=int(t.get("fare") or 0), price=int(t.get("price") or 0),
            insurance=int(t.get("insurance") or 0), board=self.home_station(), stop=t.get("stop") or "",
            carried_by=t.get("carried_by"), sold_at=t.get("sold_at") or iso_utc(self.now), closed_at=None,
            passenger_name=p.get("name") or "", doc_type=p.get("doc_type") or "", **_passenger_document(p),
        )

    def _ride_changed_elsewhere(self, ticket_id: str, t: dict) -> bool:
        """A ticket of this file (sold or picked up here) that a gate of another terminal moved to
        another bus (改乘): recorded as the gate here records its own ride changes, its old seat let
        go and its new one held. False when the target departure is not here yet."""
        held = gate_store.gate_ticket(self.cur, ticket_id)
        target = t["departure_id"]
        if held is None or held.departure_id == target or gate_store.ride_change_of(self.cur, ticket_id) == target:
            return True
        if not departures.departure_exists(self.cur, target):
            return False
        if held.seat_no is not None:
            seats.free_outright(self.cur, held.departure_id, held.seat_no)
        if t.get("seat_no") is not None:
            seats.hold(self.cur, target, t["seat_no"], ticket_id)
        gate_store.put_ride_change(self.cur, ticket_id=ticket_id, from_departure_id=held.departure_id,
                                   to_departure_id=target, seat_no=t.get("seat_no"), reason="改乘（其他检票终端）",
                                   approver="", at=self.now)
        return True

    def _apply_check(self, ticket_id: str, t: dict) -> None:
        """The province's check of the ticket, if this file has none: another gate boarded it. A
        check the province no longer has (undone at another gate) is undone here too."""
        check = t.get("check")
        live = gate_store.live_check(self.cur, ticket_id)
        if check and live is None:
            gate_store.insert_check(
                self.cur, ticket_id=ticket_id, departure_id=check.get("departure_id") or t["departure_id"],
                gate=str(check.get("gate") or ""), checker=str(check.get("checker") or check.get("terminal_id") or ""),
                via=str(check.get("via") or "code"), seat_no=t.get("seat_no"),
                ticket_type=t.get("ticket_type") or "full", printed_version=0, unknown=False,
                at=parse_utc(check["checked_at"]))
        elif not check and live is not None:
            gate_store.undo_check(self.cur, ticket_id, self.now, "undone at another gate")

    def _apply_departure_check(self, rows):
        """Another gate terminal's check of a departure (opened, stopped, merged, its road bill): the
        gate view shows it, the counter stops selling it. This terminal's own stays as it made it."""
        for c in rows:
            if c.get("deleted") or not c.get("data"):
                continue
            d = c["data"]
            if d.get("terminal_id") == self.terminal_id:
                continue
            if d["departure_id"] in self.pending_departures():
                self.defer(c)  # this gate's own unsent change of it comes first
                continue
            if not departures.departure_exists(self.cur, d["departure_id"]):
                self.defer(c)
                continue
            gate_store.put_gate_state(self.cur, gate_store.GateState(
                departure_id=d["departure_id"], gate=str(d.get("gate") or ""), state=d["state"],
                plate=d.get("plate"), driver=d.get("driver"), checker=d.get("checker"),
                opened_at=parse_utc(d["opened_at"]) if d.get("opened_at") else None,
                stopped_at=parse_utc(d["stopped_at"]) if d.get("stopped_at") else None,
                merged_into=d.get("merged_into"), road_bill_no=d.get("road_bill_no")))

    def _apply_conflict(self, rows):
        for c in rows:
            if c.get("deleted") or not c.get("data"):
                continue
            self.new_tasks += record_task(self.cur, c["key"], c["data"], self.now)

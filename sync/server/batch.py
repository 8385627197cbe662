"""Applying one upload batch inside its transaction: the events in seq order, each sale checked
against the departure's seats and the leases, a conflict recorded for whatever the server cannot
apply as the terminal did."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, delete, func, or_, select

from sync.server import db as dbmod
from sync.server import feed, models
from sync.server.authz import Authority, Refused
from sync.server.departure_actions import DEPARTURE_EVENTS, DepartureActions
from sync.server.documents import DocumentKeys
from sync.server.gate import (
    GATE_EVENTS,
    GateEvents,
    add_reprint,
    publish_ticket,
    sold_ticket_text,
    station_scope,
)
from sync.server.seats import departure, ensure_lease, leased_seat_rows, publish_lease, seat_map
from sync.server.tickets import TICKET_COLUMNS, ticket_values, web_ticket_data

_sold_seat_text = feed.sold_seat_text
_DOC_HASH = TICKET_COLUMNS.index("doc_hash")


def _sale_fields(ev: dict, p: dict) -> tuple:
    """(order id or None, sold at, clerk, shift) of a ticket.sold event, as its tickets are stored."""
    get = p.get
    return get("order_id"), get("sold_at") or ev["created_at"], get("clerk"), get("shift_id")


def prepare_sales(events: list[dict], terminal_id: str, now: datetime, keys: DocumentKeys) -> dict:
    """The rows a sale's tickets get when nothing stands in their way — their ticket row as active and
    the feed row of the sold seat — built from the events alone, keyed by ``id()`` of the ticket (never
    by a key in the payload, which the terminal wrote). A ticket that meets a problem, or whose event
    has not the documented shape, is built again in ``BatchContext.sell``."""
    out = {}
    for ev in events:
        if ev["type"] != "ticket.sold":
            continue
        try:
            p = ev["payload"]
            order_id, sold_at, clerk, shift_id = _sale_fields(ev, p)
            for t in p.get("tickets", []):
                departure_id, seat, ticket_id = t["departure_id"], t.get("seat_no"), t["ticket_id"]
                row = ticket_values(t, "terminal", terminal_id, order_id or ticket_id, sold_at, clerk, shift_id,
                                     ev["seq"], "active", keys)
                seat_row = None if seat is None else (
                    "seat", f"{departure_id}/{seat}", None, False,
                    _sold_seat_text(departure_id, seat, "terminal", terminal_id, ticket_id), now)
                out[id(t)] = (row, seat_row, sold_ticket_text(t, "terminal", terminal_id, row[1], sold_at, keys))
        except (KeyError, TypeError, AttributeError, ValueError):
            continue  # applying the event says what is wrong with it
    return out



class BatchContext:
    """Applies a batch's events inside its transaction. Each touched departure's seats are read
    once; ticket rows, lease-seat deletions and feed rows are buffered and written with one
    executemany each (in order, before anything reads them back), so a batch of hundreds of
    sales costs a handful of statements rather than several per sale."""

    def __init__(self, conn, terminal_id: str, now: datetime, sales: dict | None = None, *, keys: DocumentKeys,
                 rules=None):
        self.conn, self.terminal_id, self.now, self.keys = conn, terminal_id, now, keys
        self.sales = sales or {}  # prepare_sales: id(ticket) -> its active row and sold-seat text
        self.deps: dict[str, object] = {}
        self.maps: dict[str, tuple[dict, dict, dict]] = {}
        # departure -> {the server's document hash -> live ticket}: one seat per document, every channel.
        self.documents: dict[str, dict[str, str]] = {}
        self.lease_touched: set[tuple[str, str]] = set()
        self.known_ids: set[str] = set()
        self.ticket_rows: list[tuple] = []
        self.lease_deletes: list[dict] = []
        self.feed_rows: list[tuple] = []  # feed.row tuples, in the order they happened
        self.conflicts = 0
        self.seq = 0
        self.refused: list[tuple[int, str, str]] = []  # (seq, reason, detail) of the events refused
        self.authority = Authority(self, terminal_id, rules)  # rules: (RulesCache, version) or None
        self.gate = GateEvents(self)
        self.departure_actions = DepartureActions(self)

    def prefetch(self, events: list[dict], *, known_ids: bool = True) -> None:
        """Reads what the batch's sales are checked against. ``known_ids=False`` leaves out the ticket
        ids already on the server: the tickets' primary key refuses those at the insert, and the
        batch is then applied again with them (a backlog of fresh sales saves a query per 500)."""
        new_tickets = []
        for ev in events:
            kind = ev["type"]
            if kind == "ticket.sold":
                new_tickets += ev["payload"].get("tickets") or ()
            elif kind == "ticket.changed":
                new_tickets.append(ev["payload"].get("new_ticket") or {})
        new_tickets = [t for t in new_tickets if isinstance(t, dict)]
        Tk, D, LS = models.tickets, models.departures, models.lease_seats
        if known_ids:
            ids = [i for i in (t.get("ticket_id") for t in new_tickets) if i]
            for i in range(0, len(ids), 500):
                self.known_ids.update(self.conn.execute(
                    select(Tk.c.ticket_id).where(Tk.c.ticket_id.in_(ids[i:i + 500]))).scalars())
        # Every departure the batch sells on, with its seats, in three queries for the batch.
        deps = sorted({d for d in (t.get("departure_id") for t in new_tickets) if d} - self.maps.keys())
        for i in range(0, len(deps), 500):
            chunk = deps[i:i + 500]
            for d in chunk:
                self.deps.setdefault(d, None)
                self.maps[d] = ({}, {}, {})
            for r in self.conn.execute(select(D).where(D.c.id.in_(chunk))):
                self.deps[r.id] = r
            for d in chunk:
                self.documents[d] = {}
            # The seats their tickets hold and the documents their active tickets carry, in one read.
            holds_seat = Tk.c.active_seat.is_not(None)
            carries_document = and_(Tk.c.status == "active", Tk.c.doc_hash.is_not(None))
            for r in self.conn.execute(select(Tk.c.departure_id, Tk.c.seat_no, Tk.c.ticket_id, Tk.c.doc_hash,
                                              holds_seat.label("holds_seat"), carries_document.label("carries"))
                                       .where(Tk.c.departure_id.in_(chunk), or_(holds_seat, carries_document))):
                if r.holds_seat:
                    self.maps[r.departure_id][0][r.seat_no] = r.ticket_id
                if r.carries:
                    self.documents[r.departure_id][r.doc_hash] = r.ticket_id
            for r in self.conn.execute(select(LS.c.departure_id, LS.c.seat_no, LS.c.terminal_id, LS.c.expires_at)
                                       .where(LS.c.departure_id.in_(chunk))):
                if r.expires_at > self.now:
                    self.maps[r.departure_id][1][r.seat_no] = (r.terminal_id, r.expires_at)
                self.maps[r.departure_id][2][r.seat_no] = r.terminal_id

    def flush(self) -> None:
        if self.ticket_rows:
            dbmod.BulkInsert.run_tuples(self.conn, models.tickets, TICKET_COLUMNS, self.ticket_rows)
            self.ticket_rows = []
        if self.lease_deletes:
            LS = models.lease_seats
            self.conn.execute(
                delete(LS).where(LS.c.departure_id == bindparam("d"), LS.c.seat_no == bindparam("s")),
                self.lease_deletes,
            )
            self.lease_deletes = []
        if self.feed_rows:
            feed.insert_rows(self.conn, self.feed_rows)
            self.feed_rows = []

    def publish(self, kind, key, data, *, scope=None) -> None:
        self.feed_rows.append(feed.row(kind, key, data, at=self.now, scope=scope))

    def dep(self, departure_id):
        if departure_id not in self.deps:
            self.deps[departure_id] = departure(self.conn, departure_id)
        return self.deps[departure_id]

    def seat_map(self, departure_id):
        """(sold seat -> ticket_id, live leased seat -> (terminal, expiry), any lease row seat -> terminal)"""
        if departure_id not in self.maps:
            sold, leased = seat_map(self.conn, departure_id, self.now)
            LS = models.lease_seats
            rows = dict(self.conn.execute(
                select(LS.c.seat_no, LS.c.terminal_id).where(LS.c.departure_id == departure_id)).all())
            self.maps[departure_id] = (sold, leased, rows)
        return self.maps[departure_id]

    def conflict(self, kind: str, *, ticket_id=None, departure_id=None, seat_no=None, detail="") -> None:
        self.conflicts += 1
        self.conn.execute(models.conflicts.insert().values(
            terminal_id=self.terminal_id, seq=self.seq, kind=kind, ticket_id=ticket_id, departure_id=departure_id,
            seat_no=seat_no, detail=detail, status="open", created_at=self.now))
        self.publish("conflict", f"{self.seq}/{ticket_id}",
                     {"seq": self.seq, "kind": kind, "ticket_id": ticket_id, "departure_id": departure_id,
                      "seat_no": seat_no, "detail": detail, "status": "open"}, scope=self.terminal_id)

    def refuse(self, ev: dict, refusal: Refused) -> None:
        """An event the terminal may not have written (``authz``): an alarm for the province, a
        ``REFUSED`` conflict for the terminal, and nothing applied. Its event row is still stored
        under its seq, so the terminal's queue moves on and a resend is acknowledged as a duplicate."""
        detail = f"{ev['type']} refused: {refusal.reason}: {refusal.detail}"
        self.refused.append((ev["seq"], refusal.reason, detail))
        self.conn.execute(models.alarms.insert().values(
            terminal_id=self.terminal_id, kind=refusal.reason, seq=ev["seq"], detail=detail, created_at=self.now))
        self.flush()
        self.conflict("REFUSED", ticket_id=refusal.ticket_id, detail=detail)

    def resolve(self, ticket_id: str, resolution: str) -> None:
        C = models.conflicts
        open_ = self.conn.execute(select(C).where(C.c.terminal_id == self.terminal_id, C.c.ticket_id == ticket_id,
                                                  C.c.status == "open")).all()
        for c in open_:
            self.conn.execute(C.update().where(C.c.id == c.id)
                              .values(status="resolved", resolved_at=self.now, resolution=resolution))
            self.publish("conflict", f"{c.seq}/{ticket_id}",
                         {"seq": c.seq, "kind": c.kind, "ticket_id": ticket_id, "departure_id": c.departure_id,
                          "seat_no": c.seat_no, "detail": c.detail, "status": "resolved",
                          "resolution": resolution}, scope=self.terminal_id)

    def publish_ticket(self, ticket_id: str) -> None:
        """The ticket's gate row (``gate.gate_ticket_data``) to its departure's station, as it now is."""
        self.flush()
        publish_ticket(self.conn, self.publish, ticket_id, lambda d: getattr(self.dep(d), "origin", None), self.keys)

    def ticket(self, ticket_id):
        self.flush()
        Tk = models.tickets
        return self.conn.execute(select(Tk).where(Tk.c.ticket_id == ticket_id)).first()

    def apply(self, ev: dict) -> None:
        self.seq = ev["seq"]
        try:
            self.authority.check(ev)
            if ev["type"] in GATE_EVENTS:
                self.gate.check(ev)
            elif ev["type"] in DEPARTURE_EVENTS:
                self.departure_actions.check(ev)
        except Refused as refusal:
            self.refuse(ev, refusal)
            return
        for _ticket_id, detail in self.authority.tolerated:
            # Applied: priced by rules the province changed lately (authz.RULES_GRACE); the province
            # looks at it, the terminal's sale stands and keeps its seat.
            self.conn.execute(models.alarms.insert().values(
                terminal_id=self.terminal_id, kind="STALE_RULES", seq=ev["seq"],
                detail=f"{ev['type']} applied: {detail}", created_at=self.now))
        p = ev["payload"]
        kind = ev["type"]
        if kind == "ticket.sold":
            order_id, sold_at, clerk, shift_id = _sale_fields(ev, p)
            for t in p.get("tickets", []):
                self.sell(t, order_id or t["ticket_id"], sold_at, clerk, shift_id)
        elif kind in ("ticket.refunded", "ticket.voided"):
            self.close(p.get("ticket_id"), "refunded" if kind == "ticket.refunded" else "voided",
                       p.get("refunded_at") or p.get("voided_at") or ev["created_at"])
        elif kind == "ticket.changed":
            new = p.get("new_ticket") or {}
            self.close(p.get("old_ticket_id"), "changed", p.get("changed_at") or ev["created_at"])
            if new:
                self.sell(new, p.get("old_ticket_id") or new["ticket_id"], p.get("changed_at") or ev["created_at"],
                          p.get("clerk"), p.get("shift_id"))
        elif kind == "ticket.picked_up":
            self.pick_up(p)
        elif kind == "ticket.reprinted":
            r = self.ticket(p.get("ticket_id"))
            if r is None:
                self.conflict("UNKNOWN_TICKET", ticket_id=p.get("ticket_id"), detail="reprint of an unknown ticket")
            else:
                self.conn.execute(models.tickets.update().where(models.tickets.c.ticket_id == r.ticket_id)
                                  .values(stock_no=p.get("new_stock_no")))
                # The paper printed before is superseded: a gate that checks it boards a conflict.
                add_reprint(self.conn, r.ticket_id, p.get("printed_version"))
                self.publish_ticket(r.ticket_id)
        elif kind in GATE_EVENTS:
            self.gate.apply(ev)
        elif kind in DEPARTURE_EVENTS:
            self.departure_actions.apply(ev)
        # shift.opened, shift.closed, stock.spoiled: kept as events, read by reconciliation.

    def sell(self, t: dict, order_id, sold_at, clerk, shift_id) -> None:
        # The hot path of a backlog drain (a call per ticket): names looked up once, rows built directly.
        ticket_id, departure_id, seat = t["ticket_id"], t.get("departure_id"), t.get("seat_no")
        known = self.known_ids
        if ticket_id in known:
            # Same ticket id in two events: the later one cannot be a second ticket.
            self.conflict("TICKET_NOT_ACTIVE", ticket_id=ticket_id, departure_id=departure_id, seat_no=seat,
                          detail="ticket id already on the server")
            return
        known.add(ticket_id)
        ready = self.sales.pop(id(t), None)
        doc_hash = ready[0][_DOC_HASH] if ready is not None else self.keys.server_hash(
            (t.get("passenger") or {}).get("doc_type"), (t.get("passenger") or {}).get("doc_number"))
        problem = self.sale_problem(departure_id, seat) or self.document_problem(departure_id, doc_hash)
        if ready is None or problem:
            status = "conflict" if problem else "active"
            ready = (ticket_values(t, "terminal", self.terminal_id, order_id, sold_at, clerk, shift_id, self.seq,
                                   status, self.keys), None,
                     sold_ticket_text(t, "terminal", self.terminal_id, order_id, sold_at, self.keys, status))
        self.ticket_rows.append(ready[0])
        if problem:
            self.flush()
            self.conflict(problem[0], ticket_id=ticket_id, departure_id=departure_id, seat_no=seat,
                          detail=problem[1])
        else:
            if doc_hash is not None:
                self.documents[departure_id][doc_hash] = ticket_id
            if seat is not None:
                self.take_seat(departure_id, seat, ticket_id, ready[1])
        dep = self.deps.get(departure_id)
        if dep is not None:
            # What the gates of the departure's station check this ticket against, offline.
            self.feed_rows.append(("gate_ticket", ticket_id, station_scope(dep.origin), False, ready[2], self.now))

    def document_problem(self, departure_id, doc_hash: str | None) -> tuple[str, str] | None:
        """One seat per document on a departure, across every channel: the server's own hash of the
        number the sale carries against the departure's live tickets (docs/protocol.md § Passenger data)."""
        if doc_hash is None or self.dep(departure_id) is None:
            return None
        held = self.documents.get(departure_id)
        if held is None:
            Tk = models.tickets
            held = self.documents[departure_id] = dict(self.conn.execute(
                select(Tk.c.doc_hash, Tk.c.ticket_id).where(Tk.c.departure_id == departure_id,
                                                           Tk.c.status == "active", Tk.c.doc_hash.is_not(None))).all())
        holder = held.get(doc_hash)
        return None if holder is None else ("DUPLICATE_DOCUMENT", f"the document already holds ticket {holder}")

    def sale_problem(self, departure_id, seat) -> tuple[str, str] | None:
        """(conflict kind, detail) when the sale cannot stand as the terminal made it, else None."""
        dep = self.deps[departure_id] if departure_id in self.deps else self.dep(departure_id)
        if dep is None:
            return ("UNKNOWN_DEPARTURE", "departure not known to the server")
        if dep.status == "cancelled":
            # Sold before the terminal heard of the cancellation: a fee-free refund task for it.
            return ("DEPARTURE_CANCELLED", "departure cancelled by the station")
        if seat is None:
            return None
        sold, leased, _ = self.maps[departure_id] if departure_id in self.maps else self.seat_map(departure_id)
        if not 1 <= seat <= dep.seats:
            return ("SEAT_INVALID", f"bus has {dep.seats} seats")
        if seat in sold:
            other = self.ticket(sold[seat])
            by = "web" if other is not None and other.channel == "web" else (other.terminal_id if other else "?")
            return ("SEAT_TAKEN", f"sold to ticket {sold[seat]} by {by}")
        if seat in leased and leased[seat][0] != self.terminal_id:
            return ("SEAT_LEASED", "seat leased to another terminal")
        return None

    def take_seat(self, departure_id: str, seat: int, ticket_id: str, seat_row: tuple | None) -> None:
        """The seat sold to ``ticket_id``: out of the seat maps and its lease, into the feed."""
        sold, leased, rows = self.maps[departure_id]
        sold[seat] = ticket_id
        leased.pop(seat, None)
        # The seat leaves whichever lease row it sat in: this terminal's, or a dead one.
        holder = rows.pop(seat, None)
        if holder is not None:
            self.lease_deletes.append({"d": departure_id, "s": seat})
            self.lease_touched.add((departure_id, holder))
        self.feed_rows.append(seat_row or ("seat", f"{departure_id}/{seat}", None, False,
                                           _sold_seat_text(departure_id, seat, "terminal", self.terminal_id,
                                                           ticket_id), self.now))

    def _publish_leased(self, departure_id: str, seat_no: int, terminal_id: str) -> None:
        for r in leased_seat_rows(departure_id, [seat_no], terminal_id):
            self.publish(r["kind"], r["key"], r["data"])

    def close(self, ticket_id, status: str, at: str) -> None:
        Tk = models.tickets
        r = self.ticket(ticket_id)
        if r is None:
            self.conflict("UNKNOWN_TICKET", ticket_id=ticket_id, detail=f"{status} of an unknown ticket")
            return
        if r.status not in ("active", "conflict"):
            self.conflict("TICKET_NOT_ACTIVE", ticket_id=ticket_id, departure_id=r.departure_id, seat_no=r.seat_no,
                          detail=f"ticket already {r.status}")
            return
        self.conn.execute(Tk.update().where(Tk.c.ticket_id == ticket_id)
                          .values(status=status, active_seat=None, closed_at=at))
        held = self.documents.get(r.departure_id)
        if held is not None and r.doc_hash and held.get(r.doc_hash) == ticket_id:
            del held[r.doc_hash]
        self.publish_ticket(ticket_id)
        if r.status == "conflict" or getattr(self.dep(r.departure_id), "status", None) == "cancelled":
            # A cancelled departure's ticket settled: its DEPARTURE_CANCELLED conflict is resolved too.
            self.resolve(ticket_id, {"changed": "reseated"}.get(status, status))
            return
        if r.seat_no is None:
            return
        sold, _, _ = self.seat_map(r.departure_id)
        sold.pop(r.seat_no, None)
        if not self.give_back(r.departure_id, r.seat_no):
            self.publish("seat", f"{r.departure_id}/{r.seat_no}", None)

    def give_back(self, departure_id: str, seat_no: int) -> bool:
        """A seat freed at this terminal returns to its lease while that lease lives, so the
        clerk can resell it offline (and the other terminals see it leased); otherwise to the
        pool. True when it went back into the lease."""
        self.flush()
        LS = models.lease_seats
        expiry = self.conn.execute(
            select(func.max(LS.c.expires_at)).where(LS.c.departure_id == departure_id,
                                                   LS.c.terminal_id == self.terminal_id, LS.c.expires_at > self.now)
        ).scalar_one()
        if expiry is None:
            return False
        _, leased, rows = self.seat_map(departure_id)
        if seat_no in leased:
            self._publish_leased(departure_id, seat_no, leased[seat_no][0])
            return True
        lease_id = ensure_lease(self.conn, departure_id, self.terminal_id, self.now)
        self.conn.execute(delete(LS).where(LS.c.departure_id == departure_id, LS.c.seat_no == seat_no))
        self.conn.execute(LS.insert().values(departure_id=departure_id, seat_no=seat_no, lease_id=lease_id,
                                             terminal_id=self.terminal_id, expires_at=expiry))
        leased[seat_no] = (self.terminal_id, expiry)
        prior = rows.get(seat_no)
        if prior is not None and prior != self.terminal_id:
            self.lease_touched.add((departure_id, prior))
        rows[seat_no] = self.terminal_id
        self.lease_touched.add((departure_id, self.terminal_id))
        self._publish_leased(departure_id, seat_no, self.terminal_id)
        return True

    def pick_up(self, p: dict) -> None:
        Tk = models.tickets
        r = self.ticket(p.get("ticket_id"))
        if r is None:
            self.conflict("UNKNOWN_TICKET", ticket_id=p.get("ticket_id"), detail="pick-up of an unknown ticket")
            return
        if r.status != "active":
            self.conflict("TICKET_NOT_ACTIVE", ticket_id=r.ticket_id, departure_id=r.departure_id, seat_no=r.seat_no,
                          detail=f"ticket is {r.status}")
            return
        if r.picked_up_by and r.picked_up_by != self.terminal_id:
            self.conflict("ALREADY_PICKED_UP", ticket_id=r.ticket_id, departure_id=r.departure_id, seat_no=r.seat_no,
                          detail=f"picked up by {r.picked_up_by} at {r.picked_up_at}")
            return
        self.conn.execute(Tk.update().where(Tk.c.ticket_id == r.ticket_id).values(
            stock_no=p.get("stock_no"), picked_up_at=p.get("picked_up_at"), picked_up_by=self.terminal_id))
        self.publish_ticket(r.ticket_id)  # its stock number: a gate finds the paper by it
        if r.channel == "web":
            r = self.ticket(r.ticket_id)
            dep = self.dep(r.departure_id)
            if dep is not None:  # its pick-up code and passenger: for the departure's own station only
                self.publish("web_ticket", r.ticket_id, web_ticket_data(r, self.keys), scope=station_scope(dep.origin))

    def finish(self) -> None:
        self.flush()
        for departure_id, holder in sorted(self.lease_touched):
            publish_lease(self.conn, departure_id, holder, self.now)

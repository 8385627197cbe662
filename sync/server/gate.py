"""The gate's events applied on the server (docs/protocol.md § The gate): a departure's check opened
and stopped, tickets checked and checks undone, ride changes (改乘), merges (并班), road bills.

A gate checks offline from what it holds, so the server is where two gates meet: a ticket checked a
second time -- at another gate, or on the paper a reprint superseded -- is a DOUBLE_BOARDING conflict
and the first check stands; a ticket boarded on paper that is no longer good (refunded, voided,
changed away, unknown, another bus, superseded by a reprint) is a conflict too. None of them is a
silent overwrite: the supervisor sees each as a task.

What a gate terminal may touch: only departures leaving from its own station (the departure an
event names, and for a ride change or merge both). Anything else is refused like every other event
a terminal had no business writing (``authz``): an alarm, a REFUSED conflict, nothing applied.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from sync import protocol
from sync.server import models
from sync.server.authz import Refused

GATE_EVENTS = frozenset({"gate.opened", "gate.stopped", "ticket.checked", "ticket.check_undone",
                         "ticket.ride_changed", "departure.merged", "roadbill.made", "roadbill.reprinted",
                         "roadbill.voided"})

# Conflict kinds the gate's events raise (each becomes a review task for the supervisor).
DOUBLE_BOARDING = "DOUBLE_BOARDING"  # checked a second time: another gate, or old and new paper
SUPERSEDED_PAPER = "SUPERSEDED_PAPER"  # first checked on paper older than the ticket's last print
BOARDED_INVALID = "BOARDED_INVALID"  # checked a ticket that was not good for that bus
CHECK_NOT_UNDONE = "CHECK_NOT_UNDONE"  # an undo the server cannot apply (no check, road bill made)
RIDE_CHANGE_INVALID = "RIDE_CHANGE_INVALID"  # a ride change of a ticket not on that bus, or to a taken seat
ROADBILL_INVALID = "ROADBILL_INVALID"  # a road bill number used twice, or a reprint/void of none
GATE_UNKNOWN_DEPARTURE = "GATE_UNKNOWN_DEPARTURE"  # a gate event for a departure the server does not know
CONFLICT_KINDS = (DOUBLE_BOARDING, SUPERSEDED_PAPER, BOARDED_INVALID, CHECK_NOT_UNDONE, RIDE_CHANGE_INVALID,
                  ROADBILL_INVALID, GATE_UNKNOWN_DEPARTURE)

# The departure ids each event names: all must leave from the terminal's own station.
_DEPARTURE_FIELDS = {
    "ride_changed": ("from_departure_id", "to_departure_id"),
    "merged": ("source_departure_id", "target_departure_id"),
}


def station_scope(station: str) -> str:
    """The feed scope of what only a station's own terminals may read (passenger data); a
    terminal reads its station's scope (``feed.scopes_of``)."""
    return f"station:{station}"


def _text(data) -> str:
    return protocol.canonical_json(data).decode("utf-8")


def gate_ticket_data(r, g, keys) -> dict:
    """A ticket as a gate needs it offline: where it sits, whether it is good, whom it is for (the
    name, the masked document and the 8-bit tag a tapped card is matched by), how often it was
    reprinted and whether, where and when it was checked. Never the pick-up code, the number or a
    document hash. ``keys``: ``documents.DocumentKeys``."""
    from sync.server.tickets import passenger_data

    checked = None
    if g is not None and g.checked_at:
        checked = {"checked_at": g.checked_at, "gate": g.gate, "terminal_id": g.terminal_id, "checker": g.checker,
                   "departure_id": g.departure_id, "via": g.via}
    return {
        "ticket_id": r.ticket_id, "departure_id": r.departure_id, "seat_no": r.seat_no, "status": r.status,
        "ticket_type": r.ticket_type, "stop": r.stop, "channel": r.channel, "terminal_id": r.terminal_id,
        "carried_by": r.carried_by, "stock_no": r.stock_no, "order_id": r.order_id, "sold_at": r.sold_at,
        "fare": r.fare, "price": r.price, "insurance": r.insurance,
        "passenger": passenger_data(r.passenger_name, r.doc_type, r.doc_number, keys),
        "reprints": 0 if g is None else int(g.reprints or 0),
        "check": checked,
        "ride_from": None if g is None else g.ride_from,
    }


def sold_ticket_text(t: dict, channel: str, terminal_id: str | None, order_id: str, sold_at: str, keys,
                     status: str = "active") -> str:
    """The gate row of a ticket just sold, from its sale event alone (no check, no reprint yet)."""
    from sync.server.tickets import passenger_data

    p = t.get("passenger") or {}
    return _text({
        "ticket_id": t["ticket_id"], "departure_id": t["departure_id"], "seat_no": t.get("seat_no"),
        "status": status, "ticket_type": t.get("ticket_type") or "", "stop": t.get("stop"), "channel": channel,
        "terminal_id": terminal_id, "carried_by": t.get("carried_by"), "stock_no": t.get("stock_no"),
        "order_id": order_id, "sold_at": sold_at, "fare": t.get("fare"), "price": t.get("price"),
        "insurance": t.get("insurance"),
        "passenger": passenger_data(p.get("name"), p.get("doc_type"), p.get("doc_number"), keys),
        "reprints": 0, "check": None, "ride_from": None,
    })


def check_row(conn, ticket_id: str):
    T = models.ticket_checks
    return conn.execute(select(T).where(T.c.ticket_id == ticket_id)).first()


def publish_ticket(conn, publish, ticket_id: str, origin_of, keys) -> None:
    """The ticket's gate row, to the terminals of its departure's station only. ``publish(kind, key,
    data, scope=)``; ``origin_of(departure_id)``: the departure's station, or None when unknown."""
    Tk = models.tickets
    r = conn.execute(select(Tk).where(Tk.c.ticket_id == ticket_id)).first()
    if r is None:
        return
    origin = origin_of(r.departure_id)
    if origin:
        publish("gate_ticket", ticket_id, gate_ticket_data(r, check_row(conn, ticket_id), keys),
                scope=station_scope(origin))


def add_reprint(conn, ticket_id: str, printed_version=None) -> None:
    """One more print of the ticket; the event's ``printed_version`` (the count the new paper's code
    carries) when it gives one, so a resent or reordered reprint cannot count twice."""
    T = models.ticket_checks
    g = check_row(conn, ticket_id)
    count = (0 if g is None else int(g.reprints or 0)) + 1
    if type(printed_version) is int and printed_version >= 1:
        count = max(printed_version, 0 if g is None else int(g.reprints or 0))
    if g is None:
        conn.execute(T.insert().values(ticket_id=ticket_id, reprints=count))
    else:
        conn.execute(T.update().where(T.c.ticket_id == ticket_id).values(reprints=count))


def _departure_record(dc) -> dict | None:
    if dc is None:
        return None
    return {"departure_id": dc.departure_id, "state": dc.state, "gate": dc.gate, "plate": dc.plate,
            "driver": dc.driver, "terminal_id": dc.terminal_id, "checker": dc.checker, "opened_at": dc.opened_at,
            "stopped_at": dc.stopped_at, "merged_into": dc.merged_into, "road_bill_no": dc.road_bill_no}


class GateEvents:
    """The gate's events of one batch, applied through its ``BatchContext`` (conflicts, feed rows)."""

    def __init__(self, ctx):
        self.ctx = ctx

    # ------------------------------------------------------------------ who may

    def check(self, ev: dict) -> None:
        """Raises ``Refused`` for a gate event about a departure of another station. An event
        without the documented fields raises TypeError: the batch is refused as malformed (422),
        as for every other event type."""
        p = ev["payload"]
        fields = _DEPARTURE_FIELDS.get(ev["type"].partition(".")[2], ("departure_id",))
        needed = fields + (("ticket_id",) if ev["type"].startswith("ticket.") else ()) + (
            ("number",) if ev["type"].startswith("roadbill.") else ())
        for name in needed:
            if not isinstance(p.get(name), str):
                raise TypeError(f"{name} must be a string")
        station = self.ctx.authority.station
        for name in fields:
            departure_id = p[name]
            dep = self.ctx.dep(departure_id)
            if dep is not None and dep.origin != station:
                raise Refused("FOREIGN_DEPARTURE", f"{ev['type']} on {departure_id}, a departure from {dep.origin}, "
                                                   f"not from this terminal's station {station}",
                              p.get("ticket_id"))

    # ------------------------------------------------------------------ applying

    def apply(self, ev: dict) -> None:
        p = ev["payload"]
        fields = _DEPARTURE_FIELDS.get(ev["type"].partition(".")[2], ("departure_id",))
        unknown = [p[f] for f in fields if self.ctx.dep(p[f]) is None]
        if unknown:
            self.ctx.conflict(GATE_UNKNOWN_DEPARTURE, departure_id=unknown[0],
                              detail=f"{ev['type']} on a departure the server does not know"
                                     + (f" (ticket {p['ticket_id']})" if p.get("ticket_id") else ""))
            return
        at = ev["created_at"]
        handler = getattr(self, "_" + ev["type"].replace(".", "_"))
        handler(p, at)

    @property
    def conn(self):
        return self.ctx.conn

    def _origin(self, departure_id: str) -> str | None:
        dep = self.ctx.dep(departure_id)
        return None if dep is None else dep.origin

    def _publish_ticket(self, ticket_id: str) -> None:
        self.ctx.flush()
        publish_ticket(self.conn, self.ctx.publish, ticket_id, self._origin, self.ctx.keys)

    def _departure(self, departure_id: str):
        D = models.departure_checks
        return self.conn.execute(select(D).where(D.c.departure_id == departure_id)).first()

    def _set_departure(self, departure_id: str, **values) -> None:
        D = models.departure_checks
        if self._departure(departure_id) is None:
            self.conn.execute(D.insert().values(departure_id=departure_id, state=values.pop("state", "waiting"),
                                                **values))
        elif values:
            self.conn.execute(D.update().where(D.c.departure_id == departure_id).values(**values))
        record = _departure_record(self._departure(departure_id))
        self.ctx.publish("departure_check", departure_id, record,
                         scope=station_scope(self._origin(departure_id)))

    def _merged_into(self, departure_id: str) -> str | None:
        dc = self._departure(departure_id)
        return None if dc is None else dc.merged_into

    # --- the departure's check

    def _gate_opened(self, p: dict, at: str) -> None:
        dc = self._departure(p["departure_id"])
        self._set_departure(p["departure_id"], state="late" if p.get("late") is True else "checking",
                            gate=p.get("gate"), plate=p.get("plate"), driver=p.get("driver"),
                            terminal_id=self.ctx.terminal_id, checker=p.get("checker"),
                            opened_at=dc.opened_at if dc is not None and dc.opened_at else at, stopped_at=None)

    def _gate_stopped(self, p: dict, at: str) -> None:
        self._set_departure(p["departure_id"], state="stopped", stopped_at=at, terminal_id=self.ctx.terminal_id,
                            checker=p.get("checker"), **({"gate": p["gate"]} if p.get("gate") else {}))

    def _departure_merged(self, p: dict, at: str) -> None:
        self._set_departure(p["source_departure_id"], state="merged", merged_into=p["target_departure_id"],
                            terminal_id=self.ctx.terminal_id)

    # --- tickets

    def _ticket_checked(self, p: dict, at: str) -> None:
        ctx, ticket_id, departure_id = self.ctx, p["ticket_id"], p["departure_id"]
        r = ctx.ticket(ticket_id)
        g = check_row(self.conn, ticket_id)
        paper = p.get("printed_version") if type(p.get("printed_version")) is int else 0
        reprints = 0 if g is None else int(g.reprints or 0)
        where = f"gate {p.get('gate')} of {ctx.terminal_id} at {at}"
        if g is not None and g.checked_at:
            # The first check stands; the second is the supervisor's to look at.
            ctx.conflict(DOUBLE_BOARDING, ticket_id=ticket_id, departure_id=departure_id,
                         seat_no=None if r is None else r.seat_no,
                         detail=f"checked at gate {g.gate} of {g.terminal_id} at {g.checked_at} "
                                f"(paper {g.printed_version}) and again at {where} (paper {paper}; "
                                f"{reprints} reprint(s))")
            return
        problem = self._not_good(r, departure_id)
        values = dict(checked_at=at, departure_id=departure_id, gate=p.get("gate"), terminal_id=ctx.terminal_id,
                      checker=p.get("checker"), via=p.get("via"), printed_version=paper, seq=ctx.seq)
        T = models.ticket_checks
        if g is None:
            self.conn.execute(T.insert().values(ticket_id=ticket_id, reprints=0, **values))
        else:
            self.conn.execute(T.update().where(T.c.ticket_id == ticket_id).values(**values))
        seat = None if r is None else r.seat_no
        if problem:
            ctx.conflict(BOARDED_INVALID, ticket_id=ticket_id, departure_id=departure_id, seat_no=seat,
                         detail=f"{problem}; boarded at {where}" + (" on a code this gate did not hold"
                                                                    if p.get("unknown") is True else ""))
        elif paper < reprints:
            ctx.conflict(SUPERSEDED_PAPER, ticket_id=ticket_id, departure_id=departure_id, seat_no=seat,
                         detail=f"paper {paper} boarded at {where}; the ticket was reprinted {reprints} time(s)")
        self._publish_ticket(ticket_id)

    def _not_good(self, r, departure_id: str) -> str | None:
        """Why ticket row ``r`` does not board ``departure_id``, or None when it does."""
        if r is None:
            return "ticket not known to the server"
        if r.status not in ("active", "conflict"):
            # A sale whose seat is in dispute (``conflict``) is still paid for: the seat is the
            # selling terminal's task, the boarding is not in question.
            return f"ticket is {r.status}"
        if r.departure_id != departure_id and self._merged_into(r.departure_id) != departure_id:
            return f"ticket of departure {r.departure_id}"
        return None

    def _ticket_check_undone(self, p: dict, at: str) -> None:
        ticket_id = p["ticket_id"]
        g = check_row(self.conn, ticket_id)
        if g is None or not g.checked_at:
            self.ctx.conflict(CHECK_NOT_UNDONE, ticket_id=ticket_id, departure_id=p["departure_id"],
                              detail="undo of a check the server does not have")
            return
        dc = self._departure(g.departure_id)
        if dc is not None and dc.road_bill_no:
            self.ctx.conflict(CHECK_NOT_UNDONE, ticket_id=ticket_id, departure_id=g.departure_id,
                              detail=f"undo after road bill {dc.road_bill_no} was made")
            return
        T = models.ticket_checks
        self.conn.execute(T.update().where(T.c.ticket_id == ticket_id).values(
            checked_at=None, departure_id=None, gate=None, terminal_id=None, checker=None, via=None,
            printed_version=None, seq=None))
        self._publish_ticket(ticket_id)

    def _ticket_ride_changed(self, p: dict, at: str) -> None:
        """The ticket moves to the target departure: its seat there taken as a sale takes one (free,
        not leased to another terminal), its old seat freed as a refund frees one."""
        ctx, ticket_id = self.ctx, p["ticket_id"]
        source, target = p["from_departure_id"], p["to_departure_id"]
        seat = p.get("seat_no") if type(p.get("seat_no")) is int else None
        r = ctx.ticket(ticket_id)
        problem = None
        if r is None or r.status != "active":
            problem = "ticket not known to the server" if r is None else f"ticket is {r.status}"
        elif r.departure_id != source:
            problem = f"ticket of departure {r.departure_id}, not {source}"
        elif seat is not None:
            ctx.seat_map(target)
            found = ctx.sale_problem(target, seat)
            problem = None if found is None else f"seat {seat} on {target}: {found[1]}"
        if problem:
            ctx.conflict(RIDE_CHANGE_INVALID, ticket_id=ticket_id, departure_id=target, seat_no=seat,
                         detail=f"ride change not applied: {problem}")
            return
        Tk = models.tickets
        self.conn.execute(Tk.update().where(Tk.c.ticket_id == ticket_id).values(
            departure_id=target, seat_no=seat, active_seat=None if seat is None else f"{target}#{seat}"))
        if r.seat_no is not None:
            sold, _, _ = ctx.seat_map(source)
            sold.pop(r.seat_no, None)
            if not ctx.give_back(source, r.seat_no):
                ctx.publish("seat", f"{source}/{r.seat_no}", None)
        if seat is not None:
            from sync.server.feed import sold_seat_text

            ctx.take_seat(target, seat, ticket_id, ("seat", f"{target}/{seat}", None, False,
                                                     sold_seat_text(target, seat, r.channel, r.terminal_id,
                                                                    ticket_id), ctx.now))
        T = models.ticket_checks
        if self.conn.execute(T.update().where(T.c.ticket_id == ticket_id).values(ride_from=source)).rowcount == 0:
            self.conn.execute(T.insert().values(ticket_id=ticket_id, reprints=0, ride_from=source))
        self._publish_ticket(ticket_id)

    # --- road bills

    def _bill(self, number: str):
        B = models.road_bills
        return self.conn.execute(select(B).where(B.c.terminal_id == self.ctx.terminal_id,
                                                 B.c.number == number)).first()

    def _roadbill_made(self, p: dict, at: str) -> None:
        number, departure_id = p["number"], p["departure_id"]
        if self._bill(number) is not None:
            self.ctx.conflict(ROADBILL_INVALID, departure_id=departure_id,
                              detail=f"road bill number {number} of {self.ctx.terminal_id} used twice")
            return
        self.conn.execute(models.road_bills.insert().values(
            terminal_id=self.ctx.terminal_id, number=number, departure_id=departure_id, data=_text(p),
            made_at=at, reprints=0))
        self._set_departure(departure_id, state="stopped", terminal_id=self.ctx.terminal_id,
                            road_bill_terminal=self.ctx.terminal_id,
                            road_bill_no=number, **{k: p[k] for k in ("gate", "plate", "driver") if p.get(k)})

    def _roadbill_reprinted(self, p: dict, at: str) -> None:
        bill = self._bill(p["number"])
        if bill is None:
            self.ctx.conflict(ROADBILL_INVALID, departure_id=p["departure_id"],
                              detail=f"reprint of road bill {p['number']}, which {self.ctx.terminal_id} never made")
            return
        B = models.road_bills
        self.conn.execute(B.update().where(B.c.terminal_id == bill.terminal_id, B.c.number == bill.number)
                          .values(reprints=B.c.reprints + 1))

    def _roadbill_voided(self, p: dict, at: str) -> None:
        bill = self._bill(p["number"])
        if bill is None or bill.voided_at:
            self.ctx.conflict(ROADBILL_INVALID, departure_id=p["departure_id"],
                              detail=f"void of road bill {p['number']}, which {self.ctx.terminal_id} "
                                     + ("voided already" if bill is not None else "never made"))
            return
        B = models.road_bills
        self.conn.execute(B.update().where(B.c.terminal_id == bill.terminal_id, B.c.number == bill.number)
                          .values(voided_at=at, void_reason=p.get("reason")))
        dc = self._departure(bill.departure_id)
        if dc is not None and dc.road_bill_no == bill.number and dc.road_bill_terminal == bill.terminal_id:
            self._set_departure(bill.departure_id, terminal_id=self.ctx.terminal_id, road_bill_terminal=None,
                                road_bill_no=None)


# ---------------------------------------------------------------------- the departure record (发班信息)


def departure_records(conn, day_bounds: tuple[datetime, datetime], local_day, station: str | None = None) -> list:
    """Each departure leaving within ``day_bounds`` (UTC, half-open): its vehicle, driver, gate and
    check state, the tickets checked onto it by destination, its road bill. ``local_day(instant)``
    gives the day a departure's time falls on (the caller's zone)."""
    D, DC, T, Tk, B = (models.departures, models.departure_checks, models.ticket_checks, models.tickets,
                       models.road_bills)
    q = select(D).where(D.c.departs_at >= day_bounds[0], D.c.departs_at < day_bounds[1])
    if station:
        q = q.where(D.c.origin == station)
    deps = conn.execute(q.order_by(D.c.departs_at, D.c.id)).all()
    ids = [d.id for d in deps]
    checks: dict[str, dict] = {i: {} for i in ids}
    states, bills = {}, {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for r in conn.execute(select(T.c.departure_id, Tk.c.stop, Tk.c.ticket_type)
                              .join(Tk, Tk.c.ticket_id == T.c.ticket_id)
                              .where(T.c.departure_id.in_(chunk), T.c.checked_at.is_not(None))):
            by = checks[r.departure_id]
            by[r.stop or ""] = by.get(r.stop or "", 0) + 1
        for dc in conn.execute(select(DC).where(DC.c.departure_id.in_(chunk))):
            states[dc.departure_id] = dc
        for b in conn.execute(select(B).where(B.c.departure_id.in_(chunk)).order_by(B.c.made_at)):
            bills.setdefault(b.departure_id, []).append(b)
    out = []
    for d in deps:
        dc = states.get(d.id)
        live = [b for b in bills.get(d.id, ()) if not b.voided_at]
        bill = live[-1] if live else None
        data = json.loads(bill.data) if bill is not None else {}
        out.append({
            "departure_id": d.id, "route": d.route, "origin": d.origin, "departs_at": d.departs_at.isoformat(),
            "day": local_day(d.departs_at), "seats": d.seats, "status": d.status,
            "state": dc.state if dc is not None else "waiting",
            "gate": dc.gate if dc is not None else None, "plate": dc.plate if dc is not None else None,
            "driver": dc.driver if dc is not None else None, "checker": dc.checker if dc is not None else None,
            "terminal_id": dc.terminal_id if dc is not None else None,
            "opened_at": dc.opened_at if dc is not None else None,
            "stopped_at": dc.stopped_at if dc is not None else None,
            "merged_into": dc.merged_into if dc is not None else None,
            "checked": sum(checks[d.id].values()),
            "checked_by_destination": dict(sorted(checks[d.id].items())),
            "road_bill": None if bill is None else {
                "number": bill.number, "terminal_id": bill.terminal_id, "made_at": bill.made_at,
                "reprints": bill.reprints, "totals": data.get("totals"), "fees": data.get("fees"),
                "rows": data.get("rows"), "checked": data.get("checked"),
                "free_children": data.get("free_children")},
            "road_bills_voided": [{"number": b.number, "terminal_id": b.terminal_id, "voided_at": b.voided_at,
                                   "reason": b.void_reason} for b in bills.get(d.id, ()) if b.voided_at],
        })
    return out

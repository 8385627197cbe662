"""A station supervisor's departure actions (docs/supervisor.md), applied from a terminal's upload.

``departure.cancelled`` (停班), ``departure.delayed`` (晚点) and ``departure.added`` (加班) change the
province's own record of a departure, so a terminal may write them only for a departure of its own
station: one about another station's departure, or one that does not hold together, is refused like
any event a terminal had no business writing (``authz.Refused``: an alarm for the province, a
``REFUSED`` conflict for the terminal, nothing applied).

Applied, each is published in the feed as the departure's new row, which every terminal pulls. A
cancellation also makes one ``DEPARTURE_CANCELLED`` conflict (seq 0: no event of that terminal caused
it) for every live ticket on the bus, at the terminal that sold it (or picked up its web ticket):
that terminal's clerks see it as a fee-free refund task. A web ticket nobody has picked up is
refunded in full at once; the web channel reads its status and hands the money back. An extra bus's seats are all leased to the
terminal that added it until it leaves, so that terminal's sales of it, online or not, never meet
another's.
"""

from __future__ import annotations

import re

from sqlalchemy import delete, select

from sync import protocol
from sync.server import feed, models, province
from sync.server.authz import Refused
from sync.server.clock import parse_instant
from sync.server.seats import departure, ensure_lease, leased_seat_rows, publish_lease, take_back
from sync.server.web import refund_web_ticket

DEPARTURE_EVENTS = frozenset({"departure.cancelled", "departure.delayed", "departure.added"})
CANCELLED = "DEPARTURE_CANCELLED"
MAX_SEATS = 99
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _instant(text, what: str):
    try:
        return parse_instant(text)
    except (TypeError, ValueError, AttributeError):
        raise Refused("BAD_EVENT", f"{what} is not an instant: {text!r}") from None


def _text(data) -> str:
    return protocol.canonical_json(data).decode("utf-8")


class DepartureActions:
    """The checks and the applying of the three events, inside a batch (``batch.BatchContext``)."""

    def __init__(self, ctx):
        self.ctx = ctx

    # ------------------------------------------------------------------ the checks

    def check(self, ev: dict) -> None:
        p, kind = ev["payload"], ev["type"]
        station = self.ctx.authority.station
        departure_id = p["departure_id"]
        if not isinstance(departure_id, str) or not departure_id:
            raise Refused("BAD_EVENT", f"{kind} without a departure id")
        if kind == "departure.added":
            self._check_added(p, station)
            return
        dep = self.ctx.dep(departure_id)
        if dep is None:
            raise Refused("BAD_EVENT", f"{kind} of {departure_id}, a departure the province does not know")
        if dep.origin != station:
            raise Refused("FOREIGN_DEPARTURE", f"{kind} on {departure_id}, a departure from {dep.origin}, "
                                               f"not from this terminal's station {station}")
        if kind == "departure.delayed":
            if not (_DATE.match(str(p["date"])) and _TIME.match(str(p["time"]))):
                raise Refused("BAD_EVENT", f"a delay to {p['date']!r} {p['time']!r}")
            if _instant(p["new_departs_at"], "new_departs_at") <= dep.departs_at:
                raise Refused("BAD_EVENT", f"a delay of {departure_id} to no later a time")

    def _check_added(self, p: dict, station: str) -> None:
        departure_id = p["departure_id"]
        route = province.get_master(self.ctx.conn, "route", p["route"])
        if route is None:
            raise Refused("BAD_EVENT", f"an extra departure on {p['route']!r}, a route the province does not know")
        if route.get("origin") != station:
            raise Refused("FOREIGN_DEPARTURE", f"an extra departure on route {p['route']} from {route.get('origin')}, "
                                               f"not from this terminal's station {station}")
        if not departure_id.startswith(f"{station}-") or self.ctx.dep(departure_id) is not None:
            raise Refused("BAD_EVENT", f"extra departure id {departure_id!r} is taken or not of station {station}")
        if province.get_master(self.ctx.conn, "vehicle_class", p["vehicle_class"]) is None:
            raise Refused("BAD_EVENT", f"an extra departure of vehicle class {p['vehicle_class']!r}")
        seats = p["seats"]
        if isinstance(seats, bool) or not isinstance(seats, int) or not 1 <= seats <= MAX_SEATS:
            raise Refused("BAD_EVENT", f"an extra departure of {seats!r} seats")
        if not (_DATE.match(str(p["date"])) and _TIME.match(str(p["time"]))):
            raise Refused("BAD_EVENT", f"an extra departure at {p['date']!r} {p['time']!r}")
        _instant(p["departs_at"], "departs_at")

    # ------------------------------------------------------------------ applying

    def apply(self, ev: dict) -> None:
        self.ctx.flush()  # the feed keeps the batch's order: what came before is written first
        p, kind = ev["payload"], ev["type"]
        if kind == "departure.cancelled":
            self._cancel(p)
        elif kind == "departure.delayed":
            self._delay(p)
        else:
            self._add(p)
        # Later events of the batch see the departure as it now is.
        self.ctx.deps[p["departure_id"]] = departure(self.ctx.conn, p["departure_id"])
        self.ctx.maps.pop(p["departure_id"], None)

    def _master(self, departure_id: str) -> dict:
        return province.get_master(self.ctx.conn, "departure", departure_id) or {}

    def _put_master(self, departure_id: str, data: dict) -> None:
        M = models.master
        conn = self.ctx.conn
        conn.execute(delete(M).where(M.c.kind == "departure", M.c.key == departure_id))
        conn.execute(M.insert().values(kind="departure", key=departure_id, data=_text(data)))
        feed.publish(conn, "departure", departure_id, data, at=self.ctx.now)

    def _cancel(self, p: dict) -> None:
        conn, now, departure_id = self.ctx.conn, self.ctx.now, p["departure_id"]
        data = {**self._master(departure_id), "status": "cancelled"}
        self._put_master(departure_id, data)
        D = models.departures
        conn.execute(D.update().where(D.c.id == departure_id).values(status="cancelled"))
        take_back(conn, models.lease_seats.c.departure_id == departure_id, now)
        Tk = models.tickets
        live = conn.execute(select(Tk).where(Tk.c.departure_id == departure_id, Tk.c.status == "active",
                                             Tk.c.carried_by.is_(None)).order_by(Tk.c.ticket_id)).all()
        reason = str(p.get("reason") or "")
        for t in live:
            holder = t.terminal_id if t.channel == "terminal" else t.picked_up_by
            if not holder:
                # A web ticket nobody picked up has no counter to settle it: refunded in full now,
                # and the web channel, which reads its status, hands the money back.
                refund_web_ticket(conn, t, now, self.ctx.keys)
                continue
            detail = f"departure cancelled by {self.ctx.terminal_id}: {reason}"
            conn.execute(models.conflicts.insert().values(
                terminal_id=holder, seq=0, kind=CANCELLED, ticket_id=t.ticket_id, departure_id=departure_id,
                seat_no=t.seat_no, detail=detail, status="open", created_at=now))
            feed.publish(conn, "conflict", f"0/{t.ticket_id}",
                         {"seq": 0, "kind": CANCELLED, "ticket_id": t.ticket_id, "departure_id": departure_id,
                          "seat_no": t.seat_no, "detail": detail, "status": "open"}, at=now, scope=holder)

    def _delay(self, p: dict) -> None:
        conn, departure_id = self.ctx.conn, p["departure_id"]
        data = {**self._master(departure_id), "date": p["date"], "time": p["time"], "status": "delayed"}
        self._put_master(departure_id, data)
        D = models.departures
        conn.execute(D.update().where(D.c.id == departure_id).values(
            departs_at=_instant(p["new_departs_at"], "new_departs_at"), status="delayed"))

    def _add(self, p: dict) -> None:
        conn, now, terminal_id = self.ctx.conn, self.ctx.now, self.ctx.terminal_id
        departure_id, seats = p["departure_id"], int(p["seats"])
        departs_at = _instant(p["departs_at"], "departs_at")
        data = {"id": departure_id, "schedule_code": str(p.get("schedule_code") or ""), "route": p["route"],
                "date": p["date"], "time": p["time"], "vehicle_class": p["vehicle_class"], "seats": seats,
                "gate": p.get("gate") or None, "status": "normal", "extra": True,
                "stop_sale_minutes": int(p.get("stop_sale_minutes") or 0)}
        self._put_master(departure_id, data)
        route = province.get_master(conn, "route", p["route"]) or {}
        conn.execute(models.departures.insert().values(
            id=departure_id, route=p["route"], origin=route.get("origin", ""), vehicle_class=p["vehicle_class"],
            departs_at=departs_at, seats=seats, status="normal", stop_sale_minutes=data["stop_sale_minutes"]))
        lease_id = ensure_lease(conn, departure_id, terminal_id, now)
        conn.execute(models.lease_seats.insert(), [
            {"departure_id": departure_id, "seat_no": s, "lease_id": lease_id, "terminal_id": terminal_id,
             "expires_at": departs_at} for s in range(1, seats + 1)])
        publish_lease(conn, departure_id, terminal_id, now)
        feed.publish_many(conn, leased_seat_rows(departure_id, range(1, seats + 1), terminal_id), at=now)


"""The web channel: online orders from the free pool, their refunds, and the pick-up code a
terminal looks a web ticket up by."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select

from app.domain.stock import parse_terminal_id
from sync.protocol import ProtocolError
from sync.server import feed, models, province
from sync.server.clock import iso
from sync.server.context import ServerContext
from sync.server.documents import DocumentKey
from sync.server.gate import check_row, gate_ticket_data, station_scope
from sync.server.seats import check_departure_open, departure, free_seats, seat_map
from sync.server.tickets import active_document_holder, publish_seat, ticket_dict, ticket_row, web_ticket_data


def price(conn, dep, stop: str, ticket_type: str) -> tuple[int, int]:
    """(full fare, price) of a ticket of ``ticket_type`` to ``stop``."""
    fare = province.get_master(conn, "fare", province.fare_key(dep.route, dep.origin, stop, dep.vehicle_class))
    if fare is None:
        raise ProtocolError("UNKNOWN_FARE", departure_id=dep.id, stop=stop)
    row = province.get_master(conn, "ticket_type", ticket_type)
    if row is None:
        raise ProtocolError("INVALID_REQUEST", f"unknown ticket type {ticket_type!r}")
    from app.domain.ticket_types import TicketTypeTable

    full = int(fare["full_fare"])
    try:
        # The domain's own rule, so a web ticket costs what the same ticket costs at a window.
        return full, TicketTypeTable.from_rows([row]).price(full, ticket_type)
    except Exception as exc:  # a ticket-type row the domain refuses: the province data is at fault
        raise ProtocolError("INVALID_REQUEST", f"ticket type {ticket_type!r} unusable: {exc}") from None


def _insurance(conn, asked) -> int:
    """A passenger's insurance: none, or the province's one line at its one price. Any other figure
    (a negative one would take money off the order) is refused, not rounded into shape."""
    if asked is None or asked is False or asked == 0:
        return 0
    offer = province.get_master(conn, "setting", "insurance") or {}
    offered = offer.get("price") if isinstance(offer, dict) else None
    if asked is True and offered:
        return int(offered)
    if isinstance(asked, bool) or not isinstance(asked, int) or asked != offered:
        raise ProtocolError("INVALID_REQUEST", f"insurance {asked!r}: the province's insurance costs {offered}",
                            errors=[{"loc": ["body", "passengers", "insurance"],
                                     "msg": f"0 or the province's insurance price {offered}"}])
    return asked


def _pickup_code(conn) -> str:
    Tk = models.tickets
    while True:
        code = "".join(secrets.choice("0123456789") for _ in range(8))
        if conn.execute(select(Tk.c.ticket_id).where(Tk.c.pickup_code == code)).first() is None:
            return code


def _publish_passenger_rows(conn, r, now: datetime, keys) -> None:
    """A web ticket's pick-up row and its gate row: passenger data, so only to the terminals of the
    departure's own station (docs/protocol.md § Passenger data in the feed)."""
    dep = departure(conn, r.departure_id)
    if dep is None:
        return
    scope = station_scope(dep.origin)
    feed.publish(conn, "web_ticket", r.ticket_id, web_ticket_data(r, keys), at=now, scope=scope)
    feed.publish(conn, "gate_ticket", r.ticket_id, gate_ticket_data(r, check_row(conn, r.ticket_id), keys), at=now,
                 scope=scope)


def refund_web_ticket(conn, r, now: datetime, keys):
    """Refunds a live web ticket not picked up, in full (the web channel hands the money back):
    its seat freed, its pick-up and gate rows told. Returns the ticket's row as it now is."""
    Tk = models.tickets
    conn.execute(Tk.update().where(Tk.c.ticket_id == r.ticket_id)
                 .values(status="refunded", active_seat=None, closed_at=iso(now)))
    publish_seat(conn, r.departure_id, r.seat_no, now)
    r = conn.execute(select(Tk).where(Tk.c.ticket_id == r.ticket_id)).first()
    _publish_passenger_rows(conn, r, now, keys)
    return r


def _station_of(terminal_id: str) -> str | None:
    try:
        return parse_terminal_id(terminal_id)[0]
    except ValueError:
        return None


class _SeatPicker:
    """Seats for an order's passengers, from the seats neither sold nor leased nor taken by an
    earlier passenger of the same order."""

    def __init__(self, dep, departure_id: str, sold, leased):
        self.dep, self.departure_id, self.sold, self.leased = dep, departure_id, sold, leased
        self.taken: set[int] = set()
        self.documents: set[str] = set()  # the server's document hashes of the order's passengers so far

    def pick(self, seat: int | None) -> int:
        d, departure_id = self.dep, self.departure_id
        if seat is None:
            seat = next(free_seats(d, self.sold, self.leased, self.taken), None)
            if seat is None:
                raise ProtocolError("NO_SEATS", departure_id=departure_id)
        elif not 1 <= seat <= d.seats:
            raise ProtocolError("SEAT_INVALID", departure_id=departure_id, seat_no=seat)
        elif seat in self.sold or seat in self.taken:
            raise ProtocolError("SEAT_TAKEN", departure_id=departure_id, seat_no=seat)
        elif seat in self.leased:
            raise ProtocolError("SEAT_LEASED", departure_id=departure_id, seat_no=seat)
        self.taken.add(seat)
        return seat


class WebChannel:
    def __init__(self, ctx: ServerContext, documents: DocumentKey):
        self.ctx, self.documents = ctx, documents

    def web_order(self, departure_id: str, stop: str, passengers: list[dict], payment: dict | None = None) -> dict:
        now = self.ctx.now()
        if not passengers:
            raise ProtocolError("INVALID_REQUEST", "an order needs at least one passenger")
        self._check_money(passengers, now)
        with self.ctx.tx(departures=[departure_id]) as conn:
            dep = departure(conn, departure_id)
            check_departure_open(dep, departure_id, now)
            seats = _SeatPicker(dep, departure_id, *seat_map(conn, departure_id, now))
            order_id = "W" + now.strftime("%Y%m%d") + secrets.token_hex(5).upper()
            rows = [self._ticket(conn, dep, stop, p, seats, f"{order_id}-{i + 1}", order_id, now)
                    for i, p in enumerate(passengers)]
            conn.execute(models.tickets.insert(), rows)
            result = self._publish_order(conn, departure_id, rows, now, self.documents.keys)
        total = sum(t["price"] + t["insurance"] for t in result)
        return {"order_id": order_id, "tickets": result, "amount": total, "payment": payment or {}}

    def _check_money(self, passengers: list[dict], now: datetime) -> None:
        """The order's own money (each passenger's insurance) before anything is written; a figure the
        rules do not give is refused and recorded as an alarm for the province (terminal ``web``)."""
        with self.ctx.reader() as conn:
            try:
                for p in passengers:
                    _insurance(conn, p.get("insurance"))
                return
            except ProtocolError as exc:
                refusal = exc
        with self.ctx.tx() as conn:
            conn.execute(models.alarms.insert().values(terminal_id="web", kind="BAD_AMOUNT", seq=None,
                                                       detail=f"web order refused: {refusal}", created_at=now))
        raise refusal

    def _ticket(self, conn, dep, stop: str, p: dict, seats: _SeatPicker, ticket_id: str, order_id: str,
                now: datetime) -> dict:
        """One passenger's ticket row, with its seat (unless the ticket type needs none) and price."""
        ticket_type = p.get("ticket_type") or "full"
        tt = province.get_master(conn, "ticket_type", ticket_type)
        needs_seat = True if tt is None else bool(tt.get("needs_seat", True))
        seat = seats.pick(p.get("seat_no")) if needs_seat else None
        fare, amount = price(conn, dep, stop, ticket_type)
        insurance = _insurance(conn, p.get("insurance"))
        ticket = {
            "ticket_id": ticket_id, "departure_id": dep.id, "seat_no": seat,
            "ticket_type": ticket_type, "fare": fare, "price": amount,
            "insurance": insurance, "stop": stop,
            "passenger": {"name": p.get("name"), "doc_type": p.get("doc_type"), "doc_number": p.get("doc_number"),
                          },
        }
        row = ticket_row(ticket, channel="web", terminal_id=None, order_id=order_id, sold_at=iso(now),
                         keys=self.documents.keys)
        if p.get("doc_number") and row["doc_hash"] is None:
            raise ProtocolError("INVALID_REQUEST", f"document type not valid: {p.get('doc_type')!r}")
        if row["doc_hash"] is not None:
            # One seat per document across every channel, by the server's own hash.
            if row["doc_hash"] in seats.documents or active_document_holder(conn, dep.id, row["doc_hash"]):
                raise ProtocolError("DUPLICATE_DOCUMENT", departure_id=dep.id)
            seats.documents.add(row["doc_hash"])
        row["pickup_code"] = _pickup_code(conn)
        return row

    @staticmethod
    def _publish_order(conn, departure_id: str, rows: list[dict], now: datetime, keys) -> list[dict]:
        Tk = models.tickets
        result = []
        for row in rows:
            r = conn.execute(select(Tk).where(Tk.c.ticket_id == row["ticket_id"])).first()
            publish_seat(conn, departure_id, r.seat_no, now, ticket=r.ticket_id, channel="web")
            _publish_passenger_rows(conn, r, now, keys)
            result.append(ticket_dict(r, keys, full=True))
        return result

    def web_refund(self, ticket_id: str) -> dict:
        now = self.ctx.now()
        Tk = models.tickets
        with self.ctx.tx() as conn:
            r = conn.execute(select(Tk).where(Tk.c.ticket_id == ticket_id)).first()
            if r is None or r.channel != "web":
                raise ProtocolError("UNKNOWN_TICKET", ticket_id=ticket_id)
            if r.status != "active":
                raise ProtocolError("TICKET_NOT_ACTIVE", ticket_id=ticket_id, ticket_status=r.status)
            if r.picked_up_at:
                raise ProtocolError("ALREADY_PICKED_UP", ticket_id=ticket_id, picked_up_by=r.picked_up_by)
            return ticket_dict(refund_web_ticket(conn, r, now, self.documents.keys), self.documents.keys, full=True)

    def web_ticket(self, ticket_id: str) -> dict:
        """A web ticket as the web channel shows its passenger: its status above all (a cancelled
        bus refunds the tickets nobody picked up, and the web channel hands the money back)."""
        Tk = models.tickets
        with self.ctx.reader() as conn:
            r = conn.execute(select(Tk).where(Tk.c.ticket_id == ticket_id)).first()
        if r is None or r.channel != "web":
            raise ProtocolError("UNKNOWN_TICKET", ticket_id=ticket_id)
        return ticket_dict(r, self.documents.keys, full=True)

    def find_web_ticket(self, pickup_code: str, *, terminal_id: str | None = None) -> dict:
        """The web ticket of a pick-up code. Asked by a terminal (``terminal_id``): only a ticket of a
        departure leaving from that terminal's station -- another station's passengers are not its
        to see, and the answer is the same as for a code that does not exist."""
        Tk = models.tickets
        with self.ctx.reader() as conn:
            r = conn.execute(select(Tk).where(Tk.c.pickup_code == pickup_code)).first()
            dep = None if r is None else departure(conn, r.departure_id)
        if r is None or (terminal_id is not None and (dep is None or dep.origin != _station_of(terminal_id))):
            raise ProtocolError("UNKNOWN_TICKET", pickup_code=pickup_code)
        return web_ticket_data(r, self.documents.keys)

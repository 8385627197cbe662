"""A ticket as the server stores it (a row of ``models.tickets``) and as it answers it (a dict)."""

from __future__ import annotations

from datetime import datetime

from sync.server import feed
from sync.server.documents import DocumentKeys

TICKET_COLUMNS = ("ticket_id", "order_id", "channel", "terminal_id", "departure_id", "seat_no", "active_seat",
                  "status", "ticket_type", "fare", "price", "insurance", "stop", "passenger_name", "doc_type",
                  "doc_number", "doc_hash", "carried_by", "stock_no", "clerk", "shift_id", "sold_at", "sold_seq")


def mask_document(number: str | None) -> str | None:
    """The terminal's mask (``app.domain.identity.mask``): one rule on paper, in the feed and exports."""
    if not number:
        return number
    from app.domain.identity import mask

    return mask(number)


def passenger_data(name, doc_type, doc_number, keys: DocumentKeys) -> dict:
    """Whom a ticket is for, as anything the server sends shows it: the name, the mask and the 8-bit
    tag -- never the number, nor a hash a terminal's key could test numbers against."""
    return {"name": name, "doc_type": doc_type, "doc_masked": mask_document(doc_number),
            "doc_tag": keys.tag(doc_type, doc_number)}


def ticket_values(t: dict, channel: str, terminal_id: str | None, order_id: str, sold_at: str,
                  clerk, shift_id, seq, status, keys: DocumentKeys) -> tuple:
    """A ticket's row in ``TICKET_COLUMNS`` order. ``doc_hash`` is the server's own hash of the number
    the sale carries (``DocumentKeys.server_hash``); a ``doc_hash`` a terminal sent is not used."""
    g = t.get
    p = g("passenger") or {}
    seat = g("seat_no")
    departure_id = t["departure_id"]
    return (
        t["ticket_id"], order_id, channel, terminal_id, departure_id, seat,
        f"{departure_id}#{seat}" if (seat is not None and status == "active") else None,
        status, g("ticket_type") or "", int(g("fare") or 0), int(g("price") or 0), int(g("insurance") or 0),
        g("stop"), p.get("name"), p.get("doc_type"), p.get("doc_number"),
        keys.server_hash(p.get("doc_type"), p.get("doc_number")), g("carried_by"),
        g("stock_no"), clerk, shift_id, sold_at, seq,
    )


def active_document_holder(conn, departure_id: str, doc_hash: str) -> str | None:
    """The live ticket on the departure whose passenger's document has the server's hash ``doc_hash``."""
    from sqlalchemy import select

    from sync.server import models

    Tk = models.tickets
    return conn.execute(select(Tk.c.ticket_id).where(
        Tk.c.departure_id == departure_id, Tk.c.doc_hash == doc_hash, Tk.c.status == "active").limit(1)).scalar()


def ticket_row(t: dict, *, channel: str, terminal_id: str | None, order_id: str, sold_at: str, keys: DocumentKeys,
               clerk=None, shift_id=None, seq=None, status="active") -> dict:
    return dict(zip(TICKET_COLUMNS, ticket_values(
        t, channel, terminal_id, order_id, sold_at, clerk, shift_id, seq, status, keys), strict=True))


def ticket_dict(r, keys: DocumentKeys, *, full: bool = False) -> dict:
    d = {
        "ticket_id": r.ticket_id, "order_id": r.order_id, "channel": r.channel, "terminal_id": r.terminal_id,
        "departure_id": r.departure_id, "seat_no": r.seat_no, "status": r.status,
        "ticket_type": r.ticket_type, "fare": r.fare, "price": r.price, "insurance": r.insurance,
        "stop": r.stop,
        "passenger": passenger_data(r.passenger_name, r.doc_type, r.doc_number, keys),
        "carried_by": r.carried_by, "stock_no": r.stock_no, "clerk": r.clerk, "shift_id": r.shift_id,
        "sold_at": r.sold_at, "sold_seq": r.sold_seq, "closed_at": r.closed_at,
        "picked_up_at": r.picked_up_at, "picked_up_by": r.picked_up_by,
    }
    if full:
        d["passenger"]["doc_number"] = r.doc_number
        d["pickup_code"] = r.pickup_code
    return d


def web_ticket_data(r, keys: DocumentKeys) -> dict:
    """A web ticket as the feed carries it: the terminals find it by its pick-up code."""
    d = ticket_dict(r, keys)
    d["pickup_code"] = r.pickup_code
    return d


def publish_seat(conn, departure_id: str, seat_no: int | None, now: datetime, *,
                 ticket=None, channel=None, terminal_id=None) -> None:
    if seat_no is None:
        return
    key = f"{departure_id}/{seat_no}"
    if ticket is None:
        feed.tombstone(conn, "seat", key, at=now)
    else:
        feed.publish(conn, "seat", key, {"departure_id": departure_id, "seat_no": seat_no, "state": "sold",
                                         "channel": channel, "terminal_id": terminal_id, "ticket_id": ticket},
                     at=now)

"""A ticket as the server stores it (a row of ``models.tickets``) and as it answers it (a dict)."""

from __future__ import annotations

from datetime import datetime

from sync.server import feed

TICKET_COLUMNS = ("ticket_id", "order_id", "channel", "terminal_id", "departure_id", "seat_no", "active_seat",
                  "status", "ticket_type", "fare", "price", "insurance", "stop", "passenger_name", "doc_type",
                  "doc_number", "doc_hash", "carried_by", "stock_no", "clerk", "shift_id", "sold_at", "sold_seq")


def mask_document(number: str | None) -> str | None:
    if not number:
        return number
    if len(number) <= 10:
        return number[:2] + "*" * max(0, len(number) - 4) + number[-2:]
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def ticket_values(t: dict, channel: str, terminal_id: str | None, order_id: str, sold_at: str,
                  clerk, shift_id, seq, status) -> tuple:
    """A ticket's row in ``TICKET_COLUMNS`` order."""
    g = t.get
    p = g("passenger") or {}
    seat = g("seat_no")
    departure_id = t["departure_id"]
    return (
        t["ticket_id"], order_id, channel, terminal_id, departure_id, seat,
        f"{departure_id}#{seat}" if (seat is not None and status == "active") else None,
        status, g("ticket_type") or "", int(g("fare") or 0), int(g("price") or 0), int(g("insurance") or 0),
        g("stop"), p.get("name"), p.get("doc_type"), p.get("doc_number"), p.get("doc_hash"), g("carried_by"),
        g("stock_no"), clerk, shift_id, sold_at, seq,
    )


def ticket_row(t: dict, *, channel: str, terminal_id: str | None, order_id: str, sold_at: str,
               clerk=None, shift_id=None, seq=None, status="active") -> dict:
    return dict(zip(TICKET_COLUMNS, ticket_values(
        t, channel, terminal_id, order_id, sold_at, clerk, shift_id, seq, status), strict=True))


def ticket_dict(r, *, full: bool = False) -> dict:
    d = {
        "ticket_id": r.ticket_id, "order_id": r.order_id, "channel": r.channel, "terminal_id": r.terminal_id,
        "departure_id": r.departure_id, "seat_no": r.seat_no, "status": r.status,
        "ticket_type": r.ticket_type, "fare": r.fare, "price": r.price, "insurance": r.insurance,
        "stop": r.stop,
        "passenger": {"name": r.passenger_name, "doc_type": r.doc_type,
                      "doc_masked": mask_document(r.doc_number), "doc_hash": r.doc_hash},
        "carried_by": r.carried_by, "stock_no": r.stock_no, "clerk": r.clerk, "shift_id": r.shift_id,
        "sold_at": r.sold_at, "sold_seq": r.sold_seq, "closed_at": r.closed_at,
        "picked_up_at": r.picked_up_at, "picked_up_by": r.picked_up_by,
    }
    if full:
        d["passenger"]["doc_number"] = r.doc_number
        d["pickup_code"] = r.pickup_code
    return d


def web_ticket_data(r) -> dict:
    """A web ticket as the feed carries it: the terminals find it by its pick-up code."""
    d = ticket_dict(r)
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

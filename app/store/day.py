"""The station's day as this terminal knows it: the money its counters took and handed back, and the
departures of the day with what its gate saw. What the supervisor's screen shows offline
(app/services/supervisor.py); online it shows the province's figures instead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.store.models import iso_utc


@dataclass(frozen=True)
class Tally:
    count: int
    amount: int  # fen, as money handed over (positive)
    fees: int = 0  # fen kept by the station (refunds)


def _bounds(start: datetime, end: datetime) -> tuple[str, str]:
    return iso_utc(start), iso_utc(end)


def window_sales(cur, start: datetime, end: datetime) -> Tally:
    """Tickets first sold at a counter of this terminal within [start, end) (changes left out)."""
    cur.execute(
        "SELECT count(*), coalesce(sum(t.price + t.insurance), 0) FROM tickets t "
        "JOIN payments p ON p.order_id = t.order_id AND p.kind = 'sale' "
        "WHERE t.changed_from IS NULL AND p.at >= ? AND p.at < ?", _bounds(start, end))
    return Tally(*cur.fetchone())


def web_sales(cur, start: datetime, end: datetime) -> Tally:
    """Web tickets this terminal holds (picked up here or pulled for its gate) sold within [start, end)."""
    cur.execute(
        "SELECT count(*), coalesce(sum(t.price + t.insurance), 0) FROM tickets t JOIN orders o ON o.id = t.order_id "
        "WHERE o.channel = 'web' AND t.sold_at >= ? AND t.sold_at < ?", _bounds(start, end))
    return Tally(*cur.fetchone())


def paid_out(cur, kind: str, start: datetime, end: datetime) -> Tally:
    """Refunds, voids or changes paid at this terminal within [start, end): how many, the money
    (handed back: positive; a change's amount is what the passenger paid, negative when handed back),
    and for refunds the fees kept (price and insurance less what went back)."""
    cur.execute(
        "SELECT count(*), coalesce(-sum(p.amount), 0), coalesce(sum(t.price + t.insurance + p.amount), 0) "
        "FROM payments p JOIN tickets t ON t.id = p.ticket_id WHERE p.kind = ? AND p.at >= ? AND p.at < ?",
        (kind, *_bounds(start, end)))
    count, amount, fees = cur.fetchone()
    return Tally(count, amount, fees if kind == "refund" else 0)


@dataclass(frozen=True)
class DayDeparture:
    departure_id: str
    time: str
    route: str
    status: str
    seats: int
    sold: int  # live tickets
    checked: int  # live checks at the gate (of this terminal, and those pulled from the station's gates)
    road_bill: str | None
    extra: bool  # an extra bus (加班)


def departures_of_day(cur, day: str, station: str) -> list[DayDeparture]:
    cur.execute(
        "SELECT d.id, d.time, coalesce(r.name, d.route), d.status, d.seats, "
        "(SELECT count(*) FROM tickets t WHERE t.departure_id = d.id AND t.status = 'active'), "
        "(SELECT count(*) FROM gate_checks c WHERE c.departure_id = d.id AND c.undone_at IS NULL), "
        "(SELECT b.number FROM road_bills b WHERE b.departure_id = d.id AND b.voided_at IS NULL "
        " ORDER BY b.made_at DESC LIMIT 1), d.extra "
        "FROM departures d JOIN routes r ON r.code = d.route WHERE d.date = ? AND r.origin = ? ORDER BY d.time, d.id",
        (day, station))
    return [DayDeparture(*row[:8], bool(row[8])) for row in cur.fetchall()]


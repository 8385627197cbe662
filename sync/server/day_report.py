"""The station's and the province's day in figures, from what the server holds (docs/reports.md).

Three reports of one local day:

- **station**: per station, tickets by channel (window, web), refunds and their fees, changes, voids,
  and the money kept (``net``); a window's figures belong to the station of the terminal that took
  the money, a web ticket's to the station its departure leaves from.
- **carrier**: the same figures per carrier (承运企业, the route's ``carrier``), and the clearing
  (清分) of the day's departures: the fares on their road bills, the station fee and the agency fee
  the province document's gate settings give, and what is due to the carrier.
- **departures**: per departure, the seats sold, the passengers checked, its road bill and its clearing.

Money is integer fen throughout; each fee is rounded once per road bill and the sums are sums of
those, so ``fares = carrier_due + station_fee + agency_fee`` holds on every row and on the totals.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from app.domain.gate import GateSettings
from sync.server import models
from sync.server.authz import REFUSAL_KINDS
from sync.server.clock import parse_instant
from sync.server.gate import departure_records

UNASSIGNED = ""  # the carrier of a route whose record names none

# The figures of the day's selling, in the order the reports show them.
SALES_FIELDS = ("window_tickets", "window_amount", "web_tickets", "web_amount", "refunds", "refund_amount",
                "refund_fees", "changes", "change_differences", "change_fees", "voids", "void_amount", "net")
CLEARING_FIELDS = ("departures", "billed_departures", "checked", "fares", "station_fee", "agency_fee",
                   "carrier_due")


def _zero(fields: Iterable[str]) -> dict:
    return {f: 0 for f in fields}


def _net(row: dict) -> int:
    """The money kept: takings less what was handed back; a refund's fee is what it kept."""
    return (row["window_amount"] + row["web_amount"] - row["refund_amount"] - row["void_amount"]
            + row["change_differences"] + row["change_fees"])


def carrier_of(route: dict | None) -> tuple[str, str]:
    """(code, name) of a route's carrier: ``carrier`` is a code or ``{"code", "name"}``."""
    c = (route or {}).get("carrier")
    if isinstance(c, dict):
        code = str(c.get("code") or UNASSIGNED)
        return code, str(c.get("name") or code)
    if c:
        return str(c), str(c)
    return UNASSIGNED, "未登记 unassigned"


class DayReports:
    """Reads one local day; every method takes an open connection (``ctx.reader()``)."""

    def __init__(self, conn, day: str, zone):
        self.conn, self.day, self.zone = conn, day, zone
        start = datetime.combine(date.fromisoformat(day), time(0), tzinfo=zone).astimezone(UTC)
        self.bounds = (start, start + timedelta(days=1))
        master = models.master
        self._master: dict[tuple[str, str], dict] = {}
        for r in conn.execute(select(master.c.kind, master.c.key, master.c.data)
                              .where(master.c.kind.in_(("route", "station", "setting")))):
            self._master[(r.kind, r.key)] = json.loads(r.data)
        self._departures: dict[str, tuple[str, str]] = {}  # id -> (origin, route)

    # ------------------------------------------------------------------ master data

    def station_name(self, code: str) -> str:
        return str((self._master.get(("station", code)) or {}).get("name") or "")

    def route_carrier(self, route: str) -> tuple[str, str]:
        return carrier_of(self._master.get(("route", route)))

    def gate_settings(self) -> GateSettings:
        return GateSettings.from_dict(self._master.get(("setting", "gate")))

    def local_day(self, instant: datetime) -> str:
        return instant.astimezone(self.zone).date().isoformat()

    def _load_departures(self, ids: Iterable[str]) -> None:
        D = models.departures
        wanted = sorted({i for i in ids if i and i not in self._departures})
        for i in range(0, len(wanted), 500):
            for d in self.conn.execute(select(D.c.id, D.c.origin, D.c.route).where(D.c.id.in_(wanted[i:i + 500]))):
                self._departures[d.id] = (d.origin, d.route)

    def _where(self, departure_id: str | None) -> tuple[str, str]:
        """(origin station, carrier code) of a departure ('' when the server does not know it)."""
        origin, route = self._departures.get(departure_id or "", ("", ""))
        return origin, self.route_carrier(route)[0] if route else UNASSIGNED

    # ------------------------------------------------------------------ the day's selling

    def selling_lines(self) -> list[tuple[str, str, dict]]:
        """(station, carrier, figures) for each sale, refund, change and void of the day."""
        lines: list[tuple[str, str, dict]] = []
        ops = self._window_operations()
        Tk = models.tickets
        ticket_ids = [tid for _, kind, p in ops for tid in
                      ([p.get("ticket_id")] if kind in ("ticket.refunded", "ticket.voided") else [])]
        tickets = {}
        for i in range(0, len(ticket_ids), 500):
            for r in self.conn.execute(select(Tk.c.ticket_id, Tk.c.departure_id, Tk.c.price, Tk.c.insurance)
                                       .where(Tk.c.ticket_id.in_(ticket_ids[i:i + 500]))):
                tickets[r.ticket_id] = r
        deps = [t.departure_id for t in tickets.values()]
        for _, kind, p in ops:
            if kind == "ticket.sold":
                deps.extend(t.get("departure_id") for t in p.get("tickets", []))
            elif kind == "ticket.changed":
                deps.append((p.get("new_ticket") or {}).get("departure_id"))
        web = self._web_tickets()
        deps.extend(r.departure_id for r in web)
        self._load_departures(deps)

        for station, kind, p in ops:
            if kind == "ticket.sold":
                for t in p.get("tickets", []):
                    amount = int(t.get("price") or 0) + int(t.get("insurance") or 0)
                    lines.append((station, self._where(t.get("departure_id"))[1],
                                  {"window_tickets": 1, "window_amount": amount}))
            elif kind == "ticket.refunded":
                r = tickets.get(p.get("ticket_id"))
                lines.append((station, self._where(r.departure_id if r else None)[1],
                              {"refunds": 1, "refund_amount": int(p.get("refund_amount") or 0),
                               "refund_fees": int(p.get("fee") or 0)}))
            elif kind == "ticket.changed":
                lines.append((station, self._where((p.get("new_ticket") or {}).get("departure_id"))[1],
                              {"changes": 1, "change_differences": int(p.get("fare_difference") or 0),
                               "change_fees": int(p.get("fee") or 0)}))
            elif kind == "ticket.voided":
                r = tickets.get(p.get("ticket_id"))
                lines.append((station, self._where(r.departure_id if r else None)[1],
                              {"voids": 1, "void_amount": (r.price + r.insurance) if r else 0}))
        for r in web:
            origin, carrier = self._where(r.departure_id)
            amount = r.price + r.insurance
            if self._on_day(r.sold_at):
                lines.append((origin, carrier, {"web_tickets": 1, "web_amount": amount}))
            if r.status == "refunded" and r.closed_at and self._on_day(r.closed_at) and not r.picked_up_at:
                # A web refund hands the whole amount back (no fee); a picked-up ticket is the window's.
                lines.append((origin, carrier, {"refunds": 1, "refund_amount": amount}))
        return lines

    def _on_day(self, text: str | None) -> bool:
        try:
            return bool(text) and self.local_day(parse_instant(text)) == self.day
        except ValueError:
            return False

    def _window_operations(self) -> list[tuple[str, str, dict]]:
        """(station, type, payload) of each money event the terminals made on the day, refused ones left
        out (their money is the alarm's, not the day's)."""
        E, T, A = models.events, models.terminals, models.alarms
        kinds = ("ticket.sold", "ticket.refunded", "ticket.changed", "ticket.voided")
        rows = self.conn.execute(
            select(E.c.terminal_id, E.c.seq, E.c.type, E.c.payload, T.c.station)
            .join(T, T.c.id == E.c.terminal_id)
            .where(E.c.day == self.day, E.c.type.in_(kinds))
            .order_by(E.c.terminal_id, E.c.seq)).all()
        refused = set()
        if rows:
            refused = {(a.terminal_id, a.seq) for a in self.conn.execute(
                select(A.c.terminal_id, A.c.seq).where(A.c.kind.in_(REFUSAL_KINDS), A.c.seq.is_not(None),
                                                        A.c.terminal_id.in_({r.terminal_id for r in rows})))}
        return [(r.station, r.type, json.loads(r.payload)) for r in rows if (r.terminal_id, r.seq) not in refused]

    def _web_tickets(self) -> list:
        """Web tickets sold or refunded around the day (the local day is told apart in Python: the
        instants are text)."""
        Tk = models.tickets
        lo = (self.bounds[0] - timedelta(days=1)).strftime("%Y-%m-%d")
        hi = (self.bounds[1] + timedelta(days=1)).strftime("%Y-%m-%d")
        return self.conn.execute(
            select(Tk.c.ticket_id, Tk.c.departure_id, Tk.c.price, Tk.c.insurance, Tk.c.status, Tk.c.sold_at,
                   Tk.c.closed_at, Tk.c.picked_up_at)
            .where(Tk.c.channel == "web",
                   ((Tk.c.sold_at >= lo) & (Tk.c.sold_at < hi)) | ((Tk.c.closed_at >= lo) & (Tk.c.closed_at < hi)))
            .order_by(Tk.c.ticket_id)).all()

    # ------------------------------------------------------------------ the day's departures

    def departure_rows(self, station: str | None = None) -> list[dict]:
        """The departures leaving on the day, each with its carrier, tickets sold and clearing."""
        records = departure_records(self.conn, self.bounds, self.local_day, station)
        settings = self.gate_settings()
        Tk = models.tickets
        ids = [d["departure_id"] for d in records]
        sold: dict[str, int] = {}
        for i in range(0, len(ids), 500):
            for r in self.conn.execute(select(Tk.c.departure_id).where(Tk.c.departure_id.in_(ids[i:i + 500]),
                                                                        Tk.c.status == "active")):
                sold[r.departure_id] = sold.get(r.departure_id, 0) + 1
        rows = []
        for d in records:
            code, name = self.route_carrier(d["route"])
            bill = d["road_bill"]
            fares = int(((bill or {}).get("totals") or {}).get("amount") or 0)
            station_fee = settings.fee(fares, settings.station_fee_percent)
            agency_fee = settings.fee(fares, settings.agency_fee_percent)
            local = datetime.fromisoformat(d["departs_at"]).astimezone(self.zone)
            rows.append({**d, "time": local.strftime("%H:%M"), "carrier": code, "carrier_name": name,
                         "sold": sold.get(d["departure_id"], 0),
                         "road_bill_no": bill["number"] if bill else None,
                         "billed_count": int(((bill or {}).get("totals") or {}).get("count") or 0),
                         "fares": fares, "station_fee": station_fee, "agency_fee": agency_fee,
                         "carrier_due": fares - station_fee - agency_fee})
        return rows


def add(total: dict, figures: dict) -> None:
    for k, v in figures.items():
        total[k] = total.get(k, 0) + v


def station_report(conn, day: str, zone, station: str | None = None) -> dict:
    r = DayReports(conn, day, zone)
    by: dict[str, dict] = {}
    for st, _carrier, figures in r.selling_lines():
        if station and st != station:
            continue
        add(by.setdefault(st, _zero(SALES_FIELDS)), figures)
    if station:
        by.setdefault(station, _zero(SALES_FIELDS))
    rows = []
    for code in sorted(by):
        row = by[code]
        row["net"] = _net(row)
        rows.append({"station": code, "station_name": r.station_name(code), **row})
    return {"report": "station", "date": day, "station": station, "stations": rows,
            "totals": _totals(rows, SALES_FIELDS)}


def carrier_report(conn, day: str, zone, station: str | None = None) -> dict:
    r = DayReports(conn, day, zone)
    by: dict[str, dict] = {}
    names: dict[str, str] = {}

    def row(code: str) -> dict:
        return by.setdefault(code, {**_zero(SALES_FIELDS), **_zero(CLEARING_FIELDS)})

    for st, carrier, figures in r.selling_lines():
        if station and st != station:
            continue
        add(row(carrier), figures)
    for d in r.departure_rows(station):
        names[d["carrier"]] = d["carrier_name"]
        add(row(d["carrier"]), {"departures": 1, "billed_departures": 1 if d["road_bill_no"] else 0,
                                "checked": d["checked"], "fares": d["fares"], "station_fee": d["station_fee"],
                                "agency_fee": d["agency_fee"], "carrier_due": d["carrier_due"]})
    rows = []
    for code in sorted(by):
        figures = by[code]
        figures["net"] = _net(figures)
        rows.append({"carrier": code, "carrier_name": names.get(code) or _carrier_name(r, code), **figures})
    settings = r.gate_settings()
    return {"report": "carrier", "date": day, "station": station, "carriers": rows,
            "totals": _totals(rows, SALES_FIELDS + CLEARING_FIELDS),
            "settings": {"station_fee_percent": str(settings.station_fee_percent),
                         "agency_fee_percent": str(settings.agency_fee_percent)}}


def _carrier_name(r: DayReports, code: str) -> str:
    for (kind, _key), data in r._master.items():
        if kind == "route" and carrier_of(data)[0] == code:
            return carrier_of(data)[1]
    return carrier_of(None)[1] if code == UNASSIGNED else code


def departures_report(conn, day: str, zone, station: str | None = None) -> dict:
    r = DayReports(conn, day, zone)
    rows = r.departure_rows(station)
    return {"report": "departures", "date": day, "station": station, "departures": rows,
            "totals": _totals(rows, ("seats", "sold", "checked", "billed_count", "fares", "station_fee",
                                     "agency_fee", "carrier_due"))}


def _totals(rows: list[dict], fields: Iterable[str]) -> dict:
    return {f: sum(int(x.get(f) or 0) for x in rows) for f in fields}

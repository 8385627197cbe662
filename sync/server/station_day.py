"""The station's day as the province holds it, for the station supervisor's screen (值班站长).

A compact figure set built from what ``reports.Reports`` already reads: each of the station's
terminals' day reconciled (its events of the day: sales, refunds and their fees, changes, voids),
the web channel's tickets of the station's departures sold that day, and each departure of the day
with the passengers its gate checked and its road bill. The province's fuller reports (per carrier,
clearing) are built apart from this and may replace it; the shape below is what the terminal reads
(docs/supervisor.md § The day)."""

from __future__ import annotations

from sqlalchemy import func, select

from sync.server import models
from sync.server.clock import parse_instant


def station_day(reports, station: str, day: str) -> dict:
    ctx = reports.ctx
    Tm, Tk, D = models.terminals, models.tickets, models.departures
    with ctx.reader() as conn:
        terminal_ids = list(conn.execute(select(Tm.c.id).where(Tm.c.station == station).order_by(Tm.c.id)).scalars())
        web = conn.execute(select(Tk.c.sold_at, Tk.c.price, Tk.c.insurance, Tk.c.status)
                           .join(D, D.c.id == Tk.c.departure_id)
                           .where(Tk.c.channel == "web", D.c.origin == station)).all()
    window = {"tickets": 0, "amount": 0}
    refunds = {"count": 0, "amount": 0, "fees": 0}
    changes = {"count": 0, "fees": 0, "differences": 0}
    voids = {"count": 0, "amount": 0}
    terminals, net = [], 0
    for terminal_id in terminal_ids:
        r = reports.reconcile(terminal_id, day)
        counts, money = r["counts"], r["money"]
        if not r["events"]["count"]:
            continue
        window["tickets"] += counts["tickets_sold"]
        window["amount"] += money["sales"]
        refunds["count"] += counts.get("ticket.refunded", 0)
        refunds["amount"] += money["refunds"]
        refunds["fees"] += money["refund_fees"]
        changes["count"] += counts.get("ticket.changed", 0)
        changes["fees"] += money["change_fees"]
        changes["differences"] += money["change_differences"]
        voids["count"] += counts.get("ticket.voided", 0)
        voids["amount"] += money["voids"]
        net += money["net"]
        terminals.append({"terminal_id": terminal_id, "tickets": counts["tickets_sold"], "net": money["net"]})
    web_day = [w for w in web if _local_day(ctx, w.sold_at) == day]
    web_figures = {"tickets": len(web_day), "amount": sum(w.price + w.insurance for w in web_day)}
    records = reports.departures(day, station=station)
    ids = [d["departure_id"] for d in records]
    sold: dict[str, int] = {}
    with ctx.reader() as conn:
        for i in range(0, len(ids), 500):
            q = (select(Tk.c.departure_id, func.count()).where(Tk.c.departure_id.in_(ids[i:i + 500]),
                                                               Tk.c.status == "active").group_by(Tk.c.departure_id))
            sold.update({dep: n for dep, n in conn.execute(q)})
    departures = []
    for d in records:
        bill = d["road_bill"] or {}
        departures.append({
            "departure_id": d["departure_id"], "route": d["route"],
            "time": parse_instant(d["departs_at"]).astimezone(ctx.zone).strftime("%H:%M"),
            "status": d["status"], "state": d["state"], "seats": d["seats"], "sold": sold.get(d["departure_id"], 0),
            "checked": d["checked"],
            "road_bill": bill.get("number"), "road_bill_amount": (bill.get("totals") or {}).get("amount"),
        })
    return {
        "station": station, "date": day, "source": "server",
        "channels": {"window": window, "web": web_figures},
        "refunds": refunds, "changes": changes, "voids": voids, "net": net,
        "terminals": terminals, "departures": departures,
    }


def _local_day(ctx, text: str) -> str | None:
    try:
        return ctx.local_day(parse_instant(text))
    except (TypeError, ValueError):
        return None

"""``kezhan export tickets [--date YYYY-MM-DD] [--json]``: this terminal's tickets, for reconciliation (对账).

The digest is computed as the server's reconciliation computes it (sha256 over the sorted
``ticket_id:status`` lines), so one comparison tells whether both sides agree.
"""

from __future__ import annotations

from app.commands.output import add_json_flag, emit


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="export data for reconciliation")
    sub = p.add_subparsers(dest="export_command", metavar="WHAT")
    t = sub.add_parser("tickets", help="this terminal's tickets (sold at this counter)")
    t.add_argument("--date", default=None, metavar="YYYY-MM-DD", help="only tickets sold on this local date")
    t.add_argument("--db", default=None, metavar="FILE", help="terminal database (default: the configured one)")
    add_json_flag(t)
    t.set_defaults(func=run_tickets)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def export_tickets(db, *, day: str | None = None, zone=None) -> dict:
    import hashlib
    from zoneinfo import ZoneInfo

    from app.store.models import parse_utc

    zone = zone or ZoneInfo("Asia/Shanghai")
    with db.read() as session:
        cur = session.connection().connection.dbapi_connection.cursor()
        cur.execute("SELECT terminal_id FROM sync_identity")
        row = cur.fetchone()
        terminal_id = row[0] if row else None
        cur.execute(
            "SELECT t.id, t.order_id, t.departure_id, t.seat_no, t.status, t.ticket_type, t.fare, t.price, "
            "t.insurance, t.stop, p.name, p.doc_type, p.doc_masked, t.doc_hash, t.carried_by, t.stock_no, t.clerk, "
            "t.shift_id, t.sold_at, t.closed_at FROM tickets t JOIN orders o ON o.id = t.order_id "
            "LEFT JOIN passengers p ON p.ticket_id = t.id WHERE o.channel != 'web' ORDER BY t.sold_at, t.id"
        )
        rows = cur.fetchall()
    tickets = []
    for r in rows:
        if day and parse_utc(r[18]).astimezone(zone).date().isoformat() != day:
            continue
        tickets.append({
            "ticket_id": r[0], "order_id": r[1], "terminal_id": terminal_id, "departure_id": r[2], "seat_no": r[3],
            "status": r[4], "ticket_type": r[5], "fare": r[6], "price": r[7], "insurance": r[8], "stop": r[9],
            "passenger": {"name": r[10], "doc_type": r[11] or None, "doc_masked": r[12], "doc_hash": r[13]},
            "carried_by": r[14], "stock_no": r[15], "clerk": r[16], "shift_id": r[17], "sold_at": r[18],
            "closed_at": r[19],
        })
    digest = hashlib.sha256("\n".join(sorted(f"{t['ticket_id']}:{t['status']}" for t in tickets)).encode()).hexdigest()
    money = sum(t["price"] + t["insurance"] for t in tickets if t["status"] == "active")
    return {"terminal_id": terminal_id, "date": day, "count": len(tickets), "active_money": money,
            "digest": digest, "tickets": tickets}


def run_tickets(args) -> int:
    from pathlib import Path

    from app import config
    from app.store.engine import open_database

    cfg = config.load()
    db = open_database(Path(args.db) if args.db else cfg.db_path)
    try:
        data = export_tickets(db, day=args.date, zone=cfg.zone)
    finally:
        db.dispose()
    text = "\n".join(
        [f"{t['ticket_id']}  {t['departure_id']}  seat {t['seat_no'] or '-':>3}  {t['status']:<9} {t['price'] / 100:>8.2f}"
         for t in data["tickets"]]
        + [f"{data['count']} ticket(s), active ￥{data['active_money'] / 100:.2f}, digest {data['digest'][:16]}"]
    )
    emit(args, data, text)
    return 0

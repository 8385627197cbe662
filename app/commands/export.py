"""``kezhan export tickets [--date YYYY-MM-DD | --month YYYY-MM] [--json]``: this terminal's tickets,
for reconciliation (对账).

The digest is computed as the server's reconciliation computes it (sha256 over the sorted
``ticket_id:status`` lines), so one comparison tells whether both sides agree. Tickets whose
departure left before the retention window are read from the monthly archive files (a ticket is in
the file of its departure's month, so a day's sales are in that month's file or the next three: the
presale window is at most 60 days); a ticket in both the live file and an archive (a move
interrupted) is taken from the live file, once.
"""

from __future__ import annotations

from app.commands.output import add_json_flag, emit


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="export data for reconciliation")
    sub = p.add_subparsers(dest="export_command", metavar="WHAT")
    t = sub.add_parser("tickets", help="this terminal's tickets (sold at this counter)")
    when = t.add_mutually_exclusive_group()
    when.add_argument("--date", default=None, metavar="YYYY-MM-DD", help="only tickets sold on this local date")
    when.add_argument("--month", default=None, metavar="YYYY-MM", help="only tickets sold in this local month")
    t.add_argument("--db", default=None, metavar="FILE", help="terminal database (default: the configured one)")
    add_json_flag(t)
    t.set_defaults(func=run_tickets)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def _archive_months(day: str | None, month: str | None) -> list[str] | None:
    """The archive months that can hold tickets sold on ``day`` or in ``month`` (None: all of them)."""
    from datetime import date

    from app.errors import ConfigError

    if not day and not month:
        return None
    try:
        first = date.fromisoformat(day) if day else date.fromisoformat(f"{month}-01")
    except ValueError:
        raise ConfigError(f"日期格式不正确：{day or month}", en=f"not a date: {day or month}",
                          code="BAD_DATE") from None
    months = []
    for k in range(4):  # the month itself and the three a 60-day presale can reach
        y, m = divmod(first.month - 1 + k, 12)
        months.append(f"{first.year + y:04d}-{m + 1:02d}")
    return months


def export_tickets(db, *, day: str | None = None, month: str | None = None, zone=None) -> dict:
    import hashlib
    from zoneinfo import ZoneInfo

    from app.domain.identity import mask
    from app.services.retention import archived_tickets
    from app.services.station import exported_tickets
    from app.store.models import parse_utc

    zone = zone or ZoneInfo("Asia/Shanghai")
    terminal_id, rows = exported_tickets(db)
    live = {r.ticket_id for r in rows}
    rows = rows + [r for r in archived_tickets(db.path, _archive_months(day, month)) if r.ticket_id not in live]
    rows.sort(key=lambda r: (r.sold_at, r.ticket_id))
    tickets = []
    for r in rows:
        sold = parse_utc(r.sold_at).astimezone(zone).date().isoformat()
        if (day and sold != day) or (month and sold[:7] != month):
            continue
        tickets.append({
            "ticket_id": r.ticket_id, "order_id": r.order_id, "terminal_id": terminal_id,
            "departure_id": r.departure_id, "seat_no": r.seat_no, "status": r.status, "ticket_type": r.ticket_type,
            "fare": r.fare, "price": r.price, "insurance": r.insurance, "stop": r.stop,
            # The mask and the 8-bit tag, never the hash: an export leaves the station. Masked again,
            # so an archive from before the mask hid the region shows what the rule shows today.
            "passenger": {"name": r.name, "doc_type": r.doc_type or None,
                          "doc_masked": mask(r.doc_masked) if r.doc_masked else r.doc_masked,
                          "doc_tag": r.doc_tag or None},
            "carried_by": r.carried_by, "stock_no": r.stock_no, "clerk": r.clerk, "shift_id": r.shift_id,
            "sold_at": r.sold_at, "closed_at": r.closed_at,
        })
    digest = hashlib.sha256("\n".join(sorted(f"{t['ticket_id']}:{t['status']}" for t in tickets)).encode()).hexdigest()
    money = sum(t["price"] + t["insurance"] for t in tickets if t["status"] == "active")
    return {"terminal_id": terminal_id, "date": day, "month": month, "count": len(tickets), "active_money": money,
            "digest": digest, "tickets": tickets}


def run_tickets(args) -> int:
    from pathlib import Path

    from app import config
    from app.store.engine import open_database

    cfg = config.load()
    db = open_database(Path(args.db) if args.db else cfg.db_path)
    try:
        data = export_tickets(db, day=args.date, month=args.month, zone=cfg.zone)
    finally:
        db.dispose()
    text = "\n".join(
        [f"{t['ticket_id']}  {t['departure_id']}  seat {t['seat_no'] or '-':>3}  {t['status']:<9} {t['price'] / 100:>8.2f}"
         for t in data["tickets"]]
        + [f"{data['count']} ticket(s), active ￥{data['active_money'] / 100:.2f}, digest {data['digest'][:16]}"]
    )
    emit(args, data, text)
    return 0

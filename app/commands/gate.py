"""``kezhan gate``: the gate from the command line, for technicians, scripts and tests.

``status`` and ``roadbill`` read; ``open``, ``stop`` and ``check`` act as a signed-in gate checker
(``--user CODE``; the password comes from ``KEZHAN_PASSWORD`` or is asked for), as the gate view
would. ``check`` exits 0 when the passenger boards and 1 when refused, so a script can branch on it.
"""

from __future__ import annotations

from app.commands.output import add_json_flag, emit

EXIT_REFUSED = 1


def _common(p, *, user: bool = False) -> None:
    p.add_argument("--db", default=None, metavar="FILE", help="terminal database (default: the configured one)")
    p.add_argument("--gate", action="append", default=None, metavar="NO",
                   help="a gate number this terminal serves (repeatable; default: the configured ones, else all)")
    if user:
        p.add_argument("--user", required=True, metavar="CODE",
                       help="the gate checker (password from KEZHAN_PASSWORD, else asked for)")
    add_json_flag(p)


def register(subparsers) -> None:
    p = subparsers.add_parser("gate", help="the boarding gate: check state, open/stop checking, check a ticket, "
                                           "road bill")
    sub = p.add_subparsers(dest="gate_command", metavar="WHAT")

    s = sub.add_parser("status", help="today's departures at this terminal's gates and their check state")
    s.add_argument("--date", default=None, metavar="YYYY-MM-DD", help="another day than today")
    _common(s)
    s.set_defaults(func=run_status)

    o = sub.add_parser("open", help="open checking (开检) of a departure")
    o.add_argument("departure")
    o.add_argument("--plate", required=True, help="the bus's plate, e.g. 浙A12345")
    o.add_argument("--driver", required=True, help="the driver's name")
    _common(o, user=True)
    o.set_defaults(func=run_open)

    t = sub.add_parser("stop", help="stop checking (停检): makes and numbers the road bill")
    t.add_argument("departure")
    t.add_argument("--png", default=None, metavar="FILE", help="also write the road bill's preview")
    _common(t, user=True)
    t.set_defaults(func=run_stop)

    c = sub.add_parser("check", help="check a scanned ticket code, ticket id or stock number: exit 0 boards")
    c.add_argument("text", help="the ticket code as scanned, or a ticket id / stock number")
    c.add_argument("--departure", default=None, metavar="ID",
                   help="the departure being checked (default: the only one checking at this terminal's gates)")
    _common(c, user=True)
    c.set_defaults(func=run_check)

    r = sub.add_parser("roadbill", help="show a departure's road bill; --png writes its preview")
    r.add_argument("departure")
    r.add_argument("--png", default=None, metavar="FILE", help="write the road bill's preview here")
    r.add_argument("--bin", default=None, metavar="FILE", help="write the road bill's ESC/POS bytes here")
    r.add_argument("--manifest", action="store_true", help="with the passenger manifest (masked documents)")
    _common(r)
    r.set_defaults(func=run_roadbill)
    p.set_defaults(func=lambda args: p.print_help() or 2)


class _Session:
    """The database, the enrolled terminal and a Gate on them, closed on exit."""

    def __init__(self, args, *, sign_in: bool = False) -> None:
        from pathlib import Path

        from app import config
        from app.services.gate import Gate
        from app.store.engine import open_database
        from sync.client.identity import make_terminal

        cfg = config.load()
        self.db = open_database(Path(args.db) if args.db else cfg.db_path)
        try:
            terminal = make_terminal(self.db, zone=cfg.zone)
            gates = tuple(args.gate or getattr(cfg.terminal, "gates", ()) or ())
            self.gate = Gate(self.db, terminal, gates=gates, language=cfg.terminal.language)
            if sign_in:
                self.gate.login(args.user, _password(args.user))
        except BaseException:
            self.db.dispose()
            raise

    def __enter__(self):
        return self.gate

    def __exit__(self, *exc) -> None:
        try:
            self.gate.flush()  # a check committed to be flushed later (docs/gate.md § Durability)
        finally:
            self.db.dispose()


def _password(user: str) -> str:
    import getpass
    import os

    password = os.environ.get("KEZHAN_PASSWORD")
    if password is None:
        password = getpass.getpass(f"{user} 的密码 / password: ")
    return password


def _departure_json(d) -> dict:
    return {
        "id": d.id, "schedule_code": d.schedule_code, "date": d.date, "time": d.time, "route": d.destination_names,
        "gate": d.gate, "state": d.state, "plate": d.plate, "driver": d.driver,
        "opens_at": d.opens_at.isoformat(), "late_until": d.late_until.isoformat(), "seats": d.seats,
        "sold": d.sold, "checked": d.checked, "unchecked": d.unchecked, "free_children": d.free_children,
        "free_children_cap": d.free_children_cap, "ride_changes": d.ride_changes, "road_bill_no": d.road_bill_no,
        "merged_into": d.merged_into,
    }


def _departure_line(d) -> str:
    bill = f"  路单 {d.road_bill_no}" if d.road_bill_no else ""
    return (f"{d.time}  {d.schedule_code:<8} 检票口 {d.gate or '-':<3} {d.state:<9} "
            f"已检 {d.checked}/{d.sold} 座 {d.seats}  {d.destination_names}{bill}  {d.id}")


def run_status(args) -> int:
    from datetime import date

    with _Session(args) as gate:
        day = date.fromisoformat(args.date) if args.date else gate.today()
        deps = gate.departures(day)
    data = {"date": day.isoformat(), "departures": [_departure_json(d) for d in deps]}
    emit(args, data, "\n".join(_departure_line(d) for d in deps) or "no departures at these gates")
    return 0


def run_open(args) -> int:
    with _Session(args, sign_in=True) as gate:
        d = gate.open_check(args.departure, vehicle=args.plate, driver=args.driver)
    emit(args, _departure_json(d), f"开检 / checking open: {_departure_line(d)}")
    return 0


def _bill_json(bill) -> dict:
    return {"number": bill.number, "departure_id": bill.departure_id, "rows": bill.rows, "totals": bill.totals,
            "fees": bill.fees, "plate": bill.plate, "driver": bill.driver, "gate": bill.gate,
            "checker": bill.checker, "made_at": bill.made_at.isoformat(), "voided": bill.voided,
            "reprints": bill.reprints, "free_children": bill.free_children}


def _bill_text(bill) -> str:
    lines = [f"路单 {bill.number}  {bill.departure_id}  {bill.plate} {bill.driver}  检票口 {bill.gate}"]
    lines += [f"  {r['destination']} {r['ticket_type']}: {r['count']} 人 ￥{r['amount'] / 100:.2f}" for r in bill.rows]
    lines.append(f"  合计 {bill.totals['count']} 人 ￥{bill.totals['amount'] / 100:.2f}  站务费 "
                 f"￥{bill.fees['station_fee'] / 100:.2f}  代理费 ￥{bill.fees['agency_fee'] / 100:.2f}")
    return "\n".join(lines)


def _write_preview(gate, departure_id: str, png: str | None, binary: str | None = None,
                   manifest: bool = False) -> None:
    from pathlib import Path

    from app.printing import render_png, road_bill_bytes

    if not png and not binary:
        return
    [job] = gate.road_bill_jobs(departure_id, manifest=manifest)
    data = road_bill_bytes(job)
    if binary:
        Path(binary).write_bytes(data)
    if png:
        Path(png).write_bytes(render_png(data))


def run_stop(args) -> int:
    with _Session(args, sign_in=True) as gate:
        bill = gate.stop_check(args.departure)
        _write_preview(gate, args.departure, args.png)
    emit(args, _bill_json(bill), f"停检 / checking stopped\n{_bill_text(bill)}")
    return 0


def run_roadbill(args) -> int:
    from app.errors import RuleViolation

    with _Session(args) as gate:
        bill = gate.road_bill(args.departure)
        if bill is None:
            raise RuleViolation("该班次还没有路单（停检后生成）", en="This departure has no road bill yet",
                                code="NO_ROAD_BILL")
        _write_preview(gate, args.departure, args.png, args.bin, args.manifest)
    emit(args, _bill_json(bill), _bill_text(bill))
    return 0


def _checking_departure(gate) -> str:
    from app.errors import RuleViolation

    open_now = [d for d in gate.departures() if d.state in ("checking", "late")]
    if len(open_now) != 1:
        raise RuleViolation(
            "请用 --departure 指定检票班次" + ("（当前没有正在检票的班次）" if not open_now else "（有多个班次正在检票）"),
            en="Name the departure with --departure" + (" (none is being checked)" if not open_now
                                                        else " (several are being checked)"),
            code="DEPARTURE_REQUIRED")
    return open_now[0].id


def run_check(args) -> int:
    with _Session(args, sign_in=True) as gate:
        departure_id = args.departure or _checking_departure(gate)
        v = gate.check_text(args.text, departure_id)
        # No frame to paint here: the verdict is printed once the check is durable.
        gate.flush()
    data = {"verdict": v.code, "boards": v.boards, "tone": v.tone, "sound": v.sound, "message": v.message,
            "en": v.en, "ticket_id": v.ticket_id, "departure_id": v.departure_id, "seat_no": v.seat_no,
            "passenger": v.passenger, "doc_masked": v.doc_masked, "destination": v.destination,
            "ticket_type": v.ticket_type, "detail": v.detail, "at": v.at.isoformat()}
    emit(args, data, f"{v.code}  {v.message}")
    return 0 if v.boards else EXIT_REFUSED

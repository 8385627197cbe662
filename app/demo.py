"""The demo station: everything a newcomer needs to see Kezhan work, with no hardware and no network.

One folder holds it all: the reference provincial server (embedded, on loopback) with its own
database and the demo province, a terminal database enrolled with that server, the TCP 9100
printer simulator and the ID card reader simulator. :class:`DemoStation` starts and stops those
pieces; :func:`run_scripted_day` drives a day at the counter through the services (what
``kezhan demo --headless`` does) and writes what happened to ``summary.json``.

Nothing here imports Qt: the GUI demo (``app.ui``) is handed a running station.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from app import config as config_mod
from app.errors import KezhanError

log = logging.getLogger("kezhan.demo")

ZONE = ZoneInfo("Asia/Shanghai")

# The demo's people. Passwords are printed by `kezhan demo` and listed in the README.
USERS = [
    ("1001", "王芳", "clerk", "1234"),
    ("1002", "李强", "clerk", "1234"),
    ("2001", "赵敏", "gate", "1234"),
    ("9001", "张站长", "supervisor", "9001"),
    ("9901", "技术员", "technician", "9901"),
]
CLERK, CLERK_PASSWORD = "1001", "1234"
SUPERVISOR, SUPERVISOR_PASSWORD = "9001", "9001"
FIRST_STOCK_NO = "00100001"

# Real-looking passengers with valid GB 11643 numbers (check characters computed, not copied).
PASSENGERS = [
    ("陈建国", "33010219800312"),
    ("刘丽华", "33010619850721"),
    ("周小明", "33068220150905"),  # a child
    ("吴晓燕", "33020319990118"),  # a student
    ("郑卫东", "33030219700601"),  # a disabled serviceman
    ("孙海涛", "33100219920214"),
    ("黄梅", "33070219881130"),
    ("林志强", "33040219750809"),
]


def id_number(first14: str, serial: int, male: bool) -> str:
    from app.domain.identity import check_char

    seq = f"{serial % 100:02d}{(serial % 5) * 2 + (1 if male else 0)}"
    first17 = first14 + seq
    return first17 + check_char(first17)


@dataclass
class DemoStation:
    root: Path
    config: config_mod.Config
    server: object  # sync.server.runner.ServerThread
    db: object  # app.store.engine.Database
    terminal: object  # app.services.Terminal
    client: object  # sync.client.SyncClient
    printer: object  # drivers.printer.PrinterSimulator
    reader: object  # drivers.idcard.simulator.ReaderSimulator | None
    reader_port: str | None
    admin_token: str
    server_port: int
    started: list = field(default_factory=list)
    cards: DemoCards | None = None
    gate_taps: dict = field(default_factory=dict)  # departure id -> demo card taps so far

    def next_gate_card(self, departure_id: str, checked_seats=frozenset()) -> dict | None:
        """The ID card (a resident card) of the next demo passenger at the gate holding a ticket on
        the departure: the first in seat order whose seat is not in ``checked_seats`` (once all have
        boarded, round again: a card shown twice). None when nobody holds one."""
        from app.services.context import cursor
        from app.store.models import TICKET_ACTIVE
        from drivers.idcard.simulator import SAMPLE_CARDS

        with self.db.read() as session:
            cur = cursor(session)
            cur.execute("SELECT p.name, p.doc_number, t.seat_no FROM tickets t JOIN passengers p ON p.ticket_id = t.id "
                        "WHERE t.departure_id = ? AND t.status = ? AND p.doc_type = 'resident_id' "
                        "AND p.doc_number IS NOT NULL ORDER BY t.seat_no, t.id", (departure_id, TICKET_ACTIVE))
            rows = cur.fetchall()
        row = _next_passenger(rows, 2, checked_seats, self.gate_taps, departure_id)
        if row is None:
            return None
        name, number, _seat = row
        card = dict(SAMPLE_CARDS["resident"])
        card.update(name=name, number=number, birth=number[6:14], sex="1" if int(number[16]) % 2 else "2")
        return card

    def tap_next_card(self) -> dict | None:
        """Put the next demo passenger's ID card on the simulated reader, as a passenger would tap
        it at the window; None when the station runs without a reader."""
        if self.cards is None:
            return None
        return self.cards.tap_next()

    # --- the embedded server can be stopped and started again, to show offline selling --------------

    def stop_server(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def start_server(self) -> None:
        if self.server is None:
            from app.demodata import demo_province_from_today
            from sync.server.runner import ServerThread

            self.server = ServerThread(self._server_url(), admin_token=self.admin_token, port=self.server_port,
                                       fallback_province=demo_province_from_today).start()

    def _server_url(self) -> str:
        return f"sqlite:///{self.root / 'province-server.sqlite3'}"

    def stop(self) -> None:
        for closer in (self.client.close if self.client else None, self.reader.stop if self.reader else None,
                       self.printer.stop if self.printer else None, self.stop_server,
                       self.db.dispose if self.db else None):
            if closer is None:
                continue
            try:
                closer()
            except Exception:  # stopping must go on for the other pieces
                log.exception("stopping the demo station")


def start_station(root: Path, *, with_reader: bool = True) -> DemoStation:
    """Create (or reopen) the demo station in ``root`` and start its pieces."""
    from app.demodata import demo_province_from_today
    from app.store.engine import open_database
    from app.store.users import ensure_user
    from drivers.printer import PrinterSimulator
    from sync.client.client import SyncClient
    from sync.client.identity import enrol, load_identity, make_terminal
    from sync.server.runner import ServerThread

    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    token_file = root / "admin-token"
    admin_token = token_file.read_text().strip() if token_file.exists() else secrets.token_urlsafe(18)
    token_file.write_text(admin_token)

    server_url = f"sqlite:///{root / 'province-server.sqlite3'}"
    server = ServerThread(server_url, admin_token=admin_token, fallback_province=demo_province_from_today).start()
    db = open_database(root / "kezhan.sqlite3")
    try:
        if load_identity(db) is None:
            station_code = _home_station(server)
            code = server.server.issue_code(station_code, label="demo counter 1")["code"]
            enrol(db, server.url, code, label="demo counter 1")
        with db.transaction() as session:
            for user_code, name, role, password in USERS:
                ensure_user(session, user_code, name, role, password)
        client = SyncClient(db, server_url=server.url, interval=5.0)
        report = client.run_once()  # the first pull brings the province's master data
        if not report.ok:
            raise KezhanError(f"演示平台同步失败：{report.error}", en=f"the demo server did not sync: {report.error}")
        terminal = make_terminal(db)
        client.terminal = terminal
        terminal.seat_confirmer = client.confirm_seat
        printer = PrinterSimulator(root / "printer", port=0).start()
        reader, reader_port, cards = None, None, None
        if with_reader:
            reader, reader_port = _start_reader()
            cards = DemoCards(reader, root / "next-card")
    except BaseException:
        server.stop()
        db.dispose()
        raise

    cfg = config_mod.Config(source=root / "kezhan.toml")
    cfg.station.code = terminal.station_code
    cfg.terminal.id = terminal.terminal_id
    # The demo counter sells (1001) and checks at gate 1 (2001): one machine shows both jobs.
    cfg.terminal.role = "both"
    cfg.terminal.gates = ["1"]
    cfg.database.path = str(root / "kezhan.sqlite3")
    cfg.printer.target = printer.target
    cfg.reader.port = reader_port or ""
    cfg.server.url = server.url
    config_mod.save(cfg)
    return DemoStation(root=root, config=cfg, server=server, db=db, terminal=terminal, client=client,
                       printer=printer, reader=reader, reader_port=reader_port, admin_token=admin_token,
                       server_port=server.port, cards=cards)


def _home_station(server) -> str:
    from sync.server.province import get_master

    with server.server.reader() as conn:
        code = get_master(conn, "setting", "home_station")
    if not code:
        raise KezhanError("演示平台没有省份数据", en="the demo server has no province loaded")
    return code


def _start_reader():
    """The ID card reader simulator: a pseudo-terminal where there is one, loopback TCP elsewhere.

    It starts empty: a card put on it now would be read at the log-in screen, where nothing takes
    it, and stay there unread for the sale. Cards are placed when a passenger comes to the window
    (:class:`DemoCards`), and a loopback control port lets ``kezhan sim idcard-ctl`` place one too."""
    from drivers.idcard.simulator import ReaderSimulator

    if sys.platform.startswith("win"):
        sim = ReaderSimulator(None, tcp_port=0, rearm=True)
    else:
        sim = ReaderSimulator(None, rearm=True)
    url = sim.start()
    try:
        sim.serve_control(0)
    except OSError as exc:  # the demo works without it: the window's demo key places cards too
        log.warning("no control port for the reader simulator: %s", exc)
    return sim, url


# People who come to the demo window with a resident ID card: (name, sex, the first 14 digits).
WALK_UPS = [
    ("马云飞", "1", "33010619880808"),
    ("许晴", "2", "33010219910523"),
    ("杨光", "1", "33028219790311"),
    ("蒋丽", "2", "33038219950727"),
    ("曹志远", "1", "33060219831102"),
    ("韩雪", "2", "33078219970214"),
]


class DemoCards:
    """The next demo passenger's card, placed on the simulated reader at any moment.

    Each tap is a different person with a different valid number, so a demo clerk can sell one
    after another on the same departure (one document, one seat). The position in the list is kept
    in ``counter_file`` so a restarted demo does not hand the same numbers out again."""

    def __init__(self, reader, counter_file: Path | None = None) -> None:
        self.reader = reader
        self.counter_file = counter_file
        self.taps = 0
        if counter_file is not None and counter_file.exists():
            try:
                self.taps = int(counter_file.read_text(encoding="utf-8").strip() or 0)
            except ValueError:
                self.taps = 0

    def card(self, n: int) -> dict:
        from drivers.idcard.simulator import SAMPLE_CARDS

        name, sex, first14 = WALK_UPS[n % len(WALK_UPS)]
        serial = 31 + n // len(WALK_UPS)
        card = dict(SAMPLE_CARDS["resident"])
        card.update(name=name, sex=sex, number=id_number(first14, serial, male=sex == "1"),
                    birth=first14[6:14], address="浙江省杭州市西湖区文三路90号", authority="杭州市公安局西湖分局")
        return card

    def tap_next(self) -> dict:
        card = self.card(self.taps)
        self.taps += 1
        if self.counter_file is not None:
            try:
                self.counter_file.write_text(str(self.taps), encoding="utf-8")
            except OSError as exc:  # only the next run's numbers depend on it
                log.warning("cannot keep the demo card counter: %s", exc)
        self.reader.place(card)
        return card


def _next_passenger(rows: list, seat_at: int, checked_seats, counts: dict, departure_id: str):
    """The first row whose seat has not boarded; when all have, the rows in turn."""
    for row in rows:
        if row[seat_at] not in checked_seats:
            return row
    if not rows:
        return None
    n = counts.get(departure_id, 0)
    counts[departure_id] = n + 1
    return rows[n % len(rows)]


# --- the scripted day --------------------------------------------------------------------------------


def _departures(station: DemoStation, now: datetime, count: int = 6) -> list:
    """Tomorrow's normal departures with plenty of time to go, each with the last stop of its route."""
    from app.services.station import sale_targets

    tomorrow = (now.astimezone(station.terminal.zone) + timedelta(days=1)).date().isoformat()
    rows = sale_targets(station.db, tomorrow, not_before="09:00", by_time=True)
    if len(rows) < count:
        raise KezhanError("演示省份数据不足", en="the demo province has too few departures tomorrow")
    return rows


def run_scripted_day(station: DemoStation, out: Path, *,
                     screenshots: Callable[[DemoStation, Path], list[Path]] | None = None) -> dict:
    """A day at the counter through the services, written to ``out`` (see module doc).

    ``screenshots(station, folder)`` saves the main screens; the caller that may start Qt hands it in
    (``app.commands.demo``), so this module stays importable and runnable where Qt is not."""
    from app.printing import print_jobs
    from app.services import aftersale, sales, shifts
    from app.services.paper import mark_printed
    from app.services.sales import PassengerIn, PaymentIn
    from drivers.idcard import Reader

    out = Path(out)
    (out / "tickets").mkdir(parents=True, exist_ok=True)
    db, terminal, client = station.db, station.terminal, station.client
    now = datetime.now(UTC)
    deps = _departures(station, now)
    printed: list = []
    steps: list[dict] = []

    def note(step: str, **details):
        steps.append({"step": step, **details})
        log.info("demo: %s %s", step, details)

    def emit_print(jobs, _kind):
        done = print_jobs(jobs, out / "tickets", target=station.printer.target, zone=terminal.zone)
        printed.extend(done)
        # As the window does: the paper the printer took is no longer owed (app.services.paper).
        mark_printed(db, terminal, [(p.ticket_id, p.stock_no) for p in done if p.printer_ok])

    shift = shifts.open_shift(db, terminal, clerk=CLERK, first_stock_no=FIRST_STOCK_NO, now=now)
    note("shift opened", clerk=CLERK, first_stock_no=FIRST_STOCK_NO, shift_id=shift.shift_id)

    people = [(name, id_number(first14, i, male=i % 2 == 0)) for i, (name, first14) in enumerate(PASSENGERS)]
    (dep_a, stop_a), (dep_b, stop_b), (dep_c, stop_c) = ((d.departure_id, d.last_stop) for d in deps[:3])

    # 1. A walk-up sale: the passenger taps the ID card on the reader.
    if station.reader_port:
        station.tap_next_card()
        with Reader(station.reader_port, timeout=1.0) as reader:
            card = reader.read_card(timeout=5)
        tapped = PassengerIn("full", card.name, "resident_id", card.id_number)
        sale = sales.sell(db, terminal, clerk=CLERK, departure_id=dep_a, stop=stop_a, passengers=[tapped],
                          payment=PaymentIn("cash"), now=now)
        emit_print(sale.print_jobs, "sale")
        note("sale, ID card tapped on the reader", ticket=sale.ticket_ids[0], passenger=card.masked_number)

    # 2. A family: full fare adult with a free child carried, a child ticket, insurance, cash with change.
    family = [
        PassengerIn("full", people[0][0], "resident_id", people[0][1]),
        PassengerIn("free_child", "陈小宝", "household_register", id_number("33010220220101", 7, male=True)),
        PassengerIn("child", people[2][0], "resident_id", people[2][1]),
    ]
    sale = sales.sell(db, terminal, clerk=CLERK, departure_id=dep_b, stop=stop_b, passengers=family,
                      payment=PaymentIn("cash", tendered=20000), insurance=True, now=now)
    sale_ids_b = sale.ticket_ids[0]
    emit_print(sale.print_jobs, "sale")
    note("sale, full + free child + child with insurance", tickets=sale.ticket_ids, total=sale.total,
         tendered=sale.tendered, change=sale.change)

    # 3. A student and a disabled serviceman paying by e-payment.
    sale = sales.sell(db, terminal, clerk=CLERK, departure_id=dep_c, stop=stop_c,
                      passengers=[PassengerIn("student", people[3][0], "resident_id", people[3][1]),
                                  PassengerIn("disabled", people[4][0], "resident_id", people[4][1])],
                      payment=PaymentIn("epay", reference="WX4200001234202611240001"), now=now)
    emit_print(sale.print_jobs, "sale")
    note("sale, student + disabled by e-payment", tickets=sale.ticket_ids, total=sale.total)

    # 4. Tickets to refund, change, void and reprint.
    extra = sales.sell(db, terminal, clerk=CLERK, departure_id=dep_a, stop=stop_a,
                       passengers=[PassengerIn("full", name, "resident_id", number) for name, number in people[5:8]],
                       payment=PaymentIn("cash"), now=now)
    emit_print(extra.print_jobs, "sale")
    to_refund, to_change, to_void = extra.ticket_ids

    refund = aftersale.refund(db, terminal, clerk=CLERK, ticket_id=to_refund, now=now)
    slip = print_refund_slip(station, refund, now, out / "tickets" / f"refund-{to_refund}")
    note("refund", ticket=to_refund, fee=refund.fee, refunded=refund.refund_amount, slip=slip)

    target = next((d for d in deps[3:] if d.last_stop == stop_a), None) or deps[3]
    changed = aftersale.change(db, terminal, clerk=CLERK, ticket_id=to_change, new_departure_id=target.departure_id,
                               stop=target.last_stop, now=now)
    emit_print([changed.print_job], "change")
    note("change", ticket=to_change, to_departure=target.departure_id, fare_difference=changed.fare_difference, fee=changed.fee)

    voided = aftersale.void(db, terminal, clerk=CLERK, ticket_id=to_void, now=now)
    note("void", ticket=to_void, stock_no_spoiled=voided.stock_no, refunded=voided.refund_amount)

    job = sales.reprint(db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], now=now)
    emit_print([job], "reprint")
    note("reprint", ticket=sale.ticket_ids[0], new_stock_no=job.stock_no)

    # 5. A passenger who bought online picks the ticket up with the ID card.
    web_number = id_number("33010519930415", 12, male=False)
    dep_w, stop_w = deps[4].departure_id, deps[4].last_stop
    order = station.server.server.web_order(dep_w, stop_w, [{"ticket_type": "full", "name": "何静",
                                                              "doc_type": "resident_id", "doc_number": web_number}])
    client.run_once()  # the web sale reaches this terminal through the change feed
    jobs = sales.pickup(db, terminal, clerk=CLERK, doc_type="resident_id", doc_number=web_number, now=now)
    emit_print(jobs, "pickup")
    note("pickup of a web ticket", web_order=order["order_id"], tickets=[j.ticket_id for j in jobs])

    # 6. The gate: the first ticket's code is checked offline against the terminal keys.
    gate = gate_check(station, printed[0])
    note("gate check", **gate)

    # 7. Sync: every event reaches the provincial server.
    client.run_once()
    status = client.current_status()
    note("sync", pending_events=status.pending_events, online=status.online)

    # 8. Offline: the server goes away, the counter sells from its leased seats, then the queue drains.
    offline = offline_round(station, now, people)
    note("offline sale and drain", **offline)

    screen_files = []
    if screenshots is not None:
        # Taken before the shift closes, so the settlement screen shows the day's figures; the
        # screenshots make one sale of their own on this database, synced like any other.
        screen_files = screenshots(station, out / "screens")

    # 9. The gate's day: the student's departure is opened, its passengers checked (a forged code, a
    # refunded ticket, a ticket for another bus and the old paper of the reprinted ticket among them),
    # then stopped, and its road bill printed.
    gate_result = gate_day(station, out, printed, departure_id=dep_c, other_bus=sale_ids_b,
                           refunded=to_refund, reprinted=sale.ticket_ids[0])
    note("gate day", **gate_result)

    # 10. Shift close with the cash counted.
    preview = shifts.preview_settlement(db, terminal, clerk=CLERK)
    closed = shifts.close_shift(db, terminal, clerk=CLERK, cash_counted=preview["amount_due"], now=datetime.now(UTC))
    settlement = closed.report
    slip = print_settlement(station, closed, out / "tickets" / "settlement")
    note("shift closed", amount_due=closed.amount_due, cash_counted=closed.cash_counted,
         difference=closed.difference, slip=slip)

    client.drain(timeout=30)

    server_side = station.server.server.export_tickets(terminal_id=terminal.terminal_id)
    summary = {
        "station": terminal.station_code,
        "terminal": terminal.terminal_id,
        "server": station.server.url,
        "steps": steps,
        "counts": {key: settlement[key]["count"] for key in ("sold", "refunded", "changed", "voided")},
        "settlement": settlement,
        "tickets_printed": [p.to_json() for p in printed],
        "server_tickets": len(server_side),
        "pending_events": client.current_status().pending_events,
        "screens": [str(p) for p in screen_files],
        "road_bill": gate_result.get("road_bill"),
    }
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return summary


def gate_check(station: DemoStation, printed) -> dict:
    """Read the ticket code as a gate would — signature first, offline — then the ticket's state."""
    from app.domain.ticket_code import decode_ticket_code
    from app.services.sales import find_tickets

    code = printed.ticket_code
    payload = decode_ticket_code(code, station.terminal.public_keys)
    (ticket,) = find_tickets(station.db, station.terminal, ticket_id=payload.ticket_id)
    forged = code[:-4] + ("AAAA" if not code.endswith("AAAA") else "BBBB")
    try:
        decode_ticket_code(forged, station.terminal.public_keys)
        forged_verdict = "accepted"
    except KezhanError as exc:
        forged_verdict = exc.code
    return {"ticket": payload.ticket_id, "signature": "valid", "status": ticket.status,
            "verdict": "board" if ticket.status == "active" else "refuse", "tampered_code": forged_verdict}


def gate_day(station: DemoStation, out: Path, printed: list, *, departure_id: str, other_bus: str, refunded: str,
             reprinted: str) -> dict:
    """The gate checker 2001 at the departure's gate, ten minutes before it leaves (the gate's own
    clock: the demo's departures are tomorrow's). Every paper printed for the departure is scanned,
    with a forged copy, the refunded ticket, a ticket of another bus and the reprinted ticket's old
    paper; then the check stops and the road bill is printed (ESC/POS bytes and PNG)."""
    from app.printing import print_road_bill
    from app.services.gate import Gate

    gate_user = next(u for u in USERS if u[2] == "gate")
    at = [datetime.now(UTC)]
    gate = Gate(station.db, station.terminal, clock=lambda: at[0])
    gate.login(gate_user[0], gate_user[3])
    at[0] = gate.departure(departure_id).departs_at - timedelta(minutes=10)
    gate.open_check(departure_id, vehicle="浙AD1234", driver="钱师傅")

    by_ticket: dict[str, list] = {}
    for p in printed:
        by_ticket.setdefault(p.ticket_id, []).append(p)
    scans = []
    old_paper = by_ticket[reprinted][0].ticket_code
    # Each ticket's newest paper: a reprint's is the one the passenger holds.
    current = [ps[-1].ticket_code for t, ps in by_ticket.items() if t not in (refunded, other_bus)]
    live = [code for code in current if _code_departure(station, code) == departure_id]
    head, key, body, signature = live[0].split(".")
    forged = ".".join([head, key, body, ("A" if signature[0] != "A" else "B") + signature[1:]])
    for label, code in ([("forged code", forged), ("refunded ticket", by_ticket[refunded][-1].ticket_code),
                         ("ticket for another bus", by_ticket[other_bus][-1].ticket_code),
                         ("old paper of a reprinted ticket", old_paper)]
                        + [("passenger", code) for code in live]):
        v = gate.check_text(code, departure_id)
        scans.append({"scan": label, "verdict": v.code, "message": v.message, "ticket": v.ticket_id,
                      "seat_no": v.seat_no, "sound": v.sound})
    bill = gate.stop_check(departure_id)
    [job] = gate.road_bill_jobs(departure_id, manifest=True)
    done = print_road_bill(job, out / "roadbill", target=station.printer.target)
    if done.printer_ok:
        gate.mark_road_bill_printed(bill.number)
    state = gate.departure(departure_id)
    return {"departure": departure_id, "scans": scans, "checked": state.checked, "state": state.state,
            "road_bill": {**done.to_json(), "totals": bill.totals, "fees": bill.fees}}


def _code_departure(station: DemoStation, code: str) -> str | None:
    from app.domain.ticket_code import decode_ticket_code

    try:
        return decode_ticket_code(code, station.terminal.public_keys).departure_id
    except KezhanError:
        return None


def offline_round(station: DemoStation, now: datetime, people) -> dict:
    from app.services import sales
    from app.services.sales import PassengerIn, PaymentIn

    client, terminal = station.client, station.terminal
    coverage = client.lease_coverage()
    station.stop_server()
    report = client.run_once()  # finds the link down: the terminal goes offline
    dep = _leased_departure(station)
    sold = None
    if dep is not None:
        passenger = PassengerIn("full", "钱多多", "resident_id", id_number("33010819960606", 44, male=True))
        sale = sales.sell(station.db, terminal, clerk=CLERK, departure_id=dep[0], stop=dep[1],
                          passengers=[passenger], payment=PaymentIn("cash"), now=datetime.now(UTC))
        sold = sale.ticket_ids[0]
    pending_offline = client.current_status().pending_events
    station.start_server()
    drained = client.drain(timeout=30)
    return {"link_down_seen": not report.ok, "leased_seats": coverage.seats, "departures_covered": coverage.covered,
            "sold_offline": sold, "pending_while_offline": pending_offline, "drained": drained,
            "pending_after": client.current_status().pending_events}


def _leased_departure(station: DemoStation) -> tuple[str, str] | None:
    """(departure id, stop) of the earliest departure with a seat leased to this terminal, unexpired."""
    from app.services.station import first_leased_target

    target = first_leased_target(station.db, datetime.now(UTC).isoformat())
    return None if target is None else (target.departure_id, target.last_stop)


def print_refund_slip(station: DemoStation, refund, now: datetime, stem: Path) -> str:
    """The refund slip (退票凭证) handed over with the money, as the counter window prints it."""
    from app.printing import refund_slip_bytes, render_png, send
    from app.services.sales import find_tickets
    from app.services.station import station_name

    (ticket,) = find_tickets(station.db, station.terminal, ticket_id=refund.ticket_id)
    data = refund_slip_bytes({
        "station": station_name(station.db, station.terminal.station_code), "ticket_id": refund.ticket_id,
        "stock_no": ticket.stock_no, "passenger": ticket.passenger_name, "passenger_doc": ticket.doc_masked,
        "price": ticket.price, "insurance": ticket.insurance, "fee": refund.fee, "total": refund.total,
        "tier": refund.tier, "forced": refund.forced, "approved_by": refund.approved_by, "method": refund.method,
        "also_refunded": list(refund.also_refunded), "clerk": CLERK,
        "refunded_at": f"{now.astimezone(ZONE):%Y-%m-%d %H:%M}",
    })
    stem.with_suffix(".bin").write_bytes(data)
    stem.with_suffix(".png").write_bytes(render_png(data))
    send(station.printer.target, data)
    return str(stem.with_suffix(".png"))


def print_settlement(station: DemoStation, closed, stem: Path) -> str:
    """The settlement slip, laid out as the counter window prints it, kept as .bin and .png."""
    from app.printing import render_png, send, settlement_bytes
    from app.services.station import rules_of, station_name
    from app.settlement import settlement_view

    rules = rules_of(station.db)
    opened = datetime.fromisoformat(closed.report["opened_at"].replace("Z", "+00:00")).astimezone(ZONE)
    view = settlement_view(closed.report, rules.ticket_types, opened_at=f"{opened:%Y-%m-%d %H:%M}")
    name = station_name(station.db, station.terminal.station_code)
    data = settlement_bytes(view, closed, station=name, closed_at=f"{datetime.now(ZONE):%Y-%m-%d %H:%M}")
    stem.with_suffix(".bin").write_bytes(data)
    stem.with_suffix(".png").write_bytes(render_png(data))
    send(station.printer.target, data)
    return str(stem.with_suffix(".png"))

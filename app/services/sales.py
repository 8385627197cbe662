"""Selling, and what hangs off a printed ticket: the print job, pickup, reprint, lookup.

``sell`` is the hot path of the counter: one ``BEGIN IMMEDIATE`` transaction of a few statements
(departure and fare in one query, the seat map of one departure, a handful of inserts) ending in
one durable commit. The print job is returned only after that commit.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from app.domain.fares import FareTable
from app.domain.identity import DocumentType, document_hash, mask, validate_document
from app.domain.leases import pick_seat, pick_seats
from app.domain.schedule import check_sellable
from app.domain.stock import StockRoll, format_stock_no, parse_stock_no
from app.domain.ticket_code import TicketCodePayload, decode_ticket_code, doc_hash_prefix, encode_ticket_code
from app.errors import RuleViolation
from app.services.context import (
    OpenShift,
    Rules,
    Terminal,
    audit,
    cursor,
    emit,
    load_rules,
    next_ticket_ids,
    open_shift_of,
    refuse_while_alarm,
    require_now,
    utc_text,
)
from app.store.engine import Database
from app.store.models import parse_utc

PAYMENT_METHODS = ("cash", "epay")


@dataclass(frozen=True)
class PassengerIn:
    """One traveller of a sale. ``carried_by``: for a free child, the index in the party of the
    adult carrying it (the first adult without a child when None). ``seat_no``: a chosen seat."""

    ticket_type: str = "full"
    name: str = ""
    doc_type: str = DocumentType.RESIDENT_ID.value
    doc_number: str = ""
    seat_no: int | None = None
    carried_by: int | None = None


@dataclass(frozen=True)
class PaymentIn:
    method: str = "cash"  # cash | epay
    tendered: int | None = None  # fen handed over (cash); None: exactly the total
    reference: str | None = None  # the e-payment's transaction reference


@dataclass(frozen=True)
class PrintJob:
    """Everything the ticket face shows (after JT/T 319), plus the signed code for the QR."""

    kind: str  # sale | change | reprint | pickup | reseat
    ticket_id: str
    stock_no: str
    origin_code: str
    origin_name: str
    destination_code: str
    destination_name: str
    date: str  # local departure date, YYYY-MM-DD
    time: str  # local departure time, HH:MM
    departs_at: datetime  # UTC
    schedule_code: str
    departure_id: str
    seat_no: int | None
    ticket_type: str
    ticket_type_name: str
    fare: int  # fen, full fare
    price: int  # fen
    insurance: int  # fen
    insurance_name: str
    vehicle_class: str
    vehicle_class_name: str
    gate: str
    clerk: str
    passenger_name: str
    doc_type: str | None
    doc_masked: str
    carried_by: str | None
    sold_at: datetime
    ticket_code: str


@dataclass(frozen=True)
class SaleResult:
    order_id: str
    ticket_ids: list[str]
    total: int  # fen: prices plus insurance
    method: str
    tendered: int
    change: int  # fen handed back
    seq: int  # the outbox event
    print_jobs: list[PrintJob]


def _violation(code: str, zh: str, en: str, **details) -> RuleViolation:
    return RuleViolation(zh, en=en, code=code, **details)


# --- departures ----------------------------------------------------------------------------------------

_DEPARTURE_SQL = (
    "SELECT d.id, d.schedule_code, d.route, d.date, d.time, d.departs_at, d.vehicle_class, v.name, d.seats, "
    "d.gate, d.status, d.stop_sale_minutes, f.full_fare, sb.name, ss.name "
    "FROM departures d JOIN vehicle_classes v ON v.code = d.vehicle_class "
    "LEFT JOIN fares f ON f.route = d.route AND f.from_station = ? AND f.to_station = ? "
    "AND f.vehicle_class = d.vehicle_class "
    "LEFT JOIN stations sb ON sb.code = ? LEFT JOIN stations ss ON ss.code = ? WHERE d.id = ?"
)


@dataclass
class DepartureInfo:
    id: str
    schedule_code: str
    route: str
    date: str
    time: str
    departs_at: datetime
    vehicle_class: str
    vehicle_class_name: str
    seats: int
    gate: str
    status: str
    stop_sale_minutes: int
    full_fare: int | None
    board: str
    board_name: str
    stop: str
    stop_name: str


def fetch_departure(cur, departure_id: str, board: str, stop: str) -> DepartureInfo:
    cur.execute(_DEPARTURE_SQL, (board, stop, board, stop, departure_id))
    row = cur.fetchone()
    if row is None:
        raise _violation(
            "UNKNOWN_DEPARTURE", f"没有这个班次：{departure_id}", f"No such departure: {departure_id}"
        )
    return DepartureInfo(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        parse_utc(row[5]),
        row[6],
        row[7],
        row[8],
        row[9],
        row[10],
        row[11],
        row[12],
        board,
        row[13] or board,
        stop,
        row[14] or stop,
    )


def require_fare(dep: DepartureInfo) -> int:
    if dep.full_fare is None:
        FareTable().lookup(dep.route, dep.board, dep.stop, dep.vehicle_class)  # raises NO_FARE
    return dep.full_fare


@dataclass(frozen=True)
class SellableSeats:
    """Seats of one departure this terminal may sell now, split by how safe they are to take.

    ``ours`` are leased to this terminal and unexpired: the server will not give them to anyone
    else. ``pool`` (online only) are seats the server may hand to another terminal or channel at
    any moment, so selling one can collide and come back as a reseat task; a lease that expired
    here but has not been released yet counts as pool, since the server has taken it back."""

    ours: frozenset[int]
    pool: frozenset[int]

    @property
    def all(self) -> frozenset[int]:
        return self.ours | self.pool

    def __contains__(self, seat_no: object) -> bool:
        return seat_no in self.ours or seat_no in self.pool

    def __len__(self) -> int:
        return len(self.ours) + len(self.pool)


def sellable_seats(cur, terminal: Terminal, rules: Rules, departure_id: str, now: datetime) -> SellableSeats:
    """Seats this terminal may sell now: online, free or leased to us; offline, only seats under an
    unexpired lease, and only within the offline budget."""
    cur.execute(
        "SELECT s.seat_no, s.state, l.expires_at FROM seats s LEFT JOIN seat_leases l ON l.id = s.lease_id "
        "WHERE s.departure_id = ? AND s.state IN ('free', 'leased')",
        (departure_id,),
    )
    now = terminal.server_time(now)
    now_text = utc_text(now)
    pool, leased = set(), set()
    for seat_no, state, expires_at in cur.fetchall():
        if state == "leased" and expires_at is not None and expires_at > now_text:
            leased.add(seat_no)
        else:
            pool.add(seat_no)
    if terminal.online:
        return SellableSeats(frozenset(leased), frozenset(pool))
    rules.offline_budget.check(terminal.offline_since or now, now, len(leased))
    return SellableSeats(frozenset(leased), frozenset())


def choose_seats(available: SellableSeats, wanted: list[int | None], online: bool) -> list[int]:
    """Chosen seats first (each must be sellable), the rest kept together by the domain's picker,
    inside this terminal's leases when they hold the whole rest of the party."""
    everything = available.all
    chosen = []
    for seat in wanted:
        if seat is not None:
            if seat in chosen:
                raise _violation(
                    "SEAT_TAKEN", f"{seat} 号座位重复选择", f"Seat {seat} chosen twice", seat=seat
                )
            if seat not in everything and not online:
                raise _violation(
                    "SEAT_NOT_LEASED",
                    f"离线状态下只能售本机租用的座位，{seat} 号不在其中",
                    f"Offline, only seats leased to this terminal can be sold; seat {seat} is not one",
                    seat=seat,
                )
            chosen.append(pick_seat(everything, seat))
    rest = sum(1 for seat in wanted if seat is None)
    auto = []
    if rest:
        ours = available.ours.difference(chosen)
        # A party that does not fit in our leases stays together across the whole bus rather than
        # being split between a leased seat at the front and pool seats at the back.
        auto = pick_seats(ours if len(ours) >= rest else everything.difference(chosen), rest)
    it = iter(auto)
    return [seat if seat is not None else next(it) for seat in wanted]


# --- stock ---------------------------------------------------------------------------------------------


def take_stock(cur, shift: OpenShift, count: int) -> list[str]:
    """Consume the next ``count`` numbers of the clerk's roll (``STOCK_EXHAUSTED`` past its end)."""
    roll = StockRoll(shift.first_no, shift.last_no, shift.next_no)
    numbers = [format_stock_no(roll.take()) for _ in range(count)]
    cur.execute(
        "UPDATE stock_rolls SET next_no = ? WHERE id = ?", (format_stock_no(roll.next_number), shift.roll_id)
    )
    shift.next_no = roll.next_number
    return numbers


def spoil_stock(
    cur, terminal: Terminal, shift: OpenShift, stock_no: str, reason: str, ticket_id: str | None, now
):
    cur.execute(
        "INSERT INTO spoiled_stock (stock_no, shift_id, clerk, reason, ticket_id, at) VALUES (?, ?, ?, ?, ?, ?)",
        (stock_no, shift.id, shift.clerk, reason, ticket_id, utc_text(now)),
    )


# --- tickets -------------------------------------------------------------------------------------------


def ticket_code_for(
    terminal: Terminal, ticket_id: str, departure_id: str, seat_no, ticket_type: str, doc_hash, now
):
    payload = TicketCodePayload(ticket_id, departure_id, seat_no, ticket_type, doc_hash_prefix(doc_hash), now)
    return encode_ticket_code(payload, terminal.signing_key, terminal.key_id)


def ticket_payload(t: dict) -> dict:
    """The TICKET object of docs/architecture.md."""
    return {
        "ticket_id": t["id"],
        "departure_id": t["departure_id"],
        "seat_no": t["seat_no"],
        "ticket_type": t["ticket_type"],
        "fare": t["fare"],
        "price": t["price"],
        "insurance": t["insurance"],
        "stop": t["stop"],
        "passenger": {
            "name": t["name"],
            "doc_type": t["doc_type"],
            "doc_number": t["doc_number"],
            "doc_hash": t["doc_hash"],
        },
        "carried_by": t["carried_by"],
        "stock_no": t["stock_no"],
    }


_TICKET_INSERT = (
    "INSERT INTO tickets (id, order_id, departure_id, seat_no, stock_no, status, ticket_type, fare, price, insurance, "
    "board, stop, carried_by, doc_hash, times_changed, changed_from, clerk, shift_id, sold_at) "
    "VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_PASSENGER_INSERT = "INSERT INTO passengers (ticket_id, name, doc_type, doc_masked, doc_hash, doc_number) VALUES (?, ?, ?, ?, ?, ?)"


def insert_tickets(cur, tickets: list[dict], order_id: str) -> None:
    try:
        cur.executemany(
            _TICKET_INSERT,
            [
                (
                    t["id"],
                    order_id,
                    t["departure_id"],
                    t["seat_no"],
                    t["stock_no"],
                    t["ticket_type"],
                    t["fare"],
                    t["price"],
                    t["insurance"],
                    t["board"],
                    t["stop"],
                    t["carried_by"],
                    t["doc_hash"],
                    t.get("times_changed", 0),
                    t.get("changed_from"),
                    t["clerk"],
                    t["shift_id"],
                    t["sold_at"],
                )
                for t in tickets
            ],
        )
    except sqlite3.IntegrityError as exc:
        if "doc_hash" in str(exc):
            raise duplicate_document() from None
        raise
    cur.executemany(
        _PASSENGER_INSERT,
        [
            (
                t["id"],
                t["name"],
                t["doc_type"] or "",
                mask(t["doc_number"] or ""),
                t["doc_hash"],
                t["doc_number"],
            )
            for t in tickets
        ],
    )


def duplicate_document(name: str = "") -> RuleViolation:
    who = f"（{name}）" if name else ""
    return _violation(
        "DUPLICATE_DOCUMENT",
        f"该证件{who}已购买本班次车票（一证一座）",
        f"This document{' (' + name + ')' if name else ''} already holds a ticket on this departure",
    )


def check_documents_free(cur, departure_id: str, hashes: dict[str, str]) -> None:
    """``hashes``: doc_hash -> passenger name. Refuses a document already on the departure."""
    if not hashes:
        return
    keys = list(hashes)
    cur.execute(
        f"SELECT doc_hash FROM tickets WHERE departure_id = ? AND status = 'active' AND doc_hash IN "
        f"({','.join('?' * len(keys))}) LIMIT 1",
        [departure_id, *keys],
    )
    row = cur.fetchone()
    if row:
        raise duplicate_document(hashes[row[0]])


def take_seats(cur, departure_id: str, seats: list[tuple[int, str]]) -> None:
    cur.executemany(
        "UPDATE seats SET state = 'sold', ticket_id = ? WHERE departure_id = ? AND seat_no = ? "
        "AND state IN ('free', 'leased')",
        [(ticket_id, departure_id, seat_no) for seat_no, ticket_id in seats],
    )
    if cur.rowcount != len(seats):
        raise _violation("SEAT_TAKEN", "座位刚被占用，请重新选座", "A seat was just taken; choose again")


def free_seat(cur, departure_id: str, seat_no: int | None) -> None:
    """Give a seat back: to this terminal's lease if it came from one, else to the pool."""
    if seat_no is None:
        return
    cur.execute(
        "UPDATE seats SET ticket_id = NULL, state = CASE WHEN lease_id IS NULL THEN 'free' ELSE 'leased' END "
        "WHERE departure_id = ? AND seat_no = ?",
        (departure_id, seat_no),
    )


def make_print_job(
    kind: str, t: dict, dep: DepartureInfo, rules: Rules, terminal: Terminal, now: datetime
) -> PrintJob:
    ticket_type = rules.ticket_types.get(t["ticket_type"]) if t["ticket_type"] in rules.ticket_types else None
    return PrintJob(
        kind=kind,
        ticket_id=t["id"],
        stock_no=t["stock_no"],
        origin_code=dep.board,
        origin_name=dep.board_name,
        destination_code=dep.stop,
        destination_name=dep.stop_name,
        date=dep.date,
        time=dep.time,
        departs_at=dep.departs_at,
        schedule_code=dep.schedule_code,
        departure_id=dep.id,
        seat_no=t["seat_no"],
        ticket_type=t["ticket_type"],
        ticket_type_name=ticket_type.name if ticket_type else t["ticket_type"],
        fare=t["fare"],
        price=t["price"],
        insurance=t["insurance"],
        insurance_name=rules.insurance_name if t["insurance"] else "",
        vehicle_class=dep.vehicle_class,
        vehicle_class_name=dep.vehicle_class_name,
        gate=dep.gate,
        clerk=t["clerk"] or "",
        passenger_name=t["name"],
        doc_type=t["doc_type"],
        doc_masked=mask(t["doc_number"] or ""),
        carried_by=t["carried_by"],
        sold_at=now,
        ticket_code=ticket_code_for(
            terminal, t["id"], dep.id, t["seat_no"], t["ticket_type"], t["doc_hash"], now
        ),
    )


# --- sell ----------------------------------------------------------------------------------------------


def _prepare_passengers(terminal: Terminal, passengers: Sequence[PassengerIn], now: datetime) -> list[dict]:
    """Validate names and documents before the transaction starts (pure work, no locks held)."""
    today = terminal.local_date(now)
    out = []
    for index, p in enumerate(passengers):
        number = (p.doc_number or "").strip()
        name = (p.name or "").strip()
        entry = {
            "index": index,
            "in": p,
            "name": name,
            "doc_type": None,
            "doc_number": None,
            "doc_hash": None,
        }
        if number:
            normalised = validate_document(p.doc_type, number, today)
            entry["doc_type"] = DocumentType(p.doc_type).value
            entry["doc_number"] = normalised
            entry["doc_hash"] = document_hash(terminal.doc_hash_key, p.doc_type, normalised)
        out.append(entry)
    return out


def sell(
    db: Database,
    terminal: Terminal,
    *,
    clerk: str,
    departure_id: str,
    stop: str,
    passengers: Sequence[PassengerIn],
    payment: PaymentIn | None = None,
    insurance: bool = False,
    now: datetime,
) -> SaleResult:
    """Sell one to nine tickets on one departure from the home station to ``stop``."""
    now = require_now(now)
    payment = payment or PaymentIn()
    if payment.method not in PAYMENT_METHODS:
        raise _violation(
            "BAD_PAYMENT_METHOD",
            f"不支持的付款方式：{payment.method}",
            f"Unknown payment method: {payment.method}",
        )
    if payment.method == "epay" and not (payment.reference or "").strip():
        raise _violation("PAYMENT_REFERENCE_MISSING", "请填写电子支付流水号", "Enter the e-payment reference")
    party = _prepare_passengers(terminal, passengers, now)
    with db.transaction() as session:
        cur = cursor(session)
        refuse_while_alarm(cur)
        rules = load_rules(cur)
        types = rules.ticket_types
        shift = open_shift_of(cur, terminal, clerk)
        board = rules.home_station or terminal.station_code
        dep = fetch_departure(cur, departure_id, board, stop)
        check_sellable(dep.status, dep.departs_at, dep.stop_sale_minutes, now)
        full_fare = require_fare(dep)

        counts = Counter(entry["in"].ticket_type for entry in party)
        capped_codes = [t.code for t in types if t.counts_free_child_cap]
        already = 0
        if any(counts.get(code) for code in capped_codes):
            cur.execute(
                f"SELECT count(*) FROM tickets WHERE departure_id = ? AND status = 'active' "
                f"AND ticket_type IN ({','.join('?' * len(capped_codes))})",
                [departure_id, *capped_codes],
            )
            already = cur.fetchone()[0]
        types.check_party(dict(counts), already, dep.seats)

        hashes: dict[str, str] = {}
        for entry in party:
            ttype = types.get(entry["in"].ticket_type)
            if ttype.document_required and not entry["doc_hash"]:
                raise _violation(
                    "DOCUMENT_REQUIRED",
                    f"第 {entry['index'] + 1} 位乘客需要有效证件（实名制）",
                    f"Passenger {entry['index'] + 1} needs an identity document (real-name rule)",
                )
            if ttype.document_required and not entry["name"]:
                raise _violation(
                    "NAME_REQUIRED",
                    f"第 {entry['index'] + 1} 位乘客请填写姓名",
                    f"Passenger {entry['index'] + 1}: enter the name",
                )
            if entry["doc_hash"]:
                if entry["doc_hash"] in hashes:
                    raise duplicate_document(entry["name"])
                hashes[entry["doc_hash"]] = entry["name"]
            if not entry["name"]:
                entry["name"] = ttype.name
        check_documents_free(cur, departure_id, hashes)

        seated = [e for e in party if types.get(e["in"].ticket_type).needs_seat]
        available = sellable_seats(cur, terminal, rules, departure_id, now)
        seat_numbers = choose_seats(available, [e["in"].seat_no for e in seated], terminal.online)
        for entry, seat in zip(seated, seat_numbers, strict=True):
            entry["seat_no"] = seat

        ids = next_ticket_ids(cur, terminal, len(party))
        stock = take_stock(cur, shift, len(party))
        order_id = "O" + ids[0]
        carriers = [e for e in party if types.get(e["in"].ticket_type).can_carry]
        taken_carriers: set[int] = set()
        sold_at = utc_text(now)
        tickets = []
        for entry, ticket_id in zip(party, ids, strict=True):
            entry["id"] = ticket_id
        for entry, stock_no in zip(party, stock, strict=True):
            p = entry["in"]
            ttype = types.get(p.ticket_type)
            carried_by = None
            if ttype.needs_adult:
                carrier = _carrier_for(p, party, carriers, taken_carriers, types)
                carried_by = carrier["id"]
            price = ttype.price(full_fare)
            tickets.append(
                {
                    "id": entry["id"],
                    "departure_id": departure_id,
                    "seat_no": entry.get("seat_no"),
                    "stock_no": stock_no,
                    "ticket_type": p.ticket_type,
                    "fare": full_fare,
                    "price": price,
                    "insurance": rules.insurance_price if insurance else 0,
                    "board": board,
                    "stop": stop,
                    "carried_by": carried_by,
                    "doc_hash": entry["doc_hash"],
                    "doc_type": entry["doc_type"],
                    "doc_number": entry["doc_number"],
                    "name": entry["name"],
                    "clerk": clerk,
                    "shift_id": shift.id,
                    "sold_at": sold_at,
                }
            )
        total = sum(t["price"] + t["insurance"] for t in tickets)
        if payment.method == "cash":
            tendered = total if payment.tendered is None else payment.tendered
            if tendered < total:
                raise _violation(
                    "INSUFFICIENT_PAYMENT",
                    f"实收金额不足：应收 {total / 100:.2f} 元，实收 {tendered / 100:.2f} 元",
                    f"Not enough cash: {total / 100:.2f} due, {tendered / 100:.2f} tendered",
                    total=total,
                    tendered=tendered,
                )
        else:
            tendered = total
        change = tendered - total

        cur.execute(
            "INSERT INTO orders (id, clerk, shift_id, channel, created_at, total) VALUES (?, ?, ?, 'counter', ?, ?)",
            (order_id, clerk, shift.id, sold_at, total),
        )
        insert_tickets(cur, tickets, order_id)
        take_seats(cur, departure_id, [(t["seat_no"], t["id"]) for t in tickets if t["seat_no"] is not None])
        cur.execute(
            "INSERT INTO payments (order_id, kind, method, amount, tendered, change_given, reference, shift_id, at) "
            "VALUES (?, 'sale', ?, ?, ?, ?, ?, ?, ?)",
            (order_id, payment.method, total, tendered, change, payment.reference, shift.id, sold_at),
        )
        seq = emit(
            cur,
            terminal,
            "ticket.sold",
            {
                "order_id": order_id,
                "clerk": clerk,
                "shift_id": shift.id,
                "sold_at": sold_at,
                "payment": {
                    "method": payment.method,
                    "amount": total,
                    "tendered": tendered,
                    "change": change,
                    "reference": payment.reference,
                },
                "tickets": [ticket_payload(t) for t in tickets],
            },
            now,
        )
        audit(
            cur,
            terminal,
            clerk,
            "sell",
            order_id,
            {
                "departure": departure_id,
                "stop": stop,
                "tickets": ids,
                "stock": stock,
                "total": total,
                "method": payment.method,
            },
            now,
        )
    # Signed after the commit: the write lock is not held while the codes are computed.
    jobs = [make_print_job("sale", t, dep, rules, terminal, now) for t in tickets]
    return SaleResult(order_id, ids, total, payment.method, tendered, change, seq, jobs)


def _carrier_for(p: PassengerIn, party, carriers, taken: set[int], types) -> dict:
    if p.carried_by is not None:
        if (
            not 0 <= p.carried_by < len(party)
            or not types.get(party[p.carried_by]["in"].ticket_type).can_carry
        ):
            raise _violation(
                "FREE_CHILD_NEEDS_ADULT",
                "免票儿童须由同行成人携带",
                "A free child must be carried by an adult of the party",
            )
        if p.carried_by in taken:
            raise _violation(
                "FREE_CHILD_NEEDS_ADULT",
                "每名成人乘客只能携带一名免票儿童",
                "Each adult may carry one free child",
            )
        taken.add(p.carried_by)
        return party[p.carried_by]
    for carrier in carriers:
        if carrier["index"] not in taken:
            taken.add(carrier["index"])
            return carrier
    raise _violation(
        "FREE_CHILD_NEEDS_ADULT", "每名成人乘客只能携带一名免票儿童", "Each adult may carry one free child"
    )


# --- lookups -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketView:
    ticket_id: str
    order_id: str
    departure_id: str
    seat_no: int | None
    stock_no: str | None
    status: str
    ticket_type: str
    fare: int
    price: int
    insurance: int
    board: str
    stop: str
    carried_by: str | None
    times_changed: int
    changed_from: str | None
    clerk: str | None
    shift_id: str | None
    sold_at: datetime
    passenger_name: str
    doc_type: str
    doc_masked: str
    doc_hash: str | None


_TICKET_VIEW = (
    "SELECT t.id, t.order_id, t.departure_id, t.seat_no, t.stock_no, t.status, t.ticket_type, t.fare, t.price, "
    "t.insurance, t.board, t.stop, t.carried_by, t.times_changed, t.changed_from, t.clerk, t.shift_id, t.sold_at, "
    "p.name, p.doc_type, p.doc_masked, t.doc_hash FROM tickets t JOIN passengers p ON p.ticket_id = t.id "
)


def _views(cur, where: str, args) -> list[TicketView]:
    cur.execute(_TICKET_VIEW + where + " ORDER BY t.sold_at, t.id", args)
    out = []
    for row in cur.fetchall():
        row = list(row)
        row[17] = parse_utc(row[17])
        out.append(TicketView(*row))
    return out


def get_ticket_row(cur, ticket_id: str) -> dict:
    cur.execute(
        "SELECT t.id, t.order_id, t.departure_id, t.seat_no, t.stock_no, t.status, t.ticket_type, t.fare, t.price, "
        "t.insurance, t.board, t.stop, t.carried_by, t.doc_hash, t.times_changed, t.changed_from, t.clerk, "
        "t.shift_id, t.sold_at, p.name, p.doc_type, p.doc_number "
        "FROM tickets t JOIN passengers p ON p.ticket_id = t.id WHERE t.id = ?",
        (ticket_id,),
    )
    row = cur.fetchone()
    if row is None:
        raise _violation("UNKNOWN_TICKET", f"没有这张票：{ticket_id}", f"No such ticket: {ticket_id}")
    keys = (
        "id order_id departure_id seat_no stock_no status ticket_type fare price insurance board stop carried_by "
        "doc_hash times_changed changed_from clerk shift_id sold_at name doc_type doc_number"
    ).split()
    t = dict(zip(keys, row, strict=True))
    t["doc_type"] = t["doc_type"] or None
    return t


def find_tickets(
    db: Database,
    terminal: Terminal,
    *,
    ticket_id: str | None = None,
    stock_no: str | None = None,
    code: str | None = None,
    doc_hash: str | None = None,
    doc_type: str | None = None,
    doc_number: str | None = None,
) -> list[TicketView]:
    """Tickets by system ticket id, paper stock number, scanned ticket code, or document."""
    if code:
        ticket_id = decode_ticket_code(code, terminal.public_keys).ticket_id
    if doc_number:
        doc_hash = document_hash(terminal.doc_hash_key, doc_type or DocumentType.RESIDENT_ID, doc_number)
    with db.read() as session:
        cur = cursor(session)
        if ticket_id:
            return _views(cur, "WHERE t.id = ?", (ticket_id.strip(),))
        if stock_no:
            return _views(cur, "WHERE t.stock_no = ?", (format_stock_no(parse_stock_no(stock_no)),))
        if doc_hash:
            return _views(cur, "WHERE t.doc_hash = ?", (doc_hash,))
    raise _violation(
        "NO_SEARCH_KEY",
        "请输入票号、车票编号、票码或证件",
        "Enter a stock number, ticket id, code or document",
    )


# --- reprint and pickup ----------------------------------------------------------------------------------


def _departure_for_ticket(cur, t: dict) -> DepartureInfo:
    return fetch_departure(cur, t["departure_id"], t["board"], t["stop"])


def reprint(
    db: Database, terminal: Terminal, *, clerk: str, ticket_id: str, now: datetime, reason: str = "reprint"
) -> PrintJob:
    """Print a live ticket again on the next blank; the old number is recorded spoiled."""
    now = require_now(now)
    with db.transaction() as session:
        cur = cursor(session)
        refuse_while_alarm(cur)
        rules = load_rules(cur)
        shift = open_shift_of(cur, terminal, clerk)
        t = get_ticket_row(cur, ticket_id)
        if t["status"] != "active":
            raise not_active(t)
        if not t["stock_no"]:
            raise _violation(
                "NOT_PRINTED", "该票尚未取票，请用取票功能", "This ticket was never printed; use pickup"
            )
        old = t["stock_no"]
        [new] = take_stock(cur, shift, 1)
        spoil_stock(cur, terminal, shift, old, reason, ticket_id, now)
        cur.execute("UPDATE tickets SET stock_no = ? WHERE id = ?", (new, ticket_id))
        t["stock_no"] = new
        at = utc_text(now)
        emit(
            cur,
            terminal,
            "ticket.reprinted",
            {
                "ticket_id": ticket_id,
                "old_stock_no": old,
                "new_stock_no": new,
                "reprinted_at": at,
                "clerk": clerk,
                "shift_id": shift.id,
            },
            now,
        )
        audit(
            cur,
            terminal,
            clerk,
            "reprint",
            ticket_id,
            {"old_stock_no": old, "new_stock_no": new, "reason": reason},
            now,
        )
        dep = _departure_for_ticket(cur, t)
    return make_print_job("reprint", t, dep, rules, terminal, now)


def pickup(
    db: Database,
    terminal: Terminal,
    *,
    clerk: str,
    now: datetime,
    ticket_id: str | None = None,
    doc_type: str | None = None,
    doc_number: str | None = None,
    doc_hash: str | None = None,
) -> list[PrintJob]:
    """Print tickets sold through another channel (no stock number yet), by ticket id or document."""
    now = require_now(now)
    if doc_number:
        doc_hash = document_hash(terminal.doc_hash_key, doc_type or DocumentType.RESIDENT_ID, doc_number)
    if not ticket_id and not doc_hash:
        raise _violation("NO_SEARCH_KEY", "请输入车票编号或证件", "Enter a ticket id or a document")
    with db.transaction() as session:
        cur = cursor(session)
        refuse_while_alarm(cur)
        rules = load_rules(cur)
        shift = open_shift_of(cur, terminal, clerk)
        if ticket_id:
            cur.execute(
                "SELECT id FROM tickets WHERE id = ? AND status = 'active' AND stock_no IS NULL", (ticket_id,)
            )
        else:
            cur.execute(
                "SELECT t.id FROM tickets t JOIN departures d ON d.id = t.departure_id WHERE t.doc_hash = ? "
                "AND t.status = 'active' AND t.stock_no IS NULL AND d.departs_at > ? ORDER BY d.departs_at, t.id",
                (doc_hash, utc_text(now)),
            )
        found = [row[0] for row in cur.fetchall()]
        if not found:
            if ticket_id:
                t = get_ticket_row(cur, ticket_id)  # UNKNOWN_TICKET when there is none at all
                if t["stock_no"]:
                    raise _violation(
                        "ALREADY_PICKED_UP", "该票已取过，如需补打请用重打", "Already picked up; use reprint"
                    )
                raise not_active(t)
            raise _violation(
                "NOTHING_TO_PICK_UP", "该证件没有待取的车票", "No tickets to pick up for this document"
            )
        jobs = []
        stock = take_stock(cur, shift, len(found))
        at = utc_text(now)
        for tid, stock_no in zip(found, stock, strict=True):
            t = get_ticket_row(cur, tid)
            dep = _departure_for_ticket(cur, t)
            if dep.status == "departed" or now >= dep.departs_at:
                raise _violation("DEPARTED", "该班次已发车", "This departure has left")
            cur.execute("UPDATE tickets SET stock_no = ? WHERE id = ?", (stock_no, tid))
            t["stock_no"] = stock_no
            emit(
                cur,
                terminal,
                "ticket.picked_up",
                {
                    "ticket_id": tid,
                    "stock_no": stock_no,
                    "picked_up_at": at,
                    "clerk": clerk,
                    "shift_id": shift.id,
                },
                now,
            )
            audit(cur, terminal, clerk, "pickup", tid, {"stock_no": stock_no}, now)
            jobs.append(make_print_job("pickup", {**t, "clerk": clerk}, dep, rules, terminal, now))
    return jobs


def not_active(t: dict) -> RuleViolation:
    labels = {
        "refunded": ("已退票", "refunded"),
        "changed": ("已改签", "changed"),
        "voided": ("已废票", "voided"),
    }
    zh, en = labels.get(t["status"], (t["status"], t["status"]))
    return _violation("TICKET_NOT_ACTIVE", f"该票{zh}，不能办理", f"This ticket is {en}", status=t["status"])


def spoil_blank(db: Database, terminal: Terminal, *, clerk: str, now: datetime, reason: str = "jam") -> str:
    """Record the next blank of the roll as spoiled (a paper jam, a misfeed); returns its number."""
    now = require_now(now)
    with db.transaction() as session:
        cur = cursor(session)
        refuse_while_alarm(cur)
        shift = open_shift_of(cur, terminal, clerk)
        [stock_no] = take_stock(cur, shift, 1)
        spoil_stock(cur, terminal, shift, stock_no, reason, None, now)
        emit(
            cur,
            terminal,
            "stock.spoiled",
            {
                "stock_no": stock_no,
                "reason": reason,
                "clerk": clerk,
                "shift_id": shift.id,
                "at": utc_text(now),
            },
            now,
        )
        audit(cur, terminal, clerk, "spoil", stock_no, {"reason": reason}, now)
    return stock_no

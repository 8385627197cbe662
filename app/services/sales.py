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
from app.domain.gate import normalise_name
from app.domain.identity import DocumentIdentity, DocumentType, document_hash, mask, validate_document
from app.domain.leases import pick_seat, pick_seats
from app.domain.schedule import check_sellable
from app.domain.stock import StockRoll, format_stock_no, parse_stock_no
from app.domain.ticket_code import TicketCodePayload, decode_ticket_code, doc_tag, encode_ticket_code
from app.errors import KezhanError, RuleViolation
from app.services.context import (
    OpenShift,
    Rules,
    Terminal,
    audit,
    counter_write,
    cursor,
    emit,
    next_ticket_ids,
    open_shift_of,
    refuse_while_alarm,
    require_now,
    utc_text,
)
from app.services.recovery import require_roll_confirmed
from app.store import departures as departure_store
from app.store import gate as gate_store
from app.store import paper as paper_store
from app.store import seats as seat_store
from app.store import shifts as shift_store
from app.store import tickets as ticket_store
from app.store.departures import DepartureInfo
from app.store.engine import Database
from app.store.tickets import TicketView

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

def fetch_departure(cur, departure_id: str, board: str, stop: str) -> DepartureInfo:
    dep = departure_store.departure_with_fare(cur, departure_id, board, stop)
    if dep is None:
        raise _violation(
            "UNKNOWN_DEPARTURE", f"没有这个班次：{departure_id}", f"No such departure: {departure_id}"
        )
    return dep


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
    now = terminal.server_time(now)
    now_text = utc_text(now)
    pool, leased = set(), set()
    for seat in seat_store.open_seats(cur, departure_id):
        if seat.state == "leased" and seat.lease_expires_at is not None and seat.lease_expires_at > now_text:
            leased.add(seat.seat_no)
        else:
            pool.add(seat.seat_no)
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
    """Consume the next ``count`` numbers of the clerk's roll (``STOCK_EXHAUSTED`` past its end;
    ``STOCK_CONFIRM_REQUIRED`` while the printed roll may be past what this file knows)."""
    require_roll_confirmed(cur)
    roll = StockRoll(shift.first_no, shift.last_no, shift.next_no)
    numbers = [format_stock_no(roll.take()) for _ in range(count)]
    shift_store.set_roll_next(cur, shift.roll_id, format_stock_no(roll.next_number))
    shift.next_no = roll.next_number
    return numbers


def spoil_stock(
    cur, terminal: Terminal, shift: OpenShift, stock_no: str, reason: str, ticket_id: str | None, now
):
    shift_store.insert_spoiled(cur, stock_no=stock_no, shift_id=shift.id, clerk=shift.clerk, reason=reason,
                               ticket_id=ticket_id, at=utc_text(now))


# --- tickets -------------------------------------------------------------------------------------------


def ticket_code_for(
    terminal: Terminal, ticket_id: str, departure_id: str, seat_no, ticket_type: str, doc_hash, now, printed: int = 0
):
    """The signed code of a paper; ``printed`` is which print it is (0 the original, n the n-th
    reprint), so the gate can refuse the older papers of a reprinted ticket. ``doc_hash``: the
    document's full hash or its tag -- the code carries only the 8-bit tag either way."""
    payload = TicketCodePayload(ticket_id, departure_id, seat_no, ticket_type, doc_tag(doc_hash), now, printed)
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
        # The number goes to the server (real-name reporting; it keeps one seat per document under a
        # key of its own); the hash under the terminals' shared key stays in this file.
        "passenger": {
            "name": t["name"],
            "doc_type": t["doc_type"],
            "doc_number": t["doc_number"],
        },
        "carried_by": t["carried_by"],
        "stock_no": t["stock_no"],
    }


def insert_tickets(cur, tickets: list[dict], order_id: str) -> None:
    try:
        ticket_store.insert_tickets(cur, tickets, order_id)
    except sqlite3.IntegrityError as exc:
        if "doc_hash" in str(exc):
            raise duplicate_document() from None
        raise
    ticket_store.insert_passengers(
        cur,
        (
            (t["id"], t["name"], t["doc_type"] or "",
             mask(t["doc_number"]) if t["doc_number"] else (t.get("doc_masked") or ""), t["doc_hash"], t["doc_number"])
            for t in tickets
        ),
    )


def duplicate_document(ticket_id: str = "", seat_no: int | None = None, *, in_party: bool = False) -> RuleViolation:
    """The document already holds a seat on the departure: name the ticket that holds it (the
    passenger being sold may have been typed under another name), or, within one party, say so."""
    if in_party:
        return _violation(
            "DUPLICATE_DOCUMENT",
            "同一证件在本单中出现两次（一证一座）",
            "The same document appears twice in this sale (one seat per document)",
        )
    if not ticket_id:
        return _violation(
            "DUPLICATE_DOCUMENT",
            "该证件已持有本班次车票（一证一座）",
            "This document already holds a ticket on this departure (one seat per document)",
        )
    seat_zh = f"，{seat_no} 号座" if seat_no is not None else ""
    seat_en = f", seat {seat_no}" if seat_no is not None else ""
    return _violation(
        "DUPLICATE_DOCUMENT",
        f"该证件已持有本班次车票 {ticket_id}{seat_zh}（一证一座）",
        f"This document already holds ticket {ticket_id}{seat_en} on this departure (one seat per document)",
        ticket_id=ticket_id,
        seat_no=seat_no,
    )


def check_documents_free(cur, departure_id: str, hashes: dict[str, str], masks: dict[str, str] | None = None) -> None:
    """``hashes``: doc_hash -> passenger name; ``masks``: doc_hash -> the document's mask. Refuses a
    document already on the departure: among this terminal's own sales by the full hash; among the
    tickets from the feed (another window's, the web's: they hold only the mask and the 8-bit tag)
    when the name, the mask and the tag all agree. The server checks the rest, by its own key."""
    holder = ticket_store.document_holder(cur, departure_id, list(hashes))
    if holder:
        raise duplicate_document(holder[1], holder[2])
    for doc_hash, name in hashes.items():
        masked = (masks or {}).get(doc_hash)
        if not (masked and name):
            continue
        for ticket_id, seat_no, holder_name in ticket_store.feed_document_holders(
                cur, departure_id, doc_tag(doc_hash), masked):
            if same_name(holder_name, name):
                raise duplicate_document(ticket_id, seat_no)


def document_holder(
    db: Database, terminal: Terminal, *, departure_id: str, doc_type: str, doc_number: str
) -> RuleViolation | None:
    """The refusal the sale would meet at the confirm key because this document already holds a
    seat on the departure, asked as soon as the number is known (typed in full or read from a card)."""
    doc_hash = document_hash(terminal.doc_hash_key, doc_type or DocumentType.RESIDENT_ID, doc_number)
    with db.read() as session:
        holder = ticket_store.document_holder(cursor(session), departure_id, [doc_hash])
    return duplicate_document(holder[1], holder[2]) if holder else None


def take_seats(cur, departure_id: str, seats: list[tuple[int, str]]) -> None:
    if seat_store.mark_sold(cur, departure_id, seats) != len(seats):
        raise _violation("SEAT_TAKEN", "座位刚被占用，请重新选座", "A seat was just taken; choose again")


def free_seat(cur, departure_id: str, seat_no: int | None) -> None:
    """Give a seat back: to this terminal's lease if it came from one, else to the pool."""
    if seat_no is None:
        return
    seat_store.give_back(cur, departure_id, seat_no)


def make_print_job(
    kind: str, t: dict, dep: DepartureInfo, rules: Rules, terminal: Terminal, now: datetime,
    sold_at: datetime | None = None,
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
        # A ticket from the feed has no number here, only the mask it came with.
        doc_masked=mask(t["doc_number"]) if t["doc_number"] else (t.get("doc_masked") or ""),
        carried_by=t["carried_by"],
        sold_at=sold_at or now,
        ticket_code=ticket_code_for(
            terminal, t["id"], dep.id, t["seat_no"], t["ticket_type"], t["doc_hash"] or t.get("doc_tag"), now,
            t.get("prints") or 0,
        ),
    )


def owe_paper(cur, kind: str, tickets: list[dict], *, clerk: str, shift_id: str, now: datetime) -> None:
    """The paper of these tickets is owed until the printer takes it (``app.services.paper``): written
    in the operation's own transaction, so a crash before the print leaves the row to be found."""
    at = utc_text(now)
    paper_store.owe(cur, ((t["id"], t["stock_no"], kind, clerk, shift_id, at) for t in tickets if t["stock_no"]))


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


def check_payment_method(payment: PaymentIn) -> None:
    if payment.method not in PAYMENT_METHODS:
        raise _violation(
            "BAD_PAYMENT_METHOD",
            f"不支持的付款方式：{payment.method}",
            f"Unknown payment method: {payment.method}",
        )


class _ServerMustConfirm(Exception):
    """Raised inside the sale's transaction, before anything is written, when the seats chosen are
    not all in this terminal's leases and a server is there to ask: the transaction rolls back, the
    seats are confirmed with the server outside it (no write lock held over the network), and the
    sale runs again on the seats the server granted."""

    def __init__(self, seats: list[int], ours: frozenset[int], chosen: list[bool]):
        super().__init__(seats)
        self.seats, self.ours, self.chosen = seats, ours, chosen


SALE_ATTEMPTS = 3  # a confirmed seat lost again before the sale could commit (lease swept) is retried


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
    """Sell one to nine tickets on one departure from the home station to ``stop``.

    Online, a seat outside this terminal's leases is confirmed by the provincial server first
    (``Terminal.seat_confirmer``); a seat in a lease needs no call. When the server cannot be asked,
    the sale is refused with SEAT_NOT_CONFIRMED rather than taking a seat someone else may hold."""
    now = require_now(now)
    payment = payment or PaymentIn()
    check_payment_method(payment)
    if payment.method == "epay" and not (payment.reference or "").strip():
        raise _violation("PAYMENT_REFERENCE_MISSING", "请填写电子支付流水号", "Enter the e-payment reference")
    party = _prepare_passengers(terminal, passengers, now)
    confirmed = None
    for _attempt in range(SALE_ATTEMPTS):
        try:
            return _sell_once(db, terminal, clerk=clerk, departure_id=departure_id, stop=stop, party=party,
                              payment=payment, insurance=insurance, now=now, confirmed=confirmed)
        except _ServerMustConfirm as need:
            confirmed = confirm_seats(terminal, departure_id, need.seats, need.ours, need.chosen)
    raise _violation("SEAT_TAKEN", "座位刚被占用，请重新选座", "A seat was just taken; choose again")


def confirm_seats(
    terminal: Terminal, departure_id: str, seats: list[int], ours: frozenset[int], chosen: list[bool]
) -> list[int]:
    """Each seat outside ``ours`` asked of the server (``chosen``: the clerk picked it, so another seat
    will not do); an automatically picked seat the server refuses is replaced by one it grants."""
    out = []
    for seat, picked in zip(seats, chosen, strict=True):
        if seat in ours:
            out.append(seat)
            continue
        try:
            out.append(_ask_server(terminal, departure_id, seat))
        except KezhanError as exc:
            if exc.code not in ("SEAT_TAKEN", "SEAT_LEASED"):
                raise not_confirmed(seat, exc) from None
            if picked:
                raise _violation(
                    "SEAT_TAKEN",
                    f"{seat} 号座位已被其他窗口或网售占用，请重新选座",
                    f"Seat {seat} is taken by another window or the web; choose another seat",
                    seat=seat,
                ) from None
            try:
                out.append(_ask_server(terminal, departure_id, None))
            except KezhanError as again:
                if again.code == "NO_SEATS":
                    raise _violation("NO_SEATS", "该班次已无空座", "This departure has no free seat left") from None
                raise not_confirmed(seat, again) from None
    return out


def _ask_server(terminal: Terminal, departure_id: str, seat: int | None) -> int:
    return int(terminal.seat_confirmer(departure_id, seat))


def not_confirmed(seat: int, exc: KezhanError) -> RuleViolation:
    """The server could not confirm a pool seat: the clerk sells from this terminal's leases instead."""
    return _violation(
        "SEAT_NOT_CONFIRMED",
        f"省平台未能确认 {seat} 号座位（{exc.text('zh')}）：为防一座两售，本次请从本机租用的座位中售票。",
        f"The provincial server could not confirm seat {seat} ({exc.text('en')}): so that no seat is sold "
        "twice, sell from this terminal's leased seats.",
        seat=seat,
        cause=exc.code,
    )


def _sell_once(
    db: Database, terminal: Terminal, *, clerk: str, departure_id: str, stop: str, party: list[dict],
    payment: PaymentIn, insurance: bool, now: datetime, confirmed: list[int] | None,
) -> SaleResult:
    with counter_write(db, terminal, clerk) as (cur, rules, shift):
        board = rules.home_station or terminal.station_code
        dep = fetch_departure(cur, departure_id, board, stop)
        check_sellable(dep.status, dep.departs_at, dep.stop_sale_minutes, now)
        refuse_if_gate_closed(cur, departure_id)
        full_fare = require_fare(dep)
        _check_party(cur, rules, party, dep)
        _check_documents(cur, rules, party, departure_id)
        _seat_party(cur, terminal, rules, party, departure_id, now, confirmed)
        ids = next_ticket_ids(cur, terminal, len(party))
        stock = take_stock(cur, shift, len(party))
        tickets = _ticket_rows(
            rules, party, ids, stock, dep, full_fare, insurance=insurance, clerk=clerk, shift=shift, now=now
        )
        total = sum(t["price"] + t["insurance"] for t in tickets)
        tendered, change = _cash_change(payment, total)
        order_id = "O" + ids[0]
        _record_sale(cur, order_id, tickets, payment, total=total, tendered=tendered, change=change, shift=shift)
        owe_paper(cur, "sale", tickets, clerk=clerk, shift_id=shift.id, now=now)
        seq = emit(cur, terminal, "ticket.sold", _sold_payload(order_id, tickets, payment, total, tendered, change),
                   now)
        audit(cur, terminal, clerk, "sell", order_id, {"departure": departure_id, "stop": stop, "tickets": ids,
                                                      "stock": stock, "total": total, "method": payment.method}, now)
    # Signed after the commit: the write lock is not held while the codes are computed.
    jobs = [make_print_job("sale", t, dep, rules, terminal, now) for t in tickets]
    return SaleResult(order_id, ids, total, payment.method, tendered, change, seq, jobs)


def _check_party(cur, rules: Rules, party: list[dict], dep: DepartureInfo) -> None:
    """The party's make-up (ticket types, free children against the departure's cap, its size)."""
    types = rules.ticket_types
    counts = Counter(entry["in"].ticket_type for entry in party)
    capped_codes = [t.code for t in types if t.counts_free_child_cap]
    already = 0
    if any(counts.get(code) for code in capped_codes):
        already = ticket_store.active_of_types(cur, dep.id, capped_codes)
    types.check_party(dict(counts), already, dep.seats)


def _check_documents(cur, rules: Rules, party: list[dict], departure_id: str) -> None:
    """Real-name rules: a document and a name where the type needs them, one seat per document (in
    the party and on the departure). A passenger without a name gets the ticket type's."""
    types = rules.ticket_types
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
                raise duplicate_document(in_party=True)
            hashes[entry["doc_hash"]] = entry["name"]
        if not entry["name"]:
            entry["name"] = ttype.name
    check_documents_free(cur, departure_id, hashes,
                         {e["doc_hash"]: mask(e["doc_number"]) for e in party if e["doc_hash"]})


def _seat_party(
    cur, terminal: Terminal, rules: Rules, party: list[dict], departure_id: str, now: datetime,
    confirmed: list[int] | None = None,
) -> None:
    """A seat for every member whose ticket type takes one (``entry["seat_no"]``). ``confirmed``: the
    seats the server has just granted for this sale, which must now be in this terminal's leases."""
    types = rules.ticket_types
    seated = [e for e in party if types.get(e["in"].ticket_type).needs_seat]
    available = sellable_seats(cur, terminal, rules, departure_id, now)
    wanted = [e["in"].seat_no for e in seated]
    seat_numbers = choose_seats(available, confirmed if confirmed is not None else wanted, terminal.online)
    if terminal.online and terminal.seat_confirmer is not None and not available.ours.issuperset(seat_numbers):
        # A pool seat: another terminal or the web may hold it by now, whatever this map says.
        raise _ServerMustConfirm(seat_numbers, available.ours, [seat is not None for seat in wanted])
    for entry, seat in zip(seated, seat_numbers, strict=True):
        entry["seat_no"] = seat


def _ticket_rows(
    rules: Rules,
    party: list[dict],
    ids: list[str],
    stock: list[str],
    dep: DepartureInfo,
    full_fare: int,
    *,
    insurance: bool,
    clerk: str,
    shift: OpenShift,
    now: datetime,
) -> list[dict]:
    """One ticket row per member, priced by its type, each free child on the adult who carries it."""
    types = rules.ticket_types
    carriers = [e for e in party if types.get(e["in"].ticket_type).can_carry]
    taken_carriers: set[int] = set()
    sold_at = utc_text(now)
    for entry, ticket_id in zip(party, ids, strict=True):
        entry["id"] = ticket_id
    tickets = []
    for entry, stock_no in zip(party, stock, strict=True):
        p = entry["in"]
        ttype = types.get(p.ticket_type)
        carried_by = None
        if ttype.needs_adult:
            carried_by = _carrier_for(p, party, carriers, taken_carriers, types)["id"]
        tickets.append(
            {
                "id": entry["id"],
                "departure_id": dep.id,
                "seat_no": entry.get("seat_no"),
                "stock_no": stock_no,
                "ticket_type": p.ticket_type,
                "fare": full_fare,
                "price": ttype.price(full_fare),
                "insurance": rules.insurance_price if insurance else 0,
                "board": dep.board,
                "stop": dep.stop,
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
    return tickets


def _cash_change(payment: PaymentIn, total: int) -> tuple[int, int]:
    """(tendered, change handed back); an e-payment is exactly the total."""
    if payment.method != "cash":
        return total, 0
    tendered = total if payment.tendered is None else payment.tendered
    if tendered < total:
        raise _violation(
            "INSUFFICIENT_PAYMENT",
            f"实收金额不足：应收 {total / 100:.2f} 元，实收 {tendered / 100:.2f} 元",
            f"Not enough cash: {total / 100:.2f} due, {tendered / 100:.2f} tendered",
            total=total,
            tendered=tendered,
        )
    return tendered, tendered - total


def _record_sale(
    cur, order_id: str, tickets: list[dict], payment: PaymentIn, *, total: int, tendered: int, change: int,
    shift: OpenShift,
) -> None:
    """The order, its tickets and passengers, the seats they take and the money taken in."""
    sold_at = tickets[0]["sold_at"]
    clerk = tickets[0]["clerk"]
    ticket_store.insert_order(cur, order_id=order_id, clerk=clerk, shift_id=shift.id, created_at=sold_at, total=total)
    insert_tickets(cur, tickets, order_id)
    take_seats(cur, tickets[0]["departure_id"],
               [(t["seat_no"], t["id"]) for t in tickets if t["seat_no"] is not None])
    ticket_store.insert_payment(cur, order_id=order_id, kind="sale", method=payment.method, amount=total,
                                tendered=tendered, change_given=change, reference=payment.reference,
                                shift_id=shift.id, at=sold_at)


def _sold_payload(
    order_id: str, tickets: list[dict], payment: PaymentIn, total: int, tendered: int, change: int
) -> dict:
    """The ``ticket.sold`` event of docs/architecture.md."""
    return {
        "order_id": order_id,
        "clerk": tickets[0]["clerk"],
        "shift_id": tickets[0]["shift_id"],
        "sold_at": tickets[0]["sold_at"],
        "payment": {
            "method": payment.method,
            "amount": total,
            "tendered": tendered,
            "change": change,
            "reference": payment.reference,
        },
        "tickets": [ticket_payload(t) for t in tickets],
    }


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


def same_name(a: str | None, b: str | None) -> bool:
    return bool(a and b) and normalise_name(a) == normalise_name(b)


# --- lookups -------------------------------------------------------------------------------------------


def get_ticket_row(cur, ticket_id: str) -> dict:
    t = ticket_store.ticket_row(cur, ticket_id)
    if t is None:
        raise _violation("UNKNOWN_TICKET", f"没有这张票：{ticket_id}", f"No such ticket: {ticket_id}")
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
    name: str | None = None,
) -> list[TicketView]:
    """Tickets by system ticket id, paper stock number, scanned ticket code, or document: this
    terminal's own sales by the full hash, tickets from the feed by tag and mask, and by ``name``
    too when it is known (a card) -- the clerk chooses among what fits."""
    if code:
        ticket_id = decode_ticket_code(code, terminal.public_keys).ticket_id
    if doc_number:
        document = DocumentIdentity.of(terminal.doc_hash_key, doc_type or DocumentType.RESIDENT_ID, doc_number, name)
        with db.read() as session:
            views = ticket_store.ticket_views(cursor(session), "document",
                                              (document.doc_hash, document.doc_tag, document.doc_masked))
        return [v for v in views if v.doc_hash or not document.name or same_name(v.passenger_name, document.name)]
    with db.read() as session:
        cur = cursor(session)
        if ticket_id:
            return ticket_store.ticket_views(cur, "ticket_id", ticket_id.strip())
        if stock_no:
            return ticket_store.ticket_views(cur, "stock_no", format_stock_no(parse_stock_no(stock_no)))
        if doc_hash:
            return ticket_store.ticket_views(cur, "doc_hash", doc_hash)
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
    with counter_write(db, terminal, clerk) as (cur, rules, shift):
        t = get_ticket_row(cur, ticket_id)
        if t["status"] != "active":
            raise not_active(t)
        if not t["stock_no"]:
            raise _violation(
                "NOT_PRINTED", "该票尚未取票，请用取票功能", "This ticket was never printed; use pickup"
            )
        refuse_unless_ours(cur, ticket_id)
        old = t["stock_no"]
        [new] = take_stock(cur, shift, 1)
        spoil_stock(cur, terminal, shift, old, reason, ticket_id, now)
        ticket_store.set_stock_no(cur, ticket_id, new)
        t["stock_no"] = new
        t["prints"] = (t.get("prints") or 0) + 1
        gate_store.set_prints(cur, ticket_id, t["prints"])
        owe_paper(cur, "reprint", [t], clerk=clerk, shift_id=shift.id, now=now)
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
                "printed_version": t["prints"],
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
    name: str | None = None,
) -> list[PrintJob]:
    """Print tickets sold through another channel (no stock number yet), by ticket id or document
    (with the passenger's ``name`` when a card gives it)."""
    now = require_now(now)
    document = None
    if doc_number:
        document = DocumentIdentity.of(terminal.doc_hash_key, doc_type or DocumentType.RESIDENT_ID, doc_number, name)
    if not ticket_id and document is None:
        raise _violation("NO_SEARCH_KEY", "请输入车票编号或证件", "Enter a ticket id or a document")
    with counter_write(db, terminal, clerk) as (cur, rules, shift):
        found = _waiting_for_pickup(cur, ticket_id, document, now)
        jobs = []
        stock = take_stock(cur, shift, len(found))
        at = utc_text(now)
        for tid, stock_no in zip(found, stock, strict=True):
            t = get_ticket_row(cur, tid)
            origin = departure_store.departure_origin(cur, t["departure_id"])
            if origin and origin != terminal.station_code:
                # The province lets only the departure's own station hand its web tickets out.
                raise _violation("OTHER_STATION", "这张网售车票的班次不从本站发车，请到始发站取票",
                                 "This web ticket's departure leaves from another station: it is picked up there")
            dep = _departure_for_ticket(cur, t)
            if dep.status == "departed" or now >= dep.departs_at:
                raise _violation("DEPARTED", "该班次已发车", "This departure has left")
            ticket_store.set_stock_no(cur, tid, stock_no)
            t["stock_no"] = stock_no
            owe_paper(cur, "pickup", [t], clerk=clerk, shift_id=shift.id, now=now)
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


def _waiting_for_pickup(cur, ticket_id: str | None, document: DocumentIdentity | None, now: datetime) -> list[str]:
    """The ticket (or the document's tickets on departures still to leave) sold elsewhere and never
    printed; a refusal that says why when there is none.

    A web ticket carries only the mask and the 8-bit tag of its document: with the name (a card)
    those pick out the passenger; without it, tickets of more than one name are not guessed between."""
    if ticket_id:
        found = ticket_store.awaiting_pickup(cur, ticket_id)
    else:
        rows = ticket_store.awaiting_pickup_by_document(cur, document, utc_text(now))
        if document.name:
            rows = [r for r in rows if r[2] or same_name(r[1], document.name)]
        elif len({normalise_name(r[1]) for r in rows}) > 1:
            raise _violation("DOCUMENT_AMBIGUOUS", "该证件号码对应多位乘客的车票，请刷身份证或用车票编号取票",
                             "This number fits the tickets of more than one passenger; tap the ID card or use "
                             "the ticket id")
        found = [r[0] for r in rows]
    if found:
        return found
    if ticket_id:
        t = get_ticket_row(cur, ticket_id)  # UNKNOWN_TICKET when there is none at all
        if t["stock_no"]:
            raise _violation("ALREADY_PICKED_UP", "该票已取过，如需补打请用重打", "Already picked up; use reprint")
        raise not_active(t)
    raise _violation("NOTHING_TO_PICK_UP", "该证件没有待取的车票", "No tickets to pick up for this document")


def refuse_unless_ours(cur, ticket_id: str) -> None:
    """``NOT_PICKED_UP_HERE`` for a web ticket this terminal never picked up: the provincial server
    lets only the window that printed it refund, change or reprint it (docs/protocol.md § What a
    terminal may do), so the counter says so before any money moves. ``SOLD_ELSEWHERE`` for a ticket
    another terminal sold, which this terminal holds only for its gate."""
    if ticket_store.is_peer_ticket(cur, ticket_id):
        raise _violation(
            "SOLD_ELSEWHERE",
            "该票由其他售票终端售出，本窗口只用于检票核对，请到售出该票的窗口办理",
            "Another terminal sold this ticket (held here only for the gate): go to the window that sold it",
            ticket_id=ticket_id,
        )
    if ticket_store.picked_up_here(cur, ticket_id) is False:
        raise _violation(
            "NOT_PICKED_UP_HERE",
            "网上购买的车票只能在取票的窗口办理：未取票的请先取票，已在别的窗口取票的请到该窗口办理",
            "A web ticket is dealt with only at the window that picked it up: pick it up here first, "
            "or go to the window that printed it",
            ticket_id=ticket_id,
        )


def refuse_if_checked(cur, ticket_ids: list[str]) -> None:
    """``TICKET_CHECKED``: a passenger the gate has checked on board keeps the ticket; the counter
    may not refund, change or void it (the gate undoes a check first, until the road bill)."""
    checked = gate_store.checked_tickets(cur, ticket_ids)
    if checked:
        raise _violation(
            "TICKET_CHECKED",
            "该票已检票上车，不能退票、改签或废票（须先由检票口注销检票）",
            "This ticket was checked on board: it cannot be refunded, changed or voided (the gate must undo the "
            "check first)",
            ticket_id=sorted(checked)[0],
        )


def refuse_if_gate_closed(cur, departure_id: str) -> None:
    """``GATE_STOPPED``: a departure the gate has stopped (or merged, or seen leave) is not sold."""
    state = gate_store.closed_departures(cur, [departure_id]).get(departure_id)
    if state is not None:
        refuse_if_gate_closed_state(state)


def refuse_if_gate_closed_state(state: str) -> None:
    if state:
        zh = {"merged": "已并班", "departed": "已发车"}.get(state, "已停检")
        en = {"merged": "was merged into another", "departed": "has left"}.get(state, "was stopped at the gate")
        raise _violation("GATE_STOPPED", f"该班次{zh}，不能售票", f"This departure {en}: it is not sold",
                         state=state)


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

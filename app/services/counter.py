"""The counter window's view of the services.

Every decision a rule makes is taken by the other service modules or ``app.domain``; this module
only shapes their answers for the screens (one row per departure, one row per ticket, a settlement
as lines) and holds who is signed in. It has no Qt in it, so it is the same object for the window,
the screenshots and the tests. The window reaches the file only through it and ``app.services.station``
(which opens the database): the reads the screens need beyond the operations are methods of :class:`Counter`.
What touches the printer or the sync link is added by the window's own ``app.ui.backend``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from app.domain.identity import GB11643_TYPES, DocumentType, mask, validate_document
from app.domain.schedule import check_sellable
from app.domain.stock import format_stock_no, parse_stock_no
from app.domain.ticket_code import PREFIXES as CODE_PREFIXES
from app.errors import KezhanError, RuleViolation
from app.services import aftersale, auth, paper, recovery, sales, shifts, tasks
from app.services.context import (
    Terminal,
    alarm_refusal,
    cursor,
    load_rules,
    open_shift_of,
    refuse_while_alarm,
    standing_alarm,
)
from app.settlement import SettlementView, settlement_view
from app.store import departures as departure_store
from app.store import gate as gate_store
from app.store import outbox, queries
from app.store import seats as seat_store
from app.store import tickets as ticket_store
from app.store import users as user_store
from app.store.engine import Database

log = logging.getLogger("kezhan.services.counter")

@dataclass(frozen=True)
class DepartureView:
    id: str
    date: str
    time: str
    schedule_code: str
    route_name: str
    via: str
    vehicle_class: str
    gate: str
    full_fare: int
    prices: dict[str, int]
    seats_left: int
    offline_left: int
    status: str  # normal | stopped | boarding | delayed | cancelled | departed | sold_out | no_lease
    sellable: bool
    reason: str  # why not, in the UI language
    reasons: tuple[str, str] = ("", "")  # why not, (Chinese, English): a language switch re-reads it
    pool_left: int = 0  # free in the provincial pool at the last sync (what the province could still sell)

    def reason_in(self, language: str) -> str:
        zh, en = self.reasons
        return (en if language.startswith("en") else zh) or self.reason


@dataclass(frozen=True)
class TicketRow:
    ticket_id: str
    stock_no: str | None
    departure_id: str
    date: str
    time: str
    schedule_code: str
    destination: str
    destination_code: str
    seat_no: int | None
    ticket_type: str
    type_name: str
    price: int
    status: str
    passenger: str
    doc_masked: str

    @property
    def date_value(self) -> date:
        return date.fromisoformat(self.date)


@dataclass(frozen=True)
class OwedRow:
    """A ticket sold (changed, reprinted, picked up) here whose paper never came out."""

    ticket_id: str
    stock_no: str
    kind: str
    date: str
    time: str
    schedule_code: str
    destination: str
    seat_no: int | None
    type_name: str
    passenger: str
    doc_masked: str
    clerk: str
    owed_at: str  # local clock text


@dataclass(frozen=True)
class SaleOutcome:
    tickets: list  # TicketRow-like: ticket_id at least
    total: int
    change: int
    print_jobs: list


@dataclass(frozen=True)
class Quote:
    """What a void, reprint or pickup will do (refund and change use the services' own quotes)."""

    amount: int = 0
    new_stock_no: str = ""


@dataclass(frozen=True)
class OperationOutcome:
    kind: str
    print_jobs: list
    refund_amount: int = 0
    amount: int = 0
    stock_no: str = ""
    date_time: str = ""
    schedule_code: str = ""
    seat_no: int | None = None
    raw: object = None

    @property
    def print_ticket_ids(self) -> list[str]:
        return [job.ticket_id for job in self.print_jobs]


@dataclass(frozen=True)
class ShiftRef:
    id: str


_TICKET_ID = re.compile(r"^\d{22}$")
_ID_NUMBER = re.compile(r"^\d{17}[\dXx]$")


class Counter:
    """What the counter window asks of the services, for one terminal and one signed-in user."""

    def __init__(self, db: Database, terminal: Terminal, *, presale_days: int = 10,
                 clock: Callable[[], datetime] | None = None, language: Callable[[], str] | None = None,
                 on_local_event: Callable[[], None] | None = None, printer_profile: str = "80mm") -> None:
        self.db = db
        self.printer_profile = printer_profile or "80mm"
        self.terminal = terminal
        self.presale_days = presale_days
        self.clock = clock or (lambda: datetime.now(UTC))
        self.language = language or (lambda: "zh_CN")
        self.on_local_event = on_local_event
        self.user: auth.SignedIn | None = None
        self._print_jobs: dict[str, object] = {}
        self._via_cache: dict[str, str] = {}
        with db.read() as session:
            cur = cursor(session)
            self.rules = load_rules(cur)
            name = departure_store.station_name(cur, self.rules.home_station or terminal.station_code)
        self.home_name = name or terminal.station_code

    # --- time and words -----------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.terminal.local_date(self.now())

    def local_clock(self, instant: datetime | None) -> str:
        if instant is None:
            return ""
        local = instant.astimezone(self.terminal.zone)
        if local.date() == self.today():
            return local.strftime("%H:%M:%S")
        return local.strftime("%m-%d %H:%M")

    def en(self) -> bool:
        return self.language().startswith("en")

    def station_title(self) -> str:
        return f"{self.home_name} · {self.terminal.terminal_id}"

    def mask(self, number: str) -> str:
        return mask(number) if number else ""

    # --- users and shifts ---------------------------------------------------------------------

    def login(self, code: str, password: str) -> auth.SignedIn:
        return self.admit(self.authenticate(code, password))

    def authenticate(self, code: str, password: str) -> auth.SignedIn:
        """The password checked and the sign-in written to the audit log, nobody seated yet."""
        return auth.login(self.db, self.terminal, code, password, now=self.now())

    def admit(self, user: auth.SignedIn) -> auth.SignedIn:
        """Seat a user whose password was just checked (by :func:`auth.login`) at the window, if
        their role may sell here: a terminal that is window and gate checks a password once."""
        if user.role not in ("clerk", "supervisor", "technician"):
            raise RuleViolation("该账号不能在售票窗口登录", en="This account may not sign in at the ticket window",
                                code="NOT_AUTHORISED")
        self.user = user
        return user

    def logout(self) -> None:
        self.user = None

    # --- the technician's menu ----------------------------------------------------------------

    def _technician(self) -> str:
        if self.user is None or self.user.role != "technician":
            raise RuleViolation("仅技术员可执行此操作", en="Only a technician may do this", code="NOT_AUTHORISED")
        return self.user.code

    def unlock_user(self, code: str) -> bool:
        return auth.unlock(self.db, self.terminal, technician=self._technician(), code=code.strip(), now=self.now())

    def add_user(self, code: str, name: str, role: str, password: str) -> None:
        auth.add_user(self.db, self.terminal, technician=self._technician(), code=code, name=name, role=role,
                      password=password, now=self.now())

    def reset_password(self, code: str, password: str) -> None:
        auth.reset_password(self.db, self.terminal, technician=self._technician(), code=code.strip(),
                            password=password, now=self.now())

    def users(self) -> list:
        self._technician()
        return auth.users(self.db)

    def current_shift(self) -> ShiftRef | None:
        if self.user is None:
            return None
        with self.db.read() as session:
            try:
                shift = open_shift_of(cursor(session), self.terminal, self.user.code)
            except RuleViolation:
                return None
        return ShiftRef(shift.id)

    def open_shift(self, first_stock_no: str) -> shifts.ShiftInfo:
        info = shifts.open_shift(self.db, self.terminal, clerk=self._clerk(), first_stock_no=first_stock_no,
                                 now=self.now())
        self.after_local_event()
        return info

    def _clerk(self) -> str:
        if self.user is None:
            raise RuleViolation("请先登录", en="Sign in first", code="NOT_SIGNED_IN")
        return self.user.code

    # --- the sale view ------------------------------------------------------------------------

    def ticket_types(self) -> list:
        return list(self.rules.ticket_types)

    def document_types(self) -> list[tuple[str, str, str]]:
        return [(d.value, d.label, d.label_en) for d in DocumentType]

    def check_document(self, doc_type: str, number: str) -> str | None:
        """None when the number is valid for the type, else what is wrong with it."""
        try:
            validate_document(doc_type, number, self.today())
        except KezhanError as exc:
            return exc.text(self.language())
        return None

    def document_complete(self, doc_type: str, number: str) -> bool:
        """The number is whole and valid for a type of fixed length (the 18-character GB 11643
        numbers): the window can move on to the name without waiting for Enter."""
        try:
            return DocumentType(doc_type) in GB11643_TYPES and self.check_document(doc_type, number) is None
        except ValueError:
            return False

    def document_refusal(self, departure_id: str, doc_type: str, number: str) -> KezhanError | None:
        """Why this document cannot be sold a seat on the departure, asked as soon as the number is
        known: the one-document-one-seat rule names the ticket already holding the seat."""
        try:
            validate_document(doc_type, number, self.today())
        except KezhanError as exc:
            return exc
        return sales.document_holder(self.db, self.terminal, departure_id=departure_id, doc_type=doc_type,
                                     doc_number=number)

    def suggest(self, text: str, limit: int = 12) -> list[queries.StationHit]:
        with self.db.read() as session:
            hits = queries.search_destinations(session, text, limit + 1)
        home = self.rules.home_station
        return [h for h in hits if h.code != home][:limit]

    def departures(self, station_code: str, day: date) -> list[DepartureView]:
        now = self.now()
        with self.db.read() as session:
            rows = queries.departures_to(session, station_code, day.isoformat(),
                                         board=self.rules.home_station or None)
            leased = seat_store.leased_seats_left(session, [r.id for r in rows], self.terminal.server_time(now))
            vias = self._vias(session, {r.route for r in rows})
            alarm = standing_alarm(cursor(session))
            closed = gate_store.closed_departures(cursor(session), [r.id for r in rows])
        # With a sync alarm standing the sale would be refused at the confirm key: say so on Enter,
        # before the clerk takes the passenger's details and money.
        refusal = alarm_refusal(alarm) if alarm else None
        blocked = (refusal.text("zh"), refusal.text("en")) if refusal else None
        types = self.rules.ticket_types
        out = []
        for r in rows:
            prices = {t.code: t.price(r.full_fare) for t in types}
            status, sellable, reasons = r.status, True, ("", "")
            try:
                check_sellable(r.status, r.departs_at, r.stop_sale_minutes, now)
            except RuleViolation as exc:
                sellable, reasons = False, (exc.text("zh"), exc.text("en"))
                if r.status == "normal" or (exc.code == "STOP_SALE" and r.status == "delayed"):
                    status = "departed" if exc.code == "DEPARTED" else "stopped"
            if sellable and r.id in closed:
                try:
                    sales.refuse_if_gate_closed_state(closed[r.id])
                except RuleViolation as exc:
                    sellable, reasons = False, (exc.text("zh"), exc.text("en"))
                    status = "stopped" if closed[r.id] != "departed" else "departed"
            ours = leased.get(r.id, 0)
            # Seats left counts the pool as of the last sync plus the seats leased here.
            pool = max(r.seats_left - ours, 0)
            available = r.seats_left if self.terminal.online else ours
            if sellable and blocked:
                sellable, reasons = False, blocked
            if sellable and available == 0:
                sellable = False
                if self.terminal.online or pool == 0:
                    status = "sold_out" if status == "normal" else status
                    reasons = ("该班次已售完", "Sold out")
                else:
                    # Not sold out: the province had seats at the last sync, only none are leased
                    # here, and a clerk told 售完 turns the passenger away.
                    status = "no_lease" if status == "normal" else status
                    reasons = (f"本机无租座（离线）· 省平台余 {pool}（上次同步），联网后可售",
                               f"No seats leased here while offline; {pool} free at the province at the last "
                               "sync: sellable once online")
            out.append(DepartureView(
                id=r.id, date=r.date, time=r.time, schedule_code=r.schedule_code, route_name=r.route_name,
                via=vias.get(r.route, ""), vehicle_class=r.vehicle_name, gate=r.gate, full_fare=r.full_fare,
                prices=prices, seats_left=r.seats_left, offline_left=ours, status=status,
                sellable=sellable, reason=reasons[1 if self.en() else 0], reasons=reasons, pool_left=pool,
            ))
        return out

    def _vias(self, session, routes: set[str]) -> dict[str, str]:
        """Route -> the names of the stops it goes via (cached: routes change with a province load)."""
        missing = routes - self._via_cache.keys()
        if missing:
            self._via_cache.update(departure_store.route_vias(cursor(session), list(missing)))
        return {r: self._via_cache.get(r, "") for r in routes}

    def seat_map(self, departure_id: str) -> dict[int, str]:
        """Seat -> "ours" (this terminal may sell it now), "sold" (sold here), "held" (elsewhere)."""
        now = self.now()
        with self.db.read() as session:
            cur = cursor(session)
            ours = sales.sellable_seats(cur, self.terminal, self.rules, departure_id, now)
            states = seat_store.seat_map(session, departure_id)
        out = {}
        for seat_no, state in states.items():
            if seat_no in ours:
                out[seat_no] = "ours"
            elif state == "sold":
                out[seat_no] = "sold"
            else:
                out[seat_no] = "held"
        return out

    def sell(self, *, departure: DepartureView, destination: str, slots: Iterable, seats: list[int] | None,
             method: str, tendered: int | None, reference: str | None) -> SaleOutcome:
        slots = list(slots)
        seated = iter(seats or [])
        types = self.rules.ticket_types
        passengers = []
        for s in slots:
            ttype = types.get(s.type_code)
            seat = next(seated, None) if (seats and ttype.needs_seat) else None
            passengers.append(sales.PassengerIn(
                ticket_type=s.type_code, name=s.name if s.doc_number or ttype.document_required else "",
                doc_type=s.doc_type or DocumentType.RESIDENT_ID.value, doc_number=s.doc_number,
                seat_no=seat, carried_by=s.carried_by,
            ))
        result = sales.sell(
            self.db, self.terminal, clerk=self._clerk(), departure_id=departure.id, stop=destination,
            passengers=passengers, payment=sales.PaymentIn(method=method, tendered=tendered, reference=reference),
            now=self.now(),
        )
        self._remember(result.print_jobs)
        tickets = [_JobTicket(job.ticket_id, job.seat_no, job.stock_no) for job in result.print_jobs]
        return SaleOutcome(tickets=tickets, total=result.total, change=result.change, print_jobs=result.print_jobs)

    # --- finding tickets ----------------------------------------------------------------------

    def find_tickets(self, text: str) -> list[TicketRow]:
        """A scanned code, a ticket id, an ID number or a paper stock number."""
        text = text.strip()
        if text.upper().startswith(tuple(p + "." for p in CODE_PREFIXES)):
            views = sales.find_tickets(self.db, self.terminal, code=text)
        elif _TICKET_ID.match(text):
            views = sales.find_tickets(self.db, self.terminal, ticket_id=text)
        elif _ID_NUMBER.match(text):
            views = sales.find_tickets(self.db, self.terminal, doc_type=DocumentType.RESIDENT_ID.value,
                                       doc_number=text.upper())
        else:
            parse_stock_no(text)  # BAD_STOCK_NO: a clear message for anything else
            views = sales.find_tickets(self.db, self.terminal, stock_no=text)
        return self._rows(views)

    def find_tickets_by_document(self, doc_type: str, number: str, name: str | None = None) -> list[TicketRow]:
        """A document's tickets; with the ``name`` a card gives, a ticket from the feed (which has only
        the mask and the 8-bit tag) must carry that name too."""
        return self._rows(sales.find_tickets(self.db, self.terminal, doc_type=doc_type, doc_number=number,
                                             name=name))

    def tickets_by_ids(self, ids: Iterable[str]) -> list[TicketRow]:
        out = []
        for ticket_id in sorted(ids):
            out.extend(self._rows(sales.find_tickets(self.db, self.terminal, ticket_id=ticket_id)))
        return out

    def _rows(self, views) -> list[TicketRow]:
        if not views:
            return []
        types = self.rules.ticket_types
        with self.db.read() as session:
            cur = cursor(session)
            deps = departure_store.departure_times(cur, sorted({v.departure_id for v in views}))
            names = departure_store.station_names(cur, sorted({v.stop for v in views}))
        unknown = departure_store.DepartureTime("", "", "")
        rows = []
        for v in views:
            dep = deps.get(v.departure_id, unknown)
            d, t, code = dep.date, dep.time, dep.schedule_code
            ttype = types.get(v.ticket_type) if v.ticket_type in types else None
            type_name = (ttype.name_en or ttype.name) if (ttype and self.en()) else (ttype.name if ttype else v.ticket_type)
            status = "online" if (v.status == "active" and not v.stock_no) else v.status
            rows.append(TicketRow(
                ticket_id=v.ticket_id, stock_no=v.stock_no, departure_id=v.departure_id, date=d, time=t,
                schedule_code=code, destination=names.get(v.stop, v.stop), destination_code=v.stop,
                seat_no=v.seat_no, ticket_type=v.ticket_type, type_name=type_name, price=v.price, status=status,
                passenger=v.passenger_name, doc_masked=v.doc_masked,
            ))
        # Live tickets first, then by departure: the one the clerk wants is usually on top.
        rows.sort(key=lambda r: (r.status not in ("active", "online"), r.date, r.time, r.ticket_id))
        return rows

    # --- quotes and operations ----------------------------------------------------------------

    def _require_status(self, ticket: TicketRow, allowed: tuple[str, ...]) -> None:
        if ticket.status not in allowed:
            labels = {"refunded": ("已退票", "refunded"), "changed": ("已改签", "changed"),
                      "voided": ("已废票", "voided"), "online": ("尚未取票", "not picked up yet"),
                      "active": ("已取票", "already printed")}
            zh, en = labels.get(ticket.status, (ticket.status, ticket.status))
            raise RuleViolation(f"该票{zh}，不能办理", en=f"This ticket is {en}", code="TICKET_NOT_ACTIVE")

    def refund_quote(self, ticket: TicketRow, *, forced: bool = False) -> aftersale.RefundQuote:
        """The service's own figures (fee, everything handed back, carried children included), so the
        screen shows what ``refund`` will pay."""
        return aftersale.quote_refund(self.db, self.terminal, ticket_id=ticket.ticket_id, now=self.now(),
                                      forced=forced)

    def refund(self, ticket: TicketRow, *, forced: bool, approver: tuple[str, str] | None) -> OperationOutcome:
        code, password = approver if approver else (None, None)
        r = aftersale.refund(self.db, self.terminal, clerk=self._clerk(), ticket_id=ticket.ticket_id,
                             now=self.now(), forced=forced, supervisor=code, supervisor_password=password)
        return OperationOutcome("refund", [], refund_amount=r.total, raw=r)

    def change_quote(self, ticket: TicketRow, departure: DepartureView | None) -> aftersale.ChangeQuote:
        # A ticket bought elsewhere is picked up (printed) before it can be changed at this counter.
        self._require_status(ticket, ("active",))
        if departure is None:
            raise RuleViolation("请选择改签到的班次", en="Choose the departure to change to", code="NO_DEPARTURE")
        return aftersale.quote_change(self.db, self.terminal, ticket_id=ticket.ticket_id,
                                      new_departure_id=departure.id, now=self.now())

    def change_check(self, ticket: TicketRow) -> None:
        """Refuses, before a departure is picked, a ticket no departure could take (a carried free
        child, an open conflict task, not active here)."""
        self._require_status(ticket, ("active",))
        aftersale.check_changeable(self.db, ticket_id=ticket.ticket_id)

    def change(self, ticket: TicketRow, departure: DepartureView) -> OperationOutcome:
        r = aftersale.change(self.db, self.terminal, clerk=self._clerk(), ticket_id=ticket.ticket_id,
                             new_departure_id=departure.id, now=self.now())
        self._remember([r.print_job])
        job = r.print_job
        return OperationOutcome("change", [job], amount=r.due, stock_no=job.stock_no,
                                date_time=f"{job.date} {job.time}", schedule_code=job.schedule_code,
                                seat_no=job.seat_no, raw=r)

    def void_quote(self, ticket: TicketRow) -> Quote:
        q = aftersale.quote_void(self.db, self.terminal, clerk=self._clerk(), ticket_id=ticket.ticket_id, now=self.now())
        return Quote(amount=q.amount)

    def void(self, ticket: TicketRow) -> OperationOutcome:
        r = aftersale.void(self.db, self.terminal, clerk=self._clerk(), ticket_id=ticket.ticket_id, now=self.now())
        return OperationOutcome("void", [], amount=r.refund_amount, stock_no=r.stock_no, raw=r)

    def confirm_next_stock_no(self, text: str) -> str:
        """The next blank as the clerk reads it off the roll, after this file lost acknowledged sales."""
        return recovery.confirm_next_stock_no(self.db, self.terminal, clerk=self._clerk(), stock_no=text,
                                              now=self.now())

    def _next_stock_no(self) -> str:
        with self.db.read() as session:
            cur = cursor(session)
            refuse_while_alarm(cur)  # reprint and pickup have no service quote that would say it
            shift = open_shift_of(cur, self.terminal, self._clerk())
        return format_stock_no(shift.next_no)

    def reprint_quote(self, ticket: TicketRow) -> Quote:
        if ticket.status == "online":
            raise RuleViolation("该票尚未取票，请用取票功能", en="This ticket was never printed; use pickup",
                                code="NOT_PRINTED")
        self._require_status(ticket, ("active",))
        return Quote(new_stock_no=self._next_stock_no())

    def reprint(self, ticket: TicketRow) -> OperationOutcome:
        job = sales.reprint(self.db, self.terminal, clerk=self._clerk(), ticket_id=ticket.ticket_id, now=self.now())
        self._remember([job])
        return OperationOutcome("reprint", [job], stock_no=job.stock_no, raw=job)

    def pickup_quote(self, ticket: TicketRow) -> Quote:
        if ticket.status == "active":
            raise RuleViolation("该票已取过，如需补打请用重打", en="Already picked up; use reprint",
                                code="ALREADY_PICKED_UP")
        self._require_status(ticket, ("online",))
        return Quote(new_stock_no=self._next_stock_no())

    def pickup(self, ticket: TicketRow) -> OperationOutcome:
        jobs = sales.pickup(self.db, self.terminal, clerk=self._clerk(), ticket_id=ticket.ticket_id, now=self.now())
        self._remember(jobs)
        return OperationOutcome("pickup", jobs, stock_no=", ".join(j.stock_no for j in jobs), raw=jobs)

    # --- conflict tasks ------------------------------------------------------------------------

    def open_tasks(self) -> int:
        """Conflicts the server resolved that wait for the clerk (counted from the file, like the outbox)."""
        return tasks.open_task_count(self.db)

    def tasks(self) -> list[tasks.TaskView]:
        return tasks.list_tasks(self.db)

    def task_seat_map(self, task: tasks.TaskView) -> dict[int, str]:
        return self.seat_map(task.departure_id)

    def require_shift(self) -> None:
        """``NO_OPEN_SHIFT`` (the services' own refusal) when the clerk has no open shift: the tasks
        dialog opens without one, for review tasks, but money moves only inside a shift."""
        with self.db.read() as session:
            open_shift_of(cursor(session), self.terminal, self._clerk())

    def task_refund_quote(self, task: tasks.TaskView) -> aftersale.RefundQuote:
        return aftersale.quote_refund(self.db, self.terminal, ticket_id=task.ticket_id or "", task_id=task.id,
                                      now=self.now())

    def task_refund(self, task: tasks.TaskView) -> OperationOutcome:
        r = aftersale.refund(self.db, self.terminal, clerk=self._clerk(), ticket_id=task.ticket_id or "",
                             task_id=task.id, now=self.now())
        return OperationOutcome("refund", [], refund_amount=r.total, raw=r)

    def reseat(self, task: tasks.TaskView, seat_no: int | None) -> OperationOutcome:
        r = aftersale.reseat(self.db, self.terminal, clerk=self._clerk(), task_id=task.id, seat_no=seat_no,
                             now=self.now())
        self._remember([r.print_job])
        job = r.print_job
        return OperationOutcome("reseat", [job], stock_no=job.stock_no, date_time=f"{job.date} {job.time}",
                                schedule_code=job.schedule_code, seat_no=job.seat_no, raw=r)

    def close_task(self, task: tasks.TaskView) -> tasks.TaskView:
        return tasks.close_task(self.db, self.terminal, clerk=self._clerk(), task_id=task.id, now=self.now())

    # --- shift close --------------------------------------------------------------------------

    def settlement(self) -> SettlementView:
        report = shifts.preview_settlement(self.db, self.terminal, clerk=self._clerk())
        return self.settlement_view_of(report)

    def settlement_view_of(self, report: dict) -> SettlementView:
        return settlement_view(report, self.rules.ticket_types, en=self.en(),
                               opened_at=self.local_clock(_parse(report["opened_at"])))

    def close_shift(self, cash_counted: int) -> shifts.Settlement:
        result = shifts.close_shift(self.db, self.terminal, clerk=self._clerk(), now=self.now(),
                                    cash_counted=cash_counted)
        self.after_local_event()
        return result

    # --- printing -----------------------------------------------------------------------------

    def _remember(self, jobs: list) -> None:
        for job in jobs:
            self._print_jobs[job.ticket_id] = job
        self.after_local_event()

    def print_jobs(self, ticket_ids: Iterable[str]) -> list:
        return [self._print_jobs[t] for t in ticket_ids if t in self._print_jobs]

    # --- paper owed (sold but never printed) ---------------------------------------------------

    def owed_paper(self) -> list[OwedRow]:
        """Tickets of the clerk's open shift whose paper never came out, on departures still to leave.
        Only that shift's: their numbers are on the roll in this printer, and another clerk's roll
        would print them on blanks that carry other numbers."""
        shift = self.current_shift()
        if shift is None:
            return []
        owed = paper.owed_tickets(self.db, self.terminal, now=self.now(), shift_id=shift.id)
        if not owed:
            return []
        with self.db.read() as session:
            names = departure_store.station_names(cursor(session), sorted({o.stop for o in owed}))
        types = self.rules.ticket_types
        rows = []
        for o in owed:
            ttype = types.get(o.ticket_type) if o.ticket_type in types else None
            type_name = (ttype.name_en or ttype.name) if (ttype and self.en()) else (ttype.name if ttype else o.ticket_type)
            rows.append(OwedRow(ticket_id=o.ticket_id, stock_no=o.stock_no, kind=o.kind, date=o.date, time=o.time,
                                schedule_code=o.schedule_code, destination=names.get(o.stop, o.stop),
                                seat_no=o.seat_no, type_name=type_name, passenger=o.passenger_name,
                                doc_masked=o.doc_masked, clerk=o.clerk, owed_at=self.local_clock(o.owed_at)))
        return rows

    def print_owed(self, ticket_ids: Iterable[str] | None = None) -> list:
        """The print jobs of the owed tickets, each on the stock number its sale took."""
        shift = self.current_shift()
        if shift is None:
            return []
        jobs = paper.print_owed(self.db, self.terminal, clerk=self._clerk(), now=self.now(), ticket_ids=ticket_ids,
                                shift_id=shift.id)
        for job in jobs:
            self._print_jobs[job.ticket_id] = job
        return jobs

    def mark_printed(self, printed: Iterable[tuple[str, str]]) -> int:
        """The printer took the jobs of these (ticket_id, stock_no): their paper is no longer owed."""
        return paper.mark_printed(self.db, self.terminal, printed)

    def confirm_paper(self, row: OwedRow) -> int:
        """The clerk says this ticket's paper did come out: off the list, without printing."""
        return paper.confirm_paper(self.db, self.terminal, clerk=self._clerk(), ticket_id=row.ticket_id,
                                   stock_no=row.stock_no, now=self.now())

    # --- sync state ---------------------------------------------------------------------------

    def events_not_acknowledged(self, acked_cursor: str) -> int:
        """Outbox events above the uploader's high-water mark, kept in ``sync_cursors`` under
        ``acked_cursor`` (the sync client names it: the services do not import sync)."""
        with self.db.read() as session:
            cur = cursor(session)
            try:
                return outbox.pending_count(cur, self.terminal.terminal_id, acked_cursor)
            finally:
                cur.close()

    # --- reads for the screenshots and the sample sale -----------------------------------------

    def first_clerk(self) -> auth.SignedIn | None:
        """The clerk with the lowest code, whom the screenshots sign in as without a password."""
        with self.db.read() as session:
            user = user_store.first_active_clerk(cursor(session))
        return None if user is None else auth.SignedIn(user.code, user.name, user.role)

    def busiest_destination(self, day: date) -> str | None:
        """Pinyin initials of the destination most departures of ``day`` stop at."""
        with self.db.read() as session:
            return departure_store.busiest_destination_pinyin(cursor(session), day.isoformat())

    def destination_initials(self) -> list[str]:
        """Pinyin initials of every station but home (the words a clerk types)."""
        with self.db.read() as session:
            return departure_store.station_initials(cursor(session), besides=self.rules.home_station)

    def ticket_count(self) -> int:
        with self.db.read() as session:
            return ticket_store.ticket_count(cursor(session))

    def after_local_event(self) -> None:
        if self.on_local_event is not None:
            try:
                self.on_local_event()
            except Exception:  # the uploader's nudge must never undo a committed sale
                log.exception("upload nudge failed")


@dataclass(frozen=True)
class _JobTicket:
    ticket_id: str
    seat_no: int | None
    stock_no: str


def _parse(text: str | datetime) -> datetime:
    if isinstance(text, datetime):
        return text
    return datetime.fromisoformat(text.replace("Z", "+00:00"))

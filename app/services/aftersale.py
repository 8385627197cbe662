"""Refund (退票), change (改签) and void (废票): each one transaction with its outbox event.

Nothing is deleted: the ticket's status changes, the seat goes back, and money moves as a new
payment row (negative when the counter pays out) so the shift settlement can add it up.
A free child rides on its adult's ticket: refunding or voiding the adult does the same to the
child in the same transaction (its own event, fee-free); changing an adult who carries a child
is refused until the child's ticket is settled, since the child cannot follow without a seat check (a
reseat too: the server keeps the child on the old ticket, so that pair is refunded and sold again).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.domain import change as change_rules
from app.domain import refund as refund_rules
from app.domain.schedule import check_sellable
from app.errors import RuleViolation
from app.services.auth import check_credentials
from app.services.context import (
    Terminal,
    audit,
    counter_write,
    cursor,
    emit,
    load_rules,
    next_ticket_ids,
    open_shift_of,
    refuse_while_alarm,
    require_now,
    utc_text,
)
from app.services.sales import (
    DepartureInfo,
    PaymentIn,
    PrintJob,
    check_documents_free,
    check_payment_method,
    choose_seats,
    fetch_departure,
    free_seat,
    get_ticket_row,
    insert_tickets,
    make_print_job,
    not_active,
    owe_paper,
    refuse_if_checked,
    refuse_if_gate_closed,
    refuse_unless_ours,
    require_fare,
    sellable_seats,
    spoil_stock,
    take_seats,
    take_stock,
    ticket_payload,
)
from app.services.tasks import (
    TaskView,
    finish_task,
    load_task,
    open_task,
    refuse_while_task_open,
    release_ticket_seat,
)
from app.store import tickets as ticket_store
from app.store.engine import Database
from app.store.models import parse_utc


def _violation(code: str, zh: str, en: str, **details) -> RuleViolation:
    return RuleViolation(zh, en=en, code=code, **details)


def _sale_method(cur, order_id: str) -> str:
    # A ticket sold by another channel was paid there; what the counter hands back is cash.
    return ticket_store.sale_method(cur, order_id) or "cash"


def approve(db: Database, terminal: Terminal, supervisor: str, password: str, *, now: datetime) -> str:
    """A supervisor's credentials for a forced refund; returns the supervisor's code.

    Runs (and commits) on its own so a wrong password still counts towards the lock."""
    now = require_now(now)
    with db.transaction() as session:
        cur = cursor(session)
        user = check_credentials(cur, supervisor, password, role="supervisor")
        audit(cur, terminal, supervisor, "approve" if user else "approve_failed", supervisor, {}, now)
    if user is None:
        raise RuleViolation(
            "值班站长工号或密码错误", en="Wrong supervisor code or password", code="BAD_APPROVAL"
        )
    return user.code


# --- refund --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefundLine:
    ticket_id: str
    ticket_type: str
    price: int
    insurance: int
    fee: int
    amount: int  # fen handed back for this ticket: price minus fee, plus the insurance


@dataclass(frozen=True)
class RefundQuote:
    """What refunding a ticket now would keep and hand back, carried free children included."""

    ticket_id: str
    fee: int  # fen kept by the station (carried free children are fee-free)
    refund_amount: int  # fen handed back for this ticket alone, as its event records it
    total: int  # fen handed back in all: this ticket and every free child it carries
    forced: bool
    tier: str
    tier_en: str
    method: str  # how the money goes back: the sale's payment method
    lines: tuple[RefundLine, ...]  # this ticket first, then each carried free child

    @property
    def also_refunded(self) -> list[str]:
        return [line.ticket_id for line in self.lines[1:]]


@dataclass(frozen=True)
class RefundResult:
    ticket_id: str
    fee: int  # fen kept by the station
    refund_amount: int  # fen handed back (price minus fee, plus the insurance)
    forced: bool
    approved_by: str | None
    method: str
    tier: str
    seq: int
    also_refunded: list[str]  # free children carried by this ticket's passenger
    total: int  # fen handed back in all, carried free children included


def _plan_refund(
    cur, rules, ticket_id: str, now: datetime, forced: bool, conflict: bool = False, cancelled: bool = False
) -> tuple[RefundQuote, list[dict]]:
    """The one place a refund's money is worked out: ``quote_refund`` shows it, ``refund`` pays it.
    Returns the quote and the ticket rows it covers, in the quote's line order."""
    t = get_ticket_row(cur, ticket_id)
    if t["status"] != "active":
        raise not_active(t)
    if not conflict:  # the conflict refund is the task's own settlement
        refuse_while_task_open(cur, ticket_id)
    refuse_unless_ours(cur, ticket_id)
    dep = fetch_departure(cur, t["departure_id"], t["board"], t["stop"])
    rule = refund_rules.quote_refund(t["price"], dep.departs_at, now, rules.refund, forced=forced, conflict=conflict)
    if cancelled:
        # The station cancelled the bus (停班): the passenger is owed every fen, whatever the
        # province's conflict fee.
        rule = dataclasses.replace(rule, fee=0, refund_amount=t["price"], tier_label="停班退票",
                                   tier_label_en="Cancelled departure")
    tickets = [t] + [get_ticket_row(cur, child_id) for child_id in ticket_store.carried_children(cur, ticket_id)]
    refuse_if_checked(cur, [x["id"] for x in tickets])
    # A carried child goes home with its adult: its own money comes back without a fee.
    fees = [rule.fee] + [0] * (len(tickets) - 1)
    lines = tuple(
        RefundLine(
            x["id"], x["ticket_type"], x["price"], x["insurance"], fee, x["price"] - fee + x["insurance"]
        )
        for x, fee in zip(tickets, fees, strict=True)
    )
    quote = RefundQuote(
        ticket_id=ticket_id,
        fee=sum(line.fee for line in lines),
        refund_amount=lines[0].amount,
        total=sum(line.amount for line in lines),
        forced=rule.forced,
        tier=rule.tier_label,
        tier_en=rule.tier_label_en,
        method=_sale_method(cur, t["order_id"]),
        lines=lines,
    )
    return quote, tickets


def _cancelled(task: TaskView | None) -> bool:
    """A refund task of a departure the station cancelled (app/services/supervisor.py)."""
    return task is not None and task.conflict == "DEPARTURE_CANCELLED"


def _task_ticket(task: TaskView, ticket_id: str) -> str:
    """The ticket a conflict refund pays out on: the task's. A different ticket named beside the task
    is the clerk's mistake, not a request to refund the task's ticket instead (``TASK_WRONG_TICKET``)."""
    if ticket_id and ticket_id != task.ticket_id:
        raise _violation("TASK_WRONG_TICKET", f"冲突任务对应的是车票 {task.ticket_id}，不是 {ticket_id}",
                         f"The conflict task is for ticket {task.ticket_id}, not {ticket_id}",
                         task=task.id, task_ticket=task.ticket_id, ticket_id=ticket_id)
    return task.ticket_id


def quote_refund(
    db: Database, terminal: Terminal, *, ticket_id: str, now: datetime, forced: bool = False,
    task_id: int | None = None,
) -> RefundQuote:
    """What ``refund`` would keep and hand back now, or the refusal it would raise (the supervisor's
    approval of a forced refund aside). Reads only."""
    now = require_now(now)
    with db.read() as session:
        cur = cursor(session)
        refuse_while_alarm(cur)
        task = open_task(cur, task_id, "refund") if task_id is not None else None
        if task is not None:
            ticket_id = _task_ticket(task, ticket_id)
        return _plan_refund(cur, load_rules(cur), ticket_id, now, forced, task is not None, _cancelled(task))[0]


def refund(
    db: Database,
    terminal: Terminal,
    *,
    clerk: str,
    ticket_id: str,
    now: datetime,
    forced: bool = False,
    supervisor: str | None = None,
    supervisor_password: str | None = None,
    task_id: int | None = None,
) -> RefundResult:
    """Refund a live ticket with the fee tier of the moment; ``forced`` (强退) needs a supervisor.

    With ``task_id`` it is the conflict refund that settles a clerk task (the ticket is the task's;
    ``ticket_id`` empty or the same, never another: ``TASK_WRONG_TICKET``):
    the refund policy's ``conflict_fee`` (0) at any time, no supervisor, and the task is marked done
    by ``clerk`` in the same transaction."""
    now = require_now(now)
    approved_by = _forced_refund_approval(db, terminal, forced, task_id, supervisor, supervisor_password, now)
    with counter_write(db, terminal, clerk) as (cur, rules, shift):
        task = open_task(cur, task_id, "refund") if task_id is not None else None
        if task is not None:
            ticket_id = _task_ticket(task, ticket_id)
        quote, tickets = _plan_refund(cur, rules, ticket_id, now, forced, task is not None, _cancelled(task))
        if task is not None:
            finish_task(cur, task, clerk=clerk, now=now, outcome=f"refund {ticket_id} {quote.total}")
        seqs = [
            _refund_one(cur, terminal, shift, t, line, quote.forced, approved_by, quote.method, clerk, now, task)
            for t, line in zip(tickets, quote.lines, strict=True)
        ]
        audit(
            cur,
            terminal,
            clerk,
            "refund",
            ticket_id,
            {"fee": quote.fee, "forced": forced, "approved_by": approved_by, "children": quote.also_refunded,
             **({"task": task.id, "conflict": task.conflict} if task is not None else {})},
            now,
        )
    return RefundResult(
        ticket_id,
        quote.fee,
        quote.refund_amount,
        forced,
        approved_by,
        quote.method,
        quote.tier,
        seqs[0],
        quote.also_refunded,
        quote.total,
    )


def _forced_refund_approval(
    db: Database, terminal: Terminal, forced: bool, task_id: int | None, supervisor: str | None,
    password: str | None, now: datetime,
) -> str | None:
    """The supervisor who approved a forced refund (None for any other refund), checked and
    committed before the refund's own transaction so a wrong password counts towards the lock."""
    if forced and task_id is not None:
        raise _violation("TASK_WRONG_ACTION", "冲突退票不是强退，无需站长授权",
                         "A conflict refund is not a forced refund; it needs no supervisor")
    if not forced:
        return None
    if not supervisor or password is None:
        raise _violation(
            "APPROVAL_REQUIRED",
            "强制退票需要值班站长授权",
            "A forced refund needs a supervisor's approval",
        )
    return approve(db, terminal, supervisor, password, now=now)


def _refund_one(
    cur, terminal, shift, t: dict, line: RefundLine, forced: bool, approved_by, method, clerk, now,
    task: TaskView | None = None,
) -> int:
    fee, amount = line.fee, line.amount
    at = utc_text(now)
    ticket_store.close_ticket(cur, t["id"], "refunded", at)
    # A conflict refund does not give the refused seat back to sale (release_ticket_seat says why).
    release_ticket_seat(cur, task if task is not None and task.ticket_id == t["id"] else None,
                        t["departure_id"], t["seat_no"])
    ticket_store.insert_payment(cur, order_id=t["order_id"], ticket_id=t["id"], kind="refund", method=method,
                                amount=-amount, shift_id=shift.id, at=at)
    return emit(
        cur,
        terminal,
        "ticket.refunded",
        {
            "ticket_id": t["id"],
            "fee": fee,
            "refund_amount": amount,
            "forced": forced,
            "approved_by": approved_by,
            "refunded_at": at,
            "clerk": clerk,
            "shift_id": shift.id,
        },
        now,
    )


# --- void ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoidResult:
    ticket_id: str
    stock_no: str
    refund_amount: int  # fen handed back: price and insurance of the ticket and of the children it carries
    seq: int
    also_voided: list[str]


@dataclass(frozen=True)
class VoidQuote:
    """What voiding a ticket would hand back now (the same figure ``void`` then pays out)."""

    ticket_id: str
    stock_no: str
    amount: int  # fen: price and insurance of the ticket and of the free children it carries
    children: list[str]


def _void_plan(cur, terminal: Terminal, *, clerk: str, ticket_id: str, now: datetime):
    """Every check a void makes, and what it would void: (shift, ticket, children, quote)."""
    rules = load_rules(cur)
    shift = open_shift_of(cur, terminal, clerk)
    t = get_ticket_row(cur, ticket_id)
    if t["status"] != "active":
        raise not_active(t)
    refuse_while_task_open(cur, ticket_id)
    refuse_if_checked(cur, [ticket_id, *ticket_store.carried_children(cur, ticket_id)])
    if t["clerk"] != clerk:
        raise _violation(
            "VOID_NOT_SELLER",
            "只有售出该票的售票员可以废票",
            "Only the clerk who sold a ticket may void it",
        )
    if t["shift_id"] != shift.id:
        raise _violation(
            "VOID_OTHER_SHIFT",
            "只能废本班次售出的票，请办理退票",
            "Only tickets of this shift can be voided; refund it",
        )
    if t["changed_from"]:
        raise _violation(
            "VOID_CHANGED_TICKET",
            "改签后的车票不能废票，请办理退票",
            "A changed ticket cannot be voided; refund it",
        )
    if not t["stock_no"]:
        raise _violation("NOT_PRINTED", "该票尚未打印，不能废票", "This ticket was never printed")
    window = rules.void_window_minutes
    if now - parse_utc(t["sold_at"]) > timedelta(minutes=window):
        raise _violation(
            "VOID_WINDOW_PASSED",
            f"已超过废票时限（售出后 {window} 分钟内），请办理退票",
            f"Too late to void (within {window} minutes of sale); refund it instead",
            window_minutes=window,
        )
    children = [get_ticket_row(cur, child_id) for child_id in ticket_store.carried_children(cur, ticket_id)]
    amount = sum(row["price"] + row["insurance"] for row in (t, *children))
    quote = VoidQuote(ticket_id, t["stock_no"], amount, [c["id"] for c in children])
    return shift, t, children, quote


def quote_void(db: Database, terminal: Terminal, *, clerk: str, ticket_id: str, now: datetime) -> VoidQuote:
    """Read-only: what ``void`` would do now, or the refusal it would raise."""
    now = require_now(now)
    with db.read() as session:
        cur = cursor(session)
        refuse_while_alarm(cur)
        return _void_plan(cur, terminal, clerk=clerk, ticket_id=ticket_id, now=now)[3]


def void(db: Database, terminal: Terminal, *, clerk: str, ticket_id: str, now: datetime) -> VoidResult:
    """Cancel a ticket just sold (wrong destination, passenger changed their mind): only the selling
    clerk, in the same shift, within the void window. The paper is recorded as spoiled stock."""
    now = require_now(now)
    with db.transaction() as session:
        cur = cursor(session)
        refuse_while_alarm(cur)
        shift, t, children, quote = _void_plan(cur, terminal, clerk=clerk, ticket_id=ticket_id, now=now)
        method = _sale_method(cur, t["order_id"])
        seq = _void_one(cur, terminal, shift, t, method, clerk, now)
        for child in children:
            _void_one(cur, terminal, shift, child, method, clerk, now)
        audit(cur, terminal, clerk, "void", ticket_id, {"stock_no": t["stock_no"], "children": quote.children}, now)
    return VoidResult(ticket_id, t["stock_no"], quote.amount, seq, quote.children)


def _void_one(cur, terminal, shift, t: dict, method: str, clerk: str, now) -> int:
    at = utc_text(now)
    ticket_store.close_ticket(cur, t["id"], "voided", at)
    free_seat(cur, t["departure_id"], t["seat_no"])
    if t["stock_no"]:
        spoil_stock(cur, terminal, shift, t["stock_no"], "void", t["id"], now)
    ticket_store.insert_payment(cur, order_id=t["order_id"], ticket_id=t["id"], kind="void", method=method,
                                amount=-(t["price"] + t["insurance"]), shift_id=shift.id, at=at)
    return emit(
        cur,
        terminal,
        "ticket.voided",
        {
            "ticket_id": t["id"],
            "stock_no": t["stock_no"],
            "voided_at": at,
            "clerk": clerk,
            "shift_id": shift.id,
        },
        now,
    )


# --- change --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeQuote:
    """What changing a ticket to another departure would settle now."""

    ticket_id: str
    new_departure_id: str
    stop: str  # alighting station of the new ticket
    old_price: int
    new_price: int
    fare_difference: int  # fen: new price minus old price
    fee: int
    due: int  # fen the passenger pays (negative: handed back)


@dataclass(frozen=True)
class ChangeResult:
    old_ticket_id: str
    new_ticket_id: str
    fare_difference: int  # fen: new price minus old price
    fee: int
    due: int  # fen the passenger pays (negative: handed back)
    method: str
    seq: int
    print_job: PrintJob


@dataclass
class _ChangePlan:
    quote: ChangeQuote
    ticket: dict
    departure: DepartureInfo  # the new departure
    full_fare: int
    seat_no: int | None


def _plan_change(
    cur,
    terminal: Terminal,
    rules,
    ticket_id: str,
    new_departure_id: str,
    now: datetime,
    stop: str | None,
    seat_no: int | None,
) -> _ChangePlan:
    """The one place a change is checked and priced: ``quote_change`` shows it, ``change`` does it."""
    t = _changeable_ticket(cur, ticket_id)
    if t["departure_id"] == new_departure_id:
        raise _violation("SAME_DEPARTURE", "请选择另一个班次", "Choose another departure")
    old_dep = fetch_departure(cur, t["departure_id"], t["board"], t["stop"])
    new_stop = stop or t["stop"]
    dep = fetch_departure(cur, new_departure_id, t["board"], new_stop)
    ttype = rules.ticket_types.get(t["ticket_type"])
    full_fare = require_fare(dep)
    new_price = ttype.price(full_fare)
    rule = change_rules.quote_change(
        t["price"], new_price, t["times_changed"], old_dep.departs_at, now, rules.change
    )
    check_sellable(dep.status, dep.departs_at, dep.stop_sale_minutes, now)
    refuse_if_gate_closed(cur, new_departure_id)
    if t["doc_hash"]:
        check_documents_free(cur, new_departure_id, {t["doc_hash"]: t["name"]},
                             {t["doc_hash"]: t.get("doc_masked") or ""})
    new_seat = None
    if ttype.needs_seat:
        available = sellable_seats(cur, terminal, rules, new_departure_id, now)
        [new_seat] = choose_seats(available, [seat_no], terminal.online)
    quote = ChangeQuote(
        ticket_id, new_departure_id, new_stop, t["price"], new_price, rule.fare_difference, rule.fee, rule.due
    )
    return _ChangePlan(quote, t, dep, full_fare, new_seat)


def _changeable_ticket(cur, ticket_id: str) -> dict:
    """The ticket, or the refusal that holds whatever departure it would go to."""
    t = get_ticket_row(cur, ticket_id)
    if t["status"] != "active":
        raise not_active(t)
    refuse_while_task_open(cur, ticket_id)
    refuse_unless_ours(cur, ticket_id)
    refuse_if_checked(cur, [ticket_id])
    if ticket_store.carried_children(cur, ticket_id):
        # Worded for the free carried child (携童), not the paid child ticket (儿童票) a family
        # may also hold: the change cannot take the carried child along.
        raise _violation(
            "CARRIES_FREE_CHILD",
            "该乘客带有免票携童，改签带不走携童：请先退掉携童（免票），再改签",
            "This passenger carries a free child on their ticket, which a change cannot take along: "
            "refund the carried child's free ticket first, then change",
        )
    return t


def check_changeable(db: Database, *, ticket_id: str) -> None:
    """The refusals of ``change`` that do not depend on the new departure (not active, an open
    conflict task, a carried free child), so the counter says them before the clerk picks one.
    Reads only."""
    with db.read() as session:
        _changeable_ticket(cursor(session), ticket_id)


def quote_change(
    db: Database,
    terminal: Terminal,
    *,
    ticket_id: str,
    new_departure_id: str,
    now: datetime,
    stop: str | None = None,
) -> ChangeQuote:
    """What ``change`` would settle now, or the refusal it would raise (a seat for the ticket
    included; the clerk's shift and roll aside). Reads only."""
    now = require_now(now)
    with db.read() as session:
        cur = cursor(session)
        refuse_while_alarm(cur)
        plan = _plan_change(cur, terminal, load_rules(cur), ticket_id, new_departure_id, now, stop, None)
    return plan.quote


def change(
    db: Database,
    terminal: Terminal,
    *,
    clerk: str,
    ticket_id: str,
    new_departure_id: str,
    now: datetime,
    seat_no: int | None = None,
    stop: str | None = None,
    payment: PaymentIn | None = None,
) -> ChangeResult:
    """Move a live ticket to another departure: a new ticket and stock number; the old one is changed."""
    now = require_now(now)
    payment = payment or PaymentIn()
    check_payment_method(payment)
    with counter_write(db, terminal, clerk) as (cur, rules, shift):
        plan = _plan_change(cur, terminal, rules, ticket_id, new_departure_id, now, stop, seat_no)
        quote, t = plan.quote, plan.ticket
        method = payment.method
        new, seq = _reissue(
            cur, terminal, shift, t,
            {"departure_id": new_departure_id, "seat_no": plan.seat_no, "fare": plan.full_fare,
             "price": quote.new_price, "stop": quote.stop, "times_changed": t["times_changed"] + 1},
            clerk=clerk, now=now, method=method, due=quote.due, reference=payment.reference,
            fare_difference=quote.fare_difference, fee=quote.fee,
        )
        owe_paper(cur, "change", [new], clerk=clerk, shift_id=shift.id, now=now)
        audit(
            cur,
            terminal,
            clerk,
            "change",
            ticket_id,
            {"new_ticket": new["id"], "departure": new_departure_id, "due": quote.due, "stock_no": new["stock_no"]},
            now,
        )
    job = make_print_job("change", new, plan.departure, rules, terminal, now)
    return ChangeResult(ticket_id, new["id"], quote.fare_difference, quote.fee, quote.due, method, seq, job)


def _reissue(
    cur,
    terminal: Terminal,
    shift,
    old: dict,
    changes: dict,
    *,
    clerk: str,
    now: datetime,
    method: str,
    due: int,
    reference: str | None = None,
    fare_difference: int = 0,
    fee: int = 0,
    task: TaskView | None = None,
) -> tuple[dict, int]:
    """What a change and a reseat share: the old ticket becomes ``changed`` and gives its seat back
    (``release_ticket_seat``: not the seat a task's conflict names), a new ticket with ``changes``
    takes the next id and blank, the money due is one ``change`` payment row, and the whole travels
    as one ``ticket.changed`` event. Returns the new ticket row and the event's seq."""
    [new_id] = next_ticket_ids(cur, terminal, 1)
    [stock_no] = take_stock(cur, shift, 1)
    at = utc_text(now)
    ticket_store.close_ticket(cur, old["id"], "changed", at)
    release_ticket_seat(cur, task, old["departure_id"], old["seat_no"])
    new = {**old, **changes, "id": new_id, "stock_no": stock_no, "carried_by": None, "changed_from": old["id"],
           "clerk": clerk, "shift_id": shift.id, "sold_at": at}
    insert_tickets(cur, [new], old["order_id"])
    if new["seat_no"] is not None:
        take_seats(cur, new["departure_id"], [(new["seat_no"], new_id)])
    ticket_store.insert_payment(cur, order_id=old["order_id"], ticket_id=new_id, kind="change", method=method,
                                amount=due, reference=reference, shift_id=shift.id, at=at)
    seq = emit(
        cur,
        terminal,
        "ticket.changed",
        {
            "old_ticket_id": old["id"],
            "new_ticket": ticket_payload(new),
            "fare_difference": fare_difference,
            "fee": fee,
            "changed_at": at,
            "clerk": clerk,
            "shift_id": shift.id,
        },
        now,
    )
    return new, seq


# --- reseat (a conflict task) --------------------------------------------------------------------------


def reseat(
    db: Database,
    terminal: Terminal,
    *,
    clerk: str,
    task_id: int,
    now: datetime,
    seat_no: int | None = None,
) -> ChangeResult:
    """Settle a ``reseat`` task: the passenger keeps the departure and gets another seat (``seat_no``,
    or one chosen as a sale would), on a new ticket and the next blank.

    The server gave the seat to someone else after this terminal sold it, so nothing of a change
    applies: no fee, no fare difference, no change limit or cut-off, and ``times_changed`` stays as it
    was; the departure only has to be still to leave. It travels as a ``ticket.changed`` event (new
    ticket, same departure), which is what the server needs to close the conflict and hold the new
    seat. A passenger carrying a free child is refused (``CARRIES_FREE_CHILD``): the server keeps a
    child on the ticket that carried it and the event has no way to move it, so the pair is refunded
    in full (the conflict refund) and sold again."""
    now = require_now(now)
    with counter_write(db, terminal, clerk) as (cur, rules, shift):
        task = load_task(cur, task_id)
        if task.status == "open" and task.kind == "reseat" and task.carries_child:
            raise _violation(
                "CARRIES_FREE_CHILD",
                "该乘客带有免票携童，换座带不走携童：请全额退票后重新售票",
                "This passenger carries a free child, whom a reseat cannot take along: refund in full, then sell again",
            )
        task = open_task(cur, task_id, "reseat")
        t = get_ticket_row(cur, task.ticket_id)
        dep = fetch_departure(cur, t["departure_id"], t["board"], t["stop"])
        # Up to the departure itself: the passenger may be at the gate when the conflict comes back.
        check_sellable(dep.status, dep.departs_at, 0, now)
        available = sellable_seats(cur, terminal, rules, dep.id, now)
        [new_seat] = choose_seats(available, [seat_no], terminal.online)
        method = _sale_method(cur, t["order_id"])
        # The refused seat is the other party's, not ours to sell again (release_ticket_seat); a zero
        # payment row, so the settlement counts the reseat among the changes, as the events do.
        new, seq = _reissue(cur, terminal, shift, t, {"seat_no": new_seat}, clerk=clerk, now=now, method=method,
                            due=0, task=task)
        owe_paper(cur, "reseat", [new], clerk=clerk, shift_id=shift.id, now=now)
        new_id, stock_no = new["id"], new["stock_no"]
        finish_task(cur, task, clerk=clerk, now=now, outcome=f"reseat {new_id} seat {new_seat}")
        audit(
            cur,
            terminal,
            clerk,
            "reseat",
            t["id"],
            {"task": task.id, "conflict": task.conflict, "new_ticket": new_id, "seat": new_seat,
             "old_seat": t["seat_no"], "stock_no": stock_no},
            now,
        )
    job = make_print_job("reseat", new, dep, rules, terminal, now)
    return ChangeResult(t["id"], new_id, 0, 0, 0, method, seq, job)

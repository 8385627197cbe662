"""Opening a shift (registering the ticket roll) and closing it with the settlement (交班结算).

The settlement is computed from what the operations recorded, never from running totals: tickets
of the shift, payment rows (negative when money went out), spoiled stock, and the fees in the
shift's own outbox events. So a figure can always be traced back to rows. Every one of those reads
is keyed by the shift on an index, so the settlement costs what the shift holds, however long the
file's history (``kezhan bench shift_settlement``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from app.domain.stock import StockRoll, format_stock_no, parse_stock_no
from app.errors import RuleViolation
from app.services.context import (
    Terminal,
    audit,
    bump,
    cursor,
    emit,
    open_shift_of,
    refuse_while_alarm,
    require_now,
    utc_text,
)
from app.store import outbox
from app.store import shifts as shift_store
from app.store import users as user_store
from app.store.engine import Database
from app.store.shifts import MoneyLine

DEFAULT_ROLL_SIZE = 1000


@dataclass(frozen=True)
class ShiftInfo:
    shift_id: str
    clerk: str
    first_stock_no: str
    last_stock_no: str
    opened_at: datetime
    seq: int


def open_shift(
    db: Database,
    terminal: Terminal,
    *,
    clerk: str,
    first_stock_no: str | int,
    last_stock_no: str | int | None = None,
    now: datetime,
) -> ShiftInfo:
    """Open the clerk's shift on this terminal with the roll starting at ``first_stock_no``."""
    now = require_now(now)
    first = first_stock_no if isinstance(first_stock_no, int) else parse_stock_no(first_stock_no)
    if last_stock_no is None:
        last = first + DEFAULT_ROLL_SIZE - 1
    else:
        last = last_stock_no if isinstance(last_stock_no, int) else parse_stock_no(last_stock_no)
    StockRoll(first, last)  # BAD_STOCK_RANGE
    first_text, last_text = format_stock_no(first), format_stock_no(last)
    with db.transaction() as session:
        cur = cursor(session)
        refuse_while_alarm(cur)
        _check_may_open(cur, terminal, clerk, first_text, last_text)
        shift_id = f"{terminal.terminal_id}-S{bump(cur, f'shift_seq:{terminal.terminal_id}'):06d}"
        opened = utc_text(now)
        shift_store.insert_shift(cur, shift_id=shift_id, clerk=clerk, terminal_id=terminal.terminal_id,
                                 opened_at=opened, first=first_text, last=last_text)
        seq = emit(
            cur,
            terminal,
            "shift.opened",
            {"shift_id": shift_id, "clerk": clerk, "first_stock_no": first_text, "opened_at": opened},
            now,
        )
        audit(
            cur,
            terminal,
            clerk,
            "shift_open",
            shift_id,
            {"first_stock_no": first_text, "last_stock_no": last_text},
            now,
        )
    return ShiftInfo(shift_id, clerk, first_text, last_text, now, seq)


def _check_may_open(cur, terminal: Terminal, clerk: str, first: str, last: str) -> None:
    """A clerk or supervisor with no open shift here, and a roll none of whose numbers were used."""
    user = user_store.user_ref(cur, clerk)
    if user is None or not user.active:
        raise RuleViolation(f"没有这个售票员：{clerk}", en=f"No such clerk: {clerk}", code="UNKNOWN_USER")
    if user.role not in ("clerk", "supervisor"):
        raise RuleViolation(
            "该账号不能售票", en="This account may not sell tickets", code="NOT_AUTHORISED"
        )
    if shift_store.has_open_shift(cur, clerk, terminal.terminal_id):
        raise RuleViolation(
            "该售票员已在本机开班",
            en="This clerk already has an open shift here",
            code="SHIFT_ALREADY_OPEN",
        )
    used = shift_store.first_used_stock_no(cur, first, last)
    if used:
        raise RuleViolation(
            f"票号 {used} 已使用过，请核对票卷起始号",
            en=f"Stock number {used} was already used; check the roll's first number",
            code="STOCK_USED",
            stock_no=used,
        )


def _section(lines: list[MoneyLine]) -> dict:
    """Totals of a section, and by ticket type and by payment method."""
    by_type: dict = {}
    by_method: dict = {}
    for line in lines:
        for group, key in ((by_type, line.ticket_type), (by_method, line.method)):
            slot = group.setdefault(key, {"count": 0, "amount": 0})
            slot["count"] += line.count
            slot["amount"] += line.amount
    return {
        "count": sum(line.count for line in lines),
        "amount": sum(line.amount for line in lines),
        "by_type": by_type,
        "by_method": by_method,
    }


def _stock_report(cur, shift_id: str) -> dict:
    """The blanks the shift's rolls gave out, those printed, those spoiled."""
    issued: list[str] = []
    rolls = []
    for row in shift_store.rolls_of(cur, shift_id):
        roll = StockRoll(int(row.first_no), int(row.last_no), int(row.next_no))
        rolls.append({"first": row.first_no, "last": row.last_no, "next": row.next_no, "remaining": roll.remaining})
        issued.extend(format_stock_no(n) for n in range(roll.first, roll.next_number))
    spoiled = [{"stock_no": s.stock_no, "reason": s.reason, "ticket_id": s.ticket_id}
               for s in shift_store.spoiled_of(cur, shift_id)]
    spoiled_numbers = {s["stock_no"] for s in spoiled}
    return {
        "rolls": rolls,
        "issued": issued,
        "issued_count": len(issued),
        "printed": [n for n in issued if n not in spoiled_numbers],
        "printed_count": len(issued) - len(spoiled_numbers & set(issued)),
        "spoiled": spoiled,
        "spoiled_count": len(spoiled),
    }


def compute_settlement(cur, shift_id: str) -> dict:
    header = shift_store.shift_header(cur, shift_id)
    sold = _section(shift_store.sold_lines(cur, shift_id))
    sections = {kind: _section(shift_store.paid_out_lines(cur, shift_id, kind)) for kind in ("refund", "void", "change")}
    changed = sections["change"]
    changed["amount"] = -changed["amount"]  # a change brings money in (the passenger pays the difference)
    for group in (changed["by_type"], changed["by_method"]):
        for slot in group.values():
            slot["amount"] = -slot["amount"]
    fees = outbox.fee_totals(cur, shift_id, ("ticket.refunded", "ticket.changed"))
    net = {"cash": 0, "epay": 0, **shift_store.net_by_method(cur, shift_id)}
    return {
        "shift_id": shift_id,
        "clerk": header.clerk,
        "terminal_id": header.terminal_id,
        "opened_at": header.opened_at,
        "closed_at": header.closed_at,
        "sold": sold,
        "refunded": {**sections["refund"], "fees": fees["ticket.refunded"]},
        "voided": sections["void"],
        "changed": {**changed, "fees": fees["ticket.changed"]},
        "insurance": shift_store.insurance_sold(cur, shift_id),
        "refund_fees": fees["ticket.refunded"],
        "payments": net,
        "stock": _stock_report(cur, shift_id),
        # 应交款: the cash the drawer must hold from this shift; e-payments settle with the bank.
        "amount_due": net["cash"],
    }


@dataclass(frozen=True)
class Settlement:
    shift_id: str
    amount_due: int  # fen
    cash_counted: int | None
    difference: int | None  # counted minus due: negative means the drawer is short
    report: dict
    seq: int


def preview_settlement(db: Database, terminal: Terminal, *, clerk: str) -> dict:
    with db.read() as session:
        cur = cursor(session)
        shift = open_shift_of(cur, terminal, clerk)
        return compute_settlement(cur, shift.id)


def close_shift(
    db: Database, terminal: Terminal, *, clerk: str, now: datetime, cash_counted: int | None = None
) -> Settlement:
    """Close the clerk's shift: the settlement, the cash counted at hand-over and the difference."""
    now = require_now(now)
    if cash_counted is not None and (
        isinstance(cash_counted, bool) or not isinstance(cash_counted, int) or cash_counted < 0
    ):
        raise RuleViolation(
            "实点现金金额无效", en="The counted cash is not a valid amount", code="BAD_AMOUNT"
        )
    with db.transaction() as session:
        cur = cursor(session)
        refuse_while_alarm(cur)
        shift = open_shift_of(cur, terminal, clerk)
        closed = utc_text(now)
        shift_store.close_shift_rows(cur, shift.id, closed_at=closed, cash_counted=cash_counted)
        report = compute_settlement(cur, shift.id)
        report["cash_counted"] = cash_counted
        report["difference"] = None if cash_counted is None else cash_counted - report["amount_due"]
        shift_store.store_settlement(cur, shift.id, json.dumps(report, ensure_ascii=False, sort_keys=True))
        seq = emit(
            cur,
            terminal,
            "shift.closed",
            {"shift_id": shift.id, "clerk": clerk, "closed_at": closed, "settlement": report},
            now,
        )
        audit(
            cur,
            terminal,
            clerk,
            "shift_close",
            shift.id,
            {
                "amount_due": report["amount_due"],
                "cash_counted": cash_counted,
                "difference": report["difference"],
            },
            now,
        )
    return Settlement(shift.id, report["amount_due"], cash_counted, report["difference"], report, seq)

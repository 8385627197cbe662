"""Opening a shift (registering the ticket roll) and closing it with the settlement (交班结算).

The settlement is computed from what the operations recorded, never from running totals: tickets
of the shift, payment rows (negative when money went out), spoiled stock, and the fees in the
shift's own outbox events. So a figure can always be traced back to rows.
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
from app.store.engine import Database

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
        cur.execute("SELECT role, active FROM users WHERE code = ?", (clerk,))
        row = cur.fetchone()
        if row is None or not row[1]:
            raise RuleViolation(f"没有这个售票员：{clerk}", en=f"No such clerk: {clerk}", code="UNKNOWN_USER")
        if row[0] not in ("clerk", "supervisor"):
            raise RuleViolation(
                "该账号不能售票", en="This account may not sell tickets", code="NOT_AUTHORISED"
            )
        cur.execute(
            "SELECT id FROM shifts WHERE clerk = ? AND terminal_id = ? AND closed_at IS NULL",
            (clerk, terminal.terminal_id),
        )
        if cur.fetchone():
            raise RuleViolation(
                "该售票员已在本机开班",
                en="This clerk already has an open shift here",
                code="SHIFT_ALREADY_OPEN",
            )
        cur.execute(
            "SELECT stock_no FROM tickets WHERE stock_no BETWEEN ? AND ? "
            "UNION SELECT stock_no FROM spoiled_stock WHERE stock_no BETWEEN ? AND ? LIMIT 1",
            (first_text, last_text, first_text, last_text),
        )
        used = cur.fetchone()
        if used:
            raise RuleViolation(
                f"票号 {used[0]} 已使用过，请核对票卷起始号",
                en=f"Stock number {used[0]} was already used; check the roll's first number",
                code="STOCK_USED",
                stock_no=used[0],
            )
        shift_id = f"{terminal.terminal_id}-S{bump(cur, f'shift_seq:{terminal.terminal_id}'):06d}"
        opened = utc_text(now)
        cur.execute(
            "INSERT INTO shifts (id, clerk, terminal_id, opened_at) VALUES (?, ?, ?, ?)",
            (shift_id, clerk, terminal.terminal_id, opened),
        )
        cur.execute(
            "INSERT INTO stock_rolls (shift_id, first_no, last_no, next_no, active) VALUES (?, ?, ?, ?, 1)",
            (shift_id, first_text, last_text, first_text),
        )
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


def _group(rows, key_index: int) -> dict:
    out: dict = {}
    for row in rows:
        slot = out.setdefault(row[key_index], {"count": 0, "amount": 0})
        slot["count"] += row[-2]
        slot["amount"] += row[-1]
    return out


def _section(cur, sql: str, args) -> dict:
    """rows of (ticket_type, method, count, amount) -> totals by type and by method."""
    cur.execute(sql, args)
    rows = cur.fetchall()
    return {
        "count": sum(r[2] for r in rows),
        "amount": sum(r[3] for r in rows),
        "by_type": _group(rows, 0),
        "by_method": _group(rows, 1),
    }


def compute_settlement(cur, shift_id: str) -> dict:
    cur.execute(
        "SELECT clerk, terminal_id, opened_at, closed_at, cash_counted FROM shifts WHERE id = ?", (shift_id,)
    )
    clerk, terminal_id, opened_at, closed_at, _cash = cur.fetchone()
    sold = _section(
        cur,
        "SELECT t.ticket_type, p.method, count(*), sum(t.price + t.insurance) FROM tickets t "
        "JOIN payments p ON p.order_id = t.order_id AND p.kind = 'sale' "
        "WHERE t.shift_id = ? AND t.changed_from IS NULL GROUP BY 1, 2",
        (shift_id,),
    )
    cur.execute(
        "SELECT coalesce(sum(insurance), 0) FROM tickets WHERE shift_id = ? AND changed_from IS NULL",
        (shift_id,),
    )
    insurance = cur.fetchone()[0]
    sections = {}
    for kind in ("refund", "void", "change"):
        sections[kind] = _section(
            cur,
            "SELECT t.ticket_type, p.method, count(*), -sum(p.amount) FROM payments p JOIN tickets t ON t.id = p.ticket_id "
            "WHERE p.shift_id = ? AND p.kind = ? GROUP BY 1, 2",
            (shift_id, kind),
        )
    changed = sections["change"]
    changed["amount"] = -changed["amount"]  # a change brings money in (the passenger pays the difference)
    for group in (changed["by_type"], changed["by_method"]):
        for slot in group.values():
            slot["amount"] = -slot["amount"]
    fees = {}
    for event_type in ("ticket.refunded", "ticket.changed"):
        cur.execute(
            "SELECT coalesce(sum(json_extract(payload, '$.fee')), 0) FROM outbox "
            "WHERE type = ? AND json_extract(payload, '$.shift_id') = ?",
            (event_type, shift_id),
        )
        fees[event_type] = cur.fetchone()[0]
    cur.execute(
        "SELECT method, coalesce(sum(amount), 0) FROM payments WHERE shift_id = ? GROUP BY method",
        (shift_id,),
    )
    net = {"cash": 0, "epay": 0, **dict(cur.fetchall())}
    cur.execute(
        "SELECT first_no, last_no, next_no FROM stock_rolls WHERE shift_id = ? ORDER BY id", (shift_id,)
    )
    issued: list[str] = []
    rolls = []
    for first_no, last_no, next_no in cur.fetchall():
        roll = StockRoll(int(first_no), int(last_no), int(next_no))
        rolls.append({"first": first_no, "last": last_no, "next": next_no, "remaining": roll.remaining})
        issued.extend(format_stock_no(n) for n in range(roll.first, roll.next_number))
    cur.execute(
        "SELECT stock_no, reason, ticket_id FROM spoiled_stock WHERE shift_id = ? ORDER BY stock_no",
        (shift_id,),
    )
    spoiled = [{"stock_no": s, "reason": r, "ticket_id": t} for s, r, t in cur.fetchall()]
    spoiled_numbers = {s["stock_no"] for s in spoiled}
    return {
        "shift_id": shift_id,
        "clerk": clerk,
        "terminal_id": terminal_id,
        "opened_at": opened_at,
        "closed_at": closed_at,
        "sold": sold,
        "refunded": {**sections["refund"], "fees": fees["ticket.refunded"]},
        "voided": sections["void"],
        "changed": {**changed, "fees": fees["ticket.changed"]},
        "insurance": insurance,
        "refund_fees": fees["ticket.refunded"],
        "payments": net,
        "stock": {
            "rolls": rolls,
            "issued": issued,
            "issued_count": len(issued),
            "printed": [n for n in issued if n not in spoiled_numbers],
            "printed_count": len(issued) - len(spoiled_numbers & set(issued)),
            "spoiled": spoiled,
            "spoiled_count": len(spoiled),
        },
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
        cur.execute(
            "UPDATE shifts SET closed_at = ?, cash_counted = ? WHERE id = ?", (closed, cash_counted, shift.id)
        )
        cur.execute("UPDATE stock_rolls SET active = 0 WHERE shift_id = ?", (shift.id,))
        report = compute_settlement(cur, shift.id)
        report["cash_counted"] = cash_counted
        report["difference"] = None if cash_counted is None else cash_counted - report["amount_due"]
        cur.execute(
            "UPDATE shifts SET settlement = ? WHERE id = ?",
            (json.dumps(report, ensure_ascii=False, sort_keys=True), shift.id),
        )
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

"""Shifts, their stock rolls and spoiled stock, and the figures a shift's settlement adds up."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class OpenShift:
    """A clerk's open shift and its active roll. ``next_no`` moves as the operation takes blanks."""

    id: str
    clerk: str
    roll_id: int
    first_no: int
    last_no: int | None
    next_no: int


def open_shift_of(cur, clerk: str, terminal_id: str) -> OpenShift | None:
    cur.execute(
        "SELECT s.id, s.clerk, r.id, r.first_no, r.last_no, r.next_no FROM shifts s "
        "JOIN stock_rolls r ON r.shift_id = s.id AND r.active = 1 "
        "WHERE s.clerk = ? AND s.terminal_id = ? AND s.closed_at IS NULL ORDER BY s.opened_at DESC LIMIT 1",
        (clerk, terminal_id),
    )
    row = cur.fetchone()
    if row is None:
        return None
    shift_id, clerk, roll_id, first_no, last_no, next_no = row
    return OpenShift(shift_id, clerk, roll_id, int(first_no), None if last_no is None else int(last_no), int(next_no))


def has_open_shift(cur, clerk: str, terminal_id: str) -> bool:
    """Any open shift of the clerk here, with or without an active roll."""
    cur.execute(
        "SELECT id FROM shifts WHERE clerk = ? AND terminal_id = ? AND closed_at IS NULL", (clerk, terminal_id)
    )
    return cur.fetchone() is not None


def first_used_stock_no(cur, first: str, last: str) -> str | None:
    """A number of ``first..last`` already printed or spoiled, if any."""
    cur.execute(
        "SELECT stock_no FROM tickets WHERE stock_no BETWEEN ? AND ? "
        "UNION SELECT stock_no FROM spoiled_stock WHERE stock_no BETWEEN ? AND ? LIMIT 1",
        (first, last, first, last),
    )
    row = cur.fetchone()
    return row[0] if row else None


def insert_shift(cur, *, shift_id: str, clerk: str, terminal_id: str, opened_at: str, first: str, last: str) -> None:
    """The shift and its active roll, whose next number is its first."""
    cur.execute(
        "INSERT INTO shifts (id, clerk, terminal_id, opened_at) VALUES (?, ?, ?, ?)",
        (shift_id, clerk, terminal_id, opened_at),
    )
    cur.execute(
        "INSERT INTO stock_rolls (shift_id, first_no, last_no, next_no, active) VALUES (?, ?, ?, ?, 1)",
        (shift_id, first, last, first),
    )


def set_roll_next(cur, roll_id: int, next_no: str) -> None:
    cur.execute("UPDATE stock_rolls SET next_no = ? WHERE id = ?", (next_no, roll_id))


def insert_spoiled(
    cur, *, stock_no: str, shift_id: str, clerk: str, reason: str, ticket_id: str | None, at: str
) -> None:
    cur.execute(
        "INSERT INTO spoiled_stock (stock_no, shift_id, clerk, reason, ticket_id, at) VALUES (?, ?, ?, ?, ?, ?)",
        (stock_no, shift_id, clerk, reason, ticket_id, at),
    )


def close_shift_rows(cur, shift_id: str, *, closed_at: str, cash_counted: int | None) -> None:
    """The shift closed and its rolls put away."""
    cur.execute(
        "UPDATE shifts SET closed_at = ?, cash_counted = ? WHERE id = ?", (closed_at, cash_counted, shift_id)
    )
    cur.execute("UPDATE stock_rolls SET active = 0 WHERE shift_id = ?", (shift_id,))


def store_settlement(cur, shift_id: str, settlement: str) -> None:
    cur.execute("UPDATE shifts SET settlement = ? WHERE id = ?", (settlement, shift_id))


# --- the settlement's figures ------------------------------------------------------------------------


@dataclass(frozen=True)
class ShiftHeader:
    clerk: str
    terminal_id: str
    opened_at: str
    closed_at: str | None


@dataclass(frozen=True)
class MoneyLine:
    """One group of a settlement section: tickets of one type paid by one method."""

    ticket_type: str
    method: str
    count: int
    amount: int


@dataclass(frozen=True)
class RollRow:
    first_no: str
    last_no: str
    next_no: str


@dataclass(frozen=True)
class SpoiledRow:
    stock_no: str
    reason: str
    ticket_id: str | None


def shift_header(cur, shift_id: str) -> ShiftHeader:
    cur.execute("SELECT clerk, terminal_id, opened_at, closed_at FROM shifts WHERE id = ?", (shift_id,))
    return ShiftHeader(*cur.fetchone())


def sold_lines(cur, shift_id: str) -> list[MoneyLine]:
    """Tickets first sold in the shift (changes excluded), price and insurance, by type and method."""
    cur.execute(
        "SELECT t.ticket_type, p.method, count(*), sum(t.price + t.insurance) FROM tickets t "
        "JOIN payments p ON p.order_id = t.order_id AND p.kind = 'sale' "
        "WHERE t.shift_id = ? AND t.changed_from IS NULL GROUP BY 1, 2",
        (shift_id,),
    )
    return [MoneyLine(*row) for row in cur.fetchall()]


def paid_out_lines(cur, shift_id: str, kind: str) -> list[MoneyLine]:
    """Payment rows of one kind (refund, void, change), as money handed out (positive)."""
    cur.execute(
        "SELECT t.ticket_type, p.method, count(*), -sum(p.amount) FROM payments p JOIN tickets t ON t.id = p.ticket_id "
        "WHERE p.shift_id = ? AND p.kind = ? GROUP BY 1, 2",
        (shift_id, kind),
    )
    return [MoneyLine(*row) for row in cur.fetchall()]


def insurance_sold(cur, shift_id: str) -> int:
    cur.execute(
        "SELECT coalesce(sum(insurance), 0) FROM tickets WHERE shift_id = ? AND changed_from IS NULL", (shift_id,)
    )
    return cur.fetchone()[0]


def net_by_method(cur, shift_id: str) -> dict[str, int]:
    cur.execute(
        "SELECT method, coalesce(sum(amount), 0) FROM payments WHERE shift_id = ? GROUP BY method", (shift_id,)
    )
    return {method: amount for method, amount in cur.fetchall()}


def rolls_of(cur, shift_id: str) -> list[RollRow]:
    cur.execute("SELECT first_no, last_no, next_no FROM stock_rolls WHERE shift_id = ? ORDER BY id", (shift_id,))
    return [RollRow(*row) for row in cur.fetchall()]


def spoiled_of(cur, shift_id: str) -> list[SpoiledRow]:
    cur.execute(
        "SELECT stock_no, reason, ticket_id FROM spoiled_stock WHERE shift_id = ? ORDER BY stock_no", (shift_id,)
    )
    return [SpoiledRow(*row) for row in cur.fetchall()]

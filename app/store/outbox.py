"""The outbox (every event this terminal owes the server) and the named counters behind its seq.

The counter appends through the sqlite3 cursor of the operation's own transaction, so the event and
the rows it describes commit together or not at all. The uploader reads it here too; the outbox keeps
every event for ever, and what was acknowledged is the sync cursor's business (app.store.sync_state),
so those reads take the acknowledged seq as an argument.
"""

from __future__ import annotations

import json
from typing import NamedTuple

from app.domain.events import event_hash
from app.domain.stock import parse_terminal_id


def bump_counter(cur, name: str, by: int = 1) -> int:
    """Advance a named counter (``outbox_seq:<terminal>``, ``ticket_seq:…``, ``shift_seq:…``) inside
    the current transaction and return its new value."""
    cur.execute(
        "INSERT INTO counters (name, value) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value RETURNING value",
        (name, by),
    )
    return cur.fetchone()[0]


def append_event(
    cur,
    *,
    terminal_id: str,
    seq: int,
    event_id: str,
    type_: str,
    created_at: str,
    payload: str,
    digest: str,
    shift_id: str | None = None,
) -> None:
    """One outbox row; ``payload`` is the canonical JSON that ``digest`` was computed over, and
    ``shift_id`` the payload's own (kept beside it for the settlement, outside the hash)."""
    cur.execute(
        "INSERT INTO outbox (terminal_id, seq, event_id, type, created_at, payload, hash, shift_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (terminal_id, seq, event_id, type_, created_at, payload, digest, shift_id),
    )


def fee_totals(cur, shift_id: str, event_types: tuple[str, ...]) -> dict[str, int]:
    """The fees in one shift's events, by event type (the settlement's refund and change fees).
    Only the shift's own events are read, through the ``shift_id`` index."""
    cur.execute(
        "SELECT type, coalesce(sum(json_extract(payload, '$.fee')), 0) FROM outbox "
        f"WHERE shift_id = ? AND type IN ({', '.join('?' * len(event_types))}) GROUP BY type",
        (shift_id, *event_types),
    )
    return {event_type: 0 for event_type in event_types} | dict(cur.fetchall())


class OutboxRow(NamedTuple):
    """One stored event; ``payload`` is its canonical JSON text exactly as stored."""

    terminal_id: str
    seq: int
    event_id: str
    type: str
    created_at: str
    payload: str
    hash: str


def events_after(cur, terminal_id: str, after_seq: int, limit: int) -> list[OutboxRow]:
    """The next ``limit`` events of ``terminal_id`` after ``after_seq``, in seq order."""
    cur.execute(
        "SELECT terminal_id, seq, event_id, type, created_at, payload, hash FROM outbox "
        "WHERE terminal_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        (terminal_id, after_seq, limit),
    )
    return list(map(OutboxRow._make, cur.fetchall()))


def last_seq(cur, terminal_id: str) -> int:
    """The seq of the newest event of ``terminal_id`` (0 when it has none)."""
    cur.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox WHERE terminal_id = ?", (terminal_id,))
    return cur.fetchone()[0]


def count_events_after(cur, terminal_id: str, after_seq: int) -> int:
    cur.execute("SELECT COUNT(*) FROM outbox WHERE terminal_id = ? AND seq > ?", (terminal_id, after_seq))
    return cur.fetchone()[0]


def ticket_payloads_after(cur, terminal_id: str, after_seq: int) -> list[str]:
    """The payload text of every ``ticket.*`` event of ``terminal_id`` after ``after_seq``."""
    cur.execute(
        "SELECT payload FROM outbox WHERE terminal_id = ? AND seq > ? AND type LIKE 'ticket.%'",
        (terminal_id, after_seq),
    )
    return [payload for (payload,) in cur.fetchall()]


def gate_payloads_after(cur, terminal_id: str, after_seq: int) -> list[str]:
    """The payload text of every gate event about a departure (opened, stopped, merged, road bills)
    of ``terminal_id`` after ``after_seq``: the departures whose local check state is not yet sent."""
    cur.execute(
        "SELECT payload FROM outbox WHERE terminal_id = ? AND seq > ? "
        "AND (type LIKE 'gate.%' OR type LIKE 'roadbill.%' OR type = 'departure.merged')",
        (terminal_id, after_seq),
    )
    return [payload for (payload,) in cur.fetchall()]


def payloads_of_type(cur, type_: str) -> list[str]:
    cur.execute("SELECT payload FROM outbox WHERE type = ?", (type_,))
    return [payload for (payload,) in cur.fetchall()]


def pending_count(cur, terminal_id: str, acked_cursor: str) -> int:
    """Outbox events of ``terminal_id`` above the uploader's high-water mark, which the sync client
    keeps in ``sync_cursors`` under ``acked_cursor``. The caller names the cursor: the store sits
    below ``sync`` and does not import it."""
    return count_events_after(cur, terminal_id, acked_seq(cur, acked_cursor))


def acked_seq(cur, acked_cursor: str) -> int:
    """The highest seq the server has acknowledged (0 before the first upload, or when the row holds
    anything but a number)."""
    cur.execute("SELECT value FROM sync_cursors WHERE name = ?", (acked_cursor,))
    row = cur.fetchone()
    return int(row[0]) if row and str(row[0]).isdigit() else 0


# --- the outbox's own consistency (``kezhan db check`` and the window's start-up) ---------------------

# Settings row the sync client writes when the server held events this file had lost: the seqs it
# skipped so as never to issue them again (a gap ``kezhan db check`` then knows about).
LOST_EVENTS_KEY = "outbox_lost"


def lost_ranges(cur) -> dict[str, list[tuple[int, int]]]:
    """terminal id -> the (first, last) seq ranges given up to the server's copies."""
    cur.execute("SELECT value FROM settings WHERE key = ?", (LOST_EVENTS_KEY,))
    row = cur.fetchone()
    try:
        entries = json.loads(row[0]) if row else []
    except ValueError:
        entries = []
    out: dict[str, list[tuple[int, int]]] = {}
    for e in entries if isinstance(entries, list) else []:
        if isinstance(e, dict):
            out.setdefault(str(e.get("terminal_id")), []).append((int(e.get("first", 0)), int(e.get("last", 0))))
    return out


def counter_problems(cur, archived: dict[str, int]) -> list[str]:
    """What the counters say against the rows: an outbox seq counter behind the last event (the next
    event would reuse a seq) or ahead of it with events missing (acknowledged sales gone from the
    file), a ticket serial behind the last ticket id, a stock roll whose next blank is a number a
    ticket already carries. ``archived``: terminal id -> highest seq moved to the archive."""
    problems = []
    lost = lost_ranges(cur)
    cur.execute("SELECT terminal_id, MAX(seq) FROM outbox GROUP BY terminal_id")
    last = dict(archived)
    for terminal_id, seq in cur.fetchall():
        last[terminal_id] = max(last.get(terminal_id, 0), seq)
    cur.execute("SELECT name, value FROM counters WHERE name LIKE 'outbox_seq:%' OR name LIKE 'ticket_seq:%'")
    counters = dict(cur.fetchall())
    for name, value in sorted(counters.items()):
        kind, _, terminal_id = name.partition(":")
        if kind == "outbox_seq":
            have = last.get(terminal_id, 0)
            skipped = any(first <= have + 1 and value <= end for first, end in lost.get(terminal_id, ()))
            if value < have:
                problems.append(f"{terminal_id}: 事件序号计数 {value} 落后于最后一个事件 {have}，下一笔会重复序号 "
                                f"(seq counter {value} is behind the last event {have}: the next event would reuse a seq)")
            elif value > have and not skipped:
                problems.append(f"{terminal_id}: 事件 {have + 1}..{value} 不在文件中，已确认的售票可能丢失 "
                                f"(events {have + 1}..{value} are missing: acknowledged sales may have been lost)")
        elif kind == "ticket_seq":
            prefix = _ticket_prefix(terminal_id)
            if prefix is None:
                continue
            cur.execute("SELECT MAX(id) FROM tickets WHERE id >= ? AND id < ?", (prefix, prefix + ":"))
            top = cur.fetchone()[0]
            if top and top[len(prefix):].isdigit() and int(top[len(prefix):]) > value:
                problems.append(f"{terminal_id}: 车票编号计数 {value} 落后于已有车票 {top}，下一张会重复编号 "
                                f"(ticket counter {value} is behind ticket {top}: the next id would be reused)")
    cur.execute(
        "SELECT r.id, r.next_no, MAX(t.stock_no) FROM stock_rolls r JOIN tickets t ON t.shift_id = r.shift_id "
        "WHERE r.active = 1 AND t.stock_no IS NOT NULL GROUP BY r.id, r.next_no"
    )
    for roll_id, next_no, top in cur.fetchall():
        if str(next_no).isdigit() and str(top).isdigit() and int(top) >= int(next_no):
            problems.append(f"票卷 {roll_id}: 下一张票号 {next_no} 已印在车票上（最大 {top}） "
                            f"(roll {roll_id}: the next blank {next_no} is already on a ticket, up to {top})")
    return problems


def _ticket_prefix(terminal_id: str) -> str | None:
    """The first 12 digits of this terminal's ticket ids (station code and terminal number)."""
    try:
        station, number = parse_terminal_id(terminal_id)
    except ValueError:
        return None
    return f"{station}{number:03d}"


def hash_problems(cur) -> list[str]:
    """Every live event's hash recomputed from its stored fields: a row changed on disk shows here."""
    problems = []
    cur.execute("SELECT terminal_id, seq, event_id, type, created_at, payload, hash FROM outbox ORDER BY terminal_id, seq")
    for terminal_id, seq, event_id, type_, created_at, payload, digest in cur:
        try:
            body = json.loads(payload)
        except ValueError:
            body = None
        if body is None or event_hash({"terminal_id": terminal_id, "seq": seq, "event_id": event_id, "type": type_,
                                       "created_at": created_at, "payload": body}) != digest:
            problems.append(f"{terminal_id}: 事件 {seq} 内容与其校验值不符 (event {seq} does not match its hash)")
    return problems


def raise_counter(cur, name: str, to: int) -> int:
    """Set a named counter to at least ``to`` (never lower it); returns its value."""
    cur.execute(
        "INSERT INTO counters (name, value) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value) RETURNING value",
        (name, to),
    )
    return cur.fetchone()[0]


def counter_value(cur, name: str) -> int:
    """A named counter's value (0 before its first bump)."""
    cur.execute("SELECT value FROM counters WHERE name = ?", (name,))
    row = cur.fetchone()
    return int(row[0]) if row else 0

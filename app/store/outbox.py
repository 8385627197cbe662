"""The outbox (every event this terminal owes the server) and the named counters behind its seq.

The counter appends through the sqlite3 cursor of the operation's own transaction, so the event and
the rows it describes commit together or not at all. The uploader reads it here too; the outbox keeps
every event for ever, and what was acknowledged is the sync cursor's business (app.store.sync_state),
so those reads take the acknowledged seq as an argument.
"""

from __future__ import annotations

from typing import NamedTuple


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

"""The outbox (every event this terminal owes the server) and the named counters behind its seq.

Written through the sqlite3 cursor of the operation's own transaction: the event and the rows it
describes commit together or not at all.
"""

from __future__ import annotations


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
    cur, *, terminal_id: str, seq: int, event_id: str, type_: str, created_at: str, payload: str, digest: str
) -> None:
    """One outbox row; ``payload`` is the canonical JSON that ``digest`` was computed over."""
    cur.execute(
        "INSERT INTO outbox (terminal_id, seq, event_id, type, created_at, payload, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (terminal_id, seq, event_id, type_, created_at, payload, digest),
    )


def fee_total(cur, event_type: str, shift_id: str) -> int:
    """The fees of one shift's events of one type (the settlement's refund and change fees)."""
    cur.execute(
        "SELECT coalesce(sum(json_extract(payload, '$.fee')), 0) FROM outbox "
        "WHERE type = ? AND json_extract(payload, '$.shift_id') = ?",
        (event_type, shift_id),
    )
    return cur.fetchone()[0]

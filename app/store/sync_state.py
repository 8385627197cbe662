"""Settings, the sync client's cursors (the standing alarm among them), the sync identity and the
feed rows it deferred: what the counter reads of the sync state, and the few rows it writes."""

from __future__ import annotations

from dataclasses import dataclass


def settings_text(cur, keys: tuple[str, ...]) -> dict[str, str]:
    """The raw JSON text of the named settings that exist."""
    cur.execute(f"SELECT key, value FROM settings WHERE key IN ({','.join('?' * len(keys))})", keys)
    return {key: value for key, value in cur.fetchall()}


def cursor_value(cur, name: str) -> str | None:
    """The value of one ``sync_cursors`` row, None when there is no such row."""
    cur.execute("SELECT value FROM sync_cursors WHERE name = ?", (name,))
    row = cur.fetchone()
    return None if row is None else row[0]


def put_cursor_value(cur, name: str, value: str, at: str) -> None:
    cur.execute(
        "INSERT INTO sync_cursors (name, value, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (name, value, at),
    )


def is_enrolled(cur) -> bool:
    """The file holds a sync identity (a file never enrolled may not even have the tables)."""
    cur.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('sync_identity', 'sync_cursors')")
    if len(cur.fetchall()) < 2:
        return False
    cur.execute("SELECT COUNT(*) FROM sync_identity")
    return bool(cur.fetchone()[0])


def enrolled_terminal_id(cur) -> str | None:
    cur.execute("SELECT terminal_id FROM sync_identity")
    row = cur.fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class DeferredSeat:
    """A seat row of the feed the sync client held back while a ticket of ours sat on the seat."""

    deleted: bool
    data: str | None  # the row's JSON


def take_deferred_seat(cur, key: str) -> DeferredSeat | None:
    """Remove and return the parked feed row of seat ``key`` (``departure/seat``), if any."""
    cur.execute("SELECT deleted, data FROM sync_deferred WHERE kind = 'seat' AND key = ?", (key,))
    row = cur.fetchone()
    if row is None:
        return None
    cur.execute("DELETE FROM sync_deferred WHERE kind = 'seat' AND key = ?", (key,))
    return DeferredSeat(bool(row[0]), row[1])

"""Settings, the sync client's cursors (the standing alarm among them), the sync identity, the
ticket-code keys and the feed rows the sync client deferred.

Cursor functions run on the sqlite3 cursor of the caller's transaction (the feed is applied that
way, and the counter reads the alarm inside its own); the identity, read and written once per start
or enrolment, goes through the ORM session.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.store.models import SyncIdentity, TicketKey
from app.store.province import put_setting


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


def setting_value(cur, key: str, default=None):
    """One setting, decoded; ``default`` when it is not set."""
    cur.execute("SELECT value FROM settings WHERE key = ?", (key,))
    row = cur.fetchone()
    return default if row is None else json.loads(row[0])


def put_setting_value(cur, key: str, value) -> None:
    cur.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, json.dumps(value, ensure_ascii=False, sort_keys=True)),
    )


def delete_setting(cur, key: str) -> None:
    cur.execute("DELETE FROM settings WHERE key = ?", (key,))


def delete_cursor(cur, name: str) -> None:
    cur.execute("DELETE FROM sync_cursors WHERE name = ?", (name,))


@dataclass(frozen=True)
class DeferredRow:
    """A feed row held back because the record it would overwrite has local changes the server has
    not seen yet."""

    kind: str
    key: str
    deleted: bool
    data: str | None  # the row's JSON


def defer_row(cur, row: DeferredRow) -> None:
    """Park a feed row; a later row of the same key replaces it."""
    cur.execute(
        "INSERT INTO sync_deferred (kind, key, deleted, data) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (kind, key) DO UPDATE SET deleted = excluded.deleted, data = excluded.data",
        (row.kind, row.key, 1 if row.deleted else 0, row.data),
    )


def take_deferred_rows(cur) -> list[DeferredRow]:
    """Remove and return every parked feed row."""
    cur.execute("SELECT kind, key, deleted, data FROM sync_deferred")
    rows = [DeferredRow(kind, key, bool(deleted), data) for kind, key, deleted, data in cur.fetchall()]
    if rows:
        cur.execute("DELETE FROM sync_deferred")
    return rows


def upsert_ticket_key(cur, key_id: str, terminal_id: str, public_key: str, revoked_at: str | None) -> None:
    cur.execute(
        "INSERT INTO ticket_keys (key_id, terminal_id, public_key, revoked_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (key_id) DO UPDATE SET terminal_id = excluded.terminal_id, "
        "public_key = excluded.public_key, revoked_at = excluded.revoked_at",
        (key_id, terminal_id, public_key, revoked_at),
    )


def revoke_ticket_key(cur, key_id: str, at: str) -> None:
    """Mark a key revoked (once: the first revocation time stays). Tickets signed before stay valid."""
    cur.execute("UPDATE ticket_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL", (at, key_id))


def ticket_keys(session: Session) -> list[TicketKey]:
    return list(session.scalars(select(TicketKey)).all())


def sync_identity(session: Session) -> SyncIdentity | None:
    return session.scalars(select(SyncIdentity)).first()


def record_enrolment(session: Session, identity: SyncIdentity, public_key: str, doc_hash_key: str | None) -> None:
    """The identity enrolment gave this terminal, its own ticket-code key and the province's
    document-hash key (when the server sent one)."""
    session.add(identity)
    session.merge(TicketKey(key_id=identity.key_id, terminal_id=identity.terminal_id, public_key=public_key,
                            revoked_at=None))
    if doc_hash_key:
        put_setting(session, "doc_hash_key", doc_hash_key)

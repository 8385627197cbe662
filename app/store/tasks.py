"""Sync tasks: the conflicts the server resolved that a clerk must act on (one task per conflict)."""

from __future__ import annotations

from datetime import datetime

from app.store.models import iso_utc


def upsert_task(cur, key: str, kind: str, conflict: dict, now: datetime) -> bool:
    """One task per server conflict (``key``); a conflict reported again (upload answer, then feed) is
    not a second task. A conflict the server marks resolved closes its open task. True when new."""
    status = conflict.get("status") or "open"
    cur.execute("SELECT status FROM sync_tasks WHERE key = ?", (key,))
    row = cur.fetchone()
    if row is None:
        cur.execute(
            "INSERT INTO sync_tasks (key, kind, conflict, seq, ticket_id, departure_id, seat_no, detail, status, "
            "created_at, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, kind, str(conflict.get("kind")), conflict.get("seq"),
             conflict.get("ticket_id"), conflict.get("departure_id"), conflict.get("seat_no"),
             str(conflict.get("detail") or ""), "resolved" if status == "resolved" else "open", iso_utc(now),
             iso_utc(now) if status == "resolved" else None),
        )
        return True
    if status == "resolved" and row[0] == "open":
        cur.execute("UPDATE sync_tasks SET status = 'resolved', resolved_at = ? WHERE key = ?", (iso_utc(now), key))
    return False


def open_task_count(cur) -> int:
    cur.execute("SELECT count(*) FROM sync_tasks WHERE status = 'open'")
    return cur.fetchone()[0]


def task_kinds(cur) -> dict[str, str]:
    """Every task's kind, by its conflict key."""
    cur.execute("SELECT key, kind FROM sync_tasks")
    return dict(cur.fetchall())

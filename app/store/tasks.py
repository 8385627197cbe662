"""Sync tasks: the conflicts the server resolved against this terminal's sales, one task per
conflict. The sync client writes them (docs/sync-client.md); the counter reads and settles them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.store.models import iso_utc


@dataclass(frozen=True)
class TaskRow:
    """A task with what the counter shows of its ticket (empty strings when the ticket is not here)."""

    id: int
    kind: str  # reseat | refund | review
    conflict: str  # the server's code, e.g. SEAT_TAKEN
    status: str  # open | done | resolved
    detail: str
    created_at: str
    ticket_id: str | None
    departure_id: str | None
    seat_no: int | None  # the seat the server refused
    ticket_status: str | None  # the ticket here: active | refunded | changed | voided (None: not here)
    date: str
    time: str
    schedule_code: str
    destination: str
    passenger: str
    doc_masked: str
    price: int
    stock_no: str | None
    done_by: str | None
    done_at: str | None
    outcome: str | None
    carries_child: bool  # the ticket's passenger carries a free child (no reseat: see aftersale.reseat)


_SELECT = (
    "SELECT k.id, k.kind, k.conflict, k.status, k.detail, k.created_at, k.ticket_id, k.departure_id, k.seat_no, "
    "t.status, coalesce(d.date, ''), coalesce(d.time, ''), coalesce(d.schedule_code, ''), "
    "coalesce(s.name, t.stop, ''), coalesce(p.name, ''), coalesce(p.doc_masked, ''), coalesce(t.price, 0), "
    "t.stock_no, k.done_by, k.done_at, k.outcome, "
    "EXISTS (SELECT 1 FROM tickets c WHERE c.carried_by = t.id AND c.status = 'active') "
    "FROM sync_tasks k LEFT JOIN tickets t ON t.id = k.ticket_id "
    "LEFT JOIN departures d ON d.id = coalesce(t.departure_id, k.departure_id) "
    "LEFT JOIN stations s ON s.code = t.stop LEFT JOIN passengers p ON p.ticket_id = t.id"
)


def _row(values) -> TaskRow:
    fields = list(values)
    fields[0], fields[4], fields[16], fields[21] = int(fields[0]), fields[4] or "", int(fields[16]), bool(fields[21])
    return TaskRow(*fields)


def task_rows(cur, *, include_closed: bool = False) -> list[TaskRow]:
    """Open tasks, oldest first (with ``include_closed``, done and resolved ones after them)."""
    where = "" if include_closed else " WHERE k.status = 'open'"
    cur.execute(f"{_SELECT}{where} ORDER BY k.status != 'open', k.id")
    return [_row(values) for values in cur.fetchall()]


def task_row(cur, task_id: int) -> TaskRow | None:
    cur.execute(f"{_SELECT} WHERE k.id = ?", (task_id,))
    values = cur.fetchone()
    return None if values is None else _row(values)


@dataclass(frozen=True)
class TaskRef:
    id: int
    kind: str


def open_task_on_ticket(cur, ticket_id: str) -> TaskRef | None:
    """The oldest open reseat or refund task naming the ticket."""
    cur.execute("SELECT id, kind FROM sync_tasks WHERE ticket_id = ? AND status = 'open' "
                "AND kind IN ('reseat', 'refund') ORDER BY id LIMIT 1", (ticket_id,))
    row = cur.fetchone()
    return None if row is None else TaskRef(int(row[0]), row[1])


def mark_done(cur, task_id: int, *, clerk: str, at: str, outcome: str) -> bool:
    """False when the task was no longer open (settled by someone else meanwhile)."""
    cur.execute("UPDATE sync_tasks SET status = 'done', done_by = ?, done_at = ?, outcome = ? "
                "WHERE id = ? AND status = 'open'", (clerk, at, outcome, task_id))
    return cur.rowcount == 1


def open_task_count(cur) -> int:
    cur.execute("SELECT count(*) FROM sync_tasks WHERE status = 'open'")
    return cur.fetchone()[0]


@dataclass(frozen=True)
class TaskRecord:
    """A task as ``kezhan sync tasks`` lists it: the row itself, nothing joined."""

    id: int
    kind: str
    conflict: str
    ticket_id: str | None
    departure_id: str | None
    seat_no: int | None
    detail: str | None
    status: str
    created_at: str
    resolved_at: str | None
    done_by: str | None
    done_at: str | None
    outcome: str | None


def task_records(cur, *, include_closed: bool) -> list[TaskRecord]:
    where = "" if include_closed else " WHERE status = 'open'"
    cur.execute("SELECT id, kind, conflict, ticket_id, departure_id, seat_no, detail, status, created_at, "
                f"resolved_at, done_by, done_at, outcome FROM sync_tasks{where} ORDER BY id")
    return [TaskRecord(*row) for row in cur.fetchall()]


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


def task_kinds(cur) -> dict[str, str]:
    """Every task's kind, by its conflict key."""
    cur.execute("SELECT key, kind FROM sync_tasks")
    return dict(cur.fetchall())

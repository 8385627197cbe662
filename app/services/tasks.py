"""Clerk tasks: conflicts the provincial server resolved that the counter must settle with the passenger.

The sync client records one ``sync_tasks`` row per conflict (``reseat``, ``refund`` or ``review``;
docs/sync-client.md § Conflicts become clerk tasks). The clerk settles a task here: a reseat task by
:func:`app.services.aftersale.reseat` (another seat on the same departure) or by a conflict refund,
a refund task by a conflict refund (:func:`app.services.aftersale.refund` with ``task_id``: full,
whatever the time), a review task by :func:`close_task` once it has been looked at. Settling marks
the task ``done`` with the clerk and the instant, in the same transaction as the refund or reseat,
so a task never stays open after its ticket was dealt with, nor closes without it.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime

from app.errors import RuleViolation
from app.services.context import Terminal, audit, cursor, require_now, utc_text
from app.services.sales import free_seat
from app.store import seats as seat_store
from app.store import sync_state
from app.store import tasks as task_store
from app.store.engine import Database
from app.store.tasks import TaskRow

# What each kind of task asks of the clerk, and the operations that settle it.
SETTLED_BY = {"reseat": ("reseat", "refund"), "refund": ("refund",), "review": ("close",)}


@dataclass(frozen=True)
class TaskView(TaskRow):
    """A task as the counter settles it: the stored row, and what the clerk may do with it now."""

    @property
    def actions(self) -> tuple[str, ...]:
        """What the clerk may do with it now ("reseat", "refund", "close")."""
        if self.status != "open":
            return ()
        if self.ticket_status != "active":
            # Dealt with some other way (refunded at F3, voided...): only the mark is left to make.
            return ("close",)
        if self.kind == "reseat" and self.carries_child:
            return ("refund",)
        return SETTLED_BY.get(self.kind, ("close",))


def _view(row: TaskRow) -> TaskView:
    return TaskView(**asdict(row))


def list_tasks(db: Database, *, include_closed: bool = False) -> list[TaskView]:
    """Open tasks, oldest first (with ``include_closed``, done and resolved ones after them)."""
    with db.read() as session:
        return [_view(row) for row in task_store.task_rows(cursor(session), include_closed=include_closed)]


def open_task_count(db: Database) -> int:
    """Conflicts the server resolved that wait for the clerk (counted from the file, like the outbox)."""
    with db.read() as session:
        return task_store.open_task_count(cursor(session))


def get_task(db: Database, task_id: int) -> TaskView:
    with db.read() as session:
        return load_task(cursor(session), task_id)


def load_task(cur, task_id: int) -> TaskView:
    row = task_store.task_row(cur, task_id)
    if row is None:
        raise RuleViolation(f"没有这个冲突任务：{task_id}", en=f"No such conflict task: {task_id}",
                            code="UNKNOWN_TASK")
    return _view(row)


def open_task(cur, task_id: int, action: str) -> TaskView:
    """The task, if it is open and ``action`` settles it (``TASK_NOT_OPEN``, ``TASK_WRONG_ACTION``)."""
    task = load_task(cur, task_id)
    if task.status != "open":
        who = f"（{task.done_by} {task.done_at}）" if task.done_by else ""
        raise RuleViolation(f"该冲突任务已处理{who}", en=f"This conflict task is already settled ({task.status})",
                            code="TASK_NOT_OPEN", status=task.status)
    if action not in task.actions:
        names = {"reseat": ("换座", "a reseat"), "refund": ("退票", "a refund"), "close": ("标记完成", "closing it")}
        zh, en = names[action]
        raise RuleViolation(f"该冲突任务不能用{zh}处理", en=f"This conflict task is not settled by {en}",
                            code="TASK_WRONG_ACTION", kind=task.kind)
    return task


def refuse_while_task_open(cur, ticket_id: str) -> None:
    """``TASK_OPEN`` when an open reseat or refund task names the ticket: the server ruled against its
    seat or departure, so the passenger is owed a fee-free reseat or refund at F11, not a refund with
    the tier's fee at F3, a change that uses up the one the rules allow, or a void. A review task does
    not stand in the way: it asks the clerk only to look."""
    task = task_store.open_task_on_ticket(cur, ticket_id)
    if task is not None:
        raise RuleViolation("这张票有待处理冲突，请按 F11 处理",
                            en="This ticket has an open conflict task: settle it with F11",
                            code="TASK_OPEN", task=task.id, kind=task.kind, ticket_id=ticket_id)


def finish_task(cur, task: TaskView, *, clerk: str, now: datetime, outcome: str) -> None:
    """Mark the task done inside the caller's transaction (the one that refunded or reseated)."""
    if not task_store.mark_done(cur, task.id, clerk=clerk, at=utc_text(now), outcome=outcome):
        # settled by someone else between our read and this write
        raise RuleViolation("该冲突任务已处理", en="This conflict task is already settled", code="TASK_NOT_OPEN")


# How the server names the other party of a SEAT_TAKEN conflict ("sold to ticket W1 by web").
_OTHER_TICKET = re.compile(r"sold to ticket (\S+)")


def release_ticket_seat(cur, task: TaskView | None, departure_id: str, seat_no: int | None) -> None:
    """The seat of a ticket that a reseat or conflict refund closes.

    An ordinary seat goes back to the pool or our lease (``free_seat``). The seat the task's conflict
    names does not: the server has given it to another channel or terminal, so freeing it here would
    let the next sale take it and come back as a second conflict. The feed row the sync client held
    back for it while our ticket sat on it (``sync_deferred``, as ``FeedApplier._apply_seat`` would
    apply it now that the seat is no longer sold here) says who holds it; without one the seat is
    ``held`` (by the other party's ticket when the conflict names it) until the next pull settles it."""
    if task is None or seat_no is None or task.seat_no != seat_no or (task.departure_id or departure_id) != departure_id:
        free_seat(cur, departure_id, seat_no)
        return
    key = f"{departure_id}/{seat_no}"
    parked = sync_state.take_deferred_seat(cur, key)
    if parked is not None:
        if parked.deleted:
            # The server let the seat go since (the other ticket refunded): it is free again.
            seat_store.free_outright(cur, departure_id, seat_no)
            return
        holder = (json.loads(parked.data) if parked.data else {}).get("ticket_id")
    else:
        match = _OTHER_TICKET.search(task.detail)
        holder = match.group(1) if match else None
    # Out of our lease too: the server no longer counts it among the seats leased to us.
    seat_store.hold(cur, departure_id, seat_no, holder)


def close_task(db: Database, terminal: Terminal, *, clerk: str, task_id: int, now: datetime) -> TaskView:
    """A review task looked at, or a task whose ticket was already dealt with some other way: done.
    Writes no outbox event (nothing changes for the server), only the task and the audit log."""
    now = require_now(now)
    with db.transaction() as session:
        cur = cursor(session)
        task = open_task(cur, task_id, "close")
        finish_task(cur, task, clerk=clerk, now=now, outcome="reviewed")
        audit(cur, terminal, clerk, "task_done", str(task_id),
              {"kind": task.kind, "conflict": task.conflict, "ticket": task.ticket_id, "outcome": "reviewed"}, now)
        return load_task(cur, task_id)

"""Paper owed: tickets sold (changed, reseated, reprinted, picked up) whose paper never came out.

Every operation that hands back a ``PrintJob`` also commits, in its own transaction, that the paper
of that ticket and stock number is owed (``sales.owe_paper``). The window settles it when the
printer has taken the job (``mark_printed``); a printer that cannot report its state (the Windows
spooler, a device file) counts as having taken it once the bytes are handed over. What is still owed
at the next start is what a crash, a power cut or a failed print kept from the passenger: the window
lists it after sign-in and prints it with ``print_owed``.

The first print of an owed ticket uses the stock number its operation already took — that number was
consumed from the roll and recorded, and the blank was never used — so no new number is taken and no
event is written: the server already holds the ticket with that number. A reprint (F6) is the other
thing: a new blank, the old number spoiled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from app.services.context import Terminal, audit, cursor, load_rules, require_now, utc_text
from app.services.sales import PrintJob, fetch_departure, get_ticket_row, make_print_job
from app.store import paper as paper_store
from app.store.engine import Database
from app.store.models import parse_utc


@dataclass(frozen=True)
class OwedPaper:
    """One ticket whose paper is owed, as the clerk's list shows it."""

    ticket_id: str
    stock_no: str
    kind: str  # the operation that owes it: sale | change | reseat | reprint | pickup
    clerk: str
    shift_id: str
    owed_at: datetime
    departure_id: str
    date: str  # local departure date
    time: str
    schedule_code: str
    stop: str
    seat_no: int | None
    ticket_type: str
    passenger_name: str
    doc_masked: str


def owed_tickets(db: Database, terminal: Terminal, *, now: datetime, shift_id: str | None = None) -> list[OwedPaper]:
    """Tickets of this terminal's file whose paper is owed, on departures still to leave, in the order
    of their stock numbers; with ``shift_id``, those whose blanks came off that shift's roll. A
    departure that has left is not listed: no paper can serve it."""
    now = require_now(now)
    with db.read() as session:
        rows = paper_store.owed(cursor(session), utc_text(now), shift_id)
    return [
        OwedPaper(r.ticket_id, r.stock_no, r.kind, r.clerk, r.shift_id, parse_utc(r.owed_at), r.departure_id,
                  r.date, r.time, r.schedule_code, r.stop, r.seat_no, r.ticket_type, r.passenger_name,
                  r.doc_masked)
        for r in rows
    ]


def mark_printed(db: Database, terminal: Terminal, printed: Iterable[tuple[str, str]]) -> int:
    """The paper of these (ticket_id, stock_no) came out. A pair whose ticket has since been reprinted
    on another number settles nothing: that number's paper is still owed. Returns how many were owed."""
    pairs = [(ticket_id, stock_no) for ticket_id, stock_no in printed if stock_no]
    if not pairs:
        return 0
    with db.transaction() as session:
        cur = cursor(session)
        settled = paper_store.paid(cur, pairs)
        paper_store.drop_stale(cur)
    return settled


def confirm_paper(db: Database, terminal: Terminal, *, clerk: str, ticket_id: str, stock_no: str,
                  now: datetime) -> int:
    """The clerk says this ticket's paper did come out (the crash came after the print): it leaves
    the list without printing, and the audit log records who said so."""
    now = require_now(now)
    with db.transaction() as session:
        cur = cursor(session)
        settled = paper_store.paid(cur, [(ticket_id, stock_no)])
        if settled:
            audit(cur, terminal, clerk, "paper_confirmed", ticket_id, {"stock_no": stock_no}, now)
    return settled


def print_owed(db: Database, terminal: Terminal, *, clerk: str, now: datetime,
               ticket_ids: Iterable[str] | None = None, shift_id: str | None = None) -> list[PrintJob]:
    """The print jobs of the owed tickets (all of them, or ``ticket_ids``; of ``shift_id``'s roll),
    each on the stock number its operation took. Nothing is settled until the printer has taken
    them (``mark_printed``)."""
    now = require_now(now)
    wanted = None if ticket_ids is None else set(ticket_ids)
    owed = [o for o in owed_tickets(db, terminal, now=now, shift_id=shift_id)
            if wanted is None or o.ticket_id in wanted]
    if not owed:
        return []
    jobs = []
    with db.transaction() as session:
        cur = cursor(session)
        rules = load_rules(cur)
        for o in owed:
            t = get_ticket_row(cur, o.ticket_id)
            dep = fetch_departure(cur, t["departure_id"], t["board"], t["stop"])
            jobs.append(make_print_job(o.kind, {**t, "clerk": o.clerk}, dep, rules, terminal, now,
                                       sold_at=parse_utc(t["sold_at"])))
        audit(cur, terminal, clerk, "print_owed", o.ticket_id if len(owed) == 1 else "",
              {"tickets": [[o.ticket_id, o.stock_no] for o in owed]}, now)
    return jobs

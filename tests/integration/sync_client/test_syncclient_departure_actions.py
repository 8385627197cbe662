"""A supervisor's departure actions travel: a cancellation at one terminal becomes a fee-free refund task
at another terminal that sold a ticket on the bus, refunded there with no fee and settled on the
server; a delay shows its new time at the other terminal; an extra bus sells at once where it was
added and reaches the other terminal with its seats leased away."""

from __future__ import annotations

from datetime import UTC, datetime

from app.services import refund
from app.services.supervisor import add_extra_departure, cancel_departure, delay_departure
from app.services.tasks import list_tasks
from app.store.users import ensure_user
from tests.integration.services.helpers import refusal_code
from tests.integration.sync_client.helpers import CLERK, check_invariants, departure_ids, local_day

SUPERVISOR, SUPERVISOR_PW = "9001", "supervisor-pw"


def office(rigs):
    """A terminal where the supervisor signs in."""
    rig = rigs()
    with rig.db.transaction() as session:
        ensure_user(session, SUPERVISOR, "张站长", "supervisor", SUPERVISOR_PW)
    assert rig.client.run_once().ok
    return rig


def server_ticket(server, ticket_id):
    return next(t for t in server.server.export_tickets() if t["ticket_id"] == ticket_id)


def test_a_cancellation_becomes_a_fee_free_refund_task_at_the_terminal_that_sold_on_the_bus(server, rigs):
    boss, clerk = office(rigs), rigs()
    assert clerk.client.run_once().ok
    clerk.open_shift()
    dep = departure_ids()[0]
    sale = clerk.sell(dep)
    ticket = sale.ticket_ids[0]
    assert clerk.client.drain(timeout=10)

    cancel_departure(boss.db, boss.terminal, supervisor=SUPERVISOR, password=SUPERVISOR_PW, departure_id=dep,
                     reason="车辆故障", now=datetime.now(UTC))
    assert boss.client.drain(timeout=10)
    assert clerk.client.run_once().ok

    # At the clerk's terminal: the bus is not sold any more, and the ticket is a refund task.
    assert clerk.rows("SELECT status FROM departures WHERE id = ?", dep) == [("cancelled",)]
    assert refusal_code(clerk.sell, dep) == "CANCELLED"
    [task] = list_tasks(clerk.db)
    assert (task.kind, task.conflict, task.ticket_id) == ("refund", "DEPARTURE_CANCELLED", ticket)
    done = refund(clerk.db, clerk.terminal, clerk=CLERK, ticket_id=ticket, task_id=task.id, now=datetime.now(UTC))
    assert (done.fee, done.total) == (0, sale.total)
    assert clerk.client.drain(timeout=10)
    assert server_ticket(server, ticket)["status"] == "refunded"
    assert [(c["kind"], c["status"]) for c in server.server.conflicts_of(clerk.client.terminal_id)] == [
        ("DEPARTURE_CANCELLED", "resolved")]
    assert list_tasks(clerk.db) == []
    check_invariants(server, [boss, clerk])


def test_a_delay_and_an_extra_bus_reach_the_other_terminal(server, rigs):
    boss, clerk = office(rigs), rigs()
    assert clerk.client.run_once().ok
    dep = departure_ids()[0]
    now = datetime.now(UTC)
    delay_departure(boss.db, boss.terminal, supervisor=SUPERVISOR, password=SUPERVISOR_PW, departure_id=dep,
                    date=local_day(1), time="09:40", reason="大雾", now=now)
    extra = add_extra_departure(boss.db, boss.terminal, supervisor=SUPERVISOR, password=SUPERVISOR_PW,
                                like_departure_id=dep, date=local_day(1), time="10:10", seats=8, reason="客流大",
                                now=now)
    # Sold at once where it was added, before any upload.
    boss.open_shift()
    sold = boss.sell(extra.departure_id)
    assert boss.client.drain(timeout=10)
    assert boss.client.run_once().ok
    assert server_ticket(server, sold.ticket_ids[0])["status"] == "active"
    assert clerk.client.run_once().ok
    assert clerk.rows("SELECT time, status FROM departures WHERE id = ?", dep) == [("09:40", "delayed")]
    assert clerk.rows("SELECT time, seats, extra FROM departures WHERE id = ?", extra.departure_id) == [
        ("10:10", 8, 1)]
    # Every seat of the extra bus is the office's (leased or sold there): none is the clerk's to sell.
    assert clerk.rows("SELECT COUNT(*) FROM seats WHERE departure_id = ? AND state IN ('free', 'leased')",
                      extra.departure_id) == [(0,)]
    # And the office keeps its lease on the rest after its own pull.
    assert boss.rows("SELECT COUNT(*) FROM seats WHERE departure_id = ? AND state = 'leased'",
                     extra.departure_id) == [(7,)]
    check_invariants(server, [boss, clerk])

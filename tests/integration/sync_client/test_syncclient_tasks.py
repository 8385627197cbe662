"""A real conflict settled at the counter: the web sells a seat the terminal sells too before it has
heard; the server's ruling becomes a task; the clerk's reseat or conflict refund reaches the server,
which resolves the conflict; the task stays done by the clerk, and the web ticket gets its seat."""

from __future__ import annotations

from datetime import UTC, datetime

from app.services import refund
from app.services.aftersale import reseat
from app.services.tasks import get_task, list_tasks
from tests.integration.sync_client.helpers import CLERK, check_invariants, departure_ids
from tests.integration.sync_client.test_syncclient_pull import web_sale

SEAT = 38  # not leased to anyone: online, the counter may sell it and the web may too


def conflict(server, rig):
    assert rig.client.run_once().ok
    rig.open_shift()
    dep = departure_ids()[0]
    web = web_sale(server, dep, seat_no=SEAT)  # the terminal has not pulled since
    sale = rig.sell(dep, seat_no=SEAT)
    assert rig.client.drain(timeout=10)
    [task] = list_tasks(rig.db)
    assert (task.kind, task.conflict, task.ticket_id, task.seat_no) == ("reseat", "SEAT_TAKEN", sale.ticket_ids[0],
                                                                        SEAT)
    return dep, sale.ticket_ids[0], task, web


def server_ticket(server, ticket_id):
    return next(t for t in server.server.export_tickets() if t["ticket_id"] == ticket_id)


def server_conflicts(server, rig):
    return [(c["ticket_id"], c["kind"], c["status"], c["resolution"])
            for c in server.server.conflicts_of(rig.client.terminal_id)]


def test_a_reseat_reaches_the_server_and_the_web_passenger_keeps_the_seat(server, rigs):
    rig = rigs()
    dep, old, task, web = conflict(server, rig)
    result = reseat(rig.db, rig.terminal, clerk=CLERK, task_id=task.id, now=datetime.now(UTC))
    assert result.print_job.seat_no != SEAT
    # Before any pull: the seat is the web's at once (the feed row parked for it landed with the
    # reseat), so a sale in between cannot take it and make a second conflict.
    assert rig.rows("SELECT state, ticket_id FROM seats WHERE departure_id = ? AND seat_no = ?", dep, SEAT) == [
        ("held", web["tickets"][0]["ticket_id"])]
    assert rig.client.drain(timeout=10)
    assert server_ticket(server, old)["status"] == "changed"
    new = server_ticket(server, result.new_ticket_id)
    assert (new["status"], new["departure_id"], new["seat_no"]) == ("active", dep, result.print_job.seat_no)
    assert server_conflicts(server, rig) == [(old, "SEAT_TAKEN", "resolved", "reseated")]
    # The server resolved the conflict; the task stays as the clerk left it.
    done = get_task(rig.db, task.id)
    assert (done.status, done.done_by) == ("done", CLERK)
    assert rig.statuses[-1].open_tasks == 0
    assert rig.rows("SELECT state FROM seats WHERE departure_id = ? AND seat_no = ?", dep, SEAT) == [("held",)]
    assert rig.rows("SELECT COUNT(*) FROM sync_deferred") == [(0,)]
    check_invariants(server, [rig])


def test_a_conflict_refund_reaches_the_server_fee_free(server, rigs):
    rig = rigs()
    dep, old, task, web = conflict(server, rig)
    result = refund(rig.db, rig.terminal, clerk=CLERK, ticket_id=old, task_id=task.id, now=datetime.now(UTC))
    assert result.fee == 0
    assert rig.rows("SELECT state, ticket_id FROM seats WHERE departure_id = ? AND seat_no = ?", dep, SEAT) == [
        ("held", web["tickets"][0]["ticket_id"])]  # the web's at once, not back on sale here
    assert rig.client.drain(timeout=10)
    assert server_ticket(server, old)["status"] == "refunded"
    assert server_conflicts(server, rig) == [(old, "SEAT_TAKEN", "resolved", "refunded")]
    assert get_task(rig.db, task.id).status == "done"
    assert rig.rows("SELECT state FROM seats WHERE departure_id = ? AND seat_no = ?", dep, SEAT) == [("held",)]
    check_invariants(server, [rig])

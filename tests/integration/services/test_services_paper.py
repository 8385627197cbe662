"""Sold but never printed: the paper a committed operation owes stays owed until the printer takes it.

The crash between the commit and the print is simulated by never printing: the sale's ``PrintJob``s
are dropped and the file is opened again, as the next start would."""

from __future__ import annotations

from datetime import timedelta

from app.services import change, refund, reprint, sell
from app.services.paper import confirm_paper, mark_printed, owed_tickets, print_owed
from app.services.sales import PassengerIn, PaymentIn
from app.store.engine import open_database
from tests.integration.services.conftest import CLERK
from tests.integration.services.helpers import LATER, audit_actions, events, rows
from tests.integration.store.tiny_province import D_0800, D_1400, ID_A, ID_B, NINGBO, NOW

AFTER = LATER + timedelta(minutes=5)


def _owed(db, terminal, now=AFTER):
    return [(o.ticket_id, o.stock_no) for o in owed_tickets(db, terminal, now=now)]


def test_a_sale_never_printed_is_owed_after_a_restart_and_printing_it_clears_it(db, db_path, terminal, shift):
    sale = sell(db, terminal, clerk=CLERK, departure_id=D_0800, stop=NINGBO,
                passengers=[PassengerIn("full", "张三", doc_number=ID_A), PassengerIn("full", "李四", doc_number=ID_B)],
                payment=PaymentIn("cash"), now=LATER)
    # The crash: the jobs never reach the printer, and the process goes away.
    db.dispose()
    db = open_database(db_path)
    try:
        owed = owed_tickets(db, terminal, now=AFTER)
        assert [(o.ticket_id, o.stock_no) for o in owed] == [(sale.ticket_ids[0], "00100001"),
                                                            (sale.ticket_ids[1], "00100002")]
        assert owed[0].passenger_name == "张三" and ID_A not in owed[0].doc_masked and "*" in owed[0].doc_masked
        assert (owed[0].departure_id, owed[0].time, owed[0].seat_no, owed[0].kind) == (
            D_0800, "08:00", sale.print_jobs[0].seat_no, "sale")

        seq_before = len(events(db_path))
        jobs = print_owed(db, terminal, clerk=CLERK, now=AFTER)
        # The first print uses the numbers the sale took: no new blank, nothing spoiled, no event.
        assert [(j.ticket_id, j.stock_no, j.kind) for j in jobs] == [
            (sale.ticket_ids[0], "00100001", "sale"), (sale.ticket_ids[1], "00100002", "sale")]
        assert jobs[0].sold_at == LATER
        assert rows(db_path, "SELECT next_no FROM stock_rolls") == [("00100003",)]
        assert rows(db_path, "SELECT count(*) FROM spoiled_stock") == [(0,)]
        assert len(events(db_path)) == seq_before
        assert len(_owed(db, terminal)) == 2  # still owed until the printer has them

        assert mark_printed(db, terminal, [(j.ticket_id, j.stock_no) for j in jobs]) == 2
        assert owed_tickets(db, terminal, now=AFTER) == []
        assert "print_owed" in audit_actions(db_path)
    finally:
        db.dispose()


def test_a_printed_sale_owes_nothing(db, terminal, sale):
    assert _owed(db, terminal) == [(sale.ticket_ids[0], "00100001")]
    mark_printed(db, terminal, [(j.ticket_id, j.stock_no) for j in sale.print_jobs])
    assert _owed(db, terminal) == []


def test_a_reprint_owes_its_new_number_and_the_old_job_does_not_settle_it(db, terminal, sale):
    ticket = sale.ticket_ids[0]
    job = reprint(db, terminal, clerk=CLERK, ticket_id=ticket, now=LATER)
    assert _owed(db, terminal) == [(ticket, job.stock_no)]
    # The first job's confirmation arriving late settles nothing: the new paper is still owed.
    mark_printed(db, terminal, [(ticket, "00100001")])
    assert _owed(db, terminal) == [(ticket, "00100002")]
    [again] = print_owed(db, terminal, clerk=CLERK, now=AFTER)
    assert (again.stock_no, again.kind) == ("00100002", "reprint")


def test_a_change_owes_the_new_ticket_and_a_refund_owes_nothing(db, terminal, sale):
    result = change(db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], new_departure_id=D_1400, now=LATER)
    assert _owed(db, terminal) == [(result.new_ticket_id, result.print_job.stock_no)]
    refund(db, terminal, clerk=CLERK, ticket_id=result.new_ticket_id, now=LATER)
    assert _owed(db, terminal) == []
    assert print_owed(db, terminal, clerk=CLERK, now=AFTER) == []


def test_the_clerk_may_say_the_paper_came_out(db, db_path, terminal, sale):
    ticket = sale.ticket_ids[0]
    assert confirm_paper(db, terminal, clerk=CLERK, ticket_id=ticket, stock_no="00100001", now=AFTER) == 1
    assert _owed(db, terminal) == []
    assert "paper_confirmed" in audit_actions(db_path)


def test_a_departure_that_has_left_is_not_listed(db, terminal, sale):
    assert _owed(db, terminal, now=NOW + timedelta(hours=1)) != []
    assert _owed(db, terminal, now=NOW + timedelta(hours=3)) == []


def test_the_list_of_a_shift_holds_only_the_blanks_of_its_roll(db, terminal, sale, shift):
    from app.services import open_shift
    from tests.integration.services.conftest import CLERK2

    other = open_shift(db, terminal, clerk=CLERK2, first_stock_no="00200001", now=LATER)
    assert [o.ticket_id for o in owed_tickets(db, terminal, now=AFTER, shift_id=shift.shift_id)] == sale.ticket_ids
    assert owed_tickets(db, terminal, now=AFTER, shift_id=other.shift_id) == []
    assert print_owed(db, terminal, clerk=CLERK2, now=AFTER, shift_id=other.shift_id) == []

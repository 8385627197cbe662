"""Settling the conflict tasks the sync client records: a reseat on the same departure, a full
conflict refund at any time, a review closed; each marks its task done with the clerk and the
instant, in the operation's own transaction, and `kezhan sync tasks` reads the same states."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest

from app.errors import RuleViolation
from app.services import PassengerIn, PaymentIn, change, refund, sell
from app.services.aftersale import quote_change, quote_refund, quote_void, reseat, void
from app.services.shifts import preview_settlement
from app.services.tasks import close_task, get_task, list_tasks
from sync.client.apply import record_task
from tests.integration.services.conftest import CLERK
from tests.integration.services.helpers import events, rows, seat_state, ticket_status
from tests.integration.services.test_services_alarm import raise_alarm
from tests.integration.store.tiny_province import D_0800, D_1400, FARE_NINGBO, ID_B, ID_CHILD, NINGBO, NOW

LATER = NOW + timedelta(minutes=5)


def conflict_task(path, ticket_id, kind, *, seq=2, seat=1, departure=D_0800, detail="sold to ticket W1 by web"):
    """The task exactly as the sync client records it from an upload answer or the feed."""
    con = sqlite3.connect(path)
    with con:
        record_task(con.cursor(), f"{seq}/{ticket_id}",
                    {"seq": seq, "kind": kind, "ticket_id": ticket_id, "departure_id": departure, "seat_no": seat,
                     "detail": detail, "status": "open"}, NOW)
    con.close()
    return rows(path, "SELECT id FROM sync_tasks WHERE key = ?", f"{seq}/{ticket_id}")[0][0]


def refusal(fn, *args, **kw) -> RuleViolation:
    with pytest.raises(RuleViolation) as info:
        fn(*args, **kw)
    return info.value


def test_a_reseat_task_gives_another_seat_on_the_same_departure(db, db_path, terminal, sale):
    old = sale.ticket_ids[0]
    task_id = conflict_task(db_path, old, "SEAT_TAKEN")
    [task] = list_tasks(db)
    assert (task.id, task.kind, task.conflict, task.status, task.ticket_id) == (task_id, "reseat", "SEAT_TAKEN",
                                                                                  "open", old)
    assert (task.time, task.schedule_code, task.seat_no, task.ticket_status) == ("08:00", "K0800", 1, "active")
    assert task.passenger == "张三" and "*" in task.doc_masked and task.destination == "宁波"
    assert task.actions == ("reseat", "refund")

    result = reseat(db, terminal, clerk=CLERK, task_id=task_id, seat_no=7, now=LATER)
    assert (result.old_ticket_id, result.fare_difference, result.fee, result.due) == (old, 0, 0, 0)
    job = result.print_job
    assert (job.kind, job.departure_id, job.seat_no, job.price, job.stock_no) == ("reseat", D_0800, 7, FARE_NINGBO,
                                                                                   "00100002")
    assert ticket_status(db_path, old) == "changed"
    # The server gave seat 1 to the web's ticket W1: it is not ours to sell again, so it is held by W1
    # here rather than freed (a free seat 1 would be the next sale's seat, and a second conflict).
    assert seat_state(db_path, D_0800, 1) == ("held", "W1")
    assert seat_state(db_path, D_0800, 7) == ("sold", result.new_ticket_id)
    event = events(db_path, "ticket.changed")[-1]["payload"]
    assert event["old_ticket_id"] == old and (event["fee"], event["fare_difference"]) == (0, 0)
    assert (event["new_ticket"]["departure_id"], event["new_ticket"]["seat_no"]) == (D_0800, 7)

    done = get_task(db, task_id)
    assert (done.status, done.done_by, done.done_at) == ("done", CLERK, "2026-11-30T22:05:00.000000Z")
    assert done.outcome == f"reseat {result.new_ticket_id} seat 7"
    assert list_tasks(db) == [] and [t.id for t in list_tasks(db, include_closed=True)] == [task_id]
    assert refusal(reseat, db, terminal, clerk=CLERK, task_id=task_id, now=LATER).code == "TASK_NOT_OPEN"
    # Not the passenger's change: the one change the rules allow is still there.
    change(db, terminal, clerk=CLERK, ticket_id=result.new_ticket_id, new_departure_id=D_1400, now=LATER)
    # The server's word that the conflict is resolved, arriving later, does not reopen or rename it.
    conflict_task(db_path, old, "SEAT_TAKEN")
    con = sqlite3.connect(db_path)
    with con:
        record_task(con.cursor(), f"2/{old}", {"kind": "SEAT_TAKEN", "status": "resolved"}, LATER)
    con.close()
    assert get_task(db, task_id).status == "done"


def park_seat_row(path, departure_id, seat_no, data):
    """A feed row for the seat held back by the sync client while our ticket sat on it."""
    con = sqlite3.connect(path)
    with con:
        con.execute("INSERT INTO sync_deferred (kind, key, deleted, data) VALUES ('seat', ?, ?, ?)",
                    (f"{departure_id}/{seat_no}", data is None, None if data is None else json.dumps(data)))
    con.close()


def next_automatic_seat(db, terminal, doc=ID_B):
    sold = sell(db, terminal, clerk=CLERK, departure_id=D_0800, stop=NINGBO,
                passengers=[PassengerIn("full", "李四", doc_number=doc)], payment=PaymentIn("cash", tendered=10000),
                now=LATER + timedelta(minutes=1))
    return sold.print_jobs[0].seat_no


def test_the_refused_seat_is_not_sold_again_after_a_reseat(db, db_path, terminal, sale):
    task_id = conflict_task(db_path, sale.ticket_ids[0], "SEAT_TAKEN")
    reseat(db, terminal, clerk=CLERK, task_id=task_id, seat_no=9, now=LATER)
    # Seat 1 is the lowest seat, the one an automatic sale takes first when it is free.
    assert seat_state(db_path, D_0800, 1) == ("held", "W1")
    assert next_automatic_seat(db, terminal) == 2


def test_the_refused_seat_is_not_sold_again_after_a_conflict_refund(db, db_path, terminal, sale):
    task_id = conflict_task(db_path, sale.ticket_ids[0], "SEAT_LEASED", detail="seat leased to another terminal")
    refund(db, terminal, clerk=CLERK, ticket_id="", task_id=task_id, now=LATER)
    assert seat_state(db_path, D_0800, 1) == ("held", None)
    assert next_automatic_seat(db, terminal) == 2


def test_the_parked_feed_row_of_the_refused_seat_lands_with_the_reseat(db, db_path, terminal, sale):
    task_id = conflict_task(db_path, sale.ticket_ids[0], "SEAT_TAKEN")
    park_seat_row(db_path, D_0800, 1, {"state": "sold", "channel": "web", "ticket_id": "W7", "terminal_id": None})
    reseat(db, terminal, clerk=CLERK, task_id=task_id, seat_no=9, now=LATER)
    # The feed's word wins over the task's detail, and it is used up.
    assert seat_state(db_path, D_0800, 1) == ("held", "W7")
    assert rows(db_path, "SELECT COUNT(*) FROM sync_deferred") == [(0,)]
    assert next_automatic_seat(db, terminal) == 2


def test_a_parked_release_of_the_refused_seat_frees_it(db, db_path, terminal, sale):
    task_id = conflict_task(db_path, sale.ticket_ids[0], "SEAT_TAKEN")
    park_seat_row(db_path, D_0800, 1, None)  # the web ticket was refunded since: the server let the seat go
    refund(db, terminal, clerk=CLERK, ticket_id="", task_id=task_id, now=LATER)
    assert seat_state(db_path, D_0800, 1) == ("free", None)
    assert rows(db_path, "SELECT COUNT(*) FROM sync_deferred") == [(0,)]


def test_a_passenger_carrying_a_free_child_is_refunded_not_reseated(db, db_path, terminal, shift):
    """The server keeps a free child on the ticket that carried it, and a ticket.changed event cannot
    move it: a reseat would leave the child, on the server, on a changed ticket. So the pair is
    refunded in full and sold again."""
    pair = sell(db, terminal, clerk=CLERK, departure_id=D_0800, stop=NINGBO,
                passengers=[PassengerIn("full", "张三", doc_number=ID_B),
                            PassengerIn("free_child", "张小", doc_number=ID_CHILD)],
                payment=PaymentIn("cash", tendered=20000), now=NOW + timedelta(minutes=1))
    adult, child = pair.ticket_ids
    task_id = conflict_task(db_path, adult, "SEAT_TAKEN")
    assert get_task(db, task_id).actions == ("refund",)
    before = events(db_path)
    refused = refusal(reseat, db, terminal, clerk=CLERK, task_id=task_id, seat_no=9, now=LATER)
    assert refused.code == "CARRIES_FREE_CHILD" and "refund in full" in refused.en
    assert events(db_path) == before and get_task(db, task_id).status == "open"
    assert rows(db_path, "SELECT status, carried_by FROM tickets WHERE id = ?", child) == [("active", adult)]
    result = refund(db, terminal, clerk=CLERK, ticket_id="", task_id=task_id, now=LATER)
    assert (result.fee, result.also_refunded) == (0, [child])
    assert (ticket_status(db_path, adult), ticket_status(db_path, child)) == ("refunded", "refunded")
    assert get_task(db, task_id).status == "done"


def test_an_automatic_seat_when_the_clerk_names_none(db, db_path, terminal, sale):
    task_id = conflict_task(db_path, sale.ticket_ids[0], "SEAT_LEASED")
    before = preview_settlement(db, terminal, clerk=CLERK)
    result = reseat(db, terminal, clerk=CLERK, task_id=task_id, now=LATER)
    assert result.print_job.seat_no not in (None, 1)
    after = preview_settlement(db, terminal, clerk=CLERK)
    # Counted among the changes, as its event is, but no money moves: the drawer owes what it did.
    assert (after["changed"]["count"], after["changed"]["amount"], after["changed"]["fees"]) == (1, 0, 0)
    assert after["amount_due"] == before["amount_due"] == FARE_NINGBO
    assert after["payments"] == before["payments"]
    assert after["stock"]["issued_count"] == before["stock"]["issued_count"] + 1  # the new ticket's blank


def test_a_refund_task_is_a_full_refund_even_after_departure(db, db_path, terminal, sale):
    ticket = sale.ticket_ids[0]
    task_id = conflict_task(db_path, ticket, "UNKNOWN_DEPARTURE", seat=None, detail="departure not known")
    assert get_task(db, task_id).actions == ("refund",)
    too_late = NOW + timedelta(hours=5)  # the 08:00 left hours ago: an ordinary refund would be too late
    assert refusal(refund, db, terminal, clerk=CLERK, ticket_id=ticket, now=too_late).code == "TASK_OPEN"
    quote = quote_refund(db, terminal, ticket_id="", task_id=task_id, now=too_late)
    assert (quote.fee, quote.total, quote.tier) == (0, FARE_NINGBO, "冲突退票")
    result = refund(db, terminal, clerk=CLERK, ticket_id="", task_id=task_id, now=too_late)
    assert (result.ticket_id, result.fee, result.total, result.forced, result.approved_by) == (
        ticket, 0, FARE_NINGBO, False, None)
    assert ticket_status(db_path, ticket) == "refunded"
    payload = events(db_path, "ticket.refunded")[-1]["payload"]
    assert (payload["fee"], payload["refund_amount"], payload["forced"]) == (0, FARE_NINGBO, False)
    done = get_task(db, task_id)
    assert (done.status, done.done_by, done.outcome) == ("done", CLERK, f"refund {ticket} {FARE_NINGBO}")
    audit = rows(db_path, "SELECT detail FROM audit_log WHERE action = 'refund'")
    assert json.loads(audit[-1][0])["task"] == task_id


def test_a_reseat_task_may_be_refunded_instead_but_not_forced(db, db_path, terminal, sale):
    task_id = conflict_task(db_path, sale.ticket_ids[0], "SEAT_TAKEN")
    assert refusal(refund, db, terminal, clerk=CLERK, ticket_id="", task_id=task_id, now=LATER, forced=True,
                   supervisor="9001", supervisor_password="x").code == "TASK_WRONG_ACTION"
    assert refund(db, terminal, clerk=CLERK, ticket_id="", task_id=task_id, now=LATER).fee == 0
    assert get_task(db, task_id).status == "done"


def test_f3_f4_and_void_are_steered_to_the_open_task(db, db_path, terminal, sale):
    """At 115 minutes before the 08:00 an F3 refund would keep the 20 % tier and F4 would charge its fee
    and use up the passenger's one change; the server's ruling owes them a fee-free F11 settlement."""
    ticket = sale.ticket_ids[0]
    task_id = conflict_task(db_path, ticket, "SEAT_TAKEN")
    before = events(db_path)
    for fn, kw in ((quote_refund, {}), (refund, {"clerk": CLERK}), (quote_change, {"new_departure_id": D_1400}),
                   (change, {"clerk": CLERK, "new_departure_id": D_1400}), (quote_void, {"clerk": CLERK}),
                   (void, {"clerk": CLERK})):
        refused = refusal(fn, db, terminal, ticket_id=ticket, now=LATER, **kw)
        assert (refused.code, refused.message, refused.en) == (
            "TASK_OPEN", "这张票有待处理冲突，请按 F11 处理", "This ticket has an open conflict task: settle it with F11")
        assert refused.details["task"] == task_id
    assert events(db_path) == before and ticket_status(db_path, ticket) == "active"
    # The task's own settlement goes through, fee-free.
    assert quote_refund(db, terminal, ticket_id=ticket, task_id=task_id, now=LATER).fee == 0
    assert refund(db, terminal, clerk=CLERK, ticket_id=ticket, task_id=task_id, now=LATER).fee == 0


def test_a_conflict_refund_naming_another_ticket_is_refused(db, db_path, terminal, sale):
    ticket = sale.ticket_ids[0]
    other = sell(
        db, terminal, clerk=CLERK, departure_id=D_0800, stop=NINGBO,
        passengers=[PassengerIn("full", "李四", doc_number=ID_B)], payment=PaymentIn("cash", tendered=10000),
        now=LATER).ticket_ids[0]
    task_id = conflict_task(db_path, ticket, "SEAT_TAKEN")
    before = events(db_path)
    for fn, kw in ((quote_refund, {}), (refund, {"clerk": CLERK})):
        refused = refusal(fn, db, terminal, ticket_id=other, task_id=task_id, now=LATER, **kw)
        assert (refused.code, refused.en) == ("TASK_WRONG_TICKET", f"The conflict task is for ticket {ticket}, not {other}")
    # Nothing was refunded, neither the ticket the clerk named nor the task's.
    assert (ticket_status(db_path, other), ticket_status(db_path, ticket)) == ("active", "active")
    assert events(db_path) == before and get_task(db, task_id).status == "open"
    # Named as itself, or not named, the task's ticket is the one refunded.
    assert quote_refund(db, terminal, ticket_id="", task_id=task_id, now=LATER).ticket_id == ticket
    assert refund(db, terminal, clerk=CLERK, ticket_id=ticket, task_id=task_id, now=LATER).ticket_id == ticket
    assert ticket_status(db_path, other) == "active"


def test_a_review_task_does_not_stand_in_the_way_of_f3(db, db_path, terminal, sale):
    ticket = sale.ticket_ids[0]
    conflict_task(db_path, ticket, "ALREADY_PICKED_UP", detail="picked up elsewhere")
    assert refund(db, terminal, clerk=CLERK, ticket_id=ticket, now=LATER).fee > 0


def test_a_review_task_is_closed_without_an_event(db, db_path, terminal, sale):
    ticket = sale.ticket_ids[0]
    task_id = conflict_task(db_path, ticket, "ALREADY_PICKED_UP", detail="picked up elsewhere")
    assert get_task(db, task_id).actions == ("close",)
    assert refusal(refund, db, terminal, clerk=CLERK, ticket_id="", task_id=task_id, now=LATER).code == \
        "TASK_WRONG_ACTION"
    assert refusal(reseat, db, terminal, clerk=CLERK, task_id=task_id, now=LATER).code == "TASK_WRONG_ACTION"
    before = events(db_path)
    done = close_task(db, terminal, clerk=CLERK, task_id=task_id, now=LATER)
    assert (done.status, done.done_by, done.outcome) == ("done", CLERK, "reviewed")
    assert events(db_path) == before
    assert ticket_status(db_path, ticket) == "active"


def test_a_task_whose_ticket_was_refunded_at_f3_is_only_closed(db, db_path, terminal, sale):
    ticket = sale.ticket_ids[0]
    # Refunded before the ruling came back (the sale and the refund were in one upload).
    refund(db, terminal, clerk=CLERK, ticket_id=ticket, now=LATER)
    task_id = conflict_task(db_path, ticket, "SEAT_TAKEN")
    assert get_task(db, task_id).actions == ("close",)
    assert refusal(reseat, db, terminal, clerk=CLERK, task_id=task_id, now=LATER).code == "TASK_WRONG_ACTION"
    assert close_task(db, terminal, clerk=CLERK, task_id=task_id, now=LATER).status == "done"


def test_no_reseat_while_a_sync_alarm_stands(db, db_path, terminal, sale):
    task_id = conflict_task(db_path, sale.ticket_ids[0], "SEAT_TAKEN")
    raise_alarm(db_path)
    assert refusal(reseat, db, terminal, clerk=CLERK, task_id=task_id, now=LATER).code == "SYNC_ALARM"
    assert get_task(db, task_id).status == "open"


def test_the_command_line_lists_the_same_states(db, db_path, terminal, sale, capsys):
    from app.cli import main

    task_id = conflict_task(db_path, sale.ticket_ids[0], "SEAT_TAKEN")
    reseat(db, terminal, clerk=CLERK, task_id=task_id, seat_no=9, now=LATER)
    assert main(["sync", "tasks", "--json", "--db", str(db_path)]) == 0
    assert json.loads(capsys.readouterr().out) == {"tasks": []}
    assert main(["sync", "tasks", "--all", "--json", "--db", str(db_path)]) == 0
    [listed] = json.loads(capsys.readouterr().out)["tasks"]
    assert (listed["id"], listed["status"], listed["done_by"]) == (task_id, "done", CLERK)
    assert listed["done_at"] == "2026-11-30T22:05:00.000000Z" and listed["outcome"].endswith("seat 9")
    assert main(["sync", "tasks", "--all", "--db", str(db_path)]) == 0
    assert f"[done {CLERK} 2026-11-30T22:05:00.000000Z]" in capsys.readouterr().out

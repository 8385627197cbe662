"""Reprint, pickup of an online ticket, spoiled blanks, and finding tickets."""

from __future__ import annotations

import sqlite3

from app.domain.identity import document_tag, mask
from app.domain.ticket_code import decode_ticket_code
from app.services import PassengerIn, find_tickets, pickup, refund, reprint, sell, spoil_blank
from tests.integration.services.conftest import CLERK, DOC_KEY
from tests.integration.services.helpers import LATER, events, refusal_code, rows
from tests.integration.store.tiny_province import (
    D_0610_DEPARTED,
    D_0800,
    D_1400,
    HOME,
    ID_A,
    ID_B,
    NINGBO,
)

ONLINE_ID = "3301020019990000000001"


def _online_ticket(path, ticket_id=ONLINE_ID, departure=D_1400, doc=ID_B, seat=30, name="李四"):
    """What the sync puller stores for a ticket sold on the website: no clerk, no stock number, and of
    the document only what the feed carries: the mask and the 8-bit tag (no number, no hash)."""
    con = sqlite3.connect(path)
    with con:
        con.execute("INSERT INTO orders (id, channel, created_at, total) VALUES (?, 'web', ?, 9800)",
                    ("W" + ticket_id, "2026-11-29T10:00:00.000000Z"))
        con.execute(
            "INSERT INTO tickets (id, order_id, departure_id, seat_no, status, ticket_type, fare, price, insurance, "
            "board, stop, doc_tag, times_changed, sold_at) VALUES (?, ?, ?, ?, 'active', 'full', 9800, 9800, 0, "
            "?, ?, ?, 0, '2026-11-29T10:00:00.000000Z')",
            (ticket_id, "W" + ticket_id, departure, seat, HOME, NINGBO, document_tag(DOC_KEY, "resident_id", doc)),
        )
        con.execute("INSERT INTO passengers VALUES (?, ?, 'resident_id', ?, NULL, NULL)",
                    (ticket_id, name, mask(doc)))
        con.execute("UPDATE seats SET state = 'held', ticket_id = ? WHERE departure_id = ? AND seat_no = ?",
                    (ticket_id, departure, seat))
    con.close()


def test_reprint_takes_a_new_number_and_spoils_the_old(db, db_path, terminal, sale):
    ticket = sale.ticket_ids[0]
    job = reprint(db, terminal, clerk=CLERK, ticket_id=ticket, now=LATER)
    assert job.kind == "reprint" and job.ticket_id == ticket and job.stock_no == "00100002"
    assert rows(db_path, "SELECT stock_no FROM tickets WHERE id = ?", ticket) == [("00100002",)]
    assert rows(db_path, "SELECT stock_no, reason FROM spoiled_stock") == [("00100001", "reprint")]
    payload = events(db_path, "ticket.reprinted")[0]["payload"]
    assert (payload["old_stock_no"], payload["new_stock_no"]) == ("00100001", "00100002")


def test_reprint_of_a_refunded_ticket_is_refused(db, terminal, sale):
    refund(db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], now=LATER)
    assert refusal_code(reprint, db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], now=LATER) == "TICKET_NOT_ACTIVE"


def test_pickup_by_ticket_id(db, db_path, terminal, shift):
    _online_ticket(db_path)
    [job] = pickup(db, terminal, clerk=CLERK, ticket_id=ONLINE_ID, now=LATER)
    assert job.kind == "pickup" and job.stock_no == "00100001" and job.seat_no == 30 and job.clerk == CLERK
    assert job.passenger_name == "李四" and job.destination_name == "宁波"
    payload = events(db_path, "ticket.picked_up")[0]["payload"]
    assert payload["ticket_id"] == ONLINE_ID and payload["stock_no"] == "00100001"
    assert refusal_code(pickup, db, terminal, clerk=CLERK, ticket_id=ONLINE_ID, now=LATER) == "ALREADY_PICKED_UP"


def test_an_online_ticket_is_refunded_or_reprinted_only_where_it_was_picked_up(db, db_path, terminal, shift):
    _online_ticket(db_path)
    # Not picked up: the provincial server would refuse the refund, so the counter says so first.
    assert refusal_code(refund, db, terminal, clerk=CLERK, ticket_id=ONLINE_ID, now=LATER) == "NOT_PICKED_UP_HERE"
    pickup(db, terminal, clerk=CLERK, ticket_id=ONLINE_ID, now=LATER)
    assert refund(db, terminal, clerk=CLERK, ticket_id=ONLINE_ID, now=LATER).refund_amount > 0


def test_an_online_ticket_picked_up_at_another_window_is_not_reprinted_here(db, db_path, terminal, shift):
    _online_ticket(db_path)
    con = sqlite3.connect(db_path)
    with con:  # the feed brings the other window's paper number
        con.execute("UPDATE tickets SET stock_no = 'B0000001' WHERE id = ?", (ONLINE_ID,))
    con.close()
    for operation in (reprint, refund):
        assert refusal_code(operation, db, terminal, clerk=CLERK, ticket_id=ONLINE_ID, now=LATER) == \
            "NOT_PICKED_UP_HERE"


def test_pickup_by_id_card_prints_every_waiting_ticket(db, db_path, terminal, shift):
    _online_ticket(db_path)
    _online_ticket(db_path, "3301020019990000000002", departure=D_0800, seat=31)
    jobs = pickup(db, terminal, clerk=CLERK, doc_number=ID_B, now=LATER)
    assert [j.ticket_id for j in jobs] == ["3301020019990000000002", ONLINE_ID]  # earliest departure first
    assert refusal_code(pickup, db, terminal, clerk=CLERK, doc_number=ID_B, now=LATER) == "NOTHING_TO_PICK_UP"


def test_pickup_by_a_typed_number_does_not_guess_between_two_passengers_the_tag_cannot_tell_apart(
        db, db_path, terminal, shift):
    """A web ticket holds only the name, the mask and the 8-bit tag: two passengers whose masks and tags
    agree are told apart by the name on the card, and a typed number (no name) is not guessed with."""
    _online_ticket(db_path)
    _online_ticket(db_path, "3301020019990000000002", departure=D_0800, seat=31, name="王五")
    assert refusal_code(pickup, db, terminal, clerk=CLERK, doc_number=ID_B, now=LATER) == "DOCUMENT_AMBIGUOUS"
    assert [t.passenger_name for t in find_tickets(db, terminal, doc_number=ID_B)] == ["李四", "王五"]
    assert [t.passenger_name for t in find_tickets(db, terminal, doc_number=ID_B, name="李 四")] == ["李四"]
    jobs = pickup(db, terminal, clerk=CLERK, doc_number=ID_B, name="李四", now=LATER)
    assert [j.ticket_id for j in jobs] == [ONLINE_ID]
    assert jobs[0].doc_masked == "*" * 14 + ID_B[-4:]
    # The paper's code carries the tag the web ticket holds, never more.
    assert decode_ticket_code(jobs[0].ticket_code, terminal.public_keys).doc_tag == document_tag(
        DOC_KEY, "resident_id", ID_B)


def test_pickup_after_departure_is_refused(db, db_path, terminal, shift):
    _online_ticket(db_path, departure=D_0610_DEPARTED)
    assert refusal_code(pickup, db, terminal, clerk=CLERK, ticket_id=ONLINE_ID, now=LATER) == "DEPARTED"
    assert rows(db_path, "SELECT stock_no FROM tickets WHERE id = ?", ONLINE_ID) == [(None,)]


def test_a_jammed_blank_is_recorded(db, db_path, terminal, shift):
    assert spoil_blank(db, terminal, clerk=CLERK, now=LATER) == "00100001"
    payload = events(db_path, "stock.spoiled")[0]["payload"]
    assert payload["stock_no"] == "00100001" and payload["reason"] == "jam"
    sale = sell(db, terminal, clerk=CLERK, departure_id=D_0800, stop=NINGBO,
                passengers=[PassengerIn("full", "张三", doc_number=ID_A)], now=LATER)
    assert sale.print_jobs[0].stock_no == "00100002"


def test_find_by_id_stock_number_code_and_document(db, terminal, sale):
    job = sale.print_jobs[0]
    by_id = find_tickets(db, terminal, ticket_id=job.ticket_id)
    by_stock = find_tickets(db, terminal, stock_no="100001")
    by_code = find_tickets(db, terminal, code=job.ticket_code)
    by_doc = find_tickets(db, terminal, doc_number=ID_A)
    for found in (by_id, by_stock, by_code, by_doc):
        assert [t.ticket_id for t in found] == [job.ticket_id]
    view = by_doc[0]
    assert view.status == "active" and view.seat_no == 1 and view.passenger_name == "张三"
    assert ID_A not in view.doc_masked
    assert find_tickets(db, terminal, doc_number=ID_B) == []


def test_a_forged_code_finds_nothing(db, terminal, sale):
    code = sale.print_jobs[0].ticket_code
    forged = code[:-3] + ("AAA" if not code.endswith("AAA") else "BBB")
    assert refusal_code(find_tickets, db, terminal, code=forged) in ("CODE_FORGED", "CODE_GARBLED")


def test_a_web_ticket_picked_up_here_stays_ours_after_its_event_is_archived(db, db_path, terminal, shift):
    """The pick-up's event leaves the live file a week after the server has it: the ticket is still
    this window's to refund."""
    from app.store.archive import archive_file

    _online_ticket(db_path)
    pickup(db, terminal, clerk=CLERK, ticket_id=ONLINE_ID, now=LATER)
    month = archive_file(db_path, "2026-11")
    month.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(db_path)
    with con:  # what the monthly archive does with an acknowledged event, by hand
        con.execute("ATTACH DATABASE ? AS arc", (str(month),))
        con.execute("CREATE TABLE arc.outbox AS SELECT * FROM outbox WHERE type = 'ticket.picked_up'")
        con.execute("DELETE FROM outbox WHERE type = 'ticket.picked_up'")
    con.close()
    assert events(db_path, "ticket.picked_up") == []
    result = refund(db, terminal, clerk=CLERK, ticket_id=ONLINE_ID, now=LATER)
    assert result.ticket_id == ONLINE_ID


def test_a_web_ticket_of_another_stations_departure_is_not_handed_out_here(db, db_path, terminal, shift):
    """The province refuses such a pick-up from this window, so the counter says so before printing."""
    _online_ticket(db_path)
    con = sqlite3.connect(db_path)
    with con:
        con.execute("UPDATE routes SET origin = '330201001' WHERE code = (SELECT route FROM departures WHERE id = ?)",
                    (D_1400,))
    con.close()
    assert refusal_code(pickup, db, terminal, clerk=CLERK, ticket_id=ONLINE_ID, now=LATER) == "OTHER_STATION"
    assert events(db_path, "ticket.picked_up") == []

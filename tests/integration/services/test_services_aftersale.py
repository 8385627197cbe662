"""Refund, void and change after a sale: money, seats, stock and the events the server receives."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.domain.ticket_code import decode_ticket_code
from app.errors import RuleViolation
from app.services import PassengerIn, PaymentIn, change, open_shift, refund, sell, void
from tests.integration.services.conftest import CLERK, CLERK2, SUPERVISOR, SUPERVISOR_PW
from tests.integration.services.helpers import LATER, events, refusal_code, rows, seat_state, ticket_status
from tests.integration.store.tiny_province import (
    D_0620,
    D_0800,
    D_0900_CANCELLED,
    D_1000_SMALL,
    D_1400,
    FARE_NINGBO,
    FARE_SHAOXING,
    ID_A,
    ID_B,
    NINGBO,
    NOW,
    SHAOXING,
)

# --- refund --------------------------------------------------------------------------------------------


def test_refund_two_hours_before_costs_ten_percent(db, db_path, terminal, shift):
    sale = sell(db, terminal, clerk=CLERK, departure_id=D_1400, stop=NINGBO,
                passengers=[PassengerIn("full", "张三", doc_number=ID_A)], now=LATER)
    ticket = sale.ticket_ids[0]
    result = refund(db, terminal, clerk=CLERK, ticket_id=ticket, now=LATER)
    assert result.fee == 1000  # 10 % of 98 yuan is 9.8, rounded to half a yuan
    assert result.refund_amount == FARE_NINGBO - 1000
    assert ticket_status(db_path, ticket) == "refunded"
    assert seat_state(db_path, D_1400, 1) == ("free", None)
    [event] = events(db_path, "ticket.refunded")
    assert event["payload"] == {
        "ticket_id": ticket, "fee": 1000, "refund_amount": FARE_NINGBO - 1000, "forced": False,
        "approved_by": None, "refunded_at": "2026-11-30T22:01:00.000000Z", "clerk": CLERK,
        "shift_id": shift.shift_id,
    }


def test_refund_within_two_hours_costs_twenty_percent(db, terminal, sale):
    result = refund(db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], now=NOW + timedelta(minutes=70))
    assert result.fee == 1950  # 20 % of 98 yuan is 19.6, rounded to half a yuan


def test_refund_long_after_departure_is_refused(db, db_path, terminal, sale):
    assert refusal_code(refund, db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0],
                 now=NOW + timedelta(hours=2, minutes=31)) == "REFUND_TOO_LATE"
    assert ticket_status(db_path, sale.ticket_ids[0]) == "active"


def test_refund_twice_is_refused(db, terminal, sale):
    refund(db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], now=LATER)
    with pytest.raises(RuleViolation) as info:
        refund(db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], now=LATER)
    assert info.value.code == "TICKET_NOT_ACTIVE" and "已退票" in info.value.message


def test_refund_of_an_unknown_ticket(db, terminal, shift):
    assert refusal_code(refund, db, terminal, clerk=CLERK, ticket_id="330102001001999", now=LATER) == "UNKNOWN_TICKET"


def test_forced_refund_is_free_and_names_the_supervisor(db, db_path, terminal, sale):
    result = refund(db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], now=NOW + timedelta(minutes=100),
                    forced=True, supervisor=SUPERVISOR, supervisor_password=SUPERVISOR_PW)
    assert (result.fee, result.refund_amount, result.approved_by) == (0, FARE_NINGBO, SUPERVISOR)
    payload = events(db_path, "ticket.refunded")[0]["payload"]
    assert payload["forced"] is True and payload["approved_by"] == SUPERVISOR


def test_forced_refund_needs_a_real_supervisor(db, db_path, terminal, sale):
    ticket = sale.ticket_ids[0]
    assert refusal_code(refund, db, terminal, clerk=CLERK, ticket_id=ticket, now=LATER, forced=True) == "APPROVAL_REQUIRED"
    assert refusal_code(refund, db, terminal, clerk=CLERK, ticket_id=ticket, now=LATER, forced=True,
                 supervisor=SUPERVISOR, supervisor_password="wrong") == "BAD_APPROVAL"
    from tests.integration.services.conftest import CLERK2_PW

    assert refusal_code(refund, db, terminal, clerk=CLERK, ticket_id=ticket, now=LATER, forced=True,
                 supervisor=CLERK2, supervisor_password=CLERK2_PW) == "NOT_AUTHORISED"
    assert ticket_status(db_path, ticket) == "active"
    # The wrong password counted against the supervisor's account even though the refund was refused.
    assert rows(db_path, "SELECT failed_attempts FROM users WHERE code = ?", SUPERVISOR)[0][0] == 1


def test_refunding_an_adult_refunds_the_carried_child(db, db_path, terminal, shift):
    sale = sell(db, terminal, clerk=CLERK, departure_id=D_0800, stop=NINGBO,
                passengers=[PassengerIn("full", "妈妈", doc_number=ID_A), PassengerIn("free_child", "")], now=LATER)
    adult, child = sale.ticket_ids
    result = refund(db, terminal, clerk=CLERK, ticket_id=adult, now=LATER)
    assert result.also_refunded == [child]
    assert ticket_status(db_path, child) == "refunded"
    assert [e["payload"]["ticket_id"] for e in events(db_path, "ticket.refunded")] == [adult, child]


# --- void ----------------------------------------------------------------------------------------------


def test_void_spoils_the_stock_and_frees_the_seat(db, db_path, terminal, sale):
    ticket = sale.ticket_ids[0]
    result = void(db, terminal, clerk=CLERK, ticket_id=ticket, now=LATER + timedelta(minutes=5))
    assert (result.stock_no, result.refund_amount) == ("00100001", FARE_NINGBO)
    assert ticket_status(db_path, ticket) == "voided"
    assert seat_state(db_path, D_0800, 1) == ("free", None)
    assert rows(db_path, "SELECT stock_no, reason FROM spoiled_stock") == [("00100001", "void")]
    payload = events(db_path, "ticket.voided")[0]["payload"]
    assert payload["ticket_id"] == ticket and payload["stock_no"] == "00100001"
    # The freed seat sells again.
    again = sell(db, terminal, clerk=CLERK, departure_id=D_0800, stop=NINGBO,
                 passengers=[PassengerIn("full", "张三", doc_number=ID_A)], now=LATER + timedelta(minutes=6))
    assert again.print_jobs[0].seat_no == 1 and again.print_jobs[0].stock_no == "00100002"


def test_void_after_the_window_is_refused(db, terminal, sale):
    with pytest.raises(RuleViolation) as info:
        void(db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], now=LATER + timedelta(minutes=11))
    assert info.value.code == "VOID_WINDOW_PASSED" and "退票" in info.value.message


def test_only_the_selling_clerk_may_void(db, terminal, sale):
    open_shift(db, terminal, clerk=CLERK2, first_stock_no="00200001", now=NOW)
    assert refusal_code(void, db, terminal, clerk=CLERK2, ticket_id=sale.ticket_ids[0], now=LATER) == "VOID_NOT_SELLER"


def test_void_only_in_the_same_shift(db, terminal, sale):
    from app.services import close_shift

    close_shift(db, terminal, clerk=CLERK, now=LATER)
    open_shift(db, terminal, clerk=CLERK, first_stock_no="00300001", now=LATER)
    assert refusal_code(void, db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], now=LATER) == "VOID_OTHER_SHIFT"


# --- change --------------------------------------------------------------------------------------------


def test_change_to_a_later_bus(db, db_path, terminal, sale):
    old = sale.ticket_ids[0]
    result = change(db, terminal, clerk=CLERK, ticket_id=old, new_departure_id=D_1400, now=LATER)
    assert (result.fare_difference, result.fee, result.due) == (0, 200, 200)
    job = result.print_job
    assert job.kind == "change" and job.time == "14:00" and job.seat_no == 1 and job.stock_no == "00100002"
    assert decode_ticket_code(job.ticket_code, terminal.public_keys).ticket_id == result.new_ticket_id
    assert ticket_status(db_path, old) == "changed"
    assert seat_state(db_path, D_0800, 1) == ("free", None)
    assert seat_state(db_path, D_1400, 1) == ("sold", result.new_ticket_id)
    payload = events(db_path, "ticket.changed")[0]["payload"]
    assert payload["old_ticket_id"] == old and payload["fee"] == 200 and payload["fare_difference"] == 0
    assert payload["new_ticket"]["departure_id"] == D_1400 and payload["new_ticket"]["stock_no"] == "00100002"
    assert payload["new_ticket"]["passenger"]["doc_number"] == ID_A


def test_change_to_a_dearer_bus_settles_the_difference(db, terminal, sale):
    result = change(db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], new_departure_id=D_1000_SMALL,
                    now=LATER, payment=PaymentIn("epay", reference="ALI-1"))
    assert result.fare_difference == 11000 - FARE_NINGBO and result.due == 11000 - FARE_NINGBO + 200
    assert result.method == "epay"


def test_change_to_a_shorter_trip_hands_money_back(db, terminal, sale):
    result = change(db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], new_departure_id=D_1400,
                    stop=SHAOXING, now=LATER)
    assert result.due == FARE_SHAOXING - FARE_NINGBO + 200 < 0
    assert result.print_job.destination_name == "绍兴"


def test_change_only_once(db, terminal, sale):
    first = change(db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], new_departure_id=D_1400, now=LATER)
    assert refusal_code(change, db, terminal, clerk=CLERK, ticket_id=first.new_ticket_id, new_departure_id=D_0800,
                 now=LATER) == "CHANGE_LIMIT"


def test_change_after_the_cutoff_is_refused(db, db_path, terminal, sale):
    assert refusal_code(change, db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], new_departure_id=D_1400,
                 now=NOW + timedelta(minutes=95)) == "CHANGE_CUTOFF"
    assert ticket_status(db_path, sale.ticket_ids[0]) == "active"
    assert [e["type"] for e in events(db_path)] == ["shift.opened", "ticket.sold"]


def test_change_to_a_bus_that_cannot_be_sold(db, terminal, sale):
    assert refusal_code(change, db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], new_departure_id=D_0900_CANCELLED,
                 stop="330381001", now=LATER) == "CANCELLED"
    assert refusal_code(change, db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], new_departure_id=D_0800,
                 now=LATER) == "SAME_DEPARTURE"


def test_change_onto_a_bus_the_document_already_rides(db, terminal, sale):
    sell(db, terminal, clerk=CLERK, departure_id=D_1400, stop=NINGBO,
         passengers=[PassengerIn("full", "张三", doc_number=ID_A)], now=LATER)
    assert refusal_code(change, db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], new_departure_id=D_1400,
                 now=LATER) == "DUPLICATE_DOCUMENT"


def test_change_of_an_adult_carrying_a_child_is_refused(db, terminal, shift):
    sale = sell(db, terminal, clerk=CLERK, departure_id=D_0800, stop=NINGBO,
                passengers=[PassengerIn("full", "妈妈", doc_number=ID_B), PassengerIn("free_child", "")], now=LATER)
    assert refusal_code(change, db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], new_departure_id=D_1400,
                 now=LATER) == "CARRIES_FREE_CHILD"


def test_a_departed_bus_cannot_take_a_change(db, terminal, shift):
    sale = sell(db, terminal, clerk=CLERK, departure_id=D_1400, stop=NINGBO,
                passengers=[PassengerIn("full", "张三", doc_number=ID_A)], now=LATER)
    assert refusal_code(change, db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], new_departure_id=D_0620,
                 now=NOW + timedelta(minutes=15)) == "STOP_SALE"

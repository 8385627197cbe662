"""The refund and change quotes the counter shows are what the operation then charges or hands back:
the same fee, the same money in the payment rows, the same figures in the events the server gets."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.errors import RuleViolation
from app.services import PassengerIn, change, quote_change, quote_refund, refund, sell
from tests.integration.services.conftest import CLERK, SUPERVISOR, SUPERVISOR_PW
from tests.integration.services.helpers import LATER, audit_actions, events, rows, ticket_status
from tests.integration.store.tiny_province import (
    D_0800,
    D_1400,
    FARE_NINGBO,
    FARE_SHAOXING,
    ID_A,
    ID_B,
    NINGBO,
    NOW,
    SHAOXING,
)

INSURANCE = 300  # the tiny province's 乘意险


def _sell(db, terminal, departure=D_0800, stop=NINGBO, passengers=None, insurance=False):
    passengers = passengers or [PassengerIn("full", "张三", doc_number=ID_A)]
    return sell(db, terminal, clerk=CLERK, departure_id=departure, stop=stop, passengers=passengers,
                insurance=insurance, now=LATER)


def _refund_payments(db_path, ticket_ids):
    marks = ",".join("?" * len(ticket_ids))
    return rows(db_path, f"SELECT ticket_id, amount FROM payments WHERE kind = 'refund' AND ticket_id IN ({marks}) "
                         "ORDER BY id", *ticket_ids)


def _refund_and_compare(db, db_path, terminal, ticket_id, at, **kw):
    """Quote, refund at the same instant, and check the refund did exactly what the quote said."""
    quote = quote_refund(db, terminal, ticket_id=ticket_id, now=at, forced=kw.get("forced", False))
    result = refund(db, terminal, clerk=CLERK, ticket_id=ticket_id, now=at, **kw)
    assert (result.fee, result.refund_amount, result.total) == (quote.fee, quote.refund_amount, quote.total)
    assert (result.tier, result.method, result.also_refunded) == (quote.tier, quote.method, quote.also_refunded)
    paid_out = _refund_payments(db_path, [line.ticket_id for line in quote.lines])
    assert paid_out == [(line.ticket_id, -line.amount) for line in quote.lines]
    refunded = {e["payload"]["ticket_id"]: e["payload"] for e in events(db_path, "ticket.refunded")}
    for line in quote.lines:
        assert (refunded[line.ticket_id]["fee"], refunded[line.ticket_id]["refund_amount"]) == (line.fee, line.amount)
    return quote


@pytest.mark.parametrize(
    ("departure", "at", "fee", "tier"),
    [
        (D_1400, LATER, 1000, "发车前 2 小时以上"),  # 10 % of 98 yuan is 9.8, rounded to half a yuan
        (D_0800, NOW + timedelta(minutes=70), 1950, "发车前 2 小时内"),  # 20 %: 19.6 -> 19.5
        (D_0800, NOW + timedelta(hours=2, minutes=10), 4900, "发车后 30 分钟内"),  # 50 % after departure
    ],
)
def test_each_refund_tier_is_quoted_as_charged(db, db_path, terminal, shift, departure, at, fee, tier):
    sale = _sell(db, terminal, departure=departure, insurance=True)
    quote = _refund_and_compare(db, db_path, terminal, sale.ticket_ids[0], at)
    assert quote.fee == fee and quote.tier == tier
    assert quote.refund_amount == quote.total == FARE_NINGBO - fee + INSURANCE  # the insurance goes back too
    assert quote.method == "cash" and not quote.forced


def test_a_quote_changes_nothing(db, db_path, terminal, shift):
    sale = _sell(db, terminal)
    before = (events(db_path), audit_actions(db_path), rows(db_path, "SELECT * FROM payments"))
    quote_refund(db, terminal, ticket_id=sale.ticket_ids[0], now=LATER)
    quote_change(db, terminal, ticket_id=sale.ticket_ids[0], new_departure_id=D_1400, now=LATER)
    assert (events(db_path), audit_actions(db_path), rows(db_path, "SELECT * FROM payments")) == before
    assert ticket_status(db_path, sale.ticket_ids[0]) == "active"


def test_too_late_is_refused_by_the_quote_as_by_the_refund(db, terminal, shift):
    sale = _sell(db, terminal)
    too_late = NOW + timedelta(hours=2, minutes=31)
    with pytest.raises(RuleViolation) as quoted:
        quote_refund(db, terminal, ticket_id=sale.ticket_ids[0], now=too_late)
    with pytest.raises(RuleViolation) as refused:
        refund(db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], now=too_late)
    assert quoted.value.code == refused.value.code == "REFUND_TOO_LATE"
    assert quoted.value.message == refused.value.message


def test_a_forced_refund_is_quoted_fee_free(db, db_path, terminal, shift):
    sale = _sell(db, terminal, insurance=True)
    # Within two hours of departure, where an ordinary refund would cost 20 %.
    at = NOW + timedelta(minutes=70)
    quote = _refund_and_compare(db, db_path, terminal, sale.ticket_ids[0], at, forced=True,
                                supervisor=SUPERVISOR, supervisor_password=SUPERVISOR_PW)
    assert quote.forced and quote.fee == 0 and quote.tier == "强制退票"
    assert quote.total == FARE_NINGBO + INSURANCE


def test_an_adult_carrying_a_free_child_is_quoted_with_the_child(db, db_path, terminal, shift):
    sale = _sell(db, terminal, departure=D_1400, insurance=True, passengers=[
        PassengerIn("full", "张三", doc_number=ID_A), PassengerIn("free_child", "张小宝")])
    adult, child = sale.ticket_ids
    quote = _refund_and_compare(db, db_path, terminal, adult, LATER)
    assert quote.also_refunded == [child]
    assert [(line.ticket_id, line.fee, line.amount) for line in quote.lines] == [
        (adult, 1000, FARE_NINGBO - 1000 + INSURANCE),
        (child, 0, INSURANCE),  # the child rode free but its insurance was paid
    ]
    assert quote.fee == 1000 and quote.total == FARE_NINGBO - 1000 + 2 * INSURANCE
    assert ticket_status(db_path, child) == "refunded"


def _change_and_compare(db, db_path, terminal, ticket_id, new_departure, stop=None):
    quote = quote_change(db, terminal, ticket_id=ticket_id, new_departure_id=new_departure, now=LATER, stop=stop)
    result = change(db, terminal, clerk=CLERK, ticket_id=ticket_id, new_departure_id=new_departure, now=LATER,
                    stop=stop)
    assert (result.fare_difference, result.fee, result.due) == (quote.fare_difference, quote.fee, quote.due)
    assert result.print_job.price == quote.new_price and result.print_job.destination_code == quote.stop
    [payment] = rows(db_path, "SELECT amount FROM payments WHERE kind = 'change' AND ticket_id = ?",
                     result.new_ticket_id)
    assert payment == (quote.due,)
    [event] = events(db_path, "ticket.changed")
    assert (event["payload"]["fare_difference"], event["payload"]["fee"]) == (quote.fare_difference, quote.fee)
    assert event["payload"]["new_ticket"]["price"] == quote.new_price
    return quote


def test_a_change_to_a_dearer_stop_is_quoted_as_charged(db, db_path, terminal, shift):
    sale = _sell(db, terminal, stop=SHAOXING)
    quote = _change_and_compare(db, db_path, terminal, sale.ticket_ids[0], D_1400, stop=NINGBO)
    assert (quote.old_price, quote.new_price) == (FARE_SHAOXING, FARE_NINGBO)
    assert quote.fare_difference == FARE_NINGBO - FARE_SHAOXING and quote.fee == 200
    assert quote.due == FARE_NINGBO - FARE_SHAOXING + 200  # the passenger pays


def test_a_change_to_a_cheaper_stop_is_quoted_as_handed_back(db, db_path, terminal, shift):
    sale = _sell(db, terminal, stop=NINGBO)
    quote = _change_and_compare(db, db_path, terminal, sale.ticket_ids[0], D_1400, stop=SHAOXING)
    assert quote.fare_difference == FARE_SHAOXING - FARE_NINGBO
    assert quote.due == FARE_SHAOXING - FARE_NINGBO + 200 < 0  # the counter pays out


def _both_refuse(quote_fn, operation, quote_kw, op_kw):
    with pytest.raises(RuleViolation) as quoted:
        quote_fn(**quote_kw)
    with pytest.raises(RuleViolation) as refused:
        operation(**quote_kw, **op_kw)
    assert quoted.value.code == refused.value.code
    return quoted.value.code


def test_a_change_the_operation_would_refuse_is_refused_by_the_quote(db, terminal, shift):
    sale = _sell(db, terminal, passengers=[
        PassengerIn("full", "张三", doc_number=ID_A), PassengerIn("free_child", "张小宝")])
    carrying = dict(db=db, terminal=terminal, ticket_id=sale.ticket_ids[0], new_departure_id=D_1400, now=LATER)
    assert _both_refuse(quote_change, change, carrying, {"clerk": CLERK}) == "CARRIES_FREE_CHILD"
    # 李四 already holds a seat on the 14:00 under the same document (一证一座).
    other = _sell(db, terminal, passengers=[PassengerIn("full", "李四", doc_number=ID_B)])
    _sell(db, terminal, departure=D_1400, passengers=[PassengerIn("full", "李四", doc_number=ID_B)])
    clash = dict(db=db, terminal=terminal, ticket_id=other.ticket_ids[0], new_departure_id=D_1400, now=LATER)
    assert _both_refuse(quote_change, change, clash, {"clerk": CLERK}) == "DUPLICATE_DOCUMENT"
    late = dict(db=db, terminal=terminal, ticket_id=other.ticket_ids[0], new_departure_id=D_1400,
                now=NOW + timedelta(hours=1, minutes=40))
    assert _both_refuse(quote_change, change, late, {"clerk": CLERK}) == "CHANGE_CUTOFF"


def test_a_void_is_quoted_with_the_child_and_the_insurance_handed_back(db, db_path, terminal, shift):
    from app.services import quote_void, void

    sale = _sell(db, terminal, departure=D_1400, insurance=True, passengers=[
        PassengerIn("full", "张三", doc_number=ID_A), PassengerIn("free_child", "张小宝")])
    adult, child = sale.ticket_ids
    quote = quote_void(db, terminal, clerk=CLERK, ticket_id=adult, now=LATER)
    assert quote.amount == FARE_NINGBO + 2 * INSURANCE and quote.children == [child]
    result = void(db, terminal, clerk=CLERK, ticket_id=adult, now=LATER)
    assert result.refund_amount == quote.amount and result.also_voided == [child]
    handed_back = rows(db_path, "SELECT SUM(amount) FROM payments WHERE kind = 'void'")
    assert handed_back == [(-quote.amount,)]
    assert ticket_status(db_path, child) == "voided"


def test_a_void_the_operation_would_refuse_is_refused_by_the_quote(db, terminal, shift):
    from app.services import quote_void, void

    sale = _sell(db, terminal)
    late = LATER + timedelta(hours=1)
    with pytest.raises(RuleViolation) as quoted:
        quote_void(db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], now=late)
    with pytest.raises(RuleViolation) as done:
        void(db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], now=late)
    assert quoted.value.code == done.value.code == "VOID_WINDOW_PASSED"

"""Opening and closing a shift: the stock roll, and the settlement a clerk hands over."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.errors import RuleViolation
from app.services import (
    PassengerIn,
    PaymentIn,
    change,
    close_shift,
    login,
    open_shift,
    preview_settlement,
    refund,
    reprint,
    sell,
    void,
)
from tests.integration.services.conftest import CLERK, CLERK_PW, GATE
from tests.integration.services.helpers import LATER, events, refusal_code, rows
from tests.integration.store.tiny_province import (
    D_0800,
    D_1400,
    FARE_NINGBO,
    FARE_SHAOXING,
    ID_A,
    ID_B,
    ID_C,
    NINGBO,
    NOW,
    SHAOXING,
)


def test_open_shift_writes_its_event(db, db_path, terminal, shift):
    assert shift.first_stock_no == "00100001" and shift.last_stock_no == "00100500"
    [event] = events(db_path)
    assert event["type"] == "shift.opened"
    assert event["payload"] == {"shift_id": shift.shift_id, "clerk": CLERK, "first_stock_no": "00100001",
                                "opened_at": "2026-11-30T22:00:00.000000Z"}


def test_open_shift_refusals(db, terminal, shift):
    assert refusal_code(open_shift, db, terminal, clerk=CLERK, first_stock_no="00900001", now=NOW) == "SHIFT_ALREADY_OPEN"
    assert refusal_code(open_shift, db, terminal, clerk="nobody", first_stock_no="00900001", now=NOW) == "UNKNOWN_USER"
    assert refusal_code(open_shift, db, terminal, clerk=GATE, first_stock_no="00900001", now=NOW) == "NOT_AUTHORISED"
    assert refusal_code(open_shift, db, terminal, clerk="1002", first_stock_no="12a", now=NOW) == "BAD_STOCK_NO"
    assert refusal_code(open_shift, db, terminal, clerk="1002", first_stock_no="20", last_stock_no="10", now=NOW) == "BAD_STOCK_RANGE"


def test_a_roll_that_overlaps_used_numbers_is_refused(db, terminal, sale):
    close_shift(db, terminal, clerk=CLERK, now=LATER)
    with pytest.raises(RuleViolation) as info:
        open_shift(db, terminal, clerk=CLERK, first_stock_no="00100001", now=LATER)
    assert info.value.code == "STOCK_USED" and "00100001" in info.value.message


def test_the_settlement_adds_up(db, db_path, terminal, shift):
    cash = sell(db, terminal, clerk=CLERK, departure_id=D_1400, stop=NINGBO, insurance=True,
                passengers=[PassengerIn("full", "甲", doc_number=ID_A), PassengerIn("student", "乙", doc_number=ID_B)],
                payment=PaymentIn("cash", tendered=20000), now=LATER)
    epay = sell(db, terminal, clerk=CLERK, departure_id=D_0800, stop=SHAOXING,
                passengers=[PassengerIn("full", "丙", doc_number=ID_C)], payment=PaymentIn("epay", reference="WX1"),
                now=LATER)
    refunded = refund(db, terminal, clerk=CLERK, ticket_id=cash.ticket_ids[1], now=LATER)  # student, 10 %
    void(db, terminal, clerk=CLERK, ticket_id=epay.ticket_ids[0], now=LATER)
    changed = change(db, terminal, clerk=CLERK, ticket_id=cash.ticket_ids[0], new_departure_id=D_0800, now=LATER)
    reprint(db, terminal, clerk=CLERK, ticket_id=changed.new_ticket_id, now=LATER)

    preview = preview_settlement(db, terminal, clerk=CLERK)
    result = close_shift(db, terminal, clerk=CLERK, now=LATER + timedelta(hours=8), cash_counted=18000)
    report = result.report
    assert preview["amount_due"] == report["amount_due"]

    student = 7350  # 75 % of 98 yuan
    assert report["sold"]["count"] == 3
    assert report["sold"]["by_type"] == {"full": {"count": 2, "amount": FARE_NINGBO + 300 + FARE_SHAOXING},
                                         "student": {"count": 1, "amount": student + 300}}
    assert report["sold"]["by_method"]["epay"] == {"count": 1, "amount": FARE_SHAOXING}
    assert report["insurance"] == 600
    assert report["refunded"]["count"] == 1 and report["refund_fees"] == refunded.fee
    assert report["refunded"]["amount"] == student + 300 - refunded.fee
    assert report["voided"]["count"] == 1 and report["voided"]["by_method"] == {"epay": {"count": 1, "amount": FARE_SHAOXING}}
    assert report["changed"]["count"] == 1 and report["changed"]["fees"] == 200 and report["changed"]["amount"] == 200

    cash_in = FARE_NINGBO + student + 600 - (student + 300 - refunded.fee) + 200
    assert report["payments"] == {"cash": cash_in, "epay": 0}
    assert result.amount_due == cash_in
    assert result.difference == 18000 - cash_in

    stock = report["stock"]
    assert stock["issued"] == ["00100001", "00100002", "00100003", "00100004", "00100005"]
    assert stock["issued_count"] == 5
    assert [s["stock_no"] for s in stock["spoiled"]] == ["00100003", "00100004"]  # voided, reprinted
    assert stock["spoiled_count"] == 2 and stock["printed_count"] == 3

    closed = events(db_path, "shift.closed")[0]["payload"]
    assert closed["settlement"]["amount_due"] == cash_in and closed["settlement"]["difference"] == 18000 - cash_in
    assert refusal_code(sell, db, terminal, clerk=CLERK, departure_id=D_1400, stop=NINGBO,
                 passengers=[PassengerIn("full", "丁", doc_number=ID_C)], now=LATER) == "NO_OPEN_SHIFT"


def test_closing_without_a_shift(db, terminal):
    assert refusal_code(close_shift, db, terminal, clerk=CLERK, now=NOW) == "NO_OPEN_SHIFT"


def test_login_locks_after_five_wrong_passwords(db, db_path, terminal):
    assert login(db, terminal, CLERK, CLERK_PW, now=NOW).role == "clerk"
    for _ in range(5):
        assert refusal_code(login, db, terminal, CLERK, "wrong", now=NOW) == "BAD_LOGIN"
    assert refusal_code(login, db, terminal, CLERK, CLERK_PW, now=NOW) == "ACCOUNT_LOCKED"
    assert rows(db_path, "SELECT action FROM audit_log WHERE action LIKE 'login%'")[-1] == ("login_failed",)
    from app.services import unlock

    unlock(db, terminal, technician="tech", code=CLERK, now=NOW)
    assert login(db, terminal, CLERK, CLERK_PW, now=NOW).code == CLERK


def test_a_wrong_password_says_how_many_tries_are_left(db, terminal):
    left = []
    for _ in range(5):
        with pytest.raises(RuleViolation) as info:
            login(db, terminal, CLERK, "wrong", now=NOW)
        assert info.value.code == "BAD_LOGIN"
        left.append(info.value.details["tries_left"])
    assert left == [4, 3, 2, 1, 0]
    assert "已锁定" in info.value.message
    # An unknown code is refused in the same words, with no count that would say it does not exist.
    with pytest.raises(RuleViolation) as info:
        login(db, terminal, "7777", "wrong", now=NOW)
    assert info.value.message == "工号或密码错误" and "tries_left" not in info.value.details

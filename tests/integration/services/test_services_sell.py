"""Selling at the counter: what the clerk gets back, what the file holds, what is refused."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest

from app.domain.events import canonical_json
from app.domain.ticket_code import decode_ticket_code
from app.errors import RuleViolation
from app.services import PassengerIn, PaymentIn, sell
from app.services.sales import document_holder, find_tickets
from tests.integration.services.conftest import CLERK, CLERK2
from tests.integration.services.helpers import LATER, audit_actions, events, rows, seat_state
from tests.integration.store.tiny_province import (
    CIXI,
    D_0610_DEPARTED,
    D_0620,
    D_0800,
    D_0900_CANCELLED,
    D_1000_SMALL,
    FARE_NINGBO,
    FARE_SHAOXING,
    ID_A,
    ID_B,
    ID_C,
    ID_CHILD,
    ID_D,
    NINGBO,
    NOW,
    RUIAN,
    SHAOXING,
    resident_id,
)


def _sell(db, terminal, passengers, departure=D_0800, stop=NINGBO, payment=None, now=LATER, **kw):
    return sell(db, terminal, clerk=CLERK, departure_id=departure, stop=stop, passengers=passengers,
                payment=payment or PaymentIn(), now=now, **kw)


def test_a_cash_sale_prints_one_ticket_and_gives_change(db, db_path, terminal, sale):
    assert sale.total == FARE_NINGBO
    assert sale.tendered == 10000 and sale.change == 10000 - FARE_NINGBO
    [job] = sale.print_jobs
    assert job.stock_no == "00100001"
    assert job.origin_name == "杭州汽车客运中心" and job.destination_name == "宁波"
    assert (job.date, job.time, job.schedule_code, job.gate) == ("2026-12-01", "08:00", "K0800", "3")
    assert job.seat_no == 1 and job.ticket_type_name == "全票" and job.price == FARE_NINGBO
    assert job.vehicle_class_name == "大型高级" and job.clerk == CLERK
    assert job.passenger_name == "张三" and job.doc_masked == "*" * 14 + ID_A[-4:]
    code = decode_ticket_code(job.ticket_code, terminal.public_keys)
    assert code.ticket_id == job.ticket_id and code.departure_id == D_0800 and code.seat_no == 1
    assert seat_state(db_path, D_0800, 1) == ("sold", job.ticket_id)


def test_the_sale_event_follows_the_contract(db_path, terminal, sale):
    [opened, sold] = events(db_path)
    assert (opened["type"], opened["seq"], sold["type"], sold["seq"]) == ("shift.opened", 1, "ticket.sold", 2)
    p = sold["payload"]
    assert p["order_id"] == sale.order_id and p["clerk"] == CLERK
    assert p["payment"] == {"method": "cash", "amount": FARE_NINGBO, "tendered": 10000,
                            "change": 10000 - FARE_NINGBO, "reference": None}
    [t] = p["tickets"]
    assert t["ticket_id"] == sale.ticket_ids[0] and t["seat_no"] == 1 and t["stop"] == NINGBO
    assert t["fare"] == FARE_NINGBO and t["price"] == FARE_NINGBO and t["stock_no"] == "00100001"
    assert t["passenger"]["doc_number"] == ID_A and t["passenger"]["doc_type"] == "resident_id"
    assert t["carried_by"] is None
    body = {k: sold[k] for k in ("terminal_id", "seq", "event_id", "type", "created_at", "payload")}
    assert sold["hash"] == hashlib.sha256(canonical_json(body).encode()).hexdigest()
    assert sold["created_at"].endswith("Z")
    stored = rows(db_path, "SELECT payload FROM outbox WHERE seq = 2")[0][0]
    assert stored == json.dumps(p, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_the_audit_log_never_holds_an_id_number(db_path, sale):
    assert audit_actions(db_path) == ["shift_open", "sell"]
    text = " ".join(r[0] for r in rows(db_path, "SELECT detail FROM audit_log"))
    assert ID_A not in text


def test_a_family_sits_together_and_each_type_is_priced(db, db_path, terminal, shift):
    # Seat 3 taken first so the family cannot have 1-2-3-4.
    _sell(db, terminal, [PassengerIn("full", "甲", doc_number=ID_D, seat_no=3)])
    result = _sell(
        db, terminal,
        [PassengerIn("full", "爸爸", doc_number=ID_A), PassengerIn("student", "姐姐", doc_number=ID_B),
         PassengerIn("child", "弟弟", doc_number=ID_C), PassengerIn("free_child", "")],
        stop=SHAOXING, insurance=True,
    )
    jobs = result.print_jobs
    assert [j.seat_no for j in jobs] == [4, 5, 6, None]
    assert [j.price for j in jobs] == [FARE_SHAOXING, 2650, 1750, 0]  # 75 % and 50 % to half a yuan
    assert all(j.insurance == 300 and j.insurance_name == "乘意险" for j in jobs)
    assert result.total == FARE_SHAOXING + 2650 + 1750 + 4 * 300
    assert jobs[3].carried_by == jobs[0].ticket_id and jobs[3].passenger_name == "免票携童"
    assert [j.stock_no for j in jobs] == ["00100002", "00100003", "00100004", "00100005"]


def test_a_chosen_seat_is_sold(db, terminal, shift):
    result = _sell(db, terminal, [PassengerIn("full", "张三", doc_number=ID_A, seat_no=17)])
    assert result.print_jobs[0].seat_no == 17


def test_an_epay_sale_records_the_reference(db, db_path, terminal, shift):
    result = _sell(db, terminal, [PassengerIn("full", "张三", doc_number=ID_A)],
                   payment=PaymentIn("epay", reference="WX20261201001"))
    assert result.change == 0
    assert events(db_path, "ticket.sold")[0]["payload"]["payment"]["reference"] == "WX20261201001"


def test_a_passport_is_accepted(db, terminal, shift):
    result = _sell(db, terminal, [PassengerIn("full", "John Smith", doc_type="passport", doc_number="E12345678")])
    assert result.print_jobs[0].doc_type == "passport"


def _refused(code, fn, *args, **kw):
    with pytest.raises(RuleViolation) as info:
        fn(*args, **kw)
    assert info.value.code == code, info.value.en
    return info.value


@pytest.mark.parametrize(
    ("code", "departure", "stop", "now"),
    [
        ("CANCELLED", D_0900_CANCELLED, RUIAN, LATER),
        ("DEPARTED", D_0610_DEPARTED, NINGBO, LATER),
        ("DEPARTED", D_0620, NINGBO, NOW + timedelta(minutes=21)),
        ("STOP_SALE", D_0620, NINGBO, NOW + timedelta(minutes=11)),
        ("UNKNOWN_DEPARTURE", "no-such-departure", NINGBO, LATER),
        ("NO_FARE", D_0800, CIXI, LATER),
    ],
)
def test_departures_that_cannot_be_sold_are_refused(db, db_path, terminal, shift, code, departure, stop, now):
    _refused(code, _sell, db, terminal, [PassengerIn("full", "张三", doc_number=ID_A)], departure=departure,
             stop=stop, now=now)
    assert [e["type"] for e in events(db_path)] == ["shift.opened"]
    assert rows(db_path, "SELECT count(*) FROM tickets")[0][0] == 0


def test_sold_out(db, terminal, shift):
    for n in range(10):
        _sell(db, terminal, [PassengerIn("full", f"乘客{n}", doc_number=resident_id(serial=f"{100 + n}"))],
              departure=D_1000_SMALL)
    error = _refused("SOLD_OUT", _sell, db, terminal, [PassengerIn("full", "张三", doc_number=ID_A)],
                     departure=D_1000_SMALL)
    assert "售完" in error.message


def test_not_enough_seats_for_the_party(db, terminal, shift):
    party = [PassengerIn("full", f"乘客{n}", doc_number=resident_id(serial=f"{200 + n}")) for n in range(8)]
    _sell(db, terminal, party, departure=D_1000_SMALL)
    _refused("NOT_ENOUGH_SEATS", _sell, db, terminal,
             [PassengerIn("full", "甲", doc_number=ID_A), PassengerIn("full", "乙", doc_number=ID_B),
              PassengerIn("full", "丙", doc_number=ID_C)], departure=D_1000_SMALL)


def test_a_seat_already_sold_is_refused(db, terminal, sale):
    _refused("SEAT_TAKEN", _sell, db, terminal, [PassengerIn("full", "李四", doc_number=ID_B, seat_no=1)])


def test_one_document_per_departure(db, db_path, terminal, sale):
    error = _refused("DUPLICATE_DOCUMENT", _sell, db, terminal, [PassengerIn("full", "王五", doc_number=ID_A)])
    assert "一证一座" in error.message
    # It names the ticket holding the seat, not the name typed for the new sale.
    [held] = find_tickets(db, terminal, ticket_id=sale.ticket_ids[0])
    assert held.ticket_id in error.message and f"{held.seat_no} 号座" in error.message and "王五" not in error.message
    assert error.details == {"ticket_id": held.ticket_id, "seat_no": held.seat_no}
    # Asked before the sale, as the number is entered, the answer is the same refusal.
    early = document_holder(db, terminal, departure_id=D_0800, doc_type="resident_id", doc_number=ID_A)
    assert early is not None and early.message == error.message
    assert document_holder(db, terminal, departure_id=D_1000_SMALL, doc_type="resident_id", doc_number=ID_A) is None
    # The same document on another departure is fine.
    _sell(db, terminal, [PassengerIn("full", "张三", doc_number=ID_A)], departure=D_1000_SMALL)


def test_the_same_document_twice_in_one_party_is_refused(db, terminal, shift):
    _refused("DUPLICATE_DOCUMENT", _sell, db, terminal,
             [PassengerIn("full", "张三", doc_number=ID_A), PassengerIn("full", "张三", doc_number=ID_A.lower())])


def test_an_invalid_id_number_is_refused_before_anything_is_written(db, db_path, terminal, shift):
    bad = ID_A[:-1] + ("0" if ID_A[-1] != "0" else "1")
    error = _refused("ID_CHECK_DIGIT", _sell, db, terminal, [PassengerIn("full", "张三", doc_number=bad)])
    assert error.message
    assert rows(db_path, "SELECT next_no FROM stock_rolls")[0][0] == "00100001"


def test_a_seat_ticket_needs_a_document_and_a_name(db, terminal, shift):
    _refused("DOCUMENT_REQUIRED", _sell, db, terminal, [PassengerIn("full", "张三")])
    _refused("NAME_REQUIRED", _sell, db, terminal, [PassengerIn("full", "", doc_number=ID_A)])


def test_free_child_rules(db, terminal, shift):
    _refused("FREE_CHILD_NEEDS_ADULT", _sell, db, terminal, [PassengerIn("free_child", "")])
    _refused("FREE_CHILD_NEEDS_ADULT", _sell, db, terminal,
             [PassengerIn("child", "弟弟", doc_number=ID_CHILD), PassengerIn("free_child", "")])
    # 10 seats: a cap of one free child on the bus.
    _sell(db, terminal, [PassengerIn("full", "妈妈", doc_number=ID_A), PassengerIn("free_child", "")],
          departure=D_1000_SMALL)
    error = _refused("FREE_CHILD_CAP", _sell, db, terminal,
                     [PassengerIn("full", "爸爸", doc_number=ID_B), PassengerIn("free_child", "")],
                     departure=D_1000_SMALL)
    assert "上限" in error.message


def test_at_most_nine_passengers(db, terminal, shift):
    party = [PassengerIn("full", f"乘客{n}", doc_number=resident_id(serial=f"{300 + n}")) for n in range(10)]
    _refused("TOO_MANY_PASSENGERS", _sell, db, terminal, party)


def test_payment_refusals(db, terminal, shift):
    one = [PassengerIn("full", "张三", doc_number=ID_A)]
    error = _refused("INSUFFICIENT_PAYMENT", _sell, db, terminal, one, payment=PaymentIn("cash", tendered=5000))
    assert "不足" in error.message
    _refused("PAYMENT_REFERENCE_MISSING", _sell, db, terminal, one, payment=PaymentIn("epay"))
    _refused("BAD_PAYMENT_METHOD", _sell, db, terminal, one, payment=PaymentIn("cheque"))


def test_no_open_shift(db, terminal):
    error = _refused("NO_OPEN_SHIFT", _sell, db, terminal, [PassengerIn("full", "张三", doc_number=ID_A)])
    assert "开班" in error.message


def test_another_clerks_shift_does_not_count(db, terminal, shift):
    _refused("NO_OPEN_SHIFT", sell, db, terminal, clerk=CLERK2, departure_id=D_0800, stop=NINGBO,
             passengers=[PassengerIn("full", "张三", doc_number=ID_A)], now=LATER)


def test_stock_exhausted(db, db_path, terminal):
    from app.services import open_shift

    open_shift(db, terminal, clerk=CLERK, first_stock_no="00000001", last_stock_no="00000002", now=NOW)
    _sell(db, terminal, [PassengerIn("full", "甲", doc_number=ID_A), PassengerIn("full", "乙", doc_number=ID_B)])
    error = _refused("STOCK_EXHAUSTED", _sell, db, terminal, [PassengerIn("full", "丙", doc_number=ID_C)])
    assert "票卷" in error.message
    assert rows(db_path, "SELECT count(*) FROM tickets")[0][0] == 2

"""The gate's exceptions (undo, ride change, merge, late check, road bill void) and the counter's
refusals of what the gate has checked or stopped."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from app.errors import RuleViolation
from app.services import PassengerIn, PaymentIn, refund, sell, void
from app.services.aftersale import change
from tests.integration.services.conftest import CLERK, SUPERVISOR, SUPERVISOR_PW
from tests.integration.services.gate_helpers import AT_GATE, Clock, make_gate, sell_one
from tests.integration.services.helpers import audit_actions, events, refusal_code, rows, seat_state
from tests.integration.store.tiny_province import D_0800, D_1400, ID_A, ID_B, ID_C, NINGBO, NOW, SHAOXING

BOSS = (SUPERVISOR, SUPERVISOR_PW)


def _open(db, terminal):
    clock = Clock(AT_GATE)
    gate = make_gate(db, terminal, clock)
    gate.open_check(D_0800, vehicle="浙A12345", driver="王师傅")
    return gate, clock


def test_a_checker_signs_in_at_the_gate_and_a_clerk_is_refused(db, terminal):
    gate = make_gate(db, terminal, Clock(AT_GATE))
    assert gate.user.role == "gate"
    assert refusal_code(gate.login, "1001", "clerk-one") == "NOT_AUTHORISED"


def test_opening_needs_the_plate_and_driver_and_waits_for_its_time(db, db_path, terminal):
    clock = Clock(NOW + timedelta(minutes=60))  # 07:00; the 08:00 opens at 07:30
    gate = make_gate(db, terminal, clock)
    assert refusal_code(gate.open_check, D_0800, vehicle="", driver="王") == "VEHICLE_REQUIRED"
    assert refusal_code(gate.open_check, D_0800, vehicle="浙A1", driver="王") == "GATE_NOT_YET"
    clock.move(minutes=30)
    d = gate.open_check(D_0800, vehicle="浙a12345", driver="王师傅")
    assert (d.state, d.plate, d.driver, d.seats) == ("checking", "浙A12345", "王师傅", 45)
    assert events(db_path, "gate.opened")[0]["payload"] == {
        "departure_id": D_0800, "gate": "3", "plate": "浙A12345", "driver": "王师傅", "checker": "2001",
        "late": False}
    assert refusal_code(gate.open_check, D_0800, vehicle="浙A1", driver="王") == "GATE_ALREADY_OPEN"


def test_undo_a_check_needs_a_supervisor_and_a_reason_and_ends_with_the_road_bill(db, db_path, terminal, shift):
    job = sell_one(db, terminal, D_0800, NINGBO, "张三", ID_A)
    gate, _ = _open(db, terminal)
    gate.check_text(job.ticket_code, D_0800)
    assert refusal_code(gate.undo_check, job.ticket_id, reason="", approver=BOSS) == "REASON_REQUIRED"
    assert refusal_code(gate.undo_check, job.ticket_id, reason="误检", approver=None) == "APPROVAL_REQUIRED"
    assert refusal_code(gate.undo_check, job.ticket_id, reason="误检", approver=(SUPERVISOR, "wrong")) \
        == "BAD_APPROVAL"
    v = gate.undo_check(job.ticket_id, reason="误检", approver=BOSS)
    assert v.code == "CHECK_UNDONE"
    assert events(db_path, "ticket.check_undone")[0]["payload"] == {
        "ticket_id": job.ticket_id, "departure_id": D_0800, "reason": "误检", "approver": SUPERVISOR}
    assert "gate_undo_check" in audit_actions(db_path)
    assert gate.departure(D_0800).checked == 0
    # Checked again, then the road bill: no more undo.
    assert gate.check_text(job.ticket_code, D_0800).code == "BOARD"
    gate.stop_check(D_0800)
    assert refusal_code(gate.undo_check, job.ticket_id, reason="误检", approver=BOSS) == "ROAD_BILL_MADE"


def test_a_ride_change_frees_the_original_seat_and_boards_the_other_bus(db, db_path, terminal, shift):
    job = sell_one(db, terminal, D_1400, NINGBO, "张三", ID_A)
    gate, _ = _open(db, terminal)
    assert gate.check_text(job.ticket_code, D_0800).code == "WRONG_DEPARTURE"
    assert refusal_code(gate.ride_change, job.ticket_id, D_0800, reason="赶时间", approver=None) \
        == "APPROVAL_REQUIRED"
    v = gate.ride_change(job.ticket_id, D_0800, reason="赶时间", approver=BOSS)
    assert v.code == "BOARD" and v.seat_no == 1 and v.departure_id == D_0800
    assert seat_state(db_path, D_1400, job.seat_no)[0] in ("free", "leased")
    assert seat_state(db_path, D_0800, 1) == ("held", job.ticket_id)
    [ev] = events(db_path, "ticket.ride_changed")
    assert ev["payload"] == {"ticket_id": job.ticket_id, "from_departure_id": D_1400, "to_departure_id": D_0800,
                             "seat_no": 1, "reason": "赶时间", "approver": SUPERVISOR}
    assert events(db_path, "ticket.checked")[-1]["payload"]["departure_id"] == D_0800
    assert gate.departure(D_0800).ride_changes == 1
    assert gate.check_text(job.ticket_code, D_0800).code == "ALREADY_CHECKED"


def test_merge_needs_a_supervisor_and_refuses_a_departure_already_checking(db, terminal, shift):
    gate, _ = _open(db, terminal)
    assert refusal_code(gate.merge, D_1400, D_0800, reason="并班", approver=None) == "APPROVAL_REQUIRED"
    gate.merge(D_1400, D_0800, reason="并班", approver=BOSS)
    assert refusal_code(gate.merge, D_1400, D_0800, reason="并班", approver=BOSS) == "CANNOT_MERGE"
    # The merged departure is no longer sold at the counter.
    assert refusal_code(sell, db, terminal, clerk=CLERK, departure_id=D_1400, stop=NINGBO,
                        passengers=[PassengerIn("full", "张三", doc_number=ID_A)], payment=PaymentIn("cash"),
                        now=AT_GATE) == "GATE_STOPPED"


def test_stop_makes_a_numbered_road_bill_then_late_check_reopens_and_the_next_stop_numbers_anew(
        db, db_path, terminal, shift):
    a = sell_one(db, terminal, D_0800, NINGBO, "张三", ID_A)
    b = sell_one(db, terminal, D_0800, SHAOXING, "李四", ID_B)
    c = sell_one(db, terminal, D_0800, NINGBO, "王五", ID_C, ticket_type="student")
    gate, clock = _open(db, terminal)
    for job in (a, b):
        gate.check_text(job.ticket_code, D_0800)
    bill = gate.stop_check(D_0800)
    assert bill.number == "330102001-T01-000001" and (bill.plate, bill.driver, bill.gate) == ("浙A12345", "王师傅", "3")
    assert bill.totals == {"count": 2, "amount": a.price + b.price}
    assert {(r["destination"], r["ticket_type"], r["count"]) for r in bill.rows} == {("宁波", "全票", 1),
                                                                                      ("绍兴", "全票", 1)}
    assert bill.fees == {"station_fee": round((a.price + b.price) * 0.10), "agency_fee": 0}
    [made] = events(db_path, "roadbill.made")
    assert made["payload"]["number"] == bill.number and made["payload"]["checked"] == 2
    assert [e["type"] for e in events(db_path)][-3:] == ["ticket.checked", "gate.stopped", "roadbill.made"]
    # The counter no longer sells it, nor refunds a checked ticket.
    assert refusal_code(refund, db, terminal, clerk=CLERK, ticket_id=a.ticket_id, now=clock()) == "TICKET_CHECKED"

    clock.move(minutes=20)  # 07:55
    assert refusal_code(gate.late_check, D_0800, reason="旅客迟到", approver=None) == "APPROVAL_REQUIRED"
    d = gate.late_check(D_0800, reason="旅客迟到", approver=BOSS)
    assert d.state == "late" and d.road_bill_no is None
    assert events(db_path, "roadbill.voided")[0]["payload"]["number"] == bill.number
    assert events(db_path, "gate.opened")[-1]["payload"]["late"] is True
    assert gate.check_text(c.ticket_code, D_0800).code == "BOARD"
    second = gate.stop_check(D_0800)
    assert second.number == "330102001-T01-000002" and second.totals["count"] == 3
    assert rows(db_path, "SELECT count(*) FROM road_bills")[0][0] == 2


def test_the_road_bill_is_reprinted_on_its_number_and_voided_only_by_a_supervisor(db, db_path, terminal, shift):
    a = sell_one(db, terminal, D_0800, NINGBO, "张三", ID_A)
    gate, _ = _open(db, terminal)
    gate.check_text(a.ticket_code, D_0800)
    bill = gate.stop_check(D_0800)
    [job] = gate.road_bill_jobs(D_0800)
    assert job.fields["bill_no"] == bill.number and job.reprint is False
    assert gate.unprinted_road_bills() == [bill.number]
    gate.mark_road_bill_printed(bill.number)
    assert gate.unprinted_road_bills() == []
    [again] = gate.road_bill_jobs(D_0800, reprint=True, manifest=True)
    assert again.fields["bill_no"] == bill.number and again.reprint is True
    assert again.fields["manifest"][0]["name"] == "张三" and "*" in again.fields["manifest"][0]["doc_masked"]
    assert gate.road_bill(D_0800).reprints == 1
    assert events(db_path, "roadbill.reprinted")[0]["payload"] == {"number": bill.number, "departure_id": D_0800}
    assert refusal_code(gate.void_road_bill, D_0800, reason="数据错误", approver=None) == "APPROVAL_REQUIRED"
    gate.void_road_bill(D_0800, reason="数据错误", approver=BOSS)
    assert gate.road_bill(D_0800) is None
    assert "roadbill_void" in audit_actions(db_path)
    # A new bill on a new number; the voided number is never reused.
    assert gate.stop_check(D_0800).number == "330102001-T01-000002"


def test_the_counter_refuses_to_refund_change_or_void_a_checked_ticket(db, terminal, shift):
    a = sell_one(db, terminal, D_0800, NINGBO, "张三", ID_A)
    gate, clock = _open(db, terminal)
    gate.check_text(a.ticket_code, D_0800)
    with pytest.raises(RuleViolation) as info:
        refund(db, terminal, clerk=CLERK, ticket_id=a.ticket_id, now=clock())
    assert info.value.code == "TICKET_CHECKED" and "已检票" in info.value.message
    assert "checked on board" in info.value.en
    assert refusal_code(change, db, terminal, clerk=CLERK, ticket_id=a.ticket_id, new_departure_id=D_1400,
                        now=clock()) == "TICKET_CHECKED"
    assert refusal_code(void, db, terminal, clerk=CLERK, ticket_id=a.ticket_id, now=NOW + timedelta(minutes=3)) \
        == "TICKET_CHECKED"


def test_the_road_bill_body_keeps_its_figures(db, db_path, terminal, shift):
    a = sell_one(db, terminal, D_0800, NINGBO, "张三", ID_A)
    gate, _ = _open(db, terminal)
    gate.check_text(a.ticket_code, D_0800)
    bill = gate.stop_check(D_0800)
    body = json.loads(rows(db_path, "SELECT body FROM road_bills WHERE number = ?", bill.number)[0][0])
    assert body["totals"] == {"count": 1, "amount": a.price}
    assert body["manifest"][0]["seat_no"] == a.seat_no


def test_under_a_sync_alarm_the_bus_is_checked_and_stopped_but_exceptions_wait(db, db_path, terminal, shift):
    from tests.integration.services.test_services_alarm import raise_alarm

    a = sell_one(db, terminal, D_0800, NINGBO, "张三", ID_A)
    raise_alarm(db_path)
    gate, _ = _open(db, terminal)
    assert gate.check_text(a.ticket_code, D_0800).code == "BOARD"
    assert refusal_code(gate.undo_check, a.ticket_id, reason="误检", approver=BOSS) == "SYNC_ALARM"
    assert gate.stop_check(D_0800).totals["count"] == 1
    assert refusal_code(gate.void_road_bill, D_0800, reason="错", approver=BOSS) == "SYNC_ALARM"


def test_the_counter_lists_a_departure_stopped_at_the_gate_as_not_for_sale(db, terminal, shift):
    from datetime import date

    from app.services.counter import Counter

    gate, clock = _open(db, terminal)
    gate.stop_check(D_0800)
    counter = Counter(db, terminal, clock=lambda: NOW)
    [row] = [d for d in counter.departures(NINGBO, date(2026, 12, 1)) if d.id == D_0800]
    assert (row.sellable, row.status) == (False, "stopped") and "已停检" in row.reasons[0]
    assert "stopped at the gate" in row.reasons[1]
    [other] = [d for d in counter.departures(NINGBO, date(2026, 12, 1)) if d.id == D_1400]
    assert other.sellable


def test_a_cancelled_departure_is_not_opened_and_crews_are_offered_again(db, terminal):
    from tests.integration.store.tiny_province import D_0900_CANCELLED

    clock = Clock(NOW + timedelta(minutes=155))  # 08:35
    gate = make_gate(db, terminal, clock)
    assert refusal_code(gate.open_check, D_0900_CANCELLED, vehicle="浙A1", driver="王") == "GATE_CANCELLED"
    clock.at = AT_GATE
    gate.open_check(D_0800, vehicle="浙A12345", driver="王师傅")
    assert gate.recent_crews() == [("浙A12345", "王师傅")]

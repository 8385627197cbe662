"""The station supervisor's departure actions at the terminal: cancel (停班), delay (晚点) and an extra
bus (加班), each approved by a supervisor's password, written as one outbox event, and refused when it
cannot stand."""

from __future__ import annotations

from datetime import date, timedelta

from app.services import PassengerIn, PaymentIn, refund, sell
from app.services.aftersale import quote_refund
from app.services.counter import Counter
from app.services.gate import Gate
from app.services.supervisor import (
    Supervisor,
    add_extra_departure,
    cancel_departure,
    delay_departure,
    export_csv,
)
from app.services.tasks import list_tasks
from tests.integration.services.conftest import CLERK, CLERK_PW, SUPERVISOR, SUPERVISOR_PW
from tests.integration.services.helpers import LATER, audit_actions, events, refusal_code, rows, ticket_status
from tests.integration.store.tiny_province import (
    D_0610_DEPARTED,
    D_0800,
    D_0900_CANCELLED,
    ID_B,
    NINGBO,
    NOW,
)

APPROVAL = {"supervisor": SUPERVISOR, "password": SUPERVISOR_PW}


def test_a_cancelled_departure_is_not_sold_and_its_tickets_become_fee_free_refund_tasks(db, db_path, terminal, sale):
    ticket = sale.ticket_ids[0]
    result = cancel_departure(db, terminal, **APPROVAL, departure_id=D_0800, reason="车辆故障", now=LATER)
    assert result.tasks == 1
    [event] = events(db_path, "departure.cancelled")
    assert event["payload"]["departure_id"] == D_0800
    assert event["payload"]["reason"] == "车辆故障"
    assert event["payload"]["approved_by"] == SUPERVISOR
    assert "departure_cancelled" in audit_actions(db_path)
    # The counter sells it no more, and says why.
    assert refusal_code(sell, db, terminal, clerk=CLERK, departure_id=D_0800, stop=NINGBO,
                        passengers=[PassengerIn("full", "李四", doc_number=ID_B)], payment=PaymentIn("cash", 10000),
                        now=LATER) == "CANCELLED"
    # The clerk sees a refund task for the ticket; an ordinary refund (with its tier's fee) is not offered.
    [task] = list_tasks(db)
    assert (task.kind, task.conflict, task.ticket_id, task.actions) == ("refund", "DEPARTURE_CANCELLED", ticket,
                                                                        ("refund",))
    assert refusal_code(refund, db, terminal, clerk=CLERK, ticket_id=ticket, now=LATER) == "TASK_OPEN"
    quote = quote_refund(db, terminal, ticket_id=ticket, task_id=task.id, now=LATER)
    assert (quote.fee, quote.total, quote.tier) == (0, sale.total, "停班退票")
    done = refund(db, terminal, clerk=CLERK, ticket_id=ticket, task_id=task.id, now=LATER)
    assert (done.fee, done.total) == (0, sale.total)
    assert ticket_status(db_path, ticket) == "refunded"
    assert list_tasks(db) == []


def test_a_cancellation_refuses_a_departed_or_cancelled_bus_a_missing_reason_and_a_wrong_password(db, db_path,
                                                                                                  terminal):
    assert refusal_code(cancel_departure, db, terminal, **APPROVAL, departure_id=D_0610_DEPARTED, reason="x",
                        now=LATER) == "DEPARTED"
    # The clock past the time is as good as the status.
    assert refusal_code(cancel_departure, db, terminal, **APPROVAL, departure_id=D_0800, reason="x",
                        now=NOW + timedelta(hours=3)) == "DEPARTED"
    assert refusal_code(cancel_departure, db, terminal, **APPROVAL, departure_id=D_0900_CANCELLED, reason="x",
                        now=LATER) == "ALREADY_CANCELLED"
    assert refusal_code(cancel_departure, db, terminal, **APPROVAL, departure_id=D_0800, reason="  ",
                        now=LATER) == "REASON_REQUIRED"
    assert refusal_code(cancel_departure, db, terminal, supervisor=SUPERVISOR, password="wrong",
                        departure_id=D_0800, reason="x", now=LATER) == "BAD_APPROVAL"
    # A clerk's own password does not make a supervisor.
    assert refusal_code(cancel_departure, db, terminal, supervisor=CLERK, password=CLERK_PW,
                        departure_id=D_0800, reason="x", now=LATER) == "NOT_AUTHORISED"
    assert refusal_code(cancel_departure, db, terminal, **APPROVAL, departure_id="nope", reason="x",
                        now=LATER) == "UNKNOWN_DEPARTURE"
    assert events(db_path, "departure.cancelled") == []


def test_a_delay_moves_the_departure_on_every_list_and_the_ticket_keeps_its_seat(db, db_path, terminal, sale):
    ticket = sale.ticket_ids[0]
    seat = rows(db_path, "SELECT seat_no FROM tickets WHERE id = ?", ticket)[0][0]
    result = delay_departure(db, terminal, **APPROVAL, departure_id=D_0800, date="2026-12-01", time="09:30",
                             reason="大雾", now=LATER)
    assert (result.date, result.time) == ("2026-12-01", "09:30")
    [event] = events(db_path, "departure.delayed")
    assert event["payload"]["new_departs_at"] == "2026-12-01T01:30:00.000000Z"
    assert event["payload"]["previous_departs_at"] == "2026-12-01T00:00:00.000000Z"
    assert rows(db_path, "SELECT time, status FROM departures WHERE id = ?", D_0800) == [("09:30", "delayed")]
    assert rows(db_path, "SELECT status, seat_no FROM tickets WHERE id = ?", ticket) == [("active", seat)]
    # The counter's departure list shows the new time and 晚点, the gate's board the new time and
    # the check opening before it.
    counter = Counter(db, terminal, clock=lambda: LATER)
    row = next(d for d in counter.departures(NINGBO, date(2026, 12, 1)) if d.id == D_0800)
    assert (row.time, row.status) == ("09:30", "delayed")
    board = next(d for d in Gate(db, terminal, clock=lambda: LATER).departures(date(2026, 12, 1)) if d.id == D_0800)
    assert board.departs_at == result.departs_at
    assert board.opens_at < board.departs_at and board.opens_at > result.previous


def test_a_delay_into_the_past_or_to_an_earlier_time_is_refused(db, terminal):
    assert refusal_code(delay_departure, db, terminal, **APPROVAL, departure_id=D_0800, date="2026-12-01",
                        time="05:00", reason="x", now=LATER) == "TIME_PASSED"
    assert refusal_code(delay_departure, db, terminal, **APPROVAL, departure_id=D_0800, date="2026-12-01",
                        time="07:30", reason="x", now=LATER) == "NOT_LATER"
    assert refusal_code(delay_departure, db, terminal, **APPROVAL, departure_id=D_0800, date="2026-12-01",
                        time="9:30", reason="x", now=LATER) == "BAD_TIME"
    assert refusal_code(delay_departure, db, terminal, **APPROVAL, departure_id=D_0610_DEPARTED,
                        date="2026-12-01", time="10:00", reason="x", now=LATER) == "DEPARTED"


def test_an_extra_bus_sells_at_once_from_seats_leased_to_this_terminal_even_offline(db, db_path, terminal, shift):
    result = add_extra_departure(db, terminal, **APPROVAL, like_departure_id=D_0800, date="2026-12-01",
                                 time="08:30", seats=20, reason="客流大", now=LATER)
    [event] = events(db_path, "departure.added")
    p = event["payload"]
    assert (p["departure_id"], p["route"], p["seats"], p["departs_at"], p["extra"]) == (
        result.departure_id, "R1", 20, "2026-12-01T00:30:00.000000Z", True)
    assert rows(db_path, "SELECT state, COUNT(*) FROM seats WHERE departure_id = ? GROUP BY state",
                result.departure_id) == [("leased", 20)]
    terminal.go_offline(LATER)
    sale = sell(db, terminal, clerk=CLERK, departure_id=result.departure_id, stop=NINGBO,
                passengers=[PassengerIn("full", "李四", doc_number=ID_B)], payment=PaymentIn("cash", 10000),
                now=LATER + timedelta(minutes=1))
    assert ticket_status(db_path, sale.ticket_ids[0]) == "active"
    counter = Counter(db, terminal, clock=lambda: LATER)
    row = next(d for d in counter.departures(NINGBO, date(2026, 12, 1)) if d.id == result.departure_id)
    assert (row.time, row.seats_left) == ("08:30", 19)


def test_an_extra_bus_with_bad_seats_or_in_the_past_is_refused(db, db_path, terminal):
    for seats in (0, -1, 100, "20", True):
        assert refusal_code(add_extra_departure, db, terminal, **APPROVAL, like_departure_id=D_0800,
                            date="2026-12-01", time="08:30", seats=seats, reason="x", now=LATER) == "BAD_SEATS"
    assert refusal_code(add_extra_departure, db, terminal, **APPROVAL, like_departure_id=D_0800,
                        date="2026-12-01", time="05:30", seats=20, reason="x", now=LATER) == "TIME_PASSED"
    assert refusal_code(add_extra_departure, db, terminal, **APPROVAL, like_departure_id="nope",
                        date="2026-12-01", time="08:30", seats=20, reason="x", now=LATER) == "UNKNOWN_DEPARTURE"
    assert events(db_path, "departure.added") == []


def test_the_days_figures_offline_are_this_terminals_and_export_as_csv(db, terminal, sale, tmp_path):
    refund(db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], now=LATER)

    def unreachable(day_text):
        raise OSError("connection refused")

    boss = Supervisor(db, terminal, code=SUPERVISOR, clock=lambda: LATER, fetch_day=unreachable)
    day = boss.day()
    assert (day["source"], day["date"], day["offline_reason"]) == ("terminal", "2026-12-01", "connection refused")
    assert Supervisor(db, terminal, code=SUPERVISOR, clock=lambda: LATER).day()["offline_reason"] == "未配置省平台"
    assert day["channels"]["window"] == {"tickets": 1, "amount": 9800}
    fee = day["refunds"]["fees"]
    assert day["refunds"] == {"count": 1, "amount": 9800 - fee, "fees": fee} and fee > 0
    assert day["net"] == fee
    row = next(d for d in day["departures"] if d["departure_id"] == D_0800)
    assert (row["time"], row["sold"], row["checked"]) == ("08:00", 0, 0)
    text = export_csv(day, tmp_path / "day.csv").read_text(encoding="utf-8-sig")
    assert "本机 330102001-T01（仅本机所知）" in text
    assert "窗口售票,1,98.00," in text
    assert f"退票,1,{(9800 - fee) / 100:.2f},{fee / 100:.2f}" in text
    assert f"{D_0800},08:00," in text

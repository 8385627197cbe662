"""The settlement reads only the shift's own rows: the same figures as when it parsed every event of
the outbox, and neither the figures nor the work done change when a long history lies beside it."""

from __future__ import annotations

import shutil
from datetime import timedelta

from app.services import (
    PassengerIn,
    PaymentIn,
    change,
    close_shift,
    open_shift,
    pickup,
    preview_settlement,
    refund,
    reprint,
    sell,
    spoil_blank,
    void,
)
from app.services.context import cursor, emit, open_shift_of
from app.services.shifts import compute_settlement
from app.store import outbox
from app.store.engine import open_database
from tests.integration.services.conftest import CLERK, CLERK2, SUPERVISOR, SUPERVISOR_PW
from tests.integration.services.test_services_tickets import ONLINE_ID, _online_ticket
from tests.integration.store.tiny_province import (
    D_0800,
    D_1000_SMALL,
    D_1400,
    NINGBO,
    NOW,
    SHAOXING,
    resident_id,
)

LATER = NOW + timedelta(minutes=1)


def _whole_outbox_fee_totals(cur, shift_id, event_types):
    """The fees as the settlement read them before the outbox had a shift column: the payload of
    every event the terminal ever wrote, parsed."""
    totals = {}
    for event_type in event_types:
        cur.execute(
            "SELECT coalesce(sum(json_extract(payload, '$.fee')), 0) FROM outbox "
            "WHERE type = ? AND json_extract(payload, '$.shift_id') = ?",
            (event_type, shift_id),
        )
        totals[event_type] = cur.fetchone()[0]
    return totals


def _every_operation(db, terminal, path, *, first_stock_no="00100001", serial=100):
    """One shift with every counter operation: a sale of each ticket type (cash, e-pay, insurance, a
    carried free child), a refund with its fee, a forced refund, a change, a void, a reprint, a
    pickup of an online ticket and a jammed blank."""
    ids = [resident_id(serial=f"{serial + i:03d}") for i in range(6)]
    open_shift(db, terminal, clerk=CLERK, first_stock_no=first_stock_no, now=NOW)
    family = sell(db, terminal, clerk=CLERK, departure_id=D_1400, stop=NINGBO, insurance=True,
                  passengers=[PassengerIn("full", "甲", doc_number=ids[0]),
                              PassengerIn("child", "乙", doc_number=resident_id(birth="20180601", serial=f"{serial}")),
                              PassengerIn("free_child", "")],
                  payment=PaymentIn("cash", tendered=30000), now=LATER)
    student = sell(db, terminal, clerk=CLERK, departure_id=D_0800, stop=SHAOXING,
                   passengers=[PassengerIn("student", "丙", doc_number=ids[1])],
                   payment=PaymentIn("epay", reference="WX1"), now=LATER)
    small = sell(db, terminal, clerk=CLERK, departure_id=D_1000_SMALL, stop=NINGBO,
                 passengers=[PassengerIn("full", "丁", doc_number=ids[2])], payment=PaymentIn("cash"), now=LATER)
    spare = sell(db, terminal, clerk=CLERK, departure_id=D_0800, stop=NINGBO,
                 passengers=[PassengerIn("full", "戊", doc_number=ids[3])], payment=PaymentIn("cash"), now=LATER)
    refund(db, terminal, clerk=CLERK, ticket_id=family.ticket_ids[1], now=LATER)  # the child, with a fee
    refund(db, terminal, clerk=CLERK, ticket_id=small.ticket_ids[0], now=LATER, forced=True,
           supervisor=SUPERVISOR, supervisor_password=SUPERVISOR_PW)
    changed = change(db, terminal, clerk=CLERK, ticket_id=student.ticket_ids[0], new_departure_id=D_1400,
                     payment=PaymentIn("epay", reference="WX2"), now=LATER)
    void(db, terminal, clerk=CLERK, ticket_id=spare.ticket_ids[0], now=LATER)
    reprint(db, terminal, clerk=CLERK, ticket_id=changed.new_ticket_id, now=LATER)
    _online_ticket(path, ticket_id=ONLINE_ID[:-3] + f"{serial:03d}", doc=ids[4], seat=20 + serial // 10 % 20)
    pickup(db, terminal, clerk=CLERK, ticket_id=ONLINE_ID[:-3] + f"{serial:03d}", now=LATER)
    spoil_blank(db, terminal, clerk=CLERK, now=LATER)


def test_the_settlement_is_the_one_the_whole_outbox_gave(db, db_path, terminal, monkeypatch):
    _every_operation(db, terminal, db_path)
    new = preview_settlement(db, terminal, clerk=CLERK)
    with monkeypatch.context() as patch:
        patch.setattr(outbox, "fee_totals", _whole_outbox_fee_totals)
        old = preview_settlement(db, terminal, clerk=CLERK)
    assert new == old
    # Every section has something in it, or the comparison would prove little.
    assert new["refund_fees"] > 0 and new["changed"]["fees"] == 200
    assert new["refunded"]["count"] == 2 and new["voided"]["count"] == 1 and new["changed"]["count"] == 1
    assert set(new["sold"]["by_type"]) == {"full", "child", "free_child", "student"}
    assert set(new["sold"]["by_method"]) == {"cash", "epay"}
    assert new["stock"]["spoiled_count"] == 3  # the void, the reprint, the jam
    assert new["stock"]["issued_count"] == 10  # six sold, the change, the reprint, the pickup, the jam

    closed = close_shift(db, terminal, clerk=CLERK, now=LATER + timedelta(hours=8), cash_counted=0).report
    assert {k: v for k, v in closed.items() if k not in ("closed_at", "cash_counted", "difference")} == \
           {k: v for k, v in old.items() if k != "closed_at"}


def _vm_steps(db, terminal, clerk) -> tuple[dict, int]:
    """The settlement preview's reads, and the number of SQLite virtual-machine steps they took:
    a count of the work done that does not depend on how fast the machine is."""
    steps = 0

    def count():
        nonlocal steps
        steps += 1
        return 0

    with db.read() as session:
        cur = cursor(session)
        cur.connection.set_progress_handler(count, 1)
        try:
            report = compute_settlement(cur, open_shift_of(cur, terminal, clerk).id)
        finally:
            cur.connection.set_progress_handler(None, 1)
    return report, steps


def _history(db, terminal, path, shifts=2, events=500):
    """Closed shifts of real operations, another clerk's open shift with a refund of its own, and
    thousands of fee-bearing events of older shifts written through the store."""
    for k in range(shifts):
        _every_operation(db, terminal, path, first_stock_no=f"{200001 + 100 * k:08d}", serial=200 + 10 * k)
        close_shift(db, terminal, clerk=CLERK, now=LATER + timedelta(hours=1), cash_counted=0)
    open_shift(db, terminal, clerk=CLERK2, first_stock_no="00900001", now=NOW)
    other = sell(db, terminal, clerk=CLERK2, departure_id=D_1400, stop=NINGBO,
                 passengers=[PassengerIn("full", "己", doc_number=resident_id(serial="900"))], now=LATER)
    refund(db, terminal, clerk=CLERK2, ticket_id=other.ticket_ids[0], now=LATER)
    with db.transaction() as session:
        cur = cursor(session)
        for s in range(50):
            for e in range(events // 50):
                type_ = ("ticket.refunded", "ticket.changed")[e % 2]
                emit(cur, terminal, type_, {"fee": 500, "shift_id": f"{terminal.terminal_id}-S9{s:05d}"}, NOW)


def test_a_long_history_does_not_enter_the_settlement(template_db, tmp_path, terminal, monkeypatch):
    fresh_path, aged_path = tmp_path / "fresh.sqlite3", tmp_path / "aged.sqlite3"
    shutil.copyfile(template_db, fresh_path)
    shutil.copyfile(template_db, aged_path)
    fresh, aged = open_database(fresh_path), open_database(aged_path)
    history = 5000
    try:
        _history(aged, terminal, aged_path, events=history)
        for db, path in ((fresh, fresh_path), (aged, aged_path)):
            _every_operation(db, terminal, path)
        fresh_report, fresh_steps = _vm_steps(fresh, terminal, CLERK)
        aged_report, aged_steps = _vm_steps(aged, terminal, CLERK)
        with monkeypatch.context() as patch:
            patch.setattr(outbox, "fee_totals", _whole_outbox_fee_totals)
            _report, whole_outbox_steps = _vm_steps(aged, terminal, CLERK)
    finally:
        fresh.dispose()
        aged.dispose()

    def comparable(report):
        spoiled = [{**s, "ticket_id": None} for s in report["stock"]["spoiled"]]  # ticket ids run on
        return {**report, "shift_id": None, "stock": {**report["stock"], "spoiled": spoiled}}

    assert comparable(aged_report) == comparable(fresh_report)
    assert aged_report["shift_id"] != fresh_report["shift_id"]
    # The same work on both files: each of the settlement's dozen index lookups may step onto one
    # entry of another shift before it stops, and that is all the history costs it. Reading every
    # payload, as the settlement once did, costs steps for every event of the history.
    assert aged_steps <= fresh_steps + 12
    assert whole_outbox_steps > fresh_steps + history


def test_the_fee_query_searches_the_shift_index(db):
    with db.read() as session:
        cur = cursor(session)
        plan = []
        cur.connection.set_trace_callback(plan.append)
        try:
            outbox.fee_totals(cur, "T-S000001", ("ticket.refunded", "ticket.changed"))
        finally:
            cur.connection.set_trace_callback(None)
        [sql] = [s for s in plan if s.lstrip().upper().startswith("SELECT")]
        cur.execute("EXPLAIN QUERY PLAN " + sql)
        detail = " ".join(row[-1] for row in cur.fetchall())
    assert "ix_outbox_shift_id" in detail and "SCAN outbox" not in detail

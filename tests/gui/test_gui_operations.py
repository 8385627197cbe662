"""Refund, change, void, reprint, pickup and shift close, each driven by keyboard from its F-key,
with the outcome checked in the database through the services."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from app.domain.refund import quote_refund
from app.services import sales, shifts
from app.services.context import cursor, load_rules
from app.store.models import parse_utc
from app.ui.dialogs import ShiftCloseDialog, TicketDialog
from app.ui.sale_view import Slot
from tests.gui.conftest import (
    CLERK,
    SUPERVISOR,
    SUPERVISOR_PASSWORD,
    destination_with_departures,
    has_focus,
    sign_in,
    valid_id,
)

pytestmark = pytest.mark.gui


def sell_one(backend, serial: int, type_code: str = "full", departure_index: int = 0):
    """A sale through the service (the sale view's own path is tested in test_gui_sale)."""
    station, _ = destination_with_departures(backend)
    departure = [d for d in backend.departures(station, backend.today()) if d.sellable][departure_index]
    slot = Slot(type_code, True, name=f"旅客{serial}", doc_type="resident_id", doc_number=valid_id(serial))
    outcome = backend.sell(departure=departure, destination=station, slots=[slot], seats=None, method="cash",
                           tendered=None, reference=None)
    return outcome.print_jobs[0], departure, station


def ticket(backend, ticket_id):
    [view] = sales.find_tickets(backend.db, backend.terminal, ticket_id=ticket_id)
    return view


def events(backend, type_):
    with backend.db.read() as session:
        cur = cursor(session)
        cur.execute("SELECT payload FROM outbox WHERE type = ? ORDER BY seq", (type_,))
        return [json.loads(r[0]) for r in cur.fetchall()]


def open_dialog(window, keys, key, search: str | None = None) -> TicketDialog:
    """Open the ticket dialog ``key`` opens and, given ``search``, look it up (typed, Enter)."""
    keys.press(key)
    dialog = window.dialog
    assert isinstance(dialog, TicketDialog)
    assert has_focus(dialog.searchEdit)
    if search is not None:
        keys.type(search)
        keys.enter()
    return dialog


def test_refund_shows_the_fee_then_refunds(qtbot, window, keys, backend):
    sign_in(keys)
    job, departure, _ = sell_one(backend, 1)
    dialog = open_dialog(window, keys, Qt.Key.Key_F3, job.ticket_id)
    with backend.db.read() as session:
        cur = cursor(session)
        rules = load_rules(cur)
        cur.execute("SELECT departs_at FROM departures WHERE id = ?", (departure.id,))
        departs_at = parse_utc(cur.fetchone()[0])
    # The refund tiers worked out here, independently of the screen and the service.
    expected = quote_refund(job.price, departs_at, backend.now(), rules.refund)
    assert has_focus(dialog.confirmButton)
    assert f"￥{expected.fee / 100:.2f}" in dialog.quoteLabel.text()
    assert f"￥{expected.refund_amount / 100:.2f}" in dialog.quoteLabel.text()
    keys.enter()
    assert ticket(backend, job.ticket_id).status == "refunded"
    [event] = events(backend, "ticket.refunded")
    assert event["fee"] == expected.fee and event["refund_amount"] == expected.refund_amount
    assert "已退票" in dialog.messageLabel.text()
    assert dialog.ticketsTable.item(0, 8).text() == "已退"
    # A second refund of the same ticket is refused on screen.
    keys.type(job.ticket_id)
    keys.enter()
    assert not dialog.confirmButton.isEnabled()
    assert "已退票" in dialog.messageLabel.text() or "不能" in dialog.messageLabel.text()
    keys.press(Qt.Key.Key_Escape)
    assert window.dialog is None and has_focus(window.saleView.destinationEdit)


def test_forced_refund_needs_a_supervisor(qtbot, window, keys, backend):
    sign_in(keys)
    job, _, _ = sell_one(backend, 2)
    dialog = open_dialog(window, keys, Qt.Key.Key_F3, job.stock_no)
    assert has_focus(dialog.confirmButton)
    keys.press(Qt.Key.Key_Tab, Qt.KeyboardModifier.ShiftModifier)
    assert has_focus(dialog.forcedCheck)
    keys.press(Qt.Key.Key_Space)
    assert dialog.forcedCheck.isChecked() and dialog.supervisorBox.isVisible()
    assert "￥0.00" in dialog.quoteLabel.text()  # forced: no fee
    keys.enter()
    assert has_focus(dialog.supervisorCodeEdit)
    keys.type(SUPERVISOR)
    keys.enter()
    keys.type("wrong")
    keys.enter()
    assert "错误" in dialog.messageLabel.text()
    assert ticket(backend, job.ticket_id).status == "active"
    keys.type(SUPERVISOR_PASSWORD)
    keys.enter()
    assert ticket(backend, job.ticket_id).status == "refunded"
    [event] = events(backend, "ticket.refunded")
    assert event["forced"] is True and event["approved_by"] == SUPERVISOR and event["fee"] == 0
    assert event["refund_amount"] == job.price


def test_change_to_another_departure_shows_the_difference(qtbot, window, keys, backend):
    sign_in(keys)
    job, departure, station = sell_one(backend, 3, departure_index=-1)  # the day's last: before the cut-off
    dialog = open_dialog(window, keys, Qt.Key.Key_F4, job.ticket_id)
    assert has_focus(dialog.newDeparturesTable)
    target = dialog.new_departure()
    assert target is not None and target.id != departure.id and target.sellable
    keys.enter()
    assert has_focus(dialog.confirmButton), dialog.messageLabel.text()
    assert "差价" in dialog.quoteLabel.text()
    due = target.prices["full"] - job.price  # the demo province charges no change fee
    word = "合计收" if due >= 0 else "合计退"  # money handed back is never shown as a negative charge
    assert f"{word} ￥{abs(due) // 100}.{abs(due) % 100:02d}" in dialog.quoteLabel.text()
    keys.enter()
    assert ticket(backend, job.ticket_id).status == "changed"
    [event] = events(backend, "ticket.changed")
    new = event["new_ticket"]
    assert new["departure_id"] == target.id and event["old_ticket_id"] == job.ticket_id
    assert event["fare_difference"] == target.prices["full"] - job.price
    assert ticket(backend, new["ticket_id"]).status == "active"
    assert "已改签" in dialog.messageLabel.text()
    # The new ticket was printed.
    assert new["stock_no"].encode() in window.printer.last_job


def test_void_by_scanning_the_ticket_code(qtbot, window, keys, backend):
    sign_in(keys)
    job, _, _ = sell_one(backend, 4)
    dialog = open_dialog(window, keys, Qt.Key.Key_F5)
    keys.press(Qt.Key.Key_Tab)  # the cursor is not in the search box: only the wedge filter can help
    assert has_focus(dialog.ticketsTable)
    # A keyboard-wedge scanner types the code in a burst ending with Enter.
    qtbot.keyClicks(dialog.ticketsTable, job.ticket_code)
    qtbot.keyClick(dialog.ticketsTable, Qt.Key.Key_Return)
    assert window.dialog is dialog and dialog.isVisible()
    assert [t.ticket_id for t in dialog.tickets] == [job.ticket_id]
    assert has_focus(dialog.confirmButton)
    assert job.stock_no in dialog.quoteLabel.text()
    keys.enter()
    assert ticket(backend, job.ticket_id).status == "voided"
    with backend.db.read() as session:
        cur = cursor(session)
        cur.execute("SELECT reason FROM spoiled_stock WHERE stock_no = ?", (job.stock_no,))
        assert cur.fetchone() == ("void",)


def test_void_by_another_clerk_is_refused(qtbot, window, keys, backend):
    from tests.gui.conftest import CLERK2, CLERK2_PASSWORD

    sign_in(keys)
    job, _, _ = sell_one(backend, 5)
    keys.press(Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.stack.currentWidget() is window.loginView
    sign_in(keys, CLERK2, CLERK2_PASSWORD, stock="00200001")
    dialog = open_dialog(window, keys, Qt.Key.Key_F5, job.ticket_id)
    keys.enter()
    assert ticket(backend, job.ticket_id).status == "active"
    assert "售票员" in dialog.messageLabel.text()


def test_reprint_uses_the_next_blank(qtbot, window, keys, backend):
    sign_in(keys)
    job, _, _ = sell_one(backend, 6)
    dialog = open_dialog(window, keys, Qt.Key.Key_F6, job.stock_no)
    next_no = f"{int(job.stock_no) + 1:08d}"
    assert next_no in dialog.quoteLabel.text()
    keys.enter()
    assert ticket(backend, job.ticket_id).stock_no == next_no
    assert next_no.encode() in window.printer.last_job
    assert "已重打" in dialog.messageLabel.text()


def web_ticket(backend, serial: int):
    """A ticket sold on the website, as the sync puller stores it from the provincial feed."""
    from app.domain.identity import document_hash, mask
    from sync.client.apply import FeedApplier

    station, _ = destination_with_departures(backend)
    departure = [d for d in backend.departures(station, backend.today()) if d.sellable][1]
    number = valid_id(serial)
    ticket_id = f"{backend.terminal.station_code}999{serial:010d}"
    data = {
        "ticket_id": ticket_id, "order_id": "W" + ticket_id, "departure_id": departure.id, "seat_no": 40,
        "status": "active", "ticket_type": "full", "fare": departure.full_fare, "price": departure.prices["full"],
        "insurance": 0, "stop": station, "carried_by": None, "sold_at": "2026-11-20T10:00:00.000000Z",
        "passenger": {"name": "网购旅客", "doc_type": "resident_id", "doc_masked": mask(number),
                      "doc_hash": document_hash(backend.terminal.doc_hash_key, "resident_id", number)},
    }
    with backend.db.transaction() as session:
        applier = FeedApplier(cursor(session), backend.terminal.terminal_id, 0, zone=backend.terminal.zone,
                              now=backend.now())
        applier.apply([{"kind": "web_ticket", "key": ticket_id, "data": data}])
    return ticket_id, number


def test_pickup_of_a_ticket_bought_online_by_id_number(qtbot, window, keys, backend):
    sign_in(keys)
    ticket_id, number = web_ticket(backend, 7)
    assert ticket(backend, ticket_id).stock_no is None
    dialog = open_dialog(window, keys, Qt.Key.Key_F7, number)
    assert [t.ticket_id for t in dialog.tickets] == [ticket_id]
    assert dialog.ticketsTable.item(0, 8).text() == "待取票"
    assert has_focus(dialog.confirmButton)
    keys.enter()
    stock_no = ticket(backend, ticket_id).stock_no
    assert stock_no is not None and stock_no in dialog.messageLabel.text()
    assert stock_no.encode() in window.printer.last_job
    # Picked up once: the second time the dialog says to reprint instead.
    keys.type(number)
    keys.enter()
    assert not dialog.confirmButton.isEnabled() and "重打" in dialog.messageLabel.text()


def test_shift_close_balances_with_the_services(qtbot, window, keys, backend):
    sign_in(keys)
    sold = [sell_one(backend, 20 + i)[0] for i in range(3)]
    backend.refund(backend.find_tickets(sold[0].ticket_id)[0], forced=False, approver=None)
    expected = shifts.preview_settlement(backend.db, backend.terminal, clerk=CLERK)
    keys.press(Qt.Key.Key_F8)
    dialog = window.dialog
    assert isinstance(dialog, ShiftCloseDialog) and has_focus(dialog.countedEdit)
    assert dialog.dueLabel.text() == f"￥{expected['amount_due'] / 100:.2f}"
    table = {dialog.linesTable.item(r, 0).text(): dialog.linesTable.item(r, 1).text()
             for r in range(dialog.linesTable.rowCount())}
    assert table["售票"] == "3" and table["退票"] == "1"
    short = expected["amount_due"] - 500
    keys.type(f"{short / 100:.2f}")
    assert dialog.diffLabel.text() == "短款 ￥5.00"
    keys.enter()
    assert has_focus(dialog.confirmButton)
    keys.enter()
    assert window.dialog is None and window.stack.currentWidget() is window.loginView
    with backend.db.read() as session:
        cur = cursor(session)
        cur.execute("SELECT closed_at, cash_counted, settlement FROM shifts WHERE clerk = ?", (CLERK,))
        closed_at, counted, settlement = cur.fetchone()
    report = json.loads(settlement)
    assert closed_at is not None and counted == short
    assert report["amount_due"] == expected["amount_due"] and report["difference"] == -500
    assert report["sold"]["count"] == 3 and report["refunded"]["count"] == 1
    # The settlement slip went to the printer.
    assert "交班结算单".encode("gb18030") in window.printer.last_job


def test_a_web_ticket_not_picked_up_here_is_not_refunded_at_this_window(qtbot, window, keys, backend):
    sign_in(keys)
    job, departure, station = sell_one(backend, 7)
    web_id = "3301020019990000000001"  # an id the search field takes (the web's own are found by ID card)
    with backend.db.transaction() as session:  # what the feed stores for a web ticket: no clerk, no paper
        cur = cursor(session)
        cur.execute("INSERT INTO orders (id, channel, created_at, total) VALUES ('W20261124WEB0001', 'web', ?, ?)",
                    ("2026-11-24T00:00:00.000000Z", job.price))
        cur.execute(
            "INSERT INTO tickets (id, order_id, departure_id, seat_no, status, ticket_type, fare, price, insurance, "
            "board, stop, times_changed, sold_at) SELECT ?, 'W20261124WEB0001', departure_id, NULL, 'active', "
            "ticket_type, fare, price, 0, board, stop, 0, sold_at FROM tickets WHERE id = ?", (web_id, job.ticket_id))
        cur.execute("INSERT INTO passengers (ticket_id, name, doc_type, doc_masked, doc_hash, doc_number) "
                    "VALUES (?, '李四', 'resident_id', '330102********0011', NULL, NULL)", (web_id,))
    dialog = open_dialog(window, keys, Qt.Key.Key_F3, web_id)
    assert not dialog.confirmButton.isEnabled()
    assert "取票" in dialog.messageLabel.text()
    assert ticket(backend, web_id).status == "active"
    assert events(backend, "ticket.refunded") == []

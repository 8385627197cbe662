"""The conflict tasks dialog on the demo database: tasks recorded as the sync client records them
(``record_task``), the count in the status bar, F11 or a click on it, a reseat on the seat map and
a full conflict refund by keyboard, each closing its task with the clerk and the time."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from app.services.context import cursor
from app.services.tasks import get_task
from tests.gui.conftest import CLERK, has_focus, sign_in
from tests.gui.test_gui_operations import events, sell_one, ticket

pytestmark = pytest.mark.gui


def record(backend, job, kind: str, detail: str) -> int:
    """A conflict the server resolved, as the sync client stores it from an upload answer."""
    from sync.client.apply import record_task

    key = f"2/{job.ticket_id}"
    with backend.db.transaction() as session:
        cur = cursor(session)
        record_task(cur, key, {"seq": 2, "kind": kind, "ticket_id": job.ticket_id, "departure_id": job.departure_id,
                               "seat_no": job.seat_no, "detail": detail, "status": "open"}, backend.now())
        cur.execute("SELECT id FROM sync_tasks WHERE key = ?", (key,))
        return cur.fetchone()[0]


def cells(table, row: int) -> list[str]:
    return [table.item(row, c).text() for c in range(table.columnCount())]


def test_a_reseat_task_gets_a_new_seat_on_the_seat_map(qtbot, window, keys, backend, clock):
    sign_in(keys)
    job, departure, _ = sell_one(backend, 701)
    task_id = record(backend, job, "SEAT_TAKEN", "sold to ticket W9 by web")
    window.refresh_status()
    assert window.tasksLabel.isVisible() and window.tasksLabel.text() == "待处理冲突：1（F11 处理）"

    keys.press(Qt.Key.Key_F11)
    dialog = window.dialog
    assert dialog is not None and dialog.objectName() == "tasksDialog"
    assert has_focus(dialog.tasksTable)
    assert dialog.tasksTable.rowCount() == 1
    row = cells(dialog.tasksTable, 0)
    assert row[0] == job.ticket_id and row[1] == "旅客701"
    assert row[2] == f"{departure.date} {departure.time}" and row[3] == departure.schedule_code
    assert row[5] == str(job.seat_no)
    assert row[6] == "座位已被其他渠道售出" and row[7] == "换座（或全额退票）"
    assert "sold to ticket W9 by web" in dialog.detailLabel.text()

    keys.enter()  # the task asks for a reseat: the seat map of the same departure
    seats = dialog.seatDialog
    assert seats is not None and seats.isVisible()
    assert seats.states[job.seat_no] == "sold"  # its own conflicting seat is not offered again
    start = seats.current_seat()
    qtbot.keyClick(seats.grid, Qt.Key.Key_Right)
    qtbot.keyClick(seats.grid, Qt.Key.Key_Return)
    chosen = seats.chosen[0]
    assert chosen != start and seats.states[chosen] == "ours"
    qtbot.waitUntil(lambda: dialog.seatDialog is None, timeout=2000)
    assert dialog.quoteLabel.text() == f"换到 {chosen} 号座，不收费，重新出票（旧票收回）"
    assert has_focus(dialog.confirmButton)

    clock.advance(minutes=3)
    keys.enter()
    assert dialog.messageLabel.text() == f"已换座：{chosen} 号座，新纸票 00100002", dialog.messageLabel.text()
    assert dialog.tasksTable.rowCount() == 0 and dialog.detailLabel.text() == "没有待处理的冲突"
    assert window.last_ticket_bytes  # the new ticket went to the printer

    assert ticket(backend, job.ticket_id).status == "changed"
    [changed] = events(backend, "ticket.changed")
    new = changed["new_ticket"]
    assert (new["departure_id"], new["seat_no"], changed["fee"], changed["fare_difference"]) == (
        departure.id, chosen, 0, 0)
    done = get_task(backend.db, task_id)
    assert (done.status, done.done_by) == ("done", CLERK)
    assert done.done_at == clock.now.strftime("%Y-%m-%dT%H:%M:%S.000000Z")

    keys.press(Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.dialog is None, timeout=2000)
    window.refresh_status()
    assert not window.tasksLabel.isVisible()


def test_a_click_on_the_count_opens_a_refund_task_refunded_in_full(qtbot, window, keys, backend):
    sign_in(keys)
    job, _, _ = sell_one(backend, 702)
    task_id = record(backend, job, "UNKNOWN_DEPARTURE", "departure not known to the server")
    window.refresh_status()
    qtbot.mouseClick(window.tasksLabel, Qt.MouseButton.LeftButton)
    dialog = window.dialog
    assert dialog is not None and dialog.objectName() == "tasksDialog"
    row = cells(dialog.tasksTable, 0)
    assert row[6] == "省平台没有这个班次" and row[7] == "全额退票"
    assert not dialog.seatButton.isEnabled() and dialog.refundButton.isEnabled()
    keys.press(Qt.Key.Key_F9)  # no reseat for this one
    assert dialog.messageLabel.text() == "该任务不需要换座" and dialog.seatDialog is None

    keys.enter()
    price = ticket(backend, job.ticket_id).price
    from app.domain.money import format_price

    assert dialog.quoteLabel.text() == f"全额退款 {format_price(price)}（冲突退票，手续费 {format_price(0)}）"
    keys.enter()
    assert dialog.messageLabel.text() == f"已全额退票，退款 {format_price(price)}"
    assert ticket(backend, job.ticket_id).status == "refunded"
    [refunded] = events(backend, "ticket.refunded")
    assert (refunded["fee"], refunded["refund_amount"], refunded["forced"]) == (0, price, False)
    assert get_task(backend.db, task_id).status == "done"
    with backend.db.read() as session:
        cur = cursor(session)
        cur.execute("SELECT actor, detail FROM audit_log WHERE action = 'refund'")
        actor, detail = cur.fetchone()
    assert actor == CLERK and json.loads(detail)["task"] == task_id


def test_a_review_task_is_marked_settled_and_english_reads_right(qtbot, window, keys, backend):
    from app.ui import theme

    sign_in(keys)
    job, _, _ = sell_one(backend, 703)
    task_id = record(backend, job, "ALREADY_PICKED_UP", "picked up at another counter")
    keys.press(Qt.Key.Key_F12)
    keys.press(Qt.Key.Key_F11)
    dialog = window.dialog
    try:
        assert dialog.titleLabel.text() == "Conflict tasks (resolved by the provincial server)"
        assert cells(dialog.tasksTable, 0)[6:] == ["Already picked up elsewhere", "Check, then mark settled"]
        keys.press(Qt.Key.Key_F3)
        assert dialog.messageLabel.text() == "This task is not settled by a refund"
        keys.enter()
        assert dialog.quoteLabel.text() == "Mark settled: no refund, no reseat"
        keys.enter()
        assert dialog.messageLabel.text() == "Marked as settled"
        assert get_task(backend.db, task_id).status == "done"
        assert ticket(backend, job.ticket_id).status == "active"
    finally:
        theme.set_language("zh_CN")


def test_f3_f4_and_f5_send_a_ticket_with_an_open_task_to_f11(qtbot, window, keys, backend):
    """A fee at F3, a used-up change at F4 or a void would be the passenger's loss: the server's ruling
    owes them the fee-free settlement of F11, and each dialog says so before any money moves."""
    from tests.gui.test_gui_operations import open_dialog

    sign_in(keys)
    job, _, _ = sell_one(backend, 704, departure_index=-1)
    record(backend, job, "SEAT_TAKEN", "sold to ticket W9 by web")
    for key in (Qt.Key.Key_F3, Qt.Key.Key_F4, Qt.Key.Key_F5):
        dialog = open_dialog(window, keys, key, job.ticket_id)
        if key == Qt.Key.Key_F4:
            keys.enter()  # the first departure offered: the quote is asked for it
        assert dialog.messageLabel.text() == "这张票有待处理冲突，请按 F11 处理", key
        assert not dialog.confirmButton.isEnabled()
        keys.enter()
        keys.press(Qt.Key.Key_Escape)
        assert window.dialog is None
    assert ticket(backend, job.ticket_id).status == "active"
    assert events(backend, "ticket.refunded") == events(backend, "ticket.changed") == []
    assert events(backend, "ticket.voided") == []


def test_a_reseat_task_of_a_passenger_carrying_a_free_child_offers_only_the_refund(qtbot, window, keys, backend):
    from app.ui.sale_view import Slot
    from tests.gui.conftest import destination_with_departures, valid_id

    sign_in(keys)
    station, _ = destination_with_departures(backend)
    departure = [d for d in backend.departures(station, backend.today()) if d.sellable][0]
    slots = [Slot("full", True, name="旅客705", doc_type="resident_id", doc_number=valid_id(705)),
             Slot("free_child", False, name="旅客705子", carried_by=0)]
    outcome = backend.sell(departure=departure, destination=station, slots=slots, seats=None, method="cash",
                           tendered=None, reference=None)
    job = outcome.print_jobs[0]
    task_id = record(backend, job, "SEAT_TAKEN", "sold to ticket W9 by web")
    keys.press(Qt.Key.Key_F11)
    dialog = window.dialog
    assert not dialog.seatButton.isEnabled() and dialog.refundButton.isEnabled()
    keys.press(Qt.Key.Key_F9)
    assert dialog.messageLabel.text() == "该乘客带有免票携童，换座带不走携童：请全额退票后重新售票"
    assert dialog.seatDialog is None
    keys.enter()  # what the task offers: the full refund of the passenger and the child
    keys.enter()
    assert ticket(backend, job.ticket_id).status == "refunded"
    assert len(events(backend, "ticket.refunded")) == 2 and events(backend, "ticket.changed") == []
    assert get_task(backend.db, task_id).status == "done"


def test_f11_before_the_shift_settles_a_review_but_moves_no_money(qtbot, window, keys, backend):
    """A clerk signed in with no shift open (the roll not yet registered) may look at the tasks and
    mark a review settled; a refund or reseat asks for the shift first, as F3 and F4 do."""
    from tests.gui.conftest import CLERK2, CLERK2_PASSWORD

    sign_in(keys)
    refund_job, _, _ = sell_one(backend, 706)
    review_job, _, _ = sell_one(backend, 707)
    refund_task = record(backend, refund_job, "UNKNOWN_DEPARTURE", "departure not known to the server")
    review_task = record(backend, review_job, "ALREADY_PICKED_UP", "picked up at another counter")
    keys.press(Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    keys.type(CLERK2)
    keys.enter()
    keys.type(CLERK2_PASSWORD)
    keys.enter()
    assert window.stack.currentWidget() is window.shiftView and backend.current_shift() is None

    keys.press(Qt.Key.Key_F11)
    dialog = window.dialog
    assert dialog is not None and dialog.objectName() == "tasksDialog" and dialog.tasksTable.rowCount() == 2
    keys.enter()  # the refund task
    assert dialog.messageLabel.text() == "未开班：请先开班并登记票号"
    assert dialog.quoteLabel.text() == ""  # no refund offered
    keys.press(Qt.Key.Key_Down)
    keys.enter()  # the review task: no money, no shift needed
    keys.enter()
    assert dialog.messageLabel.text() == "已标记为处理完毕"
    done = get_task(backend.db, review_task)
    assert (done.status, done.done_by) == ("done", CLERK2)
    assert get_task(backend.db, refund_task).status == "open"
    assert ticket(backend, refund_job.ticket_id).status == "active" and events(backend, "ticket.refunded") == []
    keys.press(Qt.Key.Key_Escape)
    assert window.dialog is None and has_focus(window.shiftView.stockEdit)

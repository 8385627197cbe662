"""The gate's exceptions from the keyboard: the road bill on the network printer and its reprint
(补打, same number), voiding it and the late check with the supervisor's approval, and merging another
departure into the one being checked."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.gui.conftest import SUPERVISOR, SUPERVISOR_PASSWORD, Keyboard
from tests.gui.gate_fixtures import gate_day, gate_window, open_check, sign_in_gate

pytestmark = pytest.mark.gui


def scan(qtbot, win, code: str) -> None:
    target = win.focusWidget()
    qtbot.keyClicks(target, code)
    qtbot.keyClick(target, Qt.Key.Key_Return)
    QApplication.processEvents()


def approve(keys, dialog, reason: str) -> None:
    """The reason, then the supervisor's code and password, each with Enter."""
    dialog.inputs["reason"].setFocus()
    keys.type(reason)
    keys.enter()
    keys.type(SUPERVISOR)
    keys.enter()
    keys.type(SUPERVISOR_PASSWORD)
    keys.enter()


def test_road_bill_reprint_void_late_check_and_merge(qtbot, backend, clock, printer_sim):
    from app.ui.dialogs import PreviewDialog

    day = gate_day(backend, clock)
    win = gate_window(qtbot, backend, clock, day, printer_target=printer_sim.target)
    qtbot.waitUntil(lambda: win.printer.state == "ready", timeout=5000)
    keys = Keyboard(qtbot, win)
    sign_in_gate(keys)
    open_check(keys)
    view = win.gateMode.view
    scan(qtbot, win, day.jobs[0].ticket_code)
    keys.press(Qt.Key.Key_Escape)

    # F3 停检: the bill is committed, printed and previewed.
    keys.press(Qt.Key.Key_F3)
    keys.enter()
    qtbot.waitUntil(lambda: isinstance(win.dialog, PreviewDialog), timeout=3000)
    keys.press(Qt.Key.Key_Escape)
    number = view.current.road_bill_no
    assert number and view.current.state == "stopped"
    [job] = printer_sim.wait_for_jobs(1)
    assert "路单".encode("gb18030") in job.data and number.encode() in job.data
    qtbot.waitUntil(lambda: win.gate.unprinted_road_bills() == [], timeout=3000)

    # F8 补打: the same number, marked as a reprint.
    keys.press(Qt.Key.Key_F8)
    jobs = printer_sim.wait_for_jobs(2)
    assert "补打".encode("gb18030") in jobs[1].data and number.encode() in jobs[1].data
    assert view.messageLabel.text() == "路单已送打印机"

    # F9 作废路单, with the supervisor; the departure has no live bill any more.
    keys.press(Qt.Key.Key_F9)
    dialog = win.dialog
    assert dialog.objectName() == "gate_void_billDialog" and number in dialog.titleLabel.text()
    approve(keys, dialog, "车辆故障换车")
    assert win.dialog is None, dialog.messageLabel.text()
    assert view.current.road_bill_no is None

    # F4 补检, with the supervisor: the check reopens and a late passenger boards.
    keys.press(Qt.Key.Key_F4)
    approve(keys, win.dialog, "旅客迟到")
    assert win.dialog is None
    assert view.current.state == "late"
    scan(qtbot, win, day.jobs[1].ticket_code)
    assert view.verdictPanel.verdict.code == "BOARD"
    keys.press(Qt.Key.Key_Escape)

    # F7 并班: a later departure of this gate is merged into the one being checked.
    later = next(d for d in view.departures if d.state == "waiting" and d.departs_at > view.current.departs_at)
    target = view.current.id
    view.choose(later.id)
    keys.press(Qt.Key.Key_F7)
    dialog = win.dialog
    combo = dialog.inputs["target"]
    texts = [combo.itemText(i) for i in range(combo.count())]
    assert texts[0].endswith(f"{day.gate} 号检票口")  # this gate's first, then the station's other gates
    assert any(not t.endswith(f" {day.gate} 号检票口") for t in texts)
    combo.setCurrentIndex(combo.findData(target))
    approve(keys, dialog, "客流少并班")
    assert win.dialog is None, dialog.messageLabel.text()
    # The view goes on with the departure the merged tickets now board; the other shows merged.
    assert view.current.id == target
    assert next(d for d in view.departures if d.id == later.id).state == "merged"
    win.close()


def test_a_road_bill_the_printer_cannot_print_is_kept_and_printed_again(qtbot, backend, clock, printer_sim):
    day = gate_day(backend, clock)
    win = gate_window(qtbot, backend, clock, day, printer_target=printer_sim.target)
    qtbot.waitUntil(lambda: win.printer.state == "ready", timeout=5000)
    keys = Keyboard(qtbot, win)
    sign_in_gate(keys)
    open_check(keys)
    view = win.gateMode.view
    scan(qtbot, win, day.jobs[0].ticket_code)
    keys.press(Qt.Key.Key_Escape)
    printer_sim.set_condition("paper_out")
    win.printer.refresh()
    qtbot.waitUntil(lambda: win.printer.state == "no_paper", timeout=5000)

    keys.press(Qt.Key.Key_F3)
    keys.enter()
    number = view.current.road_bill_no
    assert number  # committed and numbered before anything was printed
    qtbot.waitUntil(lambda: "路单打印失败" in view.messageLabel.text(), timeout=5000)
    assert "F8 补打" in view.messageLabel.text()
    assert win.gate.unprinted_road_bills() == [number]
    if win.dialog is not None:
        keys.press(Qt.Key.Key_Escape)

    printer_sim.set_condition("ready")
    win.printer.refresh()
    qtbot.waitUntil(lambda: win.printer.state == "ready", timeout=5000)
    keys.press(Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: win.gate.unprinted_road_bills() == [], timeout=5000)
    printed = [j for j in printer_sim.jobs if j.printed]
    assert len(printed) == 1 and number.encode() in printed[0].data and "补打".encode("gb18030") in printed[0].data
    assert view.current.road_bill_no == number  # no number lost or reused
    win.close()


def test_a_passenger_of_another_bus_rides_this_one_with_the_supervisors_approval(qtbot, backend, clock):
    from app.services import PassengerIn, PaymentIn, sell
    from tests.gui.conftest import CLERK2, valid_id

    day = gate_day(backend, clock)
    later = next(d for d in backend.departures(day.station, backend.today())
                 if d.sellable and d.gate == day.gate and d.id != day.departure_id)
    [paper] = sell(backend.db, backend.terminal, clerk=CLERK2, departure_id=later.id, stop=day.station,
                   passengers=[PassengerIn("full", "吴改乘", doc_number=valid_id(777))], payment=PaymentIn("cash"),
                   now=clock()).print_jobs
    win = gate_window(qtbot, backend, clock, day)
    keys = Keyboard(qtbot, win)
    sign_in_gate(keys)
    open_check(keys)
    view = win.gateMode.view
    scan(qtbot, win, paper.ticket_code)
    assert view.verdictPanel.verdict.code == "WRONG_DEPARTURE"
    assert later.schedule_code in view.verdictPanel.messageLabel.text()

    keys.press(Qt.Key.Key_F6)
    dialog = win.dialog
    assert dialog.inputs["ticket"].text() == paper.ticket_id
    assert dialog.inputs["target"].currentData() == day.departure_id  # the bus being checked, first
    approve(keys, dialog, "原班次满员，乘客赶时间")
    assert win.dialog is None, dialog.messageLabel.text()
    assert view.verdictPanel.verdict.code == "BOARD" and view.verdictPanel.verdict.ticket_id == paper.ticket_id
    # The counters follow the verdict's frame (GateView.settle, on the next turn of the loop).
    qtbot.waitUntil(lambda: view.counterValues["ride_changes"].text() == "1", timeout=2000)
    assert view.counterValues["checked"].text() == "1"
    win.close()

"""The gate view driven as a gate checker drives it: signing in on a gate terminal, opening the
check with F2, scans from a keyboard-wedge scanner (a burst of keys at scanner speed), typed ticket
numbers, and the verdict covering the view as the key that ended the scan is handled."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.gui.conftest import CLERK, CLERK_PASSWORD, SUPERVISOR, SUPERVISOR_PASSWORD, Keyboard, sign_in
from tests.gui.gate_fixtures import CHECKER, CHECKER_PASSWORD, gate_day, gate_window, open_check, sign_in_gate

pytestmark = pytest.mark.gui

GREEN, RED, AMBER = "#0a7a2f", "#b00020", "#f2b400"


def pane_colour(view) -> str:
    """The colour painted in the middle of the view's left edge, as the checker sees it from afar."""
    image = view.grab().toImage()
    return image.pixelColor(6, image.height() // 2).name()


def wedge_scan(qtbot, view, code: str) -> None:
    """A wedge scanner's burst: the code's characters and Enter, back to back, into the focused field."""
    target = view.window().focusWidget()
    qtbot.keyClicks(target, code)
    qtbot.keyClick(target, Qt.Key.Key_Return)


@pytest.fixture
def day(backend, clock):
    return gate_day(backend, clock)


@pytest.fixture
def gate_win(qtbot, backend, clock, day):
    win = gate_window(qtbot, backend, clock, day)
    yield win
    win.close()


def test_a_wedge_scan_is_answered_by_a_full_pane_verdict_in_one_frame(qtbot, gate_win, day):
    keys = Keyboard(qtbot, gate_win)
    sign_in_gate(keys)
    view = gate_win.gateMode.view
    assert gate_win.stack.currentWidget() is view
    assert view.current.id == day.departure_id
    assert view.counterValues["sold"].text() == "3" and view.counterValues["checked"].text() == "0"
    open_check(keys)
    assert view.current.state == "checking" and view.current.plate == "浙A12345"

    code = day.jobs[0].ticket_code
    wedge_scan(qtbot, view, code)
    QApplication.processEvents()  # one pass of the event loop: one frame
    panel = view.verdictPanel
    assert panel.isVisible() and panel.geometry() == view.rect()
    assert panel.verdict.code == "BOARD"
    assert panel.messageLabel.text().startswith("请上车")
    assert day.jobs[0].passenger_name in panel.passengerLabel.text()
    assert pane_colour(view) == GREEN
    assert view.entryEdit.text() == ""  # the burst's characters do not stay in the field
    assert view.sounds.played[-1] == "board"
    assert view.counterValues["checked"].text() == "1" and view.counterValues["unchecked"].text() == "2"
    assert "checked" in view.seatGrid.seats.values()

    # The same paper again: refused, red, with when and where it was checked.
    wedge_scan(qtbot, view, code)
    QApplication.processEvents()
    assert panel.verdict.code == "ALREADY_CHECKED"
    assert panel.messageLabel.text().startswith("已检票")
    assert pane_colour(view) == RED
    assert view.sounds.played[-1] == "already"
    assert view.counterValues["checked"].text() == "1"
    # The last verdicts, newest first.
    assert view.recentTable.item(0, 1).text().startswith("已检票")
    assert view.recentTable.item(1, 1).text().startswith("请上车")

    # Esc returns to the board.
    keys.press(Qt.Key.Key_Escape)
    assert not panel.isVisible()


def test_typed_numbers_and_garbage_scans(qtbot, gate_win, day):
    keys = Keyboard(qtbot, gate_win)
    sign_in_gate(keys)
    open_check(keys)
    view = gate_win.gateMode.view
    # The paper's stock number typed by hand into the entry field (a person's pace: the wedge filter
    # lets the keys through as typing), and Enter.
    gate_win.wedge.detector.key_gap = 0.035
    view.entryEdit.setFocus()
    for char in day.jobs[1].stock_no:
        keys.type(char)
        qtbot.wait(60)
    assert view.entryEdit.text() == day.jobs[1].stock_no
    keys.enter()
    assert view.entryEdit.text() == ""
    gate_win.wedge.detector.key_gap = 0.25
    assert view.verdictPanel.verdict.code == "BOARD"
    QApplication.processEvents()  # the counters follow the verdict's frame
    assert view.counterValues["checked"].text() == "1"
    # A QR code from a shopping app, at scanner speed.
    wedge_scan(qtbot, view, "https://m.tb.cn/h.5Xyz?tk=ABCDEF")
    QApplication.processEvents()
    assert view.verdictPanel.verdict.code in ("FORGED", "UNREADABLE", "NOT_FOUND")
    assert pane_colour(view) in (RED, AMBER)
    # A code of this station whose signature was altered.
    code = day.jobs[2].ticket_code
    forged = code[:-3] + ("AAA" if not code.endswith("AAA") else "BBB")
    wedge_scan(qtbot, view, forged)
    QApplication.processEvents()
    assert view.verdictPanel.verdict.code == "FORGED"
    assert pane_colour(view) == RED and view.sounds.played[-1] == "forged"
    assert view.counterValues["checked"].text() == "1"


def test_a_scan_before_the_check_opens_is_amber(qtbot, gate_win, day, clock):
    clock.advance(minutes=-30)  # before the opening
    keys = Keyboard(qtbot, gate_win)
    sign_in_gate(keys)
    view = gate_win.gateMode.view
    view.choose(day.departure_id)
    assert view.nextLabel.text().startswith("下一班开检")
    wedge_scan(qtbot, view, day.jobs[0].ticket_code)
    QApplication.processEvents()
    assert view.verdictPanel.verdict.code == "NOT_OPEN"
    assert pane_colour(view) == AMBER
    assert view.sounds.played[-1] == "warn"


def test_stop_makes_the_road_bill_and_undo_needs_the_supervisor(qtbot, gate_win, day):
    from app.ui.dialogs import PreviewDialog

    keys = Keyboard(qtbot, gate_win)
    sign_in_gate(keys)
    open_check(keys)
    view = gate_win.gateMode.view
    for job in day.jobs[:2]:
        wedge_scan(qtbot, view, job.ticket_code)
    QApplication.processEvents()  # the counters follow the verdict's frame
    assert view.counterValues["checked"].text() == "2"

    # F5: undo the last check; the ticket is the last verdict's, the supervisor signs it off.
    keys.press(Qt.Key.Key_F5)
    dialog = gate_win.dialog
    assert dialog.inputs["ticket"].text() == day.jobs[1].ticket_id
    keys.enter()  # past the ticket
    keys.type("乘客改坐下一班")
    keys.enter()
    keys.type(SUPERVISOR)
    keys.enter()
    keys.type("wrong")
    keys.enter()
    assert gate_win.dialog is dialog and dialog.messageLabel.text()  # refused, the dialog stays
    dialog.supervisorPasswordEdit.setFocus()
    keys.type(SUPERVISOR_PASSWORD)
    keys.enter()
    assert gate_win.dialog is None
    assert view.counterValues["checked"].text() == "1"

    # F3: stop; the bill is made, sent to the printer (none here: the preview) and shown.
    keys.press(Qt.Key.Key_F3)
    keys.enter()
    qtbot.waitUntil(lambda: isinstance(gate_win.dialog, PreviewDialog), timeout=3000)
    assert not gate_win.dialog.pixmap.isNull()
    assert view.current.state == "stopped" and view.current.road_bill_no
    assert gate_win.gate.unprinted_road_bills() == []  # the (preview-only) printer took it
    keys.press(Qt.Key.Key_Escape)
    # A scan after the stop is refused.
    wedge_scan(qtbot, view, day.jobs[2].ticket_code)
    QApplication.processEvents()
    assert view.verdictPanel.verdict.code == "CLOSED"


def test_roles_route_the_sign_in(qtbot, backend, clock, day):
    # A "both" terminal: the clerk sells, the gate checker checks, on the same window.
    win = gate_window(qtbot, backend, clock, day)
    keys = Keyboard(qtbot, win)
    sign_in(keys, CLERK, CLERK_PASSWORD)
    assert win.selling() and not win.checking()
    assert win.fkeyButtons["refund"].isVisible()
    keys.press(Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    sign_in_gate(keys)
    assert not win.fkeyButtons["refund"].isVisible() and win.gateMode.buttons["gate_open"].isVisible()
    assert win.clerkLabel.text().startswith("检票员 2001")
    keys.press(Qt.Key.Key_F3)  # the gate's F3 (stop), not the counter's refund
    assert win.dialog is not None and win.dialog.objectName() == "gate_stopDialog"
    keys.press(Qt.Key.Key_Escape)
    keys.press(Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert win.stack.currentWidget() is win.loginView and win.fkeyButtons["refund"].isVisible()
    win.close()

    # A ticket window only: the gate checker is refused, clearly.
    win = gate_window(qtbot, backend, clock, day, role="window")
    keys = Keyboard(qtbot, win)
    keys.type(CHECKER)
    keys.enter()
    keys.type(CHECKER_PASSWORD)
    keys.enter()
    assert win.stack.currentWidget() is win.loginView
    assert win.loginView.messageLabel.text() == "该账号不能在售票窗口登录"
    win.close()

    # A gate only: the clerk is refused.
    win = gate_window(qtbot, backend, clock, day, role="gate")
    keys = Keyboard(qtbot, win)
    keys.type(CLERK)
    keys.enter()
    keys.type(CLERK_PASSWORD)
    keys.enter()
    assert win.loginView.messageLabel.text() == "该账号不能在检票口登录"
    win.close()


def test_a_window_and_gate_terminal_checks_a_password_once(qtbot, backend, clock, day):
    """On a terminal that is window and gate, a gate checker's sign-in is one password check: one
    'login' line in the audit log, as at a gate-only terminal, not the counter's and the gate's."""
    from app.services.context import cursor

    def sign_ins(code: str) -> list[str]:
        with backend.db.read() as session:
            cur = cursor(session)
            cur.execute("SELECT action FROM audit_log WHERE actor = ? AND action LIKE 'login%' ORDER BY id", (code,))
            return [row[0] for row in cur.fetchall()]

    win = gate_window(qtbot, backend, clock, day)
    keys = Keyboard(qtbot, win)
    sign_in_gate(keys)
    assert sign_ins(CHECKER) == ["login"]
    keys.press(Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    sign_in(keys, CLERK, CLERK_PASSWORD)
    assert win.selling() and sign_ins(CLERK) == ["login"]
    win.close()


def test_a_concession_is_announced_in_big_type_with_its_own_tone(qtbot, gate_win, day, backend, clock):
    from app.services import PassengerIn, PaymentIn, sell
    from tests.gui.conftest import CLERK2, valid_id

    [student] = sell(backend.db, backend.terminal, clerk=CLERK2, departure_id=day.departure_id, stop=day.station,
                     passengers=[PassengerIn("student", "郑学生", doc_number=valid_id(801))],
                     payment=PaymentIn("cash"), now=clock()).print_jobs
    keys = Keyboard(qtbot, gate_win)
    sign_in_gate(keys)
    open_check(keys)
    view = gate_win.gateMode.view
    wedge_scan(qtbot, view, student.ticket_code)
    QApplication.processEvents()
    panel = view.verdictPanel
    assert panel.verdict.code == "BOARD" and pane_colour(view) == GREEN
    assert panel.typeLabel.isVisible() and panel.typeLabel.text() == "学生票 — 请出示学生证"
    assert panel.typeLabel.fontInfo().pixelSize() >= view.height() // 12
    assert view.sounds.played[-1] == "board_student"
    # A full fare is not announced.
    wedge_scan(qtbot, view, day.jobs[0].ticket_code)
    QApplication.processEvents()
    assert panel.verdict.code == "BOARD" and not panel.typeLabel.isVisible()
    assert view.sounds.played[-1] == "board"

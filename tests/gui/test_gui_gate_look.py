"""How the gate view looks at the two gate screens (1366×768 and 1024×768): the board, a refusal and
a boarding verdict, saved as screenshots (``KEZHAN_GATE_SCREENS=DIR`` keeps them), and what a checker
must be able to read from a step away."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QApplication

from tests.gui.conftest import Keyboard
from tests.gui.gate_fixtures import gate_day, gate_window, open_check, sign_in_gate
from tests.gui.test_gui_look import unnamed_interactive

pytestmark = pytest.mark.gui


def inside(widget, window) -> bool:
    top_left = widget.mapTo(window, QPoint(0, 0))
    return window.rect().contains(QRect(top_left, widget.size()))


@pytest.mark.parametrize("size", [(1366, 768), (1024, 768)])
def test_gate_screens(qtbot, backend, clock, tmp_path, size):
    day = gate_day(backend, clock)
    win = gate_window(qtbot, backend, clock, day)
    win.resize(*size)
    keys = Keyboard(qtbot, win)
    sign_in_gate(keys)
    open_check(keys)
    view = win.gateMode.view
    QApplication.processEvents()
    out = Path(os.environ.get("KEZHAN_GATE_SCREENS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    w, h = size

    # The board: every part on screen, the counters' digits large.
    for widget in (view.departuresTable, view.seatGrid, view.entryEdit, view.recentTable,
                   *view.counterValues.values(), win.gateMode.buttons["gate_open"]):
        assert widget.isVisible() and inside(widget, win), widget.objectName()
    assert view.counterValues["seats"].fontInfo().pixelSize() >= 30
    assert unnamed_interactive(win) == []
    assert view.seatGrid.height() >= 120
    assert win.grab().save(str(out / f"gate-board-{w}x{h}.png"))

    target = win.focusWidget()
    qtbot.keyClicks(target, day.jobs[0].ticket_code)
    qtbot.keyClick(target, Qt.Key.Key_Return)
    QApplication.processEvents()
    panel = view.verdictPanel
    assert panel.verdict.code == "BOARD"
    # Readable from the gate: the verdict line at least a tenth of the pane's height.
    assert panel.messageLabel.fontInfo().pixelSize() >= view.height() // 10
    assert panel.messageLabel.sizeHint().width() <= panel.width()
    assert win.grab().save(str(out / f"gate-full-{w}x{h}.png"))

    qtbot.keyClicks(target, day.jobs[0].ticket_code)
    qtbot.keyClick(target, Qt.Key.Key_Return)
    QApplication.processEvents()
    assert panel.verdict.code == "ALREADY_CHECKED"
    assert win.grab().save(str(out / f"gate-refused-{w}x{h}.png"))
    keys.press(Qt.Key.Key_Escape)

    # Every gate dialog: named, fitting the window.
    for key in (Qt.Key.Key_F2, Qt.Key.Key_F4, Qt.Key.Key_F5, Qt.Key.Key_F6, Qt.Key.Key_F7, Qt.Key.Key_F9):
        keys.press(key)
        dialog = win.dialog
        assert dialog is not None and dialog.objectName().startswith("gate_"), key
        assert unnamed_interactive(dialog) == [], dialog.objectName()
        assert dialog.width() <= w and dialog.height() <= h
        keys.press(Qt.Key.Key_Escape)
        assert win.dialog is None
    win.close()

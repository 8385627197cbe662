"""The demo station at the gate: the gate checker 2001 signs in on the demo's terminal (a window and
gate 1 both), Ctrl+Shift+F10 scans the next passenger's ticket and Ctrl+Shift+F11 taps the next
passenger's ID card on the simulated reader, each answered by a verdict."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.gui.conftest import Keyboard
from tests.gui.gate_fixtures import gate_day, gate_window, open_check, sign_in_gate

pytestmark = pytest.mark.gui

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


class Station:
    """The parts of app.demo.DemoStation the demo's gate keys use, on the test's database."""

    def __init__(self, db, terminal) -> None:
        self.db, self.terminal = db, terminal
        self.gate_taps: dict = {}

    from app.demo import DemoStation

    next_gate_card = DemoStation.next_gate_card
    del DemoStation


def test_the_demo_keys_scan_and_tap_the_next_passenger(qtbot, backend, clock, tmp_path):
    from app.demo import DemoCards
    from app.ui.app import bind_demo_card, bind_demo_scan
    from drivers.idcard.simulator import ReaderSimulator

    day = gate_day(backend, clock)
    sim = ReaderSimulator(None, rearm=True)
    port = sim.start()
    try:
        win = gate_window(qtbot, backend, clock, day, reader_port=port, reader_baud=115200)
        station = Station(backend.db, backend.terminal)
        bind_demo_card(win, DemoCards(sim, tmp_path / "next-card"), station)
        bind_demo_scan(win)
        qtbot.waitUntil(lambda: win.reader.state == "ready", timeout=5000)
        keys = Keyboard(qtbot, win)
        sign_in_gate(keys)
        open_check(keys)
        view = win.gateMode.view

        qtbot.keyClick(win.focusWidget(), Qt.Key.Key_F10, CTRL_SHIFT)
        assert view.verdictPanel.verdict.code == "BOARD"
        assert view.verdictPanel.verdict.ticket_id == day.jobs[0].ticket_id

        # The next passenger taps the ID card: the second ticket's holder, matched to it.
        qtbot.keyClick(win.focusWidget(), Qt.Key.Key_F11, CTRL_SHIFT)
        qtbot.waitUntil(lambda: view.verdictPanel.verdict.ticket_id == day.jobs[1].ticket_id, timeout=5000)
        assert view.verdictPanel.verdict.code == "CARD_MATCH"
        # The counters follow the verdict's frame (GateView.settle, on the next turn of the loop).
        qtbot.waitUntil(lambda: view.counterValues["checked"].text() == "2", timeout=2000)
        win.close()
    finally:
        sim.stop()

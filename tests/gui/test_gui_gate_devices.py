"""The gate view with real device simulators: a serial scanner on a pseudo-terminal and the ID card
reader on its own, each pulled out mid-check while the other goes on checking."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtWidgets import QApplication

from tests.gui.conftest import Keyboard
from tests.gui.gate_fixtures import gate_day, gate_window, open_check, sign_in_gate

pytestmark = [pytest.mark.gui,
              pytest.mark.skipif(sys.platform == "win32", reason="the simulators use pseudo-terminals")]


@pytest.fixture
def card():
    from drivers.idcard.simulator import SAMPLE_CARDS

    return dict(SAMPLE_CARDS["resident"])


@pytest.fixture
def day(backend, clock, card):
    from tests.gui.conftest import valid_id

    return gate_day(backend, clock, passengers=[(card["name"], card["number"]), ("钱二", valid_id(702)),
                                                ("孙三", valid_id(703))])


def test_serial_scans_and_card_taps_and_either_device_pulled_out(qtbot, backend, clock, day, card, reader_sim):
    from drivers.scanner.simulator import ScannerSimulator

    reader, reader_port = reader_sim
    scanner = ScannerSimulator()
    scanner_port = scanner.start()
    try:
        win = gate_window(qtbot, backend, clock, day, scanner_port=scanner_port, reader_port=reader_port,
                          reader_baud=115200)
        qtbot.waitUntil(lambda: win.reader.state == "ready" and win.scanner.state == "ready", timeout=5000)
        keys = Keyboard(qtbot, win)
        sign_in_gate(keys)
        open_check(keys)
        view = win.gateMode.view
        assert view.scannerLabel.text() == "扫码枪：就绪" and view.readerLabel.text() == "读卡器：就绪"

        # A scan from the serial scanner, in two pieces as a slow serial line delivers it.
        scanner.scan(day.jobs[1].ticket_code, pieces=2, gap=0.01)
        qtbot.waitUntil(lambda: view.verdictPanel.isVisible(), timeout=5000)
        assert view.verdictPanel.verdict.code == "BOARD" and view.verdictPanel.verdict.ticket_id == day.jobs[1].ticket_id
        # The counters follow the verdict's frame.
        qtbot.waitUntil(lambda: view.counterValues["checked"].text() == "1", timeout=5000)

        # The scanner's cable is pulled: the view says so and the card reader goes on.
        scanner.stop()
        qtbot.waitUntil(lambda: win.scanner.state == "lost", timeout=5000)
        assert view.scannerLabel.text() == "扫码枪：已断开"
        assert view.messageLabel.text() == "扫码枪已断开：请刷身份证或输入票号继续检票"
        view.verdictPanel.dismiss()
        reader.place(card)
        qtbot.waitUntil(lambda: view.verdictPanel.isVisible(), timeout=5000)
        verdict = view.verdictPanel.verdict
        assert verdict.code == "CARD_MATCH" and verdict.ticket_id == day.jobs[0].ticket_id
        assert view.verdictPanel.passengerLabel.text() == f"{card['name']} **************0011"
        # The counters follow the verdict's frame (GateView.settle, on the next turn of the loop).
        qtbot.waitUntil(lambda: view.counterValues["checked"].text() == "2", timeout=2000)
        reader.lift()

        # A card with no ticket on this departure.
        view.verdictPanel.dismiss()
        other = dict(card, name="周四", number="110101199003070019")
        reader.place(other)
        qtbot.waitUntil(lambda: view.verdictPanel.isVisible(), timeout=5000)
        assert view.verdictPanel.verdict.code == "CARD_NO_TICKET"
        reader.lift()

        # The reader goes too (it stops answering, as one pulled out does): a typed ticket number still checks.
        reader.silent = True
        qtbot.waitUntil(lambda: win.reader.state == "lost", timeout=8000)
        assert view.readerLabel.text() == "读卡器：已断开"
        assert view.messageLabel.text() == "读卡器已断开：请扫码或输入票号继续检票"
        view.verdictPanel.dismiss()
        view.focus_entry()
        keys.type(day.jobs[2].ticket_id)
        keys.enter()
        QApplication.processEvents()
        assert view.verdictPanel.verdict.code == "BOARD"
        assert view.counterValues["checked"].text() == "3"
        # The reader plugged back: said so; the scanner, still out, keeps its warning.
        reader.silent = False
        qtbot.waitUntil(lambda: view.readerLabel.text() == "读卡器：就绪", timeout=8000)
        assert view.messageLabel.text() == "扫码枪已断开：请刷身份证或输入票号继续检票"
        win.close()
    finally:
        scanner.stop()

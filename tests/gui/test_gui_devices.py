"""The window with real device simulators: the TCP 9100 printer simulator (a ticket printed and
drawn; paper out shown in the status bar and reported after a sale) and the ID card reader on a
pty (a tap in the refund dialog finds the passenger's ticket)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.services import sales
from tests.gui.conftest import (
    Keyboard,
    destination_with_departures,
    has_focus,
    make_window,
    printer_window,
    sign_in,
    typed_sale,
    valid_id,
)

pytestmark = pytest.mark.gui


def test_tickets_go_to_the_network_printer_and_paper_out_is_shown(qtbot, backend, printer_sim):
    window, keys = printer_window(qtbot, backend, printer_sim)
    _, initials = destination_with_departures(backend)
    number = valid_id(301)
    typed_sale(keys, initials, number)
    [ticket] = sales.find_tickets(backend.db, backend.terminal, doc_type="resident_id", doc_number=number)
    [job] = printer_sim.wait_for_jobs(1)
    assert job.printed and job.png_path is not None and job.png_path.stat().st_size > 1000
    assert ticket.stock_no.encode() in job.data and "赵六".encode("gb18030") in job.data

    printer_sim.set_condition("paper_out")
    window.printer.refresh()
    qtbot.waitUntil(lambda: window.printerLabel.text() == "打印机：缺纸", timeout=5000)
    typed_sale(keys, initials, valid_id(302), name="钱七")
    # The sale stands (committed before printing); the clerk is told the ticket did not print.
    qtbot.waitUntil(lambda: "打印失败" in window.saleView.messageLabel.text(), timeout=5000)
    assert "缺纸" in window.saleView.messageLabel.text()
    assert len(sales.find_tickets(backend.db, backend.terminal, doc_type="resident_id",
                                  doc_number=valid_id(302))) == 1
    assert [j.printed for j in printer_sim.jobs] == [True]
    window.close()


def test_a_card_tap_in_the_refund_dialog_finds_the_passengers_ticket(qtbot, backend, tmp_path):
    from drivers.idcard.simulator import SAMPLE_CARDS, ReaderSimulator

    card = SAMPLE_CARDS["resident"]
    sim = ReaderSimulator()
    port = sim.start()
    try:
        window = make_window(qtbot, backend, reader_port=port, reader_baud=115200)
        qtbot.waitUntil(lambda: window.reader.state == "ready", timeout=5000)
        keys = Keyboard(qtbot, window)
        sign_in(keys)
        _, initials = destination_with_departures(backend)
        typed_sale(keys, initials, card["number"], name=card["name"])
        [sold] = sales.find_tickets(backend.db, backend.terminal, doc_type="resident_id", doc_number=card["number"])
        keys.press(Qt.Key.Key_F3)
        dialog = window.dialog
        sim.place("resident")
        qtbot.waitUntil(lambda: len(dialog.tickets) == 1, timeout=5000)
        assert dialog.tickets[0].ticket_id == sold.ticket_id
        assert dialog.searchEdit.text() == "**************0011"  # masked, never the number in clear
        assert has_focus(dialog.confirmButton)
        keys.enter()
        assert sales.find_tickets(backend.db, backend.terminal, ticket_id=sold.ticket_id)[0].status == "refunded"
        window.close()
    finally:
        sim.stop()

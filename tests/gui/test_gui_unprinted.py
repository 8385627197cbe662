"""Sold but never printed: a sale committed before a crash kept it from the printer is listed when
the clerk signs in again, and Enter prints it on the stock number the sale took."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.services import sales, shifts
from app.services.sales import PassengerIn, PaymentIn
from tests.gui.conftest import (
    CLERK,
    FIRST_STOCK,
    destination_with_departures,
    has_focus,
    printer_window,
    sign_in,
    typed_sale,
    valid_id,
)

pytestmark = pytest.mark.gui


def crashed_sale(backend, clock, serial: int, name: str):
    """A sale committed through the services whose print jobs never reach a printer: what the file
    holds after the process died between the commit and the print."""
    code, _ = destination_with_departures(backend)
    departure = next(d for d in backend.departures(code, backend.today()) if d.sellable)
    return sales.sell(backend.db, backend.terminal, clerk=CLERK, departure_id=departure.id, stop=code,
                      passengers=[PassengerIn("full", name, doc_number=valid_id(serial))],
                      payment=PaymentIn("cash"), now=clock())


def test_a_ticket_never_printed_is_shown_at_sign_in_and_enter_prints_it(qtbot, backend, clock, printer_sim, tmp_path):
    shifts.open_shift(backend.db, backend.terminal, clerk=CLERK, first_stock_no=FIRST_STOCK, now=clock())
    sale = crashed_sale(backend, clock, 411, "孙八")
    [ticket_id] = sale.ticket_ids
    stock_no = sale.print_jobs[0].stock_no
    clock.advance(minutes=3)

    window, keys = printer_window(qtbot, backend, printer_sim)
    dialog = window.dialog
    assert dialog is not None and dialog.objectName() == "unprintedDialog"
    assert has_focus(dialog.unprintedTable)
    table = dialog.unprintedTable
    assert table.rowCount() == 1
    cells = [table.item(0, c).text() for c in range(table.columnCount())]
    assert cells[0] == stock_no and cells[1] == ticket_id and cells[2] == "孙八"
    assert valid_id(411) not in " ".join(cells) and "*" in cells[3]
    dialog.grab().save(str(tmp_path / "unprinted.png"))

    keys.enter()
    [job] = printer_sim.wait_for_jobs(1)
    assert job.printed and stock_no.encode() in job.data and "孙八".encode("gb18030") in job.data
    qtbot.waitUntil(lambda: window.dialog is None, timeout=5000)
    assert backend.owed_paper() == []
    # Printed on the number the sale took: no new blank, the ticket's number unchanged.
    [view] = sales.find_tickets(backend.db, backend.terminal, ticket_id=ticket_id)
    assert view.stock_no == stock_no
    window.close()


def test_esc_leaves_them_owed_and_the_next_sign_in_lists_them_again(qtbot, window, keys, backend, clock):
    shifts.open_shift(backend.db, backend.terminal, clerk=CLERK, first_stock_no=FIRST_STOCK, now=clock())
    crashed_sale(backend, clock, 412, "周九")
    sign_in(keys)
    assert window.dialog is not None and window.dialog.objectName() == "unprintedDialog"
    keys.press(Qt.Key.Key_Escape)
    assert window.dialog is None and window.selling()
    assert len(backend.owed_paper()) == 1
    keys.press(Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    sign_in(keys)
    assert window.dialog is not None and window.dialog.unprintedTable.rowCount() == 1
    # The passenger holds the paper (the crash came after the print): Del takes it off the list.
    keys.press(Qt.Key.Key_Delete)
    assert window.dialog is None and backend.owed_paper() == []


def test_a_sale_the_printer_took_leaves_nothing_owed_and_one_it_refused_stays(qtbot, backend, printer_sim):
    window, keys = printer_window(qtbot, backend, printer_sim)
    _, initials = destination_with_departures(backend)
    typed_sale(keys, initials, valid_id(413))
    printer_sim.wait_for_jobs(1)
    qtbot.waitUntil(lambda: backend.owed_paper() == [], timeout=5000)

    printer_sim.set_condition("paper_out")
    window.printer.refresh()
    qtbot.waitUntil(lambda: window.printerLabel.text() == "打印机：缺纸", timeout=5000)
    typed_sale(keys, initials, valid_id(414), name="钱七")
    qtbot.waitUntil(lambda: "打印失败" in window.saleView.messageLabel.text(), timeout=5000)
    assert "Ctrl+Shift+P" in window.saleView.messageLabel.text()
    assert [r.passenger for r in backend.owed_paper()] == ["钱七"]

    # Paper loaded: the key the message names lists the ticket, Enter prints it on its own number.
    printer_sim.set_condition("ready")
    window.printer.refresh()
    qtbot.waitUntil(lambda: window.printerLabel.text() == "打印机：就绪", timeout=5000)
    keys.press(Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.dialog is not None and window.dialog.unprintedTable.item(0, 2).text() == "钱七"
    keys.enter()
    [_, job] = printer_sim.wait_for_jobs(2)
    assert job.printed and "钱七".encode("gb18030") in job.data
    qtbot.waitUntil(lambda: window.dialog is None, timeout=5000)
    assert backend.owed_paper() == []
    keys.press(Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.dialog is None and window.saleView.messageLabel.text() == "本班次没有未出票的车票"
    window.close()


@pytest.mark.parametrize("language", ["zh_CN", "en"])
@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_the_list_is_named_and_fits_in_both_languages(qtbot, window, keys, backend, clock, language, size, tmp_path):
    from app.ui import theme
    from app.ui.app import application
    from tests.gui.test_gui_look import cut_short, unnamed_interactive

    theme.apply(application(), size[0])
    window.resize(*size)
    theme.set_language(language)
    shifts.open_shift(backend.db, backend.terminal, clerk=CLERK, first_stock_no=FIRST_STOCK, now=clock())
    crashed_sale(backend, clock, 415, "吴十")
    sign_in(keys)
    dialog = window.dialog
    qtbot.wait(10)
    assert unnamed_interactive(dialog) == []
    assert cut_short(dialog) == []
    if language == "en":
        assert dialog.printButton.text() == "Print all  Enter"
        assert dialog.unprintedTable.horizontalHeaderItem(0).text() == "Stock no."
    dialog.grab().save(str(tmp_path / f"unprinted-{language}-{size[0]}.png"))


def test_another_clerk_on_another_roll_is_not_offered_the_first_clerks_numbers(qtbot, window, keys, backend, clock):
    from tests.gui.conftest import CLERK2, CLERK2_PASSWORD

    shifts.open_shift(backend.db, backend.terminal, clerk=CLERK, first_stock_no=FIRST_STOCK, now=clock())
    crashed_sale(backend, clock, 416, "郑一")
    # The blank numbered 00100001 is on the first clerk's roll, not in the printer under the second's.
    sign_in(keys, CLERK2, CLERK2_PASSWORD, stock="00200001")
    assert window.dialog is None
    keys.press(Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    sign_in(keys)
    assert window.dialog is not None and window.dialog.unprintedTable.item(0, 2).text() == "郑一"

"""The smaller things a keyboard trial at 1366×768 found (issue 13, finding 11), each typed as a
clerk would: a change refused up front for a carried free child, the refund slip, the settlement
slip's date, usable spin box arrows, a lower panel that stays put, the F1 list that fits and
scrolls, messages without Python quotes, and a refund button that looks disabled when it is."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QStyle, QStyleOptionSpinBox

from app.ui import actions, theme
from app.ui.dialogs import HelpDialog, ShiftCloseDialog
from app.ui.sale_view import Slot
from tests.gui.conftest import destination_with_departures, has_focus, sign_in, valid_id
from tests.gui.test_gui_operations import open_dialog, sell_one, ticket

pytestmark = pytest.mark.gui


def sell_with_free_child(backend, serial: int):
    station, _ = destination_with_departures(backend)
    departure = [d for d in backend.departures(station, backend.today()) if d.sellable][-1]
    slots = [Slot("full", True, name=f"旅客{serial}", doc_type="resident_id", doc_number=valid_id(serial)),
             Slot("free_child", False, name=f"旅客{serial}子", carried_by=0)]
    outcome = backend.sell(departure=departure, destination=station, slots=slots, seats=None, method="cash",
                           tendered=None, reference=None)
    return outcome.print_jobs[0]


def slip_lines(data: bytes) -> list[str]:
    """The text lines of an ESC/POS job, read with the renderer's own tokenizer (commands dropped)."""
    from drivers.printer.render import Tokenizer

    tokenizer, pos, text = Tokenizer(), 0, []
    while pos < len(data):
        token = tokenizer.next(data, pos)
        if token.kind == "char":
            text.append(token.char)
        elif token.kind == "ctl" and token.code == 0x0A:
            text.append("\n")
        pos = token.end
    return [" ".join(line.split()) for line in "".join(text).splitlines() if line.strip()]


def test_f4_refuses_a_ticket_carrying_a_free_child_before_a_departure_is_picked(qtbot, window, keys, backend):
    sign_in(keys)
    adult = sell_with_free_child(backend, 801)
    dialog = open_dialog(window, keys, Qt.Key.Key_F4, adult.ticket_id)
    message = dialog.messageLabel.text()
    # Said at once, about the free carried child (携童) — not "the child ticket", which a family's
    # paid 儿童票 could be — and no departure is offered to pick.
    assert "携童" in message and "儿童票" not in message, message
    assert dialog.newDeparturesTable.rowCount() == 0
    assert not has_focus(dialog.newDeparturesTable) and has_focus(dialog.searchEdit)
    assert not dialog.confirmButton.isEnabled()
    assert ticket(backend, adult.ticket_id).status == "active"


def test_a_refund_prints_a_refund_slip_with_the_fee_shown_in_the_preview(qtbot, window, keys, backend):
    sign_in(keys)
    job, _, _ = sell_one(backend, 802)
    dialog = open_dialog(window, keys, Qt.Key.Key_F3, job.ticket_id)
    quote = dialog.quote
    assert quote is not None and quote.fee > 0
    keys.enter()
    assert ticket(backend, job.ticket_id).status == "refunded"
    slip = window.printer.last_job
    lines = slip_lines(slip)
    assert lines[0].endswith("退票凭证"), lines
    assert f"票号 {job.ticket_id}" in lines and f"纸票号 {job.stock_no}" in lines
    assert any(line.startswith(f"退票手续费 ￥{quote.fee / 100:.2f}") for line in lines), lines  # the fee
    assert f"实退金额 ￥{quote.total / 100:.2f}" in lines, lines  # what went back
    keys.press(Qt.Key.Key_Escape)
    keys.press(Qt.Key.Key_F10)
    preview = window.dialog
    assert preview is not None and not preview.pixmap.isNull()
    assert window.backend.render_png(slip) == window.backend.render_png(window.printer.last_job)


def test_the_settlement_slip_carries_its_date(qtbot, window, keys, backend):
    sign_in(keys)
    sell_one(backend, 803)
    keys.press(Qt.Key.Key_F8)
    dialog = window.dialog
    assert isinstance(dialog, ShiftCloseDialog)
    due = dialog.settlement.cash_due
    keys.type(f"{due // 100}.{due % 100:02d}")
    keys.enter()
    keys.enter()
    lines = slip_lines(window.printer.last_job)
    assert lines[0].endswith("交班结算单"), lines
    today = backend.today().isoformat()
    assert any(line.startswith(f"开班 {today} ") for line in lines), lines
    assert any(line.startswith(f"交班 {today} ") for line in lines), lines


def spin_button_rect(spin, which):
    option = QStyleOptionSpinBox()
    spin.initStyleOption(option)
    return spin.style().subControlRect(QStyle.ComplexControl.CC_SpinBox, option, which, spin)


@pytest.mark.parametrize("width", [1366, 1920])
def test_the_count_spin_box_arrows_are_big_enough_to_hit(qtbot, window, keys, backend, width):
    from PySide6.QtWidgets import QApplication

    theme.apply(QApplication.instance(), width)
    try:
        sign_in(keys)
        spin = window.saleView.countSpins["child"]
        up = spin_button_rect(spin, QStyle.SubControl.SC_SpinBoxUp)
        down = spin_button_rect(spin, QStyle.SubControl.SC_SpinBoxDown)
        base = theme.Sizes.for_width(width).base
        for rect in (up, down):
            assert rect.width() >= base and rect.height() >= base // 2 + 1, rect
        before = spin.value()
        qtbot.mouseClick(spin, Qt.MouseButton.LeftButton, pos=up.center())
        assert spin.value() == before + 1
        qtbot.mouseClick(spin, Qt.MouseButton.LeftButton, pos=down.center())
        assert spin.value() == before
    finally:
        theme.apply(QApplication.instance(), 1366)


def test_the_lower_panel_stays_put_when_a_message_appears(qtbot, window, keys, backend):
    sign_in(keys)
    view = window.saleView
    _, initials = destination_with_departures(backend)
    for language in ("zh_CN", "en"):
        theme.set_language(language)
        keys.press(Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
        keys.type(initials)
        keys.enter()
        keys.enter()
        watched = [view.docNumberEdit, view.passengersTable, view.tenderedEdit, view.confirmButton,
                   view.totalLabel, view.changeLabel]
        where = [(w.mapTo(window, QPoint(0, 0)), w.size()) for w in watched]
        assert not view.messageLabel.text()
        keys.type("123")
        keys.enter()  # a short number: refused with a message in the lower panel
        assert view.messageLabel.text()
        assert [(w.mapTo(window, QPoint(0, 0)), w.size()) for w in watched] == where, language
    theme.set_language("zh_CN")


def test_the_f1_list_fits_1366x768_and_scrolls_with_end_and_home(qtbot, window, keys):
    sign_in(keys)
    for language in ("zh_CN", "en"):
        theme.set_language(language)
        keys.press(Qt.Key.Key_F1)
        dialog = window.dialog
        assert isinstance(dialog, HelpDialog)
        table = dialog.table
        viewport = table.viewport().rect()
        for index in range(len(actions.ACTIONS)):
            row, column = dialog.cell_of(index)
            for c in (column, column + 1):
                assert viewport.contains(table.visualRect(table.model().index(row, c))), (language, row, c)
        keys.press(Qt.Key.Key_Escape)
    theme.set_language("zh_CN")
    window.resize(1366, 520)  # a smaller window: the list no longer fits, the keys page through it
    keys.press(Qt.Key.Key_F1)
    dialog = window.dialog
    table = dialog.table
    last = table.model().index(table.rowCount() - 1, 0)
    first = table.model().index(0, 0)
    assert not table.viewport().rect().contains(table.visualRect(last))
    keys.press(Qt.Key.Key_End)
    assert table.viewport().rect().contains(table.visualRect(last))
    keys.press(Qt.Key.Key_Home)
    assert table.viewport().rect().contains(table.visualRect(first))
    keys.press(Qt.Key.Key_PageDown)
    assert table.verticalScrollBar().value() > 0
    keys.press(Qt.Key.Key_PageUp)
    assert table.verticalScrollBar().value() == 0


def test_a_bad_number_is_quoted_without_python_quotes(qtbot, window, keys, backend):
    sign_in(keys)
    dialog = open_dialog(window, keys, Qt.Key.Key_F3, "W2026")
    message = dialog.messageLabel.text()
    assert "「W2026」" in message and "'" not in message, message
    theme.set_language("en")
    keys.type("W2026")
    keys.enter()
    message = dialog.messageLabel.text()
    assert "W2026" in message and "'" not in message, message
    theme.set_language("zh_CN")


def test_the_conflict_refund_button_looks_disabled_with_no_task(qtbot, window, keys):
    sign_in(keys)
    keys.press(Qt.Key.Key_F11)
    dialog = window.dialog
    assert dialog.task() is None
    button = dialog.refundButton
    assert not button.isEnabled()
    image = button.grab().toImage()
    # The fill just inside the border: a disabled button's grey, not the live red of 全额退票.
    colour = image.pixelColor(image.width() // 2, 4)
    assert not (colour.red() > 150 and colour.green() < 80), colour.name()
    assert abs(colour.red() - colour.green()) < 30, colour.name()

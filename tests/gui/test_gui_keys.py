"""What a keyboard trial at the counter found, typed again: a refused departure that let typed
letters move the selection, one-document-one-seat caught only at the confirm key, 售完 shown
offline for a bus the province still had seats on, the last clerk's sale and slip shown to the
next, messages left stale or in the old language, a shortfall in the green of correct change, no
warning before a lockout, and the keys a typed-ID walk-up sale costs."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from app.services import sales
from app.ui import theme
from app.ui.dialogs import PreviewDialog, ShiftCloseDialog, TicketDialog
from tests.gui.conftest import (
    CLERK,
    CLERK2,
    CLERK2_PASSWORD,
    Keyboard,
    destination_with_departures,
    has_focus,
    sign_in,
    valid_id,
)

pytestmark = pytest.mark.gui


def settlement_with_the_cash_due(window, keys, backend, serial: int):
    """Signed in with one sale made, the settlement (F8) open and the cash due typed as the till."""
    from tests.gui.test_gui_operations import sell_one

    sign_in(keys)
    sell_one(backend, serial)
    keys.press(Qt.Key.Key_F8)
    dialog = window.dialog
    keys.type(f"{dialog.settlement.cash_due / 100:.2f}")
    return dialog


def first_sellable(view):
    return next(i for i, d in enumerate(view.departures) if d.sellable)


def sell_through_services(backend, station, departure, number, name):
    from app.ui.sale_view import Slot

    slot = Slot("full", True, name=name, doc_type="resident_id", doc_number=number)
    outcome = backend.sell(departure=departure, destination=station, slots=[slot], seats=None, method="cash",
                           tendered=None, reference=None)
    return outcome.tickets[0]


def move_to_row(keys, view, row: int) -> None:
    """The arrows, as a clerk reaches a row of the departures."""
    while view.departuresTable.currentRow() < row:
        keys.press(Qt.Key.Key_Down)
    while view.departuresTable.currentRow() > row:
        keys.press(Qt.Key.Key_Up)


def border_colour(label) -> QColor:
    """The colour the label is drawn in, read off its frame as the clerk sees it."""
    image = label.grab().toImage()
    return image.pixelColor(1, image.height() // 2)



def _walk_up_to_the_cash(keys, backend, n: int, name: str) -> None:
    """A typed-ID walk-up up to the cash field: the destination's initials, Enter, the number (its
    first digit takes the highlighted bus), the name and Enter."""
    _, initials = destination_with_departures(backend)
    keys.type(initials)
    keys.enter()
    keys.type(valid_id(n))
    keys.type(name)
    keys.enter()

# --- 1. a refused departure -----------------------------------------------------------------------


def test_typing_after_a_refused_departure_never_moves_the_selected_bus(qtbot, window, keys, backend):
    sign_in(keys)
    view = window.saleView
    station, initials = destination_with_departures(backend, minimum=3)
    open_ = [d for d in backend.departures(station, backend.today()) if d.sellable]
    cancelled = open_[1]
    with backend.db.transaction() as session:
        from app.services.context import cursor

        cursor(session).execute("UPDATE departures SET status = 'cancelled' WHERE id = ?", (cancelled.id,))
    keys.type(initials)
    keys.enter()
    row = next(i for i, d in enumerate(view.departures) if d.id == cancelled.id)
    move_to_row(keys, view, row)
    keys.enter()  # Enter on the cancelled bus: refused
    assert view.departure is None and "停班" in view.messageLabel.text()
    assert has_focus(view.departuresTable)

    # The next passenger's digits and letters: a keyboard search would jump to the first row whose
    # time starts with them, and the sale after it would go on that bus.
    assert {view.departures[i].time[0] for i in range(len(view.departures)) if i != row} & {"1", "2"}
    keys.type("1")
    qtbot.wait(500)  # past the keyboard search's typing interval: each key is a new search
    keys.type("2")
    qtbot.wait(500)
    keys.type("zhang")
    keys.type("张三")  # a name through the input method: a commit, not a key press
    assert view.departuresTable.currentRow() == row
    assert view.departures[row].id == cancelled.id
    assert view.departure is None and view.docNumberEdit.text() == ""
    assert has_focus(view.departuresTable)  # the clerk goes on here: the arrows pick another bus
    assert "停班" in view.messageLabel.text()

    keys.press(Qt.Key.Key_Down)
    keys.enter()
    assert view.departure is not None and view.departure.id == view.departures[row + 1].id
    assert has_focus(view.docNumberEdit)


def test_back_on_the_departures_mid_sale_a_digit_does_not_swap_the_bus(qtbot, window, keys, backend):
    sign_in(keys)
    view = window.saleView
    _, initials = destination_with_departures(backend, minimum=2)
    keys.type(initials)
    keys.enter()
    keys.enter()
    chosen = view.departure
    keys.press(Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)  # back to the departures
    assert has_focus(view.departuresTable)
    keys.press(Qt.Key.Key_Down)
    keys.type("3")
    assert view.departure is chosen and view.docNumberEdit.text() == ""
    assert "不接受文字" in view.messageLabel.text()


# --- 2. one document, one seat ----------------------------------------------------------------------


def test_a_document_holding_a_seat_is_refused_as_its_number_is_typed(qtbot, window, keys, backend):
    sign_in(keys)
    view = window.saleView
    station, initials = destination_with_departures(backend)
    departure = next(d for d in backend.departures(station, backend.today()) if d.sellable)
    number = valid_id(301)
    held = sell_through_services(backend, station, departure, number, "赵一")

    keys.type(initials)
    keys.enter()
    assert view.departures[view.departuresTable.currentRow()].id == departure.id
    keys.enter()
    keys.type(number)
    # Refused at the last digit, before the name and the money: naming the ticket holding the seat.
    message = view.messageLabel.text()
    assert held.ticket_id in message and f"{held.seat_no} 号座" in message and "一证一座" in message
    assert view.docNumberEdit.property("valid") == "false"
    assert has_focus(view.docNumberEdit) and view.nameEdit.text() == ""
    keys.enter()  # Enter does not pass it either
    assert has_focus(view.docNumberEdit) and view.slots[0].doc_number == ""

    # Another passenger's number: the refusal goes and the cursor moves to the name by itself.
    keys.press(Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    keys.type(valid_id(302))
    assert view.messageLabel.text() == "" and has_focus(view.nameEdit)


def test_a_card_holding_a_seat_is_refused_at_the_tap(qtbot, reader_window, reader_keys, reader_sim, backend):
    from drivers.idcard.simulator import SAMPLE_CARDS

    window, keys = reader_window, reader_keys
    sim, _ = reader_sim
    view = window.saleView
    station, initials = destination_with_departures(backend)
    departure = next(d for d in backend.departures(station, backend.today()) if d.sellable)
    card = SAMPLE_CARDS["resident"]
    held = sell_through_services(backend, station, departure, card["number"], "另一个名字")
    keys.type(initials)
    keys.enter()
    keys.enter()
    sim.place("resident")
    qtbot.waitUntil(lambda: "一证一座" in view.messageLabel.text(), timeout=5000)
    message = view.messageLabel.text()
    assert held.ticket_id in message and f"{held.seat_no} 号座" in message
    assert card["name"] not in message and "另一个名字" not in message
    assert view.slots[0].doc_number == ""
    sim.lift()


# --- 3. offline, no seats leased here -----------------------------------------------------------------


def test_offline_without_leased_seats_says_so_instead_of_sold_out(qtbot, window, keys, backend, clock):
    sign_in(keys)
    view = window.saleView
    station, initials = destination_with_departures(backend)
    backend.terminal.go_offline(clock.now)
    try:
        keys.type(initials)
        keys.enter()
        row, dep = next((i, d) for i, d in enumerate(view.departures)
                        if d.status == "no_lease")
        assert dep.offline_left == 0 and dep.seats_left > 0
        assert view.departuresTable.item(row, 8).text() == "无租座"
        assert all(view.departuresTable.item(i, 8).text() != "售完" for i in range(len(view.departures))
                   if view.departures[i].seats_left > 0)
        move_to_row(keys, view, row)
        keys.enter()
        message = view.messageLabel.text()
        assert "售完" not in message
        assert "本机无租座（离线）" in message and f"省平台余 {dep.pool_left}（上次同步）" in message
        assert dep.pool_left == dep.seats_left
        # A bus with nothing left in the pool either is sold out, offline as online.
        with backend.db.transaction() as session:
            from app.services.context import cursor

            cursor(session).execute("UPDATE seats SET state = 'held' WHERE departure_id = ?", (dep.id,))
        [again] = [d for d in backend.departures(station, backend.today()) if d.id == dep.id]
        assert again.status == "sold_out" and again.reason_in("zh_CN") == "该班次已售完"
    finally:
        backend.terminal.go_online()


# --- 4. one session does not show to the next -------------------------------------------------------


def test_the_next_clerk_sees_nothing_of_the_last_session(qtbot, window, keys, backend):
    sign_in(keys)
    view = window.saleView
    _walk_up_to_the_cash(keys, backend, 401, "钱二")
    keys.enter()
    assert "已售 1 张" in view.lastSaleLabel.text()
    keys.press(Qt.Key.Key_F8)
    dialog = window.dialog
    assert isinstance(dialog, ShiftCloseDialog)
    keys.type(f"{dialog.settlement.cash_due / 100:.2f}")
    keys.enter()  # the till agrees: one Enter closes the shift
    assert window.dialog is None and window.stack.currentWidget() is window.loginView

    sign_in(keys, CLERK2, CLERK2_PASSWORD, stock="00200001")
    assert window.saleView.lastSaleLabel.text() == ""
    keys.press(Qt.Key.Key_F10)
    assert isinstance(window.dialog, PreviewDialog) and window.dialog.pixmap.isNull()
    assert window.dialog.image.text() == "还没有打印过车票"


# --- 5. stale messages --------------------------------------------------------------------------


def test_a_shortfall_message_follows_the_cash_typed(qtbot, window, keys, backend):
    sign_in(keys)
    view = window.saleView
    _walk_up_to_the_cash(keys, backend, 501, "孙三")
    total = view.total()
    assert has_focus(view.tenderedEdit)
    keys.type("1")
    keys.enter()
    assert view.messageLabel.text() == f"实收不足，还差 ￥{(total - 100) / 100:.2f}"
    assert view.changeLabel.text() == f"不足 ￥{(total - 100) / 100:.2f}"
    keys.type("0")  # ￥10: what the message says is what the box says
    short = total - 1000
    if short > 0:
        assert view.messageLabel.text() == f"实收不足，还差 ￥{short / 100:.2f}"
        assert view.changeLabel.text() == f"不足 ￥{short / 100:.2f}"
    keys.press(Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    keys.type(f"{total // 100 + 10}")
    assert view.messageLabel.text() == ""
    assert view.changeLabel.text() == f"￥{((total // 100 + 10) * 100 - total) / 100:.2f}"


def test_destination_messages_do_not_outlive_the_destination(qtbot, window, keys, backend):
    sign_in(keys)
    view = window.saleView
    station, initials = destination_with_departures(backend)
    keys.type("ZZZZ")
    keys.enter()
    assert view.messageLabel.text() == "没有找到这个目的地"
    keys.press(Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    keys.type(initials)
    assert view.suggestionList.count() >= 1 and view.messageLabel.text() == ""

    keys.enter()
    name = view.destination.name
    assert view.destinationName.text() == name
    keys.press(Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    other = next(h for h in backend.suggest("N") if h.code != station)
    keys.type(other.pinyin[:3])
    assert view.destinationName.text() == "" and view.destination is None


def test_f12_rewords_the_messages_on_show(qtbot, window, keys, backend):
    sign_in(keys)
    view = window.saleView
    _walk_up_to_the_cash(keys, backend, 601, "周四")
    keys.enter()  # sold: the summary line
    keys.type("ZZZZ")
    keys.enter()
    assert view.messageLabel.text() == "没有找到这个目的地"
    assert view.lastSaleLabel.text().startswith("已售 1 张")
    keys.press(Qt.Key.Key_F12)
    assert view.messageLabel.text() == "No such destination"
    assert view.lastSaleLabel.text().startswith("Sold 1")
    keys.press(Qt.Key.Key_F12)
    assert view.messageLabel.text() == "没有找到这个目的地"


def test_f12_rewords_the_login_refusal(qtbot, window, keys):
    keys.type(CLERK)
    keys.enter()
    keys.type("wrong")
    keys.enter()
    assert window.loginView.messageLabel.text() == "工号或密码错误，还可再试 4 次（之后账号锁定）"
    keys.press(Qt.Key.Key_F12)
    assert window.loginView.messageLabel.text() == (
        "Wrong user code or password; 4 tries left before the account locks")


# --- 6. a shortfall does not look like change ---------------------------------------------------------


def test_a_shortfall_is_not_drawn_in_the_green_of_change(qtbot, window, keys, backend):
    sign_in(keys)
    view = window.saleView
    _walk_up_to_the_cash(keys, backend, 701, "吴五")
    keys.type("100")
    ok = border_colour(view.changeLabel)
    assert ok.green() > ok.red()
    keys.press(Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    keys.type("1")
    short = border_colour(view.changeLabel)
    assert view.changeLabel.text().startswith("不足")
    assert short.red() > 150 and short.green() < 60, short.name()


def test_a_short_till_is_not_drawn_in_the_green_of_a_balanced_one(qtbot, window, keys, backend):
    dialog = settlement_with_the_cash_due(window, keys, backend, 720)
    balanced = border_colour(dialog.diffLabel)
    assert balanced.green() > balanced.red()
    keys.press(Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    keys.type(f"{(dialog.settlement.cash_due - 500) / 100:.2f}")
    assert dialog.diffLabel.text() == "短款 ￥5.00"
    short = border_colour(dialog.diffLabel)
    assert short.red() > 150 and short.green() < 60, short.name()
    # A difference is signed for: the first Enter says so, the second closes.
    keys.enter()
    assert window.dialog is dialog and "不符" in dialog.messageLabel.text()
    assert has_focus(dialog.confirmButton)


# --- 7. tries left before a lockout -------------------------------------------------------------------


def test_the_clerk_is_told_the_tries_left_before_the_account_locks(qtbot, window, keys):
    view = window.loginView
    seen = []
    for _ in range(5):
        keys.type(CLERK)
        keys.enter()
        keys.type("wrong")
        keys.enter()
        seen.append(view.messageLabel.text())
        view.codeEdit.clear()
        view.codeEdit.setFocus()
    assert seen[:4] == [f"工号或密码错误，还可再试 {n} 次（之后账号锁定）" for n in (4, 3, 2, 1)]
    assert seen[4] == "工号或密码错误，账号已锁定，请联系技术员解锁"


# --- 8. keystrokes --------------------------------------------------------------------------------


class CountingKeyboard(Keyboard):
    def __init__(self, qtbot, window) -> None:
        super().__init__(qtbot, window)
        self.enters = 0

    def enter(self) -> None:
        self.enters += 1
        super().enter()


def test_typed_id_walk_up_takes_the_digits_the_name_and_three_enters(qtbot, window, backend):
    keys = CountingKeyboard(qtbot, window)
    sign_in(keys)
    view = window.saleView
    station, initials = destination_with_departures(backend)
    number, name = valid_id(801), "郑六"
    keys.type(initials)
    keys.count = keys.enters = 0  # what is counted starts after the destination's initials

    keys.enter()  # the first suggestion; the first sellable departure is highlighted
    expected = view.departures[first_sellable(view)]
    keys.type(number)  # the first digit takes the highlighted bus; the last moves to the name
    assert view.departure.id == expected.id
    assert has_focus(view.nameEdit)
    keys.type(name)
    keys.enter()  # the passenger's row is filled: on to the cash
    assert has_focus(view.tenderedEdit)
    keys.enter()  # exact cash: sold

    assert keys.enters == 3
    assert keys.count == 18 + len(name) + 3
    [ticket] = sales.find_tickets(backend.db, backend.terminal, doc_number=number)
    assert ticket.departure_id == expected.id and ticket.passenger_name == name
    assert ticket.clerk == CLERK and ticket.price == expected.prices["full"]
    assert "已售 1 张" in view.lastSaleLabel.text() and has_focus(view.destinationEdit)


def test_the_habitual_enters_of_the_old_key_story_still_sell_once(qtbot, window, keys, backend):
    """Enter after the number, Enter on the departure, Enter on the confirm: spent, not refused,
    and never a second sale."""
    sign_in(keys)
    view = window.saleView
    _, initials = destination_with_departures(backend)
    keys.type(initials)
    keys.enter()
    keys.enter()
    keys.type(valid_id(802))
    keys.enter()
    assert view.messageLabel.text() == "" and has_focus(view.nameEdit)
    keys.type("王七")
    keys.enter()
    keys.enter()
    keys.enter()
    assert len(sales.find_tickets(backend.db, backend.terminal, doc_number=valid_id(802))) == 1
    assert view.messageLabel.text() == "" and has_focus(view.destinationEdit)


@pytest.mark.parametrize("where", ["nameEdit", "tenderedEdit"])
def test_f3_and_esc_mid_sale_return_the_cursor_where_it_was(qtbot, window, keys, backend, where):
    sign_in(keys)
    view = window.saleView
    _, initials = destination_with_departures(backend)
    keys.type(initials)
    keys.enter()
    keys.type(valid_id(803))
    if where == "tenderedEdit":
        keys.type("冯八")
        keys.enter()
    widget = getattr(view, where)
    assert has_focus(widget)
    keys.press(Qt.Key.Key_F3)
    assert isinstance(window.dialog, TicketDialog)
    keys.press(Qt.Key.Key_Escape)
    assert window.dialog is None
    assert has_focus(widget)
    assert view.departure is not None


def test_settlement_with_the_till_agreeing_takes_one_enter(qtbot, window, keys, backend):
    settlement_with_the_cash_due(window, keys, backend, 810)
    keys.count = 0
    keys.enter()
    assert keys.count == 1
    assert window.dialog is None and window.stack.currentWidget() is window.loginView
    assert theme.language() == "zh_CN"

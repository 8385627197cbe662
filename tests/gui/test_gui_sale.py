"""The sale view, driven by keyboard on the demo database: the walk-up sale with an ID card tap
through the reader simulator (keystrokes counted), a sale of every ticket type, and the refusals
a clerk meets (an invalid ID number, a sold-out departure)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.services import sales
from tests.gui.conftest import (
    CLERK,
    destination_with_departures,
    sign_in,
    valid_id,
)

pytestmark = pytest.mark.gui


def tickets_of(backend, number, doc_type="resident_id"):
    return sales.find_tickets(backend.db, backend.terminal, doc_type=doc_type, doc_number=number)


def test_walk_up_sale_with_a_tapped_id_card_takes_three_keystrokes(
    qtbot, reader_window, reader_keys, reader_sim, backend
):
    from drivers.idcard.simulator import SAMPLE_CARDS

    window, keys = reader_window, reader_keys
    sim, _ = reader_sim
    assert "读卡器：就绪" in window.readerLabel.text()
    view = window.saleView
    station, initials = destination_with_departures(backend)

    keys.type(initials)
    assert view.suggestionList.count() >= 1
    # The departures are on screen while the clerk is still typing.
    assert view.departuresTable.rowCount() == len(backend.departures(station, backend.today())) > 0
    keys.count = 0  # what is counted starts after the destination initials

    keys.enter()  # the first suggestion
    assert view.destination.code == station
    assert view.departuresTable.hasFocus()
    expected = next(d for d in view.departures if d.sellable)
    keys.enter()  # the first sellable departure
    assert view.departure.id == expected.id
    assert view.docNumberEdit.hasFocus()

    sim.place("resident")  # the passenger taps the card: no key pressed
    qtbot.waitUntil(lambda: view.slots[0].doc_number != "", timeout=5000)
    assert view.slots[0].name == SAMPLE_CARDS["resident"]["name"]
    assert view.tenderedEdit.hasFocus()
    assert view.totalLabel.text() == "￥" + f"{expected.prices['full'] / 100:.2f}"

    keys.enter()  # exact cash (the empty field): one Enter commits, prints, resets

    assert keys.count == 3
    sold = tickets_of(backend, SAMPLE_CARDS["resident"]["number"])
    assert len(sold) == 1
    ticket = sold[0]
    assert ticket.departure_id == expected.id and ticket.ticket_type == "full"
    assert ticket.price == expected.prices["full"] and ticket.status == "active"
    assert ticket.clerk == CLERK and ticket.seat_no is not None
    # Ready for the next passenger, with the sale summed up where the clerk looks.
    assert view.destinationEdit.hasFocus() and view.destinationEdit.text() == ""
    assert "已售 1 张" in view.lastSaleLabel.text()
    # Printed: with no printer configured the job is kept for the preview.
    assert window.printer.last_job and ticket.stock_no.encode() in window.printer.last_job
    sim.lift()


def test_a_sale_of_each_ticket_type_by_keyboard(qtbot, window, keys, backend):
    sign_in(keys)
    view = window.saleView
    station, initials = destination_with_departures(backend)
    types = {t.code: t for t in backend.ticket_types()}
    serial = 10
    for code, ttype in types.items():
        keys.type(initials)
        keys.enter()
        keys.enter()
        departure = view.departure
        assert departure is not None
        # The counts: Ctrl+T reaches the first count; Tab walks along them.
        keys.press(Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
        wanted = {c: 0 for c in types}
        wanted[code] = 1
        if ttype.needs_adult:
            wanted["full"] = 1
        for c in types:
            assert view.countSpins[c].hasFocus()
            keys.type(str(wanted[c]))
            keys.press(Qt.Key.Key_Tab)
        keys.press(Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
        keys.enter()
        assert view.counts() == wanted
        numbers = []
        for slot in view.slots:
            if slot.needs_document:
                assert view.docNumberEdit.hasFocus()
                serial += 1
                number = valid_id(serial, birth="20120101" if code in ("child", "student") else "19800101")
                numbers.append(number)
                keys.type(number)
                assert view.docNumberEdit.property("valid") == "true"
                keys.enter()
                keys.type(f"乘客{serial}")
                keys.enter()
        assert view.tenderedEdit.hasFocus()
        total = sum(departure.prices[s.type_code] for s in view.slots)
        keys.type("100")
        assert view.changeLabel.text() == "￥" + f"{(10000 - total) / 100:.2f}"
        keys.enter()
        keys.enter()
        assert "已售" in view.lastSaleLabel.text(), view.messageLabel.text()
        with backend.db.read() as session:
            from app.services.context import cursor

            cur = cursor(session)
            cur.execute("SELECT id, ticket_type, price, carried_by, seat_no FROM tickets WHERE order_id = "
                        "(SELECT id FROM orders ORDER BY created_at DESC, id DESC LIMIT 1) ORDER BY id")
            rows = cur.fetchall()
        by_type = {r[1]: r for r in rows}
        assert by_type[code][2] == ttype.price(departure.full_fare)
        if ttype.needs_adult:
            assert by_type[code][3] == by_type["full"][0]  # carried by the adult of the same sale
            assert by_type[code][4] is None  # no seat
        else:
            assert by_type[code][4] is not None
    assert set(types) <= {r for r in _sold_types(backend)}


def _at_first_departure(keys, backend):
    """Sign in, type a destination that has departures and take its first one: the sale waits for
    its passengers."""
    sign_in(keys)
    _, initials = destination_with_departures(backend)
    keys.type(initials)
    keys.enter()
    keys.enter()


def _sold_types(backend):
    with backend.db.read() as session:
        from app.services.context import cursor

        cur = cursor(session)
        cur.execute("SELECT DISTINCT ticket_type FROM tickets")
        return [r[0] for r in cur.fetchall()]


def test_an_invalid_id_number_is_refused_as_typed(qtbot, window, keys, backend):
    _at_first_departure(keys, backend)
    view = window.saleView
    good = valid_id(7)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")  # wrong check character
    keys.type(bad[:10])
    keys.type(bad[10:])
    assert view.docNumberEdit.property("valid") == "false"
    assert view.docHint.text() and "有效" not in view.docHint.text()
    keys.enter()
    assert view.docNumberEdit.hasFocus()  # not accepted: the cursor stays
    assert view.slots[0].doc_number == ""
    assert view.messageLabel.text()
    # Confirming anyway sells nothing.
    view.confirm()
    assert "还没有证件" in view.messageLabel.text()
    assert tickets_of(backend, bad) == [] and _sold_types(backend) == []


def test_a_sold_out_departure_is_refused(qtbot, window, keys, backend):
    sign_in(keys)
    view = window.saleView
    station, initials = destination_with_departures(backend)
    target = next(d for d in backend.departures(station, backend.today()) if d.sellable)
    # Every seat taken by other channels (what the provincial feed reports for a full bus).
    with backend.db.transaction() as session:
        from app.services.context import cursor

        cursor(session).execute("UPDATE seats SET state = 'held' WHERE departure_id = ?", (target.id,))
    keys.type(initials)
    keys.enter()
    row = next(i for i, d in enumerate(view.departures) if d.id == target.id)
    assert view.departuresTable.item(row, 8).text() == "售完"
    assert view.departuresTable.item(row, 6).text() == "0"
    view.departuresTable.setCurrentCell(row, 0)
    keys.enter()
    assert view.departure is None
    assert "售完" in view.messageLabel.text()
    assert view.departuresTable.hasFocus()
    # The service refuses it too, whatever the screen said.
    from app.errors import RuleViolation

    with pytest.raises(RuleViolation):
        sales.sell(backend.db, backend.terminal, clerk=CLERK, departure_id=target.id, stop=station,
                   passengers=[sales.PassengerIn(name="甲", doc_number=valid_id(99))], now=backend.now())


def test_date_keys_step_through_the_presale_days(qtbot, window, keys, backend):
    sign_in(keys)
    view = window.saleView
    station, initials = destination_with_departures(backend)
    keys.type(initials)
    keys.enter()
    today = backend.today()
    assert view.date == today and "今天" in view.dateLabel.text()
    keys.press(Qt.Key.Key_PageDown)
    assert view.date.toordinal() == today.toordinal() + 1
    assert all(d.date == view.date.isoformat() for d in view.departures) and view.departures
    keys.press(Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    assert view.date.toordinal() == today.toordinal() + 2
    keys.press(Qt.Key.Key_PageUp)
    keys.press(Qt.Key.Key_PageUp)
    keys.press(Qt.Key.Key_PageUp)  # not before today
    assert view.date == today


def test_seats_chosen_on_the_seat_map_by_keyboard(qtbot, window, keys, backend):
    from tests.gui.conftest import has_focus

    _at_first_departure(keys, backend)
    view = window.saleView
    keys.press(Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    keys.type("2")  # two full-fare passengers
    keys.enter()
    keys.press(Qt.Key.Key_F9)
    dialog = window.dialog
    assert dialog is not None and dialog.objectName() == "seatMapDialog"
    assert has_focus(dialog.grid)
    start = dialog.current_seat()
    assert dialog.states[start] == "ours"
    keys.press(Qt.Key.Key_Down)  # one row back: four seats on
    keys.press(Qt.Key.Key_Space)
    keys.press(Qt.Key.Key_Right)
    keys.press(Qt.Key.Key_Space)
    keys.enter()
    assert window.dialog is None
    assert view.seats == [start + 4, start + 5]
    assert "座位：" in view.seatsLabel.text() and str(start + 4) in view.seatsLabel.text()
    for serial in (501, 502):
        keys.type(valid_id(serial))
        keys.enter()
        keys.type(f"乘客{serial}")
        keys.enter()
    keys.enter()
    keys.enter()
    seats = sorted(t.seat_no for serial in (501, 502) for t in tickets_of(backend, valid_id(serial)))
    assert seats == [start + 4, start + 5]


def test_e_payment_needs_its_reference(qtbot, window, keys, backend):
    _at_first_departure(keys, backend)
    view = window.saleView
    keys.type(valid_id(601))
    keys.enter()
    keys.type("孙八")
    keys.enter()
    keys.press(Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert view.epayEdit.isVisible() and not view.tenderedEdit.isVisible()
    keys.enter()
    assert "流水号" in view.messageLabel.text()
    keys.type("WX20261124000123")
    keys.enter()
    keys.enter()
    [ticket] = tickets_of(backend, valid_id(601))
    with backend.db.read() as session:
        from app.services.context import cursor

        cur = cursor(session)
        cur.execute("SELECT method, reference, amount FROM payments WHERE order_id = ?", (ticket.order_id,))
        assert cur.fetchone() == ("epay", "WX20261124000123", ticket.price)


def test_departure_status_in_words_and_colour(qtbot, window, keys, backend):
    from app.ui import theme

    sign_in(keys)
    view = window.saleView
    station, initials = destination_with_departures(backend, minimum=4)
    open_ = [d for d in backend.departures(station, backend.today()) if d.sellable]
    marked = {open_[0].id: "cancelled", open_[1].id: "delayed", open_[2].id: "boarding"}
    # Status changes as the provincial feed delivers them.
    with backend.db.transaction() as session:
        from app.services.context import cursor

        cur = cursor(session)
        for dep_id, status in marked.items():
            cur.execute("UPDATE departures SET status = ? WHERE id = ?", (status, dep_id))
    keys.type(initials)
    rows = {d.id: i for i, d in enumerate(view.departures)}
    words = {"cancelled": "停班", "delayed": "晚点", "boarding": "检票中"}
    for dep_id, status in marked.items():
        cell = view.departuresTable.item(rows[dep_id], 8)
        assert cell.text() == words[status]
        assert cell.foreground().color() == theme.STATUS_COLOURS[status]
        assert cell.font().bold()
    departed = next(d for d in view.departures if d.status == "departed")
    assert view.departuresTable.item(rows[departed.id], 8).text() == "已发车"
    keys.enter()
    view.departuresTable.setCurrentCell(rows[open_[0].id], 0)
    keys.enter()  # the cancelled bus
    assert view.departure is None and "停班" in view.messageLabel.text()
    view.departuresTable.setCurrentCell(rows[open_[1].id], 0)
    keys.enter()  # a delayed bus still sells
    assert view.departure is not None and view.departure.id == open_[1].id


def test_cursor_keys_reach_every_part_of_the_sale(qtbot, window, keys, backend):
    from tests.gui.conftest import has_focus

    ctrl = Qt.KeyboardModifier.ControlModifier
    _at_first_departure(keys, backend)
    view = window.saleView
    keys.press(Qt.Key.Key_M, ctrl)
    assert has_focus(view.tenderedEdit)
    keys.press(Qt.Key.Key_P, ctrl)
    assert has_focus(view.docNumberEdit)
    keys.press(Qt.Key.Key_B, ctrl)
    assert has_focus(view.departuresTable)
    keys.press(Qt.Key.Key_D, ctrl)
    assert has_focus(view.destinationEdit)
    keys.press(Qt.Key.Key_Right, ctrl)  # in the destination box too: the date, not the cursor
    assert view.date.toordinal() == backend.today().toordinal() + 1
    keys.press(Qt.Key.Key_Home, ctrl)
    assert view.date == backend.today()
    keys.press(Qt.Key.Key_R, ctrl)  # start again
    assert view.departure is None and view.destinationEdit.text() == "" and has_focus(view.destinationEdit)
    assert view.departuresTable.rowCount() == 0


def test_a_card_tapped_before_the_departure_is_kept_for_it(
    qtbot, reader_window, reader_keys, reader_sim, backend
):
    from drivers.idcard.simulator import SAMPLE_CARDS

    window, keys = reader_window, reader_keys
    sim, _ = reader_sim
    view = window.saleView
    _, initials = destination_with_departures(backend)
    keys.type(initials)
    sim.place("resident")  # the passenger is quicker than the clerk
    qtbot.waitUntil(lambda: "已读卡" in view.messageLabel.text(), timeout=5000)
    assert SAMPLE_CARDS["resident"]["name"] in view.messageLabel.text()
    keys.count = 0
    keys.enter()
    keys.enter()
    assert view.slots[0].doc_number == SAMPLE_CARDS["resident"]["number"]
    assert view.tenderedEdit.hasFocus()
    keys.enter()
    assert keys.count == 3
    assert len(tickets_of(backend, SAMPLE_CARDS["resident"]["number"])) == 1
    sim.lift()

"""The demo station's card key: Ctrl+Shift+F11 puts the next demo passenger's ID card on the
simulated reader at any moment, and the window reads it through the reader like a real tap — so the
README's three-key walk-up can be tried in the demo."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.services import sales
from tests.gui.conftest import Keyboard, destination_with_departures, make_window, sign_in

pytestmark = pytest.mark.gui

DEMO_CARD_KEY = (Qt.Key.Key_F11, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)


@pytest.fixture
def demo_window(qtbot, backend, tmp_path):
    """The counter window on the demo's reader simulator (a pty, empty at start, a card left on it
    read once — as `kezhan demo` starts it) with the demo card key bound."""
    from app.demo import DemoCards
    from app.ui.app import bind_demo_card
    from drivers.idcard.simulator import ReaderSimulator

    sim = ReaderSimulator(None, rearm=True)
    port = sim.start()
    cards = DemoCards(sim, tmp_path / "next-card")
    win = make_window(qtbot, backend, reader_port=port, reader_baud=115200)
    bind_demo_card(win, cards)
    qtbot.waitUntil(lambda: win.reader.state == "ready", timeout=5000)
    yield win, sim, cards
    win.close()
    sim.stop()


def test_the_demo_card_key_taps_the_next_passengers_card_for_a_three_key_walk_up(qtbot, demo_window, backend):
    window, sim, cards = demo_window
    keys = Keyboard(qtbot, window)
    assert not sim.card_present  # nothing on the reader to be read, and lost, at the log-in screen
    sign_in(keys)
    view = window.saleView
    station, initials = destination_with_departures(backend)
    sold = []
    for n in range(2):  # two walk-ups in a row on the same departure: two different people
        person = cards.card(n)
        keys.type(initials)
        keys.count = 0
        keys.enter()
        keys.enter()
        assert view.docNumberEdit.hasFocus()
        departure = view.departure
        qtbot.keyClick(window.focusWidget(), *DEMO_CARD_KEY)  # the passenger's tap: not a clerk's key
        qtbot.waitUntil(lambda p=person: view.slots[0].doc_number == p["number"], timeout=5000)
        assert view.slots[0].name == person["name"]
        assert person["name"] in window.findChild(type(window.linkLabel), "demoMessage").text()
        assert view.tenderedEdit.hasFocus()
        keys.enter()  # exact cash: sold, printed, back to the destination
        assert keys.count == 3
        (ticket,) = sales.find_tickets(backend.db, backend.terminal, doc_type="resident_id",
                                       doc_number=person["number"])
        assert ticket.departure_id == departure.id and ticket.status == "active"
        sold.append(ticket.ticket_id)
    assert cards.card(0)["number"] != cards.card(1)["number"] and len(set(sold)) == 2
    assert cards.taps == 2


def test_the_demo_cards_go_on_from_where_the_last_run_stopped(tmp_path):
    from app.demo import DemoCards
    from app.domain.identity import check_char
    from drivers.idcard.simulator import ReaderSimulator

    sim = ReaderSimulator(None)
    first = DemoCards(sim, tmp_path / "next-card")
    numbers = [first.tap_next()["number"] for _ in range(3)]
    again = DemoCards(sim, tmp_path / "next-card")
    numbers.append(again.tap_next()["number"])
    assert len(set(numbers)) == 4
    assert all(check_char(n[:17]) == n[17] for n in numbers)
    assert sim.card_present

"""After the terminal lost acknowledged sales, the clerk reads the roll's next blank off the paper
before the next ticket prints (issue 11, finding 4): the sale opens the question, a number the lost
sales may have printed is refused, the right one lets the sale go on, printed on that number."""

from __future__ import annotations

import pytest

from app.services import sales
from app.services.context import cursor
from app.store import sync_state
from tests.gui.conftest import destination_with_departures, sign_in, typed_sale, valid_id

pytestmark = pytest.mark.gui


def test_the_clerk_confirms_the_next_blank_and_the_sale_goes_on(qtbot, window, keys, backend):
    from app.ui.stock_confirm_dialog import StockConfirmDialog

    sign_in(keys)  # the roll starts at 00100001
    with backend.db.transaction() as session:  # what the sync client leaves when the server had more
        sync_state.put_setting_value(cursor(session), "stock_confirm", {"server_last_stock_no": "00100004"})
    _station, pinyin = destination_with_departures(backend)
    number = valid_id(431)
    typed_sale(keys, pinyin[:3], number)

    view = window.saleView
    dialog = window.dialog
    assert isinstance(dialog, StockConfirmDialog) and dialog.isVisible()
    assert "00100004" in dialog.reasonLabel.text() and "票卷" in dialog.reasonLabel.text()
    qtbot.waitUntil(dialog.nextStockEdit.hasFocus, timeout=5000)
    assert sales.find_tickets(backend.db, backend.terminal, doc_number=number) == []

    keys.type("00100002")  # the file's own next number: the lost sales may have printed it
    keys.enter()
    assert window.dialog is dialog and "00100005" in dialog.messageLabel.text()

    dialog.nextStockEdit.clear()
    keys.type("00100007")  # as read off the roll
    keys.enter()
    qtbot.waitUntil(lambda: window.dialog is None, timeout=5000)
    sold = sales.find_tickets(backend.db, backend.terminal, doc_number=number)
    assert [t.stock_no for t in sold] == ["00100007"]
    assert "已售 1 张" in view.lastSaleLabel.text()

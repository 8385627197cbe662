"""The supervisor's screen (值班站长): a supervisor signing in at a ticket window gets the station's day
— the province's figures online, this terminal's own offline and marked so — and cancels a departure
by keyboard, with a reason and the password; the counter then sells it no more. Screenshots of both
days are saved (``KEZHAN_SUPERVISOR_SCREENS=DIR`` keeps them)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.errors import RuleViolation
from app.services import PassengerIn, PaymentIn, open_shift, sell
from tests.gui.conftest import SUPERVISOR, SUPERVISOR_PASSWORD, Keyboard
from tests.gui.line_server import enrolled_window
from tests.gui.test_gui_look import unnamed_interactive

pytestmark = pytest.mark.gui


def screens(tmp_path) -> Path:
    out = Path(os.environ.get("KEZHAN_SUPERVISOR_SCREENS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    return out


def sign_in_supervisor(qtbot, keys, window, code=SUPERVISOR, password=SUPERVISOR_PASSWORD) -> dict:
    keys.type(code)
    keys.enter()
    keys.type(password)
    keys.enter()
    qtbot.waitUntil(lambda: window.supervisorMode is not None and window.supervisorMode.view.figures is not None,
                    timeout=10000)
    return window.supervisorMode.view.figures


def test_offline_the_day_is_this_terminals_and_a_cancel_stops_the_sale(qtbot, window, keys, backend, clock, tmp_path):
    figures = sign_in_supervisor(qtbot, keys, window)
    mode = window.supervisorMode
    view = mode.view
    assert window.stack.currentWidget() is view
    assert figures["source"] == "terminal"
    assert view.sourceLabel.text().startswith("离线：仅为本机")
    assert view.figuresTable.item(0, 0).text() == "窗口售票"
    assert view.departuresTable.rowCount() == len(figures["departures"]) > 0
    # The counter's keys are off, the supervisor's on; its buttons are in the bar.
    assert not window.actions["refund"].isEnabled() and mode.actions["sup_cancel"].isEnabled()
    assert mode.buttons["sup_cancel"].text() == "F3 停班"
    assert unnamed_interactive(window) == []
    QApplication.processEvents()
    assert window.grab().save(str(screens(tmp_path) / "supervisor-offline.png"))
    # F12: in English, the figures and the offline mark too.
    keys.press(Qt.Key.Key_F12)
    try:
        assert view.sourceLabel.text() == ("Offline: only what this terminal 330102001-T01 knows "
                                           "(no provincial server configured)")
        assert view.figuresTable.item(0, 0).text() == "Window sales"
        assert mode.buttons["sup_cancel"].text() == "F3 Cancel the departure"
        assert window.clerkLabel.text() == f"Supervisor {SUPERVISOR} 王站长"
        QApplication.processEvents()
        assert window.grab().save(str(screens(tmp_path) / "supervisor-offline-en.png"))
    finally:
        keys.press(Qt.Key.Key_F12)
    assert view.sourceLabel.text().startswith("离线：仅为本机")

    # The first departure still to leave: F3, the reason, the password, Enter.
    row = next(i for i, d in enumerate(figures["departures"])
               if d["status"] == "normal" and d["time"] > "07:30")
    target = figures["departures"][row]["departure_id"]
    view.departuresTable.selectRow(row)
    keys.press(Qt.Key.Key_F3)
    dialog = window.dialog
    assert dialog is not None and dialog.objectName() == "supervisor_cancelDialog"
    assert dialog.supervisorCodeEdit.text() == SUPERVISOR
    keys.type("车辆故障")
    keys.enter()  # to the code, filled in
    keys.enter()  # to the password
    keys.type(SUPERVISOR_PASSWORD)
    keys.enter()
    assert window.dialog is None, dialog.messageLabel.text()
    assert view.messageLabel.text().startswith(f"已停班 {target}")
    qtbot.waitUntil(lambda: view.departuresTable.item(row, 3).text().startswith("停班"), timeout=10000)
    assert window.grab().save(str(screens(tmp_path) / "supervisor-cancelled.png"))
    # A sale of it is refused at the counter.
    open_shift(backend.db, backend.terminal, clerk="1001", first_stock_no="00100001", last_stock_no="00100100",
               now=clock())
    with pytest.raises(RuleViolation) as refused:
        sell(backend.db, backend.terminal, clerk="1001", departure_id=target, stop=_last_stop(backend, target),
             passengers=[PassengerIn("full", "张三", doc_number="110101199003070011")], payment=PaymentIn("cash"),
             now=clock() + timedelta(minutes=1))
    assert refused.value.code == "CANCELLED"

    # Signing out gives the counter its keys back.
    keys.press(Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.stack.currentWidget() is window.loginView
    assert window.actions["refund"].isEnabled() and not mode.actions["sup_cancel"].isEnabled()


def _last_stop(backend, departure_id: str) -> str:
    from app.services.context import cursor

    with backend.db.read() as session:
        cur = cursor(session)
        cur.execute("SELECT s.station FROM departures d JOIN route_stops s ON s.route = d.route WHERE d.id = ? "
                    "ORDER BY s.seq DESC LIMIT 1", (departure_id,))
        return cur.fetchone()[0]


def test_online_the_day_is_the_provinces(qtbot, server, tmp_path):
    from app.store.users import ensure_user

    window, client, db = enrolled_window(qtbot, server, tmp_path / "terminal.sqlite3")
    try:
        with db.transaction() as session:
            ensure_user(session, SUPERVISOR, "王站长", "supervisor", SUPERVISOR_PASSWORD)
        qtbot.waitUntil(lambda: window.linkLabel.text() == "链路：在线", timeout=10000)
        keys = Keyboard(qtbot, window)
        figures = sign_in_supervisor(qtbot, keys, window)
        view = window.supervisorMode.view
        assert figures["source"] == "server"
        assert view.sourceLabel.text() == "省平台数据（全站各终端）"
        # PgDown: tomorrow, when the test line's departures leave.
        keys.press(Qt.Key.Key_PageDown)
        qtbot.waitUntil(lambda: view.figures["date"] != figures["date"], timeout=10000)
        assert view.figures["source"] == "server"
        assert [d["time"] for d in view.figures["departures"]] == ["09:00", "13:00"]
        QApplication.processEvents()
        assert window.grab().save(str(screens(tmp_path) / "supervisor-online.png"))
        # F6: the day as CSV, named for the province's figures.
        keys.press(Qt.Key.Key_F6)
        assert "已导出" in view.messageLabel.text()
        path = Path(view.messageLabel.text().split("：", 1)[1])
        assert path.name.endswith("-province.csv")
        text = path.read_text(encoding="utf-8-sig")
        assert "数据来源,省平台" in text and "09:00" in text
        # F3 on the 09:00 online: listed as cancelled at once, and on the server once uploaded.
        target = view.figures["departures"][0]["departure_id"]
        view.departuresTable.selectRow(0)
        keys.press(Qt.Key.Key_F3)
        keys.type("车辆故障")
        keys.enter()
        keys.enter()
        keys.type(SUPERVISOR_PASSWORD)
        keys.enter()
        assert window.dialog is None
        qtbot.waitUntil(lambda: view.departuresTable.item(0, 3).text() == "停班", timeout=10000)
        assert view.figures["source"] == "server"

        def on_server():
            with server.server.reader() as conn:
                from sqlalchemy import select

                from sync.server import models
                D = models.departures
                return conn.execute(select(D.c.status).where(D.c.id == target)).scalar_one() == "cancelled"

        qtbot.waitUntil(on_server, timeout=10000)
    finally:
        window.close()
        db.dispose()


def test_a_ticket_of_a_cancelled_departure_is_refunded_in_full_at_f11(qtbot, window, keys, backend):
    from app.domain.money import format_price
    from tests.gui.conftest import sign_in
    from tests.gui.test_gui_operations import events, sell_one, ticket
    from tests.gui.test_gui_tasks import cells

    sign_in(keys)
    job, departure, _ = sell_one(backend, 703)
    keys.press(Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    figures = sign_in_supervisor(qtbot, keys, window)
    view = window.supervisorMode.view
    view.departuresTable.selectRow(next(i for i, d in enumerate(figures["departures"]) if d["departure_id"] == job.departure_id))
    keys.press(Qt.Key.Key_F3)
    keys.type("驾驶员生病")
    keys.enter()
    keys.enter()
    keys.type(SUPERVISOR_PASSWORD)
    keys.enter()
    assert view.messageLabel.text() == f"已停班 {job.departure_id}：1 张车票转为免费退票任务"
    keys.press(Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)

    # The clerk: the task is in the status bar and at F11; Enter, Enter refunds every fen.
    sign_in(keys)
    if window.dialog is not None:  # the sale's paper never printed (sold through the service): later
        assert window.dialog.objectName() == "unprintedDialog"
        keys.press(Qt.Key.Key_Escape)
    assert window.tasksLabel.text() == "待处理冲突：1（F11 处理）"
    keys.press(Qt.Key.Key_F11)
    dialog = window.dialog
    row = cells(dialog.tasksTable, 0)
    assert row[0] == job.ticket_id and row[6] == "班次已停班" and row[7] == "全额退票"
    keys.enter()
    price = ticket(backend, job.ticket_id).price
    assert dialog.quoteLabel.text() == f"全额退款 {format_price(price)}（停班退票，手续费 {format_price(0)}）"
    keys.enter()
    assert dialog.messageLabel.text() == f"已全额退票，退款 {format_price(price)}"
    [refunded] = events(backend, "ticket.refunded")
    assert (refunded["fee"], refunded["refund_amount"]) == (0, price)
    keys.press(Qt.Key.Key_Escape)
    assert not window.tasksLabel.isVisible()

"""The demo station's link key: Ctrl+Shift+F12 cuts the embedded provincial server — the counter
sells on from its leased seats while the queue grows — and restores it — the queue drains."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt

pytestmark = pytest.mark.gui


def demo_message(window) -> str:
    from PySide6.QtWidgets import QLabel

    label = window.findChild(QLabel, "demoMessage")
    return label.text() if label is not None and label.isVisible() else ""


def watchable(window) -> None:
    """The demo's message covers nothing: the link and the pending count are on screen beside it."""
    bar = window.statusBar()
    assert bar.currentMessage() == ""
    for label in (window.linkLabel, window.pendingLabel):
        assert label.isVisible() and not label.visibleRegion().isEmpty(), label.objectName()


def test_cutting_and_restoring_the_demo_server(qtbot, tmp_path):
    from app import demo
    from app.services import sales
    from app.services.sales import PassengerIn
    from app.services.shifts import open_shift
    from app.ui import theme
    from app.ui.app import bind_demo_link, build_window
    from app.ui.backend import Backend
    from app.ui.sync_status import SyncStatus
    from sync.client import SyncClient

    station = demo.start_station(tmp_path / "station", with_reader=False)
    client = SyncClient(station.db, server_url=station.server.url, terminal=station.terminal, interval=0.3,
                        backoff_base=0.05, backoff_cap=0.3, timeout=(0.5, 2.0), lease_horizon=timedelta(days=2))
    sync = SyncStatus(client)
    theme.set_language("zh_CN")
    backend = Backend(station.db, station.terminal, language=theme.language, on_local_event=sync.nudge)
    window = build_window(backend, sync=sync)
    bind_demo_link(window, station, sync)
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.linkLabel.text() == "链路：在线", timeout=15000)
        qtbot.waitUntil(lambda: demo._leased_departure(station) is not None, timeout=15000)

        qtbot.keyClick(window, Qt.Key.Key_F12, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        qtbot.waitUntil(lambda: station.server is None, timeout=15000)
        qtbot.waitUntil(lambda: window.linkLabel.text().startswith("链路：离线"), timeout=15000)
        assert "已断开" in demo_message(window)
        watchable(window)

        # Offline, the counter sells a seat leased to it; the event waits in the queue.
        now = datetime.now(UTC)
        open_shift(station.db, station.terminal, clerk=demo.CLERK, first_stock_no="00500001", now=now)
        departure, stop = demo._leased_departure(station)
        passenger = PassengerIn("full", "钱多多", "resident_id", demo.id_number("33010819960606", 44, male=True))
        sale = sales.sell(station.db, station.terminal, clerk=demo.CLERK, departure_id=departure, stop=stop,
                          passengers=[passenger], now=now)
        backend.after_local_event()
        qtbot.waitUntil(lambda: window.pendingLabel.text() == "待上传：2", timeout=10000)

        qtbot.keyClick(window, Qt.Key.Key_F12, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        qtbot.waitUntil(lambda: "已恢复" in demo_message(window), timeout=20000)
        # The message is up while the queue drains, and the count it is about stays in sight.
        watchable(window)
        qtbot.waitUntil(lambda: window.linkLabel.text() == "链路：在线", timeout=20000)
        qtbot.waitUntil(lambda: window.pendingLabel.text() == "待上传：0", timeout=20000)
        on_server = station.server.server.export_tickets(terminal_id=station.terminal.terminal_id)
        assert sale.ticket_ids[0] in {t["ticket_id"] for t in on_server}
    finally:
        window.close()
        sync.stop()
        station.stop()

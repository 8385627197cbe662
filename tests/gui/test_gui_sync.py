"""The status bar against the real reference server on loopback: online after the first cycle, the
sale uploaded (nothing pending), and offline once the server is gone — while selling goes on."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.gui.conftest import Keyboard, sell_for_cash, sign_in, valid_id
from tests.gui.line_server import CLERK, CLERK_PW, enrolled_station, enrolled_window, server_events

pytestmark = pytest.mark.gui


def test_status_bar_follows_the_link(qtbot, server, tmp_path):
    window, client, db = enrolled_window(qtbot, server, tmp_path / "terminal.sqlite3")
    try:
        qtbot.waitUntil(lambda: window.linkLabel.text() == "链路：在线", timeout=10000)
        assert window.syncLabel.text() != "上次同步：从未"
        keys = Keyboard(qtbot, window)
        sign_in(keys, CLERK, CLERK_PW)
        view = window.saleView
        keys.type("SX")
        keys.enter()
        keys.press(Qt.Key.Key_PageDown)  # the tiny province runs from tomorrow
        keys.press(Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
        keys.enter()
        assert view.departure is not None, view.messageLabel.text()
        sell_for_cash(keys, valid_id(801), "周九")
        assert "已售 1 张" in view.lastSaleLabel.text()
        # The sale nudged the uploader: the queue drains to the server.
        qtbot.waitUntil(lambda: window.pendingLabel.text() == "待上传：0", timeout=10000)
        with db.read() as session:
            from app.services.context import cursor

            cur = cursor(session)
            cur.execute("SELECT seq, hash FROM outbox ORDER BY seq")
            local = [tuple(r) for r in cur.fetchall()]
        assert len(local) == 2  # the shift opened, the sale
        assert server_events(server, client.terminal_id) == local

        server.stop()
        qtbot.waitUntil(lambda: window.linkLabel.text().startswith("链路：离线"), timeout=15000)
        assert window.linkLabel.property("state") == "bad"
    finally:
        window.close()
        db.dispose()


_RUN_GUI = """
import json, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from app.config import Config
from app.ui.app import application, run_gui
from app.ui.main_window import MainWindow

config = Config()
config.database.path, config.server.url = sys.argv[1], sys.argv[2]
config.terminal.language = "en"
seen, tries = {}, list(range(100))

def look():
    windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
    if windows and windows[0].linkLabel.text() == "Link: online" or tries.pop() == 0:
        window = windows[0] if windows else None
        seen["title"] = window.windowTitle() if window else None
        seen["link"] = window.linkLabel.text() if window else None
        seen["station"] = window.loginView.stationLabel.text() if window else None
        if window:
            window.close()
        QApplication.instance().quit()
    else:
        QTimer.singleShot(100, look)

application()
QTimer.singleShot(100, look)
code = run_gui(config)
print(json.dumps({"code": code, **seen}))
"""


def test_run_gui_opens_the_counter_window_on_the_configured_station(server, tmp_path):
    # In a process of its own, as `kezhan gui` runs: run_gui owns the application's event loop
    # and routes Qt's messages to the log, neither of which may outlive it inside the test session.
    import json
    import os
    import subprocess
    import sys

    path = tmp_path / "station.sqlite3"
    enrolled_station(server, path).dispose()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", KEZHAN_HOME=str(tmp_path / "home"))
    result = subprocess.run([sys.executable, "-c", _RUN_GUI, str(path), server.url], capture_output=True,
                            text=True, env=env, timeout=90, cwd=os.getcwd())
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["code"] == 0
    assert seen["title"] == "Kezhan — ticket window"
    assert seen["link"] == "Link: online"
    assert "330102001-T" in seen["station"]


def test_the_status_bar_says_a_seat_is_being_asked_and_offline_once_the_ask_finds_no_link(qtbot, server, tmp_path):
    """A pool seat is asked of the server while the sale waits on the GUI thread: the status bar says
    so, under a wait cursor, for as long as the ask lasts. When the ask finds the link gone, the bar
    says offline at once, without waiting for the sync worker's next cycle."""
    from PySide6.QtWidgets import QApplication

    from app.errors import SyncError
    from tests.gui.line_server import province_doc

    # A worker that, once online, would not look at the link again for a minute.
    window, client, db = enrolled_window(qtbot, server, tmp_path / "terminal.sqlite3", interval=60)
    try:
        qtbot.waitUntil(lambda: window.linkLabel.text() == "链路：在线", timeout=10000)
        departure_id = province_doc()["departures"][0]["id"]
        asking = []
        real = client.confirm_seat

        def spy(dep, seat):
            cursor = QApplication.overrideCursor()
            asking.append((window.linkLabel.text(), cursor.shape() if cursor else None))
            return real(dep, seat)

        client.confirm_seat = spy
        assert window.sync.confirm_seat(departure_id, None) > 0
        assert asking == [("链路：正在向省平台确认座位…", Qt.CursorShape.WaitCursor)]
        assert window.linkLabel.text() == "链路：在线" and QApplication.overrideCursor() is None

        server.stop()
        with pytest.raises(SyncError) as refused:
            window.sync.confirm_seat(departure_id, None)
        assert refused.value.code == "OFFLINE" and QApplication.overrideCursor() is None
        qtbot.waitUntil(lambda: window.linkLabel.text().startswith("链路：离线"), timeout=2000)
        assert window.linkLabel.property("state") == "bad"
    finally:
        window.close()
        db.dispose()

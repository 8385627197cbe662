"""The sign-in screen before the services have loaded (app.ui.app.StartingBackend): what the clerk
sees, and a sign-in typed meanwhile that goes through once they have."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.gui.conftest import CLERK, CLERK_PASSWORD, make_window


def test_a_sign_in_typed_while_the_services_load_goes_through_once_they_have(qtbot, backend):
    from app.ui.app import StartingBackend

    win = make_window(qtbot, StartingBackend())
    try:
        view = win.loginView
        assert win.stack.currentWidget() is view
        assert view.stationLabel.text() == ""  # no station name before the database is open
        assert win.clerkLabel.text() == "未登录"
        qtbot.keyClicks(view.codeEdit, CLERK)
        qtbot.keyClick(view.codeEdit, Qt.Key.Key_Return)
        qtbot.keyClicks(view.passwordEdit, CLERK_PASSWORD)
        qtbot.keyClick(view.passwordEdit, Qt.Key.Key_Return)
        # Nothing to check the password against yet: the screen keeps what was typed, says nothing.
        assert win.stack.currentWidget() is view
        assert view.passwordEdit.text() == CLERK_PASSWORD and view.messageLabel.text() == ""

        win.attach(backend)

        assert backend.user is not None and backend.user.code == CLERK
        assert win.stack.currentWidget() is win.shiftView  # no open shift yet: the roll's number next
        assert backend.station_title() in view.stationLabel.text()
        assert CLERK in win.clerkLabel.text()
    finally:
        win.close()


def test_without_an_early_sign_in_the_attached_window_waits_for_the_clerk(qtbot, backend):
    from app.ui.app import StartingBackend

    win = make_window(qtbot, StartingBackend())
    try:
        win.attach(backend)
        assert backend.user is None
        assert win.stack.currentWidget() is win.loginView
        assert win.loginView.stationLabel.text() == backend.station_title()
        qtbot.keyClicks(win.loginView.codeEdit, CLERK)
        qtbot.keyClick(win.loginView.codeEdit, Qt.Key.Key_Return)
        qtbot.keyClicks(win.loginView.passwordEdit, CLERK_PASSWORD)
        qtbot.keyClick(win.loginView.passwordEdit, Qt.Key.Key_Return)
        assert backend.user is not None and win.stack.currentWidget() is win.shiftView
    finally:
        win.close()


def test_the_window_keys_before_the_services_load_do_nothing_and_break_nothing(qtbot, backend):
    from app.ui.app import StartingBackend

    win = make_window(qtbot, StartingBackend())
    try:
        for action_id in ("sale", "refund", "shift_close", "seat_map", "tasks", "unprinted", "date_today",
                          "date_next", "logout"):
            win.actions[action_id].trigger()
        assert win.dialog is None and win.stack.currentWidget() is win.loginView
        win.attach(backend)
        assert win.stack.currentWidget() is win.loginView and backend.user is None
    finally:
        win.close()


def test_the_windows_sync_status_confirms_a_seat_through_the_client_it_builds_on_its_thread(qtbot, server, tmp_path):
    """`SyncStatus.for_config` (what `kezhan gui` uses) builds the client on the sync thread; the
    terminal's seat confirmer, set at once, reaches the reference server through it."""
    from app.config import Config
    from app.ui.sync_status import SyncStatus
    from sync.client import SyncClient, make_terminal
    from tests.gui.line_server import enrolled_station, province_doc

    db = enrolled_station(server, tmp_path / "terminal.sqlite3")
    # A window sells only departures its file holds: pull them first, as the window's first cycle
    # would (asking for a seat of a departure the file has never seen is not what is tested here).
    assert SyncClient(db).run_once().ok
    terminal = make_terminal(db)
    config = Config()
    config.server.url = server.url
    sync = SyncStatus.for_config(config, db, terminal)
    try:
        assert terminal.seat_confirmer == sync.confirm_seat
        departure_id = province_doc()["departures"][0]["id"]
        seat = terminal.seat_confirmer(departure_id, 7)
        assert seat == 7 and sync.client is not None
    finally:
        sync.stop()
        db.dispose()

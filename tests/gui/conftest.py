"""GUI test fixtures: a real demo database, the real services, the real simulators, real widgets.

The demo province is generated and loaded once per test session into a template file; each test
gets its own copy, so tests never see each other's sales. The clock is fixed at 07:00 station time
on the first demo day, so the day's departures are open for sale and the rules behave the same on
every run.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

ZONE = ZoneInfo("Asia/Shanghai")
CLERK, CLERK_PASSWORD = "1001", "1234"
CLERK2, CLERK2_PASSWORD = "1002", "2345"
SUPERVISOR, SUPERVISOR_PASSWORD = "9001", "9999"
FIRST_STOCK = "00100001"


class Clock:
    """The station clock the services see; tests move it forward."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> None:
        self.now = self.now + timedelta(**kw)


@pytest.fixture(scope="session")
def demo_day():
    return datetime.now(ZONE).date()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory, demo_day):
    from app.demodata import demo_province
    from app.store.engine import open_database
    from app.store.province import load_province
    from app.store.users import ensure_user

    folder = tmp_path_factory.mktemp("demo-db")
    path = folder / "template.sqlite3"
    db = open_database(path)
    doc = demo_province(demo_day)
    with db.transaction() as session:
        load_province(session, doc, zone=ZONE)
        ensure_user(session, CLERK, "李售票", "clerk", CLERK_PASSWORD)
        ensure_user(session, CLERK2, "张售票", "clerk", CLERK2_PASSWORD)
        ensure_user(session, SUPERVISOR, "王站长", "supervisor", SUPERVISOR_PASSWORD)
    db.engine.dispose()
    return path, doc


@pytest.fixture
def demo_db(demo_template, tmp_path):
    from app.store.engine import open_database

    template, doc = demo_template
    path = tmp_path / "kezhan.sqlite3"
    shutil.copyfile(template, path)
    db = open_database(path)
    yield db, doc
    db.engine.dispose()


@pytest.fixture
def clock(demo_day):
    return Clock(datetime.combine(demo_day, time(7, 0), tzinfo=ZONE).astimezone(UTC))


@pytest.fixture
def terminal(demo_template):
    from app.services.context import Terminal

    _, doc = demo_template
    home = doc["home_station"]
    return Terminal(station_code=home, terminal_id=f"{home}-T01", signing_key=bytes(range(32)),
                    doc_hash_key=b"kezhan-gui-tests-doc-hash-key-32")


@pytest.fixture
def backend(demo_db, terminal, clock):
    from app.ui import theme
    from app.ui.backend import Backend

    db, _ = demo_db
    return Backend(db, terminal, presale_days=10, clock=clock, language=theme.language)


def make_window(qtbot, backend, **devices):
    """The counter window, shown at the counter's screen size in Chinese, with ``devices`` as
    build_window takes them (printer_target, reader_port, ...)."""
    from app.ui import theme
    from app.ui.app import build_window

    theme.set_language("zh_CN")
    win = build_window(backend, width=1366, **devices)
    qtbot.addWidget(win)
    win.resize(1366, 768)
    win.show()
    qtbot.waitExposed(win)
    return win


@pytest.fixture
def window(qtbot, backend):
    """The counter window with no devices configured (jobs go to the preview only)."""
    from app.ui import theme

    win = make_window(qtbot, backend)
    yield win
    win.close()
    theme.set_language("zh_CN")


def pytest_collection_modifyitems(items):
    # The offscreen platform plugin says this whenever a top-level window is shown; it is about
    # the plugin, not about the window, and no other Qt warning is tolerated.
    for item in items:
        if "tests/gui/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints"))


class Keyboard:
    """Presses keys where a clerk's keyboard would: into whatever has the focus (the open dialog's
    focus widget, else the window's). Counts every key pressed and every character typed."""

    def __init__(self, qtbot, window) -> None:
        self.qtbot = qtbot
        self.window = window
        self.count = 0

    def target(self):
        top = self.window.dialog or self.window
        widget = top.focusWidget()
        assert widget is not None, "nothing has the keyboard focus"
        return widget

    def type(self, text: str) -> None:
        """ASCII as key presses; hanzi as an input method commits them (one commit per character)."""
        from PySide6.QtGui import QInputMethodEvent
        from PySide6.QtWidgets import QApplication

        self.count += len(text)
        for char in text:
            if char.isascii():
                self.qtbot.keyClicks(self.target(), char)
            else:
                event = QInputMethodEvent()
                event.setCommitString(char)
                QApplication.sendEvent(self.target(), event)

    def press(self, key, modifier=None) -> None:
        from PySide6.QtCore import Qt

        self.count += 1
        self.qtbot.keyClick(self.target(), key, modifier or Qt.KeyboardModifier.NoModifier)

    def enter(self) -> None:
        from PySide6.QtCore import Qt

        self.press(Qt.Key.Key_Return)


@pytest.fixture
def server(tmp_path):
    """The reference server on loopback with the small test line (tests/gui/line_server.py)."""
    from tests.gui.line_server import line_server

    yield from line_server(tmp_path)


@pytest.fixture
def printer_sim(tmp_path):
    """The TCP 9100 printer simulator, for a window given its target."""
    from drivers.printer.simulator import PrinterSimulator

    sim = PrinterSimulator(tmp_path / "printer").start()
    yield sim
    sim.stop()


@pytest.fixture
def keys(qtbot, window):
    return Keyboard(qtbot, window)


@pytest.fixture
def reader_sim():
    """The ID card reader simulator on a pty: (simulator, port)."""
    from drivers.idcard.simulator import ReaderSimulator

    sim = ReaderSimulator()
    port = sim.start()
    yield sim, port
    sim.stop()


@pytest.fixture
def reader_window(qtbot, backend, reader_sim):
    """The counter window reading cards from ``reader_sim``, once its reader is ready."""
    _, port = reader_sim
    win = make_window(qtbot, backend, reader_port=port, reader_baud=115200)
    qtbot.waitUntil(lambda: win.reader.state == "ready", timeout=5000)
    yield win
    win.close()


@pytest.fixture
def reader_keys(qtbot, reader_window):
    """The keyboard of ``reader_window``, signed in."""
    keys = Keyboard(qtbot, reader_window)
    sign_in(keys)
    return keys


def sign_in(keys, code=CLERK, password=CLERK_PASSWORD, stock=FIRST_STOCK) -> None:
    """Log in and open the shift, by keyboard, landing in the sale view."""
    keys.type(code)
    keys.enter()
    keys.type(password)
    keys.enter()
    if keys.window.stack.currentWidget() is keys.window.shiftView:
        keys.type(stock)
        keys.enter()
    assert keys.window.selling(), keys.window.loginView.messageLabel.text() or keys.window.shiftView.messageLabel.text()


def take_passenger(keys, id_number: str, name: str) -> None:
    """The real-name step of a walk-up sale, typed: ID number, Enter, name, Enter."""
    keys.type(id_number)
    keys.enter()
    keys.type(name)
    keys.enter()


def sell_for_cash(keys, id_number: str, name: str) -> None:
    """A walk-up sale of the picked departure, exact cash: the passenger, then Enter to pay, Enter to confirm."""
    take_passenger(keys, id_number, name)
    keys.enter()
    keys.enter()


def typed_sale(keys, initials: str, number: str, name: str = "赵六") -> None:
    """A whole walk-up sale typed: the destination's initials, Enter to pick it, Enter for the first
    departure, then the passenger paying exact cash."""
    keys.type(initials)
    keys.enter()
    keys.enter()
    sell_for_cash(keys, number, name)


def printer_window(qtbot, backend, printer_sim):
    """The counter window printing to ``printer_sim``, once the printer reports ready, and its
    keyboard with the clerk signed in: (window, keys)."""
    window = make_window(qtbot, backend, printer_target=printer_sim.target)
    qtbot.waitUntil(lambda: window.printerLabel.text() == "打印机：就绪", timeout=5000)
    keys = Keyboard(qtbot, window)
    sign_in(keys)
    return window, keys


def valid_id(serial: int, birth: str = "19900101", region: str = "330102") -> str:
    """A resident ID number that passes GB 11643 (the check character from the domain)."""
    from app.domain.identity import check_char

    first17 = f"{region}{birth}{serial % 1000:03d}"
    return first17 + check_char(first17)


def destination_with_departures(backend, minimum: int = 2):
    """(station, pinyin) of a destination whose initials list it first and which has at least
    ``minimum`` sellable departures today."""
    with backend.db.read() as session:
        from app.services.context import cursor

        cur = cursor(session)
        cur.execute(
            "SELECT s.code, s.pinyin FROM route_stops rs JOIN departures d ON d.route = rs.route AND d.date = ? "
            "JOIN stations s ON s.code = rs.station WHERE rs.seq > 0 GROUP BY s.code ORDER BY count(*) DESC",
            (backend.today().isoformat(),),
        )
        rows = cur.fetchall()
    for code, pinyin in rows:
        hits = backend.suggest(pinyin)
        if hits and hits[0].code == code:
            sellable = [d for d in backend.departures(code, backend.today()) if d.sellable]
            if len(sellable) >= minimum:
                return code, pinyin
    raise AssertionError("the demo province has no destination to sell to")


def has_focus(widget) -> bool:
    """The widget holds its window's keyboard focus (offscreen, a new dialog is not always the
    active window, so Qt's hasFocus() would say no even though keys go there)."""
    return widget.window().focusWidget() is widget

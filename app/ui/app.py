"""Starting the counter window, and saving its screenshots.

``run_gui(config)`` is what ``kezhan gui`` runs; ``kezhan demo`` passes :class:`DemoDevices` so the
window uses the simulators and the embedded server. ``save_screens`` renders the main screens
offscreen for ``kezhan demo --headless --out DIR`` (into ``DIR/screens/``) and for the tests.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

log = logging.getLogger("kezhan.ui")

SIZES = ((1366, 768), (1920, 1080))


@dataclass
class DemoDevices:
    """What the demo station wires into the window instead of real hardware.

    ``printer_target``: a printer target string (``tcp:127.0.0.1:9100`` for the printer simulator).
    ``reader_port``: the ID card reader simulator's port or ``socket://`` URL.
    ``scanner_port``: the scanner simulator's port. ``terminal``: the services' Terminal (made from
    the enrolled identity when None). ``sync``: a sync status source with ``snapshot()``,
    ``status_changed``, ``seat_confirming``, ``nudge()`` and ``stop()`` (see app/ui/sync_status.py). ``clock``: the
    station clock the services see. ``presale_days``: overrides the configured value.
    """

    printer_target: str | None = None
    reader_port: str | None = None
    scanner_port: str | None = None
    terminal: object | None = None
    sync: object | None = None
    clock: Callable[[], datetime] | None = None
    presale_days: int | None = None
    extra: dict = field(default_factory=dict)


def application():
    """The one QApplication (created on first use)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication([])
        app.setApplicationName("kezhan")
        app.setOrganizationName("kezhan")
    return app


def route_qt_messages() -> None:
    """Qt's own warnings go to our log, not to the console. Not for tests: pytest-qt installs its
    own handler there so that an unexpected warning fails the test."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    qt_log = logging.getLogger("kezhan.qt")
    levels = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
              QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
              QtMsgType.QtFatalMsg: logging.CRITICAL}

    def handler(kind, context, message):
        qt_log.log(levels.get(kind, logging.WARNING), "%s", message)

    qInstallMessageHandler(handler)


def build_window(backend, *, width: int = 1366, printer_target: str | None = None, reader_port: str | None = None,
                 reader_baud: str | int = "auto", scanner_port: str | None = None, sync=None, gate=None,
                 role: str = "window", ask_printer: bool = True):
    """The counter window over ``backend`` with its device adapters (none configured: preview only).
    ``gate`` (an :class:`app.ui.gate_backend.GateBackend`) and ``role`` ("window", "gate", "both",
    the terminal's ``terminal.role``) make it a gate too: a gate checker signing in gets the gate view."""
    from app.ui import theme
    from app.ui.devices import PrinterDevice, ReaderDevice, ScannerDevice, WedgeFilter
    from app.ui.main_window import MainWindow

    app = application()
    theme.apply(app, width)
    printer = PrinterDevice(printer_target, ask_now=ask_printer)
    reader = ReaderDevice(reader_port, reader_baud)
    scanner = ScannerDevice(scanner_port)
    window = MainWindow(backend, printer, reader, scanner, sync, gate=gate, role=role)
    for device in (printer, reader, scanner):
        device.setParent(window)
    window.wedge = WedgeFilter(scanner, window, active=window.scan_target)
    app.installEventFilter(window.wedge)
    return window


def _archive_at_startup(db, config, demo: DemoDevices) -> None:
    """The quiet moment for retention: before anyone signs in, bounded in time (docs/store.md)."""
    from datetime import UTC

    from app.services.retention import archive_at_startup
    from sync.client.client import CURSOR_ACKED

    now = demo.clock() if demo.clock is not None else datetime.now(UTC)
    archive_at_startup(db, keep_days=config.database.keep_days, zone=config.zone, now=now, acked_cursor=CURSOR_ACKED)


def run_setup(pending: list[str], *, language: str | None = None, session=None) -> bool:
    """The set-up wizard on the steps still to do; True once the technician finished it."""
    from app import setup as setup_steps
    from app.ui import theme
    from app.ui.setup_wizard import SetupWizard

    app = application()
    route_qt_messages()
    screen = app.primaryScreen()
    theme.apply(app, screen.availableGeometry().width() if screen is not None else 1366)
    session = session or setup_steps.SetupSession()
    theme.set_language(language or session.config.terminal.language)
    wizard = SetupWizard(session, pending)
    wizard.resize(1100, 720)
    wizard.show()
    wizard.raise_()
    wizard.activateWindow()
    return wizard.exec() == wizard.DialogCode.Accepted


def run_gui(config, *, demo: DemoDevices | None = None) -> int:
    """Open the counter window on the configured database; returns the exit code."""
    from app.errors import StorageError
    from app.services.station import hold_station
    from app.ui import theme

    demo = demo or DemoDevices()
    app = application()
    route_qt_messages()
    screen = app.primaryScreen()
    width = screen.availableGeometry().width() if screen is not None else 1366
    theme.set_language(config.terminal.language)
    path = Path(config.db_path)
    if not path.exists():
        raise StorageError(f"数据库文件不存在：{path}（请先运行 kezhan demo 或 kezhan db migrate）",
                           en=f"no database at {path} (run kezhan demo or kezhan db migrate first)",
                           code="NO_DATABASE")
    # One window per database: two windows on one file sell as one terminal, each with its own idea
    # of the clerk's shift and the roll in the printer. The lock is the OS's: a crash leaves none.
    instance = hold_station(path, "kezhan gui")
    from app.running import hold_running_mark

    hold_running_mark()  # the installer's sign that a window is open (Windows)
    try:
        return _run_window(config, demo, app, screen, width, path)
    finally:
        instance.release()


class StartingBackend:
    """The window's backend while the services load, right after the first paint: nobody signed in,
    nothing counted yet. The load runs on the GUI thread, so a key the clerk types meanwhile waits in
    the event queue and reaches the real backend; a sign-in asked for before the load began waits
    for it (LoginView.submit_pending)."""

    starting = True  # LoginView keeps a sign-in asked for now until the real backend is attached
    user = None
    terminal = None

    def station_title(self) -> str:
        return ""

    def pending_events(self) -> int | None:
        return None

    def open_tasks(self) -> int:
        return 0

    def current_shift(self):
        return None

    def local_clock(self, moment) -> str:
        return "—"

    def today(self):
        from datetime import date

        return date.today()  # asked by the date key's handler, which does nothing off the sale view

    def logout(self) -> None:
        pass  # nobody is signed in

    def login(self, code: str, password: str):
        from app.errors import KezhanError

        raise KezhanError("正在启动，请稍候再登录", en="still starting: sign in again in a moment", code="STARTING")

    authenticate = login  # a terminal that is window and gate checks the password with this


def _load_services(config, demo: DemoDevices, path: Path):
    """The database, the services, the gate's and the sync client: (db, backend, sync, gate)."""
    from app.services.station import open_station
    from app.ui import theme
    from app.ui.backend import Backend

    # A damaged file takes sales it may not give back: the window does not open on one.
    db = open_station(path, verify=True)
    try:
        _archive_at_startup(db, config, demo)
        terminal = demo.terminal
        if terminal is None:
            from sync.client.identity import make_terminal

            terminal = make_terminal(db)
        sync = demo.sync
        if sync is None and config.server.url:
            from app.ui.sync_status import SyncStatus

            sync = SyncStatus.for_config(config, db, terminal)
        backend = Backend(db, terminal, presale_days=demo.presale_days if demo.presale_days is not None
                          else config.terminal.presale_days, clock=demo.clock, language=theme.language,
                          on_local_event=(sync.nudge if sync is not None else None),
                          printer_profile=config.printer.profile)
        backend.printer_offsets = (config.printer.offset_x_mm, config.printer.offset_y_mm)
        gate = make_gate(db, terminal, config, demo, sync)
    except BaseException:
        db.dispose()
        raise
    return db, backend, sync, gate


def _after_first_paint(window, fn: Callable[[], None]) -> None:
    """Call ``fn`` once the window has been painted: on the event loop's turn after its first expose
    (Qt paints a window while it handles the expose), or after a second if it never is (another
    desktop, a minimised start)."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    done: list[bool] = []

    def once() -> None:
        if not done:
            done.append(True)
            fn()

    handle = window.windowHandle()
    if handle is None or handle.isExposed():
        QTimer.singleShot(0, once)
        return

    class Exposed(QObject):
        def eventFilter(self, obj, event):  # noqa: N802
            if event.type() == QEvent.Type.Expose:
                obj.removeEventFilter(self)
                QTimer.singleShot(0, once)
            return False

    watcher = Exposed(window)
    handle.installEventFilter(watcher)
    QTimer.singleShot(1000, once)


def _run_window(config, demo: DemoDevices, app, screen, width: int, path: Path) -> int:
    import gc

    from PySide6.QtCore import QTimer

    # The sign-in screen first, on a stand-in backend: the store, its ORM, the services, the gate's,
    # the sync client and the terminal's key (libsodium) load after the first paint, while the
    # clerk types.
    role = config.terminal.role if config.terminal.role in ("gate", "both") else "window"
    window = build_window(
        StartingBackend(), width=width,
        printer_target=demo.printer_target or config.printer.target or None,
        reader_port=demo.reader_port or config.reader.port or None,
        reader_baud=config.reader.baud,
        scanner_port=demo.scanner_port or config.scanner.port or None,
        role=role,
        ask_printer=False,
    )
    report = os.environ.get("KEZHAN_SHOWN_REPORT")
    opened: list = []  # the database, once loaded
    failed: list[BaseException] = []

    def load() -> None:
        try:
            db, backend, sync, gate = _load_services(config, demo, path)
        except BaseException as exc:  # raised again once the loop has ended: the command's exit code
            failed.append(exc)
            gc.enable()
            window.close()
            app.exit(1)
            return
        opened.append(db)
        window.attach(backend, sync, gate)
        station = demo.extra.get("station")
        if station is not None:
            bind_demo_link(window, station, sync)
            if station.cards is not None:
                bind_demo_card(window, station.cards, station if gate is not None else None)
            if gate is not None:
                bind_demo_scan(window)
        gc.enable()  # off during start-up (app.commands.gui)
        if report:
            _report_when_ready(app, report)
        window.printer.refresh()

    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        window.resize(1366, 768)
        window.show()
        if report:
            _report_when_shown(report)
    else:
        # A counter PC may run no window manager at all (kiosk sessions): there "maximised" means
        # nothing, so the window takes the screen's geometry itself and asks for the focus.
        if screen is not None:
            window.setGeometry(screen.availableGeometry())
        window.showMaximized()
        window.raise_()
        window.activateWindow()
    QTimer.singleShot(0, lambda: _after_first_paint(window, load))
    try:
        code = int(app.exec())
    finally:
        window.close()  # stops the device and sync threads if the loop ended another way
        for db in opened:
            db.dispose()  # the gate's kept write connection too
    if failed:
        raise failed[0]
    return code


def make_gate(db, terminal, config, demo: DemoDevices, sync):
    """The gate's service for a terminal whose ``terminal.role`` is "gate" or "both" (None for a
    ticket window), checking at ``terminal.gates``."""
    if config.terminal.role not in ("gate", "both"):
        return None
    from app.ui import theme
    from app.ui.gate_backend import GateBackend

    return GateBackend(db, terminal, clock=demo.clock, language=theme.language(),
                       gates=tuple(config.terminal.gates), printer_profile=config.printer.profile,
                       on_local_event=(sync.nudge if sync is not None else None))


def checked_seats(view) -> set:
    """The seats the gate view shows boarded: the demo's next passenger is someone else."""
    return {seat for seat, state in view.seatGrid.seats.items() if state == "checked"}


def bind_demo_scan(window) -> None:
    """Ctrl+Shift+F10 in the demo, at the gate: the next passenger of the departure being checked
    holds a ticket under the scanner (the newest paper of the first ticket not yet boarded,
    ``Gate.paper_codes``); the code reaches the gate view as a scan does."""
    from PySide6.QtCore import QCoreApplication

    from app.ui import actions

    def scan() -> None:
        if not window.checking() or window.dialog is not None:
            return
        view = window.gateMode.view
        if view.current is None:
            return
        papers = window.gate.paper_codes(view.current.id)
        if not papers:
            show_demo_message(window, QCoreApplication.translate("demo", "演示：本班次没有待检的车票"))
            return
        window.scanner.scanned.emit(papers[0][1])

    window.actions.update(actions.bind(window, {"demo_scan": scan}, where=("demo",)))


def _report_when_shown(path: str) -> None:
    """For `kezhan bench cold_start`/`rss_start`: on the first turn of the event loop after the
    window is shown, write when and how large this process was."""
    from PySide6.QtCore import QTimer

    from app.bench.startup import write_shown_report

    QTimer.singleShot(0, lambda: write_shown_report(path))


def _report_when_ready(app, path: str) -> None:
    """Then, once the services have loaded behind the sign-in screen, add when and how large, and quit."""
    from app.bench.startup import write_ready_report

    write_ready_report(path)
    app.quit()


def bind_demo_link(window, station, sync) -> None:
    """Ctrl+Shift+F12 in the demo: stop the embedded provincial server (the counter goes on
    selling from its leased seats, the queue grows) or start it again (the queue drains)."""
    from PySide6.QtCore import QCoreApplication

    from app.ui import actions
    from app.ui.workers import WorkerThread

    worker = WorkerThread("demo-link", window)

    def flip() -> bool:
        if station.server is None:
            station.start_server()
            return True
        station.stop_server()
        return False

    def done(up: bool) -> None:
        show_demo_message(window, QCoreApplication.translate("demo", "演示：省平台已恢复，待上传事件开始上传") if up
                          else QCoreApplication.translate("demo", "演示：省平台已断开，本机凭租用座位继续售票"))
        if sync is not None:
            sync.nudge()

    window.actions.update(actions.bind(window, {"demo_link": lambda: worker.submit(flip, on_done=done)},
                                       where=("demo",)))
    window.demoLinkWorker = worker  # stopped with the window's devices when it closes


def bind_demo_card(window, cards, station=None) -> None:
    """Ctrl+Shift+F11 in the demo: the next demo passenger's ID card goes on the simulated reader
    (``cards.tap_next()``, app.demo.DemoCards); the window reads it through the reader like any tap.
    At the gate, the card is that of the next passenger holding a ticket on the departure being
    checked (``station.next_gate_card``)."""
    from PySide6.QtCore import QCoreApplication

    from app.ui import actions

    def tap() -> None:
        checking = station is not None and window.checking() and window.gateMode.view.current is not None
        if checking:
            view = window.gateMode.view
            view.settle()  # the seat map as the last scan left it
            card = station.next_gate_card(view.current.id, checked_seats(view))  # a passenger's own card
            if card is None:
                show_demo_message(window, QCoreApplication.translate("demo", "演示：本班次没有待检的车票"))
                return
            cards.reader.place(card)
        else:
            card = cards.tap_next()
        show_demo_message(window, QCoreApplication.translate("demo", "演示：%1 的身份证已放上读卡器")
                          .replace("%1", card.get("name", "")))

    window.actions.update(actions.bind(window, {"demo_card": tap}, where=("demo",)))


DEMO_MESSAGE_MS = 8000


def show_demo_message(window, text: str) -> None:
    """A demo key's answer, in its own label at the right of the status bar.

    Not ``QStatusBar.showMessage``: a temporary message covers the link and pending labels, and
    the point of cutting and restoring the link is to watch the pending count grow and drain."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QLabel

    label = window.findChild(QLabel, "demoMessage")
    if label is None:
        label = QLabel()
        label.setObjectName("demoMessage")
        label.setProperty("state", "warn")
        window.statusBar().addPermanentWidget(label)
        timer = QTimer(label)
        timer.setObjectName("demoMessageTimer")
        timer.setSingleShot(True)
        timer.timeout.connect(label.hide)
    label.setText(text)
    label.show()
    label.findChild(QTimer, "demoMessageTimer").start(DEMO_MESSAGE_MS)


# --- screenshots ---------------------------------------------------------------------------------


def save_screens(out_dir: str | Path, database, *, terminal=None, clerk: str | None = None,
                 password: str | None = None, clock: Callable[[], datetime] | None = None,
                 sizes: Iterable[tuple[int, int]] = SIZES, languages: Iterable[str] = ("zh_CN",),
                 first_stock_no: str = "00900001") -> list[Path]:
    """Screenshots of the sale view, the seat map, the refund dialog and the shift settlement.

    ``database``: a path or an open ``Database`` (a demo database: it gets a sale and, when the
    clerk has no open shift, a shift opened at ``first_stock_no``). The clerk is ``clerk`` signed
    in with ``password``, or — for a demo file without known passwords — the first active clerk.
    Files are ``DIR/<screen>-<width>x<height>[-en].png``; returns their paths.
    """
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from app.services.station import Database, open_station
    from app.ui import theme
    from app.ui.backend import Backend

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    db = database if isinstance(database, Database) else open_station(database)
    if terminal is None:
        from sync.client.identity import make_terminal

        terminal = make_terminal(db)
    app = application()
    backend = Backend(db, terminal, clock=clock, language=theme.language)
    if clerk and password is not None:
        backend.login(clerk, password)
    else:
        clerk_user = backend.first_clerk()
        if clerk_user is None:
            raise ValueError("the database has no clerk to take screenshots as")
        backend.user = clerk_user
    if backend.current_shift() is None:
        backend.open_shift(first_stock_no)

    saved: list[Path] = []
    previous = theme.language()
    try:
        for language in languages:
            theme.set_language(language)
            for width, height in sizes:
                window = build_window(backend, width=width)
                window.resize(width, height)
                window.show()
                window._enter_sale()
                app.processEvents()
                suffix = f"{width}x{height}" + ("-en" if language.startswith("en") else "")
                view = window.saleView
                day = _screen_day(backend)
                ticket = _sample_sale(window, backend, day)
                # The sale view mid-sale: a destination, its departures, one passenger.
                view.set_date(day)
                dest = _busy_destination(backend, day)
                QTest.keyClicks(view.destinationEdit, dest)
                QTest.keyClick(view.destinationEdit, Qt.Key.Key_Return)
                QTest.keyClick(view.departuresTable, Qt.Key.Key_Return)
                app.processEvents()
                saved.append(_grab(window, out / f"sale-{suffix}.png"))
                dialog = window.open_seat_map()
                if dialog is not None:
                    app.processEvents()
                    saved.append(_grab(dialog, out / f"seatmap-{suffix}.png"))
                    dialog.reject()
                    app.processEvents()
                dialog = window.open_ticket_dialog("refund")
                if dialog is not None:
                    if ticket is not None:
                        dialog.find(ticket)
                    app.processEvents()
                    saved.append(_grab(dialog, out / f"refund-{suffix}.png"))
                    dialog.reject()
                    app.processEvents()
                dialog = window.open_shift_close()
                if dialog is not None:
                    # The drawer as it should be: the cash counted equals the amount due.
                    due = dialog.settlement.cash_due
                    QTest.keyClicks(dialog.countedEdit, f"{due // 100}.{due % 100:02d}")
                    app.processEvents()
                    saved.append(_grab(dialog, out / f"settlement-{suffix}.png"))
                    dialog.reject()
                    app.processEvents()
                window.close()
                window.deleteLater()
                app.processEvents()
    finally:
        theme.set_language(previous)
        if not isinstance(database, Database):
            db.engine.dispose()
    return saved


def _grab(widget, path: Path) -> Path:
    from PySide6.QtWidgets import QApplication

    QApplication.processEvents()
    widget.grab().save(str(path))
    return path


def _busy_destination(backend, day=None) -> str:
    """Pinyin initials of a destination with departures on ``day`` (today unless given; the first
    suggestion taken)."""
    return backend.busiest_destination(day or backend.today()) or "HZ"


def _sellable(backend, day) -> list:
    """(destination, departure) pairs still on sale on ``day`` for its busiest destination."""
    return [(hit, dep) for hit in backend.suggest(_busy_destination(backend, day))
            for dep in backend.departures(hit.code, day) if dep.sellable]


def _screen_day(backend):
    """Today, or tomorrow once today's last bus for the busiest destination has gone: screenshots
    taken in the evening show a sale and a seat map all the same."""
    today = backend.today()
    tomorrow = today + timedelta(days=1)
    return today if _sellable(backend, today) or not _sellable(backend, tomorrow) else tomorrow


def _sample_sale(window, backend, day=None) -> str | None:
    """One sale (through the service) on ``day`` (today unless given) so the refund dialog has a
    ticket to show."""
    from app.ui.sale_view import Slot

    sellable = _sellable(backend, day or backend.today())
    if not sellable:
        return None
    hit, dep = sellable[0]
    slot = Slot("full", True, name="王小明", doc_type="resident_id", doc_number=_sample_id(backend))
    try:
        outcome = backend.sell(departure=dep, destination=hit.code, slots=[slot], seats=None,
                               method="cash", tendered=None, reference=None)
    except Exception as exc:  # a screenshot without a refund example is still a screenshot
        log.info("no sample sale for the screenshots: %s", exc)
        return None
    return outcome.tickets[0].ticket_id


def _sample_id(backend) -> str:
    """A valid resident ID number not yet used on this database (the check digit computed by the domain)."""
    from app.domain.identity import check_char

    n = backend.ticket_count()
    first17 = f"33010219900101{(n % 900) + 100:03d}"
    return first17 + check_char(first17)

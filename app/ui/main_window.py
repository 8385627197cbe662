"""The counter window: log-in, shift opening, the sale view, the operation dialogs, the status bar.

On a gate terminal (``terminal.role`` "gate" or "both") the same window is the gate's: a gate
checker signing in gets the gate view (:mod:`app.ui.gate_window`) instead of the sale view."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.errors import KezhanError, RuleViolation
from app.ui import actions, theme
from app.ui.login import LoginView, ShiftOpenView
from app.ui.widgets import ClickableLabel, error_text, label, show_message

if TYPE_CHECKING:
    from app.ui.dialogs import HelpDialog, PreviewDialog, SeatMapDialog, ShiftCloseDialog, TicketDialog
    from app.ui.sale_view import SaleView
    from app.ui.stock_confirm_dialog import StockConfirmDialog
    from app.ui.tasks_dialog import TasksDialog
    from app.ui.unprinted_dialog import UnprintedDialog

# The sale view, the gate view and the dialogs are imported when first opened: the sign-in screen
# shows without them.

log = logging.getLogger("kezhan.ui.window")


class _RegistryKeysFirst(QObject):
    """A line edit claims Ctrl+←/→ and Ctrl+Home for moving its cursor, which would swallow the
    registry's date keys while the clerk is typing; the registry's keys win."""

    def __init__(self, parent, bound_actions) -> None:
        super().__init__(parent)
        self.sequences = {seq.toString() for a in bound_actions for seq in a.shortcuts()}

    def eventFilter(self, obj, event):  # noqa: N802
        if event.type() == QEvent.Type.ShortcutOverride:
            if QKeySequence(event.keyCombination()).toString() in self.sequences:
                event.ignore()
                return True
        return False


class MainWindow(QMainWindow):
    def __init__(self, backend, printer, reader, scanner, sync=None, parent: QWidget | None = None, *,
                 gate=None, role: str = "window") -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.backend = backend
        self.gate = gate  # the gate's service (None: this terminal is a ticket window only)
        # A window opened on the stand-in backend gets its gate with the services (attach): its role
        # (the title, the sign-in's wording) is the terminal's from the start.
        self.role = role if gate is not None or getattr(backend, "starting", False) else "window"
        self.printer = printer
        self.reader = reader
        self.scanner = scanner
        self.sync = sync
        self.dialog: QDialog | None = None
        self.last_ticket_bytes: bytes | None = None  # this session's last job: what F10 shows
        self._last_print_message = ""
        self._focus_before_dialog: QWidget | None = None

        central = QWidget()
        central.setObjectName("central")
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.stack = QStackedWidget()
        self.stack.setObjectName("viewStack")
        self.loginView = LoginView(backend, sign_in=self._sign_in, gate_only=self.role == "gate")
        self.shiftView = ShiftOpenView(backend)
        self.saleView: SaleView | None = None
        self.technicianView = None  # made when a technician signs in (app/ui/technician_menu.py)
        self.stack.addWidget(self.loginView)
        self.stack.addWidget(self.shiftView)
        layout.addWidget(self.stack, 1)

        self.fkeyBar = QFrame()
        self.fkeyBar.setObjectName("fkeyBar")
        bar = QHBoxLayout(self.fkeyBar)
        bar.setContentsMargins(6, 3, 6, 3)
        bar.setSpacing(4)
        self.fkeyButtons: dict[str, QPushButton] = {}
        for a in actions.ACTIONS:
            if (a.operation and a.where in actions.BOUND_WHERE) or a.id in ("help", "preview", "language"):
                button = QPushButton()
                button.setObjectName(f"fkey_{a.id}")
                button.setProperty("role", "fkey")
                button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
                self.fkeyButtons[a.id] = button
                bar.addWidget(button)
        bar.addStretch(1)
        layout.addWidget(self.fkeyBar)
        self.setCentralWidget(central)

        status = self.statusBar()
        status.setObjectName("statusBar")
        status.setSizeGripEnabled(False)
        self.linkLabel = label(name="linkStatus")
        self.pendingLabel = label(name="pendingStatus")
        self.syncLabel = label(name="lastSyncStatus")
        self.printerLabel = label(name="printerStatus")
        self.readerLabel = label(name="readerStatus")
        self.clerkLabel = label(name="clerkStatus")
        self.tasksLabel = ClickableLabel("tasksStatus")
        self.tasksLabel.clicked.connect(self.open_tasks)
        self.tasksLabel.hide()
        for w in (self.linkLabel, self.pendingLabel, self.syncLabel, self.printerLabel, self.readerLabel,
                  self.tasksLabel):
            status.addWidget(w)
        status.addPermanentWidget(self.clerkLabel)

        handlers = {
            "help": self.show_help,
            "sale": self.go_sale,
            "refund": lambda: self.open_ticket_dialog("refund"),
            "change": lambda: self.open_ticket_dialog("change"),
            "void": lambda: self.open_ticket_dialog("void"),
            "reprint": lambda: self.open_ticket_dialog("reprint"),
            "pickup": lambda: self.open_ticket_dialog("pickup"),
            "shift_close": self.open_shift_close,
            "seat_map": self.open_seat_map,
            "preview": self.show_preview,
            "tasks": self.open_tasks,
            "language": self.toggle_language,
            "date_prev": lambda: self._sale_call("step_date", -1),
            "date_next": lambda: self._sale_call("step_date", 1),
            "date_today": lambda: self._sale_call("set_date", self.backend.today()),
            "destination": lambda: self._sale_call("focus_destination"),
            "departures": lambda: self._sale_call("_back_to_departures"),
            "passengers": lambda: self._sale_call("_back_to_passengers"),
            "counts": lambda: self._sale_call("focus_counts"),
            "payment": lambda: self._sale_call("focus_payment"),
            "epay": lambda: self._sale_call("toggle_method"),
            "clear": lambda: self._sale_call("reset"),
            "logout": self.logout,
            "unprinted": lambda: self.open_unprinted(asked=True),
        }
        self.actions = actions.bind(self, handlers)
        for action_id, button in self.fkeyButtons.items():
            button.clicked.connect(self.actions[action_id].trigger)
        self.gateMode = None
        self.supervisorMode = None  # made when a supervisor signs in (app/ui/supervisor_view.py)

        self.loginView.logged_in.connect(self._logged_in)
        self.shiftView.opened.connect(lambda _shift: self._enter_sale())
        self.shiftView.cancelled.connect(self.logout)
        printer.status_changed.connect(lambda *_: self.refresh_status())
        printer.printed.connect(self._printed)
        printer.job_finished.connect(self._job_finished)
        reader.status_changed.connect(lambda *_: self.refresh_status())
        reader.card_read.connect(self.on_card)
        scanner.scanned.connect(self.on_scan)
        scanner.scan_failed.connect(self._scan_failed)
        if gate is not None:
            self._wire_gate(gate)
        if sync is not None:
            self._wire_sync(sync)

        self.statusTimer = QTimer(self)
        self.statusTimer.setObjectName("statusTimer")
        self.statusTimer.timeout.connect(self.refresh_status)
        self.statusTimer.start(2000)

        self.retranslate()
        self._show_login()

    def _wire_gate(self, gate) -> None:
        from app.ui.gate_window import GateMode

        self.gate = gate
        self.gateMode = GateMode(self, gate)
        self.reader.status_changed.connect(lambda state, message: self.gateMode.device_state("reader", state, message))
        self.scanner.status_changed.connect(lambda state, message: self.gateMode.device_state("scanner", state, message))

    def _wire_sync(self, sync) -> None:
        sync.status_changed.connect(lambda *_: self.refresh_status())
        sync.seat_confirming.connect(self._confirming_seat)

    def _confirming_seat(self, busy: bool) -> None:
        """A pool seat is asked of the server while the sale waits on this thread (up to its timeouts
        when the link has just gone): the status bar says so and the cursor waits, painted at once,
        for no event is handled until the answer comes."""
        if busy:
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            self._set_state(self.linkLabel, self.tr("链路：正在向省平台确认座位…"), "warn")
            # Laid out and painted now: only the layout's own events, no input, no worker's signal.
            QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
            self.statusBar().repaint()
        else:
            QApplication.restoreOverrideCursor()
            self.refresh_status()

    def attach(self, backend, sync=None, gate=None) -> None:
        """The services, once loaded: app.ui.app opens the window on a stand-in backend first, so the
        sign-in screen shows before the store, the services, the gate and the sync client are loaded.
        A sign-in asked for meanwhile goes through now."""
        self.backend = backend
        self.loginView.backend = backend
        self.shiftView.backend = backend
        if gate is not None:
            self._wire_gate(gate)
        elif self.role != "window":
            self.role = "window"  # no gate after all: a ticket window
            self.retranslate()
        self.sync = sync
        if sync is not None:
            self._wire_sync(sync)
        self.loginView.retranslate()  # the station's name
        self.refresh_status()
        if self.loginView.submit_pending:
            self.loginView.submit_pending = False
            self.loginView.submit()

    # --- language -----------------------------------------------------------------------------

    def retranslate(self) -> None:
        if self.role == "gate":
            self.setWindowTitle(self.tr("客站 Kezhan — 检票口"))
        elif self.role == "both":
            self.setWindowTitle(self.tr("客站 Kezhan — 售票 / 检票"))
        else:
            self.setWindowTitle(self.tr("客站 Kezhan — 售票窗口"))
        for action_id, button in self.fkeyButtons.items():
            a = actions.BY_ID[action_id]
            text = QCoreApplication.translate(actions.CONTEXT, a.label)
            short = text.split("（")[0].split(" (")[0].split("：")[0].split(":")[0]
            button.setText(f"{a.keys[0]} {short}")
        for action_id, action in self.actions.items():
            action.setText(QCoreApplication.translate(actions.CONTEXT, actions.BY_ID[action_id].label))
        if getattr(self, "gateMode", None) is not None:
            self.gateMode.retranslate()
        if getattr(self, "supervisorMode", None) is not None:
            self.supervisorMode.retranslate()
        self.refresh_status()

    def changeEvent(self, event):  # noqa: N802
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def toggle_language(self) -> None:
        theme.set_language("zh_CN" if theme.language() == "en" else "en")

    # --- views --------------------------------------------------------------------------------

    def _show_login(self) -> None:
        if self.gateMode is not None:
            self.gateMode.leave()
        if self.supervisorMode is not None:
            self.supervisorMode.leave()
        self.fkeyBar.show()
        self.stack.setCurrentWidget(self.loginView)
        self.loginView.start()
        self.refresh_status()

    def _sign_in(self, code: str, password: str):
        """One password check, routed by the terminal's role: a window signs clerks and supervisors
        in to sell, a gate signs gate checkers and supervisors in to check; on a terminal that is
        both, an account the counter refuses (a gate checker) is the gate's."""
        if self.role == "window":
            return self.backend.login(code, password)
        if self.role == "gate":
            return self.gate.login(code, password)
        # One password check (one audit row, one count towards the lock), then the role decides.
        user = self.backend.authenticate(code, password)
        try:
            return self.backend.admit(user)
        except RuleViolation as exc:
            if exc.code != "NOT_AUTHORISED":
                raise
        return self.gate.admit(user)

    def checking(self) -> bool:
        """The gate view is shown (a gate checker is signed in)."""
        return self.gateMode is not None and self.gateMode.active

    def _logged_in(self, user) -> None:
        # A new session: the preview shows nothing printed for the one before.
        self.last_ticket_bytes = None
        if user.role == "technician":
            self._enter_technician()
            return
        if self.role == "gate" or (self.gateMode is not None and getattr(user, "role", "") == "gate"):
            self.gateMode.enter()
            self.refresh_status()
            return
        if getattr(user, "role", "") == "supervisor":
            self._enter_supervisor(user)
            return
        if self.backend.current_shift() is None:
            self.stack.setCurrentWidget(self.shiftView)
            self.shiftView.start()
        else:
            self._enter_sale()
        self.refresh_status()
        self.open_unprinted()

    def _enter_supervisor(self, user) -> None:
        """The station's day and the departure actions (app/ui/supervisor_view.py), made the first
        time a supervisor signs in."""
        if self.supervisorMode is None:
            from app.ui.supervisor_view import SupervisorMode

            self.supervisorMode = SupervisorMode(self)
        self.supervisorMode.enter(user)
        self.refresh_status()

    def _enter_sale(self) -> None:
        from app.ui.sale_view import SaleView

        if self.saleView is None:
            self.saleView = SaleView(self.backend)
            self.saleView.sold.connect(self._sold)
            self.saleView.stock_confirm_needed.connect(self.open_stock_confirm)
            self.stack.addWidget(self.saleView)
            self._shortcuts_over_fields = _RegistryKeysFirst(self, self.actions.values())
            for edit in self.saleView.findChildren(QLineEdit):
                edit.installEventFilter(self._shortcuts_over_fields)
        self.stack.setCurrentWidget(self.saleView)
        self.saleView.reset()
        self.refresh_status()

    def _enter_technician(self) -> None:
        from app.ui.technician_menu import TechnicianView

        if self.technicianView is None:
            self.technicianView = TechnicianView(self.backend)
            self.technicianView.signed_out.connect(self.logout)
            self.stack.addWidget(self.technicianView)
        self.stack.setCurrentWidget(self.technicianView)
        self.fkeyBar.hide()  # no counter operation for a technician: the bar would offer dead keys
        self.technicianView.start()
        self.refresh_status()

    def selling(self) -> bool:
        return self.saleView is not None and self.stack.currentWidget() is self.saleView

    def _sale_call(self, name: str, *args) -> None:
        if self.selling() and self.dialog is None:
            getattr(self.saleView, name)(*args)

    def go_sale(self) -> None:
        if self.saleView is not None and self.backend.current_shift() is not None:
            self.stack.setCurrentWidget(self.saleView)
            self.saleView.focus_destination()

    def logout(self) -> None:
        self.backend.logout()
        if self.gate is not None:
            self.gate.logout()
        self.last_ticket_bytes = None
        if self.saleView is not None:
            self.saleView.end_session()
        self._show_login()

    # --- dialogs ------------------------------------------------------------------------------

    def _open(self, dialog: QDialog) -> QDialog:
        # Where the clerk was in the sale, to come back to when the dialog closes.
        self._focus_before_dialog = self.saleView.focusWidget() if self.selling() else None
        self.dialog = dialog
        dialog.finished.connect(lambda _r: self._dialog_closed(dialog))
        dialog.resize(min(self.width() - 80, 1200), min(self.height() - 80, 700))
        dialog.open()
        dialog.activateWindow()
        return dialog

    def _dialog_closed(self, dialog: QDialog) -> None:
        from app.ui.dialogs import SeatMapDialog

        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()
        # Window shortcuts (F-keys) answer only in the active window: take it back at once rather
        # than whenever the window system gets round to it.
        self.activateWindow()
        if self.stack.currentWidget() is self.shiftView:
            self.shiftView.stockEdit.setFocus()  # F11 before the shift: back to the roll's number
        if self.checking():
            self.gateMode.view.focus_entry()  # back to where the next scan goes
        if self.selling():
            before, self._focus_before_dialog = self._focus_before_dialog, None
            if isinstance(dialog, SeatMapDialog):
                self.saleView._next_needed_field()  # back to where the sale was
            elif before is not None and before.isVisible() and before.isEnabled() and self.saleView.isAncestorOf(before):
                before.setFocus(Qt.FocusReason.OtherFocusReason)  # mid-sale: back where the clerk was
            else:
                self.saleView.focus_destination()

    def open_ticket_dialog(self, kind: str) -> TicketDialog | None:
        from app.ui.dialogs import TicketDialog

        if self.dialog is not None or self.backend.current_shift() is None:
            return None
        dialog = TicketDialog(kind, self.backend, self)
        dialog.done_operation.connect(self._operation_done)
        self._open(dialog)
        dialog.searchEdit.setFocus()
        return dialog

    def open_seat_map(self) -> SeatMapDialog | None:
        from app.ui.dialogs import SeatMapDialog

        if self.dialog is not None or not self.selling():
            return None
        view = self.saleView
        if view.departure is None:
            show_message(view.messageLabel, lambda: self.tr("请先选择班次，再选座"))
            return None
        needed = view.seats_needed()
        if needed == 0:
            return None
        dialog = SeatMapDialog(self.backend.seat_map(view.departure.id), needed, view.seats, self)
        dialog.accepted.connect(lambda: self._seats_chosen(dialog))
        self._open(dialog)
        dialog.grid.setFocus()
        return dialog

    def _seats_chosen(self, dialog: SeatMapDialog) -> None:
        self.saleView.set_seats(sorted(dialog.chosen))

    def open_shift_close(self) -> ShiftCloseDialog | None:
        from app.ui.dialogs import ShiftCloseDialog

        if self.dialog is not None or self.backend.current_shift() is None:
            return None
        try:
            dialog = ShiftCloseDialog(self.backend, self)
        except KezhanError as exc:
            if self.selling():
                show_message(self.saleView.messageLabel, lambda exc=exc: error_text(exc))
            return None
        dialog.closed_shift.connect(self._shift_closed)
        self._open(dialog)
        dialog.countedEdit.setFocus()
        return dialog

    def open_tasks(self) -> TasksDialog | None:
        """The conflict tasks, for any signed-in clerk: a review task is marked settled with no shift,
        while the dialog refuses a refund or reseat without one, as F3 and F4 would."""
        from app.ui.tasks_dialog import TasksDialog

        if self.dialog is not None or self.backend.user is None:
            return None
        dialog = TasksDialog(self.backend, self)
        dialog.done_operation.connect(self._operation_done)
        self._open(dialog)
        dialog.tasksTable.setFocus()
        return dialog

    def open_unprinted(self, asked: bool = False) -> UnprintedDialog | None:
        """Tickets of the clerk's shift whose paper never came out (a crash between the commit and the
        print, a refused job): listed at sign-in, before anything else is sold on the roll, and on
        Ctrl+Shift+P (``asked``), which says so when there are none."""
        from app.ui.unprinted_dialog import UnprintedDialog

        if self.dialog is not None or self.backend.user is None:
            return None
        try:
            owed = self.backend.owed_paper()
        except KezhanError as exc:
            log.warning("cannot read the tickets owed paper: %s", exc)
            return None
        if not owed:
            if asked and self.selling():
                show_message(self.saleView.messageLabel, lambda: self.tr("本班次没有未出票的车票"), ok=True)
            return None
        dialog = UnprintedDialog(self.backend, self)
        dialog.print_requested.connect(self._print_owed)
        self._open(dialog)
        dialog.unprintedTable.setFocus()
        return dialog

    def open_stock_confirm(self, refusal) -> StockConfirmDialog | None:
        """The clerk reads the roll's next blank off the paper (acknowledged sales were lost from
        this file, so its own next number may already be printed); the sale then goes on."""
        from app.ui.stock_confirm_dialog import StockConfirmDialog

        if self.dialog is not None:
            return None
        dialog = StockConfirmDialog(self.backend, refusal, self)
        dialog.accepted.connect(self.saleView.confirm)
        self._open(dialog)
        dialog.nextStockEdit.setFocus()
        return dialog

    def _print_owed(self, jobs: list) -> None:
        # One printer job per ticket, so each is marked printed on its own report.
        for job in jobs:
            self._print(self.backend.ticket_bytes([job.ticket_id]), [(job.ticket_id, job.stock_no)],
                        owed=True)

    def show_help(self) -> HelpDialog | None:
        from app.ui.dialogs import HelpDialog

        if self.dialog is not None:
            return None
        dialog = HelpDialog(self)
        self._open(dialog)
        return dialog

    def show_preview(self) -> PreviewDialog | None:
        from app.ui.dialogs import PreviewDialog

        if self.dialog is not None:
            return None
        png = None
        data = self.last_ticket_bytes
        if data:
            try:
                png = self.backend.render_png(data)
            except KezhanError as exc:
                log.warning("preview failed: %s", exc)
        dialog = PreviewDialog(png, self)
        self._open(dialog)
        return dialog

    # --- results: printing --------------------------------------------------------------------

    def _print(self, data: bytes | None, paper: list[tuple[str, str]] | None = None, *, owed: bool = False) -> None:
        """Send a job; ``paper`` (ticket id, stock number) is marked printed when the printer takes it.
        ``owed``: the job was asked for by the list of tickets owed paper, which hears how it went."""
        if data:
            self.last_ticket_bytes = data
            self.printer.print_job(data, (paper or [], owed))

    def _sold(self, result) -> None:
        self._print(self.backend.ticket_bytes([t.ticket_id for t in result.tickets]),
                    [(t.ticket_id, t.stock_no) for t in result.tickets])
        self.backend.after_local_event()
        self.refresh_status()

    def _operation_done(self, kind: str, result) -> None:
        ticket_ids = getattr(result, "print_ticket_ids", None)
        if ticket_ids:
            self._print(self.backend.ticket_bytes(ticket_ids),
                        [(job.ticket_id, job.stock_no) for job in getattr(result, "print_jobs", [])])
        self._print(self.backend.operation_slip_bytes(kind, result))  # a refund's 退票凭证
        self.backend.after_local_event()
        self.refresh_status()

    def _shift_closed(self, result) -> None:
        self._print(self.backend.settlement_bytes(result))
        self.backend.after_local_event()
        self.logout()

    def _printed(self, ok: bool, message: str) -> None:
        self._last_print_message = message
        if self.checking():
            self.gateMode.printed(ok, message)
        if not ok and self.selling():
            show_message(self.saleView.messageLabel,
                         lambda: self.tr("打印失败：%1（车票未出，Ctrl+Shift+P 重新打印）").replace("%1", message))
        self.refresh_status()

    def _job_finished(self, carried, ok: bool) -> None:
        from app.ui.unprinted_dialog import UnprintedDialog

        paper, owed = carried if isinstance(carried, tuple) else ([], False)
        if ok and paper:
            try:
                self.backend.mark_printed(paper)
            except KezhanError as exc:
                # The paper is out; the worst a lost mark costs is the ticket listed at the next start.
                log.warning("cannot mark tickets printed: %s", exc)
        if owed and isinstance(self.dialog, UnprintedDialog):
            self.dialog.job_reported(ok, self._last_print_message)

    # --- devices ------------------------------------------------------------------------------

    def scan_target(self) -> bool:
        """Whether a scanned code has somewhere to go (the wedge filter listens only then)."""
        from app.ui.dialogs import TicketDialog

        if self.isVisible() and self.dialog is None and self.checking():
            return True
        return self.isVisible() and isinstance(self.dialog, TicketDialog)

    def on_card(self, card) -> None:
        from app.ui.dialogs import TicketDialog

        if self.checking():
            if self.dialog is None:
                self.gateMode.view.check_card(card)
            return
        if isinstance(self.dialog, TicketDialog):
            self.dialog.find_by_card(card)
        elif self.dialog is None and self.selling():
            self.saleView.fill_from_card(card)

    def on_scan(self, code: str) -> None:
        from app.ui.dialogs import TicketDialog

        if self.checking():
            if self.dialog is None:
                self.gateMode.view.check_text(code)
            return
        if isinstance(self.dialog, TicketDialog):
            self.dialog.find(code)

    def _scan_failed(self, message: str) -> None:
        from app.ui.dialogs import TicketDialog

        if self.checking():
            if self.dialog is None:
                self.gateMode.view.scan_failed(message)
            return
        if isinstance(self.dialog, TicketDialog):
            show_message(self.dialog.messageLabel, message)

    # --- status bar ---------------------------------------------------------------------------

    def _set_state(self, widget, text: str, state: str) -> None:
        widget.setText(text)
        widget.setProperty("state", state)
        theme.repolish(widget)

    def refresh_status(self) -> None:
        sync = self.sync.snapshot() if self.sync is not None else None
        if sync is None or not sync.configured:
            self._set_state(self.linkLabel, self.tr("链路：未配置服务器"), "warn")
        elif sync.alarm:
            self._set_state(self.linkLabel, self.tr("链路告警：%1").replace("%1", sync.alarm), "bad")
        elif sync.online:
            self._set_state(self.linkLabel, self.tr("链路：在线"), "good")
        else:
            since = self.backend.local_clock(sync.offline_since) if sync.offline_since else "—"
            self._set_state(self.linkLabel, self.tr("链路：离线（自 %1）").replace("%1", since), "bad")
        # Counted from the outbox each time: the sync client's last report may predate a sale.
        try:
            pending = self.backend.pending_events()
        except KezhanError:
            pending = None
        self._set_state(self.pendingLabel, self.tr("待上传：%1").replace("%1", "—" if pending is None else str(pending)),
                        "warn" if pending else "good")
        # Counted from the file too: a task the clerk just settled leaves the count at once.
        try:
            tasks = self.backend.open_tasks()
        except KezhanError:
            tasks = sync.open_tasks if sync is not None else 0
        self.tasksLabel.setVisible(bool(tasks))
        if tasks:
            # Conflicts the server resolved (a seat sold twice...): the clerk reseats or refunds.
            self._set_state(self.tasksLabel, self.tr("待处理冲突：%1（F11 处理）").replace("%1", str(tasks)), "bad")
        last = sync.last_sync if sync is not None else None
        self._set_state(self.syncLabel, self.tr("上次同步：%1").replace(
            "%1", self.backend.local_clock(last) if last else self.tr("从未")), "")
        printer_texts = {
            "ready": (self.tr("打印机：就绪"), "good"),
            "no_paper": (self.tr("打印机：缺纸"), "bad"),
            "not_ready": (self.tr("打印机：未就绪"), "bad"),
            "offline": (self.tr("打印机：离线"), "bad"),
            "unavailable": (self.tr("打印机：状态不可用"), "warn"),
            "none": (self.tr("打印机：未配置（仅预览）"), "warn"),
            "unknown": (self.tr("打印机：检测中"), "warn"),
        }
        text, state = printer_texts.get(self.printer.state, printer_texts["unknown"])
        self._set_state(self.printerLabel, text, state)
        reader_texts = {
            "ready": (self.tr("读卡器：就绪"), "good"),
            "lost": (self.tr("读卡器：未连接"), "bad"),
            "none": (self.tr("读卡器：未配置"), "warn"),
            "unknown": (self.tr("读卡器：检测中"), "warn"),
        }
        text, state = reader_texts.get(self.reader.state, reader_texts["unknown"])
        self._set_state(self.readerLabel, text, state)
        user = self.backend.user
        if self.checking():
            gate_user = self.gate.user
            self.clerkLabel.setText(self.tr("检票员 %1 %2").replace("%1", gate_user.code if gate_user else "").replace(
                "%2", gate_user.name if gate_user else ""))
        elif user is None:
            self.clerkLabel.setText(self.tr("未登录"))
        elif self.supervisorMode is not None and self.supervisorMode.active:
            self.clerkLabel.setText(self.tr("值班站长 %1 %2").replace("%1", user.code).replace("%2", user.name))
        else:
            shift = self.backend.current_shift()
            self.clerkLabel.setText(self.tr("售票员 %1 %2　班次 %3").replace("%1", user.code).replace(
                "%2", user.name).replace("%3", shift.id if shift else self.tr("未开班")))

    def closeEvent(self, event):  # noqa: N802
        self.statusTimer.stop()
        wedge = getattr(self, "wedge", None)
        if wedge is not None:
            QApplication.instance().removeEventFilter(wedge)
        if self.gateMode is not None:
            self.gateMode.leave()
        if self.supervisorMode is not None:
            self.supervisorMode.leave()
            self.supervisorMode.stop()
        for device in (self.printer, self.reader, self.scanner, self.sync, getattr(self, "demoLinkWorker", None),
                       self.technicianView):
            if device is not None:
                device.stop()
        super().closeEvent(event)

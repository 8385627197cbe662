"""Device adapters: the printer, the ID card reader and the scanner, as Qt objects with signals.

Each adapter owns one :class:`~app.ui.workers.WorkerThread`; every call into a driver happens on
that thread. The GUI connects to the signals and never waits for a device.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent

from app.domain.identity import DocumentType
from app.ui import theme
from app.ui.workers import WorkerThread
from drivers.errors import DriverError

log = logging.getLogger("kezhan.ui.devices")

# Reader card types -> the document type a ticket records.
CARD_DOCUMENT = {
    "resident": DocumentType.RESIDENT_ID.value,
    "hmt_residence": DocumentType.HMT_RESIDENCE.value,
    "foreign_permanent_2017": DocumentType.FOREIGNER_2017.value,
    "foreign_permanent_2023": DocumentType.FOREIGNER_2023.value,
}


def _error_text(exc: BaseException) -> str:
    """A device's error in the window's language; anything else (a bug, an OS error the driver
    did not wrap) as its own one line."""
    return exc.text(theme.language()) if isinstance(exc, DriverError) else str(exc)


@dataclass(frozen=True)
class Card:
    """What the counter needs from a card: a name and a document. The number is never logged."""

    name: str
    doc_type: str
    number: str

    def __repr__(self) -> str:
        return f"Card({self.doc_type}, {self.name[:1]}*)"

    @classmethod
    def from_card_data(cls, data) -> Card:
        name = data.name or data.name_en
        return cls(name=name, doc_type=CARD_DOCUMENT.get(data.card_type, DocumentType.OTHER.value),
                   number=data.id_number)


def _target_kind(target: str | None) -> str | None:
    if not target:
        return None
    from drivers.printer.errors import PrinterError
    from drivers.printer.targets import parse_target

    try:
        return parse_target(target).kind
    except PrinterError:
        return None  # a bad target is reported by the first poll or job


class PrinterDevice(QObject):
    """Print jobs and the printer's state.

    ``state`` is one of ``ready``, ``no_paper``, ``not_ready`` (cover, cutter, offline),
    ``offline`` (no answer / cannot open), ``none`` (no printer configured: jobs only go to the
    preview), ``unknown`` (not asked yet), ``unavailable`` (a ``win:`` or ``file:`` target, which
    has no way to answer: jobs go, but their state cannot be known; a ``win:`` queue on Windows
    with pywin32 is asked through the spooler instead, which never opens a job).
    """

    status_changed = Signal(str, str)  # state, message (Chinese; the window words it)
    printed = Signal(bool, str)  # ok, message
    # The same report with what the job carried (``print_job(data, paper=...)``): the tickets whose
    # paper it was, which the window marks printed only when the printer took the job.
    job_finished = Signal(object, bool)  # paper, ok

    STATUS_INTERVAL_MS = 5000

    def __init__(self, target: str | None, parent: QObject | None = None, *, ask_now: bool = True) -> None:
        super().__init__(parent)
        self.target = target or None
        self.state = "none" if self.target is None else "unknown"
        self.message = ""
        self.last_job: bytes | None = None
        self.thread = WorkerThread("printer", self)
        self.thread.event.connect(self._on_event)
        self.kind = _target_kind(self.target)
        self.spooler = False
        if self.kind in ("win", "file"):
            from drivers.printer import spooler

            self.spooler = self.kind == "win" and spooler.available()
            if not self.spooler:
                # Asking would open a spool job (or a file) every few seconds and learn nothing.
                self.state = "unavailable"
        if self.target is not None and self.state != "unavailable":
            self.thread.poll(self._poll_status, self.STATUS_INTERVAL_MS)
            # Asked once the event loop runs: the first answer loads the ESC/POS driver (python-escpos
            # takes a quarter of a second to import), which must not hold up the window's first paint.
            # The counter window asks itself (``ask_now=False``) once its services have loaded, so
            # that import does not compete with them either.
            if ask_now:
                QTimer.singleShot(0, self.refresh)

    def _poll_status(self) -> list:
        from drivers.printer.errors import PrinterError
        from drivers.printer.transport import query_status

        try:
            if self.spooler:
                from drivers.printer.spooler import spooler_status

                status = spooler_status(self.target.split(":", 1)[1])
            else:
                status = query_status(self.target, timeout=2.0)
        except PrinterError as exc:
            return [("status", ("offline", _error_text(exc)))]
        return [("status", (self._classify(status), status.text(theme.language())))]

    @staticmethod
    def _classify(status) -> str:
        if status is None or not status.answered:
            return "offline"
        if status.paper_out:
            return "no_paper"
        if not status.ready:
            return "not_ready"
        return "ready"

    def refresh(self) -> None:
        if self.target is not None and self.state != "unavailable":
            self.thread.submit(self._poll_status, self._apply_events)

    def _apply_events(self, events: list) -> None:
        for kind, payload in events:
            self._on_event(kind, payload)

    def _on_event(self, kind: str, payload) -> None:
        if kind == "status":
            state, message = payload
            if (state, message) != (self.state, self.message):
                self.state, self.message = state, message
                self.status_changed.emit(state, message)

    def print_job(self, data: bytes, paper: object = None) -> None:
        """Queue one job; ``printed`` reports how it went, and ``job_finished`` with ``paper``.
        Without a printer the job only becomes the preview."""
        self.last_job = data
        if self.target is None:
            self.printed.emit(True, "")
            self.job_finished.emit(paper, True)
            return
        target = self.target

        def job():
            from drivers.printer.transport import print_bytes

            return print_bytes(target, data, require_answer=False)

        self.thread.submit(job, lambda result: self._job_done(result, paper),
                           lambda exc: self._job_failed(exc, paper))

    def _job_done(self, result, paper: object = None) -> None:
        # An "unavailable" printer stays so: the job went, and nothing came back to say more.
        if self.state != "unavailable" and result.status is not None:
            self._on_event("status", (self._classify(result.status), result.status.text(theme.language())))
        self.printed.emit(bool(result.ok), result.text(theme.language()))
        self.job_finished.emit(paper, bool(result.ok))

    def _job_failed(self, exc: Exception, paper: object = None) -> None:
        message = _error_text(exc)
        if self.state != "unavailable":
            self._on_event("status", ("offline", message))
        self.printed.emit(False, message)
        self.job_finished.emit(paper, False)

    def stop(self) -> None:
        self.thread.stop()


class ReaderDevice(QObject):
    """The ID card reader: a poller running on its own worker thread, reporting by signal."""

    card_read = Signal(object)  # Card
    status_changed = Signal(str, str)  # "ready" | "lost" | "none", message

    _from_poller = Signal(object)  # the driver's PollerEvent, crossing into the GUI thread

    def __init__(self, port: str | None, baud: str | int = "auto", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.port = port or None
        self.state = "none" if self.port is None else "unknown"
        self.message = ""
        self.poller = None
        self.thread: WorkerThread | None = None
        self._from_poller.connect(self._on_event, Qt.ConnectionType.QueuedConnection)
        if self.port is not None:
            self.start(baud)

    def start(self, baud: str | int = "auto") -> None:
        from drivers.idcard.poller import CardPoller

        self.poller = CardPoller(self.port, baud=baud, interval=0.1, on_event=self._from_poller.emit)
        self.thread = WorkerThread("reader", self)
        # The poller's loop is the reader thread's one long job; stop() ends it.
        self.thread.submit(self.poller.run)

    def _on_event(self, event) -> None:
        from drivers.idcard import poller

        if event.kind == poller.CARD_READ and event.card is not None:
            self.card_read.emit(Card.from_card_data(event.card))
        elif event.kind == poller.READER_BACK:
            self.state, self.message = "ready", ""
            self.status_changed.emit(self.state, self.message)
        elif event.kind == poller.READER_LOST:
            self.state = "lost"
            self.message = _error_text(event.error) if event.error is not None else ""
            self.status_changed.emit(self.state, self.message)

    def stop(self) -> None:
        if self.poller is not None:
            self.poller.stop(timeout=0)
        if self.thread is not None:
            self.thread.stop()


class ScannerDevice(QObject):
    """A serial scanner on its worker thread, and the keyboard-wedge filter; both emit ``scanned``.

    ``state``: ``none`` (no serial scanner: the keyboard wedge only), ``unknown`` (opening),
    ``ready``, ``lost`` (the port could not be opened or went away; it is opened again once a
    second while lost, so a scanner plugged back in works without a restart)."""

    scanned = Signal(str)
    scan_failed = Signal(str)  # a message for the clerk
    status_changed = Signal(str, str)  # state, message

    REOPEN_S = 1.0

    def __init__(self, port: str | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.port = port or None
        self.state = "none" if self.port is None else "unknown"
        self.message = ""
        self.thread: WorkerThread | None = None
        self._scanner = None
        if self.port is not None:
            self._start_serial()

    def _start_serial(self) -> None:
        from drivers.scanner.serialport import SerialScanner

        self._scanner = SerialScanner(self.port)
        self.thread = WorkerThread("scanner", self)
        scanner = self._scanner
        last_try = [0.0]

        def open_it():
            scanner.open()
            return True

        def read_some() -> list:
            # Runs on the scanner's thread: a lost port is reopened here, never on the GUI thread.
            if scanner._port is None:
                now = time.monotonic()
                if now - last_try[0] < self.REOPEN_S:
                    return []
                last_try[0] = now
                try:
                    scanner.open()
                except DriverError as exc:
                    return [("lost", exc)]
                return [("ready", None)]
            try:
                scan = scanner.read(timeout=0.05)
            except DriverError as exc:
                scanner.close()
                last_try[0] = time.monotonic()
                return [("lost", exc)]
            return [] if scan is None else [("scan", scan)]

        def opened(_ok) -> None:
            self._set_state("ready", "")
            self.thread.poll(read_some, 20)

        def not_opened(exc) -> None:
            self._set_state("lost", _error_text(exc))
            self.scan_failed.emit(_error_text(exc))
            self.thread.poll(read_some, 20)

        self.thread.submit(open_it, opened, not_opened)
        self.thread.event.connect(self._on_event)

    def _set_state(self, state: str, message: str) -> None:
        if (state, message) != (self.state, self.message):
            self.state, self.message = state, message
            self.status_changed.emit(state, message)

    def _on_event(self, kind: str, payload) -> None:
        if kind == "scan":
            self._set_state("ready", "")
            self.deliver(payload)
        elif kind == "lost":
            self._set_state("lost", _error_text(payload))
        elif kind == "ready":
            self._set_state("ready", "")

    def deliver(self, scan) -> None:
        if scan.ok:
            self.scanned.emit(scan.code)
        else:
            self.scan_failed.emit(scan.message)

    def stop(self) -> None:
        if self.thread is not None:
            self.thread.stop()
        if self._scanner is not None:
            try:
                self._scanner.close()
            except Exception:  # closing a port that vanished
                pass


class WedgeFilter(QObject):
    """Watches key presses application-wide and feeds the drivers' wedge detector, which tells a
    scanner's burst from typing by timing.

    Only while ``active()`` says a scan has somewhere to go (a ticket dialog is open, or the gate
    view is shown). Keys are not
    held back: the burst's characters land in the focused field as typed text, which is where a
    scan is wanted anyway; only the burst's final Enter is swallowed, so a scan can never press
    the button that happens to have the focus (confirm a refund, say).
    """

    def __init__(self, scanner: ScannerDevice, parent: QObject | None = None, *, active=None) -> None:
        super().__init__(parent)
        from drivers.scanner.wedge import WedgeDetector

        self.scanner = scanner
        self.active = active or (lambda: True)
        self.detector = WedgeDetector()

    def eventFilter(self, obj, event):  # noqa: N802
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        from PySide6.QtWidgets import QWidget

        # A key press travels from the focus widget up its parents; count it once, where it landed.
        if not isinstance(obj, QWidget) or obj.window().focusWidget() not in (None, obj):
            return False
        if event.isAutoRepeat() or not self.active():
            return False
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        char = "\r" if enter else event.text()
        if not char or not (enter or char.isprintable()):
            return False  # Tab, Esc, arrows: keys a scanner never sends
        swallow = False
        from drivers.scanner.scan import Scan

        for item in self.detector.feed(char, time.monotonic()):
            if isinstance(item, Scan):
                self.scanner.deliver(item)
                swallow = enter
        return swallow

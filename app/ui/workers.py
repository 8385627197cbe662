"""The one background-work mechanism of the counter window.

Each device (printer, card reader, serial scanner) and the sync client gets one
:class:`WorkerThread`: a QThread running a :class:`Worker` object. The GUI thread hands it jobs
with :meth:`WorkerThread.submit` (a queued signal, never a direct call) and hears back through
signals; a worker can also poll something on a timer in its own thread (the card reader, the
printer's status, the sync loop) and report what it finds. Nothing a worker runs can block the
GUI thread, and a device that hangs hangs only its own thread.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

log = logging.getLogger("kezhan.ui.workers")

# How much longer a worker's running job is waited for at shutdown, beyond stop()'s timeout: the
# longest deadline of a device or network call (the sync client's read timeout is 15 s).
LINGER_MS = 20_000
_LINGERING: list[QThread] = []  # threads whose job outlived the shutdown: never destroyed running


class Worker(QObject):
    """Lives in its worker thread. Runs submitted jobs and an optional poll function."""

    finished = Signal(int, object)  # job id, result
    failed = Signal(int, object)  # job id, the exception
    event = Signal(str, object)  # what a poll reported: kind, payload
    _run = Signal(int, object)  # job id, callable (queued into the worker's thread)
    _start_poll = Signal(object, int)
    _stop = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.stopping = threading.Event()  # set from the GUI thread: jobs still queued are skipped
        self._timer: QTimer | None = None
        self._poll: Callable[[], list[tuple[str, Any]]] | None = None
        self._run.connect(self._execute)
        self._start_poll.connect(self._begin_poll)
        self._stop.connect(self._halt)

    @Slot(int, object)
    def _execute(self, job_id: int, fn: Callable[[], Any]) -> None:
        if self.stopping.is_set():
            return  # shutting down: a queued print or probe is not started any more
        try:
            result = fn()
        except Exception as exc:  # reported to the GUI, which shows it; the thread lives on
            log.warning("job %s failed: %s", job_id, exc)
            self.failed.emit(job_id, exc)
        else:
            self.finished.emit(job_id, result)

    @Slot(object, int)
    def _begin_poll(self, poll, interval_ms: int) -> None:
        self._poll = poll
        if self._timer is None:
            self._timer = QTimer(self)
            self._timer.timeout.connect(self._tick)
        self._timer.start(interval_ms)

    @Slot()
    def _tick(self) -> None:
        if self._poll is None or self.stopping.is_set():
            return
        try:
            events = self._poll() or []
        except Exception as exc:
            log.warning("poll failed: %s", exc)
            events = [("error", exc)]
        for kind, payload in events:
            self.event.emit(kind, payload)

    @Slot()
    def _halt(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._poll = None


class WorkerThread(QObject):
    """One named background thread with its :class:`Worker`.

    ``submit(fn, on_done, on_error)`` runs ``fn()`` in the thread and calls back in the GUI thread.
    ``poll(fn, interval_ms)`` calls ``fn()`` repeatedly in the thread; ``fn`` returns a list of
    ``(kind, payload)`` events that arrive on :attr:`event` in the GUI thread.
    """

    event = Signal(str, object)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._ids = itertools.count(1)
        self._callbacks: dict[int, tuple[Callable | None, Callable | None]] = {}
        self._thread = QThread()
        self._thread.setObjectName(f"kezhan-{name}")
        self.worker = Worker()
        self.worker.moveToThread(self._thread)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.worker.event.connect(self.event)
        self._thread.start()

    def submit(self, fn: Callable[[], Any], on_done: Callable | None = None, on_error: Callable | None = None) -> int:
        job_id = next(self._ids)
        self._callbacks[job_id] = (on_done, on_error)
        self.worker._run.emit(job_id, fn)
        return job_id

    def poll(self, fn: Callable[[], list], interval_ms: int) -> None:
        self.worker._start_poll.emit(fn, interval_ms)

    def pending(self) -> int:
        return len(self._callbacks)

    @Slot(int, object)
    def _on_finished(self, job_id: int, result: Any) -> None:
        on_done, _ = self._callbacks.pop(job_id, (None, None))
        if on_done is not None:
            on_done(result)

    @Slot(int, object)
    def _on_failed(self, job_id: int, exc: Exception) -> None:
        _, on_error = self._callbacks.pop(job_id, (None, None))
        if on_error is not None:
            on_error(exc)

    def stop(self, timeout_ms: int = 3000) -> None:
        """Stop cooperatively: no new job or poll starts, the one running finishes (every device and
        network call has its own deadline), then the thread's loop ends.

        QThread.terminate() would kill the thread wherever it is — inside a write to the printer,
        holding a lock in the serial driver or a SQLite transaction — which on Windows leaves a port
        or a file handle that the next start cannot open. A job past ``timeout_ms`` is waited for
        a while longer; one that still runs is left to finish on its own (logged), and its thread
        is kept referenced so that Python does not destroy a running QThread."""
        if not self._thread.isRunning():
            return
        self.worker.stopping.set()
        self.worker._stop.emit()
        self._thread.quit()
        if self._thread.wait(timeout_ms):
            return
        log.warning("worker %s still busy after %d ms; waiting for its job's own deadline", self.name, timeout_ms)
        if self._thread.wait(LINGER_MS):
            return
        log.warning("worker %s left running at shutdown (a device call that ignores its deadline)", self.name)
        _LINGERING.append(self._thread)
        self._thread.setParent(None)

"""Stopping a worker at shutdown is cooperative: the running device call ends at its own deadline
(never killed mid-write by QThread.terminate), and the jobs still queued behind it never start."""

from __future__ import annotations

import threading
import time


def test_stop_lets_the_running_job_finish_and_skips_the_queued_ones(qtbot):
    from PySide6.QtCore import QThread

    from app.ui.workers import WorkerThread

    killed = []
    original = QThread.terminate
    QThread.terminate = lambda self: killed.append(self)  # a kill would be seen here
    try:
        worker = WorkerThread("test")
        started, finished, second = threading.Event(), threading.Event(), threading.Event()

        def slow():  # a printer write with a 0.4 s deadline
            started.set()
            time.sleep(0.4)
            finished.set()

        worker.submit(slow)
        worker.submit(second.set)
        assert started.wait(5)
        worker.stop(timeout_ms=50)
        assert finished.is_set()  # stop() returned only after the job's own end
        assert not second.is_set()  # the queued job was not started
        assert not worker._thread.isRunning()
        assert killed == []
    finally:
        QThread.terminate = original

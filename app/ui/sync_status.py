"""The sync client on its worker thread, as the status bar sees it."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QObject, Qt, Signal

from app.ui.workers import WorkerThread

log = logging.getLogger("kezhan.ui.sync")

CLIENT_WAIT_S = 10.0  # how long a seat confirmation waits for the client being built


@dataclass(frozen=True)
class Snapshot:
    configured: bool
    online: bool = False
    offline_since: datetime | None = None
    last_sync: datetime | None = None
    pending: int | None = None
    alarm: str | None = None  # the alarm's message for the clerk
    open_tasks: int = 0
    leased_departures: int = 0


class SyncStatus(QObject):
    """Runs ``sync.client.SyncClient.run`` as the one long job of the sync worker thread; every
    cycle's status crosses into the GUI thread as ``status_changed``."""

    status_changed = Signal(object)  # Snapshot
    # A pool seat is being asked of the server, on the GUI thread (True), or the answer is in (False).
    seat_confirming = Signal(bool)
    _from_client = Signal(object)

    def __init__(self, client=None, parent: QObject | None = None, *, make_client=None) -> None:
        """``client``, or ``make_client()`` called on the sync thread to build it there (the counter
        window: the client's HTTP stack loads off the GUI thread, after the sign-in screen is up)."""
        super().__init__(parent)
        self.client = client
        self._snapshot = Snapshot(configured=True)
        self._stop = threading.Event()
        self._built = threading.Event()  # the client is there (given, or its build on the sync thread ended)
        self._from_client.connect(self._on_status, Qt.ConnectionType.QueuedConnection)
        if client is not None:
            client.on_status = self._from_client.emit
            self._built.set()
        self.thread = WorkerThread("sync", self)
        self.thread.submit(lambda: self._run(make_client))

    def _run(self, make_client) -> None:
        client = self.client
        if client is None:
            try:
                client = make_client()
                client.on_status = self._from_client.emit
                self.client = client
            finally:
                self._built.set()  # a build that failed is reported by the worker; waiters give up now
        client.run(self._stop)

    @classmethod
    def for_config(cls, config, db, terminal=None) -> SyncStatus:
        def make_client():
            from sync.client.client import SyncClient

            return SyncClient(db, server_url=config.server.url or None, terminal=terminal, zone=config.zone)

        status = cls(make_client=make_client)
        if terminal is not None:
            # An online sale of a seat outside this terminal's leases asks the server for it first.
            terminal.seat_confirmer = status.confirm_seat
        return status

    def confirm_seat(self, departure_id: str, seat_no: int | None) -> int:
        """The client's ``confirm_seat`` once the sync thread has built it (moments after the window's
        services have loaded; a sale comes later than that unless the client could not be built)."""
        if not self._built.wait(CLIENT_WAIT_S) or self.client is None:
            from app.errors import SyncError

            raise SyncError("无法向省平台申请座位（同步未运行），请从本机租用的座位中选择",
                            en="cannot ask the server for a seat (the sync client is not running); pick a leased seat",
                            code="OFFLINE")
        self.seat_confirming.emit(True)
        try:
            return self.client.confirm_seat(departure_id, seat_no)
        finally:
            self.seat_confirming.emit(False)

    def _on_status(self, status) -> None:
        self._snapshot = Snapshot(
            configured=True, online=status.online, offline_since=status.offline_since,
            last_sync=status.last_sync, pending=status.pending_events, alarm=status.alarm_message,
            open_tasks=status.open_tasks, leased_departures=status.lease_coverage.covered,
        )
        self.status_changed.emit(self._snapshot)

    def snapshot(self) -> Snapshot:
        return self._snapshot

    def nudge(self) -> None:
        if self.client is not None:  # not built yet: its first cycle comes anyway
            self.client.poke()

    def stop(self) -> None:
        self._stop.set()
        if self.client is not None:
            self.client.poke()
        self.thread.stop(timeout_ms=5000)
        if self.client is not None:  # built by now unless the thread never got to it
            self.client.close()  # its network threads and HTTP sessions go with the window

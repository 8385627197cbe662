"""The sync client on its worker thread, as the status bar sees it."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QObject, Qt, Signal

from app.ui.workers import WorkerThread

log = logging.getLogger("kezhan.ui.sync")


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
    _from_client = Signal(object)

    def __init__(self, client=None, parent: QObject | None = None, *, make_client=None) -> None:
        """``client``, or ``make_client()`` called on the sync thread to build it there (the counter
        window: the client's HTTP stack loads off the GUI thread, after the sign-in screen is up)."""
        super().__init__(parent)
        self.client = client
        self._snapshot = Snapshot(configured=True)
        self._stop = threading.Event()
        self._from_client.connect(self._on_status, Qt.ConnectionType.QueuedConnection)
        if client is not None:
            client.on_status = self._from_client.emit
        self.thread = WorkerThread("sync", self)
        self.thread.submit(lambda: self._run(make_client))

    def _run(self, make_client) -> None:
        client = self.client
        if client is None:
            client = make_client()
            client.on_status = self._from_client.emit
            self.client = client
        client.run(self._stop)

    @classmethod
    def for_config(cls, config, db, terminal=None) -> SyncStatus:
        def make_client():
            from sync.client.client import SyncClient

            return SyncClient(db, server_url=config.server.url or None, terminal=terminal, zone=config.zone)

        return cls(make_client=make_client)

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

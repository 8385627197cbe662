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

    def __init__(self, client, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self._snapshot = Snapshot(configured=True)
        self._stop = threading.Event()
        self._from_client.connect(self._on_status, Qt.ConnectionType.QueuedConnection)
        client.on_status = self._from_client.emit
        self.thread = WorkerThread("sync", self)
        self.thread.submit(lambda: client.run(self._stop))

    @classmethod
    def for_config(cls, config, db, terminal=None) -> SyncStatus:
        from sync.client.client import SyncClient

        client = SyncClient(db, server_url=config.server.url or None, terminal=terminal, zone=config.zone)
        if terminal is not None:
            # An online sale of a seat outside this terminal's leases asks the server for it first.
            terminal.seat_confirmer = client.confirm_seat
        return cls(client)

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
        self.client.poke()

    def stop(self) -> None:
        self._stop.set()
        self.client.poke()
        self.thread.stop(timeout_ms=5000)
        self.client.close()  # its network threads and HTTP sessions go with the window

"""Upload batches applied in worker processes (``kezhan server --upload-workers N``).

One interpreter runs one thread of Python at a time, and applying a batch is mostly Python: decoding
the body, re-encoding every event for its hash, building rows. A worker process decodes and checks
the next batch while another writes the one before it; the write itself stays one at a time (the
writer lock in ``db.py`` and, for one terminal, seq order: ``ProvinceServer.upload`` with
``behind``). The event loop process keeps the HTTP, the signatures and everything else.

Each worker has its own ``ProvinceServer`` on the same database, with the same settings, on the real
clock (a server built on another clock, as tests do, keeps its uploads in process).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from sync.protocol import ProtocolError
from sync.server.core import ProvinceServer, Settings, utcnow

log = logging.getLogger("kezhan.server")

_server: ProvinceServer | None = None  # the worker's own, made by _start


def _start(db_url: str, settings: Settings) -> None:
    global _server
    _server = ProvinceServer(db_url, settings=settings)
    # What the worker holds for its life is left out of every collection (see runner.serve).
    gc.collect()
    gc.freeze()


def _ready(hold: float) -> int:
    time.sleep(hold)  # held, so that each warm-up call lands on a worker of its own
    return os.getpid()


def _upload(terminal_id: str, raw: bytes, nonce: str) -> dict:
    return _server.upload_body(terminal_id, raw, nonce=nonce)


class UploadWorkers:
    def __init__(self, server: ProvinceServer, count: int):
        if count < 1:
            raise ValueError("upload workers: at least one")
        if server.clock is not utcnow:
            raise ValueError("upload workers run on the real clock; this server has another")
        self.count = count
        self._args = (server.engine.url.render_as_string(hide_password=False), server.settings)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self.pids: list[int] = []

    def start(self) -> None:
        """Starts every worker now (the first uploads would otherwise wait for them)."""
        # spawn, not fork: the server process has threads (the event loop's pool, the sweeper).
        self._pool = ProcessPoolExecutor(self.count, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_start, initargs=self._args)
        self.pids = sorted({f.result() for f in [self._pool.submit(_ready, 0.3) for _ in range(self.count)]})
        log.info("%d upload worker process(es) ready: %s", len(self.pids), self.pids)

    async def upload(self, terminal_id: str, raw: bytes, nonce: str) -> dict:
        loop = asyncio.get_running_loop()
        pool = self._pool
        try:
            return await loop.run_in_executor(pool, _upload, terminal_id, raw, nonce)
        except BrokenProcessPool:
            # A worker died (killed, out of memory): what it was writing rolled back with it. Start
            # afresh; the terminal sends the batch again.
            await loop.run_in_executor(None, self._restart, pool)
            raise ProtocolError("BUSY", "the batch could not be applied; retry") from None

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                log.error("an upload worker died; starting the workers again")
                broken.shutdown(wait=False, cancel_futures=True)
                self.start()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

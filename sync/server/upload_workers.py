"""Upload batches applied in worker processes (``kezhan server --upload-workers N``).

One interpreter runs one thread of Python at a time, and applying a batch is mostly Python: decoding
the body, re-encoding every event for its hash, building rows. A worker process decodes and checks
the next batch while another writes the one before it; the write itself stays one at a time (the
writer lock in ``db.py``). The event loop process keeps the HTTP, the signatures and everything
else, so a web order or a seat request is not queued behind the Python of backlog drains
(docs/protocol.md § Running the reference server has the measurement).

Each worker has its own ``ProvinceServer`` on the same database, with the same settings, on the real
clock (a server built on another clock, as tests do, keeps its uploads in process).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from sync.protocol import ProtocolError
from sync.server.clock import utcnow
from sync.server.core import ProvinceServer
from sync.server.settings import Settings

log = logging.getLogger("kezhan.server")

_server: ProvinceServer | None = None  # the worker's own, made by _start


def _start(db_url: str, settings: Settings) -> None:
    global _server
    # Ctrl-C reaches the whole process group: the server process stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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
        url = server.engine.url
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            raise ValueError("upload workers need a database file or server; each would open its own in memory")
        self.server = server
        self.count = count
        self._args = (server.engine.url.render_as_string(hide_password=False), server.settings)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self.pids: list[int] = []

    def start(self) -> None:
        """Starts every worker now (the first uploads would otherwise wait for them)."""
        # spawn, not fork: the server process has threads (the event loop's pool, the sweeper).
        pool = ProcessPoolExecutor(self.count, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start, initargs=self._args)
        pids: set[int] = set()
        for _ in range(10):  # calls held long enough that each lands on a worker of its own; rarely twice
            pids |= {f.result() for f in [pool.submit(_ready, 0.3) for _ in range(self.count)]}
            if len(pids) == self.count:
                break
        self._pool, self.pids = pool, sorted(pids)
        log.info("%d upload worker process(es) ready: %s", len(self.pids), self.pids)

    async def upload(self, terminal_id: str, raw: bytes, nonce: str) -> dict:
        loop = asyncio.get_running_loop()
        pool = self._pool
        try:
            if pool is None:
                raise BrokenProcessPool("the upload workers are stopped")
            try:
                running = loop.run_in_executor(pool, _upload, terminal_id, raw, nonce)
            except RuntimeError as exc:  # the pool is shutting down
                raise BrokenProcessPool(str(exc)) from None
            return await running
        except (BrokenProcessPool, KeyboardInterrupt) as exc:
            # A worker died (killed, out of memory) or the pool is shutting down: what it was
            # writing rolled back with it. The terminal sends the batch again; this request, whose
            # nonce the worker may not have recorded, may not come back.
            await loop.run_in_executor(None, self.server.record_nonce, terminal_id, nonce)
            if isinstance(exc, BrokenProcessPool) and pool is not None:
                await loop.run_in_executor(None, self._restart, pool)
            raise ProtocolError("BUSY", "the batch could not be applied; retry") from None

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                log.error("an upload worker died; starting the workers again")
                broken.shutdown(wait=False, cancel_futures=True)
                self.start()

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

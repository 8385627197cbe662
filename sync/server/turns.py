"""One terminal's upload batches applied in seq order when it sends the next before the answer to
the last (docs/protocol.md § Upload).

The wait happens on the event loop, before a batch takes a worker thread: a batch waiting for
the one ahead of it holds no thread that signature checks, seat requests or other terminals'
batches need. The server is single-process; should it ever run several processes, a batch that
overtakes its predecessor there meets ``SEQ_GAP`` and the terminal sends it again, which is safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

log = logging.getLogger("kezhan.server")


class BatchTurns:
    def __init__(self, wait: float):
        self.wait = wait
        self._in_flight: dict[str, list[int]] = {}  # terminal -> first seqs of its batches here now
        self._changed: asyncio.Condition | None = None  # made on the event loop, at first use

    def waiting_for(self, terminal_id: str, first: int) -> bool:
        return any(f < first for f in self._in_flight.get(terminal_id, ()))

    @contextlib.asynccontextmanager
    async def turn(self, terminal_id: str, first: int):
        """Registers the batch, waits (up to ``wait`` seconds) while a batch of the same terminal
        with lower seqs is still here, and lets the next ones go when this one is done."""
        if self._changed is None:
            self._changed = asyncio.Condition()
        line = self._in_flight.setdefault(terminal_id, [])
        line.append(first)
        try:
            if self.waiting_for(terminal_id, first):
                deadline = time.monotonic() + self.wait
                async with self._changed:
                    while self.waiting_for(terminal_id, first):
                        left = deadline - time.monotonic()
                        if left <= 0:
                            log.warning("batch from %s at seq %d stopped waiting for an earlier one",
                                        terminal_id, first)
                            break
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._changed.wait(), left)
            yield
        finally:
            line.remove(first)
            if not line:
                del self._in_flight[terminal_id]
            async with self._changed:
                self._changed.notify_all()

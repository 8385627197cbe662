"""A serial scanner on a pseudo-terminal (POSIX only; a development tool) for tests and the demo.

    sim = ScannerSimulator(); path = sim.start()
    sim.scan("K1203-0001-7F3A")                 # code + CR LF
    sim.scan("ABC", suffix=b"", pieces=3, gap=0.03)
    sim.send(b"\\x00\\xffAB\\r")                   # whatever bytes a broken scanner sends
    sim.stop()
"""

from __future__ import annotations

import os
import time

from drivers.pseudoterminal import close_fds, open_raw_pty


class ScannerSimulator:
    def __init__(self, *, suffix: bytes = b"\r\n", encoding: str = "utf-8"):
        self.suffix = suffix
        self.encoding = encoding
        self.path: str | None = None
        self._master: int | None = None
        self._slave: int | None = None

    def start(self) -> str:
        self._master, self._slave, self.path = open_raw_pty()
        return self.path

    def send(self, data: bytes) -> None:
        os.write(self._master, data)

    def scan(self, code: str, *, suffix: bytes | None = None, pieces: int = 1, gap: float = 0.0) -> None:
        """Send ``code`` and its suffix, in ``pieces`` parts ``gap`` seconds apart."""
        data = code.encode(self.encoding) + (self.suffix if suffix is None else suffix)
        step = max(1, -(-len(data) // max(1, pieces)))
        for start in range(0, len(data), step):
            self.send(data[start : start + step])
            if gap and start + step < len(data):
                time.sleep(gap)

    def stop(self) -> None:
        close_fds(self._master, self._slave)
        self._master = self._slave = None

    def __enter__(self) -> ScannerSimulator:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

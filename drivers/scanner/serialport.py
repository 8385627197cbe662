"""Serial scanners: a code ends with CR, LF or CRLF, or — for a scanner set to send no suffix — with
a pause in the byte stream.

:class:`LineAssembler` is the pure part (bytes and times in, scans out), so timing rules are tested
without a port; :class:`SerialScanner` feeds it from pyserial.
"""

from __future__ import annotations

import queue
import threading
import time

import serial

from drivers.errors import DriverError
from drivers.serial_device import SerialDevice

from .scan import Scan, bad, good, printable

SOURCE = "serial"


class ScannerError(DriverError):
    """The scanner's port cannot be opened, or vanished while in use."""

    code = "scanner_error"


class LineAssembler:
    """``terminator="line"``: CR, LF or CRLF ends a code; bytes left hanging for longer than
    ``partial_after`` seconds are reported as ``partial``. ``terminator="gap"``: the scanner sends
    no suffix, and ``gap`` seconds of quiet end a code.
    """

    def __init__(self, terminator: str = "line", *, gap: float = 0.08, partial_after: float = 0.5,
                 max_length: int = 512, encoding: str = "utf-8"):
        if terminator not in ("line", "gap"):
            raise ValueError("terminator must be 'line' or 'gap'")
        self.terminator = terminator
        self.gap = gap
        self.partial_after = partial_after
        self.max_length = max_length
        self.encoding = encoding
        self._buf = bytearray()
        self._last = 0.0
        self._after_cr = False
        self._overflow = False

    @property
    def timeout(self) -> float:
        return self.gap if self.terminator == "gap" else self.partial_after

    def feed(self, data: bytes, now: float) -> list[Scan]:
        out = self.expire(now)
        for byte in data:
            if self.terminator == "line" and byte in (0x0D, 0x0A):
                if byte == 0x0A and self._after_cr and not self._buf:
                    self._after_cr = False  # the LF of a CRLF
                    continue
                self._after_cr = byte == 0x0D
                if self._buf or self._overflow:
                    out.append(self._finish())
                continue
            self._after_cr = False
            if len(self._buf) >= self.max_length:
                self._overflow = True
            else:
                self._buf.append(byte)
        if data:
            self._last = now
        return out

    def expire(self, now: float) -> list[Scan]:
        """Resolve bytes that have waited ``timeout`` seconds; call when the port read times out."""
        if (self._buf or self._overflow) and now - self._last >= self.timeout:
            if self.terminator == "gap":
                return [self._finish()]
            raw = self._take()
            return [bad("partial", raw, SOURCE)]
        return []

    def _take(self) -> str:
        raw = self._buf.decode(self.encoding, errors="replace")
        self._buf.clear()
        self._overflow = False
        return raw

    def _finish(self) -> Scan:
        data = bytes(self._buf)
        overflow = self._overflow
        raw = self._take()
        if overflow:
            return bad("too_long", raw, SOURCE)
        try:
            text = data.decode(self.encoding)
        except UnicodeDecodeError:
            return bad("undecodable", raw, SOURCE)
        if not printable(text):
            return bad("non_printable", raw, SOURCE)
        return good(text, SOURCE)


class SerialScanner(SerialDevice):
    """A scanner on a serial port (``COM4``, ``/dev/ttyACM0``, a pyserial URL).

    Use :meth:`read` from your own loop, or :meth:`start` a thread that puts scans on ``scans``
    (a queue) and/or calls ``on_scan`` with each :class:`Scan`.
    """

    def __init__(self, port: str, baud: int = 9600, *, terminator: str = "line", gap: float = 0.08,
                 partial_after: float = 0.5, encoding: str = "utf-8", on_scan=None):
        self.url = port
        self.baud = baud
        self.assembler = LineAssembler(terminator, gap=gap, partial_after=partial_after, encoding=encoding)
        self.on_scan = on_scan
        self.scans: queue.Queue[Scan] = queue.Queue()
        self._pending: list[Scan] = []
        self._port = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def open(self) -> SerialScanner:
        try:
            self._port = serial.serial_for_url(self.url, baudrate=self.baud, timeout=0.02)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ScannerError(f"无法打开扫码枪端口 {self.url}", en=f"cannot open {self.url}: {exc}",
                               code="port_unavailable") from exc
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        self.close()

    def read(self, timeout: float | None = None) -> Scan | None:
        """The next scan (good or bad), or None when none completed within ``timeout`` seconds."""
        if self._pending:
            return self._pending.pop(0)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                chunk = self._port.read(self._port.in_waiting or 1)
            except (serial.SerialException, OSError) as exc:
                raise ScannerError("扫码枪连接已断开", en=f"scanner port error: {exc}", code="port_lost") from exc
            now = time.monotonic()
            self._pending += self.assembler.feed(chunk, now) if chunk else self.assembler.expire(now)
            if self._pending:
                return self._pending.pop(0)
            if deadline is not None and now >= deadline:
                return None

    def start(self) -> SerialScanner:
        if self._port is None:
            self.open()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="serial-scanner", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                scan = self.read(0.1)
            except ScannerError:
                return
            if scan is not None:
                self.scans.put(scan)
                if self.on_scan is not None:
                    self.on_scan(scan)

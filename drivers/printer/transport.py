"""Transports to a printer through python-escpos, every write and read against a deadline.

python-escpos is imported lazily: it is slow to import and calls ``logging.basicConfig()`` at
import time, which would put a stderr handler on the root logger of whoever imported us first.
We import it with a placeholder handler on the root logger so that call is a no-op.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from drivers.printer import codes
from drivers.printer.errors import PrinterError, PrinterTimeout
from drivers.printer.status import PrinterStatus, is_reply, parse_status
from drivers.printer.targets import Target, parse_target

log = logging.getLogger("kezhan.drivers.printer")

DEFAULT_TIMEOUT = 5.0
STATUS_TIMEOUT = 1.0
# How long after the last answer a status waits for bytes nobody asked for (see Transport.status).
SETTLE_S = 0.05


@contextmanager
def _quiet_root_logger():
    """python-escpos logs through the root-level ``logging.info()``/``basicConfig()``, which put
    a stderr handler on an unconfigured root logger; a placeholder handler makes those no-ops."""
    root = logging.getLogger()
    guard = None
    if not root.handlers:
        guard = logging.NullHandler()
        root.addHandler(guard)
    try:
        yield
    finally:
        if guard is not None:
            root.removeHandler(guard)


def import_escpos_printer():
    with _quiet_root_logger():
        try:
            import escpos.printer as printer
        except ImportError as exc:  # pragma: no cover - a broken install
            raise PrinterError(
                "缺少打印机驱动组件 python-escpos",
                en=f"python-escpos is not installed: {exc}",
                code="PRINTER_NO_ESCPOS",
            ) from exc
    return printer


def _run_with_deadline(fn, timeout: float, what: str):
    """Run a blocking call that has no timeout of its own (spooler, device file) in a thread.

    On timeout the thread is left behind (it cannot be interrupted) and we report the timeout.
    """
    box: dict = {}

    def runner():
        try:
            box["result"] = fn()
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    t = threading.Thread(target=runner, name=f"printer-{what}", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise PrinterTimeout(f"打印机{what}超时", en=f"printer {what} did not finish within {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box.get("result")


class Transport:
    """An open connection to one printer. Use as a context manager."""

    def __init__(self, target: Target, timeout: float = DEFAULT_TIMEOUT):
        self.target = target
        self.timeout = timeout
        self._p = None  # the python-escpos printer object

    @property
    def can_read(self) -> bool:
        return self.target.can_answer

    # -- lifecycle -------------------------------------------------------------------------
    def open(self) -> Transport:
        with _quiet_root_logger():
            return self._open()

    def _open(self) -> Transport:
        t = self.target
        ep = import_escpos_printer()
        self._check_usable(ep)
        try:
            if t.kind == "tcp":
                self._p = ep.Network(host=t.host, port=t.port, timeout=self.timeout)
                # escpos connects over IPv4 only and leaks the socket when the connect fails;
                # create_connection does IPv6 too and closes what it could not connect.
                self._p.device = socket.create_connection((t.host, t.port), timeout=self.timeout)
            elif t.kind == "serial":
                self._p = ep.Serial(devfile=t.device, baudrate=t.baudrate, timeout=self.timeout)
                if "://" in t.device:
                    # pyserial URLs (socket://, rfc2217://) let a simulator stand in for a COM port;
                    # escpos opens plain ports only, so hand it the URL port ourselves.
                    import serial

                    self._p.device = serial.serial_for_url(
                        t.device, baudrate=t.baudrate, timeout=self.timeout, write_timeout=self.timeout
                    )
                else:
                    self._p.open()
                    self._p.device.write_timeout = self.timeout
            elif t.kind == "usb":
                # pyusb timeouts are in milliseconds.
                self._p = ep.Usb(t.vendor_id, t.product_id, timeout=int(self.timeout * 1000))
                self._p.open()
            elif t.kind == "win":
                self._p = ep.Win32Raw(printer_name=t.device)
                _run_with_deadline(lambda: self._p.open(job_name="kezhan"), self.timeout, "open")
            elif t.kind == "file":
                self._p = ep.File(devfile=t.device, auto_flush=True)
                _run_with_deadline(self._p.open, self.timeout, "open")
            else:
                self._p = ep.Dummy()
        except PrinterError:
            raise
        except Exception as exc:
            _discard(self._p)
            self._p = None
            raise PrinterError(
                f"无法连接打印机 {t}",
                en=f"cannot open printer {t}: {type(exc).__name__}: {_one_line(exc)}",
                code="PRINTER_UNREACHABLE",
            ) from exc
        if self._p is None or (t.kind != "dummy" and not self._p._device):
            _discard(self._p)
            self._p = None
            raise PrinterError(f"无法连接打印机 {t}", en=f"cannot open printer {t}", code="PRINTER_UNREACHABLE")
        return self

    def _check_usable(self, ep) -> None:
        kind = self.target.kind
        if kind == "usb" and not ep.Usb.is_usable():
            raise PrinterError(
                "USB 直连打印需要安装 pyusb 和 libusb；也可改用 Windows 打印队列（win:名称）或虚拟串口（serial:COMn）",
                en="usb: targets need pyusb and a libusb backend; install them, or print through the "
                "Windows spooler (win:NAME) or the printer's virtual COM port (serial:COMn)",
                code="PRINTER_USB_UNAVAILABLE",
            )
        if kind == "win" and not ep.Win32Raw.is_usable():
            raise PrinterError(
                "win: 打印队列仅在装有 pywin32 的 Windows 上可用",
                en="win: targets need Windows with pywin32",
                code="PRINTER_WIN_UNAVAILABLE",
            )
        if kind == "serial" and not ep.Serial.is_usable():
            raise PrinterError(
                "串口打印需要 pyserial", en="serial: targets need pyserial", code="PRINTER_SERIAL_UNAVAILABLE"
            )

    def close(self) -> None:
        p, self._p = self._p, None
        if p is None:
            return
        try:
            with _quiet_root_logger():
                if self.target.kind in ("win", "file"):
                    _run_with_deadline(p.close, self.timeout, "close")
                else:
                    p.close()
        except Exception as exc:
            log.warning("closing printer %s: %s", self.target, _one_line(exc))

    def __enter__(self) -> Transport:
        return self.open() if self._p is None else self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- bytes -----------------------------------------------------------------------------
    @property
    def output(self) -> bytes:
        """What a ``dummy`` target has received."""
        return bytes(self._p.output) if self.target.kind == "dummy" and self._p is not None else b""

    def write(self, data: bytes) -> None:
        if self._p is None:
            raise PrinterError("打印机未连接", en="printer is not open", code="PRINTER_NOT_OPEN")
        t = self.target
        try:
            if t.kind == "tcp":
                sock = self._p.device
                sock.settimeout(self.timeout)
                sock.sendall(data)
            elif t.kind == "serial":
                self._p.device.write(data)
                self._p.device.flush()
            elif t.kind == "usb":
                self._p._raw(data)
            elif t.kind in ("win", "file"):
                _run_with_deadline(lambda: self._p._raw(data), self.timeout, "write")
            else:
                self._p._raw(data)
        except PrinterError:
            raise
        except TimeoutError as exc:
            raise PrinterTimeout(
                f"向打印机 {t} 发送数据超时", en=f"printer {t} did not take the data within {self.timeout:g} s"
            ) from exc
        except Exception as exc:
            if type(exc).__name__ in ("SerialTimeoutException", "USBTimeoutError"):
                raise PrinterTimeout(
                    f"向打印机 {t} 发送数据超时",
                    en=f"printer {t} did not take the data within {self.timeout:g} s",
                ) from exc
            raise PrinterError(
                f"向打印机 {t} 发送数据失败",
                en=f"writing to printer {t} failed: {type(exc).__name__}: {_one_line(exc)}",
                code="PRINTER_WRITE_FAILED",
            ) from exc

    def read_byte(self, timeout: float) -> int | None:
        """One reply byte, or None when nothing came within ``timeout`` seconds."""
        if not self.can_read or self._p is None:
            return None
        data = self._read(timeout, 1)
        return data[0] if data else None

    def drain(self) -> bytes:
        """Discard whatever the printer sent unasked (automatic status back, old replies)."""
        junk = b""
        while self.can_read and self._p is not None:
            chunk = self._read(0.0, 64)
            if not chunk:
                break
            junk += chunk
            if len(junk) > 4096:
                break
        return junk

    def _read(self, timeout: float, n: int) -> bytes:
        t = self.target
        try:
            if t.kind == "tcp":
                sock = self._p.device
                sock.settimeout(timeout if timeout > 0 else 0.001)
                try:
                    return sock.recv(n)
                except (TimeoutError, BlockingIOError):
                    return b""
                finally:
                    sock.settimeout(self.timeout)
            if t.kind == "serial":
                dev = self._p.device
                dev.timeout = timeout
                try:
                    return dev.read(n)
                finally:
                    dev.timeout = self.timeout
            if t.kind == "usb":
                try:
                    return bytes(self._p.device.read(self._p.in_ep, max(n, 16), max(1, int(timeout * 1000))))[
                        :n
                    ]
                except Exception as exc:
                    if "timeout" in type(exc).__name__.lower() or "timed out" in str(exc).lower():
                        return b""
                    raise
        except (ConnectionError, OSError) as exc:
            raise PrinterError(
                f"读取打印机 {t} 状态失败",
                en=f"reading from printer {t} failed: {_one_line(exc)}",
                code="PRINTER_READ_FAILED",
            ) from exc
        return b""

    # -- status ----------------------------------------------------------------------------
    def status(self, timeout: float = STATUS_TIMEOUT) -> PrinterStatus:
        """Ask DLE EOT 1, 2, 4 (and 3 after a reported error); never claims "ready" on silence."""
        if not self.can_read:
            return PrinterStatus(answered=False)
        before = self.drain()
        replies: dict[int, int | None] = {}
        for n, query in ((1, codes.STATUS_PRINTER), (2, codes.STATUS_OFFLINE), (4, codes.STATUS_PAPER)):
            replies[n] = self._ask(query, timeout)
            if n == 1 and replies[1] is None:
                # A printer that ignores the first query will ignore the rest: do not wait thrice.
                return parse_status(None, None, None)
        if is_reply(replies[2]) and replies[2] & 0x40:
            replies[3] = self._ask(codes.STATUS_ERROR, timeout)
        # A printer answers each query with one byte and sends nothing else shaped like an answer
        # (automatic status back never is). A peer that sends such bytes unasked — a stream of
        # 0x12, an echo of every byte — answered nothing: its "all clear" would confirm a ticket
        # that was never printed. A late answer to one earlier query is tolerated before asking.
        after = self._settle(min(SETTLE_S, timeout))
        if _replies_in(before) > len(replies) or _replies_in(after):
            return PrinterStatus(answered=False, raw={**replies, 0: None})
        return parse_status(replies[1], replies[2], replies[4], replies.get(3))

    def _settle(self, wait: float) -> bytes:
        """What arrives unasked in a short window after the last answer."""
        first = self._read(wait, 64) if wait > 0 else b""
        return first + self.drain() if first else first

    def _ask(self, query: bytes, timeout: float) -> int | None:
        self.write(query)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            b = self.read_byte(left)
            if b is None:
                return None
            if is_reply(b):
                return b
            # ASB or other unsolicited bytes: keep waiting for the real reply.


def _replies_in(data: bytes) -> int:
    return sum(1 for b in data if is_reply(b))


def _discard(p) -> None:
    """Drop a half-opened escpos object without its ``__del__`` → ``close()`` failing noisily."""
    if p is None:
        return
    try:
        p._device = False
    except Exception:
        pass
    p.close = lambda *a, **k: None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def open_target(target: str | Target, timeout: float = DEFAULT_TIMEOUT) -> Transport:
    t = parse_target(target) if isinstance(target, str) else target
    return Transport(t, timeout).open()


@dataclass
class PrintResult:
    """What happened to a print job.

    ``ok`` only when the bytes went out and — where the transport can answer — the printer said
    it is ready after the job. ``confirmed`` tells whether the printer's state is known at all.
    """

    ok: bool
    sent: bool
    target: str
    status: PrinterStatus | None
    reason: str = ""
    reason_zh: str = ""
    bytes_sent: int = 0

    @property
    def confirmed(self) -> bool:
        return bool(self.status and self.status.answered)

    def text(self, language: str = "zh_CN") -> str:
        """What happened, in ``language`` (Chinese unless it starts with "en"), as errors give theirs."""
        if language.startswith("en"):
            return self.reason or self.reason_zh
        return self.reason_zh or self.reason

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "sent": self.sent,
            "confirmed": self.confirmed,
            "target": self.target,
            "bytes_sent": self.bytes_sent,
            "reason": self.reason,
            "reason_zh": self.reason_zh,
            "status": self.status.to_dict() if self.status else None,
        }


def print_bytes(
    target: str | Target,
    data: bytes,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    status_timeout: float = STATUS_TIMEOUT,
    require_answer: bool = True,
    transport: Transport | None = None,
) -> PrintResult:
    """Send one job.

    Where the transport can answer, the printer is asked first — a job is not sent to a printer
    that says it has no paper, so pre-printed stock is not spoiled — and again afterwards.
    ``require_answer=False`` accepts a printer that never answers status queries (some cheap
    network printers); otherwise silence makes the job unconfirmed and not ``ok``.
    Raises :class:`PrinterError` when the printer cannot be opened or written to.
    """
    t = parse_target(target) if isinstance(target, str) else target
    own = transport is None
    tr = transport or Transport(t, timeout)
    try:
        if own:
            tr.open()
        if tr.can_read:
            before = tr.status(status_timeout)
            if before.answered and not before.ready:
                return PrintResult(
                    False,
                    False,
                    str(t),
                    before,
                    f"not printed: {before.message('en')}",
                    f"未打印：{before.message('zh')}",
                )
        tr.write(data)
        if not tr.can_read:
            return PrintResult(
                True,
                True,
                str(t),
                None,
                "sent (this transport cannot report status)",
                "已发送（该连接方式无法读取打印机状态）",
                len(data),
            )
        after = tr.status(status_timeout)
        if after.ready:
            return PrintResult(True, True, str(t), after, "printed", "打印完成", len(data))
        if not after.answered:
            return PrintResult(
                not require_answer,
                True,
                str(t),
                after,
                "sent, but the printer did not answer the status query",
                "已发送，但打印机无状态应答",
                len(data),
            )
        return PrintResult(
            False,
            True,
            str(t),
            after,
            f"sent, but the printer is not ready: {after.message('en')}",
            f"已发送，但打印机未就绪：{after.message('zh')}",
            len(data),
        )
    finally:
        if own:
            tr.close()


def query_status(
    target: str | Target, *, timeout: float = DEFAULT_TIMEOUT, status_timeout: float = STATUS_TIMEOUT
) -> PrinterStatus:
    t = parse_target(target) if isinstance(target, str) else target
    with Transport(t, timeout) as tr:
        return tr.status(status_timeout)

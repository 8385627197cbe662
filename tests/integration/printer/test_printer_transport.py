"""Transports: deadlines on writes and reads, unsolicited bytes, escpos's logging habits."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod

import pytest

from drivers.printer import PrinterError, PrinterTimeout, Transport, parse_target, print_bytes


class LoopbackPeer(ABC):
    """One connection's worth of TCP peer on loopback, served by ``_run`` on a thread of its own
    from the moment it is made; ``target`` is the printer address that reaches it."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()

    @property
    def target(self):
        return f"tcp:127.0.0.1:{self.srv.getsockname()[1]}"

    @abstractmethod
    def _run(self):
        """Serve the one connection."""


class FakePrinter(LoopbackPeer):
    """A TCP peer with scripted status behaviour: reads nothing, or replies with given bytes."""

    def __init__(self, *, read: bool = True, reply: bytes = b"", junk: bytes = b""):
        super().__init__()
        self.read, self.reply, self.junk = read, reply, junk
        self.received = bytearray()
        self.conn = None
        self.start()

    def _run(self):
        self.conn, _ = self.srv.accept()
        if self.junk:
            self.conn.sendall(self.junk)
        if not self.read:
            return
        self.conn.settimeout(5)
        replies = iter(self.reply)
        try:
            while True:
                data = self.conn.recv(4096)
                if not data:
                    break
                self.received += data
                for _ in range(data.count(b"\x10\x04")):
                    r = next(replies, None)
                    if r is not None:
                        self.conn.sendall(bytes((r,)))
        except OSError:
            pass

    def close(self):
        if self.conn:
            self.conn.close()
        self.srv.close()


def test_a_printer_that_stops_reading_makes_the_write_time_out():
    peer = FakePrinter(read=False)
    try:
        tr = Transport(parse_target(peer.target), timeout=0.5).open()
        started = time.monotonic()
        with pytest.raises(PrinterTimeout) as err:
            for _ in range(200):  # far more than the socket buffers hold
                tr.write(b"\x00" * 1_000_000)
        assert time.monotonic() - started < 5
        assert err.value.code == "PRINTER_TIMEOUT"
        tr.close()
    finally:
        peer.close()


def test_unsolicited_bytes_are_drained_before_asking():
    # Automatic status back bytes (0x00…) arrive first; the replies after them are ours.
    peer = FakePrinter(junk=b"\x00\x00\x0f\x00", reply=bytes([0x12, 0x12, 0x12]))
    try:
        time.sleep(0.1)
        with Transport(parse_target(peer.target), 2).open() as tr:
            st = tr.status(timeout=1)
        assert st.answered and st.ready
    finally:
        peer.close()


def test_paper_running_out_during_the_job_fails_the_job():
    # Ready before (1, 2, 4), then offline with paper out after the bytes went out.
    peer = FakePrinter(reply=bytes([0x12, 0x12, 0x12, 0x1A, 0x32, 0x7E]))
    try:
        result = print_bytes(peer.target, b"\x1b@ticket\n\x1dVA\x00", timeout=2)
        assert result.sent and not result.ok and result.confirmed
        assert result.status.conditions == ["paper_out"]
        assert result.reason == "sent, but the printer is not ready: paper out"
        assert result.reason_zh == "已发送，但打印机未就绪：打印机缺纸"
        time.sleep(0.1)
        assert b"\x1b@ticket\n" in peer.received
    finally:
        peer.close()


def test_garbage_instead_of_a_reply_is_no_answer_not_ready():
    peer = FakePrinter(reply=bytes([0x00, 0xFF, 0x00]))
    try:
        with Transport(parse_target(peer.target), 2).open() as tr:
            st = tr.status(timeout=0.3)
        assert not st.answered and not st.ready
    finally:
        peer.close()


def test_nobody_listening_is_a_clear_error():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(PrinterError) as err:
        print_bytes(f"tcp:127.0.0.1:{port}", b"x", timeout=1)
    assert err.value.code == "PRINTER_UNREACHABLE"
    assert "无法连接打印机" in err.value.message


def test_file_and_dummy_targets_send_without_status(tmp_path):
    out = tmp_path / "job.bin"
    result = print_bytes(f"file:{out}", b"\x1b@hello\n")
    assert result.ok and result.sent and not result.confirmed and result.status is None
    assert out.read_bytes() == b"\x1b@hello\n"
    with Transport(parse_target("dummy")).open() as tr:
        tr.write(b"abc")
        assert tr.output == b"abc"
        assert not tr.status().answered


def test_using_escpos_leaves_the_root_logger_alone(tmp_path):
    code = (
        "import logging\n"
        "from drivers.printer import print_bytes, PrinterError\n"
        f"print_bytes('file:{tmp_path / 'x.bin'}', b'x')\n"
        "print_bytes('dummy', b'x')\n"
        "try:\n    print_bytes('tcp:127.0.0.1:9', b'x', timeout=0.5)\nexcept PrinterError:\n    pass\n"
        "print(len(logging.getLogger().handlers))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(__import__("pathlib").Path(__file__).resolve().parents[3]),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"
    assert out.stderr == ""


def test_missing_usb_or_spooler_support_is_explained():
    from drivers.printer.transport import import_escpos_printer

    ep = import_escpos_printer()
    if not ep.Usb.is_usable():
        with pytest.raises(PrinterError) as err:
            print_bytes("usb:0x0416:0x5011", b"x")
        assert err.value.code == "PRINTER_USB_UNAVAILABLE" and "win:" in err.value.en
    if not ep.Win32Raw.is_usable():
        with pytest.raises(PrinterError) as err:
            print_bytes("win:XP-80C", b"x")
        assert err.value.code == "PRINTER_WIN_UNAVAILABLE"


class ChatteringPeer(LoopbackPeer):
    """Something on the printer's port that is no printer: it sends status-shaped 0x12 bytes, either
    as a stream nobody asked for or one for every byte it receives."""

    def __init__(self, mode: str):
        super().__init__()
        self.mode, self.stop = mode, threading.Event()
        self.start()

    def _run(self):
        conn, _ = self.srv.accept()
        conn.settimeout(0.005)
        try:
            while not self.stop.is_set():
                try:
                    data = conn.recv(65536)
                    if not data:
                        break
                except TimeoutError:
                    data = b""
                if self.mode == "stream":
                    conn.sendall(b"\x12" * 64)
                elif data:
                    conn.sendall(b"\x12" * len(data))
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.srv.close()


@pytest.mark.parametrize("mode", ["stream", "echo"])
def test_a_peer_that_only_sends_0x12_is_no_valid_answer_not_a_print(mode):
    peer = ChatteringPeer(mode)
    try:
        result = print_bytes(peer.target, b"\x1b@ticket\n\x1dVA\x00", timeout=2, status_timeout=0.5)
        assert not result.ok and not result.confirmed
        assert result.reason == "sent, but the printer did not answer the status query"
        assert result.reason_zh == "已发送，但打印机无状态应答"
    finally:
        peer.close()


def test_a_real_printer_that_answers_each_query_once_still_prints():
    peer = FakePrinter(reply=bytes([0x12] * 6))
    try:
        result = print_bytes(peer.target, b"\x1b@ticket\n\x1dVA\x00", timeout=2)
        assert result.ok and result.confirmed and result.reason == "printed"
    finally:
        peer.close()

"""The set-up steps against devices that misbehave: a port that answers garbage to the reader
probe, a printer that accepts the connection and never reads, a scanner that sends nothing. Each is
one failed step with a reason, within its deadline, never a hang or a traceback."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time

import pytest

from app.setup import SetupSession

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


@pytest.fixture
def session(tmp_path):
    return SetupSession(tmp_path / "kezhan.toml", sleep=lambda _s: None)


def test_a_port_answering_garbage_is_not_taken_for_the_reader(session):
    from drivers.pseudoterminal import close_fds, open_raw_pty

    master, slave, port = open_raw_pty()
    stop = threading.Event()

    def babble():
        while not stop.is_set():
            try:
                os.read(master, 4096)
                os.write(master, b"\xaa\xaa\xaa\x96\x69garbage\x00\xff" * 4)
            except OSError:
                return

    thread = threading.Thread(target=babble, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        result = session.probe_reader(port)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        close_fds(master, slave)
    assert not result.ok and "no reader found" in result.en and port in result.en
    assert session.config.reader.port == ""
    assert elapsed < 30


def test_a_printer_that_accepts_and_never_reads_fails_the_step_in_its_deadline(session):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    held = []
    threading.Thread(target=lambda: held.append(server.accept()), daemon=True).start()
    try:
        started = time.monotonic()
        result = session.set_printer(f"tcp:127.0.0.1:{server.getsockname()[1]}", timeout=2.0)
        elapsed = time.monotonic() - started
    finally:
        for conn, _ in held:
            conn.close()
        server.close()
    assert not result.ok and result.step == "printer"
    assert session.config.printer.target == ""  # not kept: nothing says the test ticket printed
    assert elapsed < 20
    assert result.data.get("silent") and "--allow-silent" in result.en  # the way to keep a silent one


def test_a_silent_printer_is_kept_when_the_technician_says_the_ticket_came_out(session, tmp_path):
    from drivers.printer.simulator import PrinterSimulator

    sim = PrinterSimulator(tmp_path / "printer").start()
    sim.set_condition("silent")  # prints, never answers DLE EOT (some network printers)
    try:
        refused = session.set_printer(sim.target, timeout=2.0)
        assert not refused.ok and refused.data.get("silent")
        kept = session.set_printer(sim.target, timeout=2.0, allow_silent=True)
        assert kept.ok and session.config.printer.target == sim.target
        assert len(sim.wait_for_jobs(2)) == 2  # both test tickets did print
    finally:
        sim.stop()


def test_a_serial_scanner_that_sends_nothing_says_so(session):
    from drivers.pseudoterminal import close_fds, open_raw_pty

    master, slave, port = open_raw_pty()
    try:
        result = session.test_serial_scanner(port, timeout=0.5)
    finally:
        close_fds(master, slave)
    assert not result.ok and result.en == "no code scanned in 0.5 s"
    assert session.config.scanner.port == ""


def test_a_serial_scanner_scan_is_kept(session):
    from drivers.scanner.simulator import ScannerSimulator

    with ScannerSimulator() as sim:
        port = sim.path
        threading.Timer(0.3, lambda: sim.scan("T20261205000123")).start()
        result = session.test_serial_scanner(port, timeout=5)
    assert result.ok and result.data["code"] == "T20261205000123"
    assert session.config.scanner.port == port

import time

import pytest

from drivers.scanner import ScannerError, SerialScanner
from drivers.scanner.simulator import ScannerSimulator


@pytest.fixture
def sim():
    with ScannerSimulator() as s:
        yield s


def test_code_with_crlf(sim):
    with SerialScanner(sim.path) as scanner:
        sim.scan("K1203-20261124-0001")
        scan = scanner.read(1.0)
    assert scan.ok and scan.code == "K1203-20261124-0001"


def test_fragmented_code_over_the_wire(sim):
    with SerialScanner(sim.path) as scanner:
        sim.scan("K1203-20261124-0002", pieces=4, gap=0.03)
        assert scanner.read(1.0).code == "K1203-20261124-0002"


def test_code_without_suffix_in_gap_mode(sim):
    with SerialScanner(sim.path, terminator="gap", gap=0.08) as scanner:
        sim.scan("6901234567892", suffix=b"", pieces=3, gap=0.02)
        scan = scanner.read(1.0)
        assert scan.ok and scan.code == "6901234567892"


def test_partial_code_is_reported(sim):
    with SerialScanner(sim.path, partial_after=0.2) as scanner:
        sim.scan("K1203-20", suffix=b"")
        scan = scanner.read(1.0)
    assert not scan.ok and scan.reason == "partial" and "重新扫码" in scan.message


def test_garbled_code_is_reported_and_the_next_one_reads(sim):
    with SerialScanner(sim.path) as scanner:
        sim.send(b"K12\x00\x8003\r\n")
        sim.scan("K1203-0003")
        first, second = scanner.read(1.0), scanner.read(1.0)
    assert not first.ok and first.reason in ("non_printable", "undecodable")
    assert second.ok and second.code == "K1203-0003"


def test_threaded_scanner_delivers_to_callback(sim):
    got = []
    scanner = SerialScanner(sim.path, on_scan=got.append).start()
    try:
        sim.scan("A1")
        sim.scan("B2", suffix=b"\r")
        deadline = time.monotonic() + 1.0
        while len(got) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        scanner.stop()
        scanner.close()
    assert [s.code for s in got] == ["A1", "B2"]


def test_nothing_scanned_returns_none(sim):
    with SerialScanner(sim.path) as scanner:
        assert scanner.read(0.1) is None


def test_missing_port():
    with pytest.raises(ScannerError) as info:
        SerialScanner("/dev/does-not-exist-kezhan").open()
    assert info.value.code == "port_unavailable"

"""Printing to the 9100 simulator over real loopback TCP."""

from __future__ import annotations

import socket
import time

import pytest

from drivers.printer import (
    PrinterSimulator,
    codes,
    print_bytes,
    print_ticket,
    query_status,
    render_image,
    render_test_ticket,
    render_ticket,
)
from tests.unit.printer.helpers import SAMPLE_TICKET, ink_bbox


@pytest.fixture
def sim(tmp_path):
    with PrinterSimulator(tmp_path / "jobs") as s:
        yield s


def test_simulator_reports_an_ephemeral_port(sim):
    assert sim.port > 0
    assert sim.target == f"tcp:127.0.0.1:{sim.port}"


def test_a_printed_ticket_becomes_a_png_of_exactly_those_bytes(sim):
    data = render_ticket(SAMPLE_TICKET, "80mm")
    result = print_ticket(sim.target, SAMPLE_TICKET, "80mm")
    assert result.ok and result.sent and result.confirmed
    assert result.status.ready
    (job,) = sim.wait_for_jobs(1)
    assert job.printed and job.png_path.exists() and job.bin_path.name == "job-0001.bin"
    assert job.data.endswith(data)  # after the status queries asked before the job
    from PIL import Image

    png = Image.open(job.png_path)
    expected = render_image(data)
    assert png.size == expected.size
    assert png.convert("1").tobytes() == expected.tobytes()


def test_jobs_split_at_each_cut_and_at_the_connection_close(sim):
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as s:
        s.sendall(
            codes.INIT
            + b"ONE\n"
            + codes.cut("full")
            + codes.INIT
            + b"TWO\n"
            + codes.cut("partial")
            + codes.INIT
            + b"THREE, NO CUT\n"
        )
    jobs = sim.wait_for_jobs(3)
    assert [j.number for j in jobs] == [1, 2, 3]
    assert jobs[0].data.endswith(b"ONE\n" + codes.cut("full"))
    assert jobs[2].data == codes.INIT + b"THREE, NO CUT\n"
    assert all(j.png_path and j.png_path.exists() for j in jobs)


def test_status_queries_alone_make_no_job(sim):
    assert query_status(sim.target).ready
    assert query_status(sim.target).ready
    time.sleep(0.3)
    assert sim.jobs == [] and sim.status_queries >= 6


@pytest.mark.parametrize(
    "condition, expected",
    [
        ("paper_out", ["paper_out"]),
        ("cover_open", ["cover_open"]),
        ("offline", ["offline"]),
        ("cutter_error", ["cutter_error"]),
    ],
)
def test_a_printer_that_is_not_ready_gets_no_ticket(sim, condition, expected):
    sim.set_condition(condition)
    result = print_bytes(sim.target, render_test_ticket("80mm"))
    assert not result.ok and not result.sent
    assert result.status.conditions == expected
    assert result.reason.startswith("not printed")
    time.sleep(0.3)
    assert sim.jobs == []


def test_jobs_received_while_not_ready_are_held_not_drawn(sim):
    sim.set_condition("cover_open")
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as s:
        s.sendall(codes.INIT + b"HELD\n" + codes.cut("full"))
    (job,) = sim.wait_for_jobs(1)
    assert not job.printed and job.png_path is None and job.bin_path.name == "job-0001.held.bin"


def test_near_end_paper_still_prints_and_says_so(sim):
    sim.set_condition("paper_near_end")
    result = print_bytes(sim.target, render_test_ticket("58mm"))
    assert result.ok
    assert result.status.conditions == ["paper_near_end"]
    sim.wait_for_jobs(1)


def test_silence_is_not_ready(sim):
    sim.set_condition("silent")
    started = time.monotonic()
    result = print_bytes(sim.target, render_test_ticket("58mm"), status_timeout=0.3)
    assert time.monotonic() - started < 3
    assert result.sent and not result.ok and not result.confirmed
    assert result.status.conditions == ["no_answer"]
    lenient = print_bytes(sim.target, render_test_ticket("58mm"), status_timeout=0.3, require_answer=False)
    assert lenient.ok and not lenient.confirmed


def test_the_state_file_switches_conditions(sim):
    assert sim.state_file.read_text() == "ready"
    sim.state_file.write_text("paper_out\n")
    deadline = time.monotonic() + 3
    while query_status(sim.target).conditions != ["paper_out"]:
        assert time.monotonic() < deadline, "state file change not picked up"
        time.sleep(0.1)
    sim.state_file.write_text("ready")
    deadline = time.monotonic() + 3
    while not query_status(sim.target).ready:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_a_dle_eot_inside_image_data_is_not_answered(sim):
    # A raster whose bytes happen to read DLE EOT 1: a printer parsing commands prints it.
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as s:
        s.sendall(codes.INIT + codes.raster(24, 1, b"\x10\x04\x01"))
        s.settimeout(0.5)
        with pytest.raises(TimeoutError):
            s.recv(1)
        s.sendall(codes.STATUS_PRINTER)
        assert s.recv(1) == b"\x12"
    (job,) = sim.wait_for_jobs(1)
    assert ink_bbox(render_image(job.data)) is not None


def test_stop_closes_the_port(tmp_path):
    sim = PrinterSimulator(tmp_path).start()
    port = sim.port
    sim.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_a_serial_target_can_be_a_pyserial_url_to_the_simulator(sim):
    target = f"serial:socket://127.0.0.1:{sim.port}@115200"
    result = print_bytes(target, render_test_ticket("58mm"))
    assert result.ok and result.confirmed
    sim.set_condition("cover_open")
    assert query_status(target).conditions == ["cover_open"]
    (job,) = sim.wait_for_jobs(1)
    assert job.printed


def test_ipv6_loopback_target(tmp_path):
    from drivers.printer import PrinterError

    try:
        sim = PrinterSimulator(tmp_path, host="::1").start()
    except PrinterError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert sim.target.startswith("tcp:[::1]:")
        assert print_bytes(sim.target, render_test_ticket("58mm")).ok
    finally:
        sim.stop()


def test_several_clients_at_once_each_get_their_job(sim):
    import threading

    results = []

    def client(n):
        results.append(print_bytes(sim.target, codes.INIT + f"CLIENT {n}\n".encode() + codes.cut("full")))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(results) == 4 and all(r.ok for r in results)
    jobs = sim.wait_for_jobs(4)
    assert sorted(j.data.split(b"CLIENT ")[1][:1] for j in jobs) == [b"0", b"1", b"2", b"3"]
    assert len({j.png_path for j in jobs}) == 4

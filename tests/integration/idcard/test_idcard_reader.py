import threading
import time

import pytest

from drivers.idcard import (
    CardLiftedError,
    ChecksumError,
    NoCardError,
    NoReaderError,
    PortError,
    Reader,
    ReaderTimeout,
    StatusError,
    frame,
)
from drivers.idcard import reader as reader_mod
from drivers.idcard.simulator import SAMPLE_CARDS, ReaderSimulator, build_photo


@pytest.mark.parametrize(
    "kind,card_type,name",
    [("resident", "resident", "王小明"), ("hmt", "hmt_residence", "陈家明"),
     ("foreign2017", "foreign_permanent_2017", "史密斯"), ("foreign2023", "foreign_permanent_2023", "玛丽亚")],
)
def test_each_card_type_over_the_wire(sim, reader, kind, card_type, name):
    sim.place(kind)
    card = reader.read_card(timeout=1)
    assert (card.card_type, card.name, card.number_valid) == (card_type, name, True)
    assert card.photo == build_photo(SAMPLE_CARDS[kind])
    assert sim.requests[-3:] == [reader_mod.FIND, reader_mod.SELECT, reader_mod.READ]


def test_card_placed_late_is_waited_for(sim, reader):
    sim.place("resident", delay=0.4)
    started = time.monotonic()
    card = reader.read_card(timeout=2, poll_interval=0.05)
    assert card.name == "王小明"
    assert time.monotonic() - started >= 0.4
    assert sim.count("find") >= 3  # it kept asking until the card arrived


def test_no_card_times_out_with_a_clerk_message(sim, reader):
    started = time.monotonic()
    with pytest.raises(NoCardError) as info:
        reader.read_card(timeout=0.4, poll_interval=0.05)
    assert 0.4 <= time.monotonic() - started < 1.5
    assert info.value.code == "no_card" and "证件" in info.value.message


@pytest.mark.parametrize("moment", ["select", "read"])
def test_card_lifted_mid_read(sim, reader, moment):
    sim.place("resident")
    sim.lift_on(moment)
    with pytest.raises(CardLiftedError) as info:
        reader.read_card(timeout=0.5, poll_interval=0.05)
    assert info.value.code == "card_lifted"


def test_card_lifted_and_put_back_is_read(sim, reader):
    sim.place("hmt")
    sim.lift_on("read")
    threading.Timer(0.25, sim.place, args=("hmt",)).start()
    card = reader.read_card(timeout=2, poll_interval=0.05)
    assert card.card_type == "hmt_residence"
    assert sim.count("read") == 2


def test_fragmented_reply_is_reassembled(sim):
    sim.place("foreign2023")
    sim.fragment(pieces=6, gap=0.04)
    with Reader(sim.url, 115200, timeout=1.0) as reader:
        started = time.monotonic()
        card = reader.read_card(timeout=2)
    # The pauses inside each reply are longer than any idle-gap framer would wait.
    assert time.monotonic() - started >= 6 * 0.04
    assert card.name_en == "GARCIA LOPEZ, MARIA ISABEL ALEJANDRA FE"


def test_one_corrupt_reply_is_retried(sim, reader):
    sim.place("resident")
    sim.fault("checksum", command="read")
    assert reader.read_card(timeout=1).name == "王小明"
    assert sim.count("read") == 2


def test_corrupt_replies_that_persist_are_an_error(sim, reader):
    sim.place("resident")
    sim.fault("checksum", command="read", count=10)
    with pytest.raises(ChecksumError) as info:
        reader.read_card(timeout=2, poll_interval=0.01)
    assert info.value.code == "bad_checksum"
    assert sim.count("find") == 1 and sim.count("read") == reader.retries + 1


def test_bad_checksum_on_a_single_command(sim, reader):
    sim.fault("checksum")
    with pytest.raises(ChecksumError):
        reader.sam_status()


def test_junk_before_the_reply_is_skipped(sim, reader):
    sim.place("resident")
    sim.fault("garbage", count=3)
    assert reader.read_card(timeout=1).name == "王小明"


def test_stale_input_is_discarded_before_a_command(sim, reader):
    sim.place("resident")
    sim.inject(frame.encode(b"\x00\x00\x80"))  # a late "no card" from an earlier command
    time.sleep(0.05)
    assert reader.find_card() is True


def test_silence_is_a_timeout(sim, reader):
    sim.silent = True
    started = time.monotonic()
    with pytest.raises(ReaderTimeout) as info:
        reader.read_card(timeout=2)
    assert info.value.code == "no_reply"
    assert time.monotonic() - started < 1.0  # silence is not retried until the card timeout


def test_truncated_reply_is_an_incomplete_reply(sim, reader):
    sim.place("resident")
    sim.fault("truncate", command="read")
    with pytest.raises(ReaderTimeout) as info:
        reader.read_selected() if reader.find_card() and reader.select_card() else None
    assert info.value.code == "incomplete_reply"


def test_request_checksums_are_checked_by_the_reader(sim, reader):
    port = reader._port
    bad = bytearray(frame.request(0x20, 0x01))
    bad[-1] ^= 0xFF
    port.reset_input_buffer()
    port.write(bytes(bad))
    reply = frame.read_frame(port, time.monotonic() + 0.5)
    assert reply.sw3 == 0x10


def test_a_hard_status_is_raised_at_once_with_its_message(sim, reader):
    sim.place("resident")
    sim.fault("status", command="find", sw3=0x66)
    with pytest.raises(StatusError) as info:
        reader.read_card(timeout=2)
    assert info.value.code == "sw3_66" and "未授权" in info.value.message
    assert sim.count("find") == 1


def test_card_left_on_the_reader_is_not_read_again(sim, reader):
    sim.place("resident")
    reader.read_card(timeout=1)
    with pytest.raises(NoCardError):
        reader.read_card(timeout=0.3, poll_interval=0.05)
    assert reader.card_present() is True
    sim.lift()
    assert reader.card_present() is False


def test_fingerprint_read(sim, reader):
    sim.fingerprint = b"\x43" * 1024
    sim.place("resident")
    card = reader.read_card(timeout=1, fingerprint=True)
    assert card.fingerprint == b"\x43" * 1024
    assert sim.requests[-1] == reader_mod.READ_WITH_FINGERPRINT


def test_newest_address(sim, reader):
    sim.place("resident")
    assert reader.read_newest_address() is None
    sim.place(dict(SAMPLE_CARDS["resident"], new_address="北京市西城区金融大街9号"))
    assert reader.read_newest_address() == "北京市西城区金融大街9号"


@pytest.mark.parametrize("rate", [57600, 19200, 9600])
def test_probing_finds_the_reader_rate(rate):
    with ReaderSimulator("resident", baud=rate) as sim:
        with Reader(sim.url, "auto", timeout=0.3, probe_timeout=0.1) as reader:
            assert reader.baudrate == rate
            assert reader.read_card(timeout=2).name == "王小明"


def test_a_fixed_wrong_rate_gets_no_valid_reply():
    with ReaderSimulator("resident", baud=9600) as sim:
        with Reader(sim.url, 115200, timeout=0.2) as reader:
            with pytest.raises(ReaderTimeout):
                reader.sam_status()


def test_probing_a_silent_port_finds_no_reader(sim):
    sim.silent = True
    with pytest.raises(NoReaderError) as info:
        Reader(sim.url, "auto", probe_timeout=0.05).open()
    assert info.value.code == "no_reader" and sim.url in info.value.message


def test_missing_port():
    with pytest.raises(PortError) as info:
        Reader("/dev/does-not-exist-kezhan", 115200).open()
    assert info.value.code == "port_unavailable"


def test_tcp_mode_works_through_a_socket_url():
    with ReaderSimulator("foreign2017", tcp_port=0) as sim:
        assert sim.url.startswith("socket://127.0.0.1:")
        with Reader(sim.url, "auto", timeout=0.3, probe_timeout=0.15) as reader:
            assert reader.baudrate == 115200
            assert reader.read_card(timeout=1).nationality == "USA"


def test_a_request_spoiled_on_the_line_is_retried(sim, reader):
    sim.place("resident")
    sim.fault("status", command="select", sw3=0x10)
    assert reader.read_card(timeout=1).name == "王小明"


def test_probing_keeps_a_rate_whose_sam_reports_a_fault():
    with ReaderSimulator("resident", baud=19200) as sim:
        sim.fault("status", command="status", sw3=0x60)
        with Reader(sim.url, "auto", timeout=0.3, probe_timeout=0.1) as reader:
            assert reader.baudrate == 19200

import os
import pty
import time
import tty

import pytest
import serial
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.idcard import frame
from drivers.idcard.errors import ChecksumError, FrameError, ReaderError, ReaderTimeout

# The requests exactly as the protocol document lists them.
DOCUMENTED = {
    (0x10, 0xFF): "AA AA AA 96 69 00 03 10 FF EC",
    (0x11, 0xFF): "AA AA AA 96 69 00 03 11 FF ED",
    (0x12, 0xFF): "AA AA AA 96 69 00 03 12 FF EE",
    (0x20, 0x01): "AA AA AA 96 69 00 03 20 01 22",
    (0x20, 0x02): "AA AA AA 96 69 00 03 20 02 21",
    (0x30, 0x01): "AA AA AA 96 69 00 03 30 01 32",
    (0x30, 0x10): "AA AA AA 96 69 00 03 30 10 23",
    (0x30, 0x03): "AA AA AA 96 69 00 03 30 03 30",
}


@pytest.mark.parametrize("command,expected", DOCUMENTED.items())
def test_requests_are_byte_exact(command, expected):
    assert frame.request(*command) == bytes.fromhex(expected)


def test_read_response_length_matches_the_document():
    body = b"\x00\x00\x90" + b"\x01\x00\x04\x00" + bytes(256) + bytes(1024)
    raw = frame.encode(body)
    assert len(raw) == 1295
    assert raw[5:7] == b"\x05\x08"
    parsed = frame.parse(raw)
    assert parsed.sw3 == 0x90 and len(parsed.data) == 4 + 256 + 1024


def test_bad_checksum_is_an_error_not_data():
    raw = bytearray(frame.encode(b"\x00\x00\x9f\x00\x00\x00\x00"))
    raw[-1] ^= 0x01
    with pytest.raises(ChecksumError) as info:
        frame.parse(bytes(raw))
    assert info.value.code == "bad_checksum"


@pytest.mark.parametrize(
    "raw,what",
    [
        (b"", "too short"),
        (b"\xaa\xaa\xaa\x96\x68\x00\x04\x00\x00\x90\x94", "preamble"),
        (b"\xaa\xaa\xaa\x96\x69\x00\x05\x00\x00\x90\x95", "length"),
        (b"\xaa\xaa\xaa\x96\x69\x00\x01\x01", "implausible"),
    ],
)
def test_malformed_frames_raise_frame_error(raw, what):
    with pytest.raises(FrameError):
        frame.parse(raw)


def test_decoder_resyncs_after_junk_and_reassembles_fragments():
    first = frame.encode(b"\x00\x00\x90")
    second = frame.encode(b"\x00\x00\x9f\x01\x02\x03\x04")
    stream = b"\x00\xaa\xaa\x13" + first + b"\xaa\xaa\xaa\x96\x69\xff\xff" + second
    decoder = frame.Decoder()
    frames = []
    for byte in stream:  # one byte at a time: the worst fragmentation there is
        decoder.feed(bytes([byte]))
        found = decoder.next_frame()
        if found:
            frames.append(found)
    assert [f.sw3 for f in frames] == [0x90, 0x9F]
    assert frames[1].data == b"\x01\x02\x03\x04"
    assert decoder.discarded > 0


def test_decoder_needed_asks_for_head_then_exactly_the_rest():
    decoder = frame.Decoder()
    assert decoder.needed() == 7
    raw = frame.encode(b"\x00\x00\x90" + bytes(20))
    decoder.feed(raw[:7])
    assert decoder.needed() == len(raw) - 7
    decoder.feed(raw[7:-1])
    assert decoder.needed() == 1


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_fuzz_parse_gives_a_frame_or_our_error(data):
    try:
        result = frame.parse(data)
    except ReaderError:
        return
    assert isinstance(result, frame.Frame)
    assert result.to_bytes() == data


_frames = st.builds(lambda body: frame.encode(body), st.binary(min_size=3, max_size=40))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.binary(max_size=30), _frames), max_size=8), st.integers(1, 17))
def test_fuzz_decoder_never_crashes_or_spins(parts, chunk):
    stream = b"".join(parts)
    decoder = frame.Decoder()
    got = 0
    for start in range(0, len(stream), chunk):
        decoder.feed(stream[start : start + chunk])
        for _ in range(len(stream) + 2):  # bounded: each call consumes or returns None
            try:
                result = decoder.next_frame()
            except ReaderError:
                continue
            if result is None:
                break
            got += 1
        else:
            pytest.fail("decoder kept producing without consuming")
        assert decoder.needed() >= 1
    # Every well-formed frame that is not swallowed by preceding junk comes out.
    assert got <= len(parts)


@pytest.fixture(scope="module")
def line():
    master, slave = pty.openpty()
    tty.setraw(slave)
    port = serial.Serial(os.ttyname(slave), 115200)
    yield master, port
    port.close()
    os.close(master)
    os.close(slave)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=200), _frames.map(lambda f: b"\x00\x17" + f)))
def test_fuzz_read_frame_over_a_real_pty(line, data):
    master, port = line
    port.reset_input_buffer()
    if data:
        os.write(master, data)
    started = time.monotonic()
    try:
        result = frame.read_frame(port, time.monotonic() + 0.05)
    except ReaderError as exc:
        assert isinstance(exc, (ReaderTimeout, FrameError))
    else:
        assert result.to_bytes() in data
    assert time.monotonic() - started < 1.0  # the deadline holds: no hang

"""Frames of the SAM serial protocol: building, decoding, and reading them from a port by length.

``AA AA AA 96 69 | LEN (2, BE) | body (LEN-1) | CHK`` where LEN counts everything after itself and
CHK is the XOR of LEN and body. Framing is by length only: the reader may pause inside a reply
(USB bridges deliver in 32/64-byte packets), so an idle gap says nothing about where a frame ends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .errors import ChecksumError, FrameError, ReaderTimeout

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
HEAD_SIZE = len(PREAMBLE) + 2
# A response has at least SW1 SW2 SW3 CHK. The biggest real reply (30 10 with a 1024-byte
# fingerprint) is 2321 bytes; a LEN far beyond that is line noise that happened to follow a
# preamble, so the decoder resynchronises instead of waiting for bytes that never come.
MIN_LEN = 3
MAX_LEN = 4096


def checksum(data: bytes) -> int:
    value = 0
    for byte in data:
        value ^= byte
    return value


def encode(body: bytes) -> bytes:
    """A whole frame around ``body`` (request: CMD PARA data; response: SW1 SW2 SW3 data)."""
    if len(body) + 1 > 0xFFFF:
        raise ValueError("frame body too long")
    length = (len(body) + 1).to_bytes(2, "big")
    return PREAMBLE + length + body + bytes([checksum(length + body)])


def request(cmd: int, para: int, data: bytes = b"") -> bytes:
    return encode(bytes([cmd, para]) + data)


@dataclass(frozen=True)
class Frame:
    body: bytes

    # As a response
    @property
    def sw1(self) -> int:
        return self.body[0] if len(self.body) > 0 else 0

    @property
    def sw2(self) -> int:
        return self.body[1] if len(self.body) > 1 else 0

    @property
    def sw3(self) -> int:
        if len(self.body) < 3:
            raise FrameError("读卡器回应不完整", en="response frame shorter than its status bytes")
        return self.body[2]

    @property
    def data(self) -> bytes:
        return self.body[3:]

    # As a request
    @property
    def cmd(self) -> int:
        return self.body[0] if self.body else 0

    @property
    def para(self) -> int:
        return self.body[1] if len(self.body) > 1 else 0

    def to_bytes(self) -> bytes:
        return encode(self.body)


def parse(data: bytes) -> Frame:
    """Exactly one whole frame, or :class:`FrameError`/:class:`ChecksumError`."""
    data = bytes(data)
    if len(data) < HEAD_SIZE:
        raise FrameError("读卡器回应不完整", en=f"frame too short ({len(data)} bytes)")
    if data[: len(PREAMBLE)] != PREAMBLE:
        raise FrameError("读卡器回应格式错误", en="frame does not start with the preamble AA AA AA 96 69")
    length = int.from_bytes(data[5:7], "big")
    if not MIN_LEN <= length <= MAX_LEN:
        raise FrameError("读卡器回应格式错误", en=f"implausible frame length {length}")
    if len(data) != HEAD_SIZE + length:
        raise FrameError(
            "读卡器回应不完整", en=f"frame length says {HEAD_SIZE + length} bytes, got {len(data)}"
        )
    if checksum(data[5:-1]) != data[-1]:
        raise ChecksumError("读卡器回应校验错误，请重试", en="response checksum mismatch")
    return Frame(data[HEAD_SIZE:-1])


class Decoder:
    """Incremental decoder for a byte stream that may hold junk, fragments and several frames.

    Junk before a preamble (line noise, the tail of a reply to an earlier command) is skipped; a
    preamble followed by an implausible length is treated as junk too. A frame with a bad checksum
    is consumed and reported as :class:`ChecksumError` so the caller can ask again.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.discarded = 0

    def feed(self, data: bytes) -> None:
        self._buf += data

    @property
    def pending(self) -> int:
        return len(self._buf)

    def _resync(self) -> None:
        while True:
            index = self._buf.find(PREAMBLE)
            if index < 0:
                # Keep a tail that could be the start of a preamble split across reads.
                keep = 0
                for n in range(min(len(PREAMBLE) - 1, len(self._buf)), 0, -1):
                    if self._buf.endswith(PREAMBLE[:n]):
                        keep = n
                        break
                drop = len(self._buf) - keep
                self.discarded += drop
                del self._buf[:drop]
                return
            if index:
                self.discarded += index
                del self._buf[:index]
            if len(self._buf) < HEAD_SIZE:
                return
            length = int.from_bytes(self._buf[5:7], "big")
            if MIN_LEN <= length <= MAX_LEN:
                return
            # A preamble-like pattern inside noise: skip its first byte and look again.
            self.discarded += 1
            del self._buf[:1]

    def needed(self) -> int:
        """How many more bytes the frame being assembled needs at least (never less than 1)."""
        self._resync()
        if len(self._buf) < HEAD_SIZE:
            return HEAD_SIZE - len(self._buf)
        length = int.from_bytes(self._buf[5:7], "big")
        return max(1, HEAD_SIZE + length - len(self._buf))

    def next_frame(self) -> Frame | None:
        self._resync()
        if len(self._buf) < HEAD_SIZE:
            return None
        total = HEAD_SIZE + int.from_bytes(self._buf[5:7], "big")
        if len(self._buf) < total:
            return None
        raw = bytes(self._buf[:total])
        del self._buf[:total]
        return parse(raw)


def read_frame(port, deadline: float) -> Frame:
    """Read one frame from a pyserial port before ``deadline`` (a ``time.monotonic()`` value).

    Reads the 7-byte head, then exactly the LEN bytes it announces, in as many pieces as the line
    delivers them; never reads past the frame, so nothing of a later reply is swallowed.
    """
    decoder = Decoder()
    while True:
        frame = decoder.next_frame()
        if frame is not None:
            return frame
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            if decoder.pending:
                raise ReaderTimeout(
                    "读卡器回应不完整，请检查连接线",
                    en=f"incomplete reply: {decoder.pending} bytes of a frame before the deadline",
                    code="incomplete_reply",
                )
            raise ReaderTimeout("读卡器没有回应，请检查读卡器电源和连接线", en="the reader did not answer")
        port.timeout = remaining
        chunk = port.read(decoder.needed())
        if chunk:
            decoder.feed(chunk)

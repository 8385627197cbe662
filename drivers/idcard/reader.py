"""The ID card reader over a serial port: baud probing, commands, the find → select → read cycle."""

from __future__ import annotations

import logging
import threading
import time

import serial

from drivers.serial_device import SerialDevice

from . import frame, status
from .card import CardData, parse_read_response
from .errors import (
    CardLiftedError,
    ChecksumError,
    FrameError,
    NoCardError,
    NoReaderError,
    PortError,
    ReaderError,
    ReaderTimeout,
    StatusError,
)

log = logging.getLogger("drivers.idcard")

BAUD_RATES = (115200, 57600, 38400, 19200, 9600)

RESET_SAM = (0x10, 0xFF)
SAM_STATUS = (0x11, 0xFF)
SAM_ID = (0x12, 0xFF)
FIND = (0x20, 0x01)
SELECT = (0x20, 0x02)
READ = (0x30, 0x01)
READ_WITH_FINGERPRINT = (0x30, 0x10)
READ_ADDRESS = (0x30, 0x03)

# Bytes a reply may carry, for the transfer-time part of a command's deadline.
_REPLY_SIZE = {READ: 1300, READ_WITH_FINGERPRINT: 2330}


def open_port(url: str, baudrate: int = 115200) -> serial.Serial:
    """Open ``COM3``, ``/dev/ttyUSB0``, ``/dev/pts/5`` or any pyserial URL (``socket://host:port``)."""
    try:
        port = serial.serial_for_url(url, baudrate=baudrate, bytesize=8, parity="N", stopbits=1, timeout=0.1,
                                     do_not_open=True)
        port.xonxoff = False
        port.rtscts = False
        port.open()
        return port
    except (serial.SerialException, OSError, ValueError) as exc:
        raise PortError(f"无法打开读卡器端口 {url}，请检查连接线和端口设置", en=f"cannot open {url}: {exc}") from exc


class Reader(SerialDevice):
    """One SAM reader on one port. Not thread-safe: one thread talks to it (see :mod:`.poller`).

    ``baud="auto"`` probes the rates the module can be set to and keeps the first that answers
    the SAM-status command with a valid frame.
    """

    def __init__(self, port: str, baud: int | str = "auto", *, timeout: float = 1.0, probe_timeout: float = 0.3,
                 retries: int = 2):
        self.url = port
        self.requested_baud = baud
        self.timeout = timeout
        self.probe_timeout = probe_timeout
        self.retries = retries
        self.baudrate: int | None = None
        self._port: serial.Serial | None = None

    # -- connection --------------------------------------------------------------------------
    def open(self) -> Reader:
        if self._port is not None:
            return self
        if self.requested_baud in ("auto", None, 0):
            self._port = open_port(self.url, BAUD_RATES[0])
            try:
                self.baudrate = self.probe()
            except BaseException:
                self.close()
                raise
        else:
            self.baudrate = int(self.requested_baud)
            self._port = open_port(self.url, self.baudrate)
        return self

    @property
    def is_open(self) -> bool:
        return self._port is not None

    def probe(self, rates=BAUD_RATES) -> int:
        port = self._require_port()
        for rate in rates:
            try:
                port.baudrate = rate
                sw3 = self._transact(SAM_STATUS, timeout=self.probe_timeout).sw3
            except (ReaderTimeout, FrameError) as exc:
                log.debug("no valid answer at %d baud: %s", rate, exc.en)
                continue
            # Any valid frame proves the rate; a SAM that answers "self-test failed" is still the
            # reader, and its status says more to the technician than "no reader found".
            if sw3 != status.OK:
                log.warning("ID card reader at %d baud reports SAM status %02X", rate, sw3)
            log.info("ID card reader answers at %d baud on %s", rate, self.url)
            return rate
        raise NoReaderError(
            f"端口 {self.url} 上没有读卡器回应，请检查读卡器电源、连接线和端口",
            en=f"no reader answers on {self.url} at {', '.join(map(str, rates))} baud",
        )

    def _require_port(self) -> serial.Serial:
        if self._port is None:
            raise PortError("读卡器端口未打开", en="the reader port is not open", code="port_closed")
        return self._port

    # -- commands ----------------------------------------------------------------------------
    def _transact(self, command: tuple[int, int], *, timeout: float | None = None) -> frame.Frame:
        port = self._require_port()
        baud = port.baudrate or 9600
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        deadline += _REPLY_SIZE.get(command, 64) * 10 / baud
        try:
            # A late reply to an earlier command must not be taken for this one's.
            port.reset_input_buffer()
            port.write(frame.request(*command))
            port.flush()
            return frame.read_frame(port, deadline)
        except serial.SerialException as exc:
            raise PortError("读卡器连接已断开，请检查连接线", en=f"serial port error: {exc}", code="port_lost") from exc
        except OSError as exc:
            raise PortError("读卡器连接已断开，请检查连接线", en=f"serial port error: {exc}", code="port_lost") from exc

    def command(self, command: tuple[int, int], *expected: int) -> frame.Frame:
        """Send ``command``, return the reply; an SW3 not in ``expected`` raises :class:`StatusError`."""
        reply = self._transact(command)
        if reply.sw3 not in (expected or (status.OK,)):
            raise StatusError(reply.sw3, *status.describe(reply.sw3))
        return reply

    def sam_status(self) -> None:
        self.command(SAM_STATUS)

    def sam_id(self) -> bytes:
        return self.command(SAM_ID).data

    def reset_sam(self) -> None:
        self.command(RESET_SAM)

    def find_card(self) -> bool:
        """True when a newly placed card is in the field; False for 80 (none, or one left there)."""
        reply = self.command(FIND, status.CARD_FOUND, status.FIND_FAILED)
        return reply.sw3 == status.CARD_FOUND

    def select_card(self) -> bool:
        reply = self.command(SELECT, status.OK, status.SELECT_FAILED)
        return reply.sw3 == status.OK

    def read_selected(self, *, fingerprint: bool = False) -> CardData:
        reply = self.command(READ_WITH_FINGERPRINT if fingerprint else READ)
        return parse_read_response(reply.data, with_fingerprint=fingerprint)

    def read_newest_address(self) -> str | None:
        """The address appended to the card after a move (30 03); None when there is none."""
        reply = self.command(READ_ADDRESS, status.OK, status.ITEM_EMPTY)
        if reply.sw3 == status.ITEM_EMPTY:
            return None
        return reply.data.decode("utf-16-le", errors="replace").replace("\x00", " ").strip()

    def read_once(self, *, fingerprint: bool = False) -> CardData | None:
        """One find → select → read pass: the card, None when no (new) card is there.

        A card that is found but then fails to select or read raises :class:`StatusError`.
        """
        if not self.find_card():
            return None
        if not self.select_card():
            raise StatusError(status.SELECT_FAILED, *status.describe(status.SELECT_FAILED))
        # Once the card has answered a read, find says 80 until it is lifted: a reply spoiled on
        # the wire is asked for again on the still-selected card, not by starting over.
        for attempt in range(self.retries + 1):
            try:
                return self.read_selected(fingerprint=fingerprint)
            except FrameError as exc:  # ChecksumError included
                if attempt == self.retries:
                    exc.exhausted = True  # the card has been read; starting over would find nothing
                    raise
                log.info("read reply spoiled (%s); asking again", exc.en)
        raise AssertionError("unreachable")

    def card_present(self) -> bool:
        """Whether the card read last is still in the field: select answers 90 only while it is."""
        return self.command(SELECT, status.OK, status.SELECT_FAILED, 0x34, 0x80).sw3 == status.OK

    def read_card(self, timeout: float = 10.0, *, fingerprint: bool = False, poll_interval: float = 0.1,
                  stop: threading.Event | None = None) -> CardData:
        """Wait up to ``timeout`` seconds for a card and read it.

        A card that is moving (found, then select or read fails, or a reply arrives corrupt) is
        retried; ``retries`` failures in a row raise the last error. A reader that stays silent
        raises :class:`ReaderTimeout` at once: waiting longer would only hide a cable fault.
        """
        deadline = time.monotonic() + timeout
        failures = 0
        card_seen = False
        last_error: ReaderError | None = None
        while True:
            try:
                card = self.read_once(fingerprint=fingerprint)
            except StatusError as exc:
                if exc.sw3 not in status.TRANSIENT:
                    raise
                card_seen = card_seen or exc.sw3 not in status.LINE_NOISE
                last_error, failures = exc, failures + 1
            except (ChecksumError, FrameError) as exc:
                if getattr(exc, "exhausted", False):
                    raise
                last_error, failures = exc, failures + 1
            else:
                if card is not None:
                    return card
                failures = 0
            if failures > self.retries and last_error is not None:
                raise last_error
            if time.monotonic() >= deadline:
                if card_seen:
                    raise CardLiftedError(
                        "证件被移开，读卡未完成，请重新放置并保持不动",
                        en="a card was found but moved away before it was read",
                    ) from last_error
                raise NoCardError("等待刷证超时，未检测到证件", en=f"no card placed within {timeout:g} s")
            if stop is not None:
                if stop.wait(poll_interval):
                    raise NoCardError("已取消读卡", en="reading was cancelled", code="cancelled")
            else:
                time.sleep(poll_interval)

"""A SAM ID card reader simulator for tests, the demo and technicians' training.

It answers real protocol frames on a pseudo-terminal (POSIX only; a development tool) or on a
loopback TCP port (any OS; open it as ``socket://127.0.0.1:PORT``). Everything a real reader does
to a driver can be scripted: cards of the four types, a card placed late or lifted mid-read, a
card left on the reader, replies in fragments, corrupt checksums, junk on the line, silence, and a
fixed baud rate that answers garbage at any other rate.

    sim = ReaderSimulator(card="resident")
    url = sim.start()          # "/dev/pts/7" or "socket://127.0.0.1:40123"
    ...
    sim.stop()

A running simulator also takes line commands (``place [CARD]``, ``lift``, ``silent``, ``speak``):
from its caller (:meth:`ReaderSimulator.command`, what ``kezhan sim idcard`` reads from stdin) or
from another process over a loopback control port (:meth:`ReaderSimulator.serve_control`;
:func:`send_command` is the other end, ``kezhan sim idcard-ctl`` its command line).
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import socket
import threading
import time
from pathlib import Path

from drivers.pseudoterminal import close_fds, open_raw_pty

from . import frame, status
from .reader import FIND, READ, READ_ADDRESS, READ_WITH_FINGERPRINT, RESET_SAM, SAM_ID, SAM_STATUS, SELECT

# -- cards -----------------------------------------------------------------------------------

TYPE_ALIASES = {
    "resident": "resident", "hmt": "hmt_residence", "hmt_residence": "hmt_residence",
    "foreign2017": "foreign_permanent_2017", "foreign_permanent_2017": "foreign_permanent_2017",
    "foreign2023": "foreign_permanent_2023", "foreign_permanent_2023": "foreign_permanent_2023",
}  # fmt: skip
TYPE_BYTE = {"resident": 0x20, "hmt_residence": ord("J"), "foreign_permanent_2017": ord("I"),
             "foreign_permanent_2023": ord("Y")}

SAMPLE_CARDS: dict[str, dict] = {
    "resident": {
        "type": "resident", "name": "王小明", "sex": "1", "nation": "01", "birth": "19900307",
        "address": "北京市东城区南池子大街1号", "number": "110101199003070011",
        "authority": "北京市公安局东城分局", "valid_from": "20200315", "valid_to": "20400315",
    },
    "hmt": {
        "type": "hmt", "name": "陈家明", "sex": "1", "nation": "", "birth": "19880512",
        "address": "广东省深圳市福田区福华路88号", "number": "810000198805120016",
        "authority": "深圳市公安局", "valid_from": "20210601", "valid_to": "20260601",
        "pass_number": "H12345678", "issue_count": "01",
    },
    "foreign2017": {
        "type": "foreign2017", "name_en": "SMITH, JOHN WILLIAM", "sex": "1", "number": "USA118507170011",
        "nationality": "USA", "name": "史密斯", "valid_from": "20170901", "valid_to": "20270901",
        "birth": "19850717", "version": "01", "authority_code": "1100",
    },
    "foreign2023": {
        "type": "foreign2023", "name": "玛丽亚", "sex": "2", "renewals": "00", "birth": "19920615",
        "name_en": "GARCIA LOPEZ, MARIA ISABEL ALEJANDRA FE", "number": "911724199206150027",
        "authority": "国家移民管理局", "valid_from": "20230601", "valid_to": "20330601", "nationality": "ESP",
    },
}  # fmt: skip

_SEX_WORDS = {"男": "1", "女": "2", "未知": "0"}


def load_card(spec: str | dict) -> dict:
    """A card description: a sample name (``resident``, ``hmt``, ``foreign2017``, ``foreign2023``),
    a JSON file holding one, or the dict itself."""
    if isinstance(spec, dict):
        return dict(spec)
    if spec in SAMPLE_CARDS:
        return dict(SAMPLE_CARDS[spec])
    path = Path(spec)
    if not path.is_file():
        raise ValueError(f"no sample card and no file called {spec!r}")
    return json.loads(path.read_text(encoding="utf-8"))


def _put(text: bytearray, offset: int, size: int, value: str) -> None:
    encoded = str(value).encode("utf-16-le")
    if len(encoded) > size:
        raise ValueError(f"{value!r} does not fit in {size} bytes at offset {offset}")
    text[offset : offset + size] = encoded + " ".encode("utf-16-le") * ((size - len(encoded)) // 2)


def _date(value: str) -> str:
    return str(value).replace("-", "")


def build_text(card: dict) -> bytes:
    """The 256-byte UTF-16LE text block a reader returns for ``card``."""
    kind = TYPE_ALIASES[card.get("type", "resident")]
    sex = _SEX_WORDS.get(str(card.get("sex", "")), str(card.get("sex", "")))
    text = bytearray(" ".encode("utf-16-le") * 128)
    if kind == "foreign_permanent_2017":
        _put(text, 0, 120, card.get("name_en", ""))
        _put(text, 120, 2, sex)
        _put(text, 122, 30, card["number"])
        _put(text, 152, 6, card.get("nationality", ""))
        _put(text, 158, 30, card.get("name", ""))
        _put(text, 188, 16, _date(card["valid_from"]))
        _put(text, 204, 16, _date(card["valid_to"]))
        _put(text, 220, 16, _date(card["birth"]))
        _put(text, 236, 4, card.get("version", ""))
        _put(text, 240, 8, card.get("authority_code", ""))
    elif kind == "foreign_permanent_2023":
        name_en = card.get("name_en", "")
        _put(text, 0, 30, card.get("name", ""))
        _put(text, 30, 2, sex)
        _put(text, 32, 4, card.get("renewals", ""))
        _put(text, 36, 16, _date(card["birth"]))
        _put(text, 52, 70, name_en[:35])
        _put(text, 122, 36, card["number"])
        _put(text, 158, 30, card.get("authority", ""))
        _put(text, 188, 16, _date(card["valid_from"]))
        _put(text, 204, 16, _date(card["valid_to"]))
        _put(text, 220, 22, name_en[35:])
        _put(text, 242, 6, card.get("nationality", ""))
    else:
        _put(text, 0, 30, card.get("name", ""))
        _put(text, 30, 2, sex)
        _put(text, 32, 4, card.get("nation", ""))
        _put(text, 36, 16, _date(card["birth"]))
        _put(text, 52, 70, card.get("address", ""))
        _put(text, 122, 36, card["number"])
        _put(text, 158, 30, card.get("authority", ""))
        _put(text, 188, 16, _date(card["valid_from"]))
        _put(text, 204, 16, _date(card["valid_to"]))
        if kind == "hmt_residence":
            _put(text, 220, 18, card.get("pass_number", ""))
            _put(text, 238, 4, card.get("issue_count", ""))
    text[248] = TYPE_BYTE[kind]
    text[249] = 0
    return bytes(text)


def build_photo(card: dict, size: int = 1024) -> bytes:
    """Stand-in for the encrypted WLT photo: deterministic bytes, different per card."""
    seed = json.dumps(card, sort_keys=True, ensure_ascii=False).encode("utf-8")
    out = b""
    while len(out) < size:
        seed = hashlib.sha256(seed).digest()
        out += seed
    return b"WLT" + out[: size - 3]


def read_reply_data(card: dict, *, fingerprint: bytes | None = None) -> bytes:
    """The data part of a 30 01 reply, or of a 30 10 reply when ``fingerprint`` is given."""
    text, photo = build_text(card), build_photo(card)
    lengths = len(text).to_bytes(2, "big") + len(photo).to_bytes(2, "big")
    if fingerprint is None:
        return lengths + text + photo
    return lengths + len(fingerprint).to_bytes(2, "big") + text + photo + fingerprint


def send_command(port: int, line: str, *, host: str = "127.0.0.1", timeout: float = 3.0) -> str:
    """Send one command to a simulator's control port (:meth:`ReaderSimulator.serve_control`) and
    return its one-line answer. Raises ``OSError`` when nothing answers there."""
    with socket.create_connection((host, port), timeout=timeout) as conn:
        conn.sendall(line.strip().encode("utf-8") + b"\n")
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = conn.recv(1024)
            if not chunk:
                break
            answer += chunk
    return answer.decode("utf-8", "replace").strip()


# -- the simulated reader ----------------------------------------------------------------------

COMMAND_NAMES = {"reset": RESET_SAM, "status": SAM_STATUS, "sam_id": SAM_ID, "find": FIND, "select": SELECT,
                 "read": READ, "read_fp": READ_WITH_FINGERPRINT, "address": READ_ADDRESS}


def _speeds() -> dict[int, int]:
    try:
        import termios
    except ImportError:
        return {}
    table = {}
    for rate in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400):
        const = getattr(termios, f"B{rate}", None)
        if const is not None:
            table[const] = rate
    return table


class ReaderSimulator:
    """A scriptable SAM reader. Thread-safe: script it from the test while a driver talks to it.

    ``baud`` is the rate the simulated module is set to; on a pty a client at any other rate gets
    line garbage, as on a real wire (TCP has no baud rate and always answers). ``rearm=True``
    models readers that report a card left on the reader as found again on every find.
    """

    def __init__(self, card: str | dict | None = None, *, baud: int = 115200, tcp_port: int | None = None,
                 rearm: bool = False, fingerprint: bytes | None = b""):
        self.baud = baud
        self.tcp_port = tcp_port
        self.rearm = rearm
        self.fingerprint = fingerprint
        self.fragments: tuple[int, float] | None = None
        self.silent = False
        self.requests: list[tuple[int, int]] = []
        self.url: str | None = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._faults: list[dict] = []
        self._lift_on: set[tuple[int, int]] = set()
        self._card: dict | None = None
        self._place_at = 0.0
        self._lift_at: float | None = None
        self._found = self._selected = self._read_done = False
        self._master: int | None = None
        self._slave: int | None = None
        self._server: socket.socket | None = None
        self._conn: socket.socket | None = None
        self._control: socket.socket | None = None
        self.control_port: int | None = None
        self._speeds = _speeds()
        if card is not None:
            self.place(card)

    # -- scripting ---------------------------------------------------------------------------
    def place(self, card: str | dict = "resident", delay: float = 0.0) -> None:
        """Put a card on the reader, now or ``delay`` seconds from now."""
        with self._lock:
            self._card = load_card(card)
            self._place_at = time.monotonic() + delay
            self._lift_at = None
            self._found = self._selected = self._read_done = False

    def lift(self, delay: float = 0.0) -> None:
        with self._lock:
            self._lift_at = time.monotonic() + delay

    def lift_on(self, command: str) -> None:
        """Lift the card the moment ``command`` (find, select, read) arrives, before answering."""
        with self._lock:
            self._lift_on.add(COMMAND_NAMES[command])

    def fault(self, kind: str, *, count: int = 1, command: str | None = None, sw3: int | None = None) -> None:
        """The next ``count`` replies (to ``command`` only, if given) go wrong:

        ``checksum`` corrupt CHK · ``silence`` no reply · ``garbage`` junk before the frame ·
        ``truncate`` only the first part of the frame · ``status`` answer SW3 ``sw3`` instead.
        """
        assert kind in ("checksum", "silence", "garbage", "truncate", "status")
        with self._lock:
            self._faults.append(
                {"kind": kind, "count": count, "command": COMMAND_NAMES[command] if command else None, "sw3": sw3}
            )

    def fragment(self, pieces: int = 3, gap: float = 0.05) -> None:
        """Send every reply in ``pieces`` parts ``gap`` seconds apart (``pieces=1``: whole)."""
        with self._lock:
            self.fragments = (pieces, gap) if pieces > 1 else None

    def inject(self, data: bytes) -> None:
        """Put raw bytes on the line now (a late reply, noise): what the driver must discard."""
        self._send(data)

    def count(self, command: str) -> int:
        with self._lock:
            return self.requests.count(COMMAND_NAMES[command])

    @property
    def card_present(self) -> bool:
        with self._lock:
            return self._present(time.monotonic())

    def _present(self, now: float) -> bool:
        if self._card is None or now < self._place_at:
            return False
        if self._lift_at is not None and now >= self._lift_at:
            return False
        return True

    # -- life cycle ----------------------------------------------------------------------------
    def start(self) -> str:
        """Open the pty (or the TCP port) and answer in a thread; returns the URL to open."""
        if self.tcp_port is not None:
            self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._server.bind(("127.0.0.1", self.tcp_port))
            self._server.listen(1)
            self.url = f"socket://127.0.0.1:{self._server.getsockname()[1]}"
        else:
            self._master, self._slave, self.url = open_raw_pty()
        self._thread = threading.Thread(target=self._serve, name="idcard-simulator", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for closer in (self._conn, self._server, self._control):
            if closer is not None:
                try:
                    closer.close()
                except OSError:
                    pass
        close_fds(self._master, self._slave)
        self._master = self._slave = None
        self._conn = self._server = self._control = None

    # -- control -----------------------------------------------------------------------------------
    def command(self, line: str) -> str:
        """Carry out one control command; the answer is ``ok: …`` or ``error: …`` (one line).

        ``place [CARD]`` (a sample name or a JSON file; the card given at start, else ``resident``)
        · ``lift`` · ``silent`` (a dead reader) · ``speak`` (alive again) · ``status``.
        """
        words = line.split()
        if not words:
            return "error: empty command"
        verb, rest = words[0].lower(), words[1:]
        if verb == "place":
            spec = " ".join(rest) if rest else (self._card or "resident")
            try:
                self.place(spec)
            except (ValueError, OSError, KeyError) as exc:
                return f"error: cannot place {' '.join(rest)}: {exc}"
        elif verb == "lift":
            self.lift()
        elif verb in ("silent", "speak"):
            self.silent = verb == "silent"
        elif verb == "status":
            return f"ok: {'card' if self.card_present else 'no card'}{' · silent' if self.silent else ''}"
        else:
            return f"error: unknown command {verb} (place, lift, silent, speak, status)"
        return f"ok: {' '.join(words)}"

    def serve_control(self, port: int = 0) -> int:
        """Take commands from other processes on 127.0.0.1:``port`` (0: any free port), one per
        line, each answered with one line; returns the port. Loopback only: whoever can reach it
        can put any card on the reader."""
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen(4)
        self._control = server
        self.control_port = server.getsockname()[1]
        threading.Thread(target=self._serve_control, args=(server,), name="idcard-sim-control", daemon=True).start()
        return self.control_port

    def _serve_control(self, server: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                readable, _, _ = select.select([server], [], [], 0.1)
                if not readable:
                    continue
                conn, _ = server.accept()
            except (OSError, ValueError):  # closed by stop()
                return
            with conn:
                conn.settimeout(2.0)
                buffer = b""
                try:
                    while not self._stop.is_set():
                        chunk = conn.recv(1024)
                        if not chunk:
                            break
                        buffer += chunk
                        while b"\n" in buffer:
                            line, buffer = buffer.split(b"\n", 1)
                            answer = self.command(line.decode("utf-8", "replace"))
                            conn.sendall(answer.encode("utf-8") + b"\n")
                except OSError:
                    continue

    def __enter__(self) -> ReaderSimulator:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- I/O -------------------------------------------------------------------------------------
    def _serve(self) -> None:
        decoder = frame.Decoder()
        while not self._stop.is_set():
            data = self._receive()
            if not data:
                continue
            decoder.feed(data)
            while True:
                try:
                    request = decoder.next_frame()
                except frame.ChecksumError:
                    self._reply(None, frame.encode(b"\x00\x00\x10"))
                    continue
                except frame.FrameError:
                    continue
                if request is None:
                    break
                self._handle(request)

    def _receive(self) -> bytes:
        if self._server is not None:
            if self._conn is None:
                readable, _, _ = select.select([self._server], [], [], 0.05)
                if readable:
                    self._conn, _ = self._server.accept()
                return b""
            readable, _, _ = select.select([self._conn], [], [], 0.05)
            if not readable:
                return b""
            try:
                data = self._conn.recv(4096)
            except OSError:
                data = b""
            if not data:  # client gone: wait for the next one
                self._conn.close()
                self._conn = None
            return data
        readable, _, _ = select.select([self._master], [], [], 0.05)
        if not readable:
            return b""
        try:
            return os.read(self._master, 4096)
        except OSError:
            return b""

    def _send(self, data: bytes) -> None:
        try:
            if self._conn is not None:
                self._conn.sendall(data)
            elif self._master is not None:
                os.write(self._master, data)
        except OSError:
            pass

    def _line_baud(self) -> int | None:
        if self._slave is None:
            return None
        import termios

        return self._speeds.get(termios.tcgetattr(self._slave)[5])

    # -- protocol ----------------------------------------------------------------------------------
    def _handle(self, request: frame.Frame) -> None:
        command = (request.cmd, request.para)
        line = self._line_baud()
        if line is not None and line != self.baud:
            # What a UART at the wrong rate makes of a frame: a few bytes of nothing useful.
            self._send(bytes((0x00, 0xF8, 0x80, 0xFE, 0x78)[: 2 + len(self.requests) % 4]))
            return
        with self._lock:
            self.requests.append(command)
            if self.silent:
                return
            now = time.monotonic()
            if command in self._lift_on and self._present(now):
                self._lift_on.discard(command)
                self._lift_at = now
            body = self._answer(command, now)
            fault = self._take_fault(command)
            fragments = self.fragments
        if fault and fault["kind"] == "status":
            body = bytes([0, 0, fault["sw3"]])
        self._reply(fault, frame.encode(body), fragments)

    def _take_fault(self, command):
        for fault in self._faults:
            if fault["command"] in (None, command):
                fault["count"] -= 1
                if fault["count"] <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _answer(self, command, now: float) -> bytes:
        ok = bytes([0, 0, status.OK])
        present = self._present(now)
        if not present:
            self._found = self._selected = False
            if self._card is not None and self._lift_at is not None and now >= self._lift_at:
                self._read_done = False  # lifting ends this placement
        if command in (SAM_STATUS, RESET_SAM):
            return ok
        if command == SAM_ID:
            return ok + bytes(range(16))
        if command == FIND:
            if present and (not self._read_done or self.rearm):
                self._found = True
                return bytes([0, 0, status.CARD_FOUND]) + b"\x00\x00\x00\x00"
            return bytes([0, 0, status.FIND_FAILED])
        if command == SELECT:
            if present and (self._found or self._read_done):
                self._selected = True
                return ok + bytes(8)
            return bytes([0, 0, status.SELECT_FAILED])
        if command in (READ, READ_WITH_FINGERPRINT):
            if not present:
                return bytes([0, 0, 0x41])
            if not self._selected:
                return bytes([0, 0, 0x34])
            self._read_done = True
            self._found = False
            fingerprint = None
            if command == READ_WITH_FINGERPRINT:
                fingerprint = self.fingerprint if self.fingerprint is not None else b""
            return ok + read_reply_data(self._card, fingerprint=fingerprint)
        if command == READ_ADDRESS:
            if not present:
                return bytes([0, 0, 0x41])
            address = self._card.get("new_address")
            if not address:
                return bytes([0, 0, status.ITEM_EMPTY])
            encoded = address.encode("utf-16-le")
            return ok + encoded + " ".encode("utf-16-le") * ((70 - len(encoded)) // 2)
        return bytes([0, 0, 0x21])

    def _reply(self, fault, data: bytes, fragments=None) -> None:
        kind = fault["kind"] if fault else None
        if kind == "silence":
            return
        if kind == "checksum":
            data = data[:-1] + bytes([data[-1] ^ 0x5A])
        elif kind == "garbage":
            data = b"\x13\x37\xaa\xaa\x00\x96" + data
        elif kind == "truncate":
            data = data[: max(3, len(data) // 2)]
        if not fragments:
            self._send(data)
            return
        pieces, gap = fragments
        # Cut inside the preamble and inside LEN too: the head must be reassembled as well.
        cuts = sorted({3, 6, *(len(data) * i // pieces for i in range(1, pieces))} - {0, len(data)})
        start = 0
        for cut in [*cuts, len(data)]:
            if cut <= start:
                continue
            self._send(data[start:cut])
            start = cut
            if start < len(data):
                time.sleep(gap)

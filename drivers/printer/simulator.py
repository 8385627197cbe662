"""A network (port 9100) ESC/POS printer that draws what it receives.

It answers DLE EOT status queries as they arrive — commands are told apart from data by the
renderer's tokenizer, so a 0x10 inside an image is not taken for a query — and it can be put
into paper out, paper near end, cover open, offline, cutter error, or made silent (no status
replies at all). Each job — the bytes up to and including a cut, or up to the connection's close
— is kept as ``job-NNNN.bin`` beside its picture ``job-NNNN.png`` in the output folder. A job
that arrives while the printer is not ready is not printed: it is kept as
``job-NNNN.held.bin`` with no picture, as a real printer would hold or drop it.

Control from outside the process: write condition names (``paper_out``, ``paper_near_end``,
``cover_open``, ``offline``, ``cutter_error``, ``silent``, or ``ready``) to the state file
(``<out>/printer-state`` by default); the simulator picks the change up within a quarter second.

    with PrinterSimulator(out_dir) as sim:          # port 0: an ephemeral port
        print_bytes(f"tcp:127.0.0.1:{sim.port}", data)
        sim.wait_for_jobs(1)
        sim.set_condition("paper_out")
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from drivers.printer.errors import PrinterError, RenderError
from drivers.printer.render import DEFAULT_WIDTH, Incomplete, Tokenizer, render_png

log = logging.getLogger("kezhan.drivers.printer.simulator")

CONDITIONS = ("paper_out", "paper_near_end", "cover_open", "offline", "cutter_error", "silent")
STATE_FILE = "printer-state"
MAX_PENDING = 16 * 1024 * 1024  # an unfinished command larger than this is not one


@dataclass
class SimJob:
    number: int
    data: bytes
    printed: bool
    bin_path: Path
    png_path: Path | None = None
    error: str = ""


class PrinterSimulator:
    def __init__(
        self,
        out_dir: str | Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        width: int = DEFAULT_WIDTH,
        render: bool = True,
        state_file: str | Path | None = None,
        on_job=None,
    ):
        self.out_dir = Path(out_dir)
        self.host = host
        self.requested_port = port
        self.width = width
        self.render = render
        self.state_file = Path(state_file) if state_file else self.out_dir / STATE_FILE
        self.on_job = on_job
        self.jobs: list[SimJob] = []
        self.status_queries = 0
        self._conditions: set[str] = set()
        self._lock = threading.Lock()
        self._job_added = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._server: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._conns: set[socket.socket] = set()
        self._state_mtime: float | None = None
        self._number = 0

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> PrinterSimulator:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._number = max(
            [
                int(p.name.split("-")[1].split(".")[0])
                for p in self.out_dir.glob("job-*.bin")
                if p.name.split("-")[1].split(".")[0].isdigit()
            ]
            or [0]
        )
        self._write_state_file()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        srv = socket.socket(family, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            srv.bind((self.host, self.requested_port))
        except OSError as exc:
            srv.close()
            raise PrinterError(
                f"打印机模拟器无法监听 {self.host}:{self.requested_port}",
                en=f"simulator cannot listen on {self.host}:{self.requested_port}: {exc}",
                code="PRINTER_SIM_PORT",
            ) from exc
        srv.listen(8)
        srv.settimeout(0.25)
        self._server = srv
        t = threading.Thread(target=self._accept_loop, name="printer-sim-accept", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        # shutdown() wakes a blocked accept()/recv() at once instead of at the next poll timeout.
        for sock in [self._server, *list(self._conns)]:
            if sock is None:
                continue
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._server is not None:
            try:
                self._server.close()
            except OSError:
                pass
        # Closing connections finish their last job, which starts a drawing thread: wait for those too.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            alive = [t for t in list(self._threads) if t.is_alive()]
            if not alive:
                break
            for t in alive:
                t.join(timeout=max(0.0, deadline - time.monotonic()))
        self._threads.clear()

    def __enter__(self) -> PrinterSimulator:
        return self.start() if self._server is None else self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("simulator not started")
        return self._server.getsockname()[1]

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def target(self) -> str:
        return f"tcp:{self.address}"

    # -- state -----------------------------------------------------------------------------
    def set_condition(self, *names: str) -> None:
        """Replace the conditions: ``set_condition("paper_out")``; no names = ready."""
        bad = [n for n in names if n not in CONDITIONS and n != "ready"]
        if bad:
            raise ValueError(f"unknown printer condition(s) {bad}; known: {', '.join(CONDITIONS)}, ready")
        with self._lock:
            self._conditions = {n for n in names if n != "ready"}

    @property
    def conditions(self) -> set[str]:
        with self._lock:
            return set(self._conditions)

    @property
    def ready(self) -> bool:
        return not (self.conditions - {"paper_near_end", "silent"})

    def status_byte(self, n: int) -> int | None:
        c = self.conditions
        if "silent" in c:
            return None
        stopped = bool(c & {"paper_out", "cover_open", "offline", "cutter_error"})
        if n == 1:
            return 0x12 | (0x08 if stopped else 0)
        if n == 2:
            return (
                0x12
                | (0x04 if "cover_open" in c else 0)
                | (0x20 if "paper_out" in c else 0)
                | (0x40 if "cutter_error" in c else 0)
            )
        if n == 3:
            return 0x12 | (0x08 if "cutter_error" in c else 0)
        if n == 4:
            near = "paper_near_end" in c or "paper_out" in c
            return 0x12 | (0x0C if near else 0) | (0x60 if "paper_out" in c else 0)
        return None

    def _write_state_file(self) -> None:
        try:
            self.state_file.write_text(" ".join(sorted(self._conditions)) or "ready", encoding="utf-8")
            self._state_mtime = self.state_file.stat().st_mtime
        except OSError as exc:
            log.warning("cannot write the state file %s: %s", self.state_file, exc)

    def _poll_state_file(self) -> None:
        try:
            mtime = self.state_file.stat().st_mtime
        except OSError:
            return
        if mtime == self._state_mtime:
            return
        self._state_mtime = mtime
        try:
            words = self.state_file.read_text(encoding="utf-8").replace(",", " ").split()
        except OSError:
            return
        known = [w for w in words if w in CONDITIONS or w == "ready"]
        for w in set(words) - set(known):
            log.warning("printer simulator: unknown condition %r in %s", w, self.state_file)
        self.set_condition(*known)
        log.info("printer simulator: conditions now %s", sorted(self.conditions) or ["ready"])

    # -- jobs ------------------------------------------------------------------------------
    def wait_for_jobs(self, count: int, timeout: float = 10.0) -> list[SimJob]:
        deadline = time.monotonic() + timeout
        with self._job_added:
            while len(self.jobs) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"expected {count} print job(s), got {len(self.jobs)}")
                self._job_added.wait(left)
            return list(self.jobs)

    def _finish_job(self, data: bytes) -> None:
        printed = self.ready
        with self._lock:
            self._number += 1
            number = self._number
        stem = f"job-{number:04d}"
        bin_path = self.out_dir / (f"{stem}.bin" if printed else f"{stem}.held.bin")
        bin_path.write_bytes(data)
        job = SimJob(number, data, printed, bin_path)
        log.info(
            "printer simulator: job %d, %d bytes, %s", number, len(data), "printed" if printed else "held"
        )
        # Drawing takes a while; the connection must keep answering status queries meanwhile.
        t = threading.Thread(
            target=self._complete_job, args=(job, stem), name="printer-sim-render", daemon=True
        )
        t.start()
        self._threads.append(t)

    def _complete_job(self, job: SimJob, stem: str) -> None:
        if job.printed and self.render:
            png = self.out_dir / f"{stem}.png"
            try:
                render_png(job.data, png, width=self.width)
                job.png_path = png
            except RenderError as exc:
                job.error = exc.en
                (self.out_dir / f"{stem}.error.txt").write_text(exc.en + "\n", encoding="utf-8")
            except Exception as exc:  # a renderer bug must not kill the simulator
                log.exception("printer simulator: rendering job %d failed", job.number)
                job.error = f"{type(exc).__name__}: {exc}"
        with self._job_added:
            self.jobs.append(job)
            self.jobs.sort(key=lambda j: j.number)
            self._job_added.notify_all()
        if self.on_job is not None:
            try:
                self.on_job(job)
            except Exception:
                log.exception("printer simulator: on_job callback failed")

    # -- network ---------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            self._poll_state_file()
            try:
                conn, _addr = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            t = threading.Thread(target=self._serve, args=(conn,), name="printer-sim-conn", daemon=True)
            t.start()
            self._threads.append(t)
            self._threads = [x for x in self._threads if x.is_alive() or x is t]

    def _serve(self, conn: socket.socket) -> None:
        self._conns.add(conn)
        conn.settimeout(0.25)
        tok = Tokenizer()
        buf = bytearray()
        pos = 0  # next byte to tokenize
        job_start = 0
        content = False  # the current job has more than status queries
        raw = False  # the tokenizer lost its way: stop parsing, keep bytes
        try:
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                if raw:
                    self._answer_naive(conn, bytes(buf[max(0, len(buf) - 2) :]) + chunk)
                buf += chunk
                if raw:
                    content = True
                    continue
                while pos < len(buf):
                    try:
                        t = tok.next(buf, pos)
                    except Incomplete:
                        if len(buf) - pos > MAX_PENDING:
                            raw = True
                        break
                    except RenderError:
                        raw = True
                        content = True
                        self._answer_naive(conn, bytes(buf[pos:]))
                        break
                    pos = t.end
                    if t.kind == "dle":
                        if t.code == 0x04 and t.params:
                            self.status_queries += 1
                            reply = self.status_byte(t.params[0])
                            if reply is not None:
                                try:
                                    conn.sendall(bytes((reply,)))
                                except OSError:
                                    pass
                        continue
                    content = True
                    if (
                        t.kind == "gs"
                        and t.code == ord("V")
                        or (t.kind == "esc" and t.code in (ord("i"), ord("m")))
                    ):
                        self._finish_job(bytes(buf[job_start:pos]))
                        del buf[:pos]
                        pos = 0
                        job_start = 0
                        content = False
        finally:
            self._conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass
            if content and len(buf) > job_start:
                self._finish_job(bytes(buf[job_start:]))

    def _answer_naive(self, conn: socket.socket, data: bytes) -> None:
        """After unparseable input, still answer anything that looks like a status query."""
        i = data.find(b"\x10\x04")
        while i != -1 and i + 2 < len(data):
            reply = self.status_byte(data[i + 2])
            if reply is not None:
                try:
                    conn.sendall(bytes((reply,)))
                except OSError:
                    return
            i = data.find(b"\x10\x04", i + 2)

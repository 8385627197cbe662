"""Running the server: in the foreground (``kezhan server``) or on a background thread bound to
loopback (tests and the demo embed it)."""

from __future__ import annotations

import gc
import json
import logging
import multiprocessing
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sync.server.core import ProvinceServer, Settings

log = logging.getLogger("kezhan.server")


def load_document(path: str | Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def prepare(server: ProvinceServer, *, province: dict | str | Path | None = None, empty: bool = False,
            fallback: Callable[[str], dict] | None = None) -> dict | None:
    """Load master data the way ``kezhan server`` promises: a given document always (it updates
    and publishes what changed); ``fallback(zone)`` -- the demo province, handed in by the command
    or the demo station, since the server imports nothing of the terminal -- only into a database
    that has none."""
    if province is not None:
        doc = province if isinstance(province, dict) else load_document(province)
        return server.import_province(doc)
    if empty or fallback is None or server.has_master_data():
        return None
    return server.import_province(fallback(server.settings.zone))


def new_admin_token() -> str:
    return secrets.token_urlsafe(24)


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket for uvicorn. Created with ``IPPROTO_TCP`` named explicitly: asyncio
    disables Nagle's algorithm only on sockets whose ``proto`` says TCP, and a socket made with
    proto 0 (the default) keeps it, so every answer -- headers and body written separately --
    waited for the client's delayed ACK (about 40 ms on Linux) before its body left."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock


class ServerThread:
    """uvicorn on 127.0.0.1 in a daemon thread. ``port=0`` picks a free port; ``.port`` and
    ``.url`` report it once :meth:`start` returns. Usable as a context manager.

        with ServerThread(db_url, admin_token="t", province=doc) as srv:
            requests.get(srv.url + "/v1/health")
    """

    def __init__(self, db_url: str | None = None, *, admin_token: str | None = None, host: str = "127.0.0.1",
                 port: int = 0, province: dict | str | Path | None = None, empty: bool = False,
                 fallback_province: Callable[[str], dict] | None = None,
                 settings: Settings | None = None, clock=None, server: ProvinceServer | None = None,
                 web_token: str | None = None, sweep_interval: float | None = 15.0, upload_workers: int = 0):
        import uvicorn

        from sync.server.app import create_app

        kwargs = {}
        if clock is not None:
            kwargs["clock"] = clock
        self.db_url = db_url
        self.server = server or ProvinceServer(db_url, settings=settings, **kwargs)
        prepare(self.server, province=province, empty=empty, fallback=fallback_province)
        self.admin_token = admin_token or new_admin_token()
        self.app = create_app(server=self.server, admin_token=self.admin_token, web_token=web_token,
                              sweep_interval=sweep_interval, upload_workers=upload_workers)
        self.host = host
        self._sock = listening_socket(host, port)
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on", access_log=False,
                                timeout_graceful_shutdown=2)
        self._uvicorn = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread = threading.Thread(target=self._uvicorn.run, kwargs={"sockets": [self._sock]},
                                        name=f"kezhan-server-{self.port}", daemon=True)
        self._thread.start()
        deadline = threading.Event()
        for _ in range(int(timeout / 0.01)):
            if self._uvicorn.started:
                return self
            if not self._thread.is_alive():
                break
            deadline.wait(0.01)
        raise RuntimeError("the provincial server did not start")

    def stop(self, timeout: float = 10.0) -> None:
        self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._uvicorn.force_exit = True
                self._thread.join(timeout)
        self._sock.close()
        self.server.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(db_url: str, *, host: str = "127.0.0.1", port: int = 8470, admin_token: str | None = None,
          province: str | Path | None = None, empty: bool = False, settings: Settings | None = None,
          fallback_province: Callable[[str], dict] | None = None,
          on_ready=None, upload_workers: int = 0, processes: int = 1) -> None:
    """Run in the foreground until interrupted (Ctrl-C stops it cleanly). ``processes`` > 1 serves
    the one listening socket from that many processes (see :func:`_serve_processes`)."""
    server = ProvinceServer(db_url, settings=settings)
    url = server.engine.url
    if processes > 1 and url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        server.close()
        raise RuntimeError("several processes need a database file or server; each would open its own in memory")
    loaded = prepare(server, province=province, empty=empty, fallback=fallback_province)
    token = admin_token or new_admin_token()
    sock = listening_socket(host, port)
    # Listening from here on: a client told the address below is queued until a process accepts,
    # never refused.
    sock.listen(2048)
    bound = sock.getsockname()[1]
    if processes > 1:
        # The schema and the province are in place: the processes only open the database.
        server.close()
        spec = _ProcessSpec(db_url, token, settings, upload_workers)
        try:
            _serve_processes(sock, spec, processes,
                             on_ready=(lambda pids: on_ready(host, bound, token, loaded, pids)) if on_ready else None)
        finally:
            sock.close()
        return
    if on_ready:
        on_ready(host, bound, token, loaded, [os.getpid()])
    try:
        _run_uvicorn(server, token, sock, upload_workers)
    finally:
        sock.close()
        server.close()


def _run_uvicorn(server: ProvinceServer, token: str, sock: socket.socket, upload_workers: int,
                 started: Callable[[], None] | None = None) -> None:
    import uvicorn

    from sync.server.app import create_app

    app = create_app(server=server, admin_token=token, upload_workers=upload_workers)
    # Everything made so far (modules, the app, table metadata) lives as long as the process. An
    # upload batch allocates tens of thousands of short-lived objects, and each full collection
    # they trigger would walk all of that again; frozen, it is left out of every collection.
    gc.collect()
    gc.freeze()
    # A request's thread waits on the database many times per call, and each time it wants the
    # interpreter back it may wait out the switch interval of a thread busy with Python (5 ms by
    # default): a transaction of a dozen statements then holds the writers' lock for tens of ms.
    sys.setswitchinterval(0.001)
    userver = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=3))
    if started is not None:
        def tell():
            while not userver.started and not userver.should_exit:
                time.sleep(0.02)
            if userver.started:
                started()

        threading.Thread(target=tell, name="kezhan-started", daemon=True).start()
    _stop_with_parent(userver)
    userver.run(sockets=[sock])


def _stop_with_parent(userver) -> None:
    """In a serving process: stop when the process that started it is gone (killed outright), rather
    than serve on as an orphan nobody stops."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch():
        parent.join()
        userver.should_exit = True

    threading.Thread(target=watch, name="kezhan-parent-watch", daemon=True).start()


@dataclass(frozen=True)
class _ProcessSpec:
    db_url: str
    admin_token: str
    settings: Settings | None
    upload_workers: int


def _process_main(sock: socket.socket, spec: _ProcessSpec, ready) -> None:
    """One serving process of ``kezhan server --processes N``."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    server = ProvinceServer(spec.db_url, settings=spec.settings)
    try:
        _run_uvicorn(server, spec.admin_token, sock, spec.upload_workers, started=ready.set)
    finally:
        server.close()


def _serve_processes(sock: socket.socket, spec: _ProcessSpec, count: int, *, on_ready=None,
                     check_every: float = 0.5) -> None:
    """``count`` processes serving one listening socket: the operating system hands each new
    connection to one of them. Every one is a whole server on the same database, so what one
    process grants the others see: on PostgreSQL every writing transaction takes the same advisory
    lock (``ServerContext.tx``), on SQLite the writer lock's file. A process that dies is started
    again; Ctrl-C or SIGTERM stops them all (each finishes its requests first)."""
    # spawn, not fork: a forked copy of a process with threads and open connections is unsafe.
    mp = multiprocessing.get_context("spawn")
    stopping = threading.Event()

    def start_one():
        ready = mp.Event()
        proc = mp.Process(target=_process_main, args=(sock, spec, ready), name="kezhan-server", daemon=False)
        proc.start()
        return proc, ready

    previous = {}
    if threading.current_thread() is threading.main_thread():
        def on_term(_signo, _frame):
            stopping.set()

        for name in ("SIGTERM", "SIGBREAK"):
            if hasattr(signal, name):
                previous[name] = signal.signal(getattr(signal, name), on_term)
    procs = [start_one() for _ in range(count)]
    try:
        for proc, ready in procs:
            while not ready.wait(0.1):
                if not proc.is_alive():
                    raise RuntimeError(f"a server process exited while starting (exit code {proc.exitcode})")
                if stopping.is_set():
                    return
        if on_ready:
            on_ready([p.pid for p, _ in procs])
        while not stopping.wait(check_every):
            for i, (proc, _ready) in enumerate(procs):
                if not proc.is_alive():
                    log.error("server process %s exited (code %s); starting another", proc.pid, proc.exitcode)
                    procs[i] = start_one()
    except KeyboardInterrupt:
        pass
    finally:
        for proc, _ in procs:
            if proc.is_alive():
                proc.terminate()  # SIGTERM: uvicorn finishes what it is answering, then exits
        for proc, _ in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)

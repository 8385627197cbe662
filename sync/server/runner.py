"""Running the server: in the foreground (``kezhan server``) or on a background thread bound to
loopback (tests and the demo embed it)."""

from __future__ import annotations

import gc
import json
import logging
import secrets
import socket
import threading
from collections.abc import Callable
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
          on_ready=None, upload_workers: int = 0) -> None:
    """Run in the foreground until interrupted (Ctrl-C stops it cleanly)."""
    import uvicorn

    from sync.server.app import create_app

    server = ProvinceServer(db_url, settings=settings)
    loaded = prepare(server, province=province, empty=empty, fallback=fallback_province)
    token = admin_token or new_admin_token()
    app = create_app(server=server, admin_token=token, upload_workers=upload_workers)
    sock = listening_socket(host, port)
    bound = sock.getsockname()[1]
    if on_ready:
        on_ready(host, bound, token, loaded)
    # Everything made so far (modules, the app, table metadata) lives as long as the process. An
    # upload batch allocates tens of thousands of short-lived objects, and each full collection
    # they trigger would walk all of that again; frozen, it is left out of every collection.
    gc.collect()
    gc.freeze()
    try:
        uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=3)).run(
            sockets=[sock])
    finally:
        sock.close()
        server.close()

"""The reference provincial server: seat authority, event sink, change feed (docs/protocol.md).

In-process use::

    from sync.server import ServerThread
    with ServerThread("server.db", admin_token="t", province=doc) as srv:
        ...  # srv.url, srv.port, srv.server (the ProvinceServer behind the HTTP)

``create_app`` gives the ASGI app for any ASGI server; ``serve`` runs it in the foreground.
FastAPI and uvicorn are the ``server`` extra, imported only when an app is built.
"""

from sync.server.core import ProvinceServer
from sync.server.settings import Settings

__all__ = ["ProvinceServer", "Settings", "ServerThread", "create_app", "serve"]


def __getattr__(name):
    if name == "create_app":
        from sync.server.app import create_app

        return create_app
    if name in ("ServerThread", "serve"):
        from sync.server import runner

        return getattr(runner, name)
    raise AttributeError(name)

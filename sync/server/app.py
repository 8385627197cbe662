"""HTTP around :class:`ProvinceServer`: the routers of ``sync.server.routes``, the protocol's
middleware and error bodies, the lease sweeper and the optional upload worker processes."""

import asyncio
import contextlib
import logging

import anyio
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from sync import protocol
from sync.server import http_errors
from sync.server.bodies import UploadRequest
from sync.server.core import ProvinceServer
from sync.server.idempotency import IdempotencyMiddleware
from sync.server.lanes import open_lanes
from sync.server.middleware import ProtocolMiddleware
from sync.server.routes import deps, enrolment, feed, master_data, reports, seats, upload, web
from sync.server.upload_workers import UploadWorkers

log = logging.getLogger("kezhan.server.http")

# Requests a server process runs at once (see _lifespan). On SQLite every write waits for the one
# writer, and the threads waiting for it must leave others free to read. On PostgreSQL writers run
# side by side and a thread is rarely blocked for long; what more threads add is a queue for the
# interpreter, paid on every statement: a 50-terminal run had the server's own upload p50/p99 at
# 85/392 ms with 16 threads, 76/237 with 6, 55/219 with 4 (docs/scale.md). More cores: more processes.
REQUEST_THREADS = {"sqlite": 16, "postgresql": 4}

# In the order the OpenAPI document lists them.
ROUTERS = (enrolment.router, upload.router, feed.router, reports.router, seats.router, web.router,
           master_data.router)


def create_app(
    db_url: str | None = None,
    admin_token: str | None = None,
    *,
    server: ProvinceServer | None = None,
    web_token: str | None = None,
    sweep_interval: float | None = 15.0,
    upload_workers: int = 0,
    **server_kwargs,
) -> FastAPI:
    """The reference provincial server as an ASGI app. Pass ``db_url`` (a path or SQLAlchemy URL)
    or a ready :class:`ProvinceServer`. ``admin_token`` guards /v1/admin; the web channel uses
    ``web_token`` (the admin token when not given). ``upload_workers`` > 0 applies upload batches
    in that many worker processes (sync/server/upload_workers.py)."""
    if server is None:
        if db_url is None:
            raise ValueError("create_app needs db_url or server")
        server = ProvinceServer(db_url, **server_kwargs)
    if not admin_token:
        raise ValueError("create_app needs an admin token")
    workers = UploadWorkers(server, upload_workers) if upload_workers else None
    app = FastAPI(
        title="Kezhan provincial server",
        version=protocol.PROTOCOL_VERSION,
        description="Reference provincial server for Kezhan terminals. Protocol: docs/protocol.md. "
        f"Every /v1 request except /v1/health carries `{protocol.H_PROTOCOL}: {protocol.PROTOCOL_VERSION}`.",
        lifespan=_lifespan(server, workers, sweep_interval),
    )
    app.state.server = server
    app.state.upload_workers = workers
    app.state.admin_token = admin_token
    app.state.web_token = web_token or admin_token
    app.state.unverified_bodies = asyncio.Semaphore(deps.UNVERIFIED_SLOTS)
    # Added first, so it runs inside the protocol middleware: a caller refused there claims no key.
    app.add_middleware(IdempotencyMiddleware, store=server.idempotency)
    app.add_middleware(ProtocolMiddleware, server=server, max_body=server.settings.max_body_bytes,
                       admin_token=admin_token, web_token=web_token or admin_token,
                       routes=app.router.routes)  # the list the routers below are added to
    http_errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    _document_upload_body(app)
    return app


def _lifespan(server: ProvinceServer, workers: UploadWorkers | None, sweep_interval: float | None):
    @contextlib.asynccontextmanager
    async def lifespan(app):
        # Requests run in at most this many threads at once (the default is 40): the rest wait in the
        # event loop holding nothing, while fewer threads contend for the interpreter -- and a thread
        # holding a database lock gets it back sooner between its statements.
        anyio.to_thread.current_default_thread_limiter().total_tokens = REQUEST_THREADS[
            "postgresql" if server.ctx.is_postgres else "sqlite"]
        open_lanes(app, postgres=server.ctx.is_postgres)
        if workers is not None:
            await run_in_threadpool(workers.start)
        task = asyncio.create_task(_sweep_every(server, sweep_interval)) if sweep_interval else None
        try:
            yield
        finally:
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if workers is not None:
                await run_in_threadpool(workers.close)

    return lifespan


async def _sweep_every(server: ProvinceServer, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await run_in_threadpool(server.sweep)
        except Exception:  # keep sweeping; the next round may succeed
            log.exception("lease sweep failed")


def _document_upload_body(app: FastAPI) -> None:
    """The upload route reads its body by hand; its schema is added to the OpenAPI document here."""
    default_openapi = app.openapi

    def openapi():
        doc = default_openapi()
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        if "UploadRequest" not in schemas:
            upload_schema = UploadRequest.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(upload_schema.pop("$defs", {}))
            schemas["UploadRequest"] = upload_schema
        return doc

    app.openapi = openapi

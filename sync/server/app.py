"""HTTP around :class:`ProvinceServer`: FastAPI routes, authentication, protocol checks.

No ``from __future__ import annotations`` here: FastAPI reads the route signatures at run time,
and the ``Signed``/``Day`` aliases live inside :func:`create_app`, out of reach of string
annotations.
"""

import asyncio
import contextlib
import hmac
import json
import logging
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from sync import protocol
from sync.protocol import ProtocolError
from sync.server.core import BatchAhead, ProvinceServer
from sync.server.upload_workers import UploadWorkers

log = logging.getLogger("kezhan.server.http")

UNVERSIONED = {"/v1/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


class _BodyTooLarge(Exception):
    pass


class ProtocolMiddleware:
    """Pure ASGI, so it sees the request before any body is read: the protocol header, the
    body size (declared and actual — a chunked body has no Content-Length), and it stamps every
    response with the server's clock so the terminal can measure its offset."""

    def __init__(self, app, *, server: ProvinceServer, max_body: int):
        self.app, self.server, self.max_body = app, server, max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def send_stamped(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers.append((protocol.H_SERVER_TIME.lower().encode(),
                                f"{self.server.now().timestamp():.3f}".encode()))
                headers.append((protocol.H_PROTOCOL.lower().encode(), protocol.PROTOCOL_VERSION.encode()))
                message = {**message, "headers": headers}
            await send(message)

        async def reply(code: str, **details):
            err = ProtocolError(code, **details)
            await JSONResponse(err.body(), status_code=err.status)(scope, receive, send_stamped)

        path = scope.get("path", "")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if path.startswith(protocol.API_PREFIX + "/") and path not in UNVERSIONED:
            version = headers.get(protocol.H_PROTOCOL.lower())
            if version not in protocol.SUPPORTED_VERSIONS:
                return await reply("PROTOCOL_VERSION", got=version, supported=list(protocol.SUPPORTED_VERSIONS))
        declared = headers.get("content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_body
            except ValueError:
                return await reply("INVALID_REQUEST", "bad Content-Length")
            if too_big:
                return await reply("BODY_TOO_LARGE", max_bytes=self.max_body)

        seen = 0

        async def counting_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    # FastAPI turns errors while reading a body into a plain 400; the flag lets
                    # the handler answer what really happened.
                    scope["kezhan.body_too_large"] = self.max_body
                    raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, counting_receive, send_stamped)
        except _BodyTooLarge:
            if not started:
                await reply("BODY_TOO_LARGE", max_bytes=self.max_body)


# ---------------------------------------------------------------------------- request bodies


class _Strict(BaseModel):
    # Strict: "7" is not 7. An event's hash covers its JSON exactly as the terminal wrote it.
    model_config = ConfigDict(strict=True, extra="forbid")


class EnrolRequest(_Strict):
    code: str = Field(description="one-time enrolment code issued by the station admin, e.g. ABCD-EFGH-JKMN")
    public_key: str = Field(description="the terminal's Ed25519 ticket-code public key, base64 of 32 raw bytes")
    label: str = Field("", description="free text shown to admins, e.g. the window number")


class Event(_Strict):
    model_config = ConfigDict(strict=True, extra="allow")
    terminal_id: str
    seq: int
    event_id: str
    type: str
    created_at: str
    payload: dict[str, Any]
    hash: str


class UploadRequest(_Strict):
    events: list[Event]
    behind: bool = Field(False, description="sent while the terminal's batch before it is still unanswered: "
                                            "wait for that one instead of answering SEQ_GAP at once")


class LeaseWant(_Strict):
    departure_id: str
    seats: int | None = Field(None, ge=0, description="unsold seats the terminal wants to hold (top-up target)")


class LeaseRequest(_Strict):
    want: list[LeaseWant]


class ReleaseRequest(_Strict):
    departure_id: str
    seats: list[int] | None = None


class SeatRequest(_Strict):
    departure_id: str
    seat_no: int | None = Field(None, description="a specific seat, or null for any free seat")


class KeyRequest(_Strict):
    public_key: str


class CodeRequest(_Strict):
    station: str
    label: str = ""
    ttl_hours: float | None = None


class StatusRequest(_Strict):
    status: Literal["normal", "cancelled", "delayed", "boarding", "departed"]


class WebPassenger(_Strict):
    name: str
    doc_type: str = "resident_id"
    doc_number: str | None = None
    doc_hash: str | None = None
    ticket_type: str = "full"
    seat_no: int | None = None
    insurance: int = 0


class WebOrder(_Strict):
    departure_id: str
    stop: str
    passengers: list[WebPassenger]
    payment: dict[str, Any] | None = None


# ---------------------------------------------------------------------------- app


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
    web_token = web_token or admin_token
    upload_workers = UploadWorkers(server, upload_workers) if upload_workers else None

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        task = None
        if upload_workers is not None:
            await run_in_threadpool(upload_workers.start)
        if sweep_interval:
            async def sweeper():
                while True:
                    await asyncio.sleep(sweep_interval)
                    try:
                        await run_in_threadpool(server.sweep)
                    except Exception:  # keep sweeping; the next round may succeed
                        log.exception("lease sweep failed")

            task = asyncio.create_task(sweeper())
        try:
            yield
        finally:
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if upload_workers is not None:
                await run_in_threadpool(upload_workers.close)

    app = FastAPI(
        title="Kezhan provincial server",
        version=protocol.PROTOCOL_VERSION,
        description="Reference provincial server for Kezhan terminals. Protocol: docs/protocol.md. "
        f"Every /v1 request except /v1/health carries `{protocol.H_PROTOCOL}: {protocol.PROTOCOL_VERSION}`.",
        lifespan=lifespan,
    )
    app.state.server = server
    app.state.upload_workers = upload_workers
    app.add_middleware(ProtocolMiddleware, server=server, max_body=server.settings.max_body_bytes)

    # ------------------------------------------------------------------ errors

    @app.exception_handler(ProtocolError)
    async def _protocol_error(_request, exc: ProtocolError):
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request, exc: RequestValidationError):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse(protocol.error_body("MALFORMED_JSON"), status_code=400)
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors[:20]]
        return JSONResponse(protocol.error_body("INVALID_REQUEST", errors=detail), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request, exc: StarletteHTTPException):
        if request.scope.get("kezhan.body_too_large"):
            return JSONResponse(protocol.error_body("BODY_TOO_LARGE", max_bytes=server.settings.max_body_bytes),
                                status_code=413)
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "BODY_TOO_LARGE"}.get(exc.status_code)
        if code:
            return JSONResponse(protocol.error_body(code), status_code=exc.status_code)
        return JSONResponse({"error": f"HTTP_{exc.status_code}", "message": str(exc.detail)},
                            status_code=exc.status_code)

    @app.exception_handler(OperationalError)
    async def _db_error(_request, exc: OperationalError):
        log.warning("database error: %s", exc.orig)
        return JSONResponse(protocol.error_body("BUSY"), status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def _internal(_request, exc: Exception):
        log.exception("internal error")
        return JSONResponse(protocol.error_body("INTERNAL"), status_code=500)

    # ------------------------------------------------------------------ authentication

    async def terminal(request: Request) -> dict:
        return await _authenticate(request, record_nonce=True)

    async def uploading_terminal(request: Request) -> dict:
        # The nonce goes into the batch's own transaction (ProvinceServer.upload).
        return await _authenticate(request, record_nonce=False)

    async def _authenticate(request: Request, *, record_nonce: bool) -> dict:
        body = await request.body()
        raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
        path_qs = raw_path.decode("latin-1")
        query = request.scope.get("query_string", b"")
        if query:
            path_qs += "?" + query.decode("latin-1")
        h = request.headers
        return await run_in_threadpool(
            server.authenticate,
            terminal_id=h.get(protocol.H_TERMINAL), method=request.method, path_qs=path_qs, body=body,
            timestamp=h.get(protocol.H_TIMESTAMP), nonce=h.get(protocol.H_NONCE), sig=h.get(protocol.H_SIGNATURE),
            record_nonce=record_nonce,
        )

    Signed = Annotated[dict, Depends(terminal)]
    SignedUpload = Annotated[dict, Depends(uploading_terminal)]
    Day = Annotated[str, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="local date at the station, YYYY-MM-DD")]

    def _bearer(request: Request) -> str:
        auth = request.headers.get("authorization", "")
        return auth[7:].strip() if auth.lower().startswith("bearer ") else ""

    def admin(request: Request) -> None:
        if not hmac.compare_digest(_bearer(request).encode(), admin_token.encode()):
            raise ProtocolError("ADMIN_TOKEN_INVALID")

    def web(request: Request) -> None:
        if not hmac.compare_digest(_bearer(request).encode(), web_token.encode()):
            raise ProtocolError("ADMIN_TOKEN_INVALID", "web channel token missing or wrong")

    # ------------------------------------------------------------------ open

    @app.get("/v1/health", tags=["open"])
    def health():
        """Liveness and the server's clock; needs no signature (and no protocol header)."""
        now = server.now()
        return {"status": "ok", "protocol": protocol.PROTOCOL_VERSION,
                "supported": list(protocol.SUPPORTED_VERSIONS), "server_time": now.timestamp()}

    @app.post("/v1/enrol", tags=["terminal"], status_code=201)
    def enrol(req: EnrolRequest):
        """Exchange a one-time code for a terminal id and its HMAC secret; registers the
        terminal's ticket-code public key. The only terminal call that is not signed."""
        return server.enrol(req.code, req.public_key, label=req.label)

    # ------------------------------------------------------------------ terminal (signed)

    @app.post("/v1/events", tags=["terminal"], openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/UploadRequest"}}}}})
    async def upload(request: Request, t: SignedUpload):
        """A batch of outbox events in seq order, applied in one transaction."""
        # Parsed and checked by hand (ProvinceServer.upload checks every field strictly): the
        # hot path of a backlog drain, where a model round trip per event costs more than the
        # database work.
        terminal_id, nonce, raw = t["terminal_id"], t["nonce"], await request.body()
        deadline = None
        while True:
            try:
                if upload_workers is not None:
                    return await upload_workers.upload(terminal_id, raw, nonce)
                return await run_in_threadpool(server.upload_body, terminal_id, raw, nonce=nonce)
            except BatchAhead as ahead:
                # Sent behind a batch of this terminal not applied yet: wait for it here, on the
                # event loop, holding no worker or thread the batch ahead may need; then again.
                loop = asyncio.get_running_loop()
                deadline = deadline or loop.time() + server.settings.batch_turn_wait
                while await run_in_threadpool(server.high_water, terminal_id) < ahead.first - 1:
                    if loop.time() >= deadline:
                        await run_in_threadpool(server.record_nonce, terminal_id, nonce)
                        raise ProtocolError("SEQ_GAP", expected_seq=ahead.expected, got_seq=ahead.first) from None
                    await asyncio.sleep(0.002)

    @app.get("/v1/changes", tags=["terminal"])
    def changes(t: Signed, cursor: str | None = None, limit: Annotated[int | None, Query(ge=1)] = None):
        """The change feed after ``cursor``; ``reset: true`` means a full snapshot follows."""
        return Response(server.pull_json(t["terminal_id"], cursor, limit), media_type="application/json")

    @app.get("/v1/conflicts", tags=["terminal"])
    def conflicts(t: Signed, status: str | None = None):
        return {"conflicts": server.conflicts_of(t["terminal_id"], status)}

    @app.post("/v1/leases", tags=["terminal"])
    def leases(req: LeaseRequest, t: Signed):
        return server.top_up(t["terminal_id"], [w.model_dump() for w in req.want])

    @app.get("/v1/leases", tags=["terminal"])
    def my_leases(t: Signed):
        return {"leases": server.leases_of(t["terminal_id"])}

    @app.post("/v1/leases/release", tags=["terminal"])
    def release(req: ReleaseRequest, t: Signed):
        return server.release(t["terminal_id"], req.departure_id, req.seats)

    @app.post("/v1/seats/request", tags=["terminal"])
    def seat_request(req: SeatRequest, t: Signed):
        return server.seat_request(t["terminal_id"], req.departure_id, req.seat_no)

    @app.get("/v1/departures/{departure_id}/seats", tags=["terminal"])
    def seats(departure_id: str, t: Signed):
        return server.seat_states(departure_id)

    @app.post("/v1/keys", tags=["terminal"], status_code=201)
    def add_key(req: KeyRequest, t: Signed):
        return server.register_key(t["terminal_id"], req.public_key)

    @app.get("/v1/keys", tags=["terminal"])
    def keys(t: Signed):
        return {"keys": server.list_keys()}

    @app.get("/v1/pickup/{pickup_code}", tags=["terminal"])
    def pickup(pickup_code: str, t: Signed):
        return server.find_web_ticket(pickup_code)

    @app.get("/v1/reconciliation", tags=["terminal"])
    def reconciliation(t: Signed, date: Day):
        return server.reconcile(t["terminal_id"], date)

    # ------------------------------------------------------------------ web channel

    @app.post("/v1/web/orders", tags=["web"], status_code=201, dependencies=[Depends(web)])
    def web_order(req: WebOrder):
        """An online sale: seats from the free pool, competing with the terminals' leases."""
        return server.web_order(req.departure_id, req.stop, [p.model_dump() for p in req.passengers], req.payment)

    @app.post("/v1/web/tickets/{ticket_id}/refund", tags=["web"], dependencies=[Depends(web)])
    def web_refund(ticket_id: str):
        return server.web_refund(ticket_id)

    @app.get("/v1/web/departures/{departure_id}/seats", tags=["web"], dependencies=[Depends(web)])
    def web_seats(departure_id: str):
        return server.seat_states(departure_id)

    # ------------------------------------------------------------------ admin

    @app.post("/v1/admin/enrolment-codes", tags=["admin"], status_code=201, dependencies=[Depends(admin)])
    def issue_code(req: CodeRequest):
        from datetime import timedelta

        ttl = timedelta(hours=req.ttl_hours) if req.ttl_hours else None
        return server.issue_code(req.station, label=req.label, ttl=ttl)

    @app.get("/v1/admin/terminals", tags=["admin"], dependencies=[Depends(admin)])
    def terminals():
        return {"terminals": server.list_terminals()}

    @app.post("/v1/admin/terminals/{terminal_id}/revoke", tags=["admin"], dependencies=[Depends(admin)])
    def revoke(terminal_id: str):
        return server.revoke(terminal_id)

    @app.get("/v1/admin/tickets", tags=["admin"], dependencies=[Depends(admin)])
    def export(terminal: str | None = None, date: str | None = None, channel: str | None = None):
        return {"tickets": server.export_tickets(terminal_id=terminal, day=date, channel=channel)}

    @app.get("/v1/admin/reconciliation", tags=["admin"], dependencies=[Depends(admin)])
    def admin_reconciliation(terminal: str, date: Day):
        return server.reconcile(terminal, date)

    @app.get("/v1/admin/alarms", tags=["admin"], dependencies=[Depends(admin)])
    def alarms():
        return {"alarms": server.alarms()}

    @app.get("/v1/admin/conflicts", tags=["admin"], dependencies=[Depends(admin)])
    def admin_conflicts(terminal: str, status: str | None = None):
        return {"conflicts": server.conflicts_of(terminal, status)}

    @app.post("/v1/admin/province", tags=["admin"], dependencies=[Depends(admin)])
    async def import_province(request: Request, replace: bool = True):
        try:
            doc = json.loads(await request.body())
        except ValueError:
            raise ProtocolError("MALFORMED_JSON") from None
        from sync.server.province import ProvinceFormatError

        try:
            return await run_in_threadpool(server.import_province, doc, replace=replace)
        except ProvinceFormatError as exc:
            raise ProtocolError("INVALID_REQUEST", str(exc)) from None

    @app.post("/v1/admin/departures/{departure_id}/status", tags=["admin"], dependencies=[Depends(admin)])
    def departure_status(departure_id: str, req: StatusRequest):
        return server.set_departure_status(departure_id, req.status)

    @app.post("/v1/admin/sweep", tags=["admin"], dependencies=[Depends(admin)])
    def sweep():
        return server.sweep()

    @app.post("/v1/admin/compact", tags=["admin"], dependencies=[Depends(admin)])
    def compact():
        return server.compact()

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
    return app

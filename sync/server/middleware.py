"""The protocol's checks on every request before any route sees it: the protocol version header, the
body size, who is asking (before a byte of the body is read), and the server's clock stamped on every
answer."""

import asyncio
import contextlib
import hmac
import time

from fastapi.responses import JSONResponse
from starlette.routing import Match

from sync import protocol
from sync.protocol import ProtocolError
from sync.server.lanes import run_check

UNVERSIONED = {"/v1/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
# Routes whose bodies may be large (an upload batch, a province's timetable); every other body is a
# few fields and is refused past SMALL_BODY, so nobody holds megabytes of the server's memory with them.
LARGE_BODY_PATHS = {"/v1/events", "/v1/admin/province"}
SMALL_BODY = 64 * 1024
DISCARD_SECONDS = 10.0
CHECKED_CALLER = "kezhan_checked_caller"  # the request's terminal row, as the middleware read it
_SIGNED_HEADERS = (protocol.H_TERMINAL, protocol.H_TIMESTAMP, protocol.H_NONCE, protocol.H_SIGNATURE)


class _BodyTooLarge(Exception):
    pass


class ProtocolMiddleware:
    """Pure ASGI, so it sees the request before any body is read: the protocol header, the
    body size (declared and actual — a chunked body has no Content-Length), and it stamps every
    response with the server's clock so the terminal can measure its offset."""

    def __init__(self, app, *, server, max_body: int, admin_token: str, web_token: str, routes=()):
        self.app, self.server, self.max_body, self.routes = app, server, max_body, routes
        self.admin_token, self.web_token = admin_token.encode(), web_token.encode()

    def body_limit(self, path: str) -> int:
        return self.max_body if path in LARGE_BODY_PATHS else min(SMALL_BODY, self.max_body)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False
        arrived = time.perf_counter()

        async def send_stamped(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                # How long the server took (queueing, the database, its locks): the terminal's own
                # measure of a call also holds the network and its own waiting.
                headers.append((b"server-timing", f"app;dur={1000 * (time.perf_counter() - arrived):.1f}".encode()))
                headers.append((protocol.H_SERVER_TIME.lower().encode(),
                                f"{self.server.now().timestamp():.3f}".encode()))
                headers.append((protocol.H_PROTOCOL.lower().encode(), protocol.PROTOCOL_VERSION.encode()))
                message = {**message, "headers": headers}
            await send(message)

        async def reply(err: ProtocolError):
            await JSONResponse(err.body(), status_code=err.status)(scope, receive, send_stamped)

        limit = self.body_limit(scope.get("path", ""))
        refusal = self._refusal(scope, limit)
        if refusal is not None:
            return await reply(refusal)
        refusal = await self._caller_refusal(scope)
        if refusal is not None:
            await reply(refusal)
            # Then read and dropped chunk by chunk (memory stays flat, and bounded in time), so
            # that a sender still sending reads the refusal instead of a reset connection.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_discard(receive, limit), DISCARD_SECONDS)
            return
        counting_receive = self._counting(scope, receive, limit)
        try:
            await self.app(scope, counting_receive, send_stamped)
        except _BodyTooLarge:
            if not started:
                await reply(ProtocolError("BODY_TOO_LARGE", max_bytes=limit))

    async def _caller_refusal(self, scope) -> ProtocolError | None:
        """Whoever may not send this request is refused before its body is read: a signed
        request's headers (present, ASCII, a well-formed nonce, a fresh timestamp, a terminal that
        may make this call), the admin's or the web channel's token. The signature itself covers
        the body and is checked by the route."""
        path = scope.get("path", "")
        if not path.startswith(protocol.API_PREFIX + "/") or path in UNVERSIONED:
            return None
        if not any(route.matches(scope)[0] != Match.NONE for route in self.routes):
            return None  # no such route: answered 404, whoever asks
        headers = dict(scope.get("headers", []))
        if path.startswith("/v1/admin/") or path.startswith("/v1/web/"):
            token = self.admin_token if path.startswith("/v1/admin/") else self.web_token
            auth = headers.get(b"authorization", b"")
            given = auth[7:].strip() if auth[:7].lower() == b"bearer " else b""
            if not hmac.compare_digest(given, token):
                return ProtocolError("ADMIN_TOKEN_INVALID")
            return None
        if path == "/v1/enrol":
            return None
        values = [headers.get(name.lower().encode()) for name in _SIGNED_HEADERS]
        if not all(values):
            return ProtocolError("AUTH_MISSING")
        if not all(v.isascii() for v in values):
            return ProtocolError("AUTH_MISSING", "signature headers must be ASCII")
        terminal_id, timestamp, nonce, _sig = (v.decode("ascii") for v in values)
        if not protocol.NONCE_PATTERN.match(nonce):
            return ProtocolError("AUTH_MISSING", "nonce must be 16-64 characters of [A-Za-z0-9_-]")
        now = self.server.now()
        if not protocol.timestamp_ok(timestamp, now.timestamp()):
            return ProtocolError("STALE_TIMESTAMP", server_time=round(now.timestamp(), 3),
                                 max_skew_seconds=protocol.MAX_CLOCK_SKEW_SECONDS)
        try:
            row = await run_check(scope, self.server.auth.check_caller, terminal_id, scope.get("method", ""), path)
        except ProtocolError as exc:
            return exc
        # The route's authentication (after the body) takes this row instead of reading it again.
        scope.setdefault("state", {})[CHECKED_CALLER] = row
        return None

    def _refusal(self, scope, limit: int) -> ProtocolError | None:
        """What the headers alone refuse: a protocol version not spoken, a body declared too large."""
        path = scope.get("path", "")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if path.startswith(protocol.API_PREFIX + "/") and path not in UNVERSIONED:
            version = headers.get(protocol.H_PROTOCOL.lower())
            if version not in protocol.SUPPORTED_VERSIONS:
                return ProtocolError("PROTOCOL_VERSION", got=version, supported=list(protocol.SUPPORTED_VERSIONS))
        declared = headers.get("content-length")
        if declared is not None:
            if not (declared.isascii() and declared.isdigit()):
                return ProtocolError("INVALID_REQUEST", "bad Content-Length")
            if len(declared) > 18 or int(declared) > limit:
                return ProtocolError("BODY_TOO_LARGE", max_bytes=limit)
        return None

    def _counting(self, scope, receive, limit: int):
        """``receive`` that stops a body growing past the limit (a chunked body declares no length)."""
        seen = 0

        async def counting_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # FastAPI turns errors while reading a body into a plain 400; the flag lets
                    # the handler answer what really happened.
                    scope["kezhan.body_too_large"] = limit
                    raise _BodyTooLarge()
            return message

        return counting_receive


async def _discard(receive, limit: int) -> None:
    seen = 0
    while seen <= limit:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body"):
            return

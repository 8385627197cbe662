"""The protocol's checks on every request before any route sees it: the protocol version header, the
body size, and the server's clock stamped on every answer."""

from fastapi.responses import JSONResponse

from sync import protocol
from sync.protocol import ProtocolError

UNVERSIONED = {"/v1/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


class _BodyTooLarge(Exception):
    pass


class ProtocolMiddleware:
    """Pure ASGI, so it sees the request before any body is read: the protocol header, the
    body size (declared and actual — a chunked body has no Content-Length), and it stamps every
    response with the server's clock so the terminal can measure its offset."""

    def __init__(self, app, *, server, max_body: int):
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

        async def reply(err: ProtocolError):
            await JSONResponse(err.body(), status_code=err.status)(scope, receive, send_stamped)

        refusal = self._refusal(scope)
        if refusal is not None:
            return await reply(refusal)
        counting_receive = self._counting(scope, receive)
        try:
            await self.app(scope, counting_receive, send_stamped)
        except _BodyTooLarge:
            if not started:
                await reply(ProtocolError("BODY_TOO_LARGE", max_bytes=self.max_body))

    def _refusal(self, scope) -> ProtocolError | None:
        """What the headers alone refuse: a protocol version not spoken, a body declared too large."""
        path = scope.get("path", "")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if path.startswith(protocol.API_PREFIX + "/") and path not in UNVERSIONED:
            version = headers.get(protocol.H_PROTOCOL.lower())
            if version not in protocol.SUPPORTED_VERSIONS:
                return ProtocolError("PROTOCOL_VERSION", got=version, supported=list(protocol.SUPPORTED_VERSIONS))
        declared = headers.get("content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_body
            except ValueError:
                return ProtocolError("INVALID_REQUEST", "bad Content-Length")
            if too_big:
                return ProtocolError("BODY_TOO_LARGE", max_bytes=self.max_body)
        return None

    def _counting(self, scope, receive):
        """``receive`` that stops a body growing past the limit (a chunked body declares no length)."""
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

        return counting_receive

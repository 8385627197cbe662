"""Every failure answered as the protocol's error body (``{"error", "message", ...}``), never
FastAPI's own shapes: a terminal reads the code, a clerk the bilingual message."""

import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from sync import protocol
from sync.protocol import ProtocolError

log = logging.getLogger("kezhan.server.http")


async def _protocol_error(_request, exc: ProtocolError):
    return JSONResponse(exc.body(), status_code=exc.status)


async def _validation_error(_request, exc: RequestValidationError):
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return JSONResponse(protocol.error_body("MALFORMED_JSON"), status_code=400)
    detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors[:20]]
    return JSONResponse(protocol.error_body("INVALID_REQUEST", errors=detail), status_code=422)


async def _http_error(request, exc: StarletteHTTPException):
    too_large = request.scope.get("kezhan.body_too_large")
    if too_large:
        return JSONResponse(protocol.error_body("BODY_TOO_LARGE", max_bytes=too_large), status_code=413)
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "BODY_TOO_LARGE"}.get(exc.status_code)
    if code:
        return JSONResponse(protocol.error_body(code), status_code=exc.status_code)
    return JSONResponse({"error": f"HTTP_{exc.status_code}", "message": str(exc.detail)},
                        status_code=exc.status_code)


async def _db_error(_request, exc: OperationalError):
    log.warning("database error: %s", exc.orig)
    return JSONResponse(protocol.error_body("BUSY"), status_code=503, headers={"Retry-After": "1"})


async def _internal(_request, exc: Exception):
    log.exception("internal error")
    return JSONResponse(protocol.error_body("INTERNAL"), status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ProtocolError, _protocol_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _db_error)
    app.add_exception_handler(Exception, _internal)

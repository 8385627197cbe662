"""Every failure answered as the protocol's error body (``{"error", "message", ...}``), never
FastAPI's own shapes: a terminal reads the code, a clerk the bilingual message."""

import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
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
    # 400: FastAPI could not decode the body (bytes that are not UTF-8, a number of 5,000 digits).
    code = {400: "MALFORMED_JSON", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
            413: "BODY_TOO_LARGE"}.get(exc.status_code)
    if code:
        return JSONResponse(protocol.error_body(code), status_code=exc.status_code)
    return JSONResponse({"error": f"HTTP_{exc.status_code}", "message": str(exc.detail)},
                        status_code=exc.status_code)


async def _db_error(_request, exc: OperationalError):
    log.warning("database error: %s", exc.orig)
    return JSONResponse(protocol.error_body("BUSY"), status_code=503, headers={"Retry-After": "1"})


async def _too_deep(request, exc: RecursionError):
    # Brackets nested past the stack's depth (a body decoded by FastAPI or the province import).
    log.warning("refused %s %s: body nested too deeply", request.method, request.url.path)
    return JSONResponse(protocol.error_body("MALFORMED_JSON", "JSON nested too deeply"), status_code=400)


async def _out_of_range(request, exc: OverflowError):
    # A number no column or clock can hold (an integer past 64 bits, 1e308 hours): the sender's
    # mistake, answered in one line rather than a traceback per request.
    log.warning("refused %s %s: number out of range (%s)", request.method, request.url.path, exc)
    return JSONResponse(protocol.error_body("INVALID_REQUEST", "a number in the request is out of range",
                                            errors=[{"loc": ["body"], "msg": str(exc), "type": "out_of_range"}]),
                        status_code=422)


async def _does_not_fit(request, exc: DataError):
    # The same on PostgreSQL, whose columns are narrower than SQLite's (a seat number is 32 bits
    # there): the database refuses the value and the request's transaction is rolled back whole.
    log.warning("refused %s %s: a value the database cannot hold (%s)", request.method, request.url.path,
                str(exc.orig).splitlines()[0] if exc.orig else exc)
    return JSONResponse(protocol.error_body("INVALID_REQUEST", "a number in the request is out of range",
                                            errors=[{"loc": ["body"], "msg": "out of range", "type": "out_of_range"}]),
                        status_code=422)


async def _bad_text(request, exc: UnicodeEncodeError):
    # A "\ud800" escape decodes to a lone surrogate, which no database column can store.
    log.warning("refused %s %s: text that is not Unicode (%s)", request.method, request.url.path, exc.reason)
    return JSONResponse(protocol.error_body("INVALID_REQUEST", "text in the request is not valid Unicode",
                                            errors=[{"loc": ["body"], "msg": exc.reason, "type": "unicode"}]),
                        status_code=422)


async def _internal(_request, exc: Exception):
    log.exception("internal error")
    return JSONResponse(protocol.error_body("INTERNAL"), status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ProtocolError, _protocol_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _db_error)
    app.add_exception_handler(RecursionError, _too_deep)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(DataError, _does_not_fit)
    app.add_exception_handler(UnicodeEncodeError, _bad_text)
    app.add_exception_handler(Exception, _internal)

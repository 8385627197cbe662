"""What routes ask FastAPI for: the server, the signed terminal a request comes from, the admin
and web-channel tokens. No ``from __future__ import annotations``: FastAPI reads these at run time."""

import hmac
from typing import Annotated

from fastapi import Depends, Query, Request

from sync import protocol
from sync.protocol import ProtocolError
from sync.server.core import ProvinceServer
from sync.server.lanes import run_check
from sync.server.middleware import CHECKED_CALLER


async def _server(request: Request) -> ProvinceServer:
    return request.app.state.server


# Bodies above this size wait for one of a few slots before they are read, and keep it until their
# signature is checked: however many arrive at once, only so many unverified megabytes are in memory.
LARGE_UNVERIFIED = 1024 * 1024
UNVERIFIED_SLOTS = 4


async def _authenticate(request: Request, *, record_nonce: bool) -> dict:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) <= LARGE_UNVERIFIED:
        return await _read_and_check(request, record_nonce)
    async with request.app.state.unverified_bodies:
        return await _read_and_check(request, record_nonce)


async def _read_and_check(request: Request, record_nonce: bool) -> dict:
    body = await request.body()
    raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
    path_qs = raw_path.decode("latin-1")
    query = request.scope.get("query_string", b"")
    if query:
        path_qs += "?" + query.decode("latin-1")
    h = request.headers
    return await run_check(
        request.scope, request.app.state.server.authenticate,
        terminal_id=h.get(protocol.H_TERMINAL), method=request.method, path_qs=path_qs, body=body,
        timestamp=h.get(protocol.H_TIMESTAMP), nonce=h.get(protocol.H_NONCE), sig=h.get(protocol.H_SIGNATURE),
        record_nonce=record_nonce, instance=h.get(protocol.H_INSTANCE),
        checked=request.scope.get("state", {}).get(CHECKED_CALLER),
    )


async def _terminal(request: Request) -> dict:
    return await _authenticate(request, record_nonce=True)


async def _uploading_terminal(request: Request) -> dict:
    # The nonce goes into the batch's own transaction (Uploads.upload).
    return await _authenticate(request, record_nonce=False)


def _bearer(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else ""


async def admin(request: Request) -> None:
    if not hmac.compare_digest(_bearer(request).encode(), request.app.state.admin_token.encode()):
        raise ProtocolError("ADMIN_TOKEN_INVALID")


async def web(request: Request) -> None:
    if not hmac.compare_digest(_bearer(request).encode(), request.app.state.web_token.encode()):
        raise ProtocolError("ADMIN_TOKEN_INVALID", "web channel token missing or wrong")


Server = Annotated[ProvinceServer, Depends(_server)]
Signed = Annotated[dict, Depends(_terminal)]
SignedUpload = Annotated[dict, Depends(_uploading_terminal)]
Day = Annotated[str, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="local date at the station, YYYY-MM-DD")]
ADMIN = [Depends(admin)]
WEB = [Depends(web)]

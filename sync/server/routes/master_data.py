"""The admin's province import and departure status changes."""

import json

from fastapi import APIRouter, Request

from sync.protocol import ProtocolError
from sync.server.bodies import StatusRequest
from sync.server.lanes import run_blocking
from sync.server.routes.deps import ADMIN, Server

router = APIRouter()


@router.post("/v1/admin/province", tags=["admin"], dependencies=ADMIN)
async def import_province(request: Request, server: Server, replace: bool = True):
    try:
        doc = json.loads(await request.body())
    except ValueError:
        raise ProtocolError("MALFORMED_JSON") from None
    from sync.server.province import ProvinceFormatError

    try:
        return await run_blocking(request.scope, server.import_province, doc, replace=replace)
    except ProvinceFormatError as exc:
        raise ProtocolError("INVALID_REQUEST", str(exc)) from None


@router.post("/v1/admin/departures/{departure_id}/status", tags=["admin"], dependencies=ADMIN)
def departure_status(departure_id: str, req: StatusRequest, server: Server):
    return server.set_departure_status(departure_id, req.status)

"""Leases and seats: top-ups, releases, single-seat requests, seat states, the admin's sweep."""

from fastapi import APIRouter, Request

from sync.protocol import ProtocolError
from sync.server.bodies import LeaseRequest, ReleaseRequest, SeatRequest
from sync.server.lanes import run_blocking
from sync.server.routes.deps import ADMIN, Server, Signed

router = APIRouter()


@router.post("/v1/leases", tags=["terminal"])
async def leases(request: Request, req: LeaseRequest, t: Signed, server: Server):
    # In the lease upkeep's own threads (sync.server.lanes): a top-up of two days of departures
    # holds its thread for many transactions.
    return await run_blocking(request.scope, server.top_up, t["terminal_id"], [w.model_dump() for w in req.want])


@router.get("/v1/leases", tags=["terminal"])
def my_leases(t: Signed, server: Server):
    return {"leases": server.leases_of(t["terminal_id"])}


@router.post("/v1/leases/release", tags=["terminal"])
async def release(request: Request, req: ReleaseRequest, t: Signed, server: Server):
    if (req.departure_id is None) == (req.departure_ids is None) or (req.departure_ids is not None and req.seats):
        raise ProtocolError("INVALID_REQUEST", "name departure_id (and perhaps seats) or departure_ids")
    if req.departure_ids is not None:
        return await run_blocking(request.scope, server.release_many, t["terminal_id"], req.departure_ids)
    return await run_blocking(request.scope, server.release, t["terminal_id"], req.departure_id, req.seats)


@router.post("/v1/seats/request", tags=["terminal"])
def seat_request(req: SeatRequest, t: Signed, server: Server):
    return server.seat_request(t["terminal_id"], req.departure_id, req.seat_no)


@router.get("/v1/departures/{departure_id}/seats", tags=["terminal"])
def seats(departure_id: str, t: Signed, server: Server):
    return server.seat_states(departure_id)


@router.post("/v1/admin/sweep", tags=["admin"], dependencies=ADMIN)
def sweep(server: Server):
    return server.sweep()

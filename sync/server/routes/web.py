"""The web channel's orders, tickets and refunds, and a terminal looking a web ticket up by its pick-up code."""

from fastapi import APIRouter

from sync.server.bodies import WebOrder
from sync.server.routes.deps import WEB, Server, Signed

router = APIRouter()


@router.get("/v1/pickup/{pickup_code}", tags=["terminal"])
def pickup(pickup_code: str, t: Signed, server: Server):
    return server.find_web_ticket(pickup_code, terminal_id=t["terminal_id"])


@router.post("/v1/web/orders", tags=["web"], status_code=201, dependencies=WEB)
def web_order(req: WebOrder, server: Server):
    """An online sale: seats from the free pool, competing with the terminals' leases."""
    return server.web_order(req.departure_id, req.stop, [p.model_dump() for p in req.passengers], req.payment)


@router.post("/v1/web/tickets/{ticket_id}/refund", tags=["web"], dependencies=WEB)
def web_refund(ticket_id: str, server: Server):
    return server.web_refund(ticket_id)


@router.get("/v1/web/tickets/{ticket_id}", tags=["web"], dependencies=WEB)
def web_ticket(ticket_id: str, server: Server):
    """A web ticket and its status: a cancelled bus refunds the tickets nobody picked up."""
    return server.web_ticket(ticket_id)


@router.get("/v1/web/departures/{departure_id}/seats", tags=["web"], dependencies=WEB)
def web_seats(departure_id: str, server: Server):
    return server.seat_states(departure_id)

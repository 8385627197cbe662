"""Health, enrolment, ticket-code keys, and the admin's codes, terminals and revocations."""

from datetime import timedelta

from fastapi import APIRouter

from sync import protocol
from sync.server.bodies import CodeRequest, EnrolRequest, KeyRequest, RevokeRequest
from sync.server.routes.deps import ADMIN, Server, Signed

router = APIRouter()


@router.get("/v1/health", tags=["open"])
def health(server: Server):
    """Liveness and the server's clock; needs no signature (and no protocol header)."""
    now = server.now()
    return {"status": "ok", "protocol": protocol.PROTOCOL_VERSION,
            "supported": list(protocol.SUPPORTED_VERSIONS), "server_time": now.timestamp()}


@router.post("/v1/enrol", tags=["terminal"], status_code=201)
def enrol(req: EnrolRequest, server: Server):
    """Exchange a one-time code for a terminal id and its HMAC secret; registers the
    terminal's ticket-code public key. The only terminal call that is not signed."""
    return server.enrol(req.code, req.public_key, label=req.label)


@router.post("/v1/keys", tags=["terminal"], status_code=201)
def add_key(req: KeyRequest, t: Signed, server: Server):
    return server.register_key(t["terminal_id"], req.public_key)


@router.get("/v1/keys", tags=["terminal"])
def keys(t: Signed, server: Server):
    return {"keys": server.list_keys()}


@router.post("/v1/admin/enrolment-codes", tags=["admin"], status_code=201, dependencies=ADMIN)
def issue_code(req: CodeRequest, server: Server):
    ttl = timedelta(hours=req.ttl_hours) if req.ttl_hours else None
    return server.issue_code(req.station, label=req.label, ttl=ttl)


@router.get("/v1/admin/terminals", tags=["admin"], dependencies=ADMIN)
def terminals(server: Server):
    return {"terminals": server.list_terminals()}


@router.post("/v1/admin/terminals/{terminal_id}/revoke", tags=["admin"], dependencies=ADMIN)
def revoke(terminal_id: str, server: Server, req: RevokeRequest | None = None):
    """Revokes at once, or with ``drain_hours`` lets the terminal upload its unsent events first."""
    drain = timedelta(hours=req.drain_hours) if req and req.drain_hours else None
    return server.revoke(terminal_id, drain=drain)


@router.post("/v1/admin/terminals/{terminal_id}/release-instance", tags=["admin"], dependencies=ADMIN)
def release_instance(terminal_id: str, server: Server):
    """A terminal's PC really replaced: the next copy of its data to call is bound to its identity."""
    return server.release_instance(terminal_id)

"""Upload: a batch of a terminal's outbox events."""

from fastapi import APIRouter, Request

from sync.server.lanes import run_blocking
from sync.server.routes.deps import Server, Signed, SignedUpload

router = APIRouter()


@router.post("/v1/events", tags=["terminal"], openapi_extra={"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/UploadRequest"}}}}})
async def upload(request: Request, t: SignedUpload, server: Server):
    """A batch of outbox events in seq order, applied in one transaction."""
    # Parsed and checked by hand (Uploads.upload checks every field strictly): a model round trip
    # per event costs more than the database work on a backlog drain.
    terminal_id, nonce, raw = t["terminal_id"], t["nonce"], await request.body()
    workers = request.app.state.upload_workers
    if workers is not None:
        return await workers.upload(terminal_id, raw, nonce)
    return await run_blocking(request.scope, server.upload_body, terminal_id, raw, nonce=nonce)


@router.get("/v1/marks", tags=["terminal"])
def marks(t: Signed, server: Server):
    """The terminal's acknowledged seq, last ticket id and highest stock number as the server holds them."""
    return server.marks(t["terminal_id"])

"""The change feed, and the admin's compaction of it."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from sync.server.lanes import run_blocking
from sync.server.routes.deps import ADMIN, Server, Signed

router = APIRouter()


@router.get("/v1/changes", tags=["terminal"])
async def changes(request: Request, t: Signed, server: Server, cursor: str | None = None,
                  limit: Annotated[int | None, Query(ge=1)] = None):
    """The change feed after ``cursor``; ``reset: true`` means a full snapshot follows."""
    body = await run_blocking(request.scope, server.pull_json, t["terminal_id"], cursor, limit)
    return Response(body, media_type="application/json")


@router.post("/v1/admin/compact", tags=["admin"], dependencies=ADMIN)
def compact(server: Server):
    return server.compact()

"""The change feed, and the admin's compaction of it."""

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from sync.server.routes.deps import ADMIN, Server, Signed

router = APIRouter()


@router.get("/v1/changes", tags=["terminal"])
def changes(t: Signed, server: Server, cursor: str | None = None,
            limit: Annotated[int | None, Query(ge=1)] = None):
    """The change feed after ``cursor``; ``reset: true`` means a full snapshot follows."""
    return Response(server.pull_json(t["terminal_id"], cursor, limit), media_type="application/json")


@router.post("/v1/admin/compact", tags=["admin"], dependencies=ADMIN)
def compact(server: Server):
    return server.compact()

"""The change feed as terminals read it: a page after a cursor, and the compaction that bounds it."""

from __future__ import annotations

import json

from sync.server import feed
from sync.server.clock import iso
from sync.server.context import ServerContext


class ChangeFeed:
    def __init__(self, ctx: ServerContext):
        self.ctx = ctx

    def _limit(self, limit: int | None) -> int:
        most = self.ctx.settings.feed_page_max
        return max(1, min(int(limit or most), most))

    def pull_json(self, terminal_id: str, cursor: str | None, limit: int | None) -> bytes:
        """One page of the feed after ``cursor``, as the response body itself: the changes are
        spliced in as the JSON text the feed stores, never decoded and encoded again."""
        with self.ctx.reader() as conn:
            out = feed.pull(conn, terminal_id, cursor, self._limit(limit))
        changes = out.pop("changes_json")
        out["server_time"] = iso(self.ctx.now())
        head = json.dumps(out, ensure_ascii=False)
        return (head[:-1] + ',"changes":' + changes + "}").encode("utf-8")

    def compact(self) -> dict:
        with self.ctx.tx() as conn:
            return feed.compact(conn, self.ctx.now(), self.ctx.settings.tombstone_retention)

"""The province's key for document hashes (``app.domain.identity.document_hash``): the same at every
terminal and in the web channel, so a ticket bought online is found by tapping the ID card at any
window or gate. Made once per database."""

from __future__ import annotations

import base64
import secrets

from sync.protocol import ProtocolError
from sync.server import db as dbmod
from sync.server.context import ServerContext


class DocumentKey:
    def __init__(self, ctx: ServerContext):
        self.ctx = ctx
        self._key: str | None = None
        self.b64()  # now, not later inside another transaction

    def b64(self) -> str:
        if self._key is None:
            with self.ctx.tx() as conn:
                key = dbmod.get_meta(conn, "doc_hash_key")
                if key is None:
                    key = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
                    dbmod.set_meta(conn, "doc_hash_key", key)
            self._key = key
        return self._key

    def hash(self, doc_type: str | None, number: str | None) -> str | None:
        if not number:
            return None
        from app.domain.identity import document_hash

        try:
            return document_hash(base64.b64decode(self.b64()), doc_type or "resident_id", number)
        except ValueError as exc:
            raise ProtocolError("INVALID_REQUEST", f"document not valid: {exc}") from None

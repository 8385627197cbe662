"""The server's two document keys (docs/protocol.md § Passenger data).

``doc_hash_key`` is the province's tag key: every terminal and the web channel get it, and with it
make a document's 8-bit tag (``app.domain.identity.document_tag``), what a gate matches a tapped card
by, beside the name and the mask. A key every terminal holds protects nothing against a search of
the numbers a mask leaves, so nothing the server sends carries more of a hash under it than that tag.

``doc_pepper`` is the server's own: it never leaves the server. The full document hash under it
(``tickets.doc_hash``) is how the server keeps one seat per document across every channel, computed
from the number a sale carries. Both are made once per database."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field

from sqlalchemy import select

from sync.server import db as dbmod
from sync.server import models
from sync.server.context import ServerContext

# What ``tickets.doc_hash`` holds: since this scheme, the hash under ``doc_pepper``. A database from
# before it held the terminals' hash there; it is recomputed at start (``DocumentKey``).
SCHEME = "pepper-1"


@dataclass(frozen=True)
class DocumentKeys:
    tag_key: bytes
    pepper: bytes
    # (doc_type, number) -> (server hash, tag): an upload asks both of each sale's document, on its hot
    # path; bounded, as a batch's passengers are all it needs at once.
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    def server_hash(self, doc_type: str | None, number: str | None) -> str | None:
        """The one-seat-per-document hash, under the server's own key; None without a number."""
        return self._pair(doc_type, number)[0]

    def tag(self, doc_type: str | None, number: str | None) -> str | None:
        """The document's 8-bit tag under the terminals' key; None without a number."""
        return self._pair(doc_type, number)[1]

    def _pair(self, doc_type: str | None, number: str | None) -> tuple[str | None, str | None]:
        if not number:
            return None, None
        memo = self._memo
        got = memo.get((doc_type, number))
        if got is None:
            from app.domain.identity import document_hash

            try:
                got = (document_hash(self.pepper, doc_type or "resident_id", number),
                       document_hash(self.tag_key, doc_type or "resident_id", number)[:2])
            except ValueError:  # an unknown document type: stored as it came, never matched
                got = (None, None)
            if len(memo) >= 8192:
                memo.clear()
            memo[(doc_type, number)] = got
        return got


class DocumentKey:
    def __init__(self, ctx: ServerContext):
        self.ctx = ctx
        self._key: str | None = None
        self.keys = self._load()  # now, not later inside another transaction
        ctx.document_keys = self.keys

    @classmethod
    def of(cls, ctx: ServerContext) -> DocumentKeys:
        keys = getattr(ctx, "document_keys", None)
        return keys if keys is not None else cls(ctx).keys

    def _load(self) -> DocumentKeys:
        with self.ctx.tx() as conn:
            key = dbmod.get_meta(conn, "doc_hash_key")
            if key is None:
                key = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
                dbmod.set_meta(conn, "doc_hash_key", key)
            pepper = dbmod.get_meta(conn, "doc_pepper")
            if pepper is None:
                pepper = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
                dbmod.set_meta(conn, "doc_pepper", pepper)
            self._key = key
            keys = DocumentKeys(base64.b64decode(key), base64.b64decode(pepper))
            if dbmod.get_meta(conn, "doc_hash_scheme") != SCHEME:
                _rehash(conn, keys)
                _scrub_feed(conn)
                dbmod.set_meta(conn, "doc_hash_scheme", SCHEME)
        return keys

    def b64(self) -> str:
        """The tag key, as enrolment hands it to a terminal."""
        return self._key


def _scrub_feed(conn) -> None:
    """The passenger rows the feed published before the tag still carried the full hash under the
    terminals' key and the old mask, and a terminal pulling from the start would get them: each is
    rewritten in place to what it would say now (the mask again by today's rule, the hash cut to its
    tag -- the tag is its first two characters). Ids and cursors are untouched."""
    from app.domain.identity import mask, tag_of_hash
    from sync import protocol

    C = models.changes
    rows = conn.execute(select(C.c.id, C.c.data).where(
        C.c.kind.in_(("gate_ticket", "web_ticket")), C.c.data.is_not(None))).all()
    for r in rows:
        data = json.loads(r.data)
        p = data.get("passenger") if isinstance(data, dict) else None
        if not isinstance(p, dict) or "doc_hash" not in p:
            continue
        full = p.pop("doc_hash")
        p["doc_masked"] = mask(p["doc_masked"]) if p.get("doc_masked") else p.get("doc_masked")
        p["doc_tag"] = tag_of_hash(full) or None
        conn.execute(C.update().where(C.c.id == r.id).values(data=protocol.canonical_json(data).decode("utf-8")))


def _rehash(conn, keys: DocumentKeys) -> None:
    """A database from before the server's own key: every ticket's hash made again from the number it
    holds (one pass, once); a ticket without a number loses the terminals' hash it had."""
    Tk = models.tickets
    rows = conn.execute(select(Tk.c.ticket_id, Tk.c.doc_type, Tk.c.doc_number)
                        .where(Tk.c.doc_hash.is_not(None))).all()
    for r in rows:
        conn.execute(Tk.update().where(Tk.c.ticket_id == r.ticket_id)
                     .values(doc_hash=keys.server_hash(r.doc_type, r.doc_number)))

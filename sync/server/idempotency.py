"""Idempotency keys: a call that changes something (an enrolment, an admin call, a web order or
refund, a seat request) may carry ``Idempotency-Key``; the first answer is kept, per key and caller,
and a retry of the same request gets that answer again instead of a second operation.

The key is claimed on its own before the operation runs (single statements, outside the feed's lock
on PostgreSQL), so two copies of one request arriving together (a retry sent while the first is still
being answered, perhaps to another server process) never both run: the second waits for the first answer. An answer worth keeping (success,
or the server's final refusal) is stored; one that is not (the signature, the clock, BUSY, a 5xx)
releases the key, and the retry runs afresh. A key used for a different request is refused.

An upload needs none of this: events are idempotent by their seq (docs/protocol.md § Upload).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from sync import protocol
from sync.protocol import ProtocolError
from sync.server import models
from sync.server.context import ServerContext
from sync.server.lanes import run_check

RETENTION = timedelta(hours=24)
# A claim whose first request never finished (its process died) is given up after this long.
ABANDONED = timedelta(minutes=2)
WAIT_FOR_FIRST = 10.0  # seconds a retry waits for the first request's answer before "in progress"
_PURGE_EVERY = timedelta(seconds=60)
# Refusals that are about this attempt rather than about the request: never the answer to keep.
_NOT_FINAL = {"BUSY", "INTERNAL", "STALE_TIMESTAMP", "REPLAYED_NONCE", "BAD_SIGNATURE", "AUTH_MISSING",
              "IDEMPOTENCY_IN_PROGRESS", "BODY_TOO_LARGE"}
_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Uploads are idempotent by seq already.
_EXEMPT = {protocol.API_PREFIX + "/events"}


class IdempotencyStore:
    def __init__(self, ctx: ServerContext):
        self.ctx = ctx
        self._last_purge = datetime.min.replace(tzinfo=UTC)

    def claim(self, key: str, caller: str, request_hash: str) -> tuple[str, int | None, str | None]:
        """("run", ...) for a new key (now claimed); ("done", status, body) for a key answered
        before; ("pending", ...) while the first request is being answered; ("mismatch", ...).

        Each step is one statement that decides on its own (the key's primary key, a conditional
        update), so a claim takes no lock beyond its row's and never queues behind the feed's
        writers; two copies of one request racing to claim it meet at the primary key."""
        Idem = models.idempotency
        now = self.ctx.now()
        with self.ctx.single_write() as conn:
            if now - self._last_purge > _PURGE_EVERY:
                self._last_purge = now
                conn.execute(delete(Idem).where(Idem.c.created_at < now - RETENTION))
            try:
                with conn.begin_nested() if not self.ctx.is_postgres else contextlib.nullcontext():
                    conn.execute(Idem.insert().values(key=key, caller=caller, request_hash=request_hash,
                                                      created_at=now))
                return "run", None, None
            except IntegrityError:
                pass
            row = conn.execute(select(Idem.c.request_hash, Idem.c.status, Idem.c.body, Idem.c.created_at)
                               .where(Idem.c.key == key, Idem.c.caller == caller)).first()
            if row is None:  # answered and purged, or released, between the two statements
                return "pending", None, None
            if row.request_hash != request_hash:
                return "mismatch", None, None
            if row.status is not None:
                return "done", row.status, row.body
            taken = conn.execute(Idem.update().where(
                Idem.c.key == key, Idem.c.caller == caller, Idem.c.status.is_(None),
                Idem.c.created_at == row.created_at, Idem.c.created_at < now - ABANDONED).values(created_at=now))
            if taken.rowcount == 1:  # the first request's process died: this one runs it
                return "run", None, None
            return "pending", None, None

    def finish(self, key: str, caller: str, status: int, body: str) -> None:
        Idem = models.idempotency
        with self.ctx.single_write() as conn:
            conn.execute(Idem.update().where(Idem.c.key == key, Idem.c.caller == caller).values(status=status, body=body))

    def release(self, key: str, caller: str) -> None:
        Idem = models.idempotency
        with self.ctx.single_write() as conn:
            conn.execute(delete(Idem).where(Idem.c.key == key, Idem.c.caller == caller, Idem.c.status.is_(None)))


def _final(status: int, body: bytes) -> bool:
    if 200 <= status < 300:
        return True
    if status in (401, 403, 429) or status >= 500:
        return False
    try:
        code = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return False
    return isinstance(code, str) and code not in _NOT_FINAL


class IdempotencyMiddleware:
    """Pure ASGI, inside the protocol middleware (so the caller's token or signature headers have
    been looked at): claims the key, runs the request, keeps or releases the answer."""

    def __init__(self, app, *, store: IdempotencyStore):
        self.app, self.store = app, store

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") not in _METHODS:
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers", []))
        raw_key = headers.get(protocol.H_IDEMPOTENCY_KEY.lower().encode())
        path = scope.get("path", "")
        if raw_key is None or path in _EXEMPT or not path.startswith(protocol.API_PREFIX + "/"):
            return await self.app(scope, receive, send)
        key = raw_key.decode("latin-1")
        if not protocol.IDEMPOTENCY_KEY_PATTERN.match(key):
            return await _reply(scope, receive, send, 400, protocol.error_body(
                "INVALID_REQUEST", f"{protocol.H_IDEMPOTENCY_KEY} must be 8-128 characters of [A-Za-z0-9_.:-]"))
        body = await _read_all(receive)
        caller = _caller(path, headers)
        digest = hashlib.sha256()
        for part in (scope["method"].encode(), path.encode(), scope.get("query_string", b""), body):
            digest.update(len(part).to_bytes(8, "big") + part)
        request_hash = digest.hexdigest()

        waited = 0.0
        while True:
            outcome, status, stored = await run_check(scope, self.store.claim, key, caller, request_hash)
            if outcome != "pending" or waited >= WAIT_FOR_FIRST:
                break
            await asyncio.sleep(0.05)
            waited += 0.05
        if outcome == "mismatch":
            return await _reply(scope, receive, send, 409, protocol.error_body("IDEMPOTENCY_KEY_REUSED"))
        if outcome == "pending":
            return await _reply(scope, receive, send, 409, protocol.error_body("IDEMPOTENCY_IN_PROGRESS"),
                                extra=[(b"retry-after", b"1")])
        if outcome == "done":
            return await _reply(scope, receive, send, status, stored.encode("utf-8"),
                                extra=[(protocol.H_IDEMPOTENT_REPLAY.lower().encode(), b"true")])

        answer = {"status": None, "chunks": []}

        async def replay_receive():
            nonlocal body
            if body is None:
                return await receive()  # after the body: the client's disconnect, if it comes
            message, body = {"type": "http.request", "body": body, "more_body": False}, None
            return message

        async def capture(message):
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            elif message["type"] == "http.response.body":
                answer["chunks"].append(message.get("body", b""))
            await send(message)

        kept = False
        try:
            await self.app(scope, replay_receive, capture)
            out = b"".join(answer["chunks"])
            if answer["status"] is not None and _final(answer["status"], out):
                await run_check(scope, self.store.finish, key, caller, answer["status"], out.decode("utf-8"))
                kept = True
        finally:
            if not kept:
                await run_check(scope, self.store.release, key, caller)


def _caller(path: str, headers: dict) -> str:
    """Keys are the caller's own: two terminals (or the admin and a terminal) may pick the same."""
    if path.startswith(protocol.API_PREFIX + "/admin/"):
        return "admin"
    if path.startswith(protocol.API_PREFIX + "/web/"):
        return "web"
    if path == protocol.API_PREFIX + "/enrol":
        return "enrol"
    terminal = headers.get(protocol.H_TERMINAL.lower().encode(), b"").decode("latin-1")
    return "terminal:" + terminal[:60]


async def _read_all(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ProtocolError("INVALID_REQUEST", "the request ended before its body")
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _reply(scope, receive, send, status: int, body, *, extra=()):
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            *extra]})
    await send({"type": "http.response.body", "body": data})

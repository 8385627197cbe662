"""Signed requests: the terminal a request comes from, its signature, its clock and its nonce."""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from sync import protocol
from sync.protocol import ProtocolError
from sync.server import models
from sync.server.clock import iso
from sync.server.context import ServerContext
from sync.server.enrolment import drain_over, finish_revocation

log = logging.getLogger("kezhan.server")


def _is_upload(method: str, path_qs: str) -> bool:
    return method.upper() == "POST" and path_qs.split("?", 1)[0] == protocol.API_PREFIX + "/events"


LAST_SEEN_EVERY = timedelta(seconds=30)  # how stale a terminal's last_seen_at may grow between calls


class Authenticator:
    def __init__(self, ctx: ServerContext):
        self.ctx = ctx
        self._last_nonce_purge = datetime.min.replace(tzinfo=UTC)

    def authenticate(self, *, terminal_id: str | None, method: str, path_qs: str, body: bytes,
                     timestamp: str | None, nonce: str | None, sig: str | None, record_nonce: bool = True,
                     instance: str | None = None, checked=None) -> dict:
        """The terminal a signed request comes from. ``record_nonce=False`` (uploads) only checks the
        nonce is new and leaves recording it to the caller's own transaction: ``upload(nonce=...)``
        writes it with the batch, so checking a batch never waits for the batch ahead of it to commit.
        ``checked``: the terminal's row as ``check_caller`` read it for this request a moment ago."""
        if not (terminal_id and timestamp and nonce and sig):
            raise ProtocolError("AUTH_MISSING")
        if not protocol.NONCE_PATTERN.match(nonce):
            raise ProtocolError("AUTH_MISSING", "nonce must be 16-64 characters of [A-Za-z0-9_-]")
        row = checked if checked is not None and checked.id == terminal_id else \
            self._active_terminal(terminal_id, method, path_qs)
        if not protocol.verify_signature(secret=row.secret, terminal_id=terminal_id, method=method, path_qs=path_qs,
                                         body=body, timestamp=timestamp, nonce=nonce, given=sig):
            raise ProtocolError("BAD_SIGNATURE")
        now = self.ctx.now()
        if not protocol.timestamp_ok(timestamp, now.timestamp()):
            raise ProtocolError("STALE_TIMESTAMP", server_time=round(now.timestamp(), 3),
                                max_skew_seconds=protocol.MAX_CLOCK_SKEW_SECONDS)
        if instance is not None and instance != row.instance_id:
            self._check_instance(terminal_id, instance, now)
        if row.status == "draining" and not _is_upload(method, path_qs):
            # A draining terminal sends its whole outbox before anything else: its first other
            # (signed, so its own) request says nothing is left, and ends the drain.
            with self.ctx.tx() as conn:
                finish_revocation(conn, terminal_id, now)
            raise ProtocolError("TERMINAL_REVOKED")
        if record_nonce:
            self.record_nonce_alone(terminal_id, nonce, now, last_seen=row.last_seen_at)
        else:
            self._check_nonce_unseen(terminal_id, nonce)
        return {"terminal_id": row.id, "station": row.station, "nonce": nonce}

    def check_caller(self, terminal_id: str, method: str, path: str):
        """Before the body is read: the terminal is known and may still make requests (its row,
        which ``authenticate`` of the same request takes instead of reading it again)."""
        return self._active_terminal(terminal_id, method, path)

    def _check_instance(self, terminal_id: str, instance: str, now: datetime) -> None:
        """One copy of a terminal's data per identity: the first instance seen is bound; another one
        (the data folder copied to a second PC) is refused with INSTANCE_CONFLICT and one alarm for
        the province, until an admin releases the binding (a PC really replaced)."""
        if not protocol.INSTANCE_PATTERN.match(instance):
            raise ProtocolError("INVALID_REQUEST", f"{protocol.H_INSTANCE} must be 8-64 characters of [A-Za-z0-9_-]")
        TI = models.terminal_instances
        alarm = False
        with self.ctx.tx() as conn:
            row = conn.execute(select(TI).where(TI.c.terminal_id == terminal_id)).first()
            if row is None:
                conn.execute(TI.insert().values(terminal_id=terminal_id, instance_id=instance, bound_at=now))
                return
            if row.instance_id == instance:
                return
            if row.refused_instance != instance:
                alarm = True
                conn.execute(TI.update().where(TI.c.terminal_id == terminal_id)
                             .values(refused_instance=instance, refused_at=now))
                conn.execute(models.alarms.insert().values(
                    terminal_id=terminal_id, kind="INSTANCE_CONFLICT", seq=None, created_at=now,
                    detail=f"a second copy of this terminal's data (instance {instance}) was refused: the identity "
                           f"is in use by instance {row.instance_id} since {iso(row.bound_at)}"))
        if alarm:
            log.error("INSTANCE_CONFLICT: %s used by instance %s, bound to %s", terminal_id, instance, row.instance_id)
        raise ProtocolError("INSTANCE_CONFLICT", bound_since=iso(row.bound_at))

    def release_instance(self, terminal_id: str) -> dict:
        """The admin's answer to a PC really replaced: the next instance to call is bound."""
        TI = models.terminal_instances
        with self.ctx.tx() as conn:
            released = conn.execute(delete(TI).where(TI.c.terminal_id == terminal_id)).rowcount
        return {"terminal_id": terminal_id, "released": bool(released)}

    def _active_terminal(self, terminal_id: str, method: str, path_qs: str):
        Tm, TI = models.terminals, models.terminal_instances
        with self.ctx.reader() as conn:
            row = conn.execute(select(Tm.c.id, Tm.c.station, Tm.c.secret, Tm.c.status, Tm.c.revoked_at,
                                      Tm.c.last_seen_at, TI.c.instance_id)
                               .select_from(Tm.outerjoin(TI, TI.c.terminal_id == Tm.c.id))
                               .where(Tm.c.id == terminal_id)).first()
        if row is None:
            raise ProtocolError("UNKNOWN_TERMINAL")
        if row.status == "revoked":
            raise ProtocolError("TERMINAL_REVOKED")
        if drain_over(row.status, row.revoked_at, self.ctx.now()):
            with self.ctx.tx() as conn:
                finish_revocation(conn, terminal_id, self.ctx.now())
            raise ProtocolError("TERMINAL_REVOKED")
        return row

    def _check_nonce_unseen(self, terminal_id: str, nonce: str) -> None:
        N = models.nonces
        with self.ctx.reader() as conn:
            seen = conn.execute(select(N.c.nonce).where(N.c.terminal_id == terminal_id, N.c.nonce == nonce)).first()
        if seen is not None:
            raise ProtocolError("REPLAYED_NONCE")

    def record_nonce_in(self, conn, terminal_id: str, nonce: str, now: datetime, *, seen_within=None,
                        seen: bool = True) -> None:
        """Inside the caller's transaction; a nonce seen before raises REPLAYED_NONCE (and the
        transaction must then be given up). ``seen_within``: leave ``last_seen_at`` alone when it is
        at most that old (no lock taken on the terminal's row)."""
        N, Tm = models.nonces, models.terminals
        try:
            conn.execute(N.insert().values(terminal_id=terminal_id, nonce=nonce, seen_at=now))
        except IntegrityError:
            raise ProtocolError("REPLAYED_NONCE") from None
        if seen:  # else the caller writes last_seen_at itself, with its own update of the row
            update = Tm.update().where(Tm.c.id == terminal_id)
            if seen_within is not None:
                update = update.where((Tm.c.last_seen_at.is_(None)) | (Tm.c.last_seen_at < now - seen_within))
            conn.execute(update.values(last_seen_at=now))
        if now - self._last_nonce_purge > timedelta(seconds=60):
            self._last_nonce_purge = now
            conn.execute(delete(N).where(N.c.seen_at < now - timedelta(seconds=protocol.NONCE_RETENTION_SECONDS)))

    def record_nonce_alone(self, terminal_id: str, nonce: str, now: datetime, *, last_seen=None) -> None:
        # Every signed call but an upload comes through here: a pull must not wait for the writers,
        # nor hold the terminal's row that its own upload (holding the writers' lock) is to update.
        # The nonce is one statement of its own; last_seen_at is written only when it has grown
        # stale (``last_seen``: the value the caller's row showed).
        N, Tm = models.nonces, models.terminals
        with self.ctx.single_write() as conn:
            try:
                conn.execute(N.insert().values(terminal_id=terminal_id, nonce=nonce, seen_at=now))
            except IntegrityError:
                raise ProtocolError("REPLAYED_NONCE") from None
            if last_seen is None or now - last_seen >= LAST_SEEN_EVERY:
                conn.execute(Tm.update().where(Tm.c.id == terminal_id)
                             .where((Tm.c.last_seen_at.is_(None)) | (Tm.c.last_seen_at < now - LAST_SEEN_EVERY))
                             .values(last_seen_at=now))
            if now - self._last_nonce_purge > timedelta(seconds=60):
                self._last_nonce_purge = now
                conn.execute(delete(N).where(N.c.seen_at < now - timedelta(seconds=protocol.NONCE_RETENTION_SECONDS)))

    def record_nonce(self, terminal_id: str, nonce: str) -> None:
        """For an upload refused or lost outside its batch's transaction (a garbled body, a refusal,
        a worker lost): the request still may not be replayed."""
        with contextlib.suppress(ProtocolError):
            self.record_nonce_alone(terminal_id, nonce, self.ctx.now())

"""Enrolment: one-time codes, terminals and their ticket-code keys, revocation."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select

from sync import protocol
from sync.protocol import ProtocolError
from sync.server import feed, models, province
from sync.server.clock import iso
from sync.server.context import ServerContext
from sync.server.documents import DocumentKey
from sync.server.seats import take_back

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud over the phone


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _code_hash(code: str) -> str:
    return protocol.sha256_hex(normalise_code(code).encode())


def checked_public_key(public_key: str) -> str:
    """The key in its canonical text, or BAD_PUBLIC_KEY when it is not an Ed25519 public key."""
    from app.domain.ed25519 import PublicKey

    try:
        raw = protocol.decode_public_key(public_key)
        PublicKey.from_public_bytes(raw)
    except Exception as exc:
        raise ProtocolError("BAD_PUBLIC_KEY", f"ticket-code public key not valid: {exc}") from exc
    return protocol.encode_public_key(raw)


def _key_data(key_id: str, terminal_id: str, public_key: str, created_at, revoked_at) -> dict:
    return {"key_id": key_id, "terminal_id": terminal_id, "public_key": public_key,
            "created_at": iso(created_at), "revoked_at": iso(revoked_at)}


def add_key(conn, terminal_id: str, public_key: str, now: datetime) -> dict:
    K = models.ticket_keys
    n = conn.execute(select(func.count()).select_from(K).where(K.c.terminal_id == terminal_id)).scalar_one()
    # The first key is named by the terminal id (what a terminal signs with unless told
    # otherwise); later ones get a suffix. Never a ".", which separates a ticket code's parts.
    key_id = terminal_id if n == 0 else f"{terminal_id}-K{n + 1}"
    conn.execute(K.insert().values(key_id=key_id, terminal_id=terminal_id, public_key=public_key, created_at=now))
    data = _key_data(key_id, terminal_id, public_key, now, None)
    feed.publish(conn, "ticket_key", key_id, data, at=now)
    return data


def finish_revocation(conn, terminal_id: str, now: datetime) -> None:
    """From now on every request of the terminal is refused; its leased seats go back to the pool."""
    Tm = models.terminals
    conn.execute(Tm.update().where(Tm.c.id == terminal_id).values(status="revoked", revoked_at=now))
    take_back(conn, models.lease_seats.c.terminal_id == terminal_id, now)


def drain_over(status: str, revoked_at: datetime | None, now: datetime) -> bool:
    return status == "draining" and (revoked_at is None or revoked_at <= now)


class Enrolment:
    def __init__(self, ctx: ServerContext, documents: DocumentKey):
        self.ctx, self.documents = ctx, documents

    def issue_code(self, station: str, *, label: str = "", ttl: timedelta | None = None) -> dict:
        now = self.ctx.now()
        code = "-".join(
            "".join(secrets.choice(CODE_ALPHABET) for _ in range(4)) for _ in range(3)
        )
        expires = now + (ttl or self.ctx.settings.enrol_code_ttl)
        with self.ctx.tx() as conn:
            if province.get_master(conn, "station", station) is None:
                raise ProtocolError("UNKNOWN_STATION", f"no station {station}", station=station)
            conn.execute(
                models.enrolment_codes.insert().values(
                    code_hash=_code_hash(code), station=station, label=label, created_at=now, expires_at=expires,
                )
            )
        return {"code": code, "station": station, "expires_at": iso(expires)}

    def enrol(self, code: str, public_key: str, *, label: str = "") -> dict:
        public_key = checked_public_key(public_key)
        now = self.ctx.now()
        with self.ctx.tx() as conn:
            row = self._use_code(conn, _code_hash(code), now)
            terminal_id = self._new_terminal_id(conn, row.station)
            self._mark_used(conn, _code_hash(code), terminal_id, now)
            secret = protocol.new_secret()
            conn.execute(
                models.terminals.insert().values(
                    id=terminal_id, station=row.station, label=label or row.label, secret=secret,
                    status="active", enrolled_at=now, high_water=0,
                )
            )
            key = add_key(conn, terminal_id, public_key, now)
            station = province.get_master(conn, "station", row.station)
        return {
            "terminal_id": terminal_id,
            "secret": secret,
            "station": station,
            "key_id": key["key_id"],
            "server_time": iso(now),
            "protocol": protocol.PROTOCOL_VERSION,
            "doc_hash_key": self.documents.b64(),
        }

    @staticmethod
    def _use_code(conn, code_hash: str, now: datetime):
        """The code's row, or the reason it may not enrol a terminal."""
        C = models.enrolment_codes
        row = conn.execute(select(C).where(C.c.code_hash == code_hash)).first()
        if row is None:
            raise ProtocolError("ENROL_CODE_INVALID")
        if row.used_at is not None:
            raise ProtocolError("ENROL_CODE_USED", used_at=iso(row.used_at))
        if row.expires_at <= now:
            raise ProtocolError("ENROL_CODE_EXPIRED", expired_at=iso(row.expires_at))
        return row

    @staticmethod
    def _new_terminal_id(conn, station: str) -> str:
        Tm = models.terminals
        ids = conn.execute(select(Tm.c.id).where(Tm.c.station == station)).scalars().all()
        numbers = [int(i.rsplit("-T", 1)[1]) for i in ids if i.rsplit("-T", 1)[-1].isdigit()]
        return f"{station}-T{(max(numbers, default=0) + 1):02d}"

    @staticmethod
    def _mark_used(conn, code_hash: str, terminal_id: str, now: datetime) -> None:
        C = models.enrolment_codes
        used = conn.execute(
            C.update().where(C.c.code_hash == code_hash, C.c.used_at.is_(None))
            .values(used_at=now, terminal_id=terminal_id)
        ).rowcount
        if used != 1:
            raise ProtocolError("ENROL_CODE_USED")

    def register_key(self, terminal_id: str, public_key: str) -> dict:
        public_key = checked_public_key(public_key)
        with self.ctx.tx() as conn:
            return add_key(conn, terminal_id, public_key, self.ctx.now())

    def list_keys(self) -> list[dict]:
        K = models.ticket_keys
        with self.ctx.reader() as conn:
            return [_key_data(r.key_id, r.terminal_id, r.public_key, r.created_at, r.revoked_at)
                    for r in conn.execute(select(K).order_by(K.c.key_id))]

    def revoke(self, terminal_id: str, *, drain: timedelta | None = None) -> dict:
        """Revokes a terminal at once, or, with ``drain``, lets it upload its last events first: it
        is ``draining`` until its first request that is not an upload (a terminal sends its whole
        outbox before anything else) or until ``drain`` has passed, whichever comes first."""
        now = self.ctx.now()
        Tm, K = models.terminals, models.ticket_keys
        with self.ctx.tx() as conn:
            row = conn.execute(select(Tm).where(Tm.c.id == terminal_id)).first()
            if row is None:
                raise ProtocolError("UNKNOWN_TERMINAL", status=404, terminal_id=terminal_id)
            if row.status == "revoked":
                return {"terminal_id": terminal_id, "status": "revoked", "revoked_at": iso(row.revoked_at)}
            # Tickets it signed before now stay valid at the gate; nothing signed later is, drain or not.
            for key in conn.execute(select(K).where(K.c.terminal_id == terminal_id, K.c.revoked_at.is_(None))):
                conn.execute(K.update().where(K.c.key_id == key.key_id).values(revoked_at=now))
                feed.publish(conn, "ticket_key", key.key_id,
                             _key_data(key.key_id, terminal_id, key.public_key, key.created_at, now), at=now)
            if drain is not None and drain > timedelta(0):
                # While draining, revoked_at is when the drain ends at the latest. Its leases stay
                # with it, so the seats it sold from them offline land without a conflict.
                until = now + drain
                conn.execute(Tm.update().where(Tm.c.id == terminal_id).values(status="draining", revoked_at=until))
                return {"terminal_id": terminal_id, "status": "draining", "drain_until": iso(until),
                        "high_water": row.high_water}
            finish_revocation(conn, terminal_id, now)
        return {"terminal_id": terminal_id, "status": "revoked", "revoked_at": iso(now)}

    def finish_drains(self) -> int:
        """Revokes the draining terminals whose drain has run out (the sweeper's round)."""
        Tm = models.terminals
        now = self.ctx.now()
        with self.ctx.tx() as conn:
            ids = conn.execute(select(Tm.c.id).where(Tm.c.status == "draining", Tm.c.revoked_at <= now)).scalars().all()
            for terminal_id in ids:
                finish_revocation(conn, terminal_id, now)
        return len(ids)

    def list_terminals(self) -> list[dict]:
        Tm = models.terminals
        with self.ctx.reader() as conn:
            return [
                {"terminal_id": r.id, "station": r.station, "label": r.label, "status": r.status,
                 "enrolled_at": iso(r.enrolled_at), "revoked_at": iso(r.revoked_at),
                 "high_water": r.high_water, "last_seen_at": iso(r.last_seen_at)}
                for r in conn.execute(select(Tm).order_by(Tm.c.id))
            ]

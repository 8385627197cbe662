"""The provincial server's behaviour, independent of HTTP: one method per protocol operation,
each one database transaction. ``sync.server.app`` puts HTTP around it; the CLI calls it
directly for admin work on a database file.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import hashlib
import json
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from sync import protocol
from sync.protocol import ProtocolError
from sync.server import db as dbmod
from sync.server import feed, jsonbody, models, province

log = logging.getLogger("kezhan.server")

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud over the phone
OP_TIME_FIELD = {
    "shift.opened": "opened_at",
    "ticket.sold": "sold_at",
    "ticket.refunded": "refunded_at",
    "ticket.changed": "changed_at",
    "ticket.voided": "voided_at",
    "ticket.reprinted": "reprinted_at",
    "ticket.picked_up": "picked_up_at",
    "stock.spoiled": "at",
    "shift.closed": "closed_at",
}


_UPLOAD_FIELDS = (*protocol.EVENT_FIELDS, "hash")
_UPLOAD_FIELD_SET = frozenset(_UPLOAD_FIELDS)
_TICKET_COLUMNS = ("ticket_id", "order_id", "channel", "terminal_id", "departure_id", "seat_no", "active_seat",
                   "status", "ticket_type", "fare", "price", "insurance", "stop", "passenger_name", "doc_type",
                   "doc_number", "doc_hash", "carried_by", "stock_no", "clerk", "shift_id", "sold_at", "sold_seq")
_EVENT_COLUMNS = ("terminal_id", "seq", "event_id", "type", "created_at", "hash", "payload", "day", "received_at")
_EVENT_TYPES = frozenset(protocol.EVENT_TYPES)


_gc_lock = threading.Lock()
_gc_depth = 0
_gc_restore = False


@contextlib.contextmanager
def bulk_allocation():
    """The cyclic garbage collector paused while an upload batch is decoded and applied. A batch
    allocates some hundred thousand dicts and lists that all live until it ends and form no
    cycles (reference counting frees them); each collection they trigger would only walk them
    again. Nested and concurrent uses share one pause; the collector runs again when the last ends."""
    global _gc_depth, _gc_restore
    with _gc_lock:
        if _gc_depth == 0:
            _gc_restore = gc.isenabled()
            gc.disable()
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_restore:
                gc.enable()


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_instant(text: str) -> datetime:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def mask_document(number: str | None) -> str | None:
    if not number:
        return number
    if len(number) <= 10:
        return number[:2] + "*" * max(0, len(number) - 4) + number[-2:]
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


@dataclass
class Settings:
    zone: str = "Asia/Shanghai"
    lease_ttl: timedelta = timedelta(minutes=30)
    lease_block: int = 5  # seats a top-up aims at when the terminal names no number
    lease_max: int = 20  # most unsold seats one terminal may hold on one departure
    lease_cutoff: timedelta = timedelta(minutes=30)  # leases end this long before departure
    seat_hold: timedelta = timedelta(minutes=2)  # a specific-seat grant after the cut-off
    enrol_code_ttl: timedelta = timedelta(hours=24)
    max_batch: int = 1000
    # A batch a terminal sent behind another still unanswered ("behind": true) waits this long for
    # the one ahead of it to be applied before it is answered SEQ_GAP.
    batch_turn_wait: float = 10.0
    feed_page_max: int = 5000
    tombstone_retention: timedelta = timedelta(days=7)
    max_body_bytes: int = 8 * 1024 * 1024


class ProvinceServer:
    def __init__(self, db_url: str, *, settings: Settings | None = None, clock: Callable[[], datetime] = utcnow):
        self.settings = settings or Settings()
        self.zone = ZoneInfo(self.settings.zone)
        self.clock = clock
        self.engine = dbmod.make_engine(db_url)
        self.fresh = dbmod.init_schema(self.engine)
        self._writer = dbmod.writer_lock(self.engine)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self._last_nonce_purge = datetime.min.replace(tzinfo=UTC)
        self._doc_key: str | None = None
        self.doc_hash_key_b64()  # now, not later inside another transaction

    # ------------------------------------------------------------------ plumbing

    def doc_hash_key_b64(self) -> str:
        """The province's key for document hashes (``app.domain.identity.document_hash``): the
        same at every terminal and in the web channel, so a ticket bought online is found by
        tapping the ID card at any window or gate. Made once per database."""
        if self._doc_key is None:
            with self.tx() as conn:
                key = dbmod.get_meta(conn, "doc_hash_key")
                if key is None:
                    key = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
                    dbmod.set_meta(conn, "doc_hash_key", key)
            self._doc_key = key
        return self._doc_key

    def _doc_hash(self, doc_type: str | None, number: str | None) -> str | None:
        if not number:
            return None
        from app.domain.identity import document_hash

        try:
            return document_hash(base64.b64decode(self.doc_hash_key_b64()), doc_type or "resident_id", number)
        except ValueError as exc:
            raise ProtocolError("INVALID_REQUEST", f"document not valid: {exc}") from None

    def now(self) -> datetime:
        return self.clock()

    @contextlib.contextmanager
    def tx(self):
        with self._writer, self.engine.begin() as conn:
            if self.is_postgres:
                # Feed ids must become visible in id order, or a reader's cursor could pass an
                # id whose transaction had not committed yet; one writer at a time ensures it.
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7242001)")
            yield conn

    def reader(self):
        """A connection for reading only (on SQLite: no write lock, a consistent snapshot)."""
        return self.engine.connect().execution_options(**{dbmod.READ_ONLY: True})

    def close(self) -> None:
        self.engine.dispose()

    def local_day(self, instant: datetime) -> str:
        return instant.astimezone(self.zone).date().isoformat()

    # ------------------------------------------------------------------ province

    def import_province(self, doc: dict, *, replace: bool = True) -> dict:
        with self.tx() as conn:
            return province.import_document(conn, doc, zone=self.zone, now=self.now(), replace=replace)

    def set_departure_status(self, departure_id: str, status: str) -> dict:
        if status not in ("normal", "cancelled", "delayed", "boarding", "departed"):
            raise ProtocolError("INVALID_REQUEST", f"unknown departure status {status!r}")
        with self.tx() as conn:
            data = province.set_departure_status(conn, departure_id, status, now=self.now())
            if data is None:
                raise ProtocolError("UNKNOWN_DEPARTURE", departure_id=departure_id)
            if status == "cancelled":
                self._take_back(conn, and_(models.lease_seats.c.departure_id == departure_id))
            return data

    def has_master_data(self) -> bool:
        with self.reader() as conn:
            return conn.execute(select(func.count()).select_from(models.master)).scalar_one() > 0

    # ------------------------------------------------------------------ enrolment

    def issue_code(self, station: str, *, label: str = "", ttl: timedelta | None = None) -> dict:
        now = self.now()
        code = "-".join(
            "".join(secrets.choice(CODE_ALPHABET) for _ in range(4)) for _ in range(3)
        )
        expires = now + (ttl or self.settings.enrol_code_ttl)
        with self.tx() as conn:
            if province.get_master(conn, "station", station) is None:
                raise ProtocolError("UNKNOWN_STATION", f"no station {station}", station=station)
            conn.execute(
                models.enrolment_codes.insert().values(
                    code_hash=protocol.sha256_hex(normalise_code(code).encode()),
                    station=station, label=label, created_at=now, expires_at=expires,
                )
            )
        return {"code": code, "station": station, "expires_at": iso(expires)}

    def enrol(self, code: str, public_key: str, *, label: str = "") -> dict:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            raw = protocol.decode_public_key(public_key)
            Ed25519PublicKey.from_public_bytes(raw)
        except Exception as exc:
            raise ProtocolError("BAD_PUBLIC_KEY", f"ticket-code public key not valid: {exc}") from exc
        now = self.now()
        C = models.enrolment_codes
        code_hash = protocol.sha256_hex(normalise_code(code).encode())
        with self.tx() as conn:
            row = conn.execute(select(C).where(C.c.code_hash == code_hash)).first()
            if row is None:
                raise ProtocolError("ENROL_CODE_INVALID")
            if row.used_at is not None:
                raise ProtocolError("ENROL_CODE_USED", used_at=iso(row.used_at))
            if row.expires_at <= now:
                raise ProtocolError("ENROL_CODE_EXPIRED", expired_at=iso(row.expires_at))
            Tm = models.terminals
            ids = conn.execute(select(Tm.c.id).where(Tm.c.station == row.station)).scalars().all()
            numbers = [int(i.rsplit("-T", 1)[1]) for i in ids if i.rsplit("-T", 1)[-1].isdigit()]
            terminal_id = f"{row.station}-T{(max(numbers, default=0) + 1):02d}"
            used = conn.execute(
                C.update().where(C.c.code_hash == code_hash, C.c.used_at.is_(None))
                .values(used_at=now, terminal_id=terminal_id)
            ).rowcount
            if used != 1:
                raise ProtocolError("ENROL_CODE_USED")
            secret = protocol.new_secret()
            conn.execute(
                Tm.insert().values(
                    id=terminal_id, station=row.station, label=label or row.label, secret=secret,
                    status="active", enrolled_at=now, high_water=0,
                )
            )
            key = self._add_key(conn, terminal_id, protocol.encode_public_key(raw), now)
            station = province.get_master(conn, "station", row.station)
        return {
            "terminal_id": terminal_id,
            "secret": secret,
            "station": station,
            "key_id": key["key_id"],
            "server_time": iso(now),
            "protocol": protocol.PROTOCOL_VERSION,
            "doc_hash_key": self.doc_hash_key_b64(),
        }

    def _add_key(self, conn, terminal_id: str, public_key: str, now: datetime) -> dict:
        K = models.ticket_keys
        n = conn.execute(select(func.count()).select_from(K).where(K.c.terminal_id == terminal_id)).scalar_one()
        # The first key is named by the terminal id (what a terminal signs with unless told
        # otherwise); later ones get a suffix. Never a ".", which separates a ticket code's parts.
        key_id = terminal_id if n == 0 else f"{terminal_id}-K{n + 1}"
        conn.execute(K.insert().values(key_id=key_id, terminal_id=terminal_id, public_key=public_key, created_at=now))
        data = {"key_id": key_id, "terminal_id": terminal_id, "public_key": public_key,
                "created_at": iso(now), "revoked_at": None}
        feed.publish(conn, "ticket_key", key_id, data, at=now)
        return data

    def register_key(self, terminal_id: str, public_key: str) -> dict:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            raw = protocol.decode_public_key(public_key)
            Ed25519PublicKey.from_public_bytes(raw)
        except Exception as exc:
            raise ProtocolError("BAD_PUBLIC_KEY", f"ticket-code public key not valid: {exc}") from exc
        with self.tx() as conn:
            return self._add_key(conn, terminal_id, protocol.encode_public_key(raw), self.now())

    def list_keys(self) -> list[dict]:
        K = models.ticket_keys
        with self.reader() as conn:
            return [
                {"key_id": r.key_id, "terminal_id": r.terminal_id, "public_key": r.public_key,
                 "created_at": iso(r.created_at), "revoked_at": iso(r.revoked_at)}
                for r in conn.execute(select(K).order_by(K.c.key_id))
            ]

    def revoke(self, terminal_id: str) -> dict:
        now = self.now()
        Tm, K = models.terminals, models.ticket_keys
        with self.tx() as conn:
            row = conn.execute(select(Tm).where(Tm.c.id == terminal_id)).first()
            if row is None:
                raise ProtocolError("UNKNOWN_TERMINAL", status=404, terminal_id=terminal_id)
            if row.status != "revoked":
                conn.execute(Tm.update().where(Tm.c.id == terminal_id).values(status="revoked", revoked_at=now))
                # Tickets it signed before now stay valid at the gate; nothing signed later is.
                for key in conn.execute(select(K).where(K.c.terminal_id == terminal_id, K.c.revoked_at.is_(None))):
                    conn.execute(K.update().where(K.c.key_id == key.key_id).values(revoked_at=now))
                    feed.publish(conn, "ticket_key", key.key_id,
                                 {"key_id": key.key_id, "terminal_id": terminal_id, "public_key": key.public_key,
                                  "created_at": iso(key.created_at), "revoked_at": iso(now)}, at=now)
                self._take_back(conn, models.lease_seats.c.terminal_id == terminal_id)
        return {"terminal_id": terminal_id, "status": "revoked", "revoked_at": iso(row.revoked_at or now)}

    def list_terminals(self) -> list[dict]:
        Tm = models.terminals
        with self.reader() as conn:
            return [
                {"terminal_id": r.id, "station": r.station, "label": r.label, "status": r.status,
                 "enrolled_at": iso(r.enrolled_at), "revoked_at": iso(r.revoked_at),
                 "high_water": r.high_water, "last_seen_at": iso(r.last_seen_at)}
                for r in conn.execute(select(Tm).order_by(Tm.c.id))
            ]

    # ------------------------------------------------------------------ request authentication

    def authenticate(self, *, terminal_id: str | None, method: str, path_qs: str, body: bytes,
                     timestamp: str | None, nonce: str | None, sig: str | None, record_nonce: bool = True) -> dict:
        """The terminal a signed request comes from. ``record_nonce=False`` (uploads) only checks the
        nonce is new and leaves recording it to the caller's own transaction: ``upload(nonce=...)``
        writes it with the batch, so checking a batch never waits for the batch ahead of it to commit."""
        if not (terminal_id and timestamp and nonce and sig):
            raise ProtocolError("AUTH_MISSING")
        if not protocol.NONCE_PATTERN.match(nonce):
            raise ProtocolError("AUTH_MISSING", "nonce must be 16-64 characters of [A-Za-z0-9_-]")
        Tm = models.terminals
        with self.reader() as conn:
            row = conn.execute(select(Tm.c.id, Tm.c.station, Tm.c.secret, Tm.c.status).where(Tm.c.id == terminal_id)).first()
        if row is None:
            raise ProtocolError("UNKNOWN_TERMINAL")
        if row.status == "revoked":
            raise ProtocolError("TERMINAL_REVOKED")
        if not protocol.verify_signature(secret=row.secret, terminal_id=terminal_id, method=method, path_qs=path_qs,
                                         body=body, timestamp=timestamp, nonce=nonce, given=sig):
            raise ProtocolError("BAD_SIGNATURE")
        now = self.now()
        if not protocol.timestamp_ok(timestamp, now.timestamp()):
            raise ProtocolError("STALE_TIMESTAMP", server_time=round(now.timestamp(), 3),
                                max_skew_seconds=protocol.MAX_CLOCK_SKEW_SECONDS)
        if record_nonce:
            self._record_nonce_alone(terminal_id, nonce, now)
        else:
            N = models.nonces
            with self.reader() as conn:
                seen = conn.execute(select(N.c.nonce).where(N.c.terminal_id == terminal_id, N.c.nonce == nonce)).first()
            if seen is not None:
                raise ProtocolError("REPLAYED_NONCE")
        return {"terminal_id": row.id, "station": row.station, "nonce": nonce}

    def _record_nonce(self, conn, terminal_id: str, nonce: str, now: datetime) -> None:
        """Inside the caller's transaction; a nonce seen before raises REPLAYED_NONCE (and the
        transaction must then be given up)."""
        N = models.nonces
        try:
            conn.execute(N.insert().values(terminal_id=terminal_id, nonce=nonce, seen_at=now))
        except IntegrityError:
            raise ProtocolError("REPLAYED_NONCE") from None
        conn.execute(models.terminals.update().where(models.terminals.c.id == terminal_id).values(last_seen_at=now))
        if now - self._last_nonce_purge > timedelta(seconds=60):
            self._last_nonce_purge = now
            conn.execute(delete(N).where(N.c.seen_at < now - timedelta(seconds=protocol.NONCE_RETENTION_SECONDS)))

    def _record_nonce_alone(self, terminal_id: str, nonce: str, now: datetime) -> None:
        with self.tx() as conn:
            self._record_nonce(conn, terminal_id, nonce, now)

    # ------------------------------------------------------------------ seats and leases

    def _departure(self, conn, departure_id: str):
        return conn.execute(select(models.departures).where(models.departures.c.id == departure_id)).first()

    def _seat_map(self, conn, departure_id: str, now: datetime) -> tuple[dict, dict]:
        """(sold seat -> ticket_id, live leased seat -> (terminal_id, expires_at))."""
        Tk, L = models.tickets, models.lease_seats
        sold = {
            r.seat_no: r.ticket_id
            for r in conn.execute(
                select(Tk.c.seat_no, Tk.c.ticket_id)
                .where(Tk.c.departure_id == departure_id, Tk.c.active_seat.is_not(None))
            )
        }
        leased = {
            r.seat_no: (r.terminal_id, r.expires_at)
            for r in conn.execute(
                select(L.c.seat_no, L.c.terminal_id, L.c.expires_at)
                .where(L.c.departure_id == departure_id, L.c.expires_at > now)
            )
        }
        return sold, leased

    def _lease_view(self, conn, departure_id: str, terminal_id: str, now: datetime) -> dict | None:
        L, LS = models.leases, models.lease_seats
        lease = conn.execute(select(L).where(L.c.departure_id == departure_id, L.c.terminal_id == terminal_id)).first()
        if lease is None:
            return None
        rows = conn.execute(
            select(LS.c.seat_no, LS.c.expires_at)
            .where(LS.c.lease_id == lease.lease_id, LS.c.expires_at > now).order_by(LS.c.seat_no)
        ).all()
        return {
            "lease_id": lease.lease_id,
            "departure_id": departure_id,
            "seats": [r.seat_no for r in rows],
            "expires_at": iso(max((r.expires_at for r in rows), default=None)),
            "seat_expiry": {str(r.seat_no): iso(r.expires_at) for r in rows},
        }

    def _publish_lease(self, conn, departure_id: str, terminal_id: str, now: datetime) -> dict | None:
        view = self._lease_view(conn, departure_id, terminal_id, now)
        if view is None or not view["seats"]:
            feed.tombstone(conn, "lease", departure_id, at=now, scope=terminal_id)
        else:
            feed.publish(conn, "lease", departure_id, view, at=now, scope=terminal_id)
        return view

    def _take_back(self, conn, condition) -> int:
        """Delete the lease seats matching ``condition``, tell each holder (its lease row) and
        every other terminal (the seat is free again)."""
        LS = models.lease_seats
        now = self.now()
        seats = conn.execute(select(LS.c.departure_id, LS.c.seat_no, LS.c.terminal_id).where(condition)).all()
        if not seats:
            return 0
        n = conn.execute(delete(LS).where(condition)).rowcount
        for departure_id, terminal_id in sorted({(r.departure_id, r.terminal_id) for r in seats}):
            self._publish_lease(conn, departure_id, terminal_id, now)
        self._publish_seats_freed(conn, [(r.departure_id, r.seat_no) for r in seats], now)
        return n

    def _publish_seats_freed(self, conn, seats: list[tuple[str, int]], now: datetime) -> None:
        """Seat tombstones for lease seats back in the pool -- except a seat an active ticket holds:
        the web channel may sell a seat whose lease had expired before the sweep removed it."""
        Tk = models.tickets
        deps = sorted({d for d, _ in seats})
        sold = set()
        for i in range(0, len(deps), 500):
            q = select(Tk.c.departure_id, Tk.c.seat_no).where(Tk.c.departure_id.in_(deps[i:i + 500]),
                                                              Tk.c.active_seat.is_not(None))
            sold.update((r.departure_id, r.seat_no) for r in conn.execute(q))
        feed.publish_many(conn, [{"kind": "seat", "key": f"{d}/{s}", "data": None, "deleted": True}
                                 for d, s in sorted(set(seats)) if (d, s) not in sold], at=now)

    @staticmethod
    def _leased_seat_rows(departure_id: str, seats, terminal_id: str) -> list[dict]:
        """Feed rows showing seats as leased to ``terminal_id``: every other terminal stores them as
        held elsewhere and does not offer them, instead of selling them online into a SEAT_LEASED
        conflict. Published when a seat joins a lease, not when an expiry is extended (nobody else
        needs the instant), so a terminal topping up every few minutes adds nothing to the feed."""
        return [{"kind": "seat", "key": f"{departure_id}/{s}",
                 "data": {"departure_id": departure_id, "seat_no": s, "state": "leased", "channel": "terminal",
                          "terminal_id": terminal_id, "ticket_id": None}} for s in seats]

    def sweep(self) -> dict:
        """Return expired lease seats to the pool (the cut-off is an expiry, so this is the
        take-back too) and tell their holders through the feed."""
        with self.tx() as conn:
            n = self._take_back(conn, models.lease_seats.c.expires_at <= self.now())
        return {"seats_returned": n}

    def _ensure_lease(self, conn, departure_id: str, terminal_id: str, now: datetime) -> str:
        L = models.leases
        row = conn.execute(select(L.c.lease_id).where(L.c.departure_id == departure_id, L.c.terminal_id == terminal_id)).first()
        if row:
            conn.execute(L.update().where(L.c.lease_id == row.lease_id).values(updated_at=now))
            return row.lease_id
        lease_id = "L" + secrets.token_hex(8)
        conn.execute(L.insert().values(lease_id=lease_id, departure_id=departure_id, terminal_id=terminal_id,
                                       granted_at=now, updated_at=now))
        return lease_id

    def _check_departure_open(self, dep, departure_id: str, now: datetime) -> None:
        if dep is None:
            raise ProtocolError("UNKNOWN_DEPARTURE", departure_id=departure_id)
        if dep.status == "cancelled":
            raise ProtocolError("DEPARTURE_CANCELLED", departure_id=departure_id)
        if dep.status == "departed" or now >= dep.departs_at - timedelta(minutes=dep.stop_sale_minutes):
            raise ProtocolError("SALE_CLOSED", departure_id=departure_id)

    def top_up(self, terminal_id: str, wants: list[dict]) -> dict:
        """Grant or top up leases: after it the terminal holds up to ``seats`` unsold seats on each
        departure (never fewer than it held), all expiring at the same, extended instant."""
        now = self.now()
        out, errors = [], []
        LS = models.lease_seats
        with self.tx() as conn:
            for want in wants:
                departure_id = want["departure_id"]
                wanted = want.get("seats")
                # 0 is a real answer ("keep what I hold, extend it"), not "the default".
                target = min(self.settings.lease_block if wanted is None else int(wanted), self.settings.lease_max)
                try:
                    dep = self._departure(conn, departure_id)
                    self._check_departure_open(dep, departure_id, now)
                    cutoff = dep.departs_at - self.settings.lease_cutoff
                    if now >= cutoff:
                        raise ProtocolError("LEASE_CUTOFF", departure_id=departure_id, cutoff_at=iso(cutoff))
                except ProtocolError as exc:
                    errors.append({"departure_id": departure_id, **exc.body()})
                    continue
                self._take_back(conn, and_(LS.c.departure_id == departure_id, LS.c.expires_at <= now))
                expires = min(now + self.settings.lease_ttl, cutoff)
                sold, leased = self._seat_map(conn, departure_id, now)
                mine = sorted(s for s, (t, _) in leased.items() if t == terminal_id)
                granted = []
                if len(mine) < target:
                    free = (s for s in range(1, dep.seats + 1) if s not in sold and s not in leased)
                    for seat in free:
                        granted.append(seat)
                        if len(mine) + len(granted) >= target:
                            break
                lease_id = self._ensure_lease(conn, departure_id, terminal_id, now)
                if granted:
                    conn.execute(LS.insert(), [
                        {"departure_id": departure_id, "seat_no": s, "lease_id": lease_id,
                         "terminal_id": terminal_id, "expires_at": expires} for s in granted
                    ])
                conn.execute(
                    update(LS).where(LS.c.lease_id == lease_id, LS.c.expires_at > now, LS.c.expires_at < expires)
                    .values(expires_at=expires)
                )
                view = self._publish_lease(conn, departure_id, terminal_id, now)
                feed.publish_many(conn, self._leased_seat_rows(departure_id, granted, terminal_id), at=now)
                out.append({**view, "granted": granted, "sold_out": len(view["seats"]) < target})
        return {"leases": out, "errors": errors, "server_time": iso(now)}

    def leases_of(self, terminal_id: str) -> list[dict]:
        now = self.now()
        L = models.leases
        with self.reader() as conn:
            deps = conn.execute(select(L.c.departure_id).where(L.c.terminal_id == terminal_id)).scalars().all()
            views = [self._lease_view(conn, d, terminal_id, now) for d in deps]
        return [v for v in views if v and v["seats"]]

    def release(self, terminal_id: str, departure_id: str, seats: list[int] | None) -> dict:
        LS = models.lease_seats
        cond = and_(LS.c.terminal_id == terminal_id, LS.c.departure_id == departure_id)
        if seats is not None:
            cond = and_(cond, LS.c.seat_no.in_(seats))
        with self.tx() as conn:
            n = self._take_back(conn, cond)
            view = self._lease_view(conn, departure_id, terminal_id, self.now())
        return {"released": n, "lease": view}

    def seat_request(self, terminal_id: str, departure_id: str, seat_no: int | None) -> dict:
        """Grant one seat now, before or after the cut-off, held until ``expires_at``."""
        now = self.now()
        LS = models.lease_seats
        with self.tx() as conn:
            dep = self._departure(conn, departure_id)
            self._check_departure_open(dep, departure_id, now)
            sold, leased = self._seat_map(conn, departure_id, now)
            if seat_no is None:
                seat_no = next((s for s in range(1, dep.seats + 1) if s not in sold and s not in leased), None)
                if seat_no is None:
                    raise ProtocolError("NO_SEATS", departure_id=departure_id)
            if not 1 <= seat_no <= dep.seats:
                raise ProtocolError("SEAT_INVALID", departure_id=departure_id, seat_no=seat_no)
            if seat_no in sold:
                raise ProtocolError("SEAT_TAKEN", departure_id=departure_id, seat_no=seat_no)
            holder = leased.get(seat_no)
            if holder and holder[0] != terminal_id:
                raise ProtocolError("SEAT_LEASED", departure_id=departure_id, seat_no=seat_no)
            hold = min(now + self.settings.seat_hold, dep.departs_at)
            expires = max(hold, holder[1]) if holder else hold
            lease_id = self._ensure_lease(conn, departure_id, terminal_id, now)
            prior = conn.execute(select(LS.c.terminal_id).where(LS.c.departure_id == departure_id,
                                                                LS.c.seat_no == seat_no)).scalar()
            conn.execute(delete(LS).where(LS.c.departure_id == departure_id, LS.c.seat_no == seat_no))
            conn.execute(LS.insert().values(departure_id=departure_id, seat_no=seat_no, lease_id=lease_id,
                                            terminal_id=terminal_id, expires_at=expires))
            self._publish_lease(conn, departure_id, terminal_id, now)
            if prior is not None and prior != terminal_id:
                # An expired seat of another terminal, not swept yet: its lease row must drop it too.
                self._publish_lease(conn, departure_id, prior, now)
            if holder is None:
                feed.publish_many(conn, self._leased_seat_rows(departure_id, [seat_no], terminal_id), at=now)
        return {"lease_id": lease_id, "departure_id": departure_id, "seat_no": seat_no, "expires_at": iso(expires)}

    def seat_states(self, departure_id: str) -> dict:
        now = self.now()
        with self.reader() as conn:
            dep = self._departure(conn, departure_id)
            if dep is None:
                raise ProtocolError("UNKNOWN_DEPARTURE", departure_id=departure_id)
            sold, leased = self._seat_map(conn, departure_id, now)
        free = [s for s in range(1, dep.seats + 1) if s not in sold and s not in leased]
        return {"departure_id": departure_id, "seats": dep.seats, "sold": sorted(sold),
                "leased": sorted(leased), "free": free}

    # ------------------------------------------------------------------ tickets (shared)

    def _price(self, conn, dep, stop: str, ticket_type: str) -> tuple[int, int]:
        fare = province.get_master(conn, "fare", province.fare_key(dep.route, dep.origin, stop, dep.vehicle_class))
        if fare is None:
            raise ProtocolError("UNKNOWN_FARE", departure_id=dep.id, stop=stop)
        row = province.get_master(conn, "ticket_type", ticket_type)
        if row is None:
            raise ProtocolError("INVALID_REQUEST", f"unknown ticket type {ticket_type!r}")
        from app.domain.ticket_types import TicketTypeTable

        full = int(fare["full_fare"])
        try:
            # The domain's own rule, so a web ticket costs what the same ticket costs at a window.
            price = TicketTypeTable.from_rows([row]).price(full, ticket_type)
        except Exception as exc:  # a ticket-type row the domain refuses: the province data is at fault
            raise ProtocolError("INVALID_REQUEST", f"ticket type {ticket_type!r} unusable: {exc}") from None
        return full, price

    def _ticket_row(self, t: dict, *, channel: str, terminal_id: str | None, order_id: str, sold_at: str,
                    clerk=None, shift_id=None, seq=None, status="active") -> dict:
        return dict(zip(_TICKET_COLUMNS, self._ticket_values(
            t, channel, terminal_id, order_id, sold_at, clerk, shift_id, seq, status), strict=True))

    @staticmethod
    def _ticket_values(t: dict, channel: str, terminal_id: str | None, order_id: str, sold_at: str,
                       clerk, shift_id, seq, status) -> tuple:
        """A ticket's row in ``_TICKET_COLUMNS`` order."""
        g = t.get
        p = g("passenger") or {}
        seat = g("seat_no")
        departure_id = t["departure_id"]
        return (
            t["ticket_id"], order_id, channel, terminal_id, departure_id, seat,
            f"{departure_id}#{seat}" if (seat is not None and status == "active") else None,
            status, g("ticket_type") or "", int(g("fare") or 0), int(g("price") or 0), int(g("insurance") or 0),
            g("stop"), p.get("name"), p.get("doc_type"), p.get("doc_number"), p.get("doc_hash"), g("carried_by"),
            g("stock_no"), clerk, shift_id, sold_at, seq,
        )

    @staticmethod
    def ticket_dict(r, *, full: bool = False) -> dict:
        d = {
            "ticket_id": r.ticket_id, "order_id": r.order_id, "channel": r.channel, "terminal_id": r.terminal_id,
            "departure_id": r.departure_id, "seat_no": r.seat_no, "status": r.status,
            "ticket_type": r.ticket_type, "fare": r.fare, "price": r.price, "insurance": r.insurance,
            "stop": r.stop,
            "passenger": {"name": r.passenger_name, "doc_type": r.doc_type,
                          "doc_masked": mask_document(r.doc_number), "doc_hash": r.doc_hash},
            "carried_by": r.carried_by, "stock_no": r.stock_no, "clerk": r.clerk, "shift_id": r.shift_id,
            "sold_at": r.sold_at, "sold_seq": r.sold_seq, "closed_at": r.closed_at,
            "picked_up_at": r.picked_up_at, "picked_up_by": r.picked_up_by,
        }
        if full:
            d["passenger"]["doc_number"] = r.doc_number
            d["pickup_code"] = r.pickup_code
        return d

    def _web_ticket_data(self, r) -> dict:
        d = self.ticket_dict(r)
        d["pickup_code"] = r.pickup_code
        return d

    def _publish_seat(self, conn, departure_id: str, seat_no: int | None, now: datetime, *,
                      ticket=None, channel=None, terminal_id=None) -> None:
        if seat_no is None:
            return
        key = f"{departure_id}/{seat_no}"
        if ticket is None:
            feed.tombstone(conn, "seat", key, at=now)
        else:
            feed.publish(conn, "seat", key, {"departure_id": departure_id, "seat_no": seat_no, "state": "sold",
                                             "channel": channel, "terminal_id": terminal_id, "ticket_id": ticket},
                         at=now)

    # ------------------------------------------------------------------ web channel

    def web_order(self, departure_id: str, stop: str, passengers: list[dict], payment: dict | None = None) -> dict:
        now = self.now()
        Tk = models.tickets
        if not passengers:
            raise ProtocolError("INVALID_REQUEST", "an order needs at least one passenger")
        with self.tx() as conn:
            dep = self._departure(conn, departure_id)
            self._check_departure_open(dep, departure_id, now)
            sold, leased = self._seat_map(conn, departure_id, now)
            order_id = "W" + now.strftime("%Y%m%d") + secrets.token_hex(5).upper()
            rows, taken = [], set()
            for i, p in enumerate(passengers):
                tt = province.get_master(conn, "ticket_type", p.get("ticket_type") or "full")
                needs_seat = True if tt is None else bool(tt.get("needs_seat", True))
                seat = p.get("seat_no")
                if needs_seat:
                    if seat is None:
                        seat = next((s for s in range(1, dep.seats + 1)
                                     if s not in sold and s not in leased and s not in taken), None)
                        if seat is None:
                            raise ProtocolError("NO_SEATS", departure_id=departure_id)
                    elif not 1 <= seat <= dep.seats:
                        raise ProtocolError("SEAT_INVALID", departure_id=departure_id, seat_no=seat)
                    elif seat in sold or seat in taken:
                        raise ProtocolError("SEAT_TAKEN", departure_id=departure_id, seat_no=seat)
                    elif seat in leased:
                        raise ProtocolError("SEAT_LEASED", departure_id=departure_id, seat_no=seat)
                    taken.add(seat)
                else:
                    seat = None
                fare, price = self._price(conn, dep, stop, p.get("ticket_type") or "full")
                ticket = {
                    "ticket_id": f"{order_id}-{i + 1}", "departure_id": departure_id, "seat_no": seat,
                    "ticket_type": p.get("ticket_type") or "full", "fare": fare, "price": price,
                    "insurance": int(p.get("insurance") or 0), "stop": stop,
                    "passenger": {"name": p.get("name"), "doc_type": p.get("doc_type"),
                                  "doc_number": p.get("doc_number"),
                                  "doc_hash": p.get("doc_hash") or self._doc_hash(p.get("doc_type"),
                                                                                 p.get("doc_number"))},
                }
                row = self._ticket_row(ticket, channel="web", terminal_id=None, order_id=order_id, sold_at=iso(now))
                row["pickup_code"] = self._pickup_code(conn)
                rows.append(row)
            conn.execute(Tk.insert(), rows)
            result = []
            for row in rows:
                r = conn.execute(select(Tk).where(Tk.c.ticket_id == row["ticket_id"])).first()
                self._publish_seat(conn, departure_id, r.seat_no, now, ticket=r.ticket_id, channel="web")
                feed.publish(conn, "web_ticket", r.ticket_id, self._web_ticket_data(r), at=now)
                result.append(self.ticket_dict(r, full=True))
        total = sum(t["price"] + t["insurance"] for t in result)
        return {"order_id": order_id, "tickets": result, "amount": total, "payment": payment or {}}

    def _pickup_code(self, conn) -> str:
        Tk = models.tickets
        while True:
            code = "".join(secrets.choice("0123456789") for _ in range(8))
            if conn.execute(select(Tk.c.ticket_id).where(Tk.c.pickup_code == code)).first() is None:
                return code

    def web_refund(self, ticket_id: str) -> dict:
        now = self.now()
        Tk = models.tickets
        with self.tx() as conn:
            r = conn.execute(select(Tk).where(Tk.c.ticket_id == ticket_id)).first()
            if r is None or r.channel != "web":
                raise ProtocolError("UNKNOWN_TICKET", ticket_id=ticket_id)
            if r.status != "active":
                raise ProtocolError("TICKET_NOT_ACTIVE", ticket_id=ticket_id, ticket_status=r.status)
            if r.picked_up_at:
                raise ProtocolError("ALREADY_PICKED_UP", ticket_id=ticket_id, picked_up_by=r.picked_up_by)
            conn.execute(Tk.update().where(Tk.c.ticket_id == ticket_id)
                         .values(status="refunded", active_seat=None, closed_at=iso(now)))
            self._publish_seat(conn, r.departure_id, r.seat_no, now)
            r = conn.execute(select(Tk).where(Tk.c.ticket_id == ticket_id)).first()
            feed.publish(conn, "web_ticket", ticket_id, self._web_ticket_data(r), at=now)
            return self.ticket_dict(r, full=True)

    def find_web_ticket(self, pickup_code: str) -> dict:
        Tk = models.tickets
        with self.reader() as conn:
            r = conn.execute(select(Tk).where(Tk.c.pickup_code == pickup_code)).first()
        if r is None:
            raise ProtocolError("UNKNOWN_TICKET", pickup_code=pickup_code)
        return self._web_ticket_data(r)

    # ------------------------------------------------------------------ upload

    def upload(self, terminal_id: str, events: list[dict], *, nonce: str | None = None, behind: bool = False) -> dict:
        """Applies a batch. ``nonce``: the request's, checked but not yet recorded by
        ``authenticate(record_nonce=False)``; it is recorded in the batch's own transaction, or on
        its own when the batch is refused. ``behind``: the terminal sent it behind a batch still
        unanswered, so a gap before it may be that batch, on its way or being applied: that raises
        ``BatchAhead`` (nothing applied, the nonce not recorded) for the caller to wait and retry,
        holding no thread or worker meanwhile (app.py)."""
        with bulk_allocation():
            recorded = [nonce is None]
            try:
                return self._upload(terminal_id, events, nonce, recorded, behind)
            except BatchAhead:
                recorded[0] = True  # not refused: the caller sends it again once the batch ahead is in
                raise
            except ProtocolError as exc:
                if exc.code == "REPLAYED_NONCE":
                    recorded[0] = True
                raise
            finally:
                if not recorded[0]:
                    self.record_nonce(terminal_id, nonce)  # refused, or failed: still not to be replayed

    def upload_body(self, terminal_id: str, raw: bytes, *, nonce: str | None = None) -> dict:
        """``upload`` of a request body as received: ``{"events": [...], "behind": true?}``."""
        # Decoded, applied and let go with the collector paused: the batch's tens of thousands of
        # objects are freed by reference counting before it runs again, so no collection walks them.
        with bulk_allocation():
            try:
                body = jsonbody.loads(raw)
                if not isinstance(body, dict) or not isinstance(body.get("events"), list):
                    raise ProtocolError("INVALID_REQUEST", 'the body must be {"events": [...]}',
                                        errors=[{"loc": ["body", "events"], "msg": "a list of events is required"}])
            except (ValueError, ProtocolError) as exc:
                if nonce is not None:  # refused before any batch: the request still may not be replayed
                    self.record_nonce(terminal_id, nonce)
                if isinstance(exc, ProtocolError):
                    raise
                raise ProtocolError("MALFORMED_JSON") from None
            try:
                return self.upload(terminal_id, body["events"], nonce=nonce, behind=body.get("behind") is True)
            finally:
                del body

    def _upload(self, terminal_id: str, events: list[dict], nonce=None, recorded=None, behind=False) -> dict:
        if not events:
            # A probe: the terminal asks how far the server has it (a file restored from before
            # its first event has nothing to resend). Nothing to apply; the nonce is recorded alone.
            return {"acked_through": self.high_water(terminal_id), "applied": 0, "duplicates": 0, "conflicts": [],
                    "server_time": iso(self.now())}
        if len(events) > self.settings.max_batch:
            raise ProtocolError("INVALID_REQUEST", f"at most {self.settings.max_batch} events per batch",
                                max_batch=self.settings.max_batch)
        event_types = _EVENT_TYPES
        hash_and_text = jsonbody.event_hash_and_payload_text
        for ev in events:
            if not isinstance(ev, dict):
                raise ProtocolError("INVALID_REQUEST", "an event must be an object")
            if not ev.keys() >= _UPLOAD_FIELD_SET:
                missing = [k for k in _UPLOAD_FIELDS if k not in ev]
                raise ProtocolError("INVALID_REQUEST", f"event lacks {', '.join(missing)}", seq=ev.get("seq"))
            seq = ev["seq"]
            # Strict types: "7" is not 7, and the hash covers the JSON exactly as sent.
            if type(seq) is not int or seq < 1:
                raise ProtocolError("INVALID_REQUEST", "seq must be a positive integer", seq=seq,
                                    errors=[{"loc": ["events", "seq"], "msg": "not a positive integer"}])
            for name in ("terminal_id", "event_id", "type", "created_at", "hash"):
                if not isinstance(ev[name], str):
                    raise ProtocolError("INVALID_REQUEST", f"{name} must be a string", seq=seq,
                                        errors=[{"loc": ["events", name], "msg": "not a string"}])
            if ev["terminal_id"] != terminal_id:
                raise ProtocolError("TERMINAL_MISMATCH", seq=seq, event_terminal=ev["terminal_id"])
            if ev["type"] not in event_types:
                raise ProtocolError("INVALID_REQUEST", f"unknown event type {ev['type']!r}", seq=seq)
            if not isinstance(ev["payload"], dict):
                raise ProtocolError("INVALID_REQUEST", "payload must be an object", seq=seq)
            try:
                computed, text = hash_and_text(ev)
            except (TypeError, ValueError) as exc:
                raise ProtocolError("INVALID_REQUEST", f"event not serialisable: {exc}", seq=seq) from exc
            if computed != ev["hash"]:
                raise ProtocolError("EVENT_HASH_MISMATCH", seq=seq, computed=computed)
            ev["_payload_text"] = text
        seqs = [ev["seq"] for ev in events]
        if seqs != list(range(seqs[0], seqs[0] + len(seqs))):
            raise ProtocolError("BATCH_NOT_CONTIGUOUS", first_seq=seqs[0])

        attempt = 0
        while True:
            try:
                return self._apply_batch(terminal_id, events, careful=attempt > 0, nonce=nonce, recorded=recorded,
                                         behind=behind)
            except IntegrityError as exc:
                attempt += 1
                # A ticket id the server already holds (the first attempt trusts the primary key to
                # find those), or another writer took a seat between our read and our insert
                # (possible on PostgreSQL): run the batch again, carefully, and it becomes a conflict.
                log.info("batch from %s hit a constraint (attempt %d): %s", terminal_id, attempt, exc.orig)
                if attempt == 3:
                    raise ProtocolError("BUSY", "batch could not be applied; retry") from exc
            except _SeqReuse as reuse:
                with self.tx() as conn:
                    conn.execute(models.alarms.insert().values(
                        terminal_id=terminal_id, kind="SEQ_REUSE", seq=reuse.seq,
                        detail=f"stored hash {reuse.stored}, uploaded {reuse.given}", created_at=self.now()))
                log.error("SEQ_REUSE from %s at seq %d", terminal_id, reuse.seq)
                raise ProtocolError("SEQ_REUSE", seq=reuse.seq, stored_hash=reuse.stored,
                                    uploaded_hash=reuse.given, expected_seq=reuse.expected) from None

    def high_water(self, terminal_id: str) -> int:
        """The highest seq applied for the terminal (a read: never waits for a writer)."""
        Tm = models.terminals
        with self.reader() as conn:
            return conn.execute(select(Tm.c.high_water).where(Tm.c.id == terminal_id)).scalar_one()

    def record_nonce(self, terminal_id: str, nonce: str) -> None:
        """For an upload refused or lost outside its batch's transaction (a garbled body, a refusal,
        its turn never come, a worker lost): the request still may not be replayed."""
        with contextlib.suppress(ProtocolError):
            self._record_nonce_alone(terminal_id, nonce, self.now())

    def _apply_batch(self, terminal_id: str, events: list[dict], *, careful: bool = False, nonce=None,
                     recorded=None, behind: bool = False) -> dict:
        now = self.now()
        E, Tm = models.events, models.terminals
        first, last = events[0]["seq"], events[-1]["seq"]
        # Rows built before the write lock, from the events alone: with upload workers another
        # batch is being written meanwhile, and only what needs the database waits for it.
        days: dict = {}
        event_rows = [(terminal_id, ev["seq"], ev["event_id"], ev["type"], ev["created_at"], ev["hash"],
                       ev["_payload_text"], self._event_day(ev, days), now) for ev in events]
        sales = _prepare_sales(events, terminal_id, now)
        with self.tx() as conn:
            hw = conn.execute(select(Tm.c.high_water).where(Tm.c.id == terminal_id)).scalar_one()
            if behind and first > hw + 1:
                raise BatchAhead(hw + 1, first)
            if nonce is not None:
                self._record_nonce(conn, terminal_id, nonce, now)
            duplicates = 0
            if first <= hw:
                stored = dict(conn.execute(
                    select(E.c.seq, E.c.hash).where(E.c.terminal_id == terminal_id, E.c.seq.between(first, min(last, hw)))
                ).all())
                for ev in events:
                    if ev["seq"] > hw:
                        break
                    if stored.get(ev["seq"]) != ev["hash"]:
                        raise _SeqReuse(ev["seq"], stored.get(ev["seq"]), ev["hash"], hw + 1)
                    duplicates += 1
            fresh = [ev for ev in events if ev["seq"] > hw]
            if fresh and fresh[0]["seq"] != hw + 1:
                raise ProtocolError("SEQ_GAP", expected_seq=hw + 1, got_seq=fresh[0]["seq"])
            ctx = _BatchContext(self, conn, terminal_id, now, sales)
            ctx.prefetch(fresh, known_ids=careful)
            for ev in fresh:
                try:
                    ctx.apply(ev)
                except (KeyError, TypeError, AttributeError, ValueError) as exc:
                    # A payload without the shape docs/architecture.md gives: refuse the batch
                    # (rolled back) and say which event, instead of a bare 500 retried forever.
                    raise ProtocolError("INVALID_REQUEST", f"event {ev['seq']} ({ev['type']}): payload not "
                                        f"as documented: {type(exc).__name__}: {exc}", seq=ev["seq"]) from None
            rows = event_rows[len(events) - len(fresh):]  # the fresh events are the batch's tail
            if rows:
                dbmod.BulkInsert.run_tuples(conn, E, _EVENT_COLUMNS, rows)
                hw = fresh[-1]["seq"]
                conn.execute(Tm.update().where(Tm.c.id == terminal_id).values(high_water=hw))
            ctx.finish()
            C = models.conflicts
            # Conflicts of these seqs exist only if this batch recorded some or it resends old events.
            found = conn.execute(
                select(C).where(C.c.terminal_id == terminal_id, C.c.seq.between(first, last)).order_by(C.c.id)
            ).all() if (duplicates or ctx.conflicts) else []
        if recorded is not None:
            recorded[0] = True  # committed with the batch
        return {
            "acked_through": hw,
            "applied": len(rows),
            "duplicates": duplicates,
            "conflicts": [self._conflict_dict(c) for c in found],
            "server_time": iso(now),
        }

    def _event_day(self, ev: dict, memo: dict | None = None) -> str:
        field_name = OP_TIME_FIELD.get(ev["type"])
        text = ev["payload"].get(field_name) if field_name else None
        if memo is not None and type(text) is str and len(text) > 17 and text[-1] == "Z" and text[16] == ":":
            # A UTC instant's local day is fixed within its minute (zone offsets change on whole
            # minutes), and a batch's operations fall in a few minutes: parse each minute once.
            day = memo.get(text[:16])
            if day is not None:
                return day
            try:
                day = memo[text[:16]] = self.local_day(parse_instant(text))
                return day
            except ValueError:
                pass
        for candidate in (text, ev["created_at"]):
            try:
                return self.local_day(parse_instant(candidate))
            except (TypeError, ValueError, AttributeError):
                continue
        return self.local_day(self.now())

    @staticmethod
    def _conflict_dict(c) -> dict:
        return {"id": c.id, "seq": c.seq, "kind": c.kind, "ticket_id": c.ticket_id, "departure_id": c.departure_id,
                "seat_no": c.seat_no, "detail": c.detail, "status": c.status, "created_at": iso(c.created_at),
                "resolved_at": iso(c.resolved_at), "resolution": c.resolution}

    def conflicts_of(self, terminal_id: str, status: str | None = None) -> list[dict]:
        C = models.conflicts
        q = select(C).where(C.c.terminal_id == terminal_id)
        if status:
            q = q.where(C.c.status == status)
        with self.reader() as conn:
            return [self._conflict_dict(c) for c in conn.execute(q.order_by(C.c.id))]

    def alarms(self) -> list[dict]:
        A = models.alarms
        with self.reader() as conn:
            return [{"id": a.id, "terminal_id": a.terminal_id, "kind": a.kind, "seq": a.seq, "detail": a.detail,
                     "created_at": iso(a.created_at)} for a in conn.execute(select(A).order_by(A.c.id))]

    # ------------------------------------------------------------------ feed

    def pull(self, terminal_id: str, cursor: str | None, limit: int | None) -> dict:
        limit = max(1, min(int(limit or self.settings.feed_page_max), self.settings.feed_page_max))
        with self.reader() as conn:
            out = feed.pull(conn, terminal_id, cursor, limit)
        out["server_time"] = iso(self.now())
        return out

    def pull_json(self, terminal_id: str, cursor: str | None, limit: int | None) -> bytes:
        """The same page as :meth:`pull`, as the response body itself."""
        limit = max(1, min(int(limit or self.settings.feed_page_max), self.settings.feed_page_max))
        with self.reader() as conn:
            out = feed.pull(conn, terminal_id, cursor, limit, raw=True)
        changes = out.pop("changes_json")
        out["server_time"] = iso(self.now())
        head = json.dumps(out, ensure_ascii=False)
        return (head[:-1] + ',"changes":' + changes + "}").encode("utf-8")

    def compact(self) -> dict:
        with self.tx() as conn:
            return feed.compact(conn, self.now(), self.settings.tombstone_retention)

    # ------------------------------------------------------------------ reconciliation and export

    def reconcile(self, terminal_id: str, day: str) -> dict:
        E, Tk = models.events, models.tickets
        with self.reader() as conn:
            evs = conn.execute(
                select(E.c.seq, E.c.type, E.c.payload).where(E.c.terminal_id == terminal_id, E.c.day == day)
                .order_by(E.c.seq)
            ).all()
            counts: dict[str, int] = {t: 0 for t in protocol.EVENT_TYPES}
            money = {"sales": 0, "refunds": 0, "refund_fees": 0, "voids": 0, "change_differences": 0,
                     "change_fees": 0, "by_method": {}}
            ticket_ids: list[str] = []
            tickets_sold = 0
            for ev in evs:
                p = json.loads(ev.payload)
                counts[ev.type] = counts.get(ev.type, 0) + 1
                if ev.type == "ticket.sold":
                    for t in p.get("tickets", []):
                        tickets_sold += 1
                        money["sales"] += int(t.get("price") or 0) + int(t.get("insurance") or 0)
                        ticket_ids.append(t["ticket_id"])
                    pay = p.get("payment") or {}
                    method = pay.get("method") or "unknown"
                    money["by_method"][method] = money["by_method"].get(method, 0) + int(pay.get("amount") or 0)
                elif ev.type == "ticket.refunded":
                    money["refunds"] += int(p.get("refund_amount") or 0)
                    money["refund_fees"] += int(p.get("fee") or 0)
                    ticket_ids.append(p.get("ticket_id"))
                elif ev.type == "ticket.changed":
                    money["change_differences"] += int(p.get("fare_difference") or 0)
                    money["change_fees"] += int(p.get("fee") or 0)
                    ticket_ids.append(p.get("old_ticket_id"))
                    ticket_ids.append((p.get("new_ticket") or {}).get("ticket_id"))
                elif ev.type == "ticket.voided":
                    r = conn.execute(select(Tk.c.price, Tk.c.insurance).where(Tk.c.ticket_id == p.get("ticket_id"))).first()
                    if r:
                        money["voids"] += r.price + r.insurance
                    ticket_ids.append(p.get("ticket_id"))
                elif ev.type in ("ticket.picked_up", "ticket.reprinted"):
                    ticket_ids.append(p.get("ticket_id"))
            seen, ordered = set(), []
            for tid in ticket_ids:
                if tid and tid not in seen:
                    seen.add(tid)
                    ordered.append(tid)
            rows = {}
            for i in range(0, len(ordered), 500):
                for r in conn.execute(select(Tk).where(Tk.c.ticket_id.in_(ordered[i:i + 500]))):
                    rows[r.ticket_id] = r
            tickets = [self.ticket_dict(rows[t]) for t in ordered if t in rows]
        money["net"] = (money["sales"] - money["refunds"] - money["voids"] + money["change_differences"]
                        + money["change_fees"])
        digest = hashlib.sha256(
            "\n".join(sorted(f"{t['ticket_id']}:{t['status']}" for t in tickets)).encode()
        ).hexdigest()
        return {
            "terminal_id": terminal_id,
            "date": day,
            "events": {"count": len(evs), "first_seq": evs[0].seq if evs else None,
                       "last_seq": evs[-1].seq if evs else None},
            "counts": {**counts, "tickets_sold": tickets_sold},
            "money": money,
            "tickets": tickets,
            "digest": digest,
        }

    def export_tickets(self, *, terminal_id: str | None = None, day: str | None = None,
                       channel: str | None = None) -> list[dict]:
        Tk = models.tickets
        q = select(Tk)
        if terminal_id:
            q = q.where(Tk.c.terminal_id == terminal_id)
        if channel:
            q = q.where(Tk.c.channel == channel)
        with self.reader() as conn:
            rows = conn.execute(q.order_by(Tk.c.sold_at, Tk.c.ticket_id)).all()
        out = []
        for r in rows:
            if day:
                try:
                    if self.local_day(parse_instant(r.sold_at)) != day:
                        continue
                except ValueError:
                    continue
            out.append(self.ticket_dict(r, full=True))
        return out


_ticket_values = ProvinceServer._ticket_values
_sold_seat_text = feed.sold_seat_text


def _sale_fields(ev: dict, p: dict) -> tuple:
    """(order id or None, sold at, clerk, shift) of a ticket.sold event, as its tickets are stored."""
    get = p.get
    return get("order_id"), get("sold_at") or ev["created_at"], get("clerk"), get("shift_id")


def _prepare_sales(events: list[dict], terminal_id: str, now: datetime) -> dict:
    """The rows a sale's tickets get when nothing stands in their way — their ticket row as active and
    the feed row of the sold seat — built from the events alone, keyed by ``id()`` of the ticket (never
    by a key in the payload, which the terminal wrote). A ticket that meets a problem, or whose event
    has not the documented shape, is built again in ``_BatchContext.sell``."""
    out = {}
    for ev in events:
        if ev["type"] != "ticket.sold":
            continue
        try:
            p = ev["payload"]
            order_id, sold_at, clerk, shift_id = _sale_fields(ev, p)
            for t in p.get("tickets", []):
                departure_id, seat, ticket_id = t["departure_id"], t.get("seat_no"), t["ticket_id"]
                row = _ticket_values(t, "terminal", terminal_id, order_id or ticket_id, sold_at, clerk, shift_id,
                                     ev["seq"], "active")
                seat_row = None if seat is None else (
                    "seat", f"{departure_id}/{seat}", None, False,
                    _sold_seat_text(departure_id, seat, "terminal", terminal_id, ticket_id), now)
                out[id(t)] = (row, seat_row)
        except (KeyError, TypeError, AttributeError, ValueError):
            continue  # applying the event says what is wrong with it
    return out


class BatchAhead(Exception):
    """A batch sent behind another that is not applied yet: ``expected`` is the seq the server
    needs next, ``first`` the batch's own first seq. Plain arguments, so it crosses processes."""

    def __init__(self, expected: int, first: int):
        super().__init__(expected, first)
        self.expected, self.first = expected, first


class _SeqReuse(Exception):
    def __init__(self, seq, stored, given, expected):
        super().__init__(seq)
        self.seq, self.stored, self.given, self.expected = seq, stored, given, expected


class _BatchContext:
    """Applies a batch's events inside its transaction. Each touched departure's seats are read
    once; ticket rows, lease-seat deletions and feed rows are buffered and written with one
    executemany each (in order, before anything reads them back), so a batch of hundreds of
    sales costs a handful of statements rather than several per sale."""

    def __init__(self, server: ProvinceServer, conn, terminal_id: str, now: datetime, sales: dict | None = None):
        self.s, self.conn, self.terminal_id, self.now = server, conn, terminal_id, now
        self.sales = sales or {}  # _prepare_sales: id(ticket) -> its active row and sold-seat text
        self.deps: dict[str, object] = {}
        self.maps: dict[str, tuple[dict, dict, dict]] = {}
        self.lease_touched: set[tuple[str, str]] = set()
        self.known_ids: set[str] = set()
        self.ticket_rows: list[tuple] = []
        self.lease_deletes: list[dict] = []
        self.feed_rows: list[tuple] = []  # feed.row tuples, in the order they happened
        self.conflicts = 0
        self.seq = 0

    def prefetch(self, events: list[dict], *, known_ids: bool = True) -> None:
        """Reads what the batch's sales are checked against. ``known_ids=False`` leaves out the ticket
        ids already on the server: the tickets' primary key refuses those at the insert, and the
        batch is then applied again with them (a backlog of fresh sales saves a query per 500)."""
        new_tickets = []
        for ev in events:
            kind = ev["type"]
            if kind == "ticket.sold":
                new_tickets += ev["payload"].get("tickets") or ()
            elif kind == "ticket.changed":
                new_tickets.append(ev["payload"].get("new_ticket") or {})
        new_tickets = [t for t in new_tickets if isinstance(t, dict)]
        Tk, D, LS = models.tickets, models.departures, models.lease_seats
        if known_ids:
            ids = [i for i in (t.get("ticket_id") for t in new_tickets) if i]
            for i in range(0, len(ids), 500):
                self.known_ids.update(self.conn.execute(
                    select(Tk.c.ticket_id).where(Tk.c.ticket_id.in_(ids[i:i + 500]))).scalars())
        # Every departure the batch sells on, with its seats, in three queries for the batch.
        deps = sorted({d for d in (t.get("departure_id") for t in new_tickets) if d} - self.maps.keys())
        for i in range(0, len(deps), 500):
            chunk = deps[i:i + 500]
            for d in chunk:
                self.deps.setdefault(d, None)
                self.maps[d] = ({}, {}, {})
            for r in self.conn.execute(select(D).where(D.c.id.in_(chunk))):
                self.deps[r.id] = r
            for r in self.conn.execute(select(Tk.c.departure_id, Tk.c.seat_no, Tk.c.ticket_id)
                                       .where(Tk.c.departure_id.in_(chunk), Tk.c.active_seat.is_not(None))):
                self.maps[r.departure_id][0][r.seat_no] = r.ticket_id
            for r in self.conn.execute(select(LS.c.departure_id, LS.c.seat_no, LS.c.terminal_id, LS.c.expires_at)
                                       .where(LS.c.departure_id.in_(chunk))):
                if r.expires_at > self.now:
                    self.maps[r.departure_id][1][r.seat_no] = (r.terminal_id, r.expires_at)
                self.maps[r.departure_id][2][r.seat_no] = r.terminal_id

    def flush(self) -> None:
        if self.ticket_rows:
            dbmod.BulkInsert.run_tuples(self.conn, models.tickets, _TICKET_COLUMNS, self.ticket_rows)
            self.ticket_rows = []
        if self.lease_deletes:
            LS = models.lease_seats
            self.conn.execute(
                delete(LS).where(LS.c.departure_id == bindparam("d"), LS.c.seat_no == bindparam("s")),
                self.lease_deletes,
            )
            self.lease_deletes = []
        if self.feed_rows:
            feed.insert_rows(self.conn, self.feed_rows)
            self.feed_rows = []

    def publish(self, kind, key, data, *, scope=None) -> None:
        self.feed_rows.append(feed.row(kind, key, data, at=self.now, scope=scope))

    def dep(self, departure_id):
        if departure_id not in self.deps:
            self.deps[departure_id] = self.s._departure(self.conn, departure_id)
        return self.deps[departure_id]

    def seat_map(self, departure_id):
        """(sold seat -> ticket_id, live leased seat -> (terminal, expiry), any lease row seat -> terminal)"""
        if departure_id not in self.maps:
            sold, leased = self.s._seat_map(self.conn, departure_id, self.now)
            LS = models.lease_seats
            rows = dict(self.conn.execute(
                select(LS.c.seat_no, LS.c.terminal_id).where(LS.c.departure_id == departure_id)).all())
            self.maps[departure_id] = (sold, leased, rows)
        return self.maps[departure_id]

    def conflict(self, kind: str, *, ticket_id=None, departure_id=None, seat_no=None, detail="") -> None:
        self.conflicts += 1
        self.conn.execute(models.conflicts.insert().values(
            terminal_id=self.terminal_id, seq=self.seq, kind=kind, ticket_id=ticket_id, departure_id=departure_id,
            seat_no=seat_no, detail=detail, status="open", created_at=self.now))
        self.publish("conflict", f"{self.seq}/{ticket_id}",
                     {"seq": self.seq, "kind": kind, "ticket_id": ticket_id, "departure_id": departure_id,
                      "seat_no": seat_no, "detail": detail, "status": "open"}, scope=self.terminal_id)

    def resolve(self, ticket_id: str, resolution: str) -> None:
        C = models.conflicts
        open_ = self.conn.execute(select(C).where(C.c.terminal_id == self.terminal_id, C.c.ticket_id == ticket_id,
                                                  C.c.status == "open")).all()
        for c in open_:
            self.conn.execute(C.update().where(C.c.id == c.id)
                              .values(status="resolved", resolved_at=self.now, resolution=resolution))
            self.publish("conflict", f"{c.seq}/{ticket_id}",
                         {"seq": c.seq, "kind": c.kind, "ticket_id": ticket_id, "departure_id": c.departure_id,
                          "seat_no": c.seat_no, "detail": c.detail, "status": "resolved",
                          "resolution": resolution}, scope=self.terminal_id)

    def ticket(self, ticket_id):
        self.flush()
        Tk = models.tickets
        return self.conn.execute(select(Tk).where(Tk.c.ticket_id == ticket_id)).first()

    def apply(self, ev: dict) -> None:
        self.seq = ev["seq"]
        p = ev["payload"]
        kind = ev["type"]
        if kind == "ticket.sold":
            order_id, sold_at, clerk, shift_id = _sale_fields(ev, p)
            for t in p.get("tickets", []):
                self.sell(t, order_id or t["ticket_id"], sold_at, clerk, shift_id)
        elif kind in ("ticket.refunded", "ticket.voided"):
            self.close(p.get("ticket_id"), "refunded" if kind == "ticket.refunded" else "voided",
                       p.get("refunded_at") or p.get("voided_at") or ev["created_at"])
        elif kind == "ticket.changed":
            new = p.get("new_ticket") or {}
            self.close(p.get("old_ticket_id"), "changed", p.get("changed_at") or ev["created_at"])
            if new:
                self.sell(new, p.get("old_ticket_id") or new["ticket_id"], p.get("changed_at") or ev["created_at"],
                          p.get("clerk"), p.get("shift_id"))
        elif kind == "ticket.picked_up":
            self.pick_up(p)
        elif kind == "ticket.reprinted":
            r = self.ticket(p.get("ticket_id"))
            if r is None:
                self.conflict("UNKNOWN_TICKET", ticket_id=p.get("ticket_id"), detail="reprint of an unknown ticket")
            else:
                self.conn.execute(models.tickets.update().where(models.tickets.c.ticket_id == r.ticket_id)
                                  .values(stock_no=p.get("new_stock_no")))
        # shift.opened, shift.closed, stock.spoiled: kept as events, read by reconciliation.

    def sell(self, t: dict, order_id, sold_at, clerk, shift_id) -> None:
        # The hot path of a backlog drain (a call per ticket): names looked up once, rows built directly.
        ticket_id, departure_id, seat = t["ticket_id"], t.get("departure_id"), t.get("seat_no")
        known = self.known_ids
        if ticket_id in known:
            # Same ticket id in two events: the later one cannot be a second ticket.
            self.conflict("TICKET_NOT_ACTIVE", ticket_id=ticket_id, departure_id=departure_id, seat_no=seat,
                          detail="ticket id already on the server")
            return
        known.add(ticket_id)
        deps, maps, terminal_id = self.deps, self.maps, self.terminal_id
        dep = deps[departure_id] if departure_id in deps else self.dep(departure_id)
        problem = None
        if dep is None:
            problem = ("UNKNOWN_DEPARTURE", "departure not known to the server")
        elif seat is not None:
            sold, leased, rows = maps[departure_id] if departure_id in maps else self.seat_map(departure_id)
            if not 1 <= seat <= dep.seats:
                problem = ("SEAT_INVALID", f"bus has {dep.seats} seats")
            elif seat in sold:
                other = self.ticket(sold[seat])
                by = "web" if other is not None and other.channel == "web" else (other.terminal_id if other else "?")
                problem = ("SEAT_TAKEN", f"sold to ticket {sold[seat]} by {by}")
            elif seat in leased and leased[seat][0] != terminal_id:
                problem = ("SEAT_LEASED", "seat leased to another terminal")
        ready = self.sales.pop(id(t), None)
        if ready is None or problem:
            ready = (_ticket_values(t, "terminal", terminal_id, order_id, sold_at, clerk, shift_id, self.seq,
                                    "conflict" if problem else "active"), None)
        self.ticket_rows.append(ready[0])
        if problem:
            self.flush()
            self.conflict(problem[0], ticket_id=ticket_id, departure_id=departure_id, seat_no=seat,
                          detail=problem[1])
            return
        if seat is None:
            return
        sold[seat] = ticket_id
        leased.pop(seat, None)
        # The seat leaves whichever lease row it sat in: this terminal's, or a dead one.
        holder = rows.pop(seat, None)
        if holder is not None:
            self.lease_deletes.append({"d": departure_id, "s": seat})
            self.lease_touched.add((departure_id, holder))
        self.feed_rows.append(ready[1] or ("seat", f"{departure_id}/{seat}", None, False,
                                           _sold_seat_text(departure_id, seat, "terminal", terminal_id, ticket_id),
                                           self.now))

    def _publish_leased(self, departure_id: str, seat_no: int, terminal_id: str) -> None:
        for r in self.s._leased_seat_rows(departure_id, [seat_no], terminal_id):
            self.publish(r["kind"], r["key"], r["data"])

    def close(self, ticket_id, status: str, at: str) -> None:
        Tk = models.tickets
        r = self.ticket(ticket_id)
        if r is None:
            self.conflict("UNKNOWN_TICKET", ticket_id=ticket_id, detail=f"{status} of an unknown ticket")
            return
        if r.status not in ("active", "conflict"):
            self.conflict("TICKET_NOT_ACTIVE", ticket_id=ticket_id, departure_id=r.departure_id, seat_no=r.seat_no,
                          detail=f"ticket already {r.status}")
            return
        self.conn.execute(Tk.update().where(Tk.c.ticket_id == ticket_id)
                          .values(status=status, active_seat=None, closed_at=at))
        if r.status == "conflict":
            self.resolve(ticket_id, {"changed": "reseated"}.get(status, status))
            return
        if r.seat_no is None:
            return
        sold, _, _ = self.seat_map(r.departure_id)
        sold.pop(r.seat_no, None)
        if not self.give_back(r.departure_id, r.seat_no):
            self.publish("seat", f"{r.departure_id}/{r.seat_no}", None)

    def give_back(self, departure_id: str, seat_no: int) -> bool:
        """A seat freed at this terminal returns to its lease while that lease lives, so the
        clerk can resell it offline (and the other terminals see it leased); otherwise to the
        pool. True when it went back into the lease."""
        self.flush()
        LS = models.lease_seats
        expiry = self.conn.execute(
            select(func.max(LS.c.expires_at)).where(LS.c.departure_id == departure_id,
                                                   LS.c.terminal_id == self.terminal_id, LS.c.expires_at > self.now)
        ).scalar_one()
        if expiry is None:
            return False
        _, leased, rows = self.seat_map(departure_id)
        if seat_no in leased:
            self._publish_leased(departure_id, seat_no, leased[seat_no][0])
            return True
        lease_id = self.s._ensure_lease(self.conn, departure_id, self.terminal_id, self.now)
        self.conn.execute(delete(LS).where(LS.c.departure_id == departure_id, LS.c.seat_no == seat_no))
        self.conn.execute(LS.insert().values(departure_id=departure_id, seat_no=seat_no, lease_id=lease_id,
                                             terminal_id=self.terminal_id, expires_at=expiry))
        leased[seat_no] = (self.terminal_id, expiry)
        prior = rows.get(seat_no)
        if prior is not None and prior != self.terminal_id:
            self.lease_touched.add((departure_id, prior))
        rows[seat_no] = self.terminal_id
        self.lease_touched.add((departure_id, self.terminal_id))
        self._publish_leased(departure_id, seat_no, self.terminal_id)
        return True

    def pick_up(self, p: dict) -> None:
        Tk = models.tickets
        r = self.ticket(p.get("ticket_id"))
        if r is None:
            self.conflict("UNKNOWN_TICKET", ticket_id=p.get("ticket_id"), detail="pick-up of an unknown ticket")
            return
        if r.status != "active":
            self.conflict("TICKET_NOT_ACTIVE", ticket_id=r.ticket_id, departure_id=r.departure_id, seat_no=r.seat_no,
                          detail=f"ticket is {r.status}")
            return
        if r.picked_up_by and r.picked_up_by != self.terminal_id:
            self.conflict("ALREADY_PICKED_UP", ticket_id=r.ticket_id, departure_id=r.departure_id, seat_no=r.seat_no,
                          detail=f"picked up by {r.picked_up_by} at {r.picked_up_at}")
            return
        self.conn.execute(Tk.update().where(Tk.c.ticket_id == r.ticket_id).values(
            stock_no=p.get("stock_no"), picked_up_at=p.get("picked_up_at"), picked_up_by=self.terminal_id))
        if r.channel == "web":
            r = self.ticket(r.ticket_id)
            self.publish("web_ticket", r.ticket_id, self.s._web_ticket_data(r))

    def finish(self) -> None:
        self.flush()
        for departure_id, holder in sorted(self.lease_touched):
            self.s._publish_lease(self.conn, departure_id, holder, self.now)

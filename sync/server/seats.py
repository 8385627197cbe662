"""Seats and leases: the seat authority. A lease lends a terminal unsold seats it may sell offline
until they expire; the sweep and the cut-off give them back to the pool."""

from __future__ import annotations

import math
import secrets
from datetime import datetime, timedelta
from itertools import islice

from sqlalchemy import and_, cast, delete, null, select, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from sync.protocol import ProtocolError
from sync.server import feed, models
from sync.server.clock import iso
from sync.server.context import ServerContext


def leased_seat_rows(departure_id: str, seats, terminal_id: str) -> list[dict]:
    """Feed rows showing seats as leased to ``terminal_id``: every other terminal stores them as
    held elsewhere and does not offer them, instead of selling them online into a SEAT_LEASED
    conflict. Published when a seat joins a lease, not when an expiry is extended (nobody else
    needs the instant), so a terminal topping up every few minutes adds nothing to the feed."""
    return [{"kind": "seat", "key": f"{departure_id}/{s}",
             "data": {"departure_id": departure_id, "seat_no": s, "state": "leased", "channel": "terminal",
                      "terminal_id": terminal_id, "ticket_id": None}} for s in seats]


def departure(conn, departure_id: str):
    return conn.execute(select(models.departures).where(models.departures.c.id == departure_id)).first()


def check_departure_open(dep, departure_id: str, now: datetime) -> None:
    if dep is None:
        raise ProtocolError("UNKNOWN_DEPARTURE", departure_id=departure_id)
    if dep.status == "cancelled":
        raise ProtocolError("DEPARTURE_CANCELLED", departure_id=departure_id)
    if dep.status == "departed" or now >= dep.departs_at - timedelta(minutes=dep.stop_sale_minutes):
        raise ProtocolError("SALE_CLOSED", departure_id=departure_id)


def seat_map(conn, departure_id: str, now: datetime) -> tuple[dict, dict]:
    """(sold seat -> ticket_id, live leased seat -> (terminal_id, expires_at)), in one round trip:
    a seat request reads this under its departure's lock, where every statement is waited for."""
    Tk, L = models.tickets, models.lease_seats
    rows = conn.execute(union_all(
        select(Tk.c.seat_no, Tk.c.ticket_id.label("holder"), cast(null(), L.c.expires_at.type).label("until"))
        .where(Tk.c.departure_id == departure_id, Tk.c.active_seat.is_not(None)),
        select(L.c.seat_no, L.c.terminal_id, L.c.expires_at)
        .where(L.c.departure_id == departure_id, L.c.expires_at > now),
    )).all()
    sold = {r.seat_no: r.holder for r in rows if r.until is None}
    leased = {r.seat_no: (r.holder, r.until) for r in rows if r.until is not None}
    return sold, leased


def free_seats(dep, sold, leased, taken=()):
    """The seats of ``dep`` neither sold, leased nor ``taken``, in seat order (lazily)."""
    return (s for s in range(1, dep.seats + 1) if s not in sold and s not in leased and s not in taken)


def lease_view(conn, departure_id: str, terminal_id: str, now: datetime, *, lease_id: str | None = None) -> dict | None:
    """The terminal's lease on the departure as the feed and the answers show it; ``lease_id`` when
    the caller has it already (it just made or touched the row) saves reading it."""
    L, LS = models.leases, models.lease_seats
    if lease_id is None:
        lease_id = conn.execute(select(L.c.lease_id).where(L.c.departure_id == departure_id,
                                                           L.c.terminal_id == terminal_id)).scalar()
        if lease_id is None:
            return None
    rows = conn.execute(
        select(LS.c.seat_no, LS.c.expires_at)
        .where(LS.c.lease_id == lease_id, LS.c.expires_at > now).order_by(LS.c.seat_no)
    ).all()
    return {
        "lease_id": lease_id,
        "departure_id": departure_id,
        "seats": [r.seat_no for r in rows],
        "expires_at": iso(max((r.expires_at for r in rows), default=None)),
        "seat_expiry": {str(r.seat_no): iso(r.expires_at) for r in rows},
    }


def publish_lease(conn, departure_id: str, terminal_id: str, now: datetime, *, lease_id: str | None = None) -> dict | None:
    view = lease_view(conn, departure_id, terminal_id, now, lease_id=lease_id)
    if view is None or not view["seats"]:
        feed.tombstone(conn, "lease", departure_id, at=now, scope=terminal_id)
    else:
        feed.publish(conn, "lease", departure_id, view, at=now, scope=terminal_id)
    return view


def ensure_lease(conn, departure_id: str, terminal_id: str, now: datetime) -> str:
    """The terminal's lease row on the departure, made if it has none, touched if it has: one
    statement either way (``uq_lease_departure_terminal`` decides which)."""
    L = models.leases
    insert = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(L)
    return conn.execute(
        insert.values(lease_id="L" + secrets.token_hex(8), departure_id=departure_id, terminal_id=terminal_id,
                      granted_at=now, updated_at=now)
        .on_conflict_do_update(index_elements=[L.c.departure_id, L.c.terminal_id], set_={"updated_at": now})
        .returning(L.c.lease_id)
    ).scalar_one()


def take_back(conn, condition, now: datetime) -> int:
    """Delete the lease seats matching ``condition``, tell each holder (its lease row) and
    every other terminal (the seat is free again)."""
    LS = models.lease_seats
    seats = conn.execute(delete(LS).where(condition).returning(LS.c.departure_id, LS.c.seat_no, LS.c.terminal_id)).all()
    if not seats:
        return 0
    n = len(seats)
    for departure_id, terminal_id in sorted({(r.departure_id, r.terminal_id) for r in seats}):
        publish_lease(conn, departure_id, terminal_id, now)
    _publish_seats_freed(conn, [(r.departure_id, r.seat_no) for r in seats], now)
    return n


def _publish_seats_freed(conn, seats: list[tuple[str, int]], now: datetime) -> None:
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

TOPUP_TX_DEPARTURES = 10  # departures of one top-up request per write transaction


class Seats:
    """The lease and seat operations of the protocol, each one transaction."""

    def __init__(self, ctx: ServerContext):
        self.ctx = ctx

    def take_back(self, conn, condition) -> int:
        return take_back(conn, condition, self.ctx.now())

    def sweep(self) -> dict:
        """Return expired lease seats to the pool (the cut-off is an expiry, so this is the
        take-back too) and tell their holders through the feed."""
        LS = models.lease_seats
        now = self.ctx.now()
        # The departures with an expired seat first, read without a lock: the take-back then holds
        # those departures only, not every writer of the province while it runs.
        with self.ctx.reader() as conn:
            deps = sorted(conn.execute(select(LS.c.departure_id).where(LS.c.expires_at <= now).distinct()).scalars())
        n = 0
        for i in range(0, len(deps), 500):
            chunk = deps[i:i + 500]
            with self.ctx.tx(departures=chunk) as conn:
                n += self.take_back(conn, and_(LS.c.departure_id.in_(chunk), LS.c.expires_at <= now))
        return {"seats_returned": n}

    def top_up(self, terminal_id: str, wants: list[dict]) -> dict:
        """Grant or top up leases: after it the terminal holds up to ``seats`` unsold seats on each
        departure (never fewer than it held), all expiring at the same, extended instant."""
        now = self.ctx.now()
        out, errors = [], []
        # A few departures per transaction, not the whole request: the writer lock is the server's
        # (and on PostgreSQL every process's), and a top-up of two hundred departures held it for a
        # second while every upload of every terminal waited behind it. Each departure's top-up
        # stands alone, so nothing is lost by committing them in turn.
        for i in range(0, len(wants), TOPUP_TX_DEPARTURES):
            chunk = wants[i:i + TOPUP_TX_DEPARTURES]
            with self.ctx.tx(departures=[str(w["departure_id"]) for w in chunk]) as conn:
                for want in chunk:
                    try:
                        out.append(self._top_up_one(conn, terminal_id, want, now))
                    except ProtocolError as exc:
                        errors.append({"departure_id": want["departure_id"], **exc.body()})
        return {"leases": out, "errors": errors, "server_time": iso(now)}

    def _lease_target(self, wanted: int | None) -> int:
        # 0 is a real answer ("keep what I hold, extend it"), not "the default".
        s = self.ctx.settings
        return min(s.lease_block if wanted is None else int(wanted), s.lease_max)

    def _open_for_lease(self, conn, departure_id: str, now: datetime):
        """The departure and its lease cut-off, or the refusal of a lease on it."""
        dep = departure(conn, departure_id)
        check_departure_open(dep, departure_id, now)
        cutoff = dep.departs_at - self.ctx.settings.lease_cutoff
        if now >= cutoff:
            raise ProtocolError("LEASE_CUTOFF", departure_id=departure_id, cutoff_at=iso(cutoff))
        return dep, cutoff

    def _top_up_one(self, conn, terminal_id: str, want: dict, now: datetime) -> dict:
        LS = models.lease_seats
        departure_id = want["departure_id"]
        target = self._lease_target(want.get("seats"))
        dep, cutoff = self._open_for_lease(conn, departure_id, now)
        take_back(conn, and_(LS.c.departure_id == departure_id, LS.c.expires_at <= now), now)
        expires = min(now + self.ctx.settings.lease_ttl, cutoff)
        sold, leased = seat_map(conn, departure_id, now)
        mine = sum(1 for t, _ in leased.values() if t == terminal_id)
        room = target - mine
        pool = self.ctx.settings.lease_pool_percent
        if pool:
            room = min(room, dep.seats - math.ceil(dep.seats * pool / 100) - len(leased))
        granted = list(islice(free_seats(dep, sold, leased), max(0, room)))
        if not granted and mine == 0:
            # Nothing held and nothing to grant -- the commonest answer once more windows ask for a bus
            # than it has seats to lease: no lease row to write, nothing for the feed.
            return {"lease_id": None, "departure_id": departure_id, "seats": [], "expires_at": None,
                    "seat_expiry": {}, "granted": [], "sold_out": target > 0}
        lease_id = ensure_lease(conn, departure_id, terminal_id, now)
        if granted:
            conn.execute(LS.insert(), [
                {"departure_id": departure_id, "seat_no": s, "lease_id": lease_id,
                 "terminal_id": terminal_id, "expires_at": expires} for s in granted
            ])
        conn.execute(
            update(LS).where(LS.c.lease_id == lease_id, LS.c.expires_at > now, LS.c.expires_at < expires)
            .values(expires_at=expires)
        )
        view = publish_lease(conn, departure_id, terminal_id, now, lease_id=lease_id)
        feed.publish_many(conn, leased_seat_rows(departure_id, granted, terminal_id), at=now)
        return {**view, "granted": granted, "sold_out": len(view["seats"]) < target}

    def leases_of(self, terminal_id: str) -> list[dict]:
        now = self.ctx.now()
        L = models.leases
        with self.ctx.reader() as conn:
            deps = conn.execute(select(L.c.departure_id).where(L.c.terminal_id == terminal_id)).scalars().all()
            views = [lease_view(conn, d, terminal_id, now) for d in deps]
        return [v for v in views if v and v["seats"]]

    def release(self, terminal_id: str, departure_id: str, seats: list[int] | None) -> dict:
        LS = models.lease_seats
        cond = and_(LS.c.terminal_id == terminal_id, LS.c.departure_id == departure_id)
        if seats is not None:
            cond = and_(cond, LS.c.seat_no.in_(seats))
        with self.ctx.tx(departures=[departure_id]) as conn:
            n = self.take_back(conn, cond)
            view = lease_view(conn, departure_id, terminal_id, self.ctx.now())
        return {"released": n, "lease": view}

    def release_many(self, terminal_id: str, departure_ids: list[str]) -> dict:
        """Every leased seat of ``terminal_id`` on each of ``departure_ids`` back to the pool, in one
        transaction: one commit for a terminal's hundreds of leases instead of one each."""
        LS = models.lease_seats
        ids = sorted(set(departure_ids))
        with self.ctx.tx(departures=ids) as conn:
            n = self.take_back(conn, and_(LS.c.terminal_id == terminal_id, LS.c.departure_id.in_(ids))) if ids else 0
        return {"released": n, "departure_ids": ids}

    def seat_request(self, terminal_id: str, departure_id: str, seat_no: int | None) -> dict:
        """Grant one seat now, before or after the cut-off, held until ``expires_at``."""
        now = self.ctx.now()
        with self.ctx.tx(departures=[departure_id]) as conn:
            dep = departure(conn, departure_id)
            check_departure_open(dep, departure_id, now)
            sold, leased = seat_map(conn, departure_id, now)
            seat_no = self._grantable_seat(dep, departure_id, seat_no, sold, leased, terminal_id)
            holder = leased.get(seat_no)
            hold = min(now + self.ctx.settings.seat_hold, dep.departs_at)
            expires = max(hold, holder[1]) if holder else hold
            lease_id = self._hold_seat(conn, departure_id, seat_no, terminal_id, expires, now)
            if holder is None:
                feed.publish_many(conn, leased_seat_rows(departure_id, [seat_no], terminal_id), at=now)
        return {"lease_id": lease_id, "departure_id": departure_id, "seat_no": seat_no, "expires_at": iso(expires)}

    @staticmethod
    def _grantable_seat(dep, departure_id: str, seat_no: int | None, sold, leased, terminal_id: str) -> int:
        """The seat asked for, or the first free one; refused when it is not this terminal's to have."""
        if seat_no is None:
            seat_no = next(free_seats(dep, sold, leased), None)
            if seat_no is None:
                raise ProtocolError("NO_SEATS", departure_id=departure_id)
        if not 1 <= seat_no <= dep.seats:
            raise ProtocolError("SEAT_INVALID", departure_id=departure_id, seat_no=seat_no)
        if seat_no in sold:
            raise ProtocolError("SEAT_TAKEN", departure_id=departure_id, seat_no=seat_no)
        holder = leased.get(seat_no)
        if holder and holder[0] != terminal_id:
            raise ProtocolError("SEAT_LEASED", departure_id=departure_id, seat_no=seat_no)
        return seat_no

    @staticmethod
    def _hold_seat(conn, departure_id: str, seat_no: int, terminal_id: str, expires: datetime,
                   now: datetime) -> str:
        """Moves the seat into the terminal's lease until ``expires``; returns the lease id."""
        LS = models.lease_seats
        lease_id = ensure_lease(conn, departure_id, terminal_id, now)
        prior = conn.execute(delete(LS).where(LS.c.departure_id == departure_id, LS.c.seat_no == seat_no)
                             .returning(LS.c.terminal_id)).scalar()
        conn.execute(LS.insert().values(departure_id=departure_id, seat_no=seat_no, lease_id=lease_id,
                                        terminal_id=terminal_id, expires_at=expires))
        publish_lease(conn, departure_id, terminal_id, now, lease_id=lease_id)
        if prior is not None and prior != terminal_id:
            # An expired seat of another terminal, not swept yet: its lease row must drop it too.
            publish_lease(conn, departure_id, prior, now)
        return lease_id

    def seat_states(self, departure_id: str) -> dict:
        now = self.ctx.now()
        with self.ctx.reader() as conn:
            dep = departure(conn, departure_id)
            if dep is None:
                raise ProtocolError("UNKNOWN_DEPARTURE", departure_id=departure_id)
            sold, leased = seat_map(conn, departure_id, now)
        return {"departure_id": departure_id, "seats": dep.seats, "sold": sorted(sold),
                "leased": sorted(leased), "free": list(free_seats(dep, sold, leased))}

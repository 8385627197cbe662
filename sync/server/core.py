"""The provincial server's behaviour, independent of HTTP: one method per protocol operation, each
one database transaction. ``sync.server.app`` puts HTTP around it; the CLI calls it directly for
admin work on a database file.

:class:`ProvinceServer` is the one object callers hold; each operation lives in the module of its
responsibility (enrolment, auth, seats, web, upload, changes, reports, master_data) and is reached
through it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sync.server.auth import Authenticator
from sync.server.changes import ChangeFeed
from sync.server.clock import iso, parse_instant, utcnow
from sync.server.context import ServerContext
from sync.server.documents import DocumentKey
from sync.server.enrolment import Enrolment
from sync.server.idempotency import IdempotencyStore
from sync.server.master_data import MasterData
from sync.server.reports import Reports
from sync.server.seats import Seats
from sync.server.settings import Settings
from sync.server.tickets import TICKET_COLUMNS as _TICKET_COLUMNS
from sync.server.upload import EVENT_COLUMNS as _EVENT_COLUMNS
from sync.server.upload import Uploads
from sync.server.web import WebChannel

__all__ = ["ProvinceServer", "Settings", "iso", "parse_instant", "utcnow", "_EVENT_COLUMNS", "_TICKET_COLUMNS"]


class ProvinceServer:
    def __init__(self, db_url: str, *, settings: Settings | None = None, clock: Callable[[], datetime] = utcnow):
        self.ctx = ctx = ServerContext(db_url, settings=settings, clock=clock)
        self.settings, self.zone, self.clock, self.engine = ctx.settings, ctx.zone, ctx.clock, ctx.engine
        self.fresh, self.is_postgres = ctx.fresh, ctx.is_postgres
        self.documents = DocumentKey(ctx)
        self.auth = Authenticator(ctx)
        self.enrolment = Enrolment(ctx, self.documents)
        self.master = MasterData(ctx)
        self.seats = Seats(ctx)
        self.web = WebChannel(ctx, self.documents)
        self.uploads = Uploads(ctx, self.auth)
        self.changes = ChangeFeed(ctx)
        self.reports = Reports(ctx)
        self.idempotency = IdempotencyStore(ctx)

    # ------------------------------------------------------------------ plumbing

    def now(self) -> datetime:
        return self.ctx.now()

    def reader(self):
        return self.ctx.reader()

    def close(self) -> None:
        self.ctx.close()

    # ------------------------------------------------------------------ province

    def import_province(self, doc: dict, *, replace: bool = True) -> dict:
        return self.master.import_province(doc, replace=replace)

    def set_departure_status(self, departure_id: str, status: str) -> dict:
        return self.master.set_departure_status(departure_id, status)

    def has_master_data(self) -> bool:
        return self.master.has_master_data()

    # ------------------------------------------------------------------ enrolment and keys

    def issue_code(self, station: str, *, label: str = "", ttl: timedelta | None = None) -> dict:
        return self.enrolment.issue_code(station, label=label, ttl=ttl)

    def enrol(self, code: str, public_key: str, *, label: str = "") -> dict:
        return self.enrolment.enrol(code, public_key, label=label)

    def register_key(self, terminal_id: str, public_key: str) -> dict:
        return self.enrolment.register_key(terminal_id, public_key)

    def list_keys(self) -> list[dict]:
        return self.enrolment.list_keys()

    def revoke(self, terminal_id: str, *, drain: timedelta | None = None) -> dict:
        return self.enrolment.revoke(terminal_id, drain=drain)

    def release_instance(self, terminal_id: str) -> dict:
        return self.auth.release_instance(terminal_id)

    def list_terminals(self) -> list[dict]:
        return self.enrolment.list_terminals()

    # ------------------------------------------------------------------ request authentication

    def authenticate(self, **request) -> dict:
        """See :meth:`Authenticator.authenticate`."""
        return self.auth.authenticate(**request)

    def record_nonce(self, terminal_id: str, nonce: str) -> None:
        self.auth.record_nonce(terminal_id, nonce)

    # ------------------------------------------------------------------ seats and leases

    def top_up(self, terminal_id: str, wants: list[dict]) -> dict:
        return self.seats.top_up(terminal_id, wants)

    def leases_of(self, terminal_id: str) -> list[dict]:
        return self.seats.leases_of(terminal_id)

    def release(self, terminal_id: str, departure_id: str, seats: list[int] | None) -> dict:
        return self.seats.release(terminal_id, departure_id, seats)

    def release_many(self, terminal_id: str, departure_ids: list[str]) -> dict:
        return self.seats.release_many(terminal_id, departure_ids)

    def seat_request(self, terminal_id: str, departure_id: str, seat_no: int | None) -> dict:
        return self.seats.seat_request(terminal_id, departure_id, seat_no)

    def seat_states(self, departure_id: str) -> dict:
        return self.seats.seat_states(departure_id)

    def sweep(self) -> dict:
        drained = self.enrolment.finish_drains()
        result = self.seats.sweep()
        return {**result, "drains_ended": drained} if drained else result

    # ------------------------------------------------------------------ web channel

    def web_order(self, departure_id: str, stop: str, passengers: list[dict], payment: dict | None = None) -> dict:
        return self.web.web_order(departure_id, stop, passengers, payment)

    def web_refund(self, ticket_id: str) -> dict:
        return self.web.web_refund(ticket_id)

    def web_ticket(self, ticket_id: str) -> dict:
        return self.web.web_ticket(ticket_id)

    def find_web_ticket(self, pickup_code: str, *, terminal_id: str | None = None) -> dict:
        return self.web.find_web_ticket(pickup_code, terminal_id=terminal_id)

    # ------------------------------------------------------------------ upload

    def upload(self, terminal_id: str, events: list[dict], *, nonce: str | None = None) -> dict:
        return self.uploads.upload(terminal_id, events, nonce=nonce)

    def marks(self, terminal_id: str) -> dict:
        return self.uploads.marks(terminal_id)

    def upload_body(self, terminal_id: str, raw: bytes, *, nonce: str | None = None) -> dict:
        """``upload`` of a request body as received."""
        return self.upload(terminal_id, self.uploads.events_of_body(terminal_id, raw, nonce), nonce=nonce)

    # ------------------------------------------------------------------ feed

    def pull_json(self, terminal_id: str, cursor: str | None, limit: int | None) -> bytes:
        return self.changes.pull_json(terminal_id, cursor, limit)

    def compact(self) -> dict:
        return self.changes.compact()

    # ------------------------------------------------------------------ reports and export

    def reconcile(self, terminal_id: str, day: str) -> dict:
        return self.reports.reconcile(terminal_id, day)

    def day_report(self, kind: str, day: str, *, station: str | None = None) -> dict:
        return self.reports.day_report(kind, day, station=station)

    def export_tickets(self, *, terminal_id: str | None = None, day: str | None = None,
                       channel: str | None = None) -> list[dict]:
        return self.reports.export_tickets(terminal_id=terminal_id, day=day, channel=channel)

    def departures(self, day: str, *, station: str | None = None) -> list[dict]:
        return self.reports.departures(day, station=station)

    def conflicts_of(self, terminal_id: str, status: str | None = None) -> list[dict]:
        return self.reports.conflicts_of(terminal_id, status)

    def station_day(self, station: str, day: str) -> dict:
        from sync.server.station_day import station_day

        return station_day(self.reports, station, day)

    def alarms(self) -> list[dict]:
        return self.reports.alarms()

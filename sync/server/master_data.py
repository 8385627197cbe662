"""The province's master data on the server: importing a province document, a departure's status."""

from __future__ import annotations

from sqlalchemy import and_, func, select

from sync.protocol import ProtocolError
from sync.server import models, province
from sync.server.context import ServerContext
from sync.server.seats import take_back

DEPARTURE_STATUSES = ("normal", "cancelled", "delayed", "boarding", "departed")


class MasterData:
    def __init__(self, ctx: ServerContext):
        self.ctx = ctx

    def import_province(self, doc: dict, *, replace: bool = True) -> dict:
        with self.ctx.tx() as conn:
            return province.import_document(conn, doc, zone=self.ctx.zone, now=self.ctx.now(), replace=replace)

    def set_departure_status(self, departure_id: str, status: str) -> dict:
        if status not in DEPARTURE_STATUSES:
            raise ProtocolError("INVALID_REQUEST", f"unknown departure status {status!r}")
        now = self.ctx.now()
        with self.ctx.tx() as conn:
            data = province.set_departure_status(conn, departure_id, status, now=now)
            if data is None:
                raise ProtocolError("UNKNOWN_DEPARTURE", departure_id=departure_id)
            if status == "cancelled":
                take_back(conn, and_(models.lease_seats.c.departure_id == departure_id), now)
            return data

    def has_master_data(self) -> bool:
        with self.ctx.reader() as conn:
            return conn.execute(select(func.count()).select_from(models.master)).scalar_one() > 0

"""Shared pieces of the sync client tests: a small province relative to today, a terminal rig, and
the invariant checker (every committed sale on the server exactly once, no seat sold twice)."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

from app.services import PassengerIn, PaymentIn, open_shift, sell
from app.store.engine import open_database
from app.store.users import ensure_user
from sync.client import SyncClient, enrol, make_terminal
from tests.integration.line_province import DEST, HOME, MID, departure, line_province  # noqa: F401
from tests.integration.store.tiny_province import resident_id

ADMIN = "admin-token-for-sync-client-tests"
ZONE = ZoneInfo("Asia/Shanghai")
CLERK, CLERK_PW = "1001", "clerk-one"
SEATS = 40


def local_day(days: int) -> str:
    return (datetime.now(ZONE) + timedelta(days=days)).date().isoformat()


def departure_ids() -> list[str]:
    return [d["id"] for d in province_doc()["departures"]]


def province_doc(seats: int = SEATS) -> dict:
    """Three departures tomorrow and three the day after, relative to today."""
    deps = [departure(local_day(days), hhmm, seats) for days in (1, 2) for hhmm in ("09:00", "13:00", "17:00")]
    return line_province(deps, seats=seats)


def issue_code(server_url: str, station: str = HOME) -> str:
    r = requests.post(server_url + "/v1/admin/enrolment-codes", json={"station": station},
                      headers={"Authorization": f"Bearer {ADMIN}", "Kezhan-Protocol": "1"}, timeout=10)
    r.raise_for_status()
    return r.json()["code"]


_doc_serial = iter(range(1, 10**6))


def next_document() -> str:
    n = next(_doc_serial)
    birth = (datetime(1960, 1, 1) + timedelta(days=n // 900)).strftime("%Y%m%d")
    return resident_id(birth=birth, serial=f"{n % 900 + 100:03d}")


@dataclass
class TerminalRig:
    """One terminal: its database, its services Terminal, its SyncClient and an open shift."""

    path: Path
    db: object
    terminal: object
    client: SyncClient
    statuses: list = field(default_factory=list)

    @classmethod
    def create(cls, server, folder: Path, *, via=None, station: str = HOME, **client_kw) -> TerminalRig:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "kezhan.sqlite3"
        db = open_database(path)
        with db.transaction() as session:
            ensure_user(session, CLERK, "王售票", "clerk", CLERK_PW)
        enrol(db, server.url, issue_code(server.url, station))
        terminal = make_terminal(db)
        statuses: list = []
        kw = {"lease_horizon": timedelta(days=3), "backoff_base": 0.05, "backoff_cap": 0.3, "interval": 0.5,
              "timeout": (1.0, 3.0)}
        kw.update(client_kw)
        client = SyncClient(db, server_url=(via.url if via else server.url), terminal=terminal,
                            on_status=statuses.append, **kw)
        rig = cls(path, db, terminal, client, statuses)
        return rig

    def open_shift(self, first_stock_no: str = "00100001") -> None:
        open_shift(self.db, self.terminal, clerk=CLERK, first_stock_no=first_stock_no, last_stock_no="00199999",
                   now=datetime.now(UTC))

    def sell(self, departure_id: str, seat_no: int | None = None, *, now: datetime | None = None):
        return sell(self.db, self.terminal, clerk=CLERK, departure_id=departure_id, stop=DEST,
                    passengers=[PassengerIn("full", "旅客", doc_number=next_document(), seat_no=seat_no)],
                    payment=PaymentIn("cash"), now=now or datetime.now(UTC))

    def rows(self, sql: str, *args):
        con = sqlite3.connect(self.path)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def outbox(self) -> list[tuple[int, str]]:
        return self.rows("SELECT seq, hash FROM outbox ORDER BY seq")

    def sold_ticket_ids(self) -> set[str]:
        out = set()
        for (payload,) in self.rows("SELECT payload FROM outbox WHERE type = 'ticket.sold'"):
            out.update(t["ticket_id"] for t in json.loads(payload)["tickets"])
        return out

    def close(self) -> None:
        self.client.close()
        self.db.dispose()


def server_events(srv, terminal_id: str) -> list[tuple[int, str]]:
    from sqlalchemy import select

    from sync.server import models

    E = models.events
    with srv.server.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(E.c.seq, E.c.hash).where(E.c.terminal_id == terminal_id).order_by(E.c.seq))]


def check_invariants(srv, rigs: list[TerminalRig]) -> dict:
    """Every committed local event is on the server exactly once with the same hash; every ticket a
    terminal sold is on the server once; no seat has two live tickets; every server-side conflict
    of a terminal is a task in that terminal's database."""
    tickets = srv.server.export_tickets()
    ids = Counter(t["ticket_id"] for t in tickets)
    assert not [t for t, n in ids.items() if n > 1], "a ticket is on the server twice"
    live = Counter((t["departure_id"], t["seat_no"]) for t in tickets
                   if t["status"] == "active" and t["seat_no"] is not None)
    double = [k for k, n in live.items() if n > 1]
    assert not double, f"seats sold twice: {double}"
    server_ids = set(ids)
    for rig in rigs:
        local = rig.outbox()
        assert server_events(srv, rig.client.terminal_id) == local, "server events differ from the outbox"
        missing = rig.sold_ticket_ids() - server_ids
        assert not missing, f"sales missing on the server: {sorted(missing)[:5]}"
        conflicts = srv.server.conflicts_of(rig.client.terminal_id)
        keys = {r[0] for r in rig.rows("SELECT key FROM sync_tasks")}
        for c in conflicts:
            assert f"{c['seq']}/{c['ticket_id']}" in keys, f"conflict without a clerk task: {c}"
    return {"tickets": len(tickets), "live_seats": len(live)}

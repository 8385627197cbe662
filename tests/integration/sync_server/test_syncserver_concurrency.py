"""Terminals and the web channel racing for the same seats, concurrently, over HTTP."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import select

from sync.server import models

from .conftest import DEST, TOMORROW


def test_racing_sales_never_share_a_seat_and_none_is_lost(server):
    terminals = [server.terminal() for _ in range(4)]
    uploaded: dict[str, list[str]] = {}
    web_sold: list[str] = []
    errors: list[str] = []
    start = threading.Barrier(len(terminals) + 1)

    def terminal_worker(t):
        # Every terminal sells every seat of the 10-seat bus, leases or not: the worst case.
        events = [t.sale(TOMORROW, seat) for seat in range(1, 11)]
        uploaded[t.terminal_id] = [e["payload"]["tickets"][0]["ticket_id"] for e in events]
        start.wait()
        for i in range(0, len(events), 2):
            r = t.upload(events[i:i + 2])
            if r.status_code != 200:
                errors.append(r.text)

    def web_worker():
        start.wait()
        for _ in range(6):
            r = server.post_admin("/v1/web/orders", {"departure_id": TOMORROW, "stop": DEST,
                                                     "passengers": [{"name": "网购"}]})
            if r.status_code == 201:
                web_sold.append(r.json()["tickets"][0]["ticket_id"])
            elif r.json()["error"] != "NO_SEATS":
                errors.append(r.text)

    threads = [threading.Thread(target=terminal_worker, args=(t,)) for t in terminals]
    threads.append(threading.Thread(target=web_worker))
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == []

    T = models.tickets
    with server.srv.server.engine.connect() as conn:
        rows = conn.execute(select(T.c.ticket_id, T.c.channel, T.c.status, T.c.seat_no, T.c.active_seat)
                            .where(T.c.departure_id == TOMORROW)).all()
    by_id = {r.ticket_id: r for r in rows}
    # Every uploaded sale is on the server exactly once (ticket_id is the primary key) ...
    for tids in uploaded.values():
        assert all(tid in by_id for tid in tids)
    assert len(rows) == 40 + len(web_sold)
    # ... no seat is held twice ...
    holders = Counter(r.seat_no for r in rows if r.active_seat is not None)
    assert holders and max(holders.values()) == 1
    assert len(holders) == 10  # the bus ended up full
    # ... and every sale that did not get its seat is an open conflict, reported to its terminal.
    losers = {r.ticket_id for r in rows if r.status == "conflict"}
    assert len(losers) == 40 - sum(1 for r in rows if r.channel == "terminal" and r.status == "active")
    reported = set()
    for t in terminals:
        for c in t.call("GET", "/v1/conflicts?status=open").json()["conflicts"]:
            assert c["kind"] in ("SEAT_TAKEN", "SEAT_LEASED")
            reported.add(c["ticket_id"])
    assert reported == losers

"""Other terminals' leases in the feed: a seat leased to one terminal reaches every terminal as a
``seat`` row with state ``leased``, so the others store it as held elsewhere and do not sell it
online into a SEAT_LEASED conflict; a seat that leaves a lease for the pool becomes a tombstone."""

from __future__ import annotations

from .conftest import TOMORROW


def lease(t, seats, departure_id=TOMORROW):
    r = t.call("POST", "/v1/leases", {"want": [{"departure_id": departure_id, "seats": seats}]})
    assert r.status_code == 200, r.text
    return r.json()["leases"][0]


def seat_rows(t, departure_id=TOMORROW, cursor=None):
    """Latest seat row per seat number in ``t``'s feed after ``cursor`` (None = tombstone), and
    the cursor to read on from."""
    path = "/v1/changes?limit=5000" + (f"&cursor={cursor}" if cursor else "")
    page = t.call("GET", path).json()
    out = {}
    for c in page["changes"]:
        if c["kind"] == "seat" and c["key"].startswith(departure_id + "/"):
            out[int(c["key"].rsplit("/", 1)[1])] = None if c["deleted"] else c["data"]
    return out, page["cursor"]


def leased_to(terminal_id, departure_id, seat):
    return {"departure_id": departure_id, "seat_no": seat, "state": "leased", "channel": "terminal",
            "terminal_id": terminal_id, "ticket_id": None}


def refund(t, ticket_id, at="2026-11-24T00:05:00Z"):
    # The fee of the first tier (10 % of 32.50, rounded to the jiao): the server checks it.
    return t.event("ticket.refunded", {"ticket_id": ticket_id, "fee": 330, "refund_amount": 2920, "forced": False,
                                       "approved_by": None, "refunded_at": at, "clerk": "c01", "shift_id": "S1"})


def test_a_grant_reaches_every_terminal_as_leased_seats(server):
    a, b = server.terminal(), server.terminal()
    lease(a, 3)
    for viewer in (a, b):
        rows, _ = seat_rows(viewer)
        assert rows == {s: leased_to(a.terminal_id, TOMORROW, s) for s in (1, 2, 3)}
    # The other terminal's own grant comes after a's seats, and a sees it the same way.
    lease(b, 2)
    rows, _ = seat_rows(a)
    assert rows[4] == leased_to(b.terminal_id, TOMORROW, 4) and rows[5] == leased_to(b.terminal_id, TOMORROW, 5)


def test_extending_a_lease_adds_no_seat_rows(server):
    a, b = server.terminal(), server.terminal()
    lease(a, 3)
    _, cursor = seat_rows(b)
    server.clock.advance(minutes=5)
    assert lease(a, 3)["granted"] == []  # a top-up that only extends the expiry
    assert lease(a, 0)["granted"] == []
    rows, _ = seat_rows(b, cursor=cursor)
    assert rows == {}


def test_seats_leaving_a_lease_for_the_pool_become_tombstones(server):
    a, b = server.terminal(), server.terminal()
    lease(a, 4)
    _, cursor = seat_rows(b)
    # Released early, sold, and expired: three ways out of the lease.
    r = a.call("POST", "/v1/leases/release", {"departure_id": TOMORROW, "seats": [4]})
    assert r.json()["released"] == 1
    sale = a.sale(TOMORROW, 1)
    assert a.upload([sale]).json()["conflicts"] == []
    server.clock.advance(minutes=11)
    assert server.post_admin("/v1/admin/sweep").json() == {"seats_returned": 2}
    rows, _ = seat_rows(b, cursor=cursor)
    assert rows[4] is None and rows[2] is None and rows[3] is None
    assert rows[1]["state"] == "sold" and rows[1]["ticket_id"] == sale["payload"]["tickets"][0]["ticket_id"]
    states = server.get_admin(f"/v1/web/departures/{TOMORROW}/seats").json()
    assert states["leased"] == [] and states["sold"] == [1]


def test_a_refund_back_into_the_lease_shows_the_seat_leased_not_free(server):
    a, b = server.terminal(), server.terminal()
    lease(a, 2)
    sale = a.sale(TOMORROW, 1)
    a.upload([sale])
    _, cursor = seat_rows(b)
    a.upload([refund(a, sale["payload"]["tickets"][0]["ticket_id"])])
    assert a.call("GET", "/v1/leases").json()["leases"][0]["seats"] == [1, 2]
    rows, _ = seat_rows(b, cursor=cursor)
    assert rows == {1: leased_to(a.terminal_id, TOMORROW, 1)}


def test_a_refund_with_no_live_lease_frees_the_seat(server):
    a, b = server.terminal(), server.terminal()
    sale = a.sale(TOMORROW, 7)  # sold from the pool, no lease on the departure
    assert a.upload([sale]).json()["conflicts"] == []
    _, cursor = seat_rows(b)
    a.upload([refund(a, sale["payload"]["tickets"][0]["ticket_id"])])
    rows, _ = seat_rows(b, cursor=cursor)
    assert rows == {7: None}


def test_a_web_sale_of_an_expired_lease_seat_survives_the_sweep(server):
    a, b = server.terminal(), server.terminal()
    lease(a, 2)
    server.clock.advance(minutes=11)  # expired, not swept yet
    r = server.post_admin("/v1/web/orders", {"departure_id": TOMORROW, "stop": "330106001",
                                             "passengers": [{"name": "李四", "seat_no": 1}]})
    assert r.status_code == 201, r.text
    assert server.post_admin("/v1/admin/sweep").json() == {"seats_returned": 2}
    rows, _ = seat_rows(b)
    assert rows[1]["state"] == "sold" and rows[1]["channel"] == "web"  # not freed by the sweep
    assert rows[2] is None


def test_a_requested_seat_shows_leased_and_its_former_holder_is_told(server):
    a, b, c = server.terminal(), server.terminal(), server.terminal()
    lease(a, 2)
    server.clock.advance(minutes=11)  # a's seats expired, not swept yet
    _, cursor = seat_rows(c)
    r = b.call("POST", "/v1/seats/request", {"departure_id": TOMORROW, "seat_no": 2})
    assert r.status_code == 200, r.text
    rows, _ = seat_rows(c, cursor=cursor)
    assert rows == {2: leased_to(b.terminal_id, TOMORROW, 2)}
    # a's lease row no longer lists the seat b now holds.
    lease_rows = [ch for ch in a.call("GET", "/v1/changes?limit=5000").json()["changes"] if ch["kind"] == "lease"]
    assert lease_rows[-1]["deleted"] or 2 not in lease_rows[-1]["data"]["seats"]


def test_revocation_and_cancellation_free_the_seats_for_everyone(server):
    a, b = server.terminal(), server.terminal()
    lease(a, 2)
    lease(b, 2, departure_id=TOMORROW)
    _, cursor = seat_rows(b)
    assert server.post_admin(f"/v1/admin/terminals/{a.terminal_id}/revoke").status_code == 200
    rows, cursor = seat_rows(b, cursor=cursor)
    assert rows == {1: None, 2: None}
    assert server.post_admin(f"/v1/admin/departures/{TOMORROW}/status", {"status": "cancelled"}).status_code == 200
    c = server.terminal()
    rows, _ = seat_rows(c)
    assert rows == {1: None, 2: None, 3: None, 4: None}


def test_a_terminal_store_holds_other_terminals_leased_seats_and_keeps_its_own_leased(server, tmp_path):
    """The real terminal client over loopback: another terminal's leased seats land as held
    elsewhere, its own leases stay leased to it, and a returned seat is free again."""
    import sqlite3

    from app.store.engine import open_database
    from sync.client import SyncClient, enrol

    a = server.terminal()
    lease(a, 3)
    db = open_database(tmp_path / "b.sqlite3")
    enrol(db, server.url, server.issue_code())
    client = SyncClient(db, server_url=server.url, timeout=(2.0, 10.0))

    def states():
        con = sqlite3.connect(tmp_path / "b.sqlite3")
        try:
            return dict(con.execute("SELECT seat_no, state FROM seats WHERE departure_id = ?", (TOMORROW,)))
        finally:
            con.close()

    try:
        assert client.run_once().ok
        seen = states()
        assert [seen[s] for s in (1, 2, 3)] == ["held", "held", "held"]
        # Seats the server leased to this terminal itself are leased here, never held.
        mine = [s for lz in client.transport.call("GET", "/v1/leases")["leases"] if lz["departure_id"] == TOMORROW
                for s in lz["seats"]]
        assert mine and all(seen[s] == "leased" for s in mine)
        assert a.call("POST", "/v1/leases/release", {"departure_id": TOMORROW, "seats": None}).json()["released"] == 3
        assert client.run_once().ok
        seen = states()
        assert all(seen[s] in ("free", "leased") for s in (1, 2, 3))
    finally:
        client.close()
        db.dispose()

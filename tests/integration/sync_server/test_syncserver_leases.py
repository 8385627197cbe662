"""The seat authority: leases (grant, top-up, expiry, take-back at the cut-off) and specific seats."""

from __future__ import annotations

from .conftest import DEST, SOON, TOMORROW


def lease(t, departure_id, seats):
    r = t.call("POST", "/v1/leases", {"want": [{"departure_id": departure_id, "seats": seats}]})
    assert r.status_code == 200, r.text
    return r.json()


def feed_leases(t):
    """Latest lease rows for this terminal in the feed, by departure (None = tombstone)."""
    out = {}
    for c in t.call("GET", "/v1/changes?limit=5000").json()["changes"]:
        if c["kind"] == "lease":
            out[c["key"]] = None if c["deleted"] else c["data"]["seats"]
    return out


def test_grant_gives_disjoint_blocks_to_terminals(server):
    a, b = server.terminal(), server.terminal()
    la = lease(a, TOMORROW, 3)["leases"][0]
    lb = lease(b, TOMORROW, 3)["leases"][0]
    assert la["seats"] == [1, 2, 3] and lb["seats"] == [4, 5, 6]
    assert la["expires_at"] == "2026-11-24T00:10:00Z"  # the 10-minute TTL of the test settings
    # Each terminal's lease reaches it through its own feed, and only its own.
    assert feed_leases(a) == {TOMORROW: [1, 2, 3]}
    assert feed_leases(b) == {TOMORROW: [4, 5, 6]}


def test_top_up_refills_to_the_target_and_extends_expiry(server):
    t = server.terminal()
    lease(t, TOMORROW, 3)
    t.upload([t.sale(TOMORROW, 1), t.sale(TOMORROW, 2)])
    server.clock.advance(minutes=5)
    top = lease(t, TOMORROW, 3)["leases"][0]
    assert top["granted"] == [4, 5] and top["seats"] == [3, 4, 5]
    assert set(top["seat_expiry"].values()) == {"2026-11-24T00:15:00Z"}  # old seat 3 extended too
    # Asking for 0 extends what is held and adds nothing.
    server.clock.advance(minutes=5)
    keep = lease(t, TOMORROW, 0)["leases"][0]
    assert keep["granted"] == [] and keep["seats"] == [3, 4, 5] and keep["expires_at"] == "2026-11-24T00:20:00Z"
    # The per-terminal cap holds (6 in the test settings).
    assert len(lease(t, TOMORROW, 50)["leases"][0]["seats"]) == 6


def test_top_up_reports_sold_out(server):
    a, b = server.terminal(), server.terminal()
    for t in (a, a, b):  # 6 + 4 = the 10 seats of the bus
        lease(t, TOMORROW, 6)
    got = lease(b, TOMORROW, 6)["leases"][0]
    assert got["seats"] == [7, 8, 9, 10] and got["sold_out"] is True


def test_expired_lease_returns_to_the_pool(server):
    a, b = server.terminal(), server.terminal()
    lease(a, TOMORROW, 3)
    server.clock.advance(minutes=11)
    # Expired seats are free again: another terminal gets them ...
    assert lease(b, TOMORROW, 3)["leases"][0]["seats"] == [1, 2, 3]
    # ... and the former holder learns through its feed that it holds nothing.
    assert feed_leases(a) == {TOMORROW: None}
    assert a.call("GET", "/v1/leases").json()["leases"] == []


def test_sweep_takes_back_expired_seats_and_publishes_it(server):
    t = server.terminal()
    lease(t, TOMORROW, 2)
    server.clock.advance(minutes=11)
    assert server.post_admin("/v1/admin/sweep").json() == {"seats_returned": 2}
    assert feed_leases(t) == {TOMORROW: None}
    seats = server.get_admin(f"/v1/web/departures/{TOMORROW}/seats").json()
    assert seats["leased"] == [] and len(seats["free"]) == 10


def test_take_back_at_the_cut_off(server):
    """SOON departs 09:00 local; START is 08:00; leases end 30 minutes before departure."""
    t = server.terminal()
    got = lease(t, SOON, 3)["leases"][0]
    # The 10-minute TTL ends before the cut-off: no capping yet.
    assert got["expires_at"] == "2026-11-24T00:10:00Z"
    server.clock.advance(minutes=25)  # 08:25 local: TTL would reach 08:35, past the cut-off at 08:30
    got = lease(t, SOON, 3)["leases"][0]
    assert got["expires_at"] == "2026-11-24T00:30:00Z"
    t.upload([t.sale(SOON, got["seats"][0])])
    server.clock.advance(minutes=5)  # 08:30: the cut-off
    r = t.call("POST", "/v1/leases", {"want": [{"departure_id": SOON, "seats": 3}]}).json()
    assert r["leases"] == [] and r["errors"][0]["error"] == "LEASE_CUTOFF"
    assert server.post_admin("/v1/admin/sweep").json() == {"seats_returned": 2}
    states = server.get_admin(f"/v1/web/departures/{SOON}/seats").json()
    assert states["sold"] == [got["seats"][0]] and states["leased"] == []
    # After the cut-off a terminal still sells, one requested seat at a time.
    one = t.call("POST", "/v1/seats/request", {"departure_id": SOON, "seat_no": None}).json()
    assert one["seat_no"] == 2 and one["expires_at"] == "2026-11-24T00:32:00Z"


def test_specific_seat_request(server):
    a, b = server.terminal(), server.terminal()
    r = a.call("POST", "/v1/seats/request", {"departure_id": TOMORROW, "seat_no": 8})
    assert r.status_code == 200 and r.json()["seat_no"] == 8
    assert a.call("GET", "/v1/leases").json()["leases"][0]["seats"] == [8]
    r = b.call("POST", "/v1/seats/request", {"departure_id": TOMORROW, "seat_no": 8})
    assert (r.status_code, r.json()["error"]) == (409, "SEAT_LEASED")
    a.upload([a.sale(TOMORROW, 8)])
    r = b.call("POST", "/v1/seats/request", {"departure_id": TOMORROW, "seat_no": 8})
    assert (r.status_code, r.json()["error"]) == (409, "SEAT_TAKEN")
    r = b.call("POST", "/v1/seats/request", {"departure_id": TOMORROW, "seat_no": 11})
    assert (r.status_code, r.json()["error"]) == (422, "SEAT_INVALID")
    r = b.call("POST", "/v1/seats/request", {"departure_id": "nope", "seat_no": 1})
    assert (r.status_code, r.json()["error"]) == (404, "UNKNOWN_DEPARTURE")
    # A requested seat is held only briefly (2 minutes in the test settings).
    server.clock.advance(minutes=3)
    r = b.call("POST", "/v1/seats/request", {"departure_id": TOMORROW, "seat_no": 1})
    assert r.status_code == 200


def test_cancelled_and_closed_departures(server):
    t = server.terminal()
    lease(t, TOMORROW, 3)
    assert server.post_admin(f"/v1/admin/departures/{TOMORROW}/status", {"status": "cancelled"}).status_code == 200
    # Cancelling takes the leases back at once.
    assert t.call("GET", "/v1/leases").json()["leases"] == []
    r = t.call("POST", "/v1/leases", {"want": [{"departure_id": TOMORROW, "seats": 3}]}).json()
    assert r["errors"][0]["error"] == "DEPARTURE_CANCELLED"
    server.clock.advance(minutes=56)  # 08:56: within SOON's 5-minute stop-sale window
    r = t.call("POST", "/v1/seats/request", {"departure_id": SOON, "seat_no": 1})
    assert (r.status_code, r.json()["error"]) == (409, "SALE_CLOSED")


def test_release_gives_seats_back(server):
    t = server.terminal()
    lease(t, TOMORROW, 4)
    r = t.call("POST", "/v1/leases/release", {"departure_id": TOMORROW, "seats": [1, 2]}).json()
    assert r["released"] == 2 and r["lease"]["seats"] == [3, 4]


def test_release_of_many_departures_in_one_call(server):
    t, other = server.terminal(), server.terminal()
    lease(t, TOMORROW, 4)
    lease(t, SOON, 2)
    lease(other, TOMORROW, 3)
    r = t.call("POST", "/v1/leases/release", {"departure_ids": [TOMORROW, SOON, "no-such-departure"]})
    assert r.status_code == 200, r.text
    assert r.json()["released"] == 6
    assert t.call("GET", "/v1/leases").json()["leases"] == []
    # Another terminal's lease on the same departure stays where it is.
    assert [x["seats"] for x in other.call("GET", "/v1/leases").json()["leases"]] == [[5, 6, 7]]
    assert server.get_admin(f"/v1/web/departures/{TOMORROW}/seats").json()["leased"] == [5, 6, 7]
    for body in ({"departure_ids": [TOMORROW], "departure_id": TOMORROW}, {"departure_ids": [TOMORROW], "seats": [1]},
                 {}):
        r = t.call("POST", "/v1/leases/release", body)
        assert (r.status_code, r.json()["error"]) == (422, "INVALID_REQUEST")


def test_revocation_takes_back_the_terminals_leases(server):
    t = server.terminal()
    lease(t, TOMORROW, 4)
    server.post_admin(f"/v1/admin/terminals/{t.terminal_id}/revoke")
    seats = server.get_admin(f"/v1/web/departures/{TOMORROW}/seats").json()
    assert seats["leased"] == []
    assert server.post_admin("/v1/web/orders", {"departure_id": TOMORROW, "stop": DEST,
                                                "passengers": [{"name": "王五", "seat_no": 1}]}).status_code == 201


def test_a_pool_share_keeps_seats_out_of_leases_for_online_sales(server_db_url, clock, settings):
    from dataclasses import replace

    from sync.server import ServerThread

    from .conftest import ADMIN, Harness, province_doc

    srv = ServerThread(server_db_url, admin_token=ADMIN, province=province_doc(), clock=clock,
                       settings=replace(settings, lease_pool_percent=50), sweep_interval=None)
    srv.start()
    try:
        h = Harness(srv, clock)
        a, b = h.terminal(), h.terminal()
        # Ten seats, half kept for the pool: a's top-up of six gets five, b's gets none.
        assert len(lease(a, TOMORROW, 6)["leases"][0]["seats"]) == 5
        r = b.call("POST", "/v1/leases", {"want": [{"departure_id": TOMORROW, "seats": 3}]}).json()
        assert r["leases"][0]["granted"] == [] and r["leases"][0]["sold_out"] is True
        # The pool is there for b's seat request and for the web.
        r = b.call("POST", "/v1/seats/request", {"departure_id": TOMORROW, "seat_no": None})
        assert r.status_code == 200 and r.json()["seat_no"] == 6
        assert h.post_admin("/v1/web/orders", {"departure_id": TOMORROW, "stop": DEST,
                                               "passengers": [{"name": "王五"}]}).status_code == 201
    finally:
        srv.stop()


def test_the_pool_share_is_a_server_option(capsys, monkeypatch, tmp_path):
    import pytest

    from app.cli import build_parser, main
    from sync.server import runner

    p = build_parser()
    assert p.parse_args(["server", "--lease-pool-percent", "50"]).lease_pool_percent == 50
    assert p.parse_args(["server", "serve", "--lease-pool-percent", "25"]).lease_pool_percent == 25
    assert p.parse_args(["server"]).lease_pool_percent == 0
    for bad in ("-1", "101", "half"):
        with pytest.raises(SystemExit):
            p.parse_args(["server", "--lease-pool-percent", bad])
        assert "not a percentage (0-100)" in capsys.readouterr().err
    # The server it starts is given the share.
    seen = {}
    monkeypatch.setattr(runner, "serve", lambda db, **kw: seen.update(kw))
    assert main(["server", "--db", str(tmp_path / "s.db"), "--empty", "--admin-token", "t",
                 "--lease-pool-percent", "40"]) == 0
    assert seen["settings"].lease_pool_percent == 40

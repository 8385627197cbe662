"""Revoking a terminal that still holds unsent sales: with a drain, its last events land first, then
it can do nothing (docs/protocol.md § Enrolment, revocation)."""

from __future__ import annotations

import json

from sync import protocol

from .conftest import DEST, SOON, TOMORROW, Terminal

SALES = 15


def offline_day(server, t: Terminal) -> list[dict]:
    """15 sales made while the link was down: 6 from the terminal's leases, 9 from the free pool."""
    r = t.call("POST", "/v1/leases", {"want": [{"departure_id": TOMORROW, "seats": 6}]})
    assert r.json()["leases"][0]["seats"] == [1, 2, 3, 4, 5, 6]
    return [t.sale(TOMORROW, seat) for seat in range(1, 7)] + [t.sale(SOON, seat) for seat in range(1, 10)]


def web_seat(server, departure_id: str) -> int:
    r = server.post_admin("/v1/web/orders", {"departure_id": departure_id, "stop": DEST, "passengers": [{"name": "李四"}]})
    assert r.status_code == 201, r.text
    return r.json()["tickets"][0]["seat_no"]


def refused(r) -> str:
    assert r.status_code == 401, r.text
    return r.json()["error"]


def test_a_draining_terminal_uploads_its_unsent_sales_then_can_do_nothing(server):
    t = server.terminal()
    unsent = offline_day(server, t)
    r = server.post_admin(f"/v1/admin/terminals/{t.terminal_id}/revoke", {"drain_hours": 24})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "draining" and r.json()["high_water"] == 0
    # Its keys are revoked at once: nothing it signs from now on passes a gate.
    keys = {k["key_id"]: k for k in server.terminal().call("GET", "/v1/keys").json()["keys"]}
    assert keys[t.terminal_id]["revoked_at"] == "2026-11-24T00:00:00Z"
    # Its leased seats stay its own while it drains: the web takes another seat.
    assert web_seat(server, TOMORROW) == 7

    # A request that is not its own (a wrong signature) neither ends the drain nor is answered.
    impostor = Terminal(server.url, t.terminal_id, protocol.new_secret(), server.clock)
    assert refused(impostor.call("GET", "/v1/changes")) == "BAD_SIGNATURE"

    # The terminal's sync cycle: its whole outbox first, batch by batch ...
    for start in range(0, SALES, 5):
        r = t.upload(unsent[start:start + 5])
        assert r.status_code == 200, r.text
        assert r.json()["conflicts"] == []
    assert r.json()["acked_through"] == SALES
    # ... then the pull, which ends the drain: the terminal is revoked.
    assert refused(t.call("GET", "/v1/changes")) == "TERMINAL_REVOKED"

    tickets = server.get_admin("/v1/admin/tickets", terminal=t.terminal_id).json()["tickets"]
    assert len(tickets) == SALES and {tk["status"] for tk in tickets} == {"active"}
    # After that it can do nothing, upload included; its unsold leased seats are back in the pool.
    assert refused(t.upload([t.sale(TOMORROW, 7)])) == "TERMINAL_REVOKED"
    assert refused(t.call("POST", "/v1/leases", {"want": [{"departure_id": TOMORROW, "seats": 1}]})) == "TERMINAL_REVOKED"
    listed = {x["terminal_id"]: x for x in server.get_admin("/v1/admin/terminals").json()["terminals"]}
    assert listed[t.terminal_id]["status"] == "revoked" and listed[t.terminal_id]["high_water"] == SALES


def test_a_draining_terminal_may_only_upload(server):
    t = server.terminal()
    unsent = offline_day(server, t)
    server.post_admin(f"/v1/admin/terminals/{t.terminal_id}/revoke", {"drain_hours": 24})
    # A top-up first (not an upload): the drain ends there, and what it had not sent is stranded,
    # as a terminal that skips its outbox strands it. The drain does not become a way to keep selling.
    assert refused(t.call("POST", "/v1/leases", {"want": [{"departure_id": TOMORROW, "seats": 6}]})) == "TERMINAL_REVOKED"
    assert refused(t.upload(unsent)) == "TERMINAL_REVOKED"
    # Its leases went back to the pool when the drain ended.
    assert web_seat(server, TOMORROW) == 1


def test_the_drain_ends_at_its_deadline(server):
    t = server.terminal()
    unsent = offline_day(server, t)
    r = server.post_admin(f"/v1/admin/terminals/{t.terminal_id}/revoke", {"drain_hours": 1})
    assert r.json()["drain_until"] == "2026-11-24T01:00:00Z"
    assert t.upload(unsent[:5]).json()["acked_through"] == 5
    server.clock.advance(minutes=61)
    assert refused(t.upload(unsent[5:])) == "TERMINAL_REVOKED"
    listed = {x["terminal_id"]: x for x in server.get_admin("/v1/admin/terminals").json()["terminals"]}
    assert listed[t.terminal_id]["status"] == "revoked" and listed[t.terminal_id]["high_water"] == 5


def test_the_sweeper_ends_a_drain_nobody_uses(server):
    t = server.terminal()
    offline_day(server, t)
    server.post_admin(f"/v1/admin/terminals/{t.terminal_id}/revoke", {"drain_hours": 1})
    server.clock.advance(hours=2)
    assert server.post_admin("/v1/admin/sweep").json()["drains_ended"] == 1
    listed = {x["terminal_id"]: x for x in server.get_admin("/v1/admin/terminals").json()["terminals"]}
    assert listed[t.terminal_id]["status"] == "revoked"


def test_revoking_at_once_still_refuses_everything(server):
    t = server.terminal()
    unsent = offline_day(server, t)
    r = server.post_admin(f"/v1/admin/terminals/{t.terminal_id}/revoke")
    assert r.json()["status"] == "revoked"
    assert refused(t.upload(unsent)) == "TERMINAL_REVOKED"
    # A drain asked for after the revocation gives nothing back.
    r = server.post_admin(f"/v1/admin/terminals/{t.terminal_id}/revoke", {"drain_hours": 24})
    assert r.json()["status"] == "revoked"
    assert refused(t.upload(unsent)) == "TERMINAL_REVOKED"


def test_revoke_drain_from_the_command_line(server, capsys):
    from app.cli import main

    t = server.terminal()
    unsent = offline_day(server, t)
    db = server.srv.db_url
    assert main(["server", "revoke", "--db", db, "--terminal", t.terminal_id, "--drain", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "draining" and out["drain_until"]  # 24 h by the command's own (real) clock
    assert t.upload(unsent).json()["acked_through"] == SALES
    assert refused(t.call("GET", "/v1/changes")) == "TERMINAL_REVOKED"
    # Hours that are no duration are refused by the command line itself.
    for bad in ("nan", "inf", "0", "-1", "1e308"):
        try:
            main(["server", "revoke", "--db", db, "--terminal", t.terminal_id, "--drain", bad])
        except SystemExit as exc:
            assert exc.code == 2
        else:
            raise AssertionError(f"--drain {bad} was accepted")

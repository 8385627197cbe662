"""Enrolment and request signing, over loopback HTTP."""

from __future__ import annotations

import requests

from sync import protocol

from .conftest import ADMIN, HOME, Terminal


def test_enrolment_gives_a_terminal_that_can_make_signed_requests(server):
    code = server.issue_code()
    r = server.enrol_raw(code)
    assert r.status_code == 201
    body = r.json()
    assert body["terminal_id"] == f"{HOME}-T01"
    assert body["station"]["code"] == HOME
    assert body["key_id"] == f"{HOME}-T01"
    t = Terminal(server.url, body["terminal_id"], body["secret"], server.clock)
    assert t.call("GET", "/v1/leases").status_code == 200
    # A second enrolment at the same station gets the next number and its own secret.
    t2 = server.terminal()
    assert t2.terminal_id == f"{HOME}-T02" and t2.secret != t.secret


def test_enrolment_code_is_single_use(server):
    code = server.issue_code()
    assert server.enrol_raw(code).status_code == 201
    again = server.enrol_raw(code.lower().replace("-", ""))  # however it is typed
    assert again.status_code == 403
    assert again.json()["error"] == "ENROL_CODE_USED"


def test_unknown_and_expired_codes_are_refused(server):
    r = server.enrol_raw("AAAA-BBBB-CCCC")
    assert (r.status_code, r.json()["error"]) == (403, "ENROL_CODE_INVALID")
    code = server.issue_code()
    server.clock.advance(hours=25)
    r = server.enrol_raw(code)
    assert (r.status_code, r.json()["error"]) == (403, "ENROL_CODE_EXPIRED")


def test_enrolment_rejects_a_bad_public_key(server):
    r = server.enrol_raw(server.issue_code(), public_key="bm90IGEga2V5")
    assert (r.status_code, r.json()["error"]) == (422, "BAD_PUBLIC_KEY")


def test_issuing_codes_needs_the_admin_token_and_a_real_station(server):
    r = requests.post(server.url + "/v1/admin/enrolment-codes", json={"station": HOME},
                      headers={protocol.H_PROTOCOL: "1", "Authorization": "Bearer wrong"}, timeout=5)
    assert (r.status_code, r.json()["error"]) == (401, "ADMIN_TOKEN_INVALID")
    r = requests.post(server.url + "/v1/admin/enrolment-codes", json={"station": HOME},
                      headers={protocol.H_PROTOCOL: "1"}, timeout=5)
    assert r.status_code == 401
    r = server.post_admin("/v1/admin/enrolment-codes", {"station": "999999999"})
    assert (r.status_code, r.json()["error"]) == (404, "UNKNOWN_STATION")


def test_revoked_terminal_is_refused(server):
    t = server.terminal()
    assert t.call("GET", "/v1/leases").status_code == 200
    r = server.post_admin(f"/v1/admin/terminals/{t.terminal_id}/revoke")
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    r = t.call("GET", "/v1/leases")
    assert (r.status_code, r.json()["error"]) == (401, "TERMINAL_REVOKED")
    # Its ticket-code key is marked revoked in the feed, so gates stop trusting new codes.
    other = server.terminal()
    keys = {k["key_id"]: k for k in other.call("GET", "/v1/keys").json()["keys"]}
    assert keys[t.terminal_id]["revoked_at"] is not None
    assert keys[other.terminal_id]["revoked_at"] is None


def test_unknown_terminal_is_refused(server):
    ghost = Terminal(server.url, f"{HOME}-T99", protocol.new_secret(), server.clock)
    r = ghost.call("GET", "/v1/leases")
    assert (r.status_code, r.json()["error"]) == (401, "UNKNOWN_TERMINAL")


def test_tampered_body_fails_the_signature(server):
    t = server.terminal()
    req = t.prepare("POST", "/v1/leases", {"want": [{"departure_id": "x", "seats": 1}]})
    req.body = req.body.replace(b'"seats": 1', b'"seats": 6')
    req.headers["Content-Length"] = str(len(req.body))
    r = t.send(req)
    assert (r.status_code, r.json()["error"]) == (401, "BAD_SIGNATURE")


def test_tampered_query_and_wrong_secret_fail_the_signature(server):
    t = server.terminal()
    req = t.prepare("GET", "/v1/changes?limit=5")
    req.url = req.url.replace("limit=5", "limit=50")
    assert t.send(req).json()["error"] == "BAD_SIGNATURE"
    impostor = Terminal(server.url, t.terminal_id, protocol.new_secret(), server.clock)
    r = impostor.call("GET", "/v1/leases")
    assert (r.status_code, r.json()["error"]) == (401, "BAD_SIGNATURE")


def test_stale_timestamp_is_refused_and_tells_the_server_time(server):
    t = server.terminal()
    now = int(server.clock().timestamp())
    ok = t.call("GET", "/v1/leases", timestamp=now - 290)
    assert ok.status_code == 200
    r = t.call("GET", "/v1/leases", timestamp=now - 301)
    assert (r.status_code, r.json()["error"]) == (401, "STALE_TIMESTAMP")
    assert r.json()["server_time"] == now
    r = t.call("GET", "/v1/leases", timestamp=now + 3600)
    assert r.json()["error"] == "STALE_TIMESTAMP"
    # The response header lets the terminal correct its clock without a second round trip.
    assert float(r.headers[protocol.H_SERVER_TIME]) == now
    assert "date" in r.headers


def test_replayed_request_is_refused(server):
    t = server.terminal()
    req = t.prepare("POST", "/v1/leases", {"want": [{"departure_id": "x"}]})
    first = t.send(req)
    assert first.status_code == 200
    replay = t.send(req)
    assert (replay.status_code, replay.json()["error"]) == (401, "REPLAYED_NONCE")
    # The same nonce is still refused minutes later, while its timestamp could pass.
    server.clock.advance(minutes=4)
    r = t.call("GET", "/v1/leases", nonce=req.headers[protocol.H_NONCE], timestamp=int(server.clock().timestamp()))
    assert r.json()["error"] == "REPLAYED_NONCE"


def test_unsigned_request_is_refused(server):
    r = requests.get(server.url + "/v1/leases", headers={protocol.H_PROTOCOL: "1"}, timeout=5)
    assert (r.status_code, r.json()["error"]) == (401, "AUTH_MISSING")


def test_nonces_are_forgotten_after_the_window(server):
    """The nonce table does not grow forever: after the skew window a nonce could never pass the
    timestamp check again, so it is dropped."""
    from sqlalchemy import func, select

    from sync.server import models

    t = server.terminal()
    for _ in range(3):
        assert t.call("GET", "/v1/leases").status_code == 200
    server.clock.advance(seconds=protocol.NONCE_RETENTION_SECONDS + 61)
    assert t.call("GET", "/v1/leases").status_code == 200
    with server.srv.server.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(models.nonces)).scalar_one() == 1


def test_admin_token_bearer_is_compared_exactly(server):
    r = requests.get(server.url + "/v1/admin/terminals",
                     headers={protocol.H_PROTOCOL: "1", "Authorization": f"Bearer {ADMIN}x"}, timeout=5)
    assert r.status_code == 401
    assert server.get_admin("/v1/admin/terminals").status_code == 200


def test_ticket_code_key_rotation_reaches_the_feed(server):
    from .conftest import public_key_b64

    t = server.terminal()
    new_key = public_key_b64()
    r = t.call("POST", "/v1/keys", {"public_key": new_key})
    assert r.status_code == 201 and r.json()["key_id"] == f"{t.terminal_id}-K2"
    keys = [c for c in t.call("GET", "/v1/changes?limit=5000").json()["changes"] if c["kind"] == "ticket_key"]
    assert [(c["key"], c["data"]["public_key"]) for c in keys][-1] == (f"{t.terminal_id}-K2", new_key)
    r = t.call("POST", "/v1/keys", {"public_key": "too-short"})
    assert (r.status_code, r.json()["error"]) == (422, "BAD_PUBLIC_KEY")

"""Garbage, huge and wrong-version requests get a clear error code, never a crash or a hang."""

from __future__ import annotations

import requests

from sync import protocol

from .conftest import TOMORROW

V1 = {protocol.H_PROTOCOL: protocol.PROTOCOL_VERSION}


def test_malformed_json_is_400_with_a_code(server):
    for body in (b"{not json", b"\xff\xfe\x00garbage", b'{"events": [1, 2,'):
        r = requests.post(server.url + "/v1/enrol", data=body, headers={**V1, "Content-Type": "application/json"},
                          timeout=5)
        assert (r.status_code, r.json()["error"]) == (400, "MALFORMED_JSON"), body
    # Signed correctly, still garbage: the same answer.
    t = server.terminal()
    r = t.call("POST", "/v1/events", raw=b"<html>oops</html>")
    assert (r.status_code, r.json()["error"]) == (400, "MALFORMED_JSON")


def test_well_formed_but_wrong_shape_is_422(server):
    t = server.terminal()
    r = t.call("POST", "/v1/events", {"events": "many"})
    assert (r.status_code, r.json()["error"]) == (422, "INVALID_REQUEST")
    ev = t.sale(TOMORROW, 1)
    ev["seq"] = "1"  # strings are not numbers: the hash covers the JSON as sent
    r = t.call("POST", "/v1/events", {"events": [ev]})
    assert (r.status_code, r.json()["error"]) == (422, "INVALID_REQUEST")
    assert r.json()["errors"][0]["loc"][-1] == "seq"


def test_an_empty_batch_is_answered_with_the_high_water_mark(server):
    """How a terminal with nothing to resend asks how far the server has it (a file restored from
    before its first event)."""
    t = server.terminal()
    r = t.call("POST", "/v1/events", {"events": []})
    assert (r.status_code, r.json()["acked_through"], r.json()["applied"]) == (200, 0, 0), r.text
    t.upload([t.sale(TOMORROW, 1), t.sale(TOMORROW, 2)])
    req = t.prepare("POST", "/v1/events", {"events": []})
    assert t.send(req).json()["acked_through"] == 2
    assert t.send(req).json()["error"] == "REPLAYED_NONCE"


def test_payload_of_the_wrong_shape_refuses_the_batch_and_names_the_event(server):
    t = server.terminal()
    good = t.sale(TOMORROW, 1)
    bad = t.event("ticket.sold", {"order_id": "o", "tickets": [{"seat_no": "three"}]})
    r = t.upload([good, bad])
    assert (r.status_code, r.json()["error"], r.json()["seq"]) == (422, "INVALID_REQUEST", 2)
    # Nothing of the batch was applied; the good event goes through on its own.
    assert t.upload([good]).json()["acked_through"] == 1


def test_huge_body_is_413(server):
    big = b'{"code": "' + b"A" * (300 * 1024) + b'", "public_key": "x"}'
    r = requests.post(server.url + "/v1/enrol", data=big, headers={**V1, "Content-Type": "application/json"},
                      timeout=10)
    assert (r.status_code, r.json()["error"]) == (413, "BODY_TOO_LARGE")

    def chunks():  # no Content-Length: the size is only known while reading
        yield b'{"code": "'
        for _ in range(40):
            yield b"B" * 8192
        yield b'", "public_key": "x"}'

    r = requests.post(server.url + "/v1/enrol", data=chunks(), headers={**V1, "Content-Type": "application/json"},
                      timeout=10)
    assert (r.status_code, r.json()["error"]) == (413, "BODY_TOO_LARGE")
    # The server is fine afterwards.
    assert requests.get(server.url + "/v1/health", timeout=5).status_code == 200


def test_wrong_or_missing_protocol_version(server):
    t = server.terminal()
    req = t.prepare("GET", "/v1/leases")
    req.headers[protocol.H_PROTOCOL] = "2"
    r = t.send(req)
    assert r.status_code == 400
    assert r.json()["error"] == "PROTOCOL_VERSION" and r.json()["supported"] == ["1"] and r.json()["got"] == "2"
    r = requests.post(server.url + "/v1/enrol", json={"code": "x", "public_key": "y"}, timeout=5)
    assert (r.status_code, r.json()["error"]) == (400, "PROTOCOL_VERSION")
    # Every answer says which version the server speaks, so a client can tell what to upgrade to.
    assert r.headers[protocol.H_PROTOCOL] == "1"


def test_unknown_paths_and_methods(server):
    r = requests.get(server.url + "/v1/nothing-here", headers=V1, timeout=5)
    assert (r.status_code, r.json()["error"]) == (404, "NOT_FOUND")
    r = requests.delete(server.url + "/v1/health", timeout=5)
    assert (r.status_code, r.json()["error"]) == (405, "METHOD_NOT_ALLOWED")


def test_health_and_openapi_document(server):
    h = requests.get(server.url + "/v1/health", timeout=5).json()
    assert h["status"] == "ok" and h["protocol"] == "1"
    assert h["server_time"] == server.clock().timestamp()
    doc = requests.get(server.url + "/openapi.json", timeout=5).json()
    paths = set(doc["paths"])
    for p in ("/v1/enrol", "/v1/events", "/v1/changes", "/v1/leases", "/v1/seats/request", "/v1/keys",
              "/v1/reconciliation", "/v1/web/orders", "/v1/admin/enrolment-codes", "/v1/admin/tickets"):
        assert p in paths, p
    assert "Event" in doc["components"]["schemas"]


def test_server_thread_stops_cleanly(server_db_url):
    import socket

    from sync.server import ServerThread

    from .conftest import province_doc

    srv = ServerThread(server_db_url, admin_token="t", province=province_doc()).start()
    assert srv.port > 0 and srv.url == f"http://127.0.0.1:{srv.port}"
    assert requests.get(srv.url + "/v1/health", timeout=5).status_code == 200
    srv.stop()
    assert not srv._thread.is_alive()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", srv.port)) != 0  # nothing listens any more
    # The database is released: a new server opens the same database and finds its data.
    with ServerThread(server_db_url, admin_token="t") as again:
        assert again.server.has_master_data()

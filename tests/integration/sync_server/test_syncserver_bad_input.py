"""Bodies and headers a terminal never sends, aimed at every route: each is answered with a 4xx and
the protocol's error body, and logs at most one line, never a traceback (a way to flood the log)."""

from __future__ import annotations

import http.client
import json
import logging
import re
import socket

import pytest
import requests

from sync import protocol

from .conftest import ADMIN, DEST, HOME, TOMORROW

BIG = 10**30  # past 64 bits: no column holds it


def _json(obj) -> bytes:
    # Lone surrogates pass through as "\ud800" escapes, as any client may send them.
    return json.dumps(obj, allow_nan=True).encode()


@pytest.fixture
def log_records(caplog):
    caplog.set_level(logging.INFO)
    return caplog


def assert_refused(r: requests.Response, *statuses: int) -> dict:
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    if statuses:
        assert r.status_code in statuses, (r.status_code, r.text[:300])
    body = r.json()
    assert body["error"] in protocol.ERRORS and body["message"] and body["message_zh"], body
    return body


def assert_no_traceback(caplog) -> None:
    noisy = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not noisy, [f"{r.name}: {r.getMessage()}" for r in noisy]


def test_non_ascii_signature_headers_before_any_login_are_401(server, log_records):
    t = server.terminal()
    for header in (protocol.H_SIGNATURE, protocol.H_TERMINAL, protocol.H_NONCE, protocol.H_TIMESTAMP):
        req = t.prepare("GET", "/v1/leases")
        # requests sends str headers as latin-1: these are the UTF-8 bytes of 签名 on the wire.
        req.headers[header] = "签名é".encode().decode("latin-1")
        body = assert_refused(t.send(req), 401)
        assert body["error"] in ("AUTH_MISSING", "BAD_SIGNATURE", "UNKNOWN_TERMINAL", "STALE_TIMESTAMP")
    # A signature of the right length with one non-ASCII character, and a timestamp of other digits.
    req = t.prepare("GET", "/v1/leases")
    req.headers[protocol.H_SIGNATURE] = req.headers[protocol.H_SIGNATURE][:-1] + "\xe9"
    assert_refused(t.send(req), 401)
    req = t.prepare("GET", "/v1/leases")
    req.headers[protocol.H_TIMESTAMP] = req.headers[protocol.H_TIMESTAMP][:-2] + "\xb2\xb2"  # ²: a digit to isdigit()
    assert_refused(t.send(req), 401)
    assert t.call("GET", "/v1/leases").status_code == 200  # the terminal itself is unharmed
    assert_no_traceback(log_records)


def test_deep_nesting_is_a_malformed_body(server, log_records):
    t = server.terminal()
    deep = b"[" * 100_000 + b"]" * 100_000
    assert_refused(t.call("POST", "/v1/events", raw=b'{"events":' + deep + b"}"), 400, 422)
    assert_refused(t.call("POST", "/v1/leases", raw=b'{"want":' + deep[:60_000] + deep[-60_000:] + b"}"), 400, 413, 422)
    r = requests.post(server.url + "/v1/admin/province", data=b'{"stations":' + deep + b"}",
                      headers={**server.admin, "Content-Type": "application/json"}, timeout=30)
    assert_refused(r, 400, 422)
    # Deep, but shallow enough to decode: the event's payload cannot be hashed.
    ev = t.sale(TOMORROW, 1)
    payload_text = json.dumps(ev["payload"])[:-1] + ', "x": ' + "[" * 5000 + "]" * 5000 + "}"
    raw = (b'{"events": [{"terminal_id": "%s", "seq": 1, "event_id": "e1", "type": "ticket.sold", '
           b'"created_at": "2026-11-24T00:00:00Z", "hash": "00", "payload": %s}]}'
           % (t.terminal_id.encode(), payload_text.encode()))
    assert_refused(t.call("POST", "/v1/events", raw=raw), 400, 422)
    assert t.upload([t.sale(TOMORROW, 1, seq=1)]).json()["acked_through"] == 1
    assert_no_traceback(log_records)


def test_huge_integers_in_seq_money_and_seat_fields_are_refused(server, log_records):
    t = server.terminal()
    sale = t.sale(TOMORROW, 1)
    huge_seq = {**sale, "seq": BIG}
    huge_seq["hash"] = protocol.event_hash(huge_seq)
    assert_refused(t.upload([huge_seq]), 422)
    t.seq = 0
    assert_refused(t.upload([t.sale(TOMORROW, BIG, seq=1)]), 422)  # a seat no column holds: a bad body
    # A price past 64 bits is a well-formed event with an amount no fare allows: acknowledged as
    # refused (an alarm for the province, a REFUSED conflict for the terminal), never applied.
    r = t.upload([t.sale(TOMORROW, 1, price=BIG, seq=1)])
    assert r.status_code == 200 and [c["kind"] for c in r.json()["conflicts"]] == ["REFUSED"], r.text
    assert any(a["kind"] == "BAD_AMOUNT" and a["seq"] == 1 for a in server.get_admin("/v1/admin/alarms").json()["alarms"])
    assert_refused(t.call("POST", "/v1/seats/request", {"departure_id": TOMORROW, "seat_no": BIG}), 422)
    assert_refused(t.call("POST", "/v1/leases", {"want": [{"departure_id": TOMORROW, "seats": BIG}]}), 422)
    r = requests.post(server.url + "/v1/web/orders", json={
        "departure_id": TOMORROW, "stop": DEST, "passengers": [{"name": "李四", "seat_no": 2, "insurance": BIG}]},
        headers=server.admin, timeout=10)
    assert_refused(r, 422)
    assert t.upload([t.sale(TOMORROW, 1, seq=2)]).json()["acked_through"] == 2  # nothing was half-applied
    assert_no_traceback(log_records)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e400", "1e308", "0", "-5"])
def test_ttl_hours_that_is_no_duration_is_422(server, log_records, value):
    r = requests.post(server.url + "/v1/admin/enrolment-codes", data=f'{{"station": "{HOME}", "ttl_hours": {value}}}',
                      headers={**server.admin, "Content-Type": "application/json"}, timeout=10)
    body = assert_refused(r, 422)
    assert body["error"] == "INVALID_REQUEST"
    assert server.post_admin("/v1/admin/enrolment-codes", {"station": HOME, "ttl_hours": 2}).status_code == 201
    assert_no_traceback(log_records)


# Bounded fuzzing: every route with a body, every member, a fixed set of wrong values.
BAD_VALUES = [None, True, BIG, -BIG, 1.5, float("nan"), float("inf"), "x" * 70_000, "a\ud800b", [], [[[[]]]],
              {}, {"a": None}, [None], [BIG], [{"departure_id": BIG, "seats": BIG}], [{"name": None}],
              [{"departure_id": TOMORROW, "seats": BIG}], [{"name": "a", "seat_no": BIG, "insurance": BIG}],
              [{"name": "a\ud800", "doc_number": "\ud800"}]]
BAD_BODIES = [b"", b"null", b"1", b'"x"', b"[]", b"{}", b"NaN", b'{"x": 1e400}', b"1" * 5000, b"\xff\xfe{",
              b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}", b"[" * 200_000]
ROUTES = {  # path: (who sends it, a valid body to spoil one member of)
    "/v1/enrol": (None, {"code": "ABCD-EFGH-JKMN", "public_key": "x", "label": ""}),
    "/v1/keys": ("terminal", {"public_key": "x"}),
    "/v1/events": ("terminal", {"events": []}),
    "/v1/leases": ("terminal", {"want": []}),
    "/v1/leases/release": ("terminal", {"departure_id": TOMORROW, "seats": None}),
    "/v1/seats/request": ("terminal", {"departure_id": TOMORROW, "seat_no": None}),
    "/v1/admin/enrolment-codes": ("admin", {"station": HOME, "label": "", "ttl_hours": None}),
    f"/v1/admin/departures/{TOMORROW}/status": ("admin", {"status": "delayed"}),
    "/v1/admin/terminals/X-T01/revoke": ("admin", {"drain_hours": None}),
    "/v1/admin/province": ("admin", {"stations": [], "departures": []}),
    "/v1/web/orders": ("admin", {"departure_id": TOMORROW, "stop": DEST, "payment": None,
                                 "passengers": [{"name": "a", "doc_type": "resident_id", "doc_number": None,
                                                 "doc_hash": None, "ticket_type": "full", "seat_no": None,
                                                 "insurance": 0}]}),
}


def test_no_malformed_body_on_any_route_is_a_server_error(server, log_records):
    t = server.terminal()
    session = requests.Session()

    def send(path, who, raw):
        if who == "terminal":
            return t.call("POST", path, raw=raw)
        headers = {protocol.H_PROTOCOL: protocol.PROTOCOL_VERSION, "Content-Type": "application/json"}
        if who == "admin":
            headers["Authorization"] = f"Bearer {ADMIN}"
        return session.post(server.url + path, data=raw, headers=headers, timeout=30)

    tried, refused = 0, []
    for path, (who, valid) in ROUTES.items():
        spoilt = [_json({**valid, name: value}) for name in valid for value in BAD_VALUES]
        if "passengers" in valid:
            passenger = valid["passengers"][0]
            spoilt += [_json({**valid, "passengers": [{**passenger, name: value}]})
                       for name in passenger for value in BAD_VALUES]
        for raw in BAD_BODIES + spoilt:
            r = send(path, who, raw)
            tried += 1
            # Some spoilt members are still valid (a null seat, an empty list): those may succeed.
            if r.status_code >= 500 or (r.status_code >= 400 and r.json().get("error") not in protocol.ERRORS):
                refused.append((path, raw[:60], r.status_code, r.text[:120]))
    # Queries and paths of the GET routes: numbers past 64 bits, junk cursors and dates, odd bytes.
    for path in ["/v1/changes?limit=" + "9" * 40, "/v1/changes?limit=-1", "/v1/changes?cursor=a:" + "9" * 40,
                 "/v1/changes?cursor=a:1@" + "9" * 40, "/v1/changes?cursor=%ud800", "/v1/reconciliation?date=9999-99-99",
                 "/v1/conflicts?status=" + "x" * 1000, "/v1/departures/" + "x" * 1000 + "/seats",
                 "/v1/departures/%00%ff/seats", "/v1/pickup/%ED%A0%80", "/v1/pickup/" + "9" * 5000]:
        r = t.call("GET", path)
        tried += 1
        if r.status_code >= 500 or (r.status_code >= 400 and r.json().get("error") not in protocol.ERRORS):
            refused.append((path[:60], r.status_code, r.text[:120]))
    for path in ["/v1/admin/tickets?date=9999-99-99&terminal=%00", "/v1/admin/reconciliation?terminal=x&date=9999-99-99",
                 "/v1/admin/conflicts?terminal=" + "9" * 5000, "/v1/web/departures/%ED%A0%80/seats"]:
        r = session.get(server.url + path, headers=server.admin, timeout=30)
        tried += 1
        if r.status_code >= 500 or (r.status_code >= 400 and r.json().get("error") not in protocol.ERRORS):
            refused.append((path[:60], r.status_code, r.text[:120]))
    assert tried > 600
    assert refused == [], "\n".join(map(repr, refused))
    assert_no_traceback(log_records)
    assert t.upload([t.sale(TOMORROW, 1, seq=1)]).json()["acked_through"] == 1


# Bodies read before authentication: whoever may not send a request is refused on its headers, and
# a route with a few fields takes no more than a few kilobytes.


def _head_only(url: str, path: str, headers: dict, declared: int) -> tuple[int, dict]:
    """Sends the request line and headers declaring ``declared`` body bytes, and none of them: a
    server that reads the body before answering never answers (the socket times out)."""
    host, port = url.removeprefix("http://").split(":")
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {declared}",
             "Content-Type: application/json", f"{protocol.H_PROTOCOL}: 1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        reply = b""
        while b"\r\n\r\n" not in reply or len(reply) < reply.index(b"\r\n\r\n") + 4 + _length(reply):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def _length(reply: bytes) -> int:
    m = re.search(rb"content-length: (\d+)", reply.partition(b"\r\n\r\n")[0], re.I)
    return int(m.group(1)) if m else 0


def _signed_headers(terminal_id: str, clock, **changes) -> dict:
    headers = {protocol.H_TERMINAL: terminal_id, protocol.H_TIMESTAMP: str(int(clock().timestamp())),
               protocol.H_NONCE: protocol.new_nonce(), protocol.H_SIGNATURE: "0" * 64}
    headers.update(changes)
    return headers


def test_callers_who_may_not_send_are_refused_before_their_body_is_read(server):
    t = server.terminal()
    near_limit = 200 * 1024  # under this server's 256 KiB limit for uploads
    cases = [
        ("/v1/events", _signed_headers("330102001-T99", server.clock), 401, "UNKNOWN_TERMINAL"),
        ("/v1/events", _signed_headers(t.terminal_id, server.clock, **{protocol.H_TIMESTAMP: "1000"}),
         401, "STALE_TIMESTAMP"),
        ("/v1/events", _signed_headers(t.terminal_id, server.clock, **{protocol.H_NONCE: "short"}), 401, "AUTH_MISSING"),
        ("/v1/events", {}, 401, "AUTH_MISSING"),
        ("/v1/admin/province", {}, 401, "ADMIN_TOKEN_INVALID"),
        ("/v1/admin/province", {"Authorization": "Bearer wrong"}, 401, "ADMIN_TOKEN_INVALID"),
        ("/v1/web/orders", {"Authorization": "Bearer wrong"}, 401, "ADMIN_TOKEN_INVALID", 2000),
        ("/v1/leases", _signed_headers("330102001-T99", server.clock), 401, "UNKNOWN_TERMINAL", 2000),
        # A route of a few fields: its limit is far below the upload's.
        ("/v1/leases", _signed_headers(t.terminal_id, server.clock), 413, "BODY_TOO_LARGE"),
        ("/v1/enrol", {}, 413, "BODY_TOO_LARGE"),
    ]
    for path, headers, status, code, *declared in cases:
        got_status, body = _head_only(server.url, path, headers, declared[0] if declared else near_limit)
        assert (got_status, body["error"]) == (status, code), (path, body)
    server.post_admin(f"/v1/admin/terminals/{t.terminal_id}/revoke")
    got_status, body = _head_only(server.url, "/v1/events", _signed_headers(t.terminal_id, server.clock), near_limit)
    assert (got_status, body["error"]) == (401, "TERMINAL_REVOKED")


def test_a_streamed_body_is_cut_at_its_routes_limit(server):
    t = server.terminal()
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=20)
    # Chunked: no Content-Length to refuse it by. 160 KiB in all: under the upload's limit, over a
    # lease request's.
    conn.request("POST", "/v1/leases", body=iter([b" " * 4096] * 40), encode_chunked=True,
                 headers={protocol.H_PROTOCOL: "1", "Content-Type": "application/json",
                          **_signed_headers(t.terminal_id, server.clock)})
    r = conn.getresponse()
    body = json.loads(r.read())
    conn.close()
    assert (r.status, body["error"]) == (413, "BODY_TOO_LARGE")
    assert body["max_bytes"] < 160 * 1024
    assert t.call("POST", "/v1/leases", {"want": [{"departure_id": TOMORROW, "seats": 3}]}).status_code == 200

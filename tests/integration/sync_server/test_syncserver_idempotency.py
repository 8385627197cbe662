"""A call retried with the same Idempotency-Key gets the first answer and is done once: an enrolment
whose answer was lost, an admin call, a web order and its refund, a seat request. A different request
under a used key is refused; two copies of one request at once run once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from sync import protocol

from .conftest import DEST, HOME, TOMORROW, public_key_b64

KEY = protocol.H_IDEMPOTENCY_KEY
REPLAY = protocol.H_IDEMPOTENT_REPLAY


def _web_order(server, key: str | None, name: str = "网购") -> requests.Response:
    headers = {**server.admin, **({KEY: key} if key else {})}
    return requests.post(server.url + "/v1/web/orders", json={"departure_id": TOMORROW, "stop": DEST,
                                                              "passengers": [{"name": name}]},
                         headers=headers, timeout=10)


def _web_tickets(server) -> list[dict]:
    return server.get_admin("/v1/admin/tickets", channel="web").json()["tickets"]


def test_an_enrolment_retried_after_a_lost_answer_gets_the_same_terminal(server):
    code, public = server.issue_code(), public_key_b64()
    body = {"code": code, "public_key": public}
    headers = {protocol.H_PROTOCOL: protocol.PROTOCOL_VERSION, KEY: "enrol-0001-abcdef"}
    first = requests.post(server.url + "/v1/enrol", json=body, headers=headers, timeout=10)
    again = requests.post(server.url + "/v1/enrol", json=body, headers=headers, timeout=10)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers.get(REPLAY) == "true"
    assert first.headers.get(REPLAY) is None
    terminals = server.get_admin("/v1/admin/terminals").json()["terminals"]
    assert [t["terminal_id"] for t in terminals] == [first.json()["terminal_id"]]
    # Without the key, the same retry is what it always was: the code is used.
    bare = requests.post(server.url + "/v1/enrol", json=body,
                         headers={protocol.H_PROTOCOL: protocol.PROTOCOL_VERSION}, timeout=10)
    assert bare.json()["error"] == "ENROL_CODE_USED"


def test_a_web_order_and_its_refund_retried_are_done_once(server):
    first = _web_order(server, "order-key-0001")
    again = _web_order(server, "order-key-0001")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert len(_web_tickets(server)) == 1
    ticket = first.json()["tickets"][0]["ticket_id"]
    refund = [requests.post(server.url + f"/v1/web/tickets/{ticket}/refund",
                            headers={**server.admin, KEY: "refund-key-0001"}, timeout=10) for _ in range(2)]
    assert [r.status_code for r in refund] == [200, 200] and refund[1].json() == refund[0].json()
    # Without a key the second refund is refused as what it is: a refund of a refunded ticket.
    bare = requests.post(server.url + f"/v1/web/tickets/{ticket}/refund", headers=server.admin, timeout=10)
    assert bare.status_code == 409
    # Another order is another key: done.
    assert _web_order(server, "order-key-0002").status_code == 201
    assert len(_web_tickets(server)) == 2


def test_a_used_key_with_another_request_is_refused(server):
    assert _web_order(server, "order-key-0003", name="张三").status_code == 201
    r = _web_order(server, "order-key-0003", name="李四")
    assert (r.status_code, r.json()["error"]) == (409, "IDEMPOTENCY_KEY_REUSED")
    assert r.json()["message_zh"] == protocol.ERRORS["IDEMPOTENCY_KEY_REUSED"].zh
    assert len(_web_tickets(server)) == 1
    bad = _web_order(server, "short")
    assert (bad.status_code, bad.json()["error"]) == (400, "INVALID_REQUEST")


def test_an_admin_call_retried_returns_the_same_code(server):
    headers = {**server.admin, KEY: "issue-code-0001"}
    answers = [requests.post(server.url + "/v1/admin/enrolment-codes", json={"station": HOME}, headers=headers,
                             timeout=10) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json()["code"] == answers[1].json()["code"]


def test_a_seat_request_retried_holds_one_seat_and_keys_are_each_callers_own(server):
    a, b = server.terminal(), server.terminal()
    body = {"departure_id": TOMORROW, "seat_no": None}
    # Each attempt is signed afresh (a new nonce); the key is what makes it the same request.
    first = a.send(_keyed(a, body, "seat-key-0001"))
    again = a.send(_keyed(a, body, "seat-key-0001"))
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json() and again.headers.get(REPLAY) == "true"
    # The same key from another terminal is that terminal's own request: another seat.
    other = b.send(_keyed(b, body, "seat-key-0001"))
    assert other.status_code == 200 and other.json()["seat_no"] != first.json()["seat_no"]
    leases = a.call("GET", "/v1/leases").json()["leases"]
    assert [lease["seats"] for lease in leases] == [[first.json()["seat_no"]]]


def test_an_answer_not_worth_keeping_leaves_the_key_free(server):
    t = server.terminal()
    body = {"departure_id": TOMORROW, "seat_no": 3}
    stale = _keyed(t, body, "seat-key-0002")
    stale.headers[protocol.H_SIGNATURE] = "0" * 64  # refused for this attempt, not for the request
    assert t.send(stale).json()["error"] == "BAD_SIGNATURE"
    r = t.send(_keyed(t, body, "seat-key-0002"))
    assert r.status_code == 200 and r.json()["seat_no"] == 3 and r.headers.get(REPLAY) is None


def test_two_copies_of_one_request_at_once_run_once(server):
    barrier = threading.Barrier(4)

    def order():
        barrier.wait()
        return _web_order(server, "order-key-race")

    with ThreadPoolExecutor(4) as pool:
        answers = [f.result() for f in [pool.submit(order) for _ in range(4)]]
    assert [r.status_code for r in answers] == [201] * 4, [r.text for r in answers]
    assert len({r.text for r in answers}) == 1
    assert len(_web_tickets(server)) == 1


def _keyed(t, body, key) -> requests.PreparedRequest:
    req = t.prepare("POST", "/v1/seats/request", body)
    req.headers[KEY] = key
    return req

"""The web channel: online sales competing for the same seats, picked up at a terminal."""

from __future__ import annotations

import json

import requests

from sync import protocol

from .conftest import DEST, MID, TOMORROW, id_number


def order(server, **body):
    body = {"departure_id": TOMORROW, "stop": DEST, "passengers": [{"name": "李四"}], **body}
    return server.post_admin("/v1/web/orders", body)


def test_web_sales_take_only_free_seats(server):
    a = server.terminal()
    a.call("POST", "/v1/leases", {"want": [{"departure_id": TOMORROW, "seats": 6}]})
    sold = []
    for _ in range(4):
        r = order(server)
        assert r.status_code == 201, r.text
        sold.append(r.json()["tickets"][0]["seat_no"])
    assert sold == [7, 8, 9, 10]  # never a seat a terminal may be selling offline
    r = order(server)
    assert (r.status_code, r.json()["error"]) == (409, "NO_SEATS")
    r = order(server, passengers=[{"name": "赵六", "seat_no": 2}])
    assert (r.status_code, r.json()["error"]) == (409, "SEAT_LEASED")
    # The terminal cannot be granted a seat the web sold.
    r = a.call("POST", "/v1/seats/request", {"departure_id": TOMORROW, "seat_no": 7})
    assert r.json()["error"] == "SEAT_TAKEN"


def test_web_price_comes_from_the_fare_table(server):
    r = order(server, stop=MID, passengers=[{"name": "大人"}, {"name": "小孩", "ticket_type": "child"}])
    tickets = r.json()["tickets"]
    assert [(t["fare"], t["price"]) for t in tickets] == [(1500, 1500), (1500, 750)]
    assert r.json()["amount"] == 2250
    r = order(server, stop="330999001")
    assert (r.status_code, r.json()["error"]) == (422, "UNKNOWN_FARE")


def test_web_channel_needs_its_token(server):
    r = requests.post(server.url + "/v1/web/orders", json={"departure_id": TOMORROW, "stop": DEST,
                                                           "passengers": [{"name": "x"}]},
                      headers={protocol.H_PROTOCOL: "1"}, timeout=5)
    assert r.status_code == 401


def test_web_ticket_is_picked_up_at_a_terminal(server):
    r = order(server, passengers=[{"name": "李四", "doc_type": "resident_id", "doc_number": "11010119900307001X",
                                   "doc_hash": "dh-1"}])
    ticket = r.json()["tickets"][0]
    code = ticket["pickup_code"]
    t = server.terminal()
    # The terminal sees it in the feed (for a lookup by ID card: name, mask and 8-bit tag; no number,
    # no hash -- a hash the web client sends is not used) ...
    web = [c for c in t.call("GET", "/v1/changes?limit=5000").json()["changes"] if c["kind"] == "web_ticket"]
    assert web[-1]["data"]["passenger"] == {"name": "李四", "doc_type": "resident_id",
                                            "doc_masked": "**************001X",
                                            "doc_tag": ticket["passenger"]["doc_tag"]}
    assert "dh-1" not in str(web)
    assert "11010119900307001X" not in str(web)
    # ... and by pick-up code on demand.
    found = t.call("GET", f"/v1/pickup/{code}").json()
    assert found["ticket_id"] == ticket["ticket_id"] and found["picked_up_at"] is None
    up = t.event("ticket.picked_up", {"ticket_id": ticket["ticket_id"], "stock_no": "A0100",
                                      "picked_up_at": "2026-11-24T00:30:00Z", "clerk": "c01", "shift_id": "S1"})
    assert t.upload([up]).json()["conflicts"] == []
    found = t.call("GET", f"/v1/pickup/{code}").json()
    assert (found["picked_up_by"], found["stock_no"]) == (t.terminal_id, "A0100")
    # Picked up elsewhere too: a conflict for the second terminal, not a second paper ticket.
    t2 = server.terminal()
    up2 = t2.event("ticket.picked_up", {"ticket_id": ticket["ticket_id"], "stock_no": "B0001",
                                        "picked_up_at": "2026-11-24T00:31:00Z", "clerk": "c02", "shift_id": "S9"})
    assert t2.upload([up2]).json()["conflicts"][0]["kind"] == "ALREADY_PICKED_UP"
    # And a picked-up ticket can no longer be refunded online.
    r = server.post_admin(f"/v1/web/tickets/{ticket['ticket_id']}/refund")
    assert (r.status_code, r.json()["error"]) == (409, "ALREADY_PICKED_UP")


def test_web_ticket_document_tag_uses_the_provinces_key(server):
    """The server tags the number with the key every terminal got at enrolment, so a tap of the ID
    card at a window finds the online ticket (name, mask and tag); the full hash under that key is
    never sent."""
    import base64

    from app.domain.identity import document_hash, document_tag

    enrolled = server.enrol_raw(server.issue_code()).json()
    key = base64.b64decode(enrolled["doc_hash_key"])
    ticket = order(server, passengers=[{"name": "李四", "doc_number": "11010119900307001x"}]).json()["tickets"][0]
    assert ticket["passenger"]["doc_tag"] == document_tag(key, "resident_id", "11010119900307001X")
    assert document_hash(key, "resident_id", "11010119900307001X")[2:] not in json.dumps(ticket)


def test_one_seat_per_document_across_channels_by_the_servers_own_key(server):
    """A web order and a window sale of the same document on one departure: the second is refused
    (web) or a conflict (terminal), whatever hash anyone sends; another departure is fine."""
    t = server.terminal()
    number = "11010119900307001X"
    assert order(server, passengers=[{"name": "李四", "doc_number": number}]).status_code == 201
    again = order(server, passengers=[{"name": "李四", "doc_type": "temporary_id", "doc_number": number.lower()}])
    assert (again.status_code, again.json()["error"]) == (409, "DUPLICATE_DOCUMENT")
    twice = order(server, passengers=[{"name": "王五", "doc_number": id_number("w")},
                                      {"name": "王五", "doc_number": id_number("w")}])
    assert (twice.status_code, twice.json()["error"]) == (409, "DUPLICATE_DOCUMENT")
    sale = t.sale(TOMORROW, 3, doc_number=number)
    conflicts = t.upload([sale]).json()["conflicts"]
    assert [c["kind"] for c in conflicts] == ["DUPLICATE_DOCUMENT"]
    # The conflicted sale holds no seat; the terminal's refund of it settles the conflict.
    seats = {c["key"]: c for c in t.call("GET", "/v1/changes?limit=5000").json()["changes"] if c["kind"] == "seat"}
    assert f"{TOMORROW}/3" not in seats or seats[f"{TOMORROW}/3"]["deleted"]
    other = t.sale(TOMORROW, 4)
    assert t.upload([other]).json()["conflicts"] == []


def test_web_refund_frees_the_seat_in_the_feed(server):
    t = server.terminal()
    ticket = order(server, passengers=[{"name": "李四", "seat_no": 9}]).json()["tickets"][0]
    seats = {c["key"]: c for c in t.call("GET", "/v1/changes?limit=5000").json()["changes"] if c["kind"] == "seat"}
    assert seats[f"{TOMORROW}/9"]["data"]["channel"] == "web"
    cursor = t.call("GET", "/v1/changes?limit=5000").json()["cursor"]
    r = server.post_admin(f"/v1/web/tickets/{ticket['ticket_id']}/refund")
    assert r.status_code == 200 and r.json()["status"] == "refunded"
    after = t.call("GET", f"/v1/changes?cursor={cursor}").json()["changes"]
    assert {(c["kind"], c["key"], c["deleted"]) for c in after} == {
        ("seat", f"{TOMORROW}/9", True), ("web_ticket", ticket["ticket_id"], False),
        ("gate_ticket", ticket["ticket_id"], False)}  # the gates learn it no longer boards
    assert [c["data"]["status"] for c in after if c["kind"] == "gate_ticket"] == ["refunded"]
    assert server.post_admin(f"/v1/web/tickets/{ticket['ticket_id']}/refund").json()["error"] == "TICKET_NOT_ACTIVE"
    # Seat 9 is on sale again.
    assert order(server, passengers=[{"name": "x", "seat_no": 9}]).status_code == 201

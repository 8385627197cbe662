"""The change feed: resumable pages, snapshots, other channels' seats and tickets, other terminals'
ticket-code keys, and the rule that server state never overwrites unsent local changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from app.domain.ticket_code import decode_ticket_code
from app.errors import RuleViolation
from app.services import refund
from sync.client import make_terminal
from tests.integration.sync_client.helpers import ADMIN, CLERK, DEST, check_invariants, departure_ids


def web_sale(server, departure_id: str, seat_no: int | None = None) -> dict:
    r = requests.post(server.url + "/v1/web/orders", timeout=10,
                      headers={"Authorization": f"Bearer {ADMIN}", "Kezhan-Protocol": "1"},
                      json={"departure_id": departure_id, "stop": DEST,
                            "passengers": [{"name": "网购旅客", "seat_no": seat_no}]})
    assert r.status_code == 201, r.text
    return r.json()


def local_state(rig):
    return {
        "seats": rig.rows("SELECT departure_id, seat_no, state FROM seats ORDER BY 1, 2"),
        "departures": rig.rows("SELECT id, departs_at, seats, status FROM departures ORDER BY 1"),
        "fares": rig.rows("SELECT * FROM fares ORDER BY 1, 2, 3, 4"),
        "keys": rig.rows("SELECT key_id, public_key FROM ticket_keys ORDER BY 1"),
    }


def test_a_pull_cut_mid_way_resumes_from_its_saved_cursor(server, proxy, rigs):
    for dep in departure_ids()[:2]:
        web_sale(server, dep)
    rig = rigs(via=proxy, page_limit=4)
    proxy.match = "/v1/changes"
    proxy.faults(None, None, ("cut_response", None))
    report = rig.client.run_once()
    assert not report.ok and report.pulled == 8
    saved = rig.rows("SELECT value FROM sync_cursors WHERE name = 'feed'")[0][0]
    proxy.requests_seen.clear()
    assert rig.client.run_once().ok
    first = next(r for r in proxy.requests_seen if r.startswith(b"GET /v1/changes"))
    assert saved.replace(":", "%3A").encode() in first.split(b"\r\n", 1)[0]
    # The same state as a terminal that pulled in one go.
    other = rigs()
    assert other.client.run_once().ok
    mine, theirs = local_state(rig), local_state(other)
    assert mine["departures"] == theirs["departures"] and mine["fares"] == theirs["fares"]
    held = lambda s: [(d, n) for d, n, st in s if st == "held"]  # noqa: E731
    assert len(held(mine["seats"])) == 2
    # The other terminal holds the same sales, and this terminal's leases as held elsewhere.
    leased_here = [(d, n) for d, n, st in mine["seats"] if st == "leased"]
    assert sorted(held(theirs["seats"])) == sorted(held(mine["seats"]) + leased_here)


def test_web_sales_arrive_as_held_seats_and_tickets_to_pick_up(server, rigs):
    rig = rigs()
    assert rig.client.run_once().ok
    dep = departure_ids()[0]
    order = web_sale(server, dep, seat_no=33)
    assert rig.client.run_once().ok
    assert rig.rows("SELECT state FROM seats WHERE departure_id = ? AND seat_no = 33", dep) == [("held",)]
    [ticket] = order["tickets"]
    assert rig.rows("SELECT status, stock_no FROM tickets WHERE id = ?", ticket["ticket_id"]) == [("active", None)]
    requests.post(server.url + f"/v1/web/tickets/{ticket['ticket_id']}/refund", timeout=10,
                  headers={"Authorization": f"Bearer {ADMIN}", "Kezhan-Protocol": "1"}).raise_for_status()
    assert rig.client.run_once().ok
    assert rig.rows("SELECT state FROM seats WHERE departure_id = ? AND seat_no = 33", dep) == [("free",)]
    assert rig.rows("SELECT status FROM tickets WHERE id = ?", ticket["ticket_id"]) == [("refunded",)]


def test_a_seat_sold_here_but_not_yet_uploaded_is_not_overwritten_and_the_conflict_becomes_a_task(
        server, proxy, rigs):
    rig = rigs(via=proxy)
    assert rig.client.run_once().ok
    rig.open_shift()
    dep = departure_ids()[0]
    seat = 38  # not leased to anyone: online, the counter may sell it and the web may too
    assert rig.rows("SELECT state FROM seats WHERE departure_id = ? AND seat_no = ?", dep, seat) == [("free",)]
    proxy.match = "/v1/events"
    proxy.mode = ("drop_request", None)  # the upload cannot get through; the feed can
    sale = rig.sell(dep, seat_no=seat)
    web = web_sale(server, dep, seat_no=seat)["tickets"][0]["ticket_id"]
    report = rig.client.run_once()
    assert not report.ok
    rig.client._pull(report)  # the feed alone, while the sale is still unsent
    assert report.deferred >= 1
    assert rig.rows("SELECT state, ticket_id FROM seats WHERE departure_id = ? AND seat_no = ?", dep, seat) == [
        ("sold", sale.ticket_ids[0])]
    proxy.mode = None
    assert rig.client.drain(timeout=10)
    tasks = rig.rows("SELECT kind, conflict, ticket_id, seat_no, status FROM sync_tasks")
    assert tasks == [("reseat", "SEAT_TAKEN", sale.ticket_ids[0], seat, "open")]
    assert rig.statuses[-1].open_tasks == 1
    check_invariants(server, [rig])
    # The clerk settles the task with a conflict refund (F3 refuses the ticket while the task is open):
    # the held-back row lands in the refund's own transaction, so the seat is the web ticket's at once.
    [(task_id,)] = rig.rows("SELECT id FROM sync_tasks")
    refund(rig.db, rig.terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], task_id=task_id, now=datetime.now(UTC))
    assert rig.rows("SELECT state, ticket_id FROM seats WHERE departure_id = ? AND seat_no = ?", dep, seat) == [
        ("held", web)]
    assert rig.rows("SELECT COUNT(*) FROM sync_deferred") == [(0,)]
    assert rig.client.drain(timeout=10)
    assert rig.rows("SELECT state FROM seats WHERE departure_id = ? AND seat_no = ?", dep, seat) == [("held",)]
    assert rig.rows("SELECT status FROM sync_tasks") == [("done",)]


def test_a_cursor_the_server_cannot_serve_gets_a_full_snapshot(server, rigs):
    rig = rigs()
    assert rig.client.run_once().ok
    dep = departure_ids()[1]
    web_sale(server, dep, seat_no=12)
    with rig.db.transaction() as session:
        from sqlalchemy import text

        session.execute(text("UPDATE sync_cursors SET value = 'another-database:3' WHERE name = 'feed'"))
        # A seat this terminal wrongly believes held elsewhere: a snapshot must clear it.
        session.execute(text("UPDATE seats SET state = 'held' WHERE departure_id = :d AND seat_no = 20"), {"d": dep})
    report = rig.client.run_once()
    assert report.ok and report.reset
    assert rig.rows("SELECT seat_no FROM seats WHERE departure_id = ? AND state = 'held'", dep) == [(12,)]


def test_every_terminal_verifies_every_other_terminals_ticket_codes(server, rigs):
    a, b = rigs(), rigs()
    for rig in (a, b):
        assert rig.client.run_once().ok
    b.open_shift()
    sale = b.sell(departure_ids()[0])
    code = sale.print_jobs[0].ticket_code
    with pytest.raises(RuleViolation):  # a gate that has not pulled b's key yet cannot tell
        decode_ticket_code(code, {k: v for k, v in a.terminal.public_keys.items() if "T02" not in k})
    assert a.client.run_once().ok
    # The running counter's Terminal learns the key from the feed, and so does a fresh one.
    assert decode_ticket_code(code, a.terminal.public_keys).ticket_id == sale.ticket_ids[0]
    assert decode_ticket_code(code, make_terminal(a.db).public_keys).ticket_id == sale.ticket_ids[0]
    forged = code[:-6] + ("AAAAAA" if not code.endswith("AAAAAA") else "BBBBBB")
    with pytest.raises(RuleViolation):
        decode_ticket_code(forged, a.terminal.public_keys)


def test_a_malformed_feed_row_is_skipped_not_a_poison_page(server, proxy, rigs):
    import json as _json

    def inject(answer: bytes) -> bytes:
        head, _, body = answer.partition(b"\r\n\r\n")
        doc = _json.loads(body)
        doc["changes"].insert(0, {"id": 0, "kind": "departure", "key": "broken", "deleted": False,
                                  "data": {"id": "broken"}})  # no route, no date: unusable
        doc["changes"].append({"id": 0, "kind": "fare", "key": "x", "deleted": False, "data": "not an object"})
        body = _json.dumps(doc, ensure_ascii=False).encode()
        lines = [ln for ln in head.split(b"\r\n") if not ln.lower().startswith(b"content-length")]
        return b"\r\n".join(lines + [b"Content-Length: " + str(len(body)).encode()]) + b"\r\n\r\n" + body

    rig = rigs(via=proxy)
    proxy.match = "/v1/changes"
    proxy.faults(("tamper_response", inject))
    report = rig.client.run_once()
    assert report.ok, report
    deps = {r[0] for r in rig.rows("SELECT id FROM departures")}
    assert deps == set(departure_ids())
    assert rig.rows("SELECT COUNT(*) FROM fares") == [(2,)]

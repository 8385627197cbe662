"""Exactly-once upload: order, duplicates, SEQ_REUSE, gaps, seat conflicts — and the database
refusing a second active ticket on a seat by itself."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sync.server import models

from .conftest import DEST, TOMORROW


def _tickets(server, **where):
    T = models.tickets
    q = select(T)
    for k, v in where.items():
        q = q.where(getattr(T.c, k) == v)
    with server.srv.server.engine.connect() as conn:
        return conn.execute(q).all()


def test_events_in_order_are_applied_and_acknowledged(server):
    t = server.terminal()
    t.call("POST", "/v1/leases", {"want": [{"departure_id": TOMORROW, "seats": 3}]})
    batch = [t.event("shift.opened", {"shift_id": "S1", "clerk": "c01", "first_stock_no": "A0001",
                                      "opened_at": "2026-11-24T00:00:00Z"}),
             t.sale(TOMORROW, 1), t.sale(TOMORROW, 2)]
    r = t.upload(batch)
    assert r.status_code == 200, r.text
    assert r.json() == {"acked_through": 3, "applied": 3, "duplicates": 0, "conflicts": [],
                             "server_time": r.json()["server_time"]}
    rows = _tickets(server, departure_id=TOMORROW)
    assert sorted((x.seat_no, x.status, x.active_seat) for x in rows) == [
        (1, "active", f"{TOMORROW}#1"), (2, "active", f"{TOMORROW}#2")]
    # The sold seats left the terminal's lease; the third is still its own.
    lease = t.call("GET", "/v1/leases").json()["leases"][0]
    assert lease["seats"] == [3]
    # Next batch continues from the high-water mark.
    r = t.upload([t.sale(TOMORROW, 3)])
    assert r.json()["acked_through"] == 4


def test_a_resent_batch_is_an_acknowledged_duplicate(server):
    t = server.terminal()
    batch = [t.sale(TOMORROW, 1), t.sale(TOMORROW, 2)]
    assert t.upload(batch).json()["applied"] == 2
    again = t.upload(batch)  # e.g. the first answer was lost on the way back
    assert again.status_code == 200
    assert (again.json()["acked_through"], again.json()["applied"], again.json()["duplicates"]) == (2, 0, 2)
    assert len(_tickets(server, departure_id=TOMORROW)) == 2
    # A batch overlapping the mark: the old part is acknowledged, the new part applied.
    r = t.upload([batch[1], t.sale(TOMORROW, 3)])
    assert (r.json()["acked_through"], r.json()["applied"], r.json()["duplicates"]) == (3, 1, 1)


def test_seq_reuse_is_refused_and_raises_an_alarm(server):
    t = server.terminal()
    assert t.upload([t.sale(TOMORROW, 1), t.sale(TOMORROW, 2)]).status_code == 200
    # A terminal restored from an old backup sells again under seq 2.
    forged = t.sale(TOMORROW, 5, seq=2)
    r = t.upload([forged, t.sale(TOMORROW, 6, seq=3)])
    assert r.status_code == 409
    body = r.json()
    assert body["error"] == "SEQ_REUSE" and body["seq"] == 2 and body["expected_seq"] == 3
    assert body["uploaded_hash"] == forged["hash"] and body["stored_hash"] != forged["hash"]
    # Nothing of the refused batch was applied (seq 3 neither), and the admin sees the alarm.
    assert sorted(x.seat_no for x in _tickets(server, departure_id=TOMORROW)) == [1, 2]
    alarms = server.get_admin("/v1/admin/alarms").json()["alarms"]
    assert [(a["terminal_id"], a["kind"], a["seq"]) for a in alarms] == [(t.terminal_id, "SEQ_REUSE", 2)]


def test_a_gap_is_refused_with_the_expected_seq(server):
    t = server.terminal()
    assert t.upload([t.sale(TOMORROW, 1)]).status_code == 200
    r = t.upload([t.sale(TOMORROW, 3, seq=3)])
    assert r.status_code == 409
    assert r.json()["error"] == "SEQ_GAP" and r.json()["expected_seq"] == 2
    assert len(_tickets(server, departure_id=TOMORROW)) == 1
    # Resending from the expected seq works.
    r = t.upload([t.sale(TOMORROW, 2, seq=2), t.sale(TOMORROW, 3, seq=3)])
    assert r.json()["acked_through"] == 3


def test_batch_must_be_contiguous_and_hashes_must_match(server):
    t = server.terminal()
    a, b = t.sale(TOMORROW, 1, seq=1), t.sale(TOMORROW, 2, seq=3)
    r = t.upload([a, b])
    assert (r.status_code, r.json()["error"]) == (422, "BATCH_NOT_CONTIGUOUS")
    bad = t.sale(TOMORROW, 1, seq=1)
    bad["payload"]["tickets"][0]["price"] = 1  # changed after the hash was taken
    r = t.upload([bad])
    assert (r.status_code, r.json()["error"]) == (422, "EVENT_HASH_MISMATCH")
    other = server.terminal()
    r = t.upload([other.sale(TOMORROW, 1, seq=1)])
    assert (r.status_code, r.json()["error"]) == (422, "TERMINAL_MISMATCH")
    assert _tickets(server) == []


def test_hash_is_exactly_the_documented_one(server):
    """sha256 of canonical JSON (sorted keys, no spaces, UTF-8) of the six content fields."""
    import hashlib
    import json

    t = server.terminal()
    ev = t.sale(TOMORROW, 1)
    content = {k: ev[k] for k in ("terminal_id", "seq", "event_id", "type", "created_at", "payload")}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert "张三" in text  # not \u-escaped
    assert ev["hash"] == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert t.upload([ev]).status_code == 200


def test_seat_sold_elsewhere_comes_back_as_a_conflict_and_is_resolved(server):
    t = server.terminal()
    # The web channel sold seat 4 (free, not leased); the terminal sold it too (say, from a lease
    # that had already expired while it was offline).
    web = server.post_admin("/v1/web/orders", {"departure_id": TOMORROW, "stop": DEST,
                                               "passengers": [{"name": "李四", "seat_no": 4}]})
    assert web.status_code == 201, web.text
    sale = t.sale(TOMORROW, 4)
    r = t.upload([sale])
    assert r.status_code == 200
    (conflict,) = r.json()["conflicts"]
    assert conflict["kind"] == "SEAT_TAKEN" and conflict["seat_no"] == 4 and conflict["status"] == "open"
    ticket_id = sale["payload"]["tickets"][0]["ticket_id"]
    assert conflict["ticket_id"] == ticket_id
    # The sale is recorded (money was taken), without the seat; the web ticket keeps it.
    (row,) = _tickets(server, ticket_id=ticket_id)
    assert (row.status, row.active_seat) == ("conflict", None)
    # A lost answer does not lose the conflict: the resent batch reports it again, and so does
    # the conflicts endpoint (and the feed).
    assert t.upload([sale]).json()["conflicts"][0]["id"] == conflict["id"]
    assert [c["id"] for c in t.call("GET", "/v1/conflicts?status=open").json()["conflicts"]] == [conflict["id"]]
    # The clerk reseats the passenger: a change to seat 5 resolves it.
    new_id = t.next_ticket_id()
    new = dict(sale["payload"]["tickets"][0], ticket_id=new_id, seat_no=5)
    change = t.event("ticket.changed", {"old_ticket_id": ticket_id, "new_ticket": new, "fare_difference": 0,
                                        "fee": 0, "changed_at": "2026-11-24T00:10:00Z", "clerk": "c01",
                                        "shift_id": "S1"})
    assert t.upload([change]).json()["conflicts"] == []
    assert t.call("GET", "/v1/conflicts?status=open").json()["conflicts"] == []
    resolved = t.call("GET", "/v1/conflicts").json()["conflicts"][0]
    assert (resolved["status"], resolved["resolution"]) == ("resolved", "reseated")
    assert _tickets(server, ticket_id=new_id)[0].active_seat == f"{TOMORROW}#5"


def test_conflict_resolved_by_refund(server):
    t = server.terminal()
    other = server.terminal()
    other.upload([other.sale(TOMORROW, 7)])
    sale = t.sale(TOMORROW, 7)
    assert t.upload([sale]).json()["conflicts"][0]["kind"] == "SEAT_TAKEN"
    tid = sale["payload"]["tickets"][0]["ticket_id"]
    refund = t.event("ticket.refunded", {"ticket_id": tid, "fee": 0, "refund_amount": 3250, "forced": True,
                                         "approved_by": "sup", "refunded_at": "2026-11-24T00:05:00Z",
                                         "clerk": "c01", "shift_id": "S1"})
    t.upload([refund])
    (c,) = t.call("GET", "/v1/conflicts").json()["conflicts"]
    assert (c["status"], c["resolution"]) == ("resolved", "refunded")
    # The other terminal's ticket was never disturbed.
    assert _tickets(server, terminal_id=other.terminal_id)[0].active_seat == f"{TOMORROW}#7"


def test_sale_on_a_seat_leased_to_another_terminal_is_a_conflict(server):
    a, b = server.terminal(), server.terminal()
    granted = a.call("POST", "/v1/leases", {"want": [{"departure_id": TOMORROW, "seats": 2}]}).json()
    seat = granted["leases"][0]["seats"][0]
    r = b.upload([b.sale(TOMORROW, seat)])
    assert r.json()["conflicts"][0]["kind"] == "SEAT_LEASED"
    # The lease holder's own offline sale of that seat goes through.
    r = a.upload([a.sale(TOMORROW, seat)])
    assert r.json()["conflicts"] == []


def test_unknown_departure_and_bad_seat_are_conflicts_not_a_stuck_queue(server):
    t = server.terminal()
    r = t.upload([t.sale("nope-20261124-X", 1), t.sale(TOMORROW, 99)])
    assert r.status_code == 200 and r.json()["acked_through"] == 2
    assert [c["kind"] for c in r.json()["conflicts"]] == ["UNKNOWN_DEPARTURE", "SEAT_INVALID"]


def test_refund_returns_the_seat_to_the_refunding_terminals_lease(server):
    t = server.terminal()
    t.call("POST", "/v1/leases", {"want": [{"departure_id": TOMORROW, "seats": 2}]})
    sale = t.sale(TOMORROW, 1)
    t.upload([sale])
    assert t.call("GET", "/v1/leases").json()["leases"][0]["seats"] == [2]
    t.upload([t.event("ticket.refunded", {"ticket_id": sale["payload"]["tickets"][0]["ticket_id"], "fee": 330,
                                          "refund_amount": 2920, "forced": False, "approved_by": None,
                                          "refunded_at": "2026-11-24T00:20:00Z", "clerk": "c01", "shift_id": "S1"})])
    assert t.call("GET", "/v1/leases").json()["leases"][0]["seats"] == [1, 2]
    # Refunding it twice is a conflict (money would go out twice), not a silent no-op.
    r = t.upload([t.event("ticket.refunded", {"ticket_id": sale["payload"]["tickets"][0]["ticket_id"], "fee": 0,
                                              "refund_amount": 3250, "forced": False, "approved_by": None,
                                              "refunded_at": "2026-11-24T00:21:00Z", "clerk": "c01",
                                              "shift_id": "S1"})])
    assert r.json()["conflicts"][0]["kind"] == "TICKET_NOT_ACTIVE"


def test_database_refuses_two_active_tickets_on_one_seat(server, tmp_path):
    """Bypass the server's logic entirely: the unique index on the active seat still refuses."""
    t = server.terminal()
    t.upload([t.sale(TOMORROW, 3)])
    (row,) = _tickets(server, departure_id=TOMORROW)
    clash = dict(row._mapping, ticket_id="forged-1", order_id="forged", sold_seq=None)
    with pytest.raises(IntegrityError):
        with server.srv.server.engine.begin() as conn:
            conn.execute(models.tickets.insert().values(**clash))
    if server.srv.server.engine.dialect.name != "sqlite":
        return
    # Not even a raw SQL client gets past it.
    db = sqlite3.connect(tmp_path / "province.db", timeout=10)
    try:
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("INSERT INTO tickets (ticket_id, order_id, channel, departure_id, seat_no, active_seat, status,"
                       " ticket_type, fare, price, insurance, sold_at) VALUES ('forged-2', 'o', 'terminal', ?, 3, ?,"
                       " 'active', 'full', 0, 0, 0, '2026-11-24T00:00:00Z')", (TOMORROW, f"{TOMORROW}#3"))
        # A refunded ticket releases the slot: NULL never collides.
        db.execute("INSERT INTO tickets (ticket_id, order_id, channel, departure_id, seat_no, active_seat, status,"
                   " ticket_type, fare, price, insurance, sold_at) VALUES ('old-1', 'o', 'terminal', ?, 3, NULL,"
                   " 'refunded', 'full', 0, 0, 0, '2026-11-24T00:00:00Z')", (TOMORROW,))
        db.commit()
    finally:
        db.close()


def test_bulk_written_rows_read_back_like_any_other(server, tmp_path):
    """Upload batches are written through the driver's executemany; what they store must be what
    SQLAlchemy itself stores (one text format for instants, so comparisons and sorting hold)."""
    t = server.terminal()  # its ticket key is published row by row
    t.upload([t.sale(TOMORROW, 1), t.sale(TOMORROW, 2)])  # seats and events in bulk
    if server.srv.server.engine.dialect.name != "sqlite":
        return
    db = sqlite3.connect(tmp_path / "province.db", timeout=10)
    try:
        formats = {(kind, len(at)) for kind, at in db.execute("SELECT kind, at FROM changes")}
        received = {len(r[0]) for r in db.execute("SELECT received_at FROM events")}
    finally:
        db.close()
    assert {n for _, n in formats} == received == {len("2026-11-24 00:00:00.000000")}
    assert {k for k, _ in formats} >= {"seat", "ticket_key"}
    with server.srv.server.engine.connect() as conn:
        r = conn.execute(select(models.events.c.received_at)).first()
    assert r.received_at == server.clock()


def test_a_ticket_id_the_server_already_holds_is_a_conflict_and_the_rest_of_the_batch_lands(server):
    """The first attempt at a batch leaves it to the tickets' primary key to notice a known ticket id;
    the batch is then applied again, and the known id becomes a conflict beside the good sales."""
    t = server.terminal()
    first = t.sale(TOMORROW, 1)
    t.upload([first])
    reused = first["payload"]["tickets"][0]["ticket_id"]
    r = t.upload([t.sale(TOMORROW, 2), t.sale(TOMORROW, 3, ticket_id=reused), t.sale(TOMORROW, 4)])
    assert r.status_code == 200, r.text
    assert (r.json()["acked_through"], r.json()["applied"]) == (4, 3)
    assert [(c["kind"], c["seq"], c["ticket_id"]) for c in r.json()["conflicts"]] == [
        ("TICKET_NOT_ACTIVE", 3, reused)]
    rows = _tickets(server, departure_id=TOMORROW)
    assert sorted((x.seat_no, x.status) for x in rows) == [(1, "active"), (2, "active"), (4, "active")]
    assert [x.sold_seq for x in rows if x.ticket_id == reused] == [1]

"""The gate on the province's side: its events applied, refused for another station's departures,
a ticket boarded twice (two gates, or old and new paper) turned into one DOUBLE_BOARDING conflict,
the day's departure record (发班信息) by the admin API and the CLI, and the feed that carries a
station's tickets to its own gates only."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.cli import main
from sync.server import models

from .conftest import DEST, MID, SOON, TOMORROW

DAY = "2026-11-24"  # SOON's local day
DOC = "11010119900307001X"


def _tid(sale: dict) -> str:
    return sale["payload"]["tickets"][0]["ticket_id"]


def _conflicts(server, kind: str | None = None) -> list:
    C = models.conflicts
    with server.srv.server.engine.connect() as conn:
        rows = conn.execute(select(C).order_by(C.c.id)).all()
    return [c for c in rows if kind is None or c.kind == kind]


def _exported(server, ticket_id: str) -> dict:
    tickets = server.get_admin("/v1/admin/tickets").json()["tickets"]
    return next(t for t in tickets if t["ticket_id"] == ticket_id)


def _record(server, departure_id: str, day: str = DAY) -> dict:
    r = server.get_admin("/v1/admin/departures", date=day)
    assert r.status_code == 200, r.text
    return next(d for d in r.json()["departures"] if d["departure_id"] == departure_id)


def _upload(t, *events) -> dict:
    r = t.upload(list(events))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["acked_through"] == events[-1]["seq"]
    return body


def _web_ticket(server, departure_id=SOON, stop=DEST, seat_no=None) -> dict:
    passenger = {"name": "李四", "doc_type": "resident_id", "doc_number": DOC, **({"seat_no": seat_no} if seat_no else {})}
    r = server.post_admin("/v1/web/orders", {"departure_id": departure_id, "stop": stop, "passengers": [passenger]})
    assert r.status_code == 201, r.text
    return r.json()["tickets"][0]


def _pull(t) -> tuple[list[dict], str]:
    """Every change the terminal is given from the start, and the raw bodies' text."""
    changes, texts, cursor = [], [], None
    while True:
        r = t.call("GET", "/v1/changes?limit=5000" + (f"&cursor={cursor}" if cursor else ""))
        assert r.status_code == 200, r.text
        texts.append(r.text)
        body = r.json()
        changes += body["changes"]
        cursor = body["cursor"]
        if not body["more"]:
            return changes, "".join(texts)


def test_a_departure_checked_stopped_and_billed_is_the_days_departure_record(server, capsys):
    clerk, gate = server.terminal(), server.terminal()
    to_dest, to_mid = clerk.sale(SOON, 1), clerk.sale(SOON, 2, price=1500, stop=MID)
    _upload(clerk, to_dest, to_mid)
    web = _web_ticket(server)
    body = _upload(gate,
                   gate.gate("gate.opened", departure_id=SOON),
                   gate.gate("ticket.checked", ticket_id=_tid(to_dest), departure_id=SOON, seat_no=1),
                   gate.gate("ticket.checked", ticket_id=_tid(to_mid), departure_id=SOON, seat_no=2, via="number"),
                   gate.gate("ticket.checked", ticket_id=web["ticket_id"], departure_id=SOON,
                             seat_no=web["seat_no"], via="card"),
                   gate.gate("gate.stopped", departure_id=SOON),
                   gate.gate("roadbill.made", number="0001", departure_id=SOON, checked=3,
                             rows=[{"destination": DEST, "ticket_type": "full", "count": 2, "amount": 6500},
                                   {"destination": MID, "ticket_type": "full", "count": 1, "amount": 1500}],
                             totals={"count": 3, "amount": 8000}))
    assert body["conflicts"] == []

    record = _record(server, SOON)
    assert (record["state"], record["gate"], record["plate"], record["driver"]) == ("stopped", "1", "浙A12345", "王师傅")
    assert record["checked"] == 3
    assert record["checked_by_destination"] == {DEST: 2, MID: 1}
    assert record["road_bill"]["number"] == "0001" and record["road_bill"]["terminal_id"] == gate.terminal_id
    assert record["road_bill"]["totals"] == {"count": 3, "amount": 8000}
    assert _record(server, TOMORROW, "2026-11-25")["state"] == "waiting"

    # The ticket export says who boarded where, for every channel.
    check = _exported(server, web["ticket_id"])["check"]
    assert (check["gate"], check["terminal_id"], check["departure_id"], check["via"]) == (
        "1", gate.terminal_id, SOON, "card")
    assert _exported(server, _tid(to_mid))["check"]["checked_at"]
    # The gate's reconciliation counts its checks and lists the tickets it checked with their check,
    # apart from what it sold (the digest of its own tickets is unchanged by checking).
    rec = server.get_admin("/v1/admin/reconciliation", terminal=gate.terminal_id, date=DAY).json()
    assert rec["counts"]["ticket.checked"] == 3 and rec["counts"]["roadbill.made"] == 1
    assert {t["ticket_id"]: t["check"]["gate"] for t in rec["gate_tickets"]} == {
        _tid(to_dest): "1", _tid(to_mid): "1", web["ticket_id"]: "1"}
    assert rec["tickets"] == []
    sold = server.get_admin("/v1/admin/reconciliation", terminal=clerk.terminal_id, date=DAY).json()
    assert {t["ticket_id"]: t["check"]["terminal_id"] for t in sold["tickets"]} == {
        _tid(to_dest): gate.terminal_id, _tid(to_mid): gate.terminal_id}

    # The same record from the command line, on the database file.
    assert main(["server", "export-departures", "--db", server.srv.db_url, "--day", DAY, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["date"] == DAY
    assert [d["departure_id"] for d in out["departures"]] == [SOON]
    assert out["departures"][0]["checked_by_destination"] == {DEST: 2, MID: 1}
    assert out["departures"][0]["road_bill"]["number"] == "0001"
    assert main(["server", "export-departures", "--db", server.srv.db_url, "--day", DAY]) == 0
    assert "0001" in capsys.readouterr().out
    with pytest.raises(SystemExit) as bad:
        main(["server", "export-departures", "--db", server.srv.db_url, "--day", "24-11-2026"])
    assert bad.value.code == 2 and "YYYY-MM-DD" in capsys.readouterr().err


def test_undo_until_the_road_bill_and_its_reprint_and_void(server):
    clerk, gate, other_gate = server.terminal(), server.terminal(), server.terminal()
    sale = clerk.sale(SOON, 1)
    _upload(clerk, sale)
    tid = _tid(sale)
    _upload(gate, gate.gate("ticket.checked", ticket_id=tid, departure_id=SOON),
            gate.gate("ticket.check_undone", ticket_id=tid, departure_id=SOON))
    assert _exported(server, tid)["check"] is None
    assert _record(server, SOON)["checked"] == 0
    _upload(gate, gate.gate("ticket.checked", ticket_id=tid, departure_id=SOON, gate="2"),
            gate.gate("roadbill.made", number="0007", departure_id=SOON, checked=1))
    # After the road bill a check is not undone: the conflict says so, the check stands.
    body = _upload(gate, gate.gate("ticket.check_undone", ticket_id=tid, departure_id=SOON))
    assert [c["kind"] for c in body["conflicts"]] == ["CHECK_NOT_UNDONE"]
    assert _exported(server, tid)["check"]["gate"] == "2"

    assert _upload(gate, gate.gate("roadbill.reprinted", number="0007", departure_id=SOON))["conflicts"] == []
    assert _record(server, SOON)["road_bill"]["reprints"] == 1
    # The number is this terminal's: another gate terminal may use 0007 too, this one not twice.
    body = _upload(gate, gate.gate("roadbill.made", number="0007", departure_id=TOMORROW))
    assert [c["kind"] for c in body["conflicts"]] == ["ROADBILL_INVALID"]
    assert _upload(other_gate, other_gate.gate("roadbill.made", number="0007", departure_id=TOMORROW))["conflicts"] == []
    # Another terminal cannot void what it did not make.
    body = _upload(other_gate, other_gate.gate("roadbill.voided", number="0008", departure_id=SOON))
    assert [c["kind"] for c in body["conflicts"]] == ["ROADBILL_INVALID"]

    assert _upload(gate, gate.gate("roadbill.voided", number="0007", departure_id=SOON))["conflicts"] == []
    record = _record(server, SOON)
    assert record["road_bill"] is None
    assert [(b["number"], b["reason"]) for b in record["road_bills_voided"]] == [("0007", "车辆更换")]
    # Reopened late (补检) after the void, by the supervisor's leave.
    _upload(gate, gate.gate("gate.opened", departure_id=SOON, late=True, reason="漏检", approver="9001"))
    assert _record(server, SOON)["state"] == "late"
    # With the bill voided the check may be undone again.
    assert _upload(gate, gate.gate("ticket.check_undone", ticket_id=tid, departure_id=SOON))["conflicts"] == []
    assert _exported(server, tid)["check"] is None


def test_a_ride_change_moves_the_ticket_and_frees_its_seat(server):
    clerk, gate, later = server.terminal(), server.terminal(), server.terminal()
    sale, blocker = clerk.sale(TOMORROW, 3), clerk.sale(SOON, 5)
    _upload(clerk, sale, blocker)
    tid = _tid(sale)
    # To a seat already sold: not applied, the supervisor sees why.
    body = _upload(gate, gate.gate("ticket.ride_changed", ticket_id=tid, from_departure_id=TOMORROW,
                                   to_departure_id=SOON, seat_no=5))
    assert [c["kind"] for c in body["conflicts"]] == ["RIDE_CHANGE_INVALID"]
    assert (_exported(server, tid)["departure_id"], _exported(server, tid)["seat_no"]) == (TOMORROW, 3)

    assert _upload(gate, gate.gate("ticket.ride_changed", ticket_id=tid, from_departure_id=TOMORROW,
                                   to_departure_id=SOON, seat_no=4))["conflicts"] == []
    moved = _exported(server, tid)
    assert (moved["departure_id"], moved["seat_no"], moved["status"], moved["ride_from"]) == (SOON, 4, "active",
                                                                                             TOMORROW)
    # The old seat is for sale again; the new one is taken, as a sale takes one.
    assert _upload(later, later.sale(TOMORROW, 3))["conflicts"] == []
    assert [c["kind"] for c in _upload(later, later.sale(SOON, 4))["conflicts"]] == ["SEAT_TAKEN"]
    # It now boards the bus it moved to, and no longer the one it left.
    assert _upload(gate, gate.gate("ticket.checked", ticket_id=tid, departure_id=SOON, seat_no=4))["conflicts"] == []


def test_a_merged_departures_tickets_board_the_target(server):
    clerk, gate = server.terminal(), server.terminal()
    merged, stray = clerk.sale(TOMORROW, 1), clerk.sale(TOMORROW, 2)
    _upload(clerk, merged, stray)
    # Without a merge a ticket of another bus is a conflict when it boards.
    body = _upload(gate, gate.gate("ticket.checked", ticket_id=_tid(stray), departure_id=SOON))
    assert [(c["kind"], c["ticket_id"]) for c in body["conflicts"]] == [("BOARDED_INVALID", _tid(stray))]
    assert "ticket of departure" in body["conflicts"][0]["detail"]
    _upload(gate, gate.gate("departure.merged", source_departure_id=TOMORROW, target_departure_id=SOON))
    assert _record(server, TOMORROW, "2026-11-25")["state"] == "merged"
    assert _record(server, TOMORROW, "2026-11-25")["merged_into"] == SOON
    assert _upload(gate, gate.gate("ticket.checked", ticket_id=_tid(merged), departure_id=SOON))["conflicts"] == []
    assert _record(server, SOON)["checked"] == 2  # both boarded it, one of them as a conflict


def test_a_gate_may_not_touch_another_stations_departures(server):
    clerk, stranger = server.terminal(), server.terminal(MID)
    sale = clerk.sale(SOON, 1)
    _upload(clerk, sale)
    for ev in (stranger.gate("gate.opened", departure_id=SOON),
               stranger.gate("ticket.checked", ticket_id=_tid(sale), departure_id=SOON),
               stranger.gate("departure.merged", source_departure_id=TOMORROW, target_departure_id=SOON),
               stranger.gate("roadbill.made", number="0001", departure_id=SOON)):
        body = _upload(stranger, ev)  # acknowledged: the queue moves on ...
        assert [c["kind"] for c in body["conflicts"]] == ["REFUSED"], ev["type"]
    # ... recorded for the province, never applied.
    alarms = [a for a in server.get_admin("/v1/admin/alarms").json()["alarms"] if a["terminal_id"] == stranger.terminal_id]
    assert [a["kind"] for a in alarms] == ["FOREIGN_DEPARTURE"] * 4
    record = _record(server, SOON)
    assert (record["state"], record["checked"], record["road_bill"]) == ("waiting", 0, None)
    assert _exported(server, _tid(sale))["check"] is None
    # Refused events stay out of the terminal's reconciliation counts.
    rec = server.get_admin("/v1/admin/reconciliation", terminal=stranger.terminal_id, date=DAY).json()
    assert rec["counts"]["refused"] == 4


def test_two_gates_checking_one_ticket_offline_make_one_double_boarding_conflict(server):
    clerk, east, west = server.terminal(), server.terminal(), server.terminal()
    sale = clerk.sale(SOON, 1)
    _upload(clerk, sale)
    tid = _tid(sale)
    # Both gates checked it while offline; their events arrive one after the other.
    at_east = east.gate("ticket.checked", ticket_id=tid, departure_id=SOON, gate="1")
    server.clock.advance(minutes=2)
    at_west = west.gate("ticket.checked", ticket_id=tid, departure_id=SOON, gate="2")
    assert _upload(east, at_east)["conflicts"] == []
    body = _upload(west, at_west)
    assert [c["kind"] for c in body["conflicts"]] == ["DOUBLE_BOARDING"]
    # A resend of the same batch (its answer lost) is a duplicate, not a second conflict.
    again = west.upload([at_west]).json()
    assert again["duplicates"] == 1
    doubles = _conflicts(server, "DOUBLE_BOARDING")
    assert len(doubles) == 1
    assert (doubles[0].ticket_id, doubles[0].terminal_id, doubles[0].status) == (tid, west.terminal_id, "open")
    assert east.terminal_id in doubles[0].detail and "gate 2" in doubles[0].detail
    # The first check stands; the supervisor of the second gate sees the conflict in its feed.
    assert _exported(server, tid)["check"]["terminal_id"] == east.terminal_id
    fed = [c for c in _pull(west)[0] if c["kind"] == "conflict" and c["data"]["kind"] == "DOUBLE_BOARDING"]
    assert len(fed) == 1 and fed[0]["data"]["ticket_id"] == tid


def test_old_paper_of_a_reprinted_ticket_is_a_conflict(server):
    clerk, gate, other = server.terminal(), server.terminal(), server.terminal()
    first, second = clerk.sale(SOON, 1), clerk.sale(SOON, 2)
    _upload(clerk, first, second)
    for tid in (_tid(first), _tid(second)):
        _upload(clerk, clerk.event("ticket.reprinted", {"ticket_id": tid, "old_stock_no": "A0001",
                                                        "new_stock_no": "A0002", "reprinted_at": "2026-11-24T00:05:00Z",
                                                        "clerk": "c01", "shift_id": "S1"}))
    assert _exported(server, _tid(first))["reprints"] == 1
    # The old paper boards first: a conflict; the new paper after it: double boarding.
    body = _upload(gate, gate.gate("ticket.checked", ticket_id=_tid(first), departure_id=SOON, printed_version=0))
    assert [c["kind"] for c in body["conflicts"]] == ["SUPERSEDED_PAPER"]
    body = _upload(other, other.gate("ticket.checked", ticket_id=_tid(first), departure_id=SOON, printed_version=1))
    assert [c["kind"] for c in body["conflicts"]] == ["DOUBLE_BOARDING"]
    # The new paper first, the old one after it (the gate had not heard of the reprint): double boarding.
    assert _upload(gate, gate.gate("ticket.checked", ticket_id=_tid(second), departure_id=SOON,
                                   printed_version=1))["conflicts"] == []
    body = _upload(other, other.gate("ticket.checked", ticket_id=_tid(second), departure_id=SOON,
                                     printed_version=0))
    assert [c["kind"] for c in body["conflicts"]] == ["DOUBLE_BOARDING"]
    assert "paper 1" in body["conflicts"][0]["detail"] and "paper 0" in body["conflicts"][0]["detail"]


def test_boarding_a_ticket_the_gate_did_not_know_was_no_good_is_judged(server):
    clerk, gate = server.terminal(), server.terminal()
    refunded, fresh = clerk.sale(SOON, 1), clerk.sale(SOON, 2)
    _upload(clerk, refunded, fresh, clerk.event("ticket.refunded", {
        "ticket_id": _tid(refunded), "fee": 650, "refund_amount": 3250 - 650, "forced": False, "approved_by": None,
        "refunded_at": "2026-11-24T00:05:00Z", "clerk": "c01", "shift_id": "S1"}))
    body = _upload(gate, gate.gate("ticket.checked", ticket_id=_tid(refunded), departure_id=SOON))
    assert [c["kind"] for c in body["conflicts"]] == ["BOARDED_INVALID"]
    assert "refunded" in body["conflicts"][0]["detail"]
    # Changed away to tomorrow's bus after the gate's last pull: its old paper boards as a conflict.
    changed = clerk.sale(SOON, 3)
    old = changed["payload"]["tickets"][0]
    new = {**old, "ticket_id": clerk.next_ticket_id(), "departure_id": TOMORROW}
    _upload(clerk, changed, clerk.event("ticket.changed", {
        "old_ticket_id": old["ticket_id"], "new_ticket": new, "fare_difference": 0, "fee": 0,
        "changed_at": "2026-11-24T00:05:00Z", "clerk": "c01", "shift_id": "S1"}))
    body = _upload(gate, gate.gate("ticket.checked", ticket_id=old["ticket_id"], departure_id=SOON))
    assert [c["kind"] for c in body["conflicts"]] == ["BOARDED_INVALID"]
    assert "ticket is changed" in body["conflicts"][0]["detail"]
    # Boarded on a validly signed code the gate did not hold: fine when the ticket is good for the bus ...
    assert _upload(gate, gate.gate("ticket.checked", ticket_id=_tid(fresh), departure_id=SOON,
                                   unknown=True))["conflicts"] == []
    # ... a conflict when the province does not know it either.
    body = _upload(gate, gate.gate("ticket.checked", ticket_id=clerk.next_ticket_id(), departure_id=SOON,
                                   unknown=True))
    assert [c["kind"] for c in body["conflicts"]] == ["BOARDED_INVALID"]
    assert "not known to the server" in body["conflicts"][0]["detail"]


def test_passenger_data_reaches_only_the_departures_own_station(server):
    clerk, gate, stranger = server.terminal(), server.terminal(), server.terminal(MID)
    sale = clerk.sale(SOON, 1)
    _upload(clerk, sale)
    web = _web_ticket(server, seat_no=6)
    pickup_code = server.get_admin("/v1/admin/tickets").json()["tickets"]
    pickup_code = next(t["pickup_code"] for t in pickup_code if t["ticket_id"] == web["ticket_id"])
    _upload(gate, gate.gate("ticket.checked", ticket_id=_tid(sale), departure_id=SOON))

    # The gate of the departure's station holds every channel's tickets, as it checks them offline.
    changes, _ = _pull(gate)
    rows = {c["key"]: c["data"] for c in changes if c["kind"] == "gate_ticket"}
    assert set(rows) == {_tid(sale), web["ticket_id"]}
    web_row = rows[web["ticket_id"]]
    assert (web_row["departure_id"], web_row["seat_no"], web_row["status"], web_row["ticket_type"]) == (
        SOON, 6, "active", "full")
    assert web_row["passenger"]["name"] == "李四"
    assert web_row["passenger"]["doc_masked"] == "**************001X"
    assert len(web_row["passenger"]["doc_tag"]) == 2 and "doc_hash" not in web_row["passenger"]
    assert web_row["reprints"] == 0 and web_row["check"] is None
    assert DOC not in json.dumps(rows, ensure_ascii=False)  # the number itself, never
    assert rows[_tid(sale)]["check"]["terminal_id"] == gate.terminal_id  # the other gates' checks too
    assert [c["data"]["pickup_code"] for c in changes if c["kind"] == "web_ticket"] == [pickup_code]

    # A terminal of another station gets the seats, and nobody's name, hash or pick-up code.
    changes, text = _pull(stranger)
    kinds = {c["kind"] for c in changes}
    assert "seat" in kinds and not kinds & {"gate_ticket", "web_ticket"}
    for secret in ("李四", "张三", pickup_code, "001X", "doc_tag", "doc_masked"):
        assert secret not in text, secret
    # Nor by asking for the code: answered as for a code that does not exist.
    asked = stranger.call("GET", f"/v1/pickup/{pickup_code}")
    assert asked.json()["error"] == "UNKNOWN_TICKET" and "李四" not in asked.text
    assert stranger.call("GET", "/v1/pickup/00000000").json()["error"] == "UNKNOWN_TICKET"
    assert gate.call("GET", f"/v1/pickup/{pickup_code}").json()["ticket_id"] == web["ticket_id"]
    # Printed at a window: the gates learn the paper's number (a checker may type it).
    _upload(gate, gate.event("ticket.picked_up", {"ticket_id": web["ticket_id"], "stock_no": "A0100",
                                                  "picked_up_at": "2026-11-24T00:30:00Z", "clerk": "c01",
                                                  "shift_id": "S1"}))
    rows = {c["key"]: c["data"] for c in _pull(gate)[0] if c["kind"] == "gate_ticket"}
    assert rows[web["ticket_id"]]["stock_no"] == "A0100"


def test_a_gate_event_without_its_fields_refuses_the_batch_as_malformed(server):
    gate = server.terminal()
    bad = gate.gate("ticket.checked", departure_id=SOON)  # no ticket_id
    r = gate.upload([bad])
    assert r.status_code == 422 and r.json()["error"] == "INVALID_REQUEST"
    assert "ticket_id" in r.json()["message"]
    # Nothing of it was stored: the same seq goes up again once the build is fixed.
    fixed = gate.gate("gate.opened", seq=bad["seq"], departure_id=SOON)
    assert _upload(gate, fixed)["conflicts"] == []

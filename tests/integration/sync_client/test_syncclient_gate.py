"""The gate's check events through a link that loses requests and answers: each reaches the server
exactly once, so no resend turns one passenger into a double boarding."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import requests

from app.domain.errors import KezhanError
from app.services.aftersale import quote_refund
from app.services.context import emit
from app.services.gate import Gate
from app.services.station import exported_tickets
from app.store.engine import raw_cursor
from app.store.users import ensure_user
from tests.integration.sync_client.helpers import (
    ADMIN,
    DEST,
    MID,
    ZONE,
    check_invariants,
    departure_ids,
    local_day,
    next_document,
    server_events,
)


def _drain(rig, rounds: int = 20) -> list:
    reports = []
    for _ in range(rounds):
        reports.append(rig.client.run_once())
        if reports[-1].ok and rig.client.pending_events() == 0:
            break
    assert rig.client.pending_events() == 0
    return reports


def test_check_events_reach_the_server_exactly_once_through_lost_requests_and_answers(server, proxy, rigs):
    clerk = rigs()
    assert clerk.client.run_once().ok
    clerk.open_shift()
    departure = departure_ids()[0]
    for _ in range(6):
        clerk.sell(departure)
    _drain(clerk)
    gate = rigs(via=proxy, batch_size=2, timeout=(1.0, 1.0))
    assert gate.client.run_once().ok
    ids = sorted(clerk.sold_ticket_ids())
    # The gate checked them while its link was down: one outbox event per check, as the gate writes them.
    with gate.db.transaction() as session:
        cur = raw_cursor(session)
        emit(cur, gate.terminal, "gate.opened", {"departure_id": departure, "gate": "3", "plate": "浙A12345",
                                                 "driver": "王师傅", "checker": "2001", "late": False},
             datetime.now(UTC))
        for tid in ids:
            emit(cur, gate.terminal, "ticket.checked", {
                "ticket_id": tid, "departure_id": departure, "gate": "3", "checker": "2001", "via": "code",
                "seat_no": None, "printed_version": 0, "unknown": False}, datetime.now(UTC))
    proxy.match = "/v1/events"
    proxy.faults(
        ("drop_request", None),  # never reached the server
        ("drop_response", None),  # committed on the server, the gate never heard
        ("cut_response", None),  # committed, answer cut mid-body
        ("delay", 1.6),  # committed, answer later than the gate waits
        None,
        ("drop_response", None),
    )
    reports = _drain(gate)
    assert [r.error_kind for r in reports[:4]] == ["link"] * 4
    assert sum(r.duplicates for r in reports) >= 3  # lost answers came back as duplicates
    assert server_events(server, gate.terminal.terminal_id) == gate.outbox()
    check_invariants(server, [clerk, gate])
    # Every passenger boarded once, at this gate; resends made no conflict.
    tickets = {t["ticket_id"]: t for t in server.server.export_tickets()}
    assert {tid: (tickets[tid]["check"] or {}).get("terminal_id") for tid in ids} == {
        tid: gate.terminal.terminal_id for tid in ids}
    assert [c["detail"] for c in server.server.conflicts_of(gate.terminal.terminal_id)] == []
    record = next(d for d in server.server.departures(local_day(1)) if d["departure_id"] == departure)
    assert (record["state"], record["checked"], record["gate"]) == ("checking", 6, "3")


def _pull(rig) -> None:
    for _ in range(5):
        report = rig.client.run_once()
        if report.ok:
            return
    raise AssertionError(f"no clean sync: {report}")


def _web_order(server, departure_id: str) -> dict:
    r = requests.post(server.url + "/v1/web/orders", json={
        "departure_id": departure_id, "stop": DEST,
        "passengers": [{"name": "网购客", "doc_type": "resident_id", "doc_number": next_document()}]},
        headers={"Authorization": f"Bearer {ADMIN}", "Kezhan-Protocol": "1"}, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()["tickets"][0]


def test_a_gate_checks_offline_what_other_windows_sold_and_other_gates_boarded(server, rigs):
    clerk = rigs()
    assert clerk.client.run_once().ok
    clerk.open_shift()
    departure = departure_ids()[0]  # tomorrow 09:00
    clerk.sell(departure)
    clerk.sell(departure)
    _drain(clerk)
    first, second = sorted(clerk.sold_ticket_ids())
    web = _web_order(server, departure)
    east, west, stranger = rigs(), rigs(), rigs(station=MID)
    # The west gate boarded the first passenger; its check went up.
    with west.db.transaction() as session:
        emit(raw_cursor(session), west.terminal, "ticket.checked", {
            "ticket_id": first, "departure_id": departure, "gate": "5", "checker": "2002", "via": "code",
            "seat_no": None, "printed_version": 0, "unknown": False}, datetime.now(UTC))
    _drain(west)
    _pull(east)
    _pull(stranger)

    # The east gate holds every channel's tickets of its station's bus, with whom they are for.
    held = {r[0]: r[1:] for r in east.rows(
        "SELECT t.id, o.channel, p.name, p.doc_masked, t.status FROM tickets t JOIN orders o ON o.id = t.order_id "
        "JOIN passengers p ON p.ticket_id = t.id")}
    assert set(held) == {first, second, web["ticket_id"]}
    assert held[first][:2] == ("peer", "旅客") and held[web["ticket_id"]][:2] == ("web", "网购客")
    assert all("*" in masked for _, _, masked, _ in held.values())
    # ... none of which is the counter's own: not exported, not refunded at this window.
    assert exported_tickets(east.db)[1] == []
    with pytest.raises(KezhanError) as refused:
        quote_refund(east.db, east.terminal, ticket_id=second, now=datetime.now(UTC))
    assert refused.value.code == "SOLD_ELSEWHERE" and "其他售票终端" in refused.value.text("zh")
    # A terminal of another station holds none of them.
    assert stranger.rows("SELECT count(*) FROM passengers") == [(0,)]
    assert stranger.rows("SELECT count(*) FROM tickets") == [(0,)]

    # Offline, the east gate boards the second passenger and knows the first boarded at gate 5.
    with east.db.transaction() as session:
        ensure_user(session, "2001", "赵检票", "gate", "gate-pass")
    at = datetime.fromisoformat(f"{local_day(1)}T08:45:00").replace(tzinfo=ZONE)
    gate = Gate(east.db, east.terminal, clock=lambda: at)
    gate.login("2001", "gate-pass")
    gate.open_check(departure, vehicle="浙A12345", driver="王师傅")
    boarded = gate.check_text(second, departure)
    assert (boarded.code, boarded.passenger) == ("BOARD", "旅客")
    again = gate.check_text(first, departure)
    assert again.code == "ALREADY_CHECKED" and again.detail["gate"] == "5"
    # The web passenger taps the ID card: the east gate holds of that ticket only the name, the mask
    # and the 8-bit tag the feed carried (never a full hash), and still finds it offline.
    assert east.rows("SELECT count(*) FROM tickets WHERE doc_hash IS NOT NULL") == [(0,)]
    assert east.rows("SELECT count(*) FROM tickets WHERE length(doc_tag) = 2") == [(3,)]
    card = SimpleNamespace(name="网购客", doc_type="resident_id", number=web["passenger"]["doc_number"])
    tapped = gate.check_card(card, departure)
    assert (tapped.code, tapped.ticket_id) == ("CARD_MATCH", web["ticket_id"])
    _drain(east)
    tickets = {t["ticket_id"]: t for t in server.server.export_tickets()}
    assert tickets[first]["check"]["terminal_id"] == west.terminal.terminal_id
    assert tickets[second]["check"]["terminal_id"] == east.terminal.terminal_id
    assert server.server.conflicts_of(east.terminal.terminal_id) == []


def test_a_ride_change_at_another_gate_moves_the_ticket_at_the_window_that_sold_it(server, rigs):
    clerk = rigs()
    assert clerk.client.run_once().ok
    clerk.open_shift()
    source, target = departure_ids()[0], departure_ids()[1]
    clerk.sell(source)
    _drain(clerk)
    [ticket] = clerk.sold_ticket_ids()
    [(old_seat,)] = clerk.rows("SELECT seat_no FROM tickets WHERE id = ?", ticket)
    gate, east = rigs(), rigs()
    _pull(gate)
    # A seat of the gate terminal's own lease on the target bus.
    new_seat = gate.rows("SELECT min(seat_no) FROM seats WHERE departure_id = ? AND state = 'leased'", target)[0][0]
    with gate.db.transaction() as session:
        emit(raw_cursor(session), gate.terminal, "gate.opened", {
            "departure_id": target, "gate": "5", "plate": "浙B00001", "driver": "李师傅", "checker": "2002",
            "late": False}, datetime.now(UTC))
        emit(raw_cursor(session), gate.terminal, "ticket.ride_changed", {
            "ticket_id": ticket, "from_departure_id": source, "to_departure_id": target, "seat_no": new_seat,
            "reason": "原班故障", "approver": "9001"}, datetime.now(UTC))
    _drain(gate)
    assert server.server.conflicts_of(gate.terminal.terminal_id) == []
    _pull(clerk)
    _pull(east)
    # The window that sold it: the ticket rides the target bus, its old seat is no longer its.
    assert clerk.rows("SELECT from_departure_id, to_departure_id, seat_no FROM gate_ride_changes "
                      "WHERE ticket_id = ?", ticket) == [(source, target, new_seat)]
    assert clerk.rows("SELECT state FROM seats WHERE departure_id = ? AND seat_no = ?", source, old_seat) != [("sold",)]
    assert clerk.rows("SELECT state, ticket_id FROM seats WHERE departure_id = ? AND seat_no = ?",
                      target, new_seat) == [("held", ticket)]
    # Another gate of the station holds it on the target bus, and knows that bus is being checked.
    assert east.rows("SELECT departure_id, seat_no FROM tickets WHERE id = ?", ticket) == [(target, new_seat)]
    assert east.rows("SELECT state, gate, plate, driver FROM gate_departures WHERE departure_id = ?", target) == [
        ("checking", "5", "浙B00001", "李师傅")]
    # The feed never writes the opening gate's own record (this test wrote only its event, no record).
    assert gate.rows("SELECT state FROM gate_departures WHERE departure_id = ?", target) == []

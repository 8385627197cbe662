"""The gate's check events through a link that loses requests and answers: each reaches the server
exactly once, so no resend turns one passenger into a double boarding."""

from __future__ import annotations

from datetime import UTC, datetime

from app.services.context import emit
from app.store.engine import raw_cursor
from tests.integration.sync_client.helpers import check_invariants, departure_ids, local_day, server_events


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

"""A terminal revoked with unsent sales: with a drain, the terminal's own sync cycle delivers them
all, and its next request ends in the revocation alarm; revoked at once, they stay stranded."""

from __future__ import annotations

import requests

from tests.integration.sync_client.helpers import ADMIN, departure_ids, server_events

ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN}", "Kezhan-Protocol": "1"}
UNSENT = 15


def revoke(server, terminal_id: str, body=None) -> dict:
    r = requests.post(server.url + f"/v1/admin/terminals/{terminal_id}/revoke", json=body, timeout=10,
                      headers=ADMIN_HEADERS)
    r.raise_for_status()
    return r.json()


def a_day_of_unsent_sales(rig) -> None:
    assert rig.client.run_once().ok  # leases and the timetable, then the link "goes down"
    rig.open_shift()
    for _ in range(UNSENT):
        rig.sell(departure_ids()[0])


def test_revoked_with_a_drain_its_unsent_sales_land_then_it_stops(server, rigs):
    rig = rigs()
    a_day_of_unsent_sales(rig)
    pending = rig.client.pending_events()
    assert pending == UNSENT + 1  # the shift's opening and 15 sales
    assert revoke(server, rig.client.terminal_id, {"drain_hours": 24})["status"] == "draining"

    report = rig.client.run_once()
    assert rig.client.pending_events() == 0
    assert server_events(server, rig.client.terminal_id) == rig.outbox()  # every event, same hashes
    sold = rig.sold_ticket_ids()
    tickets = requests.get(server.url + "/v1/admin/tickets", params={"terminal": rig.client.terminal_id},
                           headers=ADMIN_HEADERS, timeout=10).json()["tickets"]
    assert {t["ticket_id"] for t in tickets} == sold and len(sold) == UNSENT
    # Its pull after the upload ended the drain: the terminal shows the revocation alarm.
    assert report.error_kind == "alarm"
    assert rig.statuses[-1].alarm == "TERMINAL_REVOKED"
    listed = requests.get(server.url + "/v1/admin/terminals", headers=ADMIN_HEADERS, timeout=10).json()["terminals"]
    assert {t["terminal_id"]: t["status"] for t in listed}[rig.client.terminal_id] == "revoked"


def test_revoked_at_once_its_unsent_sales_stay_stranded(server, rigs):
    rig = rigs()
    a_day_of_unsent_sales(rig)
    assert revoke(server, rig.client.terminal_id)["status"] == "revoked"
    assert rig.client.run_once().error_kind == "alarm"
    assert rig.client.pending_events() == UNSENT + 1
    assert server_events(server, rig.client.terminal_id) == []

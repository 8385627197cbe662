"""A station supervisor's departure actions on the province's side: a cancellation turns every live
ticket of the bus into a DEPARTURE_CANCELLED conflict at the terminal holding it, refundable with no
fee; a delay and an extra bus reach every terminal's feed; the extra bus's seats are leased to the
terminal that added it; another station's terminal is refused."""

from __future__ import annotations

from sqlalchemy import select

from sync.server import models

from .conftest import DEST, HOME, MID, SOON, TOMORROW

AT = "2026-11-24T00:05:00Z"


def _tid(sale: dict) -> str:
    return sale["payload"]["tickets"][0]["ticket_id"]


def _upload(t, *events) -> dict:
    r = t.upload(list(events))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["acked_through"] == events[-1]["seq"]
    return body


def _pull(t) -> list[dict]:
    changes, cursor = [], None
    while True:
        r = t.call("GET", "/v1/changes?limit=5000" + (f"&cursor={cursor}" if cursor else ""))
        assert r.status_code == 200, r.text
        body = r.json()
        changes += body["changes"]
        cursor = body["cursor"]
        if not body["more"]:
            return changes


def _last(changes: list[dict], kind: str, key: str) -> dict:
    return [c for c in changes if c["kind"] == kind and c["key"] == key][-1]


def _rows(server, table, *where):
    with server.srv.server.engine.connect() as conn:
        return conn.execute(select(table).where(*where)).all()


def _refund(t, ticket_id, *, fee, amount):
    return t.event("ticket.refunded", {"ticket_id": ticket_id, "fee": fee, "refund_amount": amount, "forced": False,
                                       "approved_by": None, "refunded_at": AT, "clerk": "c01", "shift_id": "S1"})


def _cancel(t, departure_id=TOMORROW):
    return t.event("departure.cancelled", {"departure_id": departure_id, "reason": "车辆故障", "approved_by": "9001",
                                           "cancelled_at": AT, "departs_at": "2026-11-25T01:00:00.000000Z"})


def _extra(t, departure_id, *, seats=5, route="R1"):
    return t.event("departure.added", {
        "departure_id": departure_id, "schedule_code": "K0900", "route": route, "date": "2026-11-25",
        "time": "10:30", "departs_at": "2026-11-25T02:30:00.000000Z", "vehicle_class": "ZG", "seats": seats,
        "gate": "3", "status": "normal", "extra": True, "stop_sale_minutes": 5, "like_departure_id": TOMORROW,
        "reason": "客流大", "approved_by": "9001"})


def test_a_cancellation_makes_a_fee_free_refund_conflict_at_each_terminal_that_sold_on_the_bus(server):
    east, west, office = server.terminal(), server.terminal(), server.terminal()
    east_sale, west_sale = east.sale(TOMORROW, 1), west.sale(TOMORROW, 2)
    _upload(east, east_sale)
    _upload(west, west_sale)
    _upload(office, _cancel(office))
    # Every terminal pulls the departure as cancelled; each seller its own conflict, and no one else's.
    for t in (east, west, office):
        assert _last(_pull(t), "departure", TOMORROW)["data"]["status"] == "cancelled"
    east_conflicts = [c for c in _pull(east) if c["kind"] == "conflict"]
    assert [(c["key"], c["data"]["kind"], c["data"]["ticket_id"]) for c in east_conflicts] == [
        (f"0/{_tid(east_sale)}", "DEPARTURE_CANCELLED", _tid(east_sale))]
    assert [c["data"]["ticket_id"] for c in _pull(west) if c["kind"] == "conflict"] == [_tid(west_sale)]
    assert [c for c in _pull(office) if c["kind"] == "conflict"] == []
    # West refunds its passenger with no fee: accepted, and the conflict is resolved.
    body = _upload(west, _refund(west, _tid(west_sale), fee=0, amount=3250))
    assert body["conflicts"] == []
    C = models.conflicts
    [conflict] = _rows(server, C, C.c.ticket_id == _tid(west_sale))
    assert (conflict.kind, conflict.status, conflict.resolution) == ("DEPARTURE_CANCELLED", "resolved", "refunded")
    # A sale made offline before the terminal heard of it becomes the same kind of conflict.
    late = east.sale(TOMORROW, 3)
    assert [c["kind"] for c in _upload(east, late)["conflicts"]] == ["DEPARTURE_CANCELLED"]
    alarms = server.get_admin("/v1/admin/alarms").json()["alarms"]
    assert alarms == []


def test_another_stations_terminal_may_not_cancel_delay_or_add_to_this_stations_departures(server):
    stranger = server.terminal(MID)
    cancel = _cancel(stranger)
    delay = stranger.event("departure.delayed", {"departure_id": TOMORROW, "date": "2026-11-25", "time": "11:00",
                                                 "new_departs_at": "2026-11-25T03:00:00.000000Z",
                                                 "previous_departs_at": "2026-11-25T01:00:00.000000Z",
                                                 "reason": "x", "approved_by": "9"})
    for ev in (cancel, delay, _extra(stranger, f"{MID}-20261125-K0900-J0101")):
        body = _upload(stranger, ev)
        assert [c["kind"] for c in body["conflicts"]] == ["REFUSED"], ev["type"]
    alarms = [a["kind"] for a in server.get_admin("/v1/admin/alarms").json()["alarms"]]
    assert alarms == ["FOREIGN_DEPARTURE"] * 3
    D = models.departures
    [dep] = _rows(server, D, D.c.id == TOMORROW)
    assert dep.status == "normal"


def test_a_delay_reaches_every_terminal_with_the_new_time(server):
    office, clerk = server.terminal(), server.terminal()
    sale = clerk.sale(TOMORROW, 4)
    _upload(clerk, sale)
    _upload(office, office.event("departure.delayed", {
        "departure_id": TOMORROW, "date": "2026-11-25", "time": "11:15",
        "new_departs_at": "2026-11-25T03:15:00.000000Z", "previous_departs_at": "2026-11-25T01:00:00.000000Z",
        "reason": "大雾", "approved_by": "9001"}))
    data = _last(_pull(clerk), "departure", TOMORROW)["data"]
    assert (data["date"], data["time"], data["status"]) == ("2026-11-25", "11:15", "delayed")
    D, Tk = models.departures, models.tickets
    [dep] = _rows(server, D, D.c.id == TOMORROW)
    assert dep.departs_at.isoformat().startswith("2026-11-25T03:15")
    [ticket] = _rows(server, Tk, Tk.c.ticket_id == _tid(sale))
    assert (ticket.status, ticket.seat_no) == ("active", 4)
    # A delay to no later a time is refused.
    body = _upload(office, office.event("departure.delayed", {
        "departure_id": TOMORROW, "date": "2026-11-25", "time": "08:00",
        "new_departs_at": "2026-11-25T00:00:00.000000Z", "previous_departs_at": "2026-11-25T03:15:00.000000Z",
        "reason": "x", "approved_by": "9001"}))
    assert [c["kind"] for c in body["conflicts"]] == ["REFUSED"]


def test_an_extra_bus_is_leased_whole_to_its_terminal_and_published_to_every_other(server):
    office, other = server.terminal(), server.terminal()
    extra_id = f"{HOME}-20261125-K0900-J0101"
    # Added and sold in one batch, as a terminal that sold it before its next upload sends them.
    added = _extra(office, extra_id)
    sale = office.sale(extra_id, 2)
    body = _upload(office, added, sale)
    assert body["conflicts"] == []
    Tk = models.tickets
    [ticket] = _rows(server, Tk, Tk.c.ticket_id == _tid(sale))
    assert ticket.status == "active"
    lease = _last(_pull(office), "lease", extra_id)["data"]
    assert sorted(lease["seats"]) == [1, 3, 4, 5]  # seat 2 is sold
    seen = _pull(other)
    data = _last(seen, "departure", extra_id)["data"]
    assert (data["route"], data["time"], data["seats"], data["extra"]) == ("R1", "10:30", 5, True)
    assert _last(seen, "seat", f"{extra_id}/1")["data"]["state"] == "leased"
    assert [c for c in seen if c["kind"] == "lease" and c["key"] == extra_id] == []  # not the other's lease
    # The other terminal's sale of a leased seat is a conflict: the office sells it offline safely.
    assert [c["kind"] for c in _upload(other, other.sale(extra_id, 1, stop=DEST))["conflicts"]] == ["SEAT_LEASED"]


def test_an_extra_bus_with_bad_seats_an_unknown_route_or_a_taken_id_is_refused(server):
    office = server.terminal()
    for ev in (_extra(office, f"{HOME}-20261125-X-J0101", seats=0), _extra(office, f"{HOME}-20261125-X-J0102", seats=500),
               _extra(office, f"{HOME}-20261125-X-J0103", route="NOPE"), _extra(office, TOMORROW)):
        assert [c["kind"] for c in _upload(office, ev)["conflicts"]] == ["REFUSED"]
    alarms = [a["kind"] for a in server.get_admin("/v1/admin/alarms").json()["alarms"]]
    assert alarms == ["BAD_EVENT"] * 4


def test_the_station_day_sums_the_stations_terminals_and_lists_its_departures(server):
    east, west, stranger = server.terminal(), server.terminal(), server.terminal(MID)
    one, two = east.sale(TOMORROW, 1), east.sale(TOMORROW, 2)
    _upload(east, one, two, _refund(east, _tid(two), fee=330, amount=3250 - 330))
    _upload(west, west.sale(TOMORROW, 3))
    _upload(stranger, stranger.sale(TOMORROW, 4))  # another station's terminal: not this station's money
    r = east.call("GET", "/v1/station/day?date=2026-11-24")
    assert r.status_code == 200, r.text
    day = r.json()
    assert (day["station"], day["source"]) == (HOME, "server")
    assert day["channels"]["window"] == {"tickets": 3, "amount": 3 * 3250}
    assert day["refunds"] == {"count": 1, "amount": 3250 - 330, "fees": 330}
    assert day["net"] == 3 * 3250 - (3250 - 330)
    assert sorted(t["terminal_id"] for t in day["terminals"]) == sorted([east.terminal_id, west.terminal_id])
    assert [d["time"] for d in day["departures"]] == ["09:00"]  # today's; TOMORROW is tomorrow's
    tomorrow = east.call("GET", "/v1/station/day?date=2026-11-25").json()
    assert [(d["departure_id"], d["sold"], d["checked"], d["road_bill"]) for d in tomorrow["departures"]] == [
        (TOMORROW, 3, 0, None)]
    assert east.call("GET", "/v1/station/day?date=tomorrow").status_code == 422


def test_a_cancelled_bus_refunds_in_full_the_web_tickets_nobody_picked_up(server):
    office, counter, gate_side = server.terminal(), server.terminal(), server.terminal()
    waiting, collected = (server.post_admin("/v1/web/orders", {
        "departure_id": TOMORROW, "stop": DEST, "passengers": [{"name": name, "seat_no": seat}]}).json()
        for name, seat in (("李四", 5), ("王五", 6)))
    [waiting], [collected] = waiting["tickets"], collected["tickets"]
    _upload(counter, counter.event("ticket.picked_up", {
        "ticket_id": collected["ticket_id"], "stock_no": "A0100", "picked_up_at": AT, "clerk": "c01",
        "shift_id": "S1"}))
    cursor = gate_side.call("GET", "/v1/changes?limit=5000").json()["cursor"]
    _upload(office, _cancel(office))
    # The ticket nobody picked up is refunded in full at once: the web channel reads it so ...
    shown = server.get_admin(f"/v1/web/tickets/{waiting['ticket_id']}").json()
    assert (shown["status"], shown["price"]) == ("refunded", waiting["price"])
    assert server.post_admin(f"/v1/web/tickets/{waiting['ticket_id']}/refund").json()["error"] == "TICKET_NOT_ACTIVE"
    # ... the station's gates hear it no longer boards, and its pick-up code finds a refunded ticket.
    after = gate_side.call("GET", f"/v1/changes?cursor={cursor}&limit=5000").json()["changes"]
    assert [c["data"]["status"] for c in after
            if c["kind"] == "gate_ticket" and c["key"] == waiting["ticket_id"]] == ["refunded"]
    assert gate_side.call("GET", f"/v1/pickup/{waiting['pickup_code']}").json()["status"] == "refunded"
    # The picked-up one is the counter's to refund, as a task, like its own sales.
    assert [(c["data"]["kind"], c["data"]["ticket_id"]) for c in _pull(counter) if c["kind"] == "conflict"] == [
        ("DEPARTURE_CANCELLED", collected["ticket_id"])]
    # The day's report counts the web refund with its whole amount and no fee.
    home = next(r for r in server.get_admin("/v1/admin/reports/station", date="2026-11-24").json()["stations"]
                if r["station"] == HOME)
    assert (home["web_tickets"], home["refunds"], home["refund_amount"], home["refund_fees"]) == (
        2, 1, waiting["price"], 0)
    # An unknown ticket, or a window's, is not the web's to read.
    assert server.get_admin("/v1/web/tickets/W-nothing").json()["error"] == "UNKNOWN_TICKET"
    window = counter.sale(SOON, 1)
    _upload(counter, window)
    refused = server.get_admin(f"/v1/web/tickets/{_tid(window)}")
    assert (refused.status_code, refused.json()["error"]) == (404, "UNKNOWN_TICKET")
    assert "passenger" not in refused.json()

"""What a terminal may do: each attack of one enrolled terminal on tickets that are not its own, on
another terminal's ticket ids, or on the province's money, is refused, recorded as an alarm, and
never applied; the upload moves on. Legitimate after-sale flows go through as before."""

from __future__ import annotations

from sqlalchemy import select

from app.domain.stock import make_ticket_id, parse_terminal_id
from sync import protocol
from sync.server import models

from .conftest import DEST, MID, SOON, TOMORROW

FEE = 330  # the first tier's fee on 32.50: 10 %, rounded to the jiao
AT = "2026-11-24T00:05:00Z"


def _ticket(server, ticket_id):
    T = models.tickets
    with server.srv.server.engine.connect() as conn:
        return conn.execute(select(T).where(T.c.ticket_id == ticket_id)).first()


def _tid(sale):
    return sale["payload"]["tickets"][0]["ticket_id"]


def refund(t, ticket_id, *, fee=FEE, amount=3250 - FEE, forced=False, approved_by=None):
    return t.event("ticket.refunded", {"ticket_id": ticket_id, "fee": fee, "refund_amount": amount,
                                       "forced": forced, "approved_by": approved_by, "refunded_at": AT,
                                       "clerk": "c01", "shift_id": "S1"})


def void(t, ticket_id):
    return t.event("ticket.voided", {"ticket_id": ticket_id, "stock_no": "A0001", "voided_at": AT,
                                     "clerk": "c01", "shift_id": "S1"})


def reprint(t, ticket_id):
    return t.event("ticket.reprinted", {"ticket_id": ticket_id, "old_stock_no": "A0001", "new_stock_no": "X9999",
                                        "reprinted_at": AT, "clerk": "c01", "shift_id": "S1"})


def pick_up(t, ticket_id, stock_no="A0100"):
    return t.event("ticket.picked_up", {"ticket_id": ticket_id, "stock_no": stock_no, "picked_up_at": AT,
                                        "clerk": "c01", "shift_id": "S1"})


def change(t, old, *, departure_id=SOON, seat_no=2, stop=DEST, fare=3250, price=3250, difference=0, fee=0):
    new = {**old, "ticket_id": t.next_ticket_id(), "departure_id": departure_id, "seat_no": seat_no, "stop": stop,
           "fare": fare, "price": price}
    return t.event("ticket.changed", {"old_ticket_id": old["ticket_id"], "new_ticket": new,
                                      "fare_difference": difference, "fee": fee, "changed_at": AT, "clerk": "c01",
                                      "shift_id": "S1"})


def web_order(server, **passenger):
    r = server.post_admin("/v1/web/orders", {"departure_id": TOMORROW, "stop": DEST,
                                             "passengers": [{"name": "李四", **passenger}]})
    assert r.status_code == 201, r.text
    return r.json()["tickets"][0]


def refused(server, t, ev):
    """Uploads ``ev`` alone; asserts the server acknowledged it as refused (a REFUSED conflict, an
    alarm under its seq) and returns the alarm."""
    r = t.upload([ev])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["acked_through"] == ev["seq"]  # the queue moves on
    assert [c["kind"] for c in body["conflicts"]] == ["REFUSED"], body
    alarms = [a for a in server.get_admin("/v1/admin/alarms").json()["alarms"]
              if a["terminal_id"] == t.terminal_id and a["seq"] == ev["seq"]]
    assert len(alarms) == 1, alarms
    return alarms[0]


def applied(t, ev):
    r = t.upload([ev])
    assert r.status_code == 200, r.text
    assert r.json()["conflicts"] == [] and r.json()["applied"] == 1, r.json()


def test_another_terminals_ticket_cannot_be_refunded_voided_changed_or_reprinted(server):
    a, b = server.terminal(), server.terminal()
    sale = b.sale(TOMORROW, 1)
    applied(b, sale)
    tid = _tid(sale)
    for attack in (refund(a, tid), void(a, tid), change(a, sale["payload"]["tickets"][0]), reprint(a, tid)):
        alarm = refused(server, a, attack)
        assert alarm["kind"] == "FOREIGN_TICKET" and tid in alarm["detail"]
    # b's ticket is as b sold it: active, on its seat, its paper number unchanged.
    row = _ticket(server, tid)
    assert (row.status, row.active_seat, row.stock_no) == ("active", f"{TOMORROW}#1", None)
    # ... and b may still refund it.
    applied(b, refund(b, tid))
    assert _ticket(server, tid).status == "refunded"


def test_a_web_ticket_not_picked_up_here_is_not_this_terminals_to_refund_or_reprint(server):
    a, b = server.terminal(), server.terminal()
    web = web_order(server)
    refused(server, a, refund(a, web["ticket_id"]))
    applied(b, pick_up(b, web["ticket_id"]))
    # Picked up at b: a may neither refund nor reprint it, nor change it.
    for attack in (refund(a, web["ticket_id"]), reprint(a, web["ticket_id"])):
        assert refused(server, a, attack)["kind"] == "FOREIGN_TICKET"
    row = _ticket(server, web["ticket_id"])
    assert (row.status, row.picked_up_by, row.stock_no) == ("active", b.terminal_id, "A0100")


def test_a_web_ticket_of_another_stations_departure_cannot_be_picked_up(server):
    web = web_order(server)
    elsewhere = server.terminal(station=MID)
    assert refused(server, elsewhere, pick_up(elsewhere, web["ticket_id"]))["kind"] == "FOREIGN_TICKET"
    row = _ticket(server, web["ticket_id"])
    assert (row.picked_up_by, row.stock_no) == (None, None)


def test_taking_another_terminals_next_ticket_id_is_refused_and_its_real_sale_stands(server):
    a, b = server.terminal(), server.terminal()
    station, b_no = parse_terminal_id(b.terminal_id)
    stolen = make_ticket_id(station, b_no, 1)  # the id b will give its next sale
    assert refused(server, a, a.sale(TOMORROW, 1, ticket_id=stolen))["kind"] == "FOREIGN_TICKET_ID"
    assert _ticket(server, stolen) is None
    # b's real sale of that id is no conflict.
    real = b.sale(TOMORROW, 2)
    assert _tid(real) == stolen
    applied(b, real)
    assert _ticket(server, stolen).terminal_id == b.terminal_id


def test_a_sale_priced_below_the_fare_is_refused(server):
    a = server.terminal()
    cheap = a.sale(TOMORROW, 1, price=100)
    assert refused(server, a, cheap)["kind"] == "BAD_AMOUNT"
    assert _ticket(server, _tid(cheap)) is None
    # The seat was not taken: the honest sale of it goes through.
    applied(a, a.sale(TOMORROW, 1))


def test_negative_or_odd_insurance_is_refused_on_the_web_and_at_a_terminal(server):
    r = server.post_admin("/v1/web/orders", {"departure_id": TOMORROW, "stop": DEST,
                                             "passengers": [{"name": "李四", "insurance": -1_000_000}]})
    assert (r.status_code, r.json()["error"]) == (422, "INVALID_REQUEST")
    [alarm] = server.get_admin("/v1/admin/alarms").json()["alarms"]
    assert (alarm["terminal_id"], alarm["kind"]) == ("web", "BAD_AMOUNT") and "-1000000" in alarm["detail"]
    r = server.post_admin("/v1/web/orders", {"departure_id": TOMORROW, "stop": DEST,
                                             "passengers": [{"name": "李四", "insurance": 1}]})
    assert r.status_code == 422
    # The province's insurance at its price is fine.
    assert web_order(server, insurance=300)["insurance"] == 300
    a = server.terminal()
    sale = a.sale(TOMORROW, 1)
    sale["payload"]["tickets"][0]["insurance"] = -1_000_000
    sale["payload"]["payment"]["amount"] = sale["payload"]["payment"]["tendered"] = 3250 - 1_000_000
    sale["hash"] = protocol.event_hash(sale)
    assert refused(server, a, sale)["kind"] == "BAD_AMOUNT"


def test_a_refund_above_the_price_or_without_the_fee_is_refused(server):
    a = server.terminal()
    sale = a.sale(TOMORROW, 1)
    applied(a, sale)
    tid = _tid(sale)
    for attack in (refund(a, tid, fee=0, amount=1_000_000), refund(a, tid, fee=0, amount=3250),
                   refund(a, tid, fee=-500, amount=3750)):
        assert refused(server, a, attack)["kind"] == "BAD_AMOUNT"
    assert _ticket(server, tid).status == "active"
    applied(a, refund(a, tid))


def test_a_refused_event_is_acknowledged_once_and_the_queue_moves_on(server):
    a, b = server.terminal(), server.terminal()
    sale = b.sale(TOMORROW, 1)
    applied(b, sale)
    attack = refund(a, _tid(sale))
    refused(server, a, attack)
    # A resend (the answer was lost) is a duplicate: no second alarm, the same conflict reported.
    r = a.upload([attack, a.sale(TOMORROW, 2)]).json()
    assert (r["acked_through"], r["duplicates"], r["applied"]) == (2, 1, 1)
    assert [c["kind"] for c in r["conflicts"]] == ["REFUSED"]
    assert len([x for x in server.get_admin("/v1/admin/alarms").json()["alarms"]
                if x["terminal_id"] == a.terminal_id]) == 1


# --- what stays allowed ---------------------------------------------------------------------------------


def test_own_refund_with_the_policys_fee_and_a_forced_one(server):
    a = server.terminal()
    s1, s2 = a.sale(TOMORROW, 1), a.sale(TOMORROW, 2)
    applied(a, s1)
    applied(a, s2)
    applied(a, refund(a, _tid(s1)))
    applied(a, refund(a, _tid(s2), fee=0, amount=3250, forced=True, approved_by="sup"))
    assert [_ticket(server, _tid(s)).status for s in (s1, s2)] == ["refunded", "refunded"]


def test_a_web_ticket_picked_up_here_may_be_refunded_here(server):
    a = server.terminal()
    web = web_order(server)
    applied(a, pick_up(a, web["ticket_id"]))
    applied(a, refund(a, web["ticket_id"]))
    assert _ticket(server, web["ticket_id"]).status == "refunded"


def test_a_conflict_tasks_full_refund_and_reseat(server):
    a = server.terminal()
    web_order(server, seat_no=4)
    web_order(server, seat_no=5)
    s1, s2 = a.sale(TOMORROW, 4), a.sale(TOMORROW, 5)
    for s in (s1, s2):
        r = a.upload([s]).json()
        assert [c["kind"] for c in r["conflicts"]] == ["SEAT_TAKEN"]
    # The refund task: the whole price back, no fee.
    applied(a, refund(a, _tid(s1), fee=0, amount=3250))
    # The reseat task: the same departure, another seat, nothing to pay.
    applied(a, change(a, s2["payload"]["tickets"][0], departure_id=TOMORROW, seat_no=6))
    assert [_ticket(server, _tid(s)).status for s in (s1, s2)] == ["refunded", "changed"]


def test_a_change_with_a_fare_difference(server):
    a = server.terminal()
    sale = a.sale(TOMORROW, 1, price=1500, stop=MID)
    applied(a, sale)
    ev = change(a, sale["payload"]["tickets"][0], departure_id=SOON, seat_no=3, stop=DEST, fare=3250, price=3250,
                difference=1750)
    applied(a, ev)
    assert _ticket(server, _tid(sale)).status == "changed"
    assert _ticket(server, ev["payload"]["new_ticket"]["ticket_id"]).active_seat == f"{SOON}#3"


def test_a_change_that_hands_back_more_than_the_fare_difference_is_refused(server):
    a = server.terminal()
    sale = a.sale(TOMORROW, 1)
    applied(a, sale)
    ev = change(a, sale["payload"]["tickets"][0], stop=MID, fare=1500, price=1500, difference=-3000)
    assert refused(server, a, ev)["kind"] == "BAD_AMOUNT"
    assert _ticket(server, _tid(sale)).status == "active"


def test_reconciliation_leaves_a_refused_sale_out_of_the_days_money(server):
    a = server.terminal()
    applied(a, a.sale(TOMORROW, 1))
    refused(server, a, a.sale(TOMORROW, 2, price=100))
    rec = a.call("GET", "/v1/reconciliation?date=2026-11-24").json()
    assert (rec["events"]["count"], rec["counts"]["refused"], rec["money"]["sales"]) == (2, 1, 3250)


def _raise_the_fare(server, to: int = 3500) -> None:
    """The province imports a new fare for every stop pair, as a fare rise does."""
    from .conftest import province_doc

    doc = province_doc()
    for fare in doc["fares"]:
        fare["full_fare"] = to
    server.srv.server.import_province(doc)


def _alarms_of(server, t, seq):
    return [a["kind"] for a in server.get_admin("/v1/admin/alarms").json()["alarms"]
            if a["terminal_id"] == t.terminal_id and a["seq"] == seq]


def test_a_sale_priced_by_the_fare_just_replaced_stands_with_an_alarm(server):
    """A terminal that sold before its next pull priced by the fare it knew: its sale stands and keeps
    its seat (refusing it would sell the seat twice), and the province is told."""
    a = server.terminal()
    _raise_the_fare(server)
    sale = a.sale(TOMORROW, 1)  # 32.50: the fare until a moment ago
    applied(a, sale)
    assert _ticket(server, _tid(sale)).status == "active"
    assert _alarms_of(server, a, sale["seq"]) == ["STALE_RULES"]
    # Past the grace, the old fare is no longer one a terminal can have known: refused.
    server.clock.advance(hours=25)
    late = a.sale(TOMORROW, 2)
    assert refused(server, a, late)["kind"] == "BAD_AMOUNT"


def test_batches_price_by_the_fare_the_province_imported_last_not_the_one_read_before(server):
    """A server process keeps the rules and fares it read while the province's rules stay the same;
    an import that changes a fare is seen by the very next batch, in this process and any other."""
    a = server.terminal()
    before = a.sale(TOMORROW, 1)  # read (and kept): 32.50
    applied(a, before)
    assert _alarms_of(server, a, before["seq"]) == []
    _raise_the_fare(server)
    after = a.sale(TOMORROW, 2, price=3500)
    applied(a, after)
    assert _alarms_of(server, a, after["seq"]) == []  # the new fare, not the kept one
    stale = a.sale(TOMORROW, 3)
    applied(a, stale)
    assert _alarms_of(server, a, stale["seq"]) == ["STALE_RULES"]
    _raise_the_fare(server, to=3250)  # and back: not the first version's rules found again by mistake
    back = a.sale(TOMORROW, 4)
    applied(a, back)
    assert _alarms_of(server, a, back["seq"]) == []


def test_a_reseat_keeps_the_price_it_was_sold_at_after_a_fare_change(server):
    a = server.terminal()
    web_order(server, seat_no=5)
    sold = a.sale(TOMORROW, 5)
    assert [c["kind"] for c in a.upload([sold]).json()["conflicts"]] == ["SEAT_TAKEN"]
    _raise_the_fare(server)
    server.clock.advance(hours=25)  # long after the rise: only the reseat's own rule lets it through
    applied(a, change(a, sold["payload"]["tickets"][0], departure_id=TOMORROW, seat_no=6))
    assert _ticket(server, _tid(sold)).status == "changed"


def test_a_refund_policy_without_tiers_is_the_default_one_on_both_sides(server):
    from .conftest import province_doc

    doc = province_doc()
    doc["refund_policy"] = {"minimum_fee": 100}  # no tiers: the counter quotes the default policy
    server.srv.server.import_province(doc)
    a = server.terminal()
    sale = a.sale(TOMORROW, 1)
    r = a.upload([sale])
    assert r.status_code == 200 and r.json()["applied"] == 1, r.text

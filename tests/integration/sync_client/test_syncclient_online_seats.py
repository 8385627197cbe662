"""Online sales of pool seats are confirmed by the server before they commit (issue 11, finding 3).

Two terminals pull once and then sell on with seat maps nobody refreshes (the sync loop in a process
of its own, a map minutes stale): every seat outside a terminal's leases is asked of the reference
server over loopback before the sale commits, so no sale turns into a SEAT_TAKEN or SEAT_LEASED
conflict afterwards. Without the confirmation most of these sales were double-booked.
"""

from __future__ import annotations

import pytest

from app.errors import RuleViolation
from tests.integration.sync_client.helpers import check_invariants, departure_ids

SEAT_CONFLICTS = {"SEAT_TAKEN", "SEAT_LEASED"}


def _seat_conflicts(server, rig) -> list[dict]:
    return [c for c in server.server.conflicts_of(rig.client.terminal_id) if c["kind"] in SEAT_CONFLICTS]


def _wired(rig):
    rig.terminal.seat_confirmer = rig.client.confirm_seat
    return rig


def test_two_terminals_with_stale_maps_sell_one_departure_online_without_a_double_booking(server, rigs):
    a, b = _wired(rigs(lease_target=3)), _wired(rigs(lease_target=3))
    assert a.client.run_once().ok and b.client.run_once().ok  # the last pull either map will see
    a.open_shift("00100001")
    b.open_shift("00150001")
    dep = departure_ids()[0]
    sold, refused = 0, []
    for _ in range(19):  # 38 of the 40 seats, every sale online, alternating windows
        for rig in (a, b):
            try:
                rig.sell(dep)
                sold += 1
            except RuleViolation as exc:
                refused.append(exc.code)
    for rig in (a, b):
        assert rig.client.drain(timeout=20)
    assert sold == 38 and refused == []
    assert _seat_conflicts(server, a) == [] and _seat_conflicts(server, b) == []
    assert a.rows("SELECT count(*) FROM sync_tasks") == [(0,)] == b.rows("SELECT count(*) FROM sync_tasks")
    check_invariants(server, [a, b])


def test_a_seat_chosen_by_the_clerk_that_another_window_holds_is_refused_before_any_money(server, rigs):
    a, b = _wired(rigs(lease_target=2)), _wired(rigs(lease_target=2))
    assert a.client.run_once().ok and b.client.run_once().ok
    a.open_shift("00100001")
    b.open_shift("00150001")
    dep = departure_ids()[1]
    assert a.sell(dep, seat_no=30).print_jobs[0].seat_no == 30  # a pool seat, confirmed for window a
    before = b.outbox()
    with pytest.raises(RuleViolation) as taken:
        b.sell(dep, seat_no=30)  # b's map has never heard of it
    assert taken.value.code == "SEAT_TAKEN"
    assert "30 号座位已被其他窗口或网售占用" in taken.value.text("zh")
    assert "Seat 30 is taken" in taken.value.text("en")
    assert b.outbox() == before
    assert b.rows("SELECT state FROM seats WHERE departure_id = ? AND seat_no = 30", dep) == [("held",)]


def test_an_unconfirmed_pool_seat_is_refused_and_leased_seats_still_sell_without_the_link(server, proxy, rigs):
    rig = _wired(rigs(via=proxy, lease_target=2))
    assert rig.client.run_once().ok
    rig.open_shift()
    dep = departure_ids()[2]
    leased = sorted(n for (n,) in rig.rows(
        "SELECT seat_no FROM seats WHERE departure_id = ? AND state = 'leased'", dep))
    pool = next(n for (n,) in rig.rows(
        "SELECT seat_no FROM seats WHERE departure_id = ? AND state = 'free' ORDER BY seat_no DESC", dep))
    proxy.cut()  # the counter still believes it is online: no sync cycle has noticed yet
    assert rig.terminal.online
    before = rig.outbox()
    with pytest.raises(RuleViolation) as refused:
        rig.sell(dep, seat_no=pool)
    assert refused.value.code == "SEAT_NOT_CONFIRMED"
    assert f"省平台未能确认 {pool} 号座位" in refused.value.text("zh")
    assert "本机租用的座位" in refused.value.text("zh")
    assert "sell from this terminal's leased seats" in refused.value.text("en")
    assert rig.outbox() == before
    # The counter knows now that the link is down, before any sync cycle: the next sales come from
    # its leases without asking the server (no second wait with the clerk's window frozen), and
    # the status bar says offline.
    assert not rig.terminal.online and rig.statuses[-1].online is False
    # A leased seat needs no call: the sale goes through with the link cut.
    assert [rig.sell(dep).print_jobs[0].seat_no for _ in leased] == leased
    proxy.restore()
    assert rig.client.drain(timeout=10)
    assert rig.terminal.online
    check_invariants(server, [rig])


def test_a_link_lost_at_the_counter_during_a_cycle_stands_until_the_next_cycle(server, proxy, rigs):
    """A sale's seat request finds the link gone while the worker's cycle is under way (its calls
    made before the cut): the end of that cycle does not say online over it. The next cycle, which
    the seat request woke the worker for, decides."""
    rig = _wired(rigs(via=proxy, lease_target=2))
    assert rig.client.run_once().ok and rig.terminal.online
    rig.open_shift()
    dep = departure_ids()[2]
    pool = next(n for (n,) in rig.rows(
        "SELECT seat_no FROM seats WHERE departure_id = ? AND state = 'free' ORDER BY seat_no DESC", dep))
    real_pull = rig.client._pull

    def pull_then_a_sale_meets_the_cut(report):
        real_pull(report)
        proxy.cut()
        with pytest.raises(RuleViolation) as refused:
            rig.sell(dep, seat_no=pool)
        assert refused.value.code == "SEAT_NOT_CONFIRMED"
        proxy.restore()

    rig.client._pull = pull_then_a_sale_meets_the_cut
    assert rig.client.run_once().ok  # its own calls went through
    assert not rig.terminal.online and not rig.client.online and rig.statuses[-1].online is False
    rig.client._pull = real_pull
    assert rig.client.run_once().ok and rig.terminal.online and rig.statuses[-1].online is True

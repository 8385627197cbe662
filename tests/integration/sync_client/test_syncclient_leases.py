"""Leases: topped up in the background, a specific seat on request, and the offline budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain.leases import OfflineBudget
from app.errors import RuleViolation, SyncError
from tests.integration.sync_client.helpers import check_invariants, departure_ids
from tests.integration.sync_client.test_syncclient_pull import web_sale


def leased(rig, dep):
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return [n for (n,) in rig.rows(
        "SELECT s.seat_no FROM seats s JOIN seat_leases l ON l.id = s.lease_id WHERE s.departure_id = ? "
        "AND s.state = 'leased' AND l.expires_at > ? ORDER BY 1", dep, now)]


def test_leases_are_topped_up_when_sellable_leased_seats_run_low(server, proxy, rigs):
    rig = rigs(via=proxy, lease_threshold=3, lease_target=6)
    assert rig.client.run_once().ok
    deps = departure_ids()
    assert all(len(leased(rig, d)) == 6 for d in deps)
    coverage = rig.statuses[-1].lease_coverage
    assert (coverage.departures, coverage.covered, coverage.seats) == (6, 6, 36)
    rig.open_shift()
    proxy.cut()  # offline: sales come out of the lease
    assert not rig.client.run_once().ok
    for _ in range(4):
        rig.sell(deps[0])
    assert len(leased(rig, deps[0])) == 2
    proxy.restore()
    report = rig.client.run_once()
    assert report.ok and report.leases_requested == 1 and report.seats_granted == 4
    assert len(leased(rig, deps[0])) == 6
    check_invariants(server, [rig])


def test_a_specific_seat_is_granted_synchronously_and_sellable_offline(server, proxy, rigs):
    rig = rigs(via=proxy)
    assert rig.client.run_once().ok
    dep = departure_ids()[2]
    assert 25 not in leased(rig, dep)
    answer = rig.client.request_seat(dep, 25)
    assert answer["seat_no"] == 25
    assert 25 in leased(rig, dep)
    rig.open_shift()
    proxy.cut()
    assert not rig.client.run_once().ok
    sale = rig.sell(dep, seat_no=25)
    assert sale.print_jobs[0].seat_no == 25
    proxy.restore()
    assert rig.client.drain(timeout=10)
    check_invariants(server, [rig])


def test_a_seat_request_for_a_taken_seat_or_while_offline_is_refused_clearly(server, proxy, rigs):
    rig = rigs(via=proxy)
    assert rig.client.run_once().ok
    dep = departure_ids()[3]
    web_sale(server, dep, seat_no=30)
    with pytest.raises(SyncError) as taken:
        rig.client.request_seat(dep, 30)
    assert taken.value.code == "SEAT_TAKEN"
    proxy.cut()
    with pytest.raises(SyncError) as offline:
        rig.client.request_seat(dep, 31)
    assert offline.value.code == "OFFLINE"


def test_the_offline_budget_stops_selling_after_the_set_time(server, proxy, rigs):
    shift = {"s": 0.0}
    import time

    rig = rigs(via=proxy, offline_budget=OfflineBudget(max_offline_minutes=60),
               clock=lambda: time.time() + shift["s"])
    assert rig.client.run_once().ok
    dep = departure_ids()[0]
    rig.client.check_can_sell(dep)  # online: nothing to check
    proxy.cut()
    assert not rig.client.run_once().ok
    status = rig.statuses[-1]
    assert status.offline_budget_left is not None and 3500 < status.offline_budget_left <= 3600
    rig.client.check_can_sell(dep)  # within the budget, with leased seats
    shift["s"] = 61 * 60
    with pytest.raises(RuleViolation) as refused:
        rig.client.check_can_sell(dep)
    assert refused.value.code == "OFFLINE_BUDGET_EXHAUSTED"
    assert rig.client.current_status().offline_budget_left == 0
    # The counter's own sale path refuses too: the client keeps the Terminal's link state.
    rig.open_shift()
    assert rig.terminal.online is False and rig.terminal.offline_since is not None
    with pytest.raises(RuleViolation) as sale:
        rig.sell(dep, now=rig.terminal.offline_since + timedelta(hours=5))
    assert sale.value.code == "OFFLINE_BUDGET_EXHAUSTED"


def test_idle_cycles_look_over_the_leases_every_twenty_seconds_busy_ones_every_five(server, proxy, rigs):
    """A look at the leases scans two days of seats; an idle terminal cycling every few seconds makes
    it every 20 s, a selling one every 5 s, and at once when its link comes back. Renewing a day
    ahead makes every look ask the server, so ``leases_requested`` shows each look."""
    import time

    # This PC's clock stands still but for the shifts: the test does not depend on how fast it runs.
    base, shift = time.time(), {"s": 0.0}
    rig = rigs(via=proxy, lease_renew_before=timedelta(days=1), clock=lambda: base + shift["s"])
    first = rig.client.run_once()
    assert first.ok and first.leases_requested == len(departure_ids())
    echo = rig.client.run_once()  # the look's own lease rows come back in the feed: no new look
    assert echo.ok and echo.pulled > 0 and echo.leases_requested == 0
    shift["s"] += 6
    idle = rig.client.run_once()
    assert idle.ok and idle.leases_requested == 0  # idle: 6 s is too soon
    shift["s"] += 15
    assert rig.client.run_once().leases_requested > 0  # idle, 21 s after the last look
    rig.open_shift()
    rig.sell(departure_ids()[0])
    rig.client.poke()
    sold = rig.client.run_once()
    assert sold.uploaded and sold.leases_requested == 0  # sold: a look within 5 s, not at once
    shift["s"] += 5
    assert rig.client.run_once().leases_requested > 0
    shift["s"] += 6
    assert rig.client.run_once().leases_requested == 0  # idle again
    proxy.cut()
    assert not rig.client.run_once().ok
    proxy.restore()
    back = rig.client.run_once()
    assert back.ok and back.leases_requested > 0  # the link came back: refill at once

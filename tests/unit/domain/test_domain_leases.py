from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import RuleViolation
from app.domain.leases import OfflineBudget, SeatLease, pick_seat, pick_seats, sellable_seats

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
DEP = "330100001-20261124-K1203"


def test_sellable_seats_are_the_unexpired_leases_of_the_departure():
    leases = [
        SeatLease(DEP, frozenset({1, 2, 3}), NOW + timedelta(minutes=10)),
        SeatLease(DEP, {7, 8}, NOW + timedelta(hours=2)),
        SeatLease(DEP, frozenset({20}), NOW),  # expires right now
        SeatLease("other", frozenset({4}), NOW + timedelta(hours=1)),
    ]
    assert sellable_seats(leases, DEP, NOW) == {1, 2, 3, 7, 8}
    assert sellable_seats(leases, DEP, NOW + timedelta(minutes=30)) == {7, 8}
    assert sellable_seats([], DEP, NOW) == frozenset()


def test_offline_budget():
    budget = OfflineBudget(max_offline_minutes=60)
    budget.check(None, NOW, 0)  # online: leases do not limit, the server decides
    budget.check(NOW - timedelta(minutes=59), NOW, 3)
    assert budget.remaining(NOW - timedelta(minutes=59), NOW) == timedelta(minutes=1)
    assert budget.remaining(None, NOW) is None
    with pytest.raises(RuleViolation) as info:
        budget.check(NOW - timedelta(minutes=60), NOW, 3)
    assert info.value.code == "OFFLINE_BUDGET_EXHAUSTED"
    assert "60 分钟" in info.value.message
    with pytest.raises(RuleViolation) as info:
        budget.check(NOW - timedelta(minutes=5), NOW, 0)
    assert info.value.code == "NO_LEASED_SEATS"


def test_pick_seat():
    assert pick_seat({9, 3, 5}) == 3
    assert pick_seat({9, 3, 5}, preferred=9) == 9
    with pytest.raises(RuleViolation) as info:
        pick_seat({9, 3, 5}, preferred=4)
    assert info.value.code == "SEAT_TAKEN"
    with pytest.raises(RuleViolation) as info:
        pick_seat(set())
    assert info.value.code == "SOLD_OUT"


def test_pick_seats_keeps_a_party_together():
    assert pick_seats({1, 3, 5, 6, 7, 9}, 3) == [5, 6, 7]
    assert pick_seats({1, 2, 10, 11}, 2) == [1, 2]
    assert pick_seats({1, 4, 8, 9, 30}, 3) == [4, 8, 9]
    assert pick_seats({5}, 1) == [5]


def test_pick_seats_not_enough():
    with pytest.raises(RuleViolation) as info:
        pick_seats({1, 2}, 3)
    assert info.value.code == "NOT_ENOUGH_SEATS"
    assert info.value.details["left"] == 2
    with pytest.raises(RuleViolation) as info:
        pick_seats(set(), 1)
    assert info.value.code == "SOLD_OUT"


@given(st.sets(st.integers(1, 55), min_size=1), st.integers(1, 9))
def test_pick_seats_returns_distinct_free_seats_with_the_tightest_spread(free, count):
    if count > len(free):
        with pytest.raises(RuleViolation):
            pick_seats(free, count)
        return
    picked = pick_seats(free, count)
    assert len(set(picked)) == count and set(picked) <= free
    ordered = sorted(free)
    tightest = min(ordered[i + count - 1] - ordered[i] for i in range(len(ordered) - count + 1))
    assert max(picked) - min(picked) == tightest

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.change import ChangePolicy, quote_change
from app.domain.errors import ConfigError, RuleViolation

DEPARTURE = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
POLICY = ChangePolicy(max_changes=1, cutoff_minutes=30, fee=200)


def at(minutes_before: float) -> datetime:
    return DEPARTURE - timedelta(minutes=minutes_before)


def test_dearer_departure_passenger_pays_difference_and_fee():
    quote = quote_change(4550, 5000, 0, DEPARTURE, at(60), POLICY)
    assert (quote.fare_difference, quote.fee, quote.due, quote.payout) == (450, 200, 650, 0)


def test_cheaper_departure_passenger_gets_difference_less_fee():
    quote = quote_change(5000, 4000, 0, DEPARTURE, at(60), POLICY)
    assert (quote.fare_difference, quote.due, quote.payout) == (-1000, -800, 800)


def test_second_change_is_refused():
    with pytest.raises(RuleViolation) as info:
        quote_change(4550, 4550, 1, DEPARTURE, at(600), POLICY)
    assert info.value.code == "CHANGE_LIMIT"
    assert "1 次" in info.value.message


def test_cutoff_is_inclusive_at_the_minute():
    assert quote_change(100, 100, 0, DEPARTURE, at(30), POLICY).due == 200
    with pytest.raises(RuleViolation) as info:
        quote_change(100, 100, 0, DEPARTURE, at(29.9), POLICY)
    assert info.value.code == "CHANGE_CUTOFF"
    assert "30 分钟" in info.value.message


def test_policy_from_province_document():
    policy = ChangePolicy.from_dict({"max_changes": 2, "cutoff_minutes": 120, "fee": 0})
    assert quote_change(100, 100, 1, DEPARTURE, at(121), policy).due == 0
    with pytest.raises(RuleViolation):
        quote_change(100, 100, 2, DEPARTURE, at(121), policy)
    with pytest.raises(RuleViolation):
        quote_change(100, 100, 0, DEPARTURE, at(119), policy)
    with pytest.raises(ConfigError):
        ChangePolicy.from_dict({"max_changes": "once"})


@given(old=st.integers(0, 10**6), new=st.integers(0, 10**6), fee=st.integers(0, 1000))
def test_due_is_difference_plus_fee(old, new, fee):
    quote = quote_change(old, new, 0, DEPARTURE, at(60), ChangePolicy(1, 30, fee))
    assert quote.due == new - old + fee
    assert old + quote.due == new + fee

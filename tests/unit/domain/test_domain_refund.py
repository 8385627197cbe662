from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import ConfigError, RuleViolation
from app.domain.money import Rounding
from app.domain.refund import RefundPolicy, RefundTier, quote_refund

DEPARTURE = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
POLICY = RefundPolicy.default()


def at(minutes_before: float) -> datetime:
    return DEPARTURE - timedelta(minutes=minutes_before)


# 4560 fen: 10 % = 456 -> 450, 20 % = 912 -> 900, 50 % = 2280 -> 2300 (half-up to 0.5 yuan)
@pytest.mark.parametrize(
    ("minutes_before", "rate", "fee"),
    [
        (24 * 60, 10, 450),
        (120, 10, 450),
        (119.9, 20, 900),
        (1, 20, 900),
        (0, 20, 900),
        (-0.1, 50, 2300),
        (-30, 50, 2300),
    ],
)
def test_default_tiers(minutes_before, rate, fee):
    quote = quote_refund(4560, DEPARTURE, at(minutes_before), POLICY)
    assert quote.rate_percent == rate
    assert quote.fee == fee
    assert quote.refund_amount == 4560 - fee


def test_tier_labels_say_which_tier_applied():
    assert quote_refund(4560, DEPARTURE, at(180), POLICY).tier_label == "发车前 2 小时以上"
    assert quote_refund(4560, DEPARTURE, at(30), POLICY).tier_label == "发车前 2 小时内"
    assert quote_refund(4560, DEPARTURE, at(-10), POLICY).tier_label == "发车后 30 分钟内"


def test_english_labels_and_labels_derived_from_the_neighbouring_tier():
    assert quote_refund(4560, DEPARTURE, at(30), POLICY).tier_label_en == "less than 120 min before departure"
    assert quote_refund(4560, DEPARTURE, at(-10), POLICY).tier_label_en == "up to 30 min after departure"
    assert quote_refund(4560, DEPARTURE, at(0), POLICY, forced=True).tier_label_en == "Forced refund"
    policy = RefundPolicy.from_dict(
        {
            "tiers": [
                {"min_minutes_before": 1440, "rate_percent": 5},
                {"min_minutes_before": 0, "rate_percent": 20},
                {"min_minutes_before": 240, "rate_percent": 10, "label": "提前四小时"},
            ]
        }
    )
    assert quote_refund(1000, DEPARTURE, at(2000), policy).tier_label == "发车前 24 小时以上"
    assert quote_refund(1000, DEPARTURE, at(300), policy).tier_label == "提前四小时"
    assert quote_refund(1000, DEPARTURE, at(30), policy).tier_label == "发车前 4 小时内"


def test_too_late_after_the_last_tier():
    with pytest.raises(RuleViolation) as info:
        quote_refund(4560, DEPARTURE, at(-30.5), POLICY)
    assert info.value.code == "REFUND_TOO_LATE"
    assert "30 分钟" in info.value.message


def test_minimum_fee_and_never_more_than_the_price():
    assert quote_refund(500, DEPARTURE, at(300), POLICY).fee == 100  # 10 % of 5 yuan is below 1 yuan
    cheap = quote_refund(80, DEPARTURE, at(300), POLICY)
    assert (cheap.fee, cheap.refund_amount) == (80, 0)
    assert quote_refund(0, DEPARTURE, at(300), POLICY).fee == 0


def test_forced_refund_is_free_at_any_time():
    quote = quote_refund(4560, DEPARTURE, at(-600), POLICY, forced=True)
    assert (quote.fee, quote.refund_amount, quote.forced) == (0, 4560, True)
    assert quote.tier_label == "强制退票"


def test_a_conflict_refund_is_free_at_any_time_unless_the_province_says_otherwise():
    # The server gave the seat to someone else: not the passenger's doing, so no tier, no limit.
    for when in (at(24 * 60), at(1), at(-600)):
        quote = quote_refund(4560, DEPARTURE, when, POLICY, conflict=True)
        assert (quote.fee, quote.refund_amount, quote.conflict, quote.forced) == (0, 4560, True, False)
        assert (quote.tier_label, quote.tier_label_en) == ("冲突退票", "Conflict refund")
    policy = RefundPolicy.from_dict({"tiers": [{"min_minutes_before": 0, "rate_percent": 20}], "conflict_fee": 300})
    assert quote_refund(4560, DEPARTURE, at(-600), policy, conflict=True).fee == 300
    assert quote_refund(200, DEPARTURE, at(10), policy, conflict=True).fee == 200  # never above the price
    with pytest.raises(ConfigError):
        RefundPolicy(tiers=(RefundTier(0, 20),), conflict_fee=-1)


def test_policy_from_province_document():
    policy = RefundPolicy.from_dict(
        {
            "tiers": [
                {"min_minutes_before": 0, "rate_percent": 20},
                {"min_minutes_before": 1440, "rate_percent": 5},
                {"min_minutes_before": 120, "rate_percent": "10"},
            ],
            "minimum_fee": 200,
            "rounding": "yuan",
            "forced_fee": 0,
        }
    )
    assert policy.allow_after_minutes == 0
    assert quote_refund(10000, DEPARTURE, at(2000), policy).fee == 500
    assert quote_refund(10000, DEPARTURE, at(200), policy).fee == 1000
    assert quote_refund(1000, DEPARTURE, at(200), policy).fee == 200
    assert quote_refund(10050, DEPARTURE, at(10), policy).fee == 2000  # 20.10 yuan to the yuan
    with pytest.raises(RuleViolation) as info:
        quote_refund(10000, DEPARTURE, at(-1), policy)
    assert info.value.code == "REFUND_TOO_LATE"


def test_allow_after_minutes_can_close_refunds_before_the_last_tier_ends():
    policy = RefundPolicy(tiers=(RefundTier(0, 20), RefundTier(-60, 50)), allow_after_minutes=15)
    assert quote_refund(1000, DEPARTURE, at(-15), policy).rate_percent == 50
    with pytest.raises(RuleViolation):
        quote_refund(1000, DEPARTURE, at(-16), policy)


@pytest.mark.parametrize(
    "data",
    [
        {"tiers": []},
        {"tiers": [{"min_minutes_before": 0, "rate_percent": 120}]},
        {
            "tiers": [
                {"min_minutes_before": 0, "rate_percent": 10},
                {"min_minutes_before": 0, "rate_percent": 20},
            ]
        },
        {"tiers": [{"rate_percent": 10}]},
        {"tiers": [{"min_minutes_before": 0, "rate_percent": 10}], "rounding": "cents"},
        {"tiers": [{"min_minutes_before": 0, "rate_percent": 10}], "minimum_fee": -1},
        {"tiers": [{"min_minutes_before": 0, "rate_percent": 10}], "rounding_mode": "bankers"},
    ],
)
def test_bad_policies_are_config_errors(data):
    with pytest.raises(ConfigError):
        RefundPolicy.from_dict(data)


def test_naive_times_are_a_bug():
    with pytest.raises(ValueError):
        quote_refund(100, DEPARTURE.replace(tzinfo=None), DEPARTURE, POLICY)


@given(price=st.integers(0, 10**6), minutes=st.integers(-30, 7 * 24 * 60))
def test_fee_and_refund_always_add_up(price, minutes):
    quote = quote_refund(price, DEPARTURE, at(minutes), POLICY)
    assert quote.fee + quote.refund_amount == price
    assert 0 <= quote.fee <= price
    assert quote.fee >= min(100, price)
    assert quote.fee == price or quote.fee % 50 == 0


@given(price=st.integers(1000, 10**6), earlier=st.integers(-30, 3000), later=st.integers(-30, 3000))
def test_refunding_later_never_costs_less(price, earlier, later):
    if earlier < later:
        earlier, later = later, earlier
    assert (
        quote_refund(price, DEPARTURE, at(earlier), POLICY).fee
        <= quote_refund(price, DEPARTURE, at(later), POLICY).fee
    )


def test_rate_is_a_decimal_and_rounding_enum():
    assert POLICY.rounding is Rounding.HALF_YUAN
    assert isinstance(quote_refund(4560, DEPARTURE, at(300), POLICY).rate_percent, Decimal)

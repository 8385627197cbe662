from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import ConfigError, RuleViolation
from app.domain.money import Rounding
from app.domain.ticket_types import TicketType, TicketTypeTable

TABLE = TicketTypeTable.default()


def test_default_table_has_the_usual_types():
    assert TABLE.codes == ["full", "child", "free_child", "student", "disabled"]
    names = {t.code: t.name for t in TABLE}
    assert names["full"] == "全票" and names["child"] == "儿童票" and names["free_child"] == "免票携童"
    assert names["student"] == "学生票" and "军残" in names["disabled"]
    free = TABLE.get("free_child")
    assert not free.needs_seat and free.needs_adult and free.counts_free_child_cap
    assert TABLE.get("child").needs_seat


@pytest.mark.parametrize(
    ("code", "fare", "price"),
    [
        ("full", 4550, 4550),
        ("child", 4550, 2300),
        ("child", 4500, 2250),
        ("free_child", 4550, 0),
        ("student", 4000, 3000),
        ("student", 4550, 3400),
        ("disabled", 1290, 650),
    ],
)
def test_default_prices(code, fare, price):
    assert TABLE.price(fare, code) == price


@given(st.integers(min_value=0, max_value=10**6))
def test_discounted_price_never_exceeds_full_fare_and_full_is_unchanged(fare):
    assert TABLE.price(fare, "full") == fare
    for code in ("child", "student", "disabled"):
        price = TABLE.price(fare, code)
        assert 0 <= price <= fare + 25  # half-up to 0.5 yuan may add at most 0.25 yuan
        assert price % 50 == 0


def test_unknown_ticket_type():
    with pytest.raises(RuleViolation) as info:
        TABLE.price(100, "vip")
    assert info.value.code == "UNKNOWN_TICKET_TYPE"


def test_table_from_province_rows_with_custom_discount():
    table = TicketTypeTable.from_rows(
        [
            {"code": "full", "name": "全票", "rate_percent": 100},
            {"code": "senior", "name": "老年票", "rate_percent": 72.5, "rounding": "jiao"},
            {
                "code": "free_child",
                "name": "免票携童",
                "rate_percent": 0,
                "needs_seat": False,
                "needs_adult": True,
                "counts_free_child_cap": True,
                "document_required": False,
            },
        ],
        free_child_cap_percent=20,
    )
    assert table.get("senior").rate_percent == Decimal("72.5")
    assert table.get("senior").rounding is Rounding.JIAO
    assert table.price(1000, "senior") == 730  # 725 fen rounded half-up to the jiao
    assert table.free_child_cap(45) == 9
    assert not table.get("free_child").can_carry


@pytest.mark.parametrize(
    "rows",
    [
        [{"code": "x", "name": "X"}],
        [{"code": "x", "name": "X", "rate_percent": -5}],
        [{"code": "x", "name": "X", "rate_percent": 50, "rounding": "cents"}],
        [{"code": "x", "name": "X", "rate_percent": 50, "rounding_mode": "bankers"}],
        [{"code": "x", "name": "X", "rate_percent": 50}, {"code": "x", "name": "Y", "rate_percent": 60}],
    ],
)
def test_bad_ticket_type_rows(rows):
    with pytest.raises(ConfigError):
        TicketTypeTable.from_rows(rows)


@pytest.mark.parametrize(("seats", "cap"), [(45, 4), (50, 5), (9, 0), (10, 1), (19, 1), (0, 0)])
def test_free_child_cap_is_ten_percent_rounded_down(seats, cap):
    assert TABLE.free_child_cap(seats) == cap


def _refused(counts, already=0, seats=45):
    with pytest.raises(RuleViolation) as info:
        TABLE.check_party(counts, already, seats)
    return info.value


def test_party_returns_seats_needed():
    assert TABLE.check_party({"full": 2, "child": 1, "free_child": 2}, 0, 45) == 3


def test_party_of_nine_is_fine_ten_is_refused():
    assert TABLE.check_party({"full": 9}, 0, 45) == 9
    error = _refused({"full": 8, "free_child": 2})
    assert error.code == "TOO_MANY_PASSENGERS"
    assert "9" in error.message


def test_empty_party():
    assert _refused({"full": 0}).code == "EMPTY_PARTY"


def test_free_child_alone_or_with_a_child_ticket_is_refused():
    assert _refused({"free_child": 1}).code == "FREE_CHILD_NEEDS_ADULT"
    assert _refused({"child": 1, "free_child": 1}).code == "FREE_CHILD_NEEDS_ADULT"
    error = _refused({"full": 1, "free_child": 2})
    assert error.code == "FREE_CHILD_NEEDS_ADULT"
    assert "一名" in error.message


def test_free_child_cap_counts_children_already_on_the_departure():
    assert TABLE.check_party({"full": 1, "free_child": 1}, 3, 45) == 1
    error = _refused({"full": 1, "free_child": 1}, already=4)
    assert error.code == "FREE_CHILD_CAP"
    assert error.details["left"] == 0
    assert _refused({"full": 2, "free_child": 2}, already=3).code == "FREE_CHILD_CAP"
    assert _refused({"full": 1, "free_child": 1}, seats=9).code == "FREE_CHILD_CAP"


@given(
    st.dictionaries(st.sampled_from(TABLE.codes), st.integers(0, 12)), st.integers(0, 10), st.integers(0, 60)
)
def test_check_party_accepts_exactly_the_lawful_parties(counts, already, seats):
    total = sum(counts.values())
    carriers = counts.get("full", 0) + counts.get("student", 0) + counts.get("disabled", 0)
    free = counts.get("free_child", 0)
    lawful = 0 < total <= 9 and free <= carriers and (free == 0 or already + free <= seats // 10)
    try:
        seats_needed = TABLE.check_party(counts, already, seats)
    except RuleViolation:
        assert not lawful
    else:
        assert lawful
        assert seats_needed == total - free


def test_ticket_type_price_rounding_mode():
    down = TicketType("x", "X", 50, rounding=Rounding.YUAN, rounding_mode="down")
    assert down.price(1990) == 900

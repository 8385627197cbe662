import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import RuleViolation
from app.domain.stock import (
    StockRoll,
    TicketId,
    format_stock_no,
    make_ticket_id,
    parse_stock_no,
    parse_terminal_id,
    parse_ticket_id,
)


def code_of(call, *args) -> str:
    with pytest.raises(RuleViolation) as info:
        call(*args)
    return info.value.code


def test_take_numbers_in_order_until_exhausted():
    roll = StockRoll(1000, 1002)
    assert [roll.take(), roll.take(), roll.take()] == [1000, 1001, 1002]
    with pytest.raises(RuleViolation) as info:
        roll.take()
    assert info.value.code == "STOCK_EXHAUSTED"
    assert "00001002" in info.value.message
    assert (roll.issued, roll.used, roll.remaining) == (3, 3, 0)


def test_spoiled_print_and_jammed_blank_are_counted():
    roll = StockRoll(500, 599)
    printed = roll.take()
    roll.spoil(printed)  # the print came out wrong
    roll.spoil(roll.next_number)  # a blank jammed before printing consumes the next number
    assert roll.take() == 502
    assert roll.spoiled == {500, 501}
    assert (roll.issued, roll.used, roll.remaining) == (3, 1, 97)


def test_spoil_refusals():
    roll = StockRoll(500, 599)
    roll.take()
    roll.spoil(500)
    assert code_of(roll.spoil, 500) == "STOCK_ALREADY_SPOILED"
    assert code_of(roll.spoil, 499) == "STOCK_OUT_OF_RANGE"
    assert code_of(roll.spoil, 600) == "STOCK_OUT_OF_RANGE"
    assert code_of(roll.spoil, 550) == "STOCK_NOT_ISSUED"
    assert roll.next_number == 501


def test_resume_a_roll_from_stored_state():
    roll = StockRoll(100, 199, next_number=150, spoiled={120})
    assert (roll.take(), roll.used, roll.remaining) == (150, 50, 49)
    with pytest.raises(ValueError):
        StockRoll(100, 199, next_number=150, spoiled={160})


def test_bad_ranges():
    assert code_of(StockRoll, 200, 100) == "BAD_STOCK_RANGE"
    assert code_of(StockRoll, -1, 100) == "BAD_STOCK_NO"


@given(
    st.integers(0, 10**7),
    st.integers(0, 50),
    st.lists(st.sampled_from(["take", "spoil_last", "spoil_next"]), max_size=80),
)
def test_accounting_always_balances(first, extra, actions):
    roll = StockRoll(first, first + extra)
    handed_out = []
    for action in actions:
        try:
            if action == "take":
                handed_out.append(roll.take())
            elif action == "spoil_last" and handed_out and handed_out[-1] not in roll.spoiled:
                roll.spoil(handed_out[-1])
            elif action == "spoil_next":
                roll.spoil(roll.next_number)
        except RuleViolation as error:
            assert error.code in {"STOCK_EXHAUSTED", "STOCK_OUT_OF_RANGE"}
            assert roll.exhausted
    assert len(set(handed_out)) == len(handed_out)
    assert roll.used + len(roll.spoiled) + roll.remaining == roll.size
    assert roll.used == len(set(handed_out) - roll.spoiled)


def test_stock_numbers_print_zero_padded_and_parse_back():
    assert format_stock_no(12345) == "00012345"
    assert format_stock_no(7, width=10) == "0000000007"
    assert parse_stock_no(" 00012345 ") == 12345
    for bad in ("", "12a", "-5", "１２"):
        assert code_of(parse_stock_no, bad) == "BAD_STOCK_NO"


def test_ticket_id_round_trip():
    ticket_id = make_ticket_id("330102001", 1, 42)
    assert ticket_id == "3301020010010000000042"
    assert parse_ticket_id(ticket_id) == TicketId("330102001", 1, 42)
    assert parse_terminal_id("330102001-T01") == ("330102001", 1)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "330102001-1-42",
        "33010200100100000000420",
        "3301020010000000000042",
        "3301020010010000000000",
        "33010200100100000000x2",
    ],
)
def test_bad_ticket_ids(bad):
    assert code_of(parse_ticket_id, bad) == "BAD_TICKET_ID"


@pytest.mark.parametrize(
    ("station", "terminal", "seq"),
    [
        ("33010200", 1, 1),
        ("330102001", 0, 1),
        ("330102001", 1000, 1),
        ("330102001", 1, 0),
        ("330102001", 1, 10**10),
    ],
)
def test_make_ticket_id_refuses_out_of_range_parts(station, terminal, seq):
    with pytest.raises(ValueError):
        make_ticket_id(station, terminal, seq)


ids = st.tuples(st.from_regex(r"\A[0-9]{9}\Z"), st.integers(1, 999), st.integers(1, 10**10 - 1))


@given(ids, ids)
def test_ticket_ids_sort_like_their_parts_and_are_unique(a, b):
    id_a, id_b = make_ticket_id(*a), make_ticket_id(*b)
    assert (id_a < id_b) == (a < b)
    assert (id_a == id_b) == (a == b)
    assert parse_ticket_id(id_a) == a


def test_non_ascii_digits_are_not_ticket_ids():
    assert code_of(parse_ticket_id, "٣" * 22) == "BAD_TICKET_ID"

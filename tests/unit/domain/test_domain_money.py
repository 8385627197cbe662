from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import RuleViolation
from app.domain.money import Rounding, apply_rate, format_price, format_yuan, parse_yuan, round_fen

amounts = st.integers(min_value=-(10**9), max_value=10**9)


@pytest.mark.parametrize(
    ("fen", "text"),
    [(0, "0.00"), (5, "0.05"), (1250, "12.50"), (100000, "1000.00"), (-305, "-3.05"), (-5, "-0.05")],
)
def test_format_yuan(fen, text):
    assert format_yuan(fen) == text


def test_format_price_uses_full_width_sign_for_positive_and_negative():
    assert format_price(1250) == "\uffe512.50"
    assert format_price(-305) == "-\uffe53.05"
    assert format_price(0) == "￥0.00"


def test_format_refuses_floats():
    with pytest.raises(TypeError):
        format_yuan(12.5)


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("12", 1200),
        ("12.5", 1250),
        ("12.50", 1250),
        ("￥12.50", 1250),
        ("¥12.50", 1250),
        (" 12.05 ", 1205),
        ("１２．５", 1250),
        ("0.01", 1),
        (".5", 50),
        ("12.", 1200),
        ("12元", 1200),
        ("￥ 12", 1200),
        ("0", 0),
    ],
)
def test_parse_yuan_accepts_what_clerks_type(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        ".",
        "12.505",
        "1,2",
        "abc",
        "12a",
        "1e3",
        "--1",
        "-5",
        "12.5.0",
        "￥",
        "NaN",
        "1 2",
        "1234567890",
    ],
)
def test_parse_yuan_refuses_junk(text):
    with pytest.raises(RuleViolation) as info:
        parse_yuan(text)
    assert info.value.code == "BAD_AMOUNT"
    assert "金额" in info.value.message


def test_parse_yuan_negative_only_when_allowed():
    assert parse_yuan("-3.05", allow_negative=True) == -305
    assert parse_yuan("-￥3.05", allow_negative=True) == -305


@given(amounts)
def test_format_and_parse_round_trip(fen):
    assert parse_yuan(format_price(fen), allow_negative=True) == fen
    assert parse_yuan(format_yuan(fen), allow_negative=True) == fen


@pytest.mark.parametrize(
    ("amount", "rounding", "mode", "expected"),
    [
        (1274, "half_yuan", "half_up", 1250),
        (1275, "half_yuan", "half_up", 1300),
        (1225, "half_yuan", "half_up", 1250),
        (1224, "half_yuan", "half_up", 1200),
        (1299, "half_yuan", "down", 1250),
        (1201, "half_yuan", "up", 1250),
        (1250, "yuan", "half_up", 1300),
        (1249, "yuan", "half_up", 1200),
        (1249, "yuan", "up", 1300),
        (1255, "jiao", "half_up", 1260),
        (1254, "jiao", "half_up", 1250),
        (1259, "jiao", "down", 1250),
        (1234, "fen", "half_up", 1234),
        (-1275, "half_yuan", "half_up", -1300),
        (-1299, "yuan", "down", -1200),
        (Decimal("1274.5"), "fen", "half_up", 1275),
        (Decimal("1274.4"), "fen", "up", 1275),
    ],
)
def test_round_fen(amount, rounding, mode, expected):
    assert round_fen(amount, Rounding(rounding), mode) == expected


@given(amounts, st.sampled_from(list(Rounding)), st.sampled_from(["half_up", "down", "up"]))
def test_round_fen_lands_on_the_unit_within_one_unit(amount, rounding, mode):
    rounded = round_fen(amount, rounding, mode)
    assert rounded % rounding.unit == 0
    assert abs(rounded - amount) < rounding.unit
    if mode == "half_up":
        assert abs(rounded - amount) * 2 <= rounding.unit
    if mode == "down":
        assert abs(rounded) <= abs(amount)
    if mode == "up":
        assert abs(rounded) >= abs(amount)


def test_round_fen_refuses_float_and_unknown_mode():
    with pytest.raises(TypeError):
        round_fen(12.5, Rounding.FEN)
    with pytest.raises(ValueError):
        round_fen(12, Rounding.FEN, "banker")


@pytest.mark.parametrize(
    ("amount", "rate", "rounding", "expected"),
    [
        (2550, 50, "fen", 1275),
        (2550, 50, "half_yuan", 1300),
        (2550, 75, "fen", 1913),
        (2550, 75, "half_yuan", 1900),
        (999, Decimal("33.33"), "fen", 333),
        (1000, "72.5", "fen", 725),
        (1000, 0, "yuan", 0),
        (1, 50, "fen", 1),
        (3, Decimal("0.1"), "fen", 0),
    ],
)
def test_apply_rate(amount, rate, rounding, expected):
    assert apply_rate(amount, rate, rounding) == expected


@given(
    st.integers(min_value=0, max_value=10**8),
    st.integers(min_value=0, max_value=10000),
)
def test_apply_rate_is_exact_before_rounding(amount, rate_hundredths):
    rate = Decimal(rate_hundredths) / 100
    got = apply_rate(amount, rate, Rounding.FEN)
    # Integer oracle: amount × rate% in ten-thousandths of a fen, rounded half up.
    assert got == (amount * rate_hundredths + 5000) // 10000


def test_apply_rate_refuses_negative_rate():
    with pytest.raises(ValueError):
        apply_rate(100, -1)


@given(st.text(max_size=20))
def test_parse_yuan_gives_fen_or_a_bad_amount_and_nothing_else(text):
    try:
        fen = parse_yuan(text)
    except RuleViolation as error:
        assert error.code == "BAD_AMOUNT"
    else:
        assert isinstance(fen, int) and 0 <= fen < 10**11


def test_parse_yuan_refuses_non_ascii_digits():
    with pytest.raises(RuleViolation):
        parse_yuan("٣")

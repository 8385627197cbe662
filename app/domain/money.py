"""Money as an integer number of fen (分): formatting, parsing, rounding, percentage rates.

Floats never touch an amount: a rate is an ``int`` or ``Decimal`` percent and every product is
computed exactly before it is rounded once, to the unit a rule asks for.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal, InvalidOperation
from enum import StrEnum

from .errors import RuleViolation

YUAN_SIGN = "\uffe5"  # full-width ￥: the half-width ¥ is not in every ticket printer's GB18030 font


class Rounding(StrEnum):
    """The unit an amount is rounded to."""

    FEN = "fen"
    JIAO = "jiao"
    HALF_YUAN = "half_yuan"
    YUAN = "yuan"

    @property
    def unit(self) -> int:
        """The unit in fen."""
        return _UNITS[self]


_UNITS = {Rounding.FEN: 1, Rounding.JIAO: 10, Rounding.HALF_YUAN: 50, Rounding.YUAN: 100}
_MODES = {"half_up": ROUND_HALF_UP, "down": ROUND_DOWN, "up": ROUND_UP}
ROUNDING_MODES = frozenset(_MODES)


def format_yuan(fen: int) -> str:
    """12.50 for 1250 fen; "-3.05" for -305."""
    fen = _check_int(fen)
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    return f"{sign}{whole}.{part:02d}"


def format_price(fen: int) -> str:
    """ "￥12.50" (full-width sign), "-￥3.05" for a negative amount."""
    text = format_yuan(fen)
    if text.startswith("-"):
        return "-" + YUAN_SIGN + text[1:]
    return YUAN_SIGN + text


_AMOUNT = re.compile(r"^(?P<sign>-?)(?P<int>[0-9]{0,9})(?:\.(?P<frac>[0-9]{0,2}))?\Z")


def parse_yuan(text: str, *, allow_negative: bool = False) -> int:
    """Parse what a clerk types ("12", "12.5", "12.50", "￥12.50", full-width digits) into fen.

    More than two decimals, letters, an empty field or (unless ``allow_negative``) a minus sign
    are refused with code ``BAD_AMOUNT``: a typo must never turn into a different amount.
    """
    if not isinstance(text, str):
        raise _bad_amount(text)
    # NFKC folds full-width digits, the full-width point and ￥ into their ASCII forms.
    cleaned = unicodedata.normalize("NFKC", text).strip()
    if cleaned.endswith("元"):
        cleaned = cleaned[:-1].rstrip()
    sign = ""
    if cleaned.startswith("-"):
        sign, cleaned = "-", cleaned[1:]
    if cleaned.startswith("¥"):
        cleaned = cleaned[1:].lstrip()
    match = _AMOUNT.match(sign + cleaned)
    if not match or not (match.group("int") or match.group("frac")):
        raise _bad_amount(text)
    if match.group("sign") and not allow_negative:
        raise _bad_amount(text)
    whole = int(match.group("int") or "0")
    frac = (match.group("frac") or "").ljust(2, "0")
    fen = whole * 100 + int(frac)
    return -fen if match.group("sign") else fen


def _bad_amount(text) -> RuleViolation:
    return RuleViolation(
        f"金额格式不正确：「{text}」（例如 12 或 12.50）",
        en=f"Not an amount: “{text}” (for example 12 or 12.50)",
        code="BAD_AMOUNT",
        text=str(text),
    )


def round_fen(amount: int | Decimal, rounding: Rounding | str = Rounding.FEN, mode: str = "half_up") -> int:
    """Round an amount in fen (an int, or an exact ``Decimal`` of fen) to the rounding unit.

    ``mode`` is "half_up" (half away from zero), "down" (toward zero) or "up" (away from zero).
    """
    unit = Rounding(rounding).unit
    try:
        decimal_mode = _MODES[mode]
    except KeyError:
        raise ValueError(f"unknown rounding mode {mode!r}") from None
    if isinstance(amount, bool) or not isinstance(amount, int | Decimal):
        raise TypeError(f"amount must be int fen or Decimal, not {type(amount).__name__}")
    units = (Decimal(amount) / unit).quantize(Decimal(1), rounding=decimal_mode)
    return int(units) * unit


def to_decimal(value: int | Decimal | str | float) -> Decimal:
    """A rate from a document or a form as an exact Decimal.

    A float (as ``json`` produces for 72.5) goes through its shortest repr, so 72.5 stays 72.5
    rather than becoming the binary approximation.
    """
    if isinstance(value, bool):
        raise TypeError("a rate cannot be a bool")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
    else:
        raise TypeError(f"not a number: {value!r}")
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def apply_rate(
    amount_fen: int,
    rate_percent: int | Decimal | str,
    rounding: Rounding | str = Rounding.FEN,
    mode: str = "half_up",
) -> int:
    """``amount_fen × rate_percent / 100``, computed exactly, then rounded once."""
    amount_fen = _check_int(amount_fen)
    rate = to_decimal(rate_percent)
    if rate < 0:
        raise ValueError(f"a rate cannot be negative: {rate_percent!r}")
    return round_fen(Decimal(amount_fen) * rate / 100, rounding, mode)


def _check_int(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"an amount is int fen, not {type(value).__name__}")
    return value

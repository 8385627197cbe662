"""GB 11643-1999 citizen identity numbers: check character, birth date, sex digit, region."""

from __future__ import annotations

import datetime as _dt

PROVINCES = frozenset(
    [*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55), *range(61, 66), 71, 81, 82, 83]
)


def check_char(first17: str) -> str:
    """The check character of 17 digits: ISO 7064 MOD 11-2, "0"-"9" or "X"."""
    # Imported here: python-stdnum's package loads pydoc and ssl (~25 ms), which opening a
    # reader does not need before the first card.
    from stdnum.iso7064 import mod_11_2

    return mod_11_2.calc_check_digit(first17)


def valid_number(number: str, *, sex_code: str | None = None, foreign: bool = False, today: _dt.date | None = None) -> bool:
    """True when ``number`` is a well-formed 18-character number.

    ``foreign`` accepts the 2023 foreigner permanent residence numbers (first digit 9) instead of
    a province code. ``sex_code`` ("1" male, "2" female) is compared with the parity of digit 17.
    """
    if len(number) != 18 or not number[:17].isdigit():
        return False
    if number[17] not in "0123456789X":
        return False
    if check_char(number[:17]) != number[17]:
        return False
    if foreign:
        if number[0] != "9":
            return False
    elif int(number[:2]) not in PROVINCES:
        return False
    try:
        birth = _dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if birth > (today or _dt.date.today()) or birth.year < 1850:
        return False
    if sex_code in ("1", "2") and int(number[16]) % 2 != (1 if sex_code == "1" else 0):
        return False
    return True


def mask(number: str) -> str:
    """``**************0011``: what lists and messages show. The same rule as
    ``app.domain.identity.mask`` (drivers import nothing from app): an 18-character number shows
    its last four characters, any other its last three (shorter ones less)."""
    n = len(number)
    tail = 4 if n == 18 else 3 if n >= 6 else 1 if n >= 4 else 0
    return "*" * (n - tail) + number[n - tail :]

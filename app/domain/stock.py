"""Paper ticket stock (票号) and the system-wide ticket id.

Printed tickets are pre-numbered paper. A roll's first number is registered when the shift
opens; every print consumes the next number, and a spoiled print consumes one too (recorded as
spoiled stock), so the numbers on paper and in the books always match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

from .errors import RuleViolation

STOCK_NO_WIDTH = 8


def format_stock_no(number: int, width: int = STOCK_NO_WIDTH) -> str:
    """Stock numbers are printed zero-padded: 00012345."""
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        raise ValueError(f"not a stock number: {number!r}")
    return f"{number:0{width}d}"


def parse_stock_no(text: str) -> int:
    """What a clerk types from the paper: digits, leading zeros optional (``BAD_STOCK_NO``)."""
    cleaned = text.strip() if isinstance(text, str) else ""
    if not cleaned.isascii() or not cleaned.isdigit() or len(cleaned) > 12:
        raise RuleViolation(
            f"票号格式不正确：「{text}」", en=f"Not a stock number: “{text}”", code="BAD_STOCK_NO"
        )
    return int(cleaned)


@dataclass
class StockRoll:
    """A roll (or box) of pre-numbered stock from ``first`` to ``last`` inclusive.

    ``next_number`` is the number the printer will print next; numbers below it are issued,
    either printed on a good ticket or spoiled.
    """

    first: int
    last: int
    next_number: int | None = None
    spoiled: set[int] = field(default_factory=set)

    def __post_init__(self):
        for name in ("first", "last"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise RuleViolation(
                    f"票号不正确：「{value}」", en=f"Not a stock number: “{value}”", code="BAD_STOCK_NO"
                )
        if self.first > self.last:
            raise RuleViolation(
                f"起始票号 {format_stock_no(self.first)} 大于终止票号 {format_stock_no(self.last)}",
                en=f"First stock number {self.first} is after the last {self.last}",
                code="BAD_STOCK_RANGE",
                first=self.first,
                last=self.last,
            )
        if self.next_number is None:
            self.next_number = self.first
        if not self.first <= self.next_number <= self.last + 1:
            raise ValueError("next_number outside the roll")
        self.spoiled = set(self.spoiled)
        if any(not self.first <= n < self.next_number for n in self.spoiled):
            raise ValueError("a spoiled number was never issued")

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    @property
    def issued(self) -> int:
        return self.next_number - self.first

    @property
    def used(self) -> int:
        """Numbers printed on a good ticket."""
        return self.issued - len(self.spoiled)

    @property
    def remaining(self) -> int:
        return self.last - self.next_number + 1

    @property
    def exhausted(self) -> bool:
        return self.remaining == 0

    def __contains__(self, number: object) -> bool:
        return isinstance(number, int) and self.first <= number <= self.last

    def peek(self) -> int:
        """The next number without taking it (``STOCK_EXHAUSTED`` at the end of the roll)."""
        if self.exhausted:
            raise RuleViolation(
                f"票据已用完（最后一张 {format_stock_no(self.last)}），请换新票卷",
                en=f"Out of ticket stock (last number {format_stock_no(self.last)}); load a new roll",
                code="STOCK_EXHAUSTED",
                last=self.last,
            )
        return self.next_number

    def take(self) -> int:
        """Consume and return the next number for a print."""
        number = self.peek()
        self.next_number += 1
        return number

    def spoil(self, number: int) -> None:
        """Record ``number`` as spoiled: an issued number whose print failed, or the next blank
        (jammed before printing), which is consumed."""
        if number not in self:
            raise RuleViolation(
                f"票号 {format_stock_no(number)} 不在本票卷（{format_stock_no(self.first)}–{format_stock_no(self.last)}）内",
                en=f"Stock number {number} is not on this roll ({self.first}-{self.last})",
                code="STOCK_OUT_OF_RANGE",
                number=number,
            )
        if number in self.spoiled:
            raise RuleViolation(
                f"票号 {format_stock_no(number)} 已作废",
                en=f"Stock number {number} is already spoiled",
                code="STOCK_ALREADY_SPOILED",
                number=number,
            )
        if number == self.next_number:
            self.next_number += 1
        elif number > self.next_number:
            raise RuleViolation(
                f"票号 {format_stock_no(number)} 尚未使用，当前票号为 {format_stock_no(self.next_number)}",
                en=f"Stock number {number} has not been reached; the next is {self.next_number}",
                code="STOCK_NOT_ISSUED",
                number=number,
                next_number=self.next_number,
            )
        self.spoiled.add(number)


class TicketId(NamedTuple):
    station_code: str
    terminal_no: int
    seq: int


TICKET_ID_LENGTH = 22
_TICKET_ID = re.compile(r"^([0-9]{9})([0-9]{3})([0-9]{10})\Z")
_TERMINAL_ID = re.compile(r"^([0-9]{9})-T([0-9]{1,3})\Z")


def make_ticket_id(station_code: str, terminal_no: int, seq: int) -> str:
    """22 digits: the 9-digit station code, the 3-digit terminal number, a 10-digit sequence.

    Fixed widths make the ids of one terminal sort in issue order as plain strings.
    """
    if not (
        isinstance(station_code, str)
        and len(station_code) == 9
        and station_code.isascii()
        and station_code.isdigit()
    ):
        raise ValueError(f"station code must be 9 digits: {station_code!r}")
    if isinstance(terminal_no, bool) or not isinstance(terminal_no, int) or not 0 < terminal_no < 1000:
        raise ValueError(f"terminal number must be 1-999: {terminal_no!r}")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 < seq < 10**10:
        raise ValueError(f"sequence must be 1-9999999999: {seq!r}")
    return f"{station_code}{terminal_no:03d}{seq:010d}"


def parse_ticket_id(text: str) -> TicketId:
    """Split a ticket id (``BAD_TICKET_ID`` when it is not one)."""
    match = _TICKET_ID.match(text.strip()) if isinstance(text, str) else None
    if not match or int(match.group(2)) == 0 or int(match.group(3)) == 0:
        raise RuleViolation(
            f"票据编号格式不正确：「{text}」", en=f"Not a ticket id: “{text}”", code="BAD_TICKET_ID"
        )
    return TicketId(match.group(1), int(match.group(2)), int(match.group(3)))


def parse_terminal_id(terminal_id: str) -> tuple[str, int]:
    """ "330102001-T01" -> ("330102001", 1)."""
    match = _TERMINAL_ID.match(terminal_id) if isinstance(terminal_id, str) else None
    if not match or int(match.group(2)) == 0:
        raise ValueError(f"not a terminal id: {terminal_id!r}")
    return match.group(1), int(match.group(2))

"""Ticket types (票种) as a configurable table, and the rules of a party of passengers.

Rates, names and flags come from the province document's ``ticket_types`` list; the code only
knows the flags, never a particular type, so a province can add a custom discount without a
release.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from .errors import ConfigError, RuleViolation
from .money import ROUNDING_MODES, Rounding, apply_rate, to_decimal

MAX_PARTY = 9
FREE_CHILD_CAP_PERCENT = 10

FULL = "full"
CHILD = "child"
FREE_CHILD = "free_child"
STUDENT = "student"
DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class TicketType:
    """One ticket type.

    ``needs_adult``: sold only alongside a passenger who ``can_carry`` (免票携童).
    ``counts_free_child_cap``: counted against the per-departure free-child cap.
    ``can_carry``: may carry one ``needs_adult`` passenger (a child ticket may not).
    """

    code: str
    name: str
    rate_percent: Decimal
    needs_seat: bool = True
    needs_adult: bool = False
    counts_free_child_cap: bool = False
    rounding: Rounding = Rounding.FEN
    document_required: bool = True
    can_carry: bool = True
    rounding_mode: str = "half_up"
    name_en: str = ""

    def __post_init__(self):
        object.__setattr__(self, "rate_percent", to_decimal(self.rate_percent))
        object.__setattr__(self, "rounding", Rounding(self.rounding))
        if self.rate_percent < 0:
            raise ConfigError(
                f"票种 {self.code} 的折扣率为负数",
                en=f"Ticket type {self.code} has a negative rate",
                code="BAD_TICKET_TYPE",
                ticket_type=self.code,
            )
        if self.rounding_mode not in ROUNDING_MODES:
            raise ConfigError(
                f"票种 {self.code} 的取整方式未知：{self.rounding_mode}",
                en=f"Ticket type {self.code} has an unknown rounding mode {self.rounding_mode}",
                code="BAD_TICKET_TYPE",
                ticket_type=self.code,
            )
        if self.needs_adult and self.can_carry:
            object.__setattr__(self, "can_carry", False)

    def price(self, full_fare: int) -> int:
        """The price in fen for this type, given the full fare."""
        return apply_rate(full_fare, self.rate_percent, self.rounding, self.rounding_mode)


@dataclass
class TicketTypeTable:
    """The ticket types a station sells, in display order."""

    types: list[TicketType]
    free_child_cap_percent: Decimal = field(default=Decimal(FREE_CHILD_CAP_PERCENT))
    max_party: int = MAX_PARTY

    def __post_init__(self):
        self.free_child_cap_percent = to_decimal(self.free_child_cap_percent)
        self._by_code: dict[str, TicketType] = {}
        for ticket_type in self.types:
            if ticket_type.code in self._by_code:
                raise ConfigError(
                    f"票种代码重复：{ticket_type.code}",
                    en=f"Duplicate ticket type code {ticket_type.code}",
                    code="BAD_TICKET_TYPE",
                    ticket_type=ticket_type.code,
                )
            self._by_code[ticket_type.code] = ticket_type

    @classmethod
    def default(cls) -> TicketTypeTable:
        """Full, child (half fare, seat), free child carried by an adult, student, disabled
        military/police; discounts rounded half-up to 0.5 yuan."""
        half = Rounding.HALF_YUAN
        return cls(
            [
                TicketType(FULL, "全票", Decimal(100), name_en="Full"),
                TicketType(CHILD, "儿童票", Decimal(50), rounding=half, can_carry=False, name_en="Child"),
                TicketType(
                    FREE_CHILD,
                    "免票携童",
                    Decimal(0),
                    needs_seat=False,
                    needs_adult=True,
                    counts_free_child_cap=True,
                    document_required=False,
                    name_en="Free child",
                ),
                TicketType(STUDENT, "学生票", Decimal(75), rounding=half, name_en="Student"),
                TicketType(
                    DISABLED, "军残/警残", Decimal(50), rounding=half, name_en="Disabled military/police"
                ),
            ]
        )

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[Mapping],
        *,
        free_child_cap_percent=FREE_CHILD_CAP_PERCENT,
        max_party: int = MAX_PARTY,
    ) -> TicketTypeTable:
        """Build from the province document's ``ticket_types`` list."""
        types = []
        for index, row in enumerate(rows):
            try:
                needs_adult = bool(row.get("needs_adult", False))
                types.append(
                    TicketType(
                        code=str(row["code"]),
                        name=str(row["name"]),
                        rate_percent=to_decimal(row["rate_percent"]),
                        needs_seat=bool(row.get("needs_seat", True)),
                        needs_adult=needs_adult,
                        counts_free_child_cap=bool(row.get("counts_free_child_cap", False)),
                        rounding=Rounding(row.get("rounding", "fen")),
                        document_required=bool(row.get("document_required", True)),
                        can_carry=bool(row.get("can_carry", not needs_adult)),
                        rounding_mode=str(row.get("rounding_mode", "half_up")),
                        name_en=str(row.get("name_en", "")),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfigError(
                    f"票种表第 {index + 1} 行无效：{exc}",
                    en=f"Ticket type row {index + 1} is invalid: {exc}",
                    code="BAD_TICKET_TYPE",
                    row=index,
                ) from None
        return cls(types, free_child_cap_percent=free_child_cap_percent, max_party=max_party)

    def __iter__(self):
        return iter(self.types)

    def __len__(self) -> int:
        return len(self.types)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    @property
    def codes(self) -> list[str]:
        return [t.code for t in self.types]

    def get(self, code: str) -> TicketType:
        try:
            return self._by_code[code]
        except KeyError:
            raise RuleViolation(
                f"未知票种：{code}",
                en=f"Unknown ticket type: {code}",
                code="UNKNOWN_TICKET_TYPE",
                ticket_type=code,
            ) from None

    def price(self, full_fare: int, code: str) -> int:
        """The price in fen of a ticket of type ``code`` on a fare of ``full_fare`` fen."""
        return self.get(code).price(full_fare)

    def free_child_cap(self, seat_count: int) -> int:
        """How many cap-counted tickets a bus of ``seat_count`` seats may carry (floor)."""
        if seat_count < 0:
            raise ValueError("seat_count cannot be negative")
        return int(seat_count * self.free_child_cap_percent // 100)

    def check_party(
        self,
        counts_by_type: Mapping[str, int],
        free_children_already_on_departure: int = 0,
        seat_count: int = 0,
    ) -> int:
        """Refuse a party the rules do not allow; return how many seats it needs.

        Refusals: ``EMPTY_PARTY``, ``TOO_MANY_PASSENGERS`` (more than ``max_party`` tickets,
        free children included), ``FREE_CHILD_NEEDS_ADULT`` (more carried children than
        passengers who can carry one), ``FREE_CHILD_CAP`` (the departure's cap would be exceeded).
        """
        counts = {}
        for code, count in counts_by_type.items():
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ValueError(f"bad count {count!r} for {code}")
            self.get(code)
            if count:
                counts[code] = count
        total = sum(counts.values())
        if total == 0:
            raise RuleViolation("请至少选择一名乘客", en="Choose at least one passenger", code="EMPTY_PARTY")
        if total > self.max_party:
            raise RuleViolation(
                f"一次最多售 {self.max_party} 张票，本次 {total} 张",
                en=f"At most {self.max_party} tickets per sale, this one has {total}",
                code="TOO_MANY_PASSENGERS",
                count=total,
                limit=self.max_party,
            )
        carriers = sum(n for code, n in counts.items() if self._by_code[code].can_carry)
        carried = sum(n for code, n in counts.items() if self._by_code[code].needs_adult)
        if carried > carriers:
            raise RuleViolation(
                f"每名成人乘客只能携带一名免票儿童：{carried} 名儿童，{carriers} 名成人",
                en=f"Each adult may carry one free child: {carried} children, {carriers} adults",
                code="FREE_CHILD_NEEDS_ADULT",
                children=carried,
                adults=carriers,
            )
        capped = sum(n for code, n in counts.items() if self._by_code[code].counts_free_child_cap)
        if capped:
            cap = self.free_child_cap(seat_count)
            left = max(0, cap - free_children_already_on_departure)
            if capped > left:
                raise RuleViolation(
                    f"本班次免票儿童已达上限（{cap} 名，剩余 {left} 名）",
                    en=f"This departure's free-child limit is reached ({cap}, {left} left)",
                    code="FREE_CHILD_CAP",
                    cap=cap,
                    left=left,
                    requested=capped,
                )
        return sum(n for code, n in counts.items() if self._by_code[code].needs_seat)

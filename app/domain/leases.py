"""Seat leases, the offline budget, and picking seats.

The provincial server is the authority for seats; it leases blocks of seats per departure to a
terminal until an expiry. Offline, a terminal sells only seats it holds an unexpired lease on,
so two offline terminals can never sell the same seat.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ._time import require_aware
from .errors import RuleViolation


@dataclass(frozen=True, slots=True)
class SeatLease:
    departure_id: str
    seats: frozenset[int]
    expires_at: datetime

    def __post_init__(self):
        object.__setattr__(self, "seats", frozenset(self.seats))
        require_aware(expires_at=self.expires_at)

    def active(self, now: datetime) -> bool:
        return now < self.expires_at


def sellable_seats(leases: Iterable[SeatLease], departure_id: str, now: datetime) -> frozenset[int]:
    """Seats of ``departure_id`` this terminal holds an unexpired lease on (sold or not)."""
    require_aware(now=now)
    seats: set[int] = set()
    for lease in leases:
        if lease.departure_id == departure_id and lease.active(now):
            seats |= lease.seats
    return frozenset(seats)


@dataclass(frozen=True, slots=True)
class OfflineBudget:
    """How long a terminal may keep selling without the server."""

    max_offline_minutes: int = 240

    def remaining(self, offline_since: datetime | None, now: datetime) -> timedelta | None:
        """Time left offline; ``None`` while online."""
        if offline_since is None:
            return None
        require_aware(offline_since=offline_since, now=now)
        return max(timedelta(0), timedelta(minutes=self.max_offline_minutes) - (now - offline_since))

    def check(self, offline_since: datetime | None, now: datetime, leased_seats_left: int) -> None:
        """Refuse an offline sale past the budget (``OFFLINE_BUDGET_EXHAUSTED``) or without a
        leased seat (``NO_LEASED_SEATS``). Online (``offline_since`` is None) nothing is refused."""
        if offline_since is None:
            return
        require_aware(offline_since=offline_since, now=now)
        if now - offline_since >= timedelta(minutes=self.max_offline_minutes):
            raise RuleViolation(
                f"与省平台断开已超过 {self.max_offline_minutes} 分钟，暂停售票，请检查网络",
                en=f"Offline for more than {self.max_offline_minutes} minutes: selling is paused; check the link",
                code="OFFLINE_BUDGET_EXHAUSTED",
                max_offline_minutes=self.max_offline_minutes,
            )
        if leased_seats_left <= 0:
            raise RuleViolation(
                "离线状态下本机已无可售座位，请等待网络恢复",
                en="Offline and no leased seats left on this terminal; wait for the link",
                code="NO_LEASED_SEATS",
            )


def _sold_out() -> RuleViolation:
    return RuleViolation("座位已售完", en="Sold out", code="SOLD_OUT")


def pick_seat(free_seats: Iterable[int], preferred: int | None = None) -> int:
    """The preferred seat if it is free (``SEAT_TAKEN`` if not), else the lowest free seat."""
    free = set(free_seats)
    if preferred is not None:
        if preferred not in free:
            raise RuleViolation(
                f"{preferred} 号座位不可售",
                en=f"Seat {preferred} is not available",
                code="SEAT_TAKEN",
                seat=preferred,
            )
        return preferred
    if not free:
        raise _sold_out()
    return min(free)


def pick_seats(free_seats: Iterable[int], count: int) -> list[int]:
    """``count`` free seats kept as close together as possible: the window of ``count``
    consecutive free seats (in seat order) with the smallest spread, the lowest on a tie.
    ``NOT_ENOUGH_SEATS`` (``SOLD_OUT`` when none is free) if there are too few."""
    if count <= 0:
        raise ValueError("count must be positive")
    free = sorted(set(free_seats))
    if len(free) < count:
        if not free:
            raise _sold_out()
        raise RuleViolation(
            f"剩余座位不足：需要 {count} 个，只剩 {len(free)} 个",
            en=f"Not enough seats: {count} wanted, {len(free)} left",
            code="NOT_ENOUGH_SEATS",
            wanted=count,
            left=len(free),
        )
    best = min(range(len(free) - count + 1), key=lambda i: (free[i + count - 1] - free[i], i))
    return free[best : best + count]

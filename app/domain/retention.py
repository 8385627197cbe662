"""What stays in the terminal's live file and what may move to the monthly archive.

The retention window is a number of days the technician sets (``[database] keep_days``). Everything
the counter and the gate can still act on stays: tickets whose departure is inside the window or
later (and every other ticket of their order), open shifts and all they hold, events the server has
not acknowledged and what they mention, the departures from the window on. Only what is older than
the window *and* older than the oldest open shift may move — with two shorter spans for what nothing
acts on once it is past: acknowledged events and audit entries (``RECORDS_KEEP_DAYS``) and the seat
maps of departures that have left (``SEAT_MAP_KEEP_DAYS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.domain._time import require_aware

DEFAULT_KEEP_DAYS = 90
# A week is the least that still covers a refund or change after departure and a late conflict task;
# ten years the most a station would want to search without the archive.
MIN_KEEP_DAYS = 7
MAX_KEEP_DAYS = 3660
# Records nothing at the counter reads again: an acknowledged event (the server has it; only its open
# shift's settlement adds it up, and an open shift holds every window back) and an audit entry (a
# record for auditors, whole in the archive). A week of them stays for a look with the sqlite shell.
RECORDS_KEEP_DAYS = 7
# Nothing is sold on a bus that has left: its seat map (most of a day's timetable) goes two days
# after its date, while the departure itself stays for the window.
SEAT_MAP_KEEP_DAYS = 2


@dataclass(frozen=True)
class Window:
    """The start of what stays: departures on ``first_date`` (local) or later, and rows stamped at
    ``starts_at`` (UTC) or later."""

    first_date: str  # YYYY-MM-DD, local to the station
    starts_at: datetime  # UTC

    @property
    def starts_at_text(self) -> str:
        return self.starts_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def keep_days_problem(keep_days: object) -> str | None:
    """Why a configured window is unusable, or None."""
    if isinstance(keep_days, bool) or not isinstance(keep_days, int):
        return f"must be a whole number of days, got {keep_days!r}"
    if not MIN_KEEP_DAYS <= keep_days <= MAX_KEEP_DAYS:
        return f"must be {MIN_KEEP_DAYS}..{MAX_KEEP_DAYS} days, got {keep_days}"
    return None


def window(now: datetime, keep_days: int, zone: ZoneInfo, *, oldest_open_shift: datetime | None = None) -> Window:
    """The retention window at ``now``: local midnight ``keep_days`` days ago, pulled back to the
    opening of the oldest shift still open (a shift's settlement adds up all its rows)."""
    require_aware(now=now)
    if isinstance(keep_days, bool) or not isinstance(keep_days, int) or keep_days < 0:
        raise ValueError(f"keep_days must be a whole number of days, got {keep_days!r}")
    first: date = now.astimezone(zone).date() - timedelta(days=keep_days)
    starts_at = datetime.combine(first, time(0, 0), tzinfo=zone).astimezone(UTC)
    if oldest_open_shift is not None:
        require_aware(oldest_open_shift=oldest_open_shift)
        if oldest_open_shift < starts_at:
            starts_at = oldest_open_shift.astimezone(UTC)
            first = min(first, oldest_open_shift.astimezone(zone).date())
    return Window(first_date=first.isoformat(), starts_at=starts_at)

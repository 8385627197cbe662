"""Checks shared by the rules that compare instants."""

from __future__ import annotations

from datetime import datetime


def require_aware(**instants: datetime) -> None:
    """Naive datetimes are bugs: a rule comparing a local and a UTC clock is off by hours."""
    for name, value in instants.items():
        if not isinstance(value, datetime):
            raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware")


def minutes_label(minutes: int) -> str:
    if minutes % 60 == 0 and minutes:
        return f"{minutes // 60} 小时"
    return f"{minutes} 分钟"

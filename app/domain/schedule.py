"""Departure times and whether a departure can still be sold."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from ._time import require_aware
from .errors import RuleViolation

DEFAULT_ZONE = "Asia/Shanghai"
DEFAULT_STOP_SALE_MINUTES = 5


class DepartureStatus(StrEnum):
    NORMAL = "normal"
    CANCELLED = "cancelled"
    DELAYED = "delayed"
    BOARDING = "boarding"
    DEPARTED = "departed"

    @property
    def label(self) -> str:
        return {
            "normal": "正常",
            "cancelled": "停班",
            "delayed": "晚点",
            "boarding": "检票中",
            "departed": "已发车",
        }[self.value]


def _zone(zone: str | ZoneInfo) -> ZoneInfo:
    return zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)


def departure_instant(day: date | str, at: time | str, zone: str | ZoneInfo = DEFAULT_ZONE) -> datetime:
    """The UTC instant of a departure scheduled at local ``day`` ``at`` ("YYYY-MM-DD", "HH:MM")."""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    if isinstance(at, str):
        at = time.fromisoformat(at)
    return datetime.combine(day, at.replace(tzinfo=None), tzinfo=_zone(zone)).astimezone(UTC)


def local_time(instant: datetime, zone: str | ZoneInfo = DEFAULT_ZONE) -> datetime:
    """An instant as the station's wall clock shows it."""
    require_aware(instant=instant)
    return instant.astimezone(_zone(zone))


def stop_sale_at(departure_at: datetime, stop_sale_minutes: int = DEFAULT_STOP_SALE_MINUTES) -> datetime:
    """When the counter stops selling (停售) this departure."""
    require_aware(departure_at=departure_at)
    return departure_at - timedelta(minutes=stop_sale_minutes)


def check_sellable(
    status: DepartureStatus | str, departure_at: datetime, stop_sale_minutes: int, now: datetime
) -> None:
    """Refuse a sale on a departure that is ``CANCELLED``, ``DEPARTED`` (by status or by the
    clock) or past its stop-sale time (``STOP_SALE``)."""
    require_aware(departure_at=departure_at, now=now)
    status = DepartureStatus(status)
    if status is DepartureStatus.CANCELLED:
        raise RuleViolation("该班次已停班，不再售票；已售车票免费退票",
                            en="This departure is cancelled and no longer sold; its tickets are refunded free of charge",
                            code="CANCELLED")
    if status is DepartureStatus.DEPARTED or now >= departure_at:
        raise RuleViolation("该班次已发车", en="This departure has left", code="DEPARTED")
    stop = stop_sale_at(departure_at, stop_sale_minutes)
    if now >= stop:
        raise RuleViolation(
            f"该班次已停售（发车前 {stop_sale_minutes} 分钟停止售票）",
            en=f"Sales for this departure have closed ({stop_sale_minutes} min before departure)",
            code="STOP_SALE",
            stop_sale_minutes=stop_sale_minutes,
        )

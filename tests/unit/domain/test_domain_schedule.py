from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import RuleViolation
from app.domain.schedule import DepartureStatus, check_sellable, departure_instant, local_time, stop_sale_at

DEPARTURE = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai


def test_departure_instant_converts_local_schedule_to_utc():
    assert departure_instant("2026-11-24", "08:30") == DEPARTURE
    assert departure_instant(date(2026, 11, 24), time(6, 0), "Asia/Shanghai") == datetime(
        2026, 11, 23, 22, 0, tzinfo=UTC
    )
    assert departure_instant("2026-11-24", "08:30", ZoneInfo("Asia/Urumqi")) == datetime(
        2026, 11, 24, 2, 30, tzinfo=UTC
    )
    assert local_time(DEPARTURE).strftime("%Y-%m-%d %H:%M") == "2026-11-24 08:30"


@given(st.dates(date(2000, 1, 1), date(2099, 12, 31)), st.times())
def test_departure_instant_round_trips_through_the_station_clock(day, at):
    instant = departure_instant(day, at)
    assert instant.tzinfo is UTC
    shown = local_time(instant)
    assert (shown.date(), shown.time()) == (day, at)


def test_stop_sale_at():
    assert stop_sale_at(DEPARTURE, 5) == DEPARTURE - timedelta(minutes=5)


def code_of(*args) -> str:
    with pytest.raises(RuleViolation) as info:
        check_sellable(*args)
    return info.value.code


def test_sellable_until_stop_sale():
    check_sellable("normal", DEPARTURE, 5, DEPARTURE - timedelta(minutes=5, seconds=1))
    check_sellable(DepartureStatus.DELAYED, DEPARTURE, 5, DEPARTURE - timedelta(hours=3))
    check_sellable(DepartureStatus.BOARDING, DEPARTURE, 5, DEPARTURE - timedelta(minutes=10))
    assert code_of("normal", DEPARTURE, 5, DEPARTURE - timedelta(minutes=5)) == "STOP_SALE"
    assert code_of("normal", DEPARTURE, 0, DEPARTURE) == "DEPARTED"
    assert code_of("normal", DEPARTURE, 5, DEPARTURE + timedelta(minutes=1)) == "DEPARTED"


def test_status_refusals_come_first():
    early = DEPARTURE - timedelta(days=1)
    assert code_of("cancelled", DEPARTURE, 5, early) == "CANCELLED"
    assert code_of("departed", DEPARTURE, 5, early) == "DEPARTED"
    with pytest.raises(RuleViolation) as info:
        check_sellable("normal", DEPARTURE, 10, DEPARTURE - timedelta(minutes=3))
    assert "停售" in info.value.message


def test_unknown_status_and_naive_times_are_bugs():
    with pytest.raises(ValueError):
        check_sellable("parked", DEPARTURE, 5, DEPARTURE - timedelta(hours=1))
    with pytest.raises(ValueError):
        check_sellable("normal", DEPARTURE, 5, datetime(2026, 11, 24, 0, 0))

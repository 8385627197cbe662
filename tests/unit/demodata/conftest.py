from datetime import date

import pytest

from app.demodata import demo_province, generate_province

START = date(2026, 11, 24)


@pytest.fixture(scope="session")
def demo():
    return demo_province(START)


@pytest.fixture(scope="session")
def scaled():
    # Big enough to need synthetic towns, small enough to build in a blink.
    return generate_province(start_date=START, days=3, departures_per_day=300, destinations=400)

import time
from collections import Counter

import pytest

from app.demodata import check_province, generate_province, initials, load_recipe
from app.demodata.generator import unambiguous_initial

from .conftest import START

RECIPE = load_recipe()
REAL_COUNTIES = {c["code"] for city in RECIPE["cities"] for c in city["counties"]}


@pytest.fixture(scope="module")
def large():
    started = time.perf_counter()
    doc = generate_province(start_date=START, days=15, departures_per_day=1000, destinations=3000)
    return doc, time.perf_counter() - started


def test_large_station_scale_is_built_quickly(large):
    doc, seconds = large
    assert seconds < 10
    assert len(doc["departures"]) == 15_000
    assert len(doc["stations"]) - 1 == 3_000
    assert Counter(d["date"] for d in doc["departures"]).most_common()[-1][1] == 1000
    assert check_province(doc) == []


def test_every_destination_is_served_every_day(large):
    doc, _ = large
    stops = {r["code"]: {s["station"] for s in r["stops"][1:]} for r in doc["routes"]}
    for day in sorted({d["date"] for d in doc["departures"]}):
        served = set().union(*(stops[d["route"]] for d in doc["departures"] if d["date"] == day))
        assert served == {s["code"] for s in doc["stations"]} - {doc["home_station"]}


def test_synthetic_towns_are_unique_and_hang_off_real_counties(large):
    doc, _ = large
    towns = [s for s in doc["stations"] if not s["code"].endswith("001")]
    assert len(towns) == 3000 - 82
    assert len({t["name"] for t in towns}) == len(towns)
    assert len({t["pinyin"] for t in towns}) == len(towns)
    real_initials = {s["pinyin"] for s in doc["stations"] if s["code"].endswith("001")}
    assert not real_initials & {t["pinyin"] for t in towns}
    for t in towns:
        assert t["region_code"] in REAL_COUNTIES and 2 <= int(t["code"][6:]) <= 999
        assert t["pinyin"] == initials(t["name"], RECIPE["pinyin_overrides"])
        # Every character reads with one initial, whatever reading pypinyin would pick.
        assert all(unambiguous_initial(ch) for ch in t["name"])
    # A county's towns ride on from its seat: the route passes the county station first.
    stations = {s["code"]: s for s in doc["stations"]}
    for r in doc["routes"]:
        terminal = stations[r["stops"][-1]["station"]]
        if not terminal["code"].endswith("001"):
            seat = terminal["region_code"] + "001"
            assert seat in r["via"]


def test_towns_spread_over_all_counties_with_a_station(large):
    doc, _ = large
    per_county = Counter(s["region_code"] for s in doc["stations"] if not s["code"].endswith("001"))
    assert len(per_county) == 82
    assert max(per_county.values()) - min(per_county.values()) <= 1


def test_fewer_destinations_keep_the_busiest_real_places():
    doc = generate_province(start_date=START, days=1, departures_per_day=20, destinations=10)
    names = {s["name"] for s in doc["stations"]} - {"杭州汽车客运中心站"}
    assert len(names) == 10 and {"宁波", "温州", "义乌"} <= names
    assert len(doc["departures"]) == 20 and check_province(doc) == []


def test_no_departures_is_still_a_valid_document():
    doc = generate_province(start_date=START, days=1, departures_per_day=0)
    assert doc["departures"] == [] and check_province(doc) == []


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(destinations=200_000), "synthetic towns"),
        (dict(days=0), "days"),
        (dict(departures_per_day=-1), "departures_per_day"),
        (dict(destinations=0), "destinations"),
    ],
)
def test_impossible_requests_are_refused_with_a_reason(kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate_province(start_date=START, **kwargs)

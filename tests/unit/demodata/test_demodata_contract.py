import copy
import re
from collections import Counter
from datetime import timedelta

import pytest

from app.demodata import check_province, initials, load_recipe
from app.domain.change import ChangePolicy
from app.domain.fares import FareTable
from app.domain.refund import RefundPolicy, quote_refund
from app.domain.schedule import departure_instant
from app.domain.ticket_types import TicketTypeTable

RECIPE = load_recipe()
COUNTIES = {c["code"]: (city, c) for city in RECIPE["cities"] for c in city["counties"]}


def by_code(rows, key="code"):
    return {r[key]: r for r in rows}


@pytest.mark.parametrize("which", ["demo", "scaled"])
def test_the_document_passes_the_contract_check(which, request):
    assert check_province(request.getfixturevalue(which)) == []


@pytest.mark.parametrize("which", ["demo", "scaled"])
def test_fares_departures_and_routes_refer_to_what_exists(which, request):
    doc = request.getfixturevalue(which)
    stations, classes = by_code(doc["stations"]), by_code(doc["vehicle_classes"])
    routes = {r["code"]: [s["station"] for s in r["stops"]] for r in doc["routes"]}
    assert len(stations) == len(doc["stations"]) and len(routes) == len(doc["routes"])
    assert len({d["id"] for d in doc["departures"]}) == len(doc["departures"])
    for r in doc["routes"]:
        assert r["origin"] == doc["home_station"] == r["stops"][0]["station"]
        assert r["via"] == routes[r["code"]][1:-1]
        assert all(s in stations for s in routes[r["code"]])
    for f in doc["fares"]:
        stops = routes[f["route"]]
        assert stops.index(f["from"]) < stops.index(f["to"])
        assert f["vehicle_class"] in classes
    fares = FareTable.from_rows(doc["fares"])
    for d in doc["departures"]:
        stops = routes[d["route"]]
        assert d["seats"] == classes[d["vehicle_class"]]["seats"]
        # Every stop of a departure's route can be sold from the home station.
        for stop in stops[1:]:
            assert fares.lookup(d["route"], stops[0], stop, d["vehicle_class"]) > 0


@pytest.mark.parametrize("which", ["demo", "scaled"])
def test_station_codes_are_county_codes_plus_a_serial_and_pinyin_matches_the_name(which, request):
    doc = request.getfixturevalue(which)
    for s in doc["stations"]:
        assert re.fullmatch(r"\d{9}", s["code"]) and s["code"][:6] == s["region_code"]
        city, county = COUNTIES[s["region_code"]]
        assert s["city"] == city["name"]
        assert s["pinyin"] == initials(s["name"], RECIPE["pinyin_overrides"])
        assert re.fullmatch(r"[A-Z]+", s["pinyin"]) and len(s["pinyin"]) == len(s["name"])


def test_recipe_codes_are_well_formed_gbt2260_and_counties_sit_under_their_city():
    assert RECIPE["province"] == {"code": "330000", "name": "浙江省"}
    assert len(RECIPE["cities"]) == 11
    assert len(COUNTIES) >= 60
    names = Counter(c["name"] for _, c in COUNTIES.values())
    assert max(names.values()) == 1
    for city in RECIPE["cities"]:
        assert re.fullmatch(r"33\d\d00", city["code"]) and city["code"] != "330000"
        assert city["name"].endswith("市")
        for county in city["counties"]:
            assert re.fullmatch(r"\d{6}", county["code"])
            assert county["code"][:4] == city["code"][:4] and county["code"][4:] != "00"
            assert county["name"][-1] in "区县市"
            # Zhejiang lies within roughly 27-31.5 N, 118-123 E.
            assert 27.0 < county["lat"] < 31.5 and 118.0 < county["lon"] < 123.0
        if "seat" in city:
            assert city["seat"] in {c["code"] for c in city["counties"]}


@pytest.mark.parametrize(
    "code,name",
    [
        ("330100", "杭州市"),
        ("330200", "宁波市"),
        ("330300", "温州市"),
        ("330600", "绍兴市"),
        ("331100", "丽水市"),
        ("330102", "上城区"),
        ("330113", "临平区"),
        ("330114", "钱塘区"),
        ("330782", "义乌市"),
        ("330382", "乐清市"),
        ("330383", "龙港市"),
        ("330522", "长兴县"),
        ("330683", "嵊州市"),
        ("330922", "嵊泗县"),
        ("331083", "玉环市"),
        ("331127", "景宁畲族自治县"),
    ],
)
def test_known_gbt2260_codes(code, name):
    cities = {c["code"]: c["name"] for c in RECIPE["cities"]}
    assert cities.get(code) == name or COUNTIES.get(code, (None, {}))[1].get("name") == name


@pytest.mark.parametrize(
    "name,expected",
    [
        ("杭州", "HZ"),
        ("绍兴", "SX"),
        ("温州", "WZ"),
        ("长兴", "CX"),
        ("乐清", "YQ"),
        ("丽水", "LS"),
        ("嵊州", "SZ"),
        ("嵊泗", "SS"),
        ("天台", "TT"),
        ("衢州", "QZ"),
        ("义乌", "YW"),
    ],
)
def test_initials_of_place_names(name, expected, demo):
    assert initials(name, RECIPE["pinyin_overrides"]) == expected
    if name != "杭州":  # the home station carries its full name
        assert by_code(demo["stations"], "name")[name]["pinyin"] == expected


def test_overrides_win_over_pypinyin_and_apply_inside_longer_names():
    assert initials("乐清汽车站", {"乐清": "YQ"}) == "YQQCZ"
    assert initials("长兴", {"长兴": "ZX"}) == "ZX"
    # 乐 alone reads le: the place name's yue needs the phrase or the override.
    assert initials("乐", {}) == "L"
    for key in RECIPE["pinyin_overrides"]:
        assert any(c["name"].startswith(key) for _, c in COUNTIES.values()) or key in {
            c["short"] for c in RECIPE["cities"]
        }


def test_demo_has_the_real_places_and_the_home_station(demo):
    stations = by_code(demo["stations"])
    home = stations[demo["home_station"]]
    assert home["code"] == "330102001" and home["name"] == "杭州汽车客运中心站"
    names = {s["name"] for s in demo["stations"]}
    assert {"宁波", "温州", "嘉兴", "湖州", "绍兴", "金华", "衢州", "舟山", "台州", "丽水"} <= names
    assert {"义乌", "乐清", "长兴", "嵊州", "嵊泗", "景宁", "龙港"} <= names
    assert all(s["code"].endswith("001") for s in demo["stations"])
    terminals = {r["stops"][-1]["station"] for r in demo["routes"]}
    assert terminals == set(stations) - {demo["home_station"]}
    assert len(terminals) >= 60


def test_route_distances_are_plausible(demo):
    names = {s["code"]: s["name"] for s in demo["stations"]}
    km = {names[r["stops"][-1]["station"]]: r["stops"][-1]["km"] for r in demo["routes"]}
    # Road distances from Hangzhou, to within what straight lines and a detour factor give.
    assert 130 <= km["宁波"] <= 230
    assert 300 <= km["温州"] <= 450
    assert 40 <= km["绍兴"] <= 90
    assert 110 <= km["义乌"] <= 180
    assert 30 <= km["富阳"] <= 70
    assert any(r["via"] for r in demo["routes"])


def test_fares_follow_distance_and_vehicle_class(demo):
    routes = {r["code"]: {s["station"]: s["km"] for s in r["stops"]} for r in demo["routes"]}
    floor = RECIPE["fares"]["floor"]
    by_key = {}
    for f in demo["fares"]:
        km = routes[f["route"]][f["to"]] - routes[f["route"]][f["from"]]
        assert f["full_fare"] % 100 == 0 and f["full_fare"] >= floor
        if f["full_fare"] > floor:
            # 0.14-0.20 yuan a kilometre, give or take half a yuan of rounding.
            assert 14 * km - 50 <= f["full_fare"] <= 20 * km + 50
        by_key[(f["route"], f["from"], f["to"], f["vehicle_class"])] = f["full_fare"]
    # From one boarding stop, riding further never costs less.
    legs = {}
    for (route, frm, to, vc), fare in by_key.items():
        legs.setdefault((route, frm, vc), []).append((routes[route][to], fare))
    assert any(len(v) > 2 for v in legs.values())
    for rows in legs.values():
        fares = [fare for _, fare in sorted(rows)]
        assert fares == sorted(fares)
    longest = max(demo["routes"], key=lambda r: r["stops"][-1]["km"])
    end = (longest["code"], longest["origin"], longest["stops"][-1]["station"])
    assert by_key[(*end, "DG")] > by_key[(*end, "DZ")]


def test_rule_tables_are_the_ones_the_domain_reads(demo):
    types = {t["code"]: t for t in demo["ticket_types"]}
    assert {c: (t["name"], t["rate_percent"]) for c, t in types.items()} == {
        "full": ("全票", 100),
        "child": ("儿童票", 50),
        "free_child": ("免票携童", 0),
        "student": ("学生票", 75),
        "disabled": ("军残/警残", 50),
    }
    assert types["free_child"]["needs_seat"] is False and types["free_child"]["needs_adult"] is True
    assert types["free_child"]["counts_free_child_cap"] is True
    table = TicketTypeTable.from_rows(demo["ticket_types"])
    assert table.get("child").price(5700) == 2850
    assert table.get("student").price(5700) == 4300  # 42.75 rounded half-up to the half yuan

    policy = RefundPolicy.from_dict(demo["refund_policy"])
    assert demo["refund_policy"]["tiers"] == [
        {"min_minutes_before": 120, "rate_percent": 10},
        {"min_minutes_before": 0, "rate_percent": 20},
        {"min_minutes_before": -30, "rate_percent": 50},
    ]
    assert demo["refund_policy"]["minimum_fee"] == 100 and demo["refund_policy"]["rounding"] == "half_yuan"
    leaves = departure_instant("2026-11-24", "12:00")
    assert quote_refund(5700, leaves, leaves - timedelta(hours=3), policy).fee == 550
    assert quote_refund(5700, leaves, leaves - timedelta(minutes=30), policy).fee == 1150
    assert quote_refund(800, leaves, leaves - timedelta(hours=3), policy).fee == 100
    assert quote_refund(5700, leaves, leaves + timedelta(minutes=20), policy).fee == 2850

    assert ChangePolicy.from_dict(demo["change_policy"]) == ChangePolicy(
        max_changes=1, cutoff_minutes=30, fee=0
    )
    assert demo["insurance"] == {"name": "乘意险", "price": 300}
    classes = {v["code"]: (v["name"], v["seats"]) for v in demo["vehicle_classes"]}
    assert (
        classes["DG"] == ("大型高级", 45)
        and classes["ZZ"] == ("中型中级", 33)
        and classes["XX"] == ("小型", 19)
    )


def test_departures_fill_the_day_and_repeat_as_a_timetable(demo):
    days = Counter(d["date"] for d in demo["departures"])
    assert len(days) == 15 and set(days.values()) == {120}
    assert all("06:00" <= d["time"] <= "19:30" for d in demo["departures"])
    hours = Counter(d["time"][:2] for d in demo["departures"])
    assert set(hours) >= {f"{h:02d}" for h in range(6, 20)}
    assert all(1 <= d["gate"] <= 20 for d in demo["departures"])
    for d in demo["departures"]:
        assert d["id"] == f"{demo['home_station']}-{d['date'].replace('-', '')}-{d['schedule_code']}"
        assert d["stop_sale_minutes"] == 5
    regular = {}
    for d in demo["departures"]:
        if not d["extra"]:
            assert regular.setdefault(d["schedule_code"], (d["route"], d["time"], d["vehicle_class"])) == (
                d["route"],
                d["time"],
                d["vehicle_class"],
            )
    statuses = Counter(d["status"] for d in demo["departures"])
    assert statuses["cancelled"] >= 5 and statuses["delayed"] >= 5
    assert statuses["normal"] > 0.95 * len(demo["departures"])
    extras = [d for d in demo["departures"] if d["extra"]]
    assert extras and all(d["gate"] in (19, 20) and d["schedule_code"].startswith("J") for d in extras)
    assert len(extras) < 0.1 * len(demo["departures"])


def test_departures_to_one_city_board_at_that_citys_gates(demo):
    stations = by_code(demo["stations"])
    terminal = {r["code"]: stations[r["stops"][-1]["station"]]["city"] for r in demo["routes"]}
    gates = {}
    for d in demo["departures"]:
        if not d["extra"]:
            gates.setdefault(terminal[d["route"]], set()).add(d["gate"])
    assert len(gates) == 11
    for city, used in gates.items():
        for other, used2 in gates.items():
            if city != other:
                assert not used & used2, (city, other)


def mutate(doc, how):
    doc = copy.deepcopy(doc)
    if how == "fare stop not on route":
        doc["fares"][0]["to"] = next(
            s["code"]
            for s in doc["stations"]
            if s["code"]
            not in {
                st["station"]
                for r in doc["routes"]
                if r["code"] == doc["fares"][0]["route"]
                for st in r["stops"]
            }
        )
    elif how == "fare backwards":
        doc["fares"][0]["from"], doc["fares"][0]["to"] = doc["fares"][0]["to"], doc["fares"][0]["from"]
    elif how == "unknown vehicle class":
        doc["departures"][0]["vehicle_class"] = "ZZZ"
    elif how == "unknown route":
        doc["departures"][0]["route"] = "R9999"
    elif how == "duplicate station code":
        doc["stations"][1]["code"] = doc["stations"][2]["code"]
    elif how == "pinyin too short":
        doc["stations"][1]["pinyin"] = doc["stations"][1]["pinyin"][:-1]
    elif how == "region outside province":
        doc["stations"][1]["region_code"] = "320102"
        doc["stations"][1]["code"] = "320102001"
    elif how == "city code as region":
        doc["stations"][1]["region_code"] = "330200"
        doc["stations"][1]["code"] = "330200001"
    elif how == "km not increasing":
        doc["routes"][0]["stops"][-1]["km"] = 0
    elif how == "duplicate departure id":
        doc["departures"][1]["id"] = doc["departures"][0]["id"]
    elif how == "gate out of range":
        doc["departures"][0]["gate"] = 21
    elif how == "no fare for the departure's class":
        route = doc["departures"][0]["route"]
        doc["fares"] = [f for f in doc["fares"] if f["route"] != route]
    return doc


@pytest.mark.parametrize(
    "how",
    [
        "fare stop not on route",
        "fare backwards",
        "unknown vehicle class",
        "unknown route",
        "duplicate station code",
        "pinyin too short",
        "region outside province",
        "city code as region",
        "km not increasing",
        "duplicate departure id",
        "gate out of range",
        "no fare for the departure's class",
    ],
)
def test_the_check_catches_a_broken_document(how, demo):
    assert check_province(mutate(demo, how)) != []

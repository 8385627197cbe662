"""The province document's schema: what it accepts, and how it names what it refuses."""

import copy

import pytest

from app.domain.province import FORMAT, ProvinceDocumentError, province_problems, validate_province

DOC = {
    "format": FORMAT,
    "province": {"code": "33", "name": "浙江省"},
    "home_station": "330102001",
    "stations": [{"code": "330102001", "name": "杭州客运中心", "pinyin": "HZ", "newer_field": 1}],
    "vehicle_classes": [{"code": "DZ", "name": "大型中级", "seats": 45}],
    "routes": [{"code": "R1", "name": "杭州-宁波", "origin": "330102001", "via": ["绍兴"],
                "stops": [{"station": "330102001", "seq": 0, "km": 0}, {"station": "330203001", "seq": 1, "km": 155}]}],
    "fares": [{"route": "R1", "from": "330102001", "to": "330203001", "vehicle_class": "DZ", "full_fare": 7500}],
    "departures": [{"id": "D1", "schedule_code": "K0800", "route": "R1", "date": "2026-12-05", "time": "08:00",
                    "vehicle_class": "DZ", "seats": 45, "gate": 3}],
    "ticket_types": [{"code": "full"}],
    "refund_policy": {"tiers": []},
    "gate": {"open_minutes": 30},
}


def changed(path, value):
    doc = copy.deepcopy(DOC)
    node = doc
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


def test_a_good_document_and_lax_values_pass():
    assert province_problems(DOC) == []
    assert province_problems({"format": FORMAT}) == []  # a partial document, as the server imports
    for path, value in ((("vehicle_classes", 0, "seats"), "45"), (("vehicle_classes", 0, "seats"), 45.0),
                        (("departures", 0, "extra"), "yes"), (("departures", 0, "gate"), "A3"),
                        (("departures", 0, "gate"), None), (("routes", 0, "via"), "绍兴"),
                        (("gate", "station_fee_percent"), "7.5")):
        assert province_problems(changed(path, value)) == [], (path, value)


@pytest.mark.parametrize(("path", "value", "problem"), [
    (("format",), "kezhan-province/2", "format: Input should be 'kezhan-province/1'"),
    (("stations", 0, "name"), KeyError, "stations[0] (code 330102001).name: Field required"),
    (("stations", 0, "code"), 330102001, "stations[0].code: Input should be a valid string"),
    (("vehicle_classes", 0, "seats"), 0, "vehicle_classes[0] (code DZ).seats: Input should be greater than or equal to 1"),
    (("vehicle_classes", 0, "seats"), 4.5,
     "vehicle_classes[0] (code DZ).seats: Input should be a valid integer, got a number with a fractional part"),
    (("vehicle_classes", 0, "seats"), "四十五",
     "vehicle_classes[0] (code DZ).seats: Input should be a valid integer, unable to parse string as an integer"),
    (("fares", 0, "from"), KeyError, "fares[0].from: Field required"),
    (("fares", 0, "full_fare"), 0, "fares[0].full_fare: Input should be greater than 0"),
    (("departures", 0, "time"), "24:00", "departures[0] (id D1).time: String should match pattern '^([01]\\d|2[0-3]):[0-5]\\d$'"),
    (("departures", 0, "status"), "gone",
     "departures[0] (id D1).status: Input should be 'normal', 'cancelled', 'delayed', 'boarding' or 'departed'"),
    (("departures", 0, "extra"), "maybe", "departures[0] (id D1).extra: Input should be a valid boolean, unable to interpret input"),
    (("routes", 0, "stops", 1, "km"), "far", "routes[0] (code R1).stops[1].km: Input should be a valid integer, unable to parse string as an integer"),
    (("gate", "late_minutes"), 2000, "gate.late_minutes: Input should be less than or equal to 1440"),
    (("ticket_types", 0), "full", "ticket_types[0]: Input should be a valid dictionary or instance of TicketType"),
    (("refund_policy",), [], "refund_policy: Input should be a valid dictionary"),
    (("stations",), "330102001", "stations: Input should be a valid list"),
])
def test_every_bad_field_is_named(path, value, problem):
    assert province_problems(changed(path, value)) == [problem]
    with pytest.raises(ProvinceDocumentError) as info:
        validate_province(changed(path, value))
    assert info.value.problems == [problem]


def test_a_union_names_each_reading_and_problems_come_in_document_order():
    doc = changed(("departures", 0, "gate"), [3])
    doc["departures"][0]["seats"] = -1
    assert province_problems(doc) == [
        "departures[0] (id D1).seats: Input should be greater than or equal to 0",
        "departures[0] (id D1).gate.int: Input should be a valid integer",
        "departures[0] (id D1).gate.str: Input should be a valid string",
    ]
    assert province_problems([]) == ["a province document is a JSON object, not list"]

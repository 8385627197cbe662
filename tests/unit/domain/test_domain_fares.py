import pytest

from app.domain.errors import ConfigError, RuleViolation
from app.domain.fares import FareKey, FareTable

ROWS = [
    {"route": "R1", "from": "330102001", "to": "330521001", "vehicle_class": "DG", "full_fare": 4550},
    {"route": "R1", "from": "330102001", "to": "330522001", "vehicle_class": "DG", "full_fare": 6200},
    {"route": "R1", "from": "330521001", "to": "330522001", "vehicle_class": "DG", "full_fare": 2000},
    {"route": "R1", "from": "330102001", "to": "330521001", "vehicle_class": "ZG", "full_fare": 3900},
]


def test_lookup_by_route_stops_and_vehicle_class():
    table = FareTable.from_rows(ROWS)
    assert table.lookup("R1", "330102001", "330521001", "DG") == 4550
    assert table.lookup("R1", "330102001", "330521001", "ZG") == 3900
    assert table.lookup("R1", "330521001", "330522001", "DG") == 2000
    assert len(table) == 4
    assert FareKey("R1", "330102001", "330522001", "DG") in table


@pytest.mark.parametrize(
    "key",
    [
        ("R1", "330521001", "330102001", "DG"),  # the reverse direction is another route
        ("R2", "330102001", "330521001", "DG"),
        ("R1", "330102001", "330522001", "ZG"),
    ],
)
def test_missing_fare_is_refused_with_no_fare(key):
    table = FareTable.from_rows(ROWS)
    with pytest.raises(RuleViolation) as info:
        table.lookup(*key)
    assert info.value.code == "NO_FARE"
    assert "没有票价" in info.value.message


def test_destinations_from_a_boarding_stop():
    table = FareTable.from_rows(ROWS)
    assert table.destinations("R1", "330102001", "DG") == ["330521001", "330522001"]
    assert table.destinations("R1", "330522001", "DG") == []


@pytest.mark.parametrize(
    "bad",
    [
        {"route": "R1", "from": "A", "to": "B", "vehicle_class": "DG", "full_fare": 45.5},
        {"route": "R1", "from": "A", "to": "B", "vehicle_class": "DG", "full_fare": -1},
        {"route": "R1", "from": "A", "to": "A", "vehicle_class": "DG", "full_fare": 100},
        {"route": "R1", "from": "A", "vehicle_class": "DG", "full_fare": 100},
    ],
)
def test_bad_rows_are_config_errors(bad):
    with pytest.raises(ConfigError) as info:
        FareTable.from_rows([bad])
    assert info.value.code == "BAD_FARE_ROW"


def test_contradicting_duplicate_rows_are_refused_but_repeats_are_fine():
    FareTable.from_rows([ROWS[0], dict(ROWS[0])])
    with pytest.raises(ConfigError):
        FareTable.from_rows([ROWS[0], {**ROWS[0], "full_fare": 1}])

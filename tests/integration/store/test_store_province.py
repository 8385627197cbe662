"""Loading a province document: network, departures and seats, rule tables; reloads keep sold seats."""

from __future__ import annotations

import sqlite3
import time
from datetime import date

import pytest

from app.errors import StorageError
from app.store.engine import open_database
from app.store.province import get_setting, load_province
from tests.integration.store.tiny_province import D_0800, HOME, tiny_province


@pytest.fixture
def db(tmp_path):
    database = open_database(tmp_path / "k.sqlite3")
    yield database
    database.dispose()


def _count(db, table):
    con = sqlite3.connect(db.path)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


def test_the_tiny_province_loads(db):
    with db.transaction() as session:
        counts = load_province(session, tiny_province())
    assert counts == {"stations": 5, "routes": 2, "fares": 5, "departures": 6, "seats": 5 * 45 + 10}
    assert _count(db, "seats") == 235 and _count(db, "route_stops") == 5
    with db.read() as session:
        assert get_setting(session, "home_station") == HOME
        assert get_setting(session, "change_policy") == {"max_changes": 1, "cutoff_minutes": 30, "fee": 200}
        assert [t["code"] for t in get_setting(session, "ticket_types")][:3] == ["full", "child", "free_child"]
    con = sqlite3.connect(db.path)
    departs_at = con.execute("SELECT departs_at FROM departures WHERE id = ?", (D_0800,)).fetchone()[0]
    con.close()
    assert departs_at == "2026-12-01T00:00:00.000000Z"  # 08:00 in Shanghai


def test_a_reload_updates_the_timetable_but_keeps_sold_seats(db):
    with db.transaction() as session:
        load_province(session, tiny_province())
    con = sqlite3.connect(db.path)
    con.execute("UPDATE seats SET state = 'sold', ticket_id = 'T1' WHERE departure_id = ? AND seat_no = 1", (D_0800,))
    con.commit()
    con.close()
    doc = tiny_province()
    doc["departures"][0]["status"] = "delayed"
    doc["departures"][0]["gate"] = "7"
    with db.transaction() as session:
        load_province(session, doc)
    con = sqlite3.connect(db.path)
    assert con.execute("SELECT status, gate FROM departures WHERE id = ?", (D_0800,)).fetchone() == ("delayed", "7")
    assert con.execute("SELECT state, ticket_id FROM seats WHERE departure_id = ? AND seat_no = 1",
                       (D_0800,)).fetchone() == ("sold", "T1")
    con.close()


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d.update(format="something-else/9"),
        lambda d: d["departures"][0].update(status="flying"),
        lambda d: d["stations"][0].pop("name"),
        lambda d: d["fares"].append({"route": "R1", "from": HOME, "to": "999999999", "vehicle_class": "DG",
                                     "full_fare": 1}),
    ],
)
def test_a_bad_document_is_refused_and_nothing_is_loaded(db, breakage):
    doc = tiny_province()
    breakage(doc)
    with pytest.raises(StorageError):
        with db.transaction() as session:
            load_province(session, doc)
    assert _count(db, "stations") == 0 and _count(db, "departures") == 0


@pytest.mark.slow
def test_a_large_station_loads_well_within_a_minute(db):
    from app.demodata.generator import generate_province

    doc = generate_province(start_date=date(2026, 12, 1), departures_per_day=1000, days=15, destinations=3000)
    started = time.perf_counter()
    with db.transaction() as session:
        counts = load_province(session, doc)
    elapsed = time.perf_counter() - started
    assert counts["departures"] == 15000 and counts["stations"] >= 3000
    assert counts["seats"] == sum(d["seats"] for d in doc["departures"]) > 500_000
    assert elapsed < 30, f"loading took {elapsed:.1f} s"

"""Destination search at every keystroke, and the departures to a destination."""

from __future__ import annotations

import sqlite3
import statistics
import time
from datetime import date

import pytest
from sqlalchemy import text

from app.store.engine import open_database
from app.store.province import load_province
from app.store.queries import departures_to, search_destinations
from tests.integration.store.tiny_province import (
    D_0800,
    D_1000_SMALL,
    DAY,
    FARE_NINGBO,
    NINGBO,
    tiny_province,
)


@pytest.fixture
def db(tmp_path):
    database = open_database(tmp_path / "k.sqlite3")
    with database.transaction() as session:
        load_province(session, tiny_province())
    yield database
    database.dispose()


def test_search_by_pinyin_initials_code_and_hanzi(db):
    with db.read() as session:
        assert [h.name for h in search_destinations(session, "nb")] == ["宁波"]
        assert [h.name for h in search_destinations(session, "S")] == ["绍兴"]
        assert [h.code for h in search_destinations(session, "3306")] == ["330602001"]
        assert [h.name for h in search_destinations(session, "瑞")] == ["瑞安"]
        assert [h.name for h in search_destinations(session, "波")] == ["宁波"]
        assert search_destinations(session, "") == [] and search_destinations(session, "QQ") == []
        assert len(search_destinations(session, "3", limit=2)) == 2


def test_prefix_searches_use_the_index(db):
    with db.read() as session:
        for sql in (
            "SELECT code FROM stations WHERE pinyin >= 'N' AND pinyin < 'N\uffff' ORDER BY pinyin, code LIMIT 10",
            "SELECT code FROM stations WHERE code >= '33' AND code < '33\uffff' ORDER BY code LIMIT 10",
        ):
            plan = " ".join(str(row[-1]) for row in session.execute(text("EXPLAIN QUERY PLAN " + sql)))
            assert plan.startswith("SEARCH stations USING") and "INDEX" in plan, plan


def test_departures_to_a_destination_with_price_and_seats_left(db):
    with db.read() as session:
        rows = departures_to(session, NINGBO, DAY)
    by_id = {r.id: r for r in rows}
    assert by_id[D_0800].full_fare == FARE_NINGBO and by_id[D_0800].seats_left == 45
    assert by_id[D_1000_SMALL].full_fare == 11000 and by_id[D_1000_SMALL].vehicle_name == "小型中级"
    assert [r.time for r in rows] == sorted(r.time for r in rows)
    con = sqlite3.connect(db.path)
    con.execute("UPDATE seats SET state = 'sold' WHERE departure_id = ? AND seat_no <= 3", (D_0800,))
    con.commit()
    con.close()
    with db.read() as session:
        assert {r.id: r for r in departures_to(session, NINGBO, DAY)}[D_0800].seats_left == 42


@pytest.mark.slow
def test_keystroke_search_is_fast_at_large_station_scale(tmp_path):
    from app.demodata.generator import generate_province

    doc = generate_province(start_date=date(2026, 12, 1), departures_per_day=1000, days=15, destinations=3000)
    big = open_database(tmp_path / "big.sqlite3")
    with big.transaction() as session:
        load_province(session, doc)
    prefixes = sorted({s["pinyin"][:n] for s in doc["stations"] for n in (1, 2, 3) if s["pinyin"]})[:400]
    timings = []
    with big.read() as session:
        for prefix in prefixes * 3:
            started = time.perf_counter()
            hits = search_destinations(session, prefix)
            timings.append(time.perf_counter() - started)
            assert all(h.pinyin.startswith(prefix.upper()) for h in hits)
    big.dispose()
    p99 = statistics.quantiles(timings, n=100)[98]
    assert p99 < 0.002, f"p99 {p99 * 1000:.2f} ms"

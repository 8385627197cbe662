"""The gate's rows: the province's gate settings, one live check per ticket, road bills, and the
indexes a verdict's lookups walk."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from app.errors import StorageError
from app.services.context import cursor, load_rules
from app.store import gate as gate_store
from app.store.engine import open_database
from app.store.province import load_province
from tests.integration.store.tiny_province import D_0800, tiny_province

AT = datetime(2026, 11, 30, 23, 40, tzinfo=UTC)


@pytest.fixture
def db(tmp_path):
    database = open_database(tmp_path / "k.sqlite3")
    with database.transaction() as session:
        load_province(session, tiny_province())
    yield database
    database.dispose()


def test_the_gate_settings_default_and_come_from_the_province_document(tmp_path, db):
    with db.read() as session:
        assert load_rules(cursor(session)).gate.open_minutes == 30
    doc = tiny_province()
    doc["gate"] = {"open_minutes": 45, "late_minutes": 5, "station_fee_percent": 8, "agency_fee_percent": 1.5}
    with db.transaction() as session:
        load_province(session, doc)
    with db.read() as session:
        gate = load_rules(cursor(session)).gate
    assert (gate.open_minutes, gate.late_minutes, str(gate.agency_fee_percent)) == (45, 5, "1.5")
    assert gate.free_child_cap(45) == 4  # the default 10 %
    doc["gate"] = {"open_minutes": -5}
    with pytest.raises(StorageError, match="gate.open_minutes"):
        with db.transaction() as session:
            load_province(session, doc)


def _check(cur, ticket_id="T1", at=AT):
    return gate_store.insert_check(cur, ticket_id=ticket_id, departure_id=D_0800, gate="3", checker="2001", via="code",
                                   seat_no=1, ticket_type="full", printed_version=0, unknown=False, at=at)


def test_one_live_check_per_ticket_and_an_undone_check_stays_on_record(db):
    with db.transaction() as session:
        cur = cursor(session)
        _check(cur)
    with pytest.raises(StorageError, match="UNIQUE"):
        with db.transaction() as session:
            _check(cursor(session))
    with db.transaction() as session:
        cur = cursor(session)
        assert gate_store.undo_check(cur, "T1", AT, "误检") == 1
        _check(cur)
        assert gate_store.check_counts(cur, D_0800) == {"full": 1}
        cur.execute("SELECT count(*), sum(undone_at IS NOT NULL) FROM gate_checks WHERE ticket_id = 'T1'")
        assert cur.fetchone() == (2, 1)


def test_road_bills_keep_their_numbers_through_reprint_and_void(db):
    with db.transaction() as session:
        cur = cursor(session)
        gate_store.insert_road_bill(cur, number="T01-000001", departure_id=D_0800, terminal_id="T01", gate="3",
                                    checker="2001", plate="浙A1", driver="王", made_at=AT, body="{}")
        assert gate_store.count_reprint(cur, "T01-000001") == 1
        assert gate_store.unprinted_road_bills(cur) == ["T01-000001"]
        gate_store.void_road_bill(cur, "T01-000001", AT, "错")
        assert gate_store.road_bill_of(cur, D_0800) is None
        assert gate_store.road_bill_of(cur, D_0800, include_voided=True).reprints == 1
        assert gate_store.unprinted_road_bills(cur) == []


@pytest.mark.parametrize("sql, args", [
    ("SELECT 1 FROM gate_checks WHERE ticket_id = ? AND undone_at IS NULL", ("T1",)),
    ("SELECT ticket_type, count(*) FROM gate_checks WHERE departure_id = ? AND undone_at IS NULL "
     "GROUP BY ticket_type", (D_0800,)),
    ("SELECT departure_id FROM gate_departures WHERE merged_into = ?", (D_0800,)),
    ("SELECT 1 FROM tickets WHERE changed_from = ?", ("T1",)),
    ("SELECT 1 FROM gate_ride_changes WHERE to_departure_id = ?", (D_0800,)),
    ("SELECT 1 FROM road_bills WHERE departure_id = ?", (D_0800,)),
])
def test_every_lookup_of_a_verdict_walks_an_index(db, sql, args):
    con = sqlite3.connect(db.path)
    plan = " ".join(str(row[-1]) for row in con.execute("EXPLAIN QUERY PLAN " + sql, args))
    con.close()
    assert "USING" in plan and "SCAN gate_" not in plan and "SCAN tickets" not in plan, plan

"""What the counter window reads for its seat map, its departure list's offline column and its
status bar's pending count."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from app.store.engine import raw_cursor
from app.store.models import OutboxEvent, SyncCursor
from app.store.outbox import pending_count
from app.store.seats import grant_lease, leased_seats_left, release_lease, seat_map
from sync.client.client import CURSOR_ACKED
from tests.integration.store.helpers import tiny_database
from tests.integration.store.tiny_province import D_0800, D_1000_SMALL, D_1400, HOME, NOW

TERMINAL = f"{HOME}-T01"


@pytest.fixture
def db_path(tmp_path):
    return tiny_database(tmp_path / "k.sqlite3")


def _set_seats(db_path, departure, state, seats):
    """The rows a sale here (``sold``) or the feed about another channel (``held``) leaves behind."""
    con = sqlite3.connect(db_path)
    with con:
        con.executemany("UPDATE seats SET state = ? WHERE departure_id = ? AND seat_no = ?",
                        [(state, departure, n) for n in seats])
    con.close()


def test_the_seat_map_shows_every_seat_in_order_with_its_state(db, db_path):
    with db.transaction() as session:
        grant_lease(session, "L1", D_1000_SMALL, [5, 6], NOW, NOW + timedelta(hours=1))
    _set_seats(db_path, D_1000_SMALL, "sold", [5])
    _set_seats(db_path, D_1000_SMALL, "held", [1, 2])
    with db.read() as session:
        seats = seat_map(session, D_1000_SMALL)
    assert list(seats) == list(range(1, 11))
    assert seats == {1: "held", 2: "held", 3: "free", 4: "free", 5: "sold", 6: "leased",
                     7: "free", 8: "free", 9: "free", 10: "free"}
    with db.read() as session:
        assert len(seat_map(session, D_0800)) == 45
        assert seat_map(session, "no-such-departure") == {}


def test_leased_seats_left_counts_unsold_seats_under_an_unexpired_lease(db, db_path):
    with db.transaction() as session:
        grant_lease(session, "L1", D_0800, [20, 21, 22], NOW, NOW + timedelta(hours=1))
        grant_lease(session, "L2", D_1400, [1, 2], NOW, NOW + timedelta(minutes=10))
    _set_seats(db_path, D_0800, "sold", [20])
    asked = [D_0800, D_1400, D_1000_SMALL]
    with db.read() as session:
        assert leased_seats_left(session, asked, NOW) == {D_0800: 2, D_1400: 2, D_1000_SMALL: 0}
        # Ten minutes on, the short lease has run out; the long one still holds.
        assert leased_seats_left(session, asked, NOW + timedelta(minutes=10)) == {
            D_0800: 2, D_1400: 0, D_1000_SMALL: 0}
        assert leased_seats_left(session, [], NOW) == {}
    with db.transaction() as session:
        release_lease(session, "L1")
    with db.read() as session:
        assert leased_seats_left(session, [D_0800], NOW) == {D_0800: 0}


def _events(db, terminal_id, seqs):
    with db.transaction() as session:
        for seq in seqs:
            session.add(OutboxEvent(terminal_id=terminal_id, seq=seq, event_id=f"{terminal_id}-{seq}",
                                    type="ticket.sold", created_at="2026-11-30T22:00:00.000000Z",
                                    payload="{}", hash="0" * 64))


def test_pending_events_are_those_above_the_uploaders_high_water_mark(db):
    _events(db, TERMINAL, range(1, 6))
    _events(db, f"{HOME}-T02", range(1, 4))  # another terminal's rows are not ours to send
    with db.read() as session:
        assert pending_count(raw_cursor(session), TERMINAL, CURSOR_ACKED) == 5  # nothing acknowledged yet
    with db.transaction() as session:
        session.add(SyncCursor(name=CURSOR_ACKED, value="3"))
    with db.read() as session:
        assert pending_count(raw_cursor(session), TERMINAL, CURSOR_ACKED) == 2
    with db.transaction() as session:
        session.get(SyncCursor, CURSOR_ACKED).value = "5"
    with db.read() as session:
        assert pending_count(raw_cursor(session), TERMINAL, CURSOR_ACKED) == 0

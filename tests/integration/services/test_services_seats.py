"""Which seat an online sale takes: this terminal's unexpired leases first (the server gives those to
no one else), then the pool; never a seat another channel holds. A seat picked on the seat map is
sold wherever it is, as long as this terminal may sell it."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from app.errors import RuleViolation
from app.services import PassengerIn, change, sell
from app.store.seats import grant_lease
from tests.integration.services.conftest import CLERK
from tests.integration.services.helpers import LATER, seat_state
from tests.integration.store.tiny_province import (
    D_0800,
    D_1000_SMALL,
    D_1400,
    ID_A,
    ID_B,
    ID_C,
    ID_D,
    NINGBO,
    NOW,
    resident_id,
)

PEOPLE = [("张三", ID_A), ("李四", ID_B), ("王五", ID_C), ("赵六", ID_D)]


def _party(count, seats=None):
    seats = seats or [None] * count
    return [PassengerIn("full", name, doc_number=doc, seat_no=seat)
            for (name, doc), seat in zip(PEOPLE[:count], seats, strict=True)]


def _sell(db, terminal, passengers, departure=D_0800, now=LATER):
    result = sell(db, terminal, clerk=CLERK, departure_id=departure, stop=NINGBO, passengers=passengers, now=now)
    return [job.seat_no for job in result.print_jobs]


def _lease(db, seats, departure=D_0800, lease_id="L1", minutes=60):
    with db.transaction() as session:
        grant_lease(session, lease_id, departure, seats, NOW, NOW + timedelta(minutes=minutes))


def _held_elsewhere(db_path, departure, seats):
    """What the sync client's feed does when another channel sells or holds a seat."""
    con = sqlite3.connect(db_path)
    with con:
        con.executemany("UPDATE seats SET state = 'held' WHERE departure_id = ? AND seat_no = ?",
                        [(departure, n) for n in seats])
    con.close()


def test_online_a_sale_takes_a_seat_leased_to_this_terminal(db, db_path, terminal, shift):
    _lease(db, [20, 21, 22])
    assert _sell(db, terminal, _party(1)) == [20]
    assert seat_state(db_path, D_0800, 20)[0] == "sold"
    assert seat_state(db_path, D_0800, 1) == ("free", None)


def test_a_party_that_fits_in_the_lease_sits_together_in_it(db, terminal, shift):
    _lease(db, [7, 20, 21, 22])
    assert _sell(db, terminal, _party(3)) == [20, 21, 22]


def test_when_the_lease_is_used_up_sales_go_on_from_the_pool(db, terminal, shift):
    _lease(db, [20, 21])
    assert _sell(db, terminal, _party(2)) == [20, 21]
    assert _sell(db, terminal, [PassengerIn("full", "王五", doc_number=ID_C)]) == [1]


def test_a_party_larger_than_the_lease_is_kept_together(db, terminal, shift):
    _lease(db, [20, 21])
    seats = _sell(db, terminal, _party(4))
    assert max(seats) - min(seats) == 3  # four neighbouring seats, not two here and two there


def test_an_expired_lease_is_pool_again(db, terminal, shift):
    _lease(db, [20, 21, 22], minutes=30)
    assert _sell(db, terminal, _party(1), now=NOW + timedelta(minutes=31)) == [1]


def test_a_seat_held_elsewhere_is_never_taken(db, db_path, terminal, shift):
    _held_elsewhere(db_path, D_1000_SMALL, range(1, 9))
    assert _sell(db, terminal, _party(2), departure=D_1000_SMALL) == [9, 10]
    assert seat_state(db_path, D_1000_SMALL, 1) == ("held", None)
    with pytest.raises(RuleViolation) as info:
        _sell(db, terminal, [PassengerIn("full", "王五", doc_number=ID_C)], departure=D_1000_SMALL)
    assert info.value.code == "SOLD_OUT"


def test_a_seat_chosen_on_the_seat_map_is_sold_leased_or_not(db, db_path, terminal, shift):
    _lease(db, [20, 21, 22])
    assert _sell(db, terminal, _party(2, seats=[5, 21])) == [5, 21]
    # The rest of a party with one chosen seat still comes from the lease.
    assert _sell(db, terminal, _party(4, seats=[None, None, 30, None])[2:]) == [30, 20]


def test_a_chosen_seat_held_elsewhere_is_refused(db, db_path, terminal, shift):
    _held_elsewhere(db_path, D_0800, [5])
    with pytest.raises(RuleViolation) as info:
        _sell(db, terminal, _party(1, seats=[5]))
    assert info.value.code == "SEAT_TAKEN"
    assert seat_state(db_path, D_0800, 5) == ("held", None)


def test_a_change_takes_a_leased_seat_on_the_new_departure(db, terminal, shift):
    _lease(db, [30, 31], departure=D_1400, lease_id="L2")
    sale = sell(db, terminal, clerk=CLERK, departure_id=D_0800, stop=NINGBO,
                passengers=[PassengerIn("full", "孙七", doc_number=resident_id(serial="007"))], now=LATER)
    result = change(db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], new_departure_id=D_1400, now=LATER)
    assert result.print_job.seat_no == 30

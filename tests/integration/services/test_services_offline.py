"""Offline selling: only from unexpired leased seats, and only within the offline budget."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.errors import RuleViolation
from app.services import PassengerIn, refund, sell
from app.store.seats import grant_lease
from tests.integration.services.conftest import CLERK
from tests.integration.services.helpers import LATER, refusal_code, seat_state
from tests.integration.store.tiny_province import D_0800, D_1400, ID_A, ID_B, NINGBO, NOW


def _sell(db, terminal, doc=ID_A, seat=None, departure=D_0800, now=LATER):
    return sell(db, terminal, clerk=CLERK, departure_id=departure, stop=NINGBO,
                passengers=[PassengerIn("full", "张三", doc_number=doc, seat_no=seat)], now=now)


@pytest.fixture
def leased(db):
    with db.transaction() as session:
        grant_lease(session, "L1", D_0800, [20, 21, 22], NOW, NOW + timedelta(hours=1))


def test_offline_sells_only_leased_seats(db, db_path, terminal, shift, leased):
    terminal.go_offline(NOW)
    result = _sell(db, terminal)
    assert result.print_jobs[0].seat_no == 20
    assert refusal_code(_sell, db, terminal, ID_B, seat=5) == "SEAT_NOT_LEASED"


def test_a_refunded_leased_seat_goes_back_to_the_lease(db, db_path, terminal, shift, leased):
    terminal.go_offline(NOW)
    result = _sell(db, terminal)
    refund(db, terminal, clerk=CLERK, ticket_id=result.ticket_ids[0], now=LATER)
    assert seat_state(db_path, D_0800, 20) == ("leased", None)


def test_offline_without_a_lease_is_refused(db, terminal, shift, leased):
    terminal.go_offline(NOW)
    assert refusal_code(_sell, db, terminal, departure=D_1400) == "NO_LEASED_SEATS"


def test_an_expired_lease_does_not_count(db, terminal, shift, leased):
    terminal.go_offline(NOW)
    assert refusal_code(_sell, db, terminal, now=NOW + timedelta(hours=1, minutes=1)) == "NO_LEASED_SEATS"


def test_the_offline_budget_stops_selling(db, terminal, shift):
    with db.transaction() as session:
        grant_lease(session, "L2", D_1400, [1, 2], NOW, NOW + timedelta(hours=6))
    terminal.go_offline(NOW)
    with pytest.raises(RuleViolation) as info:
        _sell(db, terminal, departure=D_1400, now=NOW + timedelta(hours=4, minutes=1))
    assert info.value.code == "OFFLINE_BUDGET_EXHAUSTED" and "暂停售票" in info.value.message


def test_online_sells_leased_and_free_seats(db, terminal, shift, leased):
    assert _sell(db, terminal, seat=5).print_jobs[0].seat_no == 5


def test_lease_expiry_is_judged_by_the_servers_clock_not_a_slow_terminal_clock(db, terminal, shift, leased):
    # The terminal's clock runs 20 minutes slow: by its own clock the lease (server time NOW + 1 h)
    # has 15 minutes left, by the server's it ended 5 minutes ago and the seats went back.
    terminal.server_offset = timedelta(minutes=20)
    terminal.go_offline(NOW)
    assert refusal_code(_sell, db, terminal, now=NOW + timedelta(minutes=45)) == "NO_LEASED_SEATS"
    # Measured the other way round (a fast clock), the lease still counts for the server.
    terminal.server_offset = timedelta(minutes=-20)
    assert _sell(db, terminal, now=NOW + timedelta(hours=1, minutes=10)).print_jobs[0].seat_no == 20


def test_the_offline_budget_counts_on_the_servers_clock_too(db, terminal, shift):
    # offline_since comes from the sync client in server time; the elapsed spell must be too, or a
    # terminal 3 hours slow would sell 3 hours past its budget.
    with db.transaction() as session:
        grant_lease(session, "L2", D_1400, [1, 2], NOW, NOW + timedelta(hours=8))
    terminal.server_offset = timedelta(hours=3)
    terminal.go_offline(NOW + timedelta(hours=3))  # the server's instant the link went down
    with pytest.raises(RuleViolation) as info:
        _sell(db, terminal, departure=D_1400, now=NOW + timedelta(hours=4, minutes=1))
    assert info.value.code == "OFFLINE_BUDGET_EXHAUSTED"

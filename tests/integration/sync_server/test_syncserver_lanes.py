"""Lanes (sync.server.lanes), on PostgreSQL: a pull answers, and a refused write hears so, while every
request thread of the process is held by writers waiting for a departure's lock; a sale's seat
request answers while lease top-ups wait on a departure, whatever their number."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, text

from sync.server import ServerThread
from sync.server.app import REQUEST_THREADS
from sync.server.context import DEPARTURE_LOCKS, departure_lock_key
from sync.server.lanes import UPKEEP_THREADS

from .conftest import ADMIN, SOON, TOMORROW, Harness, province_doc


@pytest.fixture
def pg_server(postgres, clock, settings):
    url = postgres.new_database()
    srv = ServerThread(url, admin_token=ADMIN, province=province_doc(), clock=clock, settings=settings,
                       sweep_interval=None)
    srv.start()
    try:
        yield Harness(srv, clock), url
    finally:
        srv.stop()
        postgres.drop_database(url)


def _hold(conn, departure_id: str) -> None:
    """Takes the departure's lock from outside the server, until ``conn`` rolls back."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                 {"ns": DEPARTURE_LOCKS, "key": departure_lock_key(departure_id)})


def _in_threads(calls) -> tuple[list[threading.Thread], list[int]]:
    answers: list[int] = []
    threads = [threading.Thread(target=lambda c=c: answers.append(c().status_code)) for c in calls]
    for th in threads:
        th.start()
    return threads, answers


def _wait_for_waiters(engine, n: int) -> None:
    deadline = time.monotonic() + 10
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).scalar_one()
            if waiting >= n:
                return
            conn.rollback()
            time.sleep(0.05)
    raise AssertionError(f"fewer than {n} requests came to wait for the departure's lock")


def test_a_pull_answers_while_writers_hold_every_request_thread(pg_server):
    harness, url = pg_server
    writers = [harness.terminal() for _ in range(REQUEST_THREADS["postgresql"] + 2)]
    reader = harness.terminal()
    assert reader.call("GET", "/v1/changes").status_code == 200
    engine = create_engine(url)
    with engine.connect() as holder:
        _hold(holder, TOMORROW)
        threads, answers = _in_threads([lambda t=t: t.call("POST", "/v1/seats/request",
                                                          {"departure_id": TOMORROW, "seat_no": None})
                                        for t in writers])
        _wait_for_waiters(engine, REQUEST_THREADS["postgresql"])  # every request thread is held
        assert answers == [], "a seat request went through a departure lock held elsewhere"
        pulled = reader.call("GET", "/v1/changes")  # without a lane of its own: waits, and times out
        assert answers == [], "the writers were let go before the pull answered"
        holder.rollback()  # the lock goes with the transaction
    for th in threads:
        th.join(10)
    engine.dispose()
    assert pulled.status_code == 200 and isinstance(pulled.json()["changes"], list)
    assert sorted(answers) == [200] * len(writers)


def test_a_refused_write_is_told_so_while_writers_hold_every_request_thread(pg_server):
    """A write's checks (caller, signature, nonce) run in threads of their own: a terminal whose
    upload is refused hears why at once, instead of waiting for a writer to let a thread go."""
    harness, url = pg_server
    writers = [harness.terminal() for _ in range(REQUEST_THREADS["postgresql"] + 2)]
    other = harness.terminal()
    engine = create_engine(url)
    with engine.connect() as holder:
        _hold(holder, TOMORROW)
        threads, answers = _in_threads([lambda t=t: t.call("POST", "/v1/seats/request",
                                                          {"departure_id": TOMORROW, "seat_no": None})
                                        for t in writers])
        _wait_for_waiters(engine, REQUEST_THREADS["postgresql"])
        forged = other.prepare("POST", "/v1/events", {"events": [other.sale(SOON, 1)]})
        forged.headers["Kezhan-Signature"] = "A" * len(forged.headers["Kezhan-Signature"])
        refused = other.send(forged)  # without the checks' lane: waits for a thread, and times out
        assert answers == [], "the writers were let go before the refusal came"
        holder.rollback()
    for th in threads:
        th.join(10)
    engine.dispose()
    assert refused.status_code == 401 and refused.json()["error"] == "BAD_SIGNATURE"
    assert sorted(answers) == [200] * len(writers)


def test_a_seat_request_answers_while_lease_top_ups_wait_on_a_departure(pg_server):
    """Top-ups and releases, long and in the background, have threads of their own: however many
    wait, the sale's seat request on another departure gets a thread and its seat."""
    harness, url = pg_server
    keepers = [harness.terminal() for _ in range(REQUEST_THREADS["postgresql"] + 2)]
    clerk = harness.terminal()
    engine = create_engine(url)
    with engine.connect() as holder:
        _hold(holder, TOMORROW)
        threads, answers = _in_threads([lambda t=t: t.call("POST", "/v1/leases",
                                                          {"want": [{"departure_id": TOMORROW, "seats": 1}]})
                                        for t in keepers])
        _wait_for_waiters(engine, UPKEEP_THREADS)
        seat = clerk.call("POST", "/v1/seats/request", {"departure_id": SOON, "seat_no": None})
        # without the lane the top-ups take every thread, and the seat request times out
        assert answers == [], "the top-ups were let go before the seat request answered"
        holder.rollback()
    for th in threads:
        th.join(10)
    engine.dispose()
    assert seat.status_code == 200 and seat.json()["departure_id"] == SOON
    assert sorted(answers) == [200] * len(keepers)

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


def _while_held(harness, url, blocked: tuple[str, dict], waiting: int, probe):
    """Holds TOMORROW's lock from outside the server, sends the ``blocked`` call (path, body) from
    REQUEST_THREADS + 2 terminals of their own, waits until ``waiting`` of them wait for the lock,
    and answers ``probe()`` before any of them is let go. Returns (the probe's answer, the blocked
    calls' status codes once the lock is released)."""
    callers = [harness.terminal() for _ in range(REQUEST_THREADS["postgresql"] + 2)]
    answers: list[int] = []
    threads = [threading.Thread(target=lambda t=t: answers.append(t.call("POST", *blocked).status_code))
               for t in callers]
    engine = create_engine(url)
    try:
        with engine.connect() as holder:
            holder.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                           {"ns": DEPARTURE_LOCKS, "key": departure_lock_key(TOMORROW)})
            for th in threads:
                th.start()
            _wait_for_waiters(engine, waiting)
            assert answers == [], "a call went through a departure lock held elsewhere"
            answer = probe()  # without its lane the probe waits for a thread, and times out
            assert answers == [], "the blocked calls were let go before the probe answered"
            holder.rollback()  # the lock goes with the transaction
        for th in threads:
            th.join(10)
    finally:
        engine.dispose()
    return answer, sorted(answers)


SEAT_REQUEST = ("/v1/seats/request", {"departure_id": TOMORROW, "seat_no": None})


def test_a_pull_answers_while_writers_hold_every_request_thread(pg_server):
    harness, url = pg_server
    reader = harness.terminal()
    pulled, answers = _while_held(harness, url, SEAT_REQUEST, REQUEST_THREADS["postgresql"],
                                  lambda: reader.call("GET", "/v1/changes"))
    assert pulled.status_code == 200 and isinstance(pulled.json()["changes"], list)
    assert answers == [200] * (REQUEST_THREADS["postgresql"] + 2)


def test_a_refused_write_is_told_so_while_writers_hold_every_request_thread(pg_server):
    """A write's checks (caller, signature, nonce) run in threads of their own: a terminal whose
    upload is refused hears why at once, instead of waiting for a writer to let a thread go."""
    harness, url = pg_server
    other = harness.terminal()
    forged = other.prepare("POST", "/v1/events", {"events": [other.sale(SOON, 1)]})
    forged.headers["Kezhan-Signature"] = "A" * len(forged.headers["Kezhan-Signature"])
    refused, answers = _while_held(harness, url, SEAT_REQUEST, REQUEST_THREADS["postgresql"],
                                   lambda: other.send(forged))
    assert refused.status_code == 401 and refused.json()["error"] == "BAD_SIGNATURE"
    assert answers == [200] * (REQUEST_THREADS["postgresql"] + 2)


def test_a_seat_request_answers_while_lease_top_ups_wait_on_a_departure(pg_server):
    """Top-ups and releases, long and in the background, have threads of their own: however many
    wait, the sale's seat request on another departure gets a thread and its seat."""
    harness, url = pg_server
    clerk = harness.terminal()
    top_up = ("/v1/leases", {"want": [{"departure_id": TOMORROW, "seats": 1}]})
    seat, answers = _while_held(harness, url, top_up, UPKEEP_THREADS, lambda: clerk.call(
        "POST", "/v1/seats/request", {"departure_id": SOON, "seat_no": None}))
    assert seat.status_code == 200 and seat.json()["departure_id"] == SOON
    assert answers == [200] * (REQUEST_THREADS["postgresql"] + 2)

"""Reads in threads of their own (sync.server.lanes): on PostgreSQL a pull answers while every
request thread of the process is held by writers waiting for a departure's lock."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, text

from sync.server import ServerThread
from sync.server.app import REQUEST_THREADS
from sync.server.context import DEPARTURE_LOCKS, departure_lock_key

from .conftest import ADMIN, TOMORROW, Harness, province_doc


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
    raise AssertionError(f"fewer than {n} seat requests came to wait for the departure's lock")


def test_a_pull_answers_while_writers_hold_every_request_thread(pg_server):
    harness, url = pg_server
    writers = [harness.terminal() for _ in range(REQUEST_THREADS["postgresql"] + 2)]
    reader = harness.terminal()
    assert reader.call("GET", "/v1/changes").status_code == 200
    engine = create_engine(url)
    answers: list[int] = []
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                       {"ns": DEPARTURE_LOCKS, "key": departure_lock_key(TOMORROW)})
        threads = [threading.Thread(target=lambda t=t: answers.append(t.call(
            "POST", "/v1/seats/request", {"departure_id": TOMORROW, "seat_no": None}).status_code))
            for t in writers]
        for th in threads:
            th.start()
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

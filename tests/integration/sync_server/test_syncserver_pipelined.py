"""A request's nonce is recorded with its batch (or with its refusal), the same request sent twice at
once is applied once; and the same through upload worker processes, which apply batches outside the
event loop's process."""

from __future__ import annotations

import json
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from sync import protocol
from sync.server import ServerThread, models

from .conftest import ADMIN, TOMORROW, Clock, Harness, departure, line_province


def _body(events) -> bytes:
    return json.dumps({"events": events}).encode()


def _count(engine, table, **where) -> int:
    q = select(func.count()).select_from(table)
    for k, v in where.items():
        q = q.where(getattr(table.c, k) == v)
    with engine.connect() as conn:
        return conn.execute(q).scalar_one()


def test_a_replayed_upload_is_refused_and_applied_once(server):
    t = server.terminal()
    req = t.prepare("POST", "/v1/events", raw=_body([t.sale(TOMORROW, 1)]))
    assert t.send(req).status_code == 200
    replay = t.send(req)
    assert (replay.status_code, replay.json()["error"]) == (401, "REPLAYED_NONCE")
    assert _count(server.srv.server.engine, models.tickets) == 1
    # A refused batch records its nonce too.
    t.seq = 5
    gap = t.prepare("POST", "/v1/events", raw=_body([t.sale(TOMORROW, 2)]))
    assert t.send(gap).json()["error"] == "SEQ_GAP"
    assert t.send(gap).json()["error"] == "REPLAYED_NONCE"


def test_the_same_upload_sent_twice_at_once_is_applied_once(server):
    t = server.terminal()
    req = t.prepare("POST", "/v1/events", raw=_body([t.sale(TOMORROW, n) for n in range(1, 6)]))
    barrier = threading.Barrier(2)

    def send():
        session = requests.Session()
        barrier.wait()
        return session.send(req, timeout=10)

    with ThreadPoolExecutor(2) as pool:
        answers = sorted(f.result().status_code for f in [pool.submit(send), pool.submit(send)])
    assert answers == [200, 401]
    assert _count(server.srv.server.engine, models.tickets) == 5
    assert _count(server.srv.server.engine, models.events) == 5


# --------------------------------------------------------------------------- upload worker processes


class _RealClock(Clock):
    def __call__(self) -> datetime:
        return datetime.now(UTC)


@pytest.fixture
def worker_server(server_db_url, request):
    """Worker processes (two, or as the test's parameter says) run on the real clock: the departure
    is the day after tomorrow's."""
    day = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d")
    doc = line_province([departure(day, "09:00", 40)], seats=40)
    workers = getattr(request, "param", 2)
    srv = ServerThread(server_db_url, admin_token=ADMIN, province=doc, sweep_interval=None,
                       upload_workers=workers)
    srv.start(timeout=60)
    yield Harness(srv, _RealClock()), doc["departures"][0]["id"]
    srv.stop()


def test_upload_worker_refusals_arrive_whole(worker_server):
    harness, dep = worker_server
    t = harness.terminal()
    t.seq = 4
    r = t.call("POST", "/v1/events", raw=_body([t.sale(dep, 1)]))
    assert (r.status_code, r.json()["error"], r.json()["expected_seq"], r.json()["message_zh"]) == (
        409, "SEQ_GAP", 1, protocol.ERRORS["SEQ_GAP"].zh)
    garbled = t.prepare("POST", "/v1/events", raw=b'{"events": [')
    r = t.send(garbled)
    assert (r.status_code, r.json()["error"]) == (400, "MALFORMED_JSON")
    assert t.send(garbled).json()["error"] == "REPLAYED_NONCE"
    t.seq = 0
    req = t.prepare("POST", "/v1/events", raw=_body([t.sale(dep, 1)]))
    assert t.send(req).status_code == 200
    assert t.send(req).json()["error"] == "REPLAYED_NONCE"


def test_a_killed_upload_worker_is_replaced_and_nothing_is_lost(worker_server):
    harness, dep = worker_server
    workers = harness.srv.app.state.upload_workers
    t = harness.terminal()
    assert t.call("POST", "/v1/events", raw=_body([t.sale(dep, 1)])).status_code == 200
    # SIGKILL where there is one; on Windows os.kill with SIGTERM ends the process just as abruptly.
    os.kill(workers.pids[0], getattr(signal, "SIGKILL", signal.SIGTERM))
    batch = [t.sale(dep, 2), t.sale(dep, 3)]
    answers = []
    for _ in range(3):
        r = t.call("POST", "/v1/events", raw=_body(batch))
        answers.append(r.status_code)
        if r.status_code == 200:
            break
    assert answers[-1] == 200 and set(answers[:-1]) <= {503}, answers
    assert r.json()["acked_through"] == 3
    assert _count(harness.srv.server.engine, models.tickets, departure_id=dep) == 3
    assert len(workers.pids) == 2

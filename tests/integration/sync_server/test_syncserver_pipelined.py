"""Two batches of one terminal on the wire at once: the later one ("behind": true) waits for the
one ahead; a request's nonce is recorded with its batch (or with its refusal); and the same through
upload worker processes, which apply batches outside the event loop's process."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from sync import protocol
from sync.server import ServerThread, models

from .conftest import ADMIN, TOMORROW, Clock, Harness, Terminal, departure, line_province, server_db


def _body(events, *, behind: bool = False) -> bytes:
    return json.dumps({"events": events, **({"behind": True} if behind else {})}).encode()


def _count(engine, table, **where) -> int:
    q = select(func.count()).select_from(table)
    for k, v in where.items():
        q = q.where(getattr(table.c, k) == v)
    with engine.connect() as conn:
        return conn.execute(q).scalar_one()


def test_a_batch_sent_behind_waits_for_the_one_ahead(server, monkeypatch):
    attempts = []
    apply_batch = server.srv.server._apply_batch

    def counting(terminal_id, events, **how):
        attempts.append(events[0]["seq"])
        return apply_batch(terminal_id, events, **how)

    monkeypatch.setattr(server.srv.server, "_apply_batch", counting)
    t = server.terminal()
    ahead = [t.sale(TOMORROW, 1), t.sale(TOMORROW, 2)]
    later = [t.sale(TOMORROW, 3), t.sale(TOMORROW, 4)]
    with ThreadPoolExecutor(1) as pool:
        behind = pool.submit(_terminal_copy(t).call, "POST", "/v1/events", raw=_body(later, behind=True))
        time.sleep(0.5)
        assert not behind.done()  # waiting for seqs 1-2, not refused
        first = t.call("POST", "/v1/events", raw=_body(ahead))
        second = behind.result(timeout=10)
    assert (first.status_code, first.json()["acked_through"]) == (200, 2), first.text
    assert (second.status_code, second.json()["acked_through"], second.json()["applied"]) == (200, 4, 2), second.text
    assert _count(server.srv.server.engine, models.tickets, departure_id=TOMORROW) == 4
    # It waited by reading the high-water mark, not by trying its transaction again and again.
    assert attempts.count(3) == 2 and attempts.count(1) == 1


def test_a_batch_behind_one_that_never_comes_is_answered_with_a_gap(server):
    server.srv.server.settings.batch_turn_wait = 0.3
    t = server.terminal()
    t.seq = 1  # seq 1 was "sent" and lost
    started = time.monotonic()
    r = t.call("POST", "/v1/events", raw=_body([t.sale(TOMORROW, 2)], behind=True))
    assert (r.status_code, r.json()["error"], r.json()["expected_seq"]) == (409, "SEQ_GAP", 1)
    assert time.monotonic() - started >= 0.3
    assert _count(server.srv.server.engine, models.tickets) == 0
    # Without "behind", a gap is answered at once.
    r = t.call("POST", "/v1/events", raw=_body([t.sale(TOMORROW, 3)]))
    assert r.json()["error"] == "SEQ_GAP"


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
def worker_server(tmp_path, request):
    """Worker processes (two, or as the test's parameter says) run on the real clock: the departure
    is the day after tomorrow's."""
    day = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d")
    doc = line_province([departure(day, "09:00", 40)], seats=40)
    workers = getattr(request, "param", 2)
    srv = ServerThread(server_db(tmp_path), admin_token=ADMIN, province=doc, sweep_interval=None,
                       upload_workers=workers)
    srv.start(timeout=60)
    yield Harness(srv, _RealClock()), doc["departures"][0]["id"]
    srv.stop()


def _terminal_copy(t: Terminal) -> Terminal:
    """The same terminal on a connection of its own (a requests.Session serves one request at a time)."""
    return Terminal(t.base, t.terminal_id, t.secret, t.clock)


def test_upload_workers_apply_batches_sent_two_at_a_time_exactly_once(worker_server):
    harness, dep = worker_server
    workers = harness.srv.app.state.upload_workers
    assert len(workers.pids) == 2 and os.getpid() not in workers.pids
    t = harness.terminal()
    batches = [[t.sale(dep, seat) for seat in range(n, n + 5)] for n in (1, 6, 11, 16)]
    with ThreadPoolExecutor(2) as pool:
        answers = []
        ahead = pool.submit(t.call, "POST", "/v1/events", raw=_body(batches[0]))
        for batch in batches[1:]:
            later = pool.submit(_terminal_copy(t).call, "POST", "/v1/events", raw=_body(batch, behind=True))
            answers.append(ahead.result(timeout=30))
            ahead = later
        answers.append(ahead.result(timeout=30))
    assert [(a.status_code, a.json().get("acked_through")) for a in answers] == [(200, 5), (200, 10), (200, 15),
                                                                                 (200, 20)]
    engine = harness.srv.server.engine
    assert _count(engine, models.events, terminal_id=t.terminal_id) == 20
    assert _count(engine, models.tickets, departure_id=dep) == 20


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


@pytest.mark.parametrize("worker_server", [1], indirect=True)
def test_a_batch_waiting_its_turn_holds_no_worker(worker_server):
    """With one worker, a batch sent behind and arriving first must not keep the batch it waits for
    from the only worker."""
    harness, dep = worker_server
    t = harness.terminal()
    ahead = [t.sale(dep, 1), t.sale(dep, 2)]
    later = [t.sale(dep, 3)]
    with ThreadPoolExecutor(1) as pool:
        behind = pool.submit(_terminal_copy(t).call, "POST", "/v1/events", raw=_body(later, behind=True))
        time.sleep(0.5)
        started = time.monotonic()
        first = t.call("POST", "/v1/events", raw=_body(ahead))
        took = time.monotonic() - started
        second = behind.result(timeout=20)
    assert (first.status_code, second.status_code, second.json()["acked_through"]) == (200, 200, 3)
    assert took < harness.srv.server.settings.batch_turn_wait / 2

"""Several server processes on one PostgreSQL: what one process grants, the other respects.

Two real `kezhan server` processes, each on its own port so that a test can choose which one a
request reaches, share one database of the session's throwaway PostgreSQL: terminals upload through
both at once, the same batch reaches both at once, a nonce seen by one is replayed to the other, two
terminals ask the two processes for one seat at the same moment. Last, `kezhan server --processes 2`
itself: two processes behind one port, stopped together.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, func, select

from sync import protocol
from sync.server import models

from .conftest import ADMIN, HOME, Clock, Terminal, departure, line_province, public_key_b64

ROOT = Path(__file__).resolve().parents[3]
SEATS = 120


class RealClock(Clock):
    """Separate processes run on the real clock; requests are stamped from it too."""

    def __call__(self) -> datetime:
        return datetime.now(UTC)


def start_server(db_url: str, folder: Path, name: str, *extra: str) -> tuple[subprocess.Popen, str, list[str]]:
    """`kezhan server` in a process of its own; returns it, its URL and what it printed up to ready."""
    env = {**os.environ, "KEZHAN_HOME": str(folder / f"home-{name}"), "PYTHONUNBUFFERED": "1"}
    (folder / f"home-{name}").mkdir(exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "server", "--db", db_url, "--port", "0", "--admin-token", ADMIN, *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=open(folder / f"{name}.err", "wb"), text=True,
        encoding="utf-8")
    lines: list[str] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Ctrl-C" in line:
            url = re.search(r"http://[\d.]+:\d+", lines[0]).group(0)
            return proc, url, lines
    proc.kill()
    raise AssertionError(f"server {name} did not start: {lines} {(folder / f'{name}.err').read_text()}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    proc.stdout.close()


class Pair:
    def __init__(self, db_url: str, urls: list[str], dep: str):
        self.db_url, self.urls, self.dep = db_url, urls, dep
        self.clock = RealClock()
        self.admin = {"Authorization": f"Bearer {ADMIN}", protocol.H_PROTOCOL: protocol.PROTOCOL_VERSION}

    def terminal(self) -> Terminal:
        # The code is issued by one process and used at the other.
        r = requests.post(self.urls[0] + "/v1/admin/enrolment-codes", json={"station": HOME}, headers=self.admin,
                          timeout=10)
        assert r.status_code == 201, r.text
        r = requests.post(self.urls[1] + "/v1/enrol", json={"code": r.json()["code"], "public_key": public_key_b64()},
                          headers={protocol.H_PROTOCOL: protocol.PROTOCOL_VERSION}, timeout=10)
        assert r.status_code == 201, r.text
        return Terminal(self.urls[0], r.json()["terminal_id"], r.json()["secret"], self.clock)

    def at(self, t: Terminal, i: int) -> Terminal:
        """The same terminal (same seq counter) talking to process ``i``."""
        t.base = self.urls[i]
        return t

    def count(self, table, **where) -> int:
        engine = create_engine(self.db_url)
        try:
            q = select(func.count()).select_from(table)
            for k, v in where.items():
                q = q.where(getattr(table.c, k) == v)
            with engine.connect() as conn:
                return conn.execute(q).scalar_one()
        finally:
            engine.dispose()

    def tickets(self):
        engine = create_engine(self.db_url)
        try:
            T = models.tickets
            with engine.connect() as conn:
                return conn.execute(select(T.c.ticket_id, T.c.terminal_id, T.c.seat_no, T.c.status, T.c.active_seat)
                                    .where(T.c.departure_id == self.dep)).all()
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def pair(postgres, tmp_path_factory):
    folder = tmp_path_factory.mktemp("two-processes")
    day = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d")
    doc = line_province([departure(day, "09:00", SEATS)], seats=SEATS)
    (folder / "province.json").write_text(json.dumps(doc), encoding="utf-8")
    db_url = postgres.new_database()
    a = start_server(db_url, folder, "a", "--province", str(folder / "province.json"))
    b = start_server(db_url, folder, "b", "--empty")
    try:
        yield Pair(db_url, [a[1], b[1]], doc["departures"][0]["id"])
    finally:
        stop_server(a[0])
        stop_server(b[0])
        postgres.drop_database(db_url)


def _body(events) -> bytes:
    return json.dumps({"events": events}).encode()


def test_two_terminals_uploading_through_both_processes_at_once_lose_and_duplicate_nothing(pair):
    ta, tb = pair.terminal(), pair.terminal()
    # Both sell seats 11-20: whichever sale of such a seat is applied second becomes a conflict.
    batches = {ta.terminal_id: [[ta.sale(pair.dep, s) for s in (n, n + 1)] for n in range(1, 21, 2)],
               tb.terminal_id: [[tb.sale(pair.dep, s) for s in (n, n + 1)] for n in range(11, 31, 2)]}
    start = threading.Barrier(2)

    def run(t: Terminal) -> list[tuple[int, int]]:
        start.wait()
        answers = []
        for i, batch in enumerate(batches[t.terminal_id]):
            r = pair.at(t, i % 2).upload(batch)  # every other batch to the other process
            answers.append((r.status_code, r.json().get("acked_through")))
        return answers

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(run, [ta, tb]))
    for got in answers:
        assert got == [(200, 2 * (i + 1)) for i in range(10)], got
    assert pair.count(models.events, terminal_id=ta.terminal_id) == 20
    assert pair.count(models.events, terminal_id=tb.terminal_id) == 20
    rows = [r for r in pair.tickets() if r.terminal_id in (ta.terminal_id, tb.terminal_id)]
    assert len(rows) == 40 and len({r.ticket_id for r in rows}) == 40
    holders = Counter(r.seat_no for r in rows if r.active_seat is not None)
    assert sorted(holders) == list(range(1, 31)) and set(holders.values()) == {1}
    assert sum(r.status == "conflict" for r in rows) == 10
    # Seq order holds across the processes: a gap is refused by either.
    ta.seq = 21
    for i in (0, 1):
        r = pair.at(ta, i).upload([ta.sale(pair.dep, 31, seq=22)])
        assert (r.status_code, r.json()["error"], r.json()["expected_seq"]) == (409, "SEQ_GAP", 21)


def _race(pair, first: tuple, second: tuple) -> list[requests.Response]:
    """Two prepared requests, each to the process its tuple names, let go at the same moment."""
    barrier = threading.Barrier(2)

    def send(i, req):
        req = req.copy()
        req.prepare_url(pair.urls[i] + req.path_url, None)
        barrier.wait()
        return requests.Session().send(req, timeout=20)

    with ThreadPoolExecutor(2) as pool:
        return [f.result() for f in [pool.submit(send, *first), pool.submit(send, *second)]]


def test_the_same_batch_sent_to_both_processes_at_once_is_applied_once(pair):
    t = pair.terminal()
    seats = iter(range(41, 81))
    for round_ in range(4):
        # The same events under two nonces (a terminal that resent after a lost answer), raced.
        events = [t.sale(pair.dep, next(seats)) for _ in range(3)]
        answers = _race(pair, (0, t.prepare("POST", "/v1/events", raw=_body(events))),
                        (1, t.prepare("POST", "/v1/events", raw=_body(events))))
        assert [r.status_code for r in answers] == [200, 200], [r.text for r in answers]
        assert sorted((r.json()["applied"], r.json()["duplicates"]) for r in answers) == [(0, 3), (3, 0)]
        assert {r.json()["acked_through"] for r in answers} == {6 * round_ + 3}
        # The same signed request (one nonce) to both at once: one applies it, the other refuses it.
        events = [t.sale(pair.dep, next(seats)) for _ in range(3)]
        same = t.prepare("POST", "/v1/events", raw=_body(events))
        answers = _race(pair, (0, same), (1, same))
        assert sorted(r.status_code for r in answers) == [200, 401], [r.text for r in answers]
        assert [r.json()["error"] for r in answers if r.status_code == 401] == ["REPLAYED_NONCE"]
        assert [r.json()["applied"] for r in answers if r.status_code == 200] == [3]
    assert pair.count(models.events, terminal_id=t.terminal_id) == 24
    assert pair.count(models.tickets, terminal_id=t.terminal_id) == 24
    assert pair.count(models.conflicts, terminal_id=t.terminal_id) == 0


def test_a_nonce_seen_by_one_process_is_refused_by_the_other(pair):
    t = pair.terminal()
    for path, body in (("/v1/changes?limit=1", None), ("/v1/events", {"events": [t.sale(pair.dep, 81)]})):
        method = "GET" if body is None else "POST"
        req = pair.at(t, 0).prepare(method, path, body)
        assert pair.at(t, 0).send(req).status_code == 200
        replay = req.copy()
        replay.prepare_url(pair.urls[1] + req.path_url, None)
        r = requests.Session().send(replay, timeout=10)
        assert (r.status_code, r.json()["error"]) == (401, "REPLAYED_NONCE")
    assert pair.count(models.events, terminal_id=t.terminal_id) == 1


def test_one_seat_asked_of_both_processes_at_once_goes_to_one_terminal(pair):
    ta, tb = pair.terminal(), pair.terminal()
    for seat in range(82, 87):
        barrier = threading.Barrier(2)

        def ask(t, i, seat=seat, barrier=barrier):
            req = pair.at(t, i).prepare("POST", "/v1/seats/request", {"departure_id": pair.dep, "seat_no": seat})
            barrier.wait()
            return t.send(req)

        with ThreadPoolExecutor(2) as pool:
            answers = [f.result() for f in [pool.submit(ask, ta, 0), pool.submit(ask, tb, 1)]]
        codes = sorted(r.status_code for r in answers)
        assert codes == [200, 409], [r.text for r in answers]
        assert [r.json()["error"] for r in answers if r.status_code == 409] == ["SEAT_LEASED"]
    # And the same seat sold by both at once, each through its own process: one active ticket.
    for seat in (87, 88):
        barrier = threading.Barrier(2)

        def sell(t, i, seat=seat, barrier=barrier):
            req = pair.at(t, i).prepare("POST", "/v1/events", {"events": [t.sale(pair.dep, seat)]})
            barrier.wait()
            return t.send(req)

        with ThreadPoolExecutor(2) as pool:
            answers = [f.result() for f in [pool.submit(sell, ta, 0), pool.submit(sell, tb, 1)]]
        assert [r.status_code for r in answers] == [200, 200]
        rows = [r for r in pair.tickets() if r.seat_no == seat]
        assert len(rows) == 2 and sum(r.active_seat is not None for r in rows) == 1
        assert sorted(r.status for r in rows) == ["active", "conflict"]


def test_leases_topped_up_on_both_processes_at_once_never_share_a_seat(pair):
    terminals = [pair.terminal() for _ in range(4)]
    barrier = threading.Barrier(len(terminals))

    def top_up(k):
        t = pair.at(terminals[k], k % 2)
        req = t.prepare("POST", "/v1/leases", {"want": [{"departure_id": pair.dep, "seats": 6}]})
        barrier.wait()
        return t.send(req)

    with ThreadPoolExecutor(len(terminals)) as pool:
        answers = list(pool.map(top_up, range(len(terminals))))
    granted = []
    for r in answers:
        assert r.status_code == 200, r.text
        for lease in r.json()["leases"]:
            granted += lease["seats"]
    assert granted and len(granted) == len(set(granted))


def test_kezhan_server_processes_serves_one_port_from_several_and_stops_them_all(postgres, tmp_path):
    day = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d")
    doc = line_province([departure(day, "09:00", 10)], seats=10)
    (tmp_path / "province.json").write_text(json.dumps(doc), encoding="utf-8")
    db_url = postgres.new_database()
    proc, url, lines = start_server(db_url, tmp_path, "multi", "--processes", "2",
                                    "--province", str(tmp_path / "province.json"))
    try:
        pids = [int(p) for p in next(x for x in lines if "processes:" in x).split(":", 1)[1].split()]
        assert len(pids) == 2 and proc.pid not in pids
        for pid in pids:
            os.kill(pid, 0)  # alive
        pair = Pair(db_url, [url, url], doc["departures"][0]["id"])
        t = pair.terminal()
        for n in range(1, 11):
            assert t.upload([t.sale(pair.dep, n)]).json()["acked_through"] == n
        assert pair.count(models.tickets, departure_id=pair.dep) == 10
    finally:
        stop_server(proc)
    assert proc.returncode == 0
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    postgres.drop_database(db_url)


def test_the_number_of_processes_is_checked(capsys):
    from app.cli import build_parser

    p = build_parser()
    assert p.parse_args(["server", "--processes", "3"]).processes == 3
    assert p.parse_args(["server", "serve", "--processes", "2"]).processes == 2
    assert p.parse_args(["server"]).processes == 1
    for bad in ("0", "65", "two"):
        with pytest.raises(SystemExit):
            p.parse_args(["server", "--processes", bad])
        assert "not a number of processes (1-64)" in capsys.readouterr().err

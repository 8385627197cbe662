"""Kill -9 a selling process at random moments; every acknowledged sale must survive intact."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import time
from collections import Counter

import pytest

from app.services import open_shift
from app.store.engine import open_database
from app.store.province import load_province
from tests.integration.services import crash_child
from tests.integration.services.conftest import CLERK
from tests.integration.store.tiny_province import HOME, NOW, tiny_province

KILLS = 55


def _crash_province() -> tuple[dict, list[str]]:
    doc = tiny_province()
    template = next(d for d in doc["departures"] if d["schedule_code"] == "K1400")
    ids = []
    for n in range(400):
        dep = dict(template, id=f"{HOME}-20261201-C{n:03d}", schedule_code=f"C{n:03d}",
                   time=f"{12 + n // 60:02d}:{n % 60:02d}")
        doc["departures"].append(dep)
        ids.append(dep["id"])
    return doc, ids


def _run_and_kill(path: str, departures: list[str], after: float) -> str:
    """Fork a seller, let it run ``after`` seconds past READY, SIGKILL it; return what it wrote."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no pytest teardown, no buffered output, ever
        try:
            os.close(read_fd)
            crash_child.main(path, departures, lambda line: os.write(write_fd, (line + "\n").encode()))
        finally:
            os._exit(3)
    os.close(write_fd)
    chunks = []
    ready = b""
    while b"READY\n" not in ready:
        data = os.read(read_fd, 65536)
        assert data, "the child died before it was ready"
        ready += data
    chunks.append(ready)
    time.sleep(after)
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    while data := os.read(read_fd, 65536):
        chunks.append(data)
    os.close(read_fd)
    out = b"".join(chunks).decode()
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, f"not killed mid-run: {out[-200:]}"
    return out


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="the crash loop forks a seller (POSIX)")
def test_sigkill_never_loses_an_acknowledged_sale(db, db_path, terminal):
    doc, departures = _crash_province()
    with db.transaction() as session:
        load_province(session, doc)
    open_shift(db, terminal, clerk=CLERK, first_stock_no="00000001", last_stock_no="00099999", now=NOW)
    db.dispose()

    acknowledged: list[str] = []
    rng = random.Random(20261201)
    started = time.monotonic()
    kills = 0
    while kills < KILLS:
        out = _run_and_kill(str(db_path), departures, rng.uniform(0.0, 0.3))
        acknowledged.extend(line for line in out.split() if line.isdigit())
        kills += 1
    elapsed = time.monotonic() - started
    assert elapsed < 90
    print(f"{kills} kills, {len(acknowledged)} acknowledged tickets, {elapsed:.1f} s")

    con = sqlite3.connect(db_path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        tickets = {row[0]: row for row in con.execute("SELECT id, departure_id, seat_no, stock_no FROM tickets")}
        missing = [t for t in acknowledged if t not in tickets]
        assert not missing, f"{len(missing)} acknowledged tickets lost"
        assert len(acknowledged) > 100  # the children really sold

        seqs = [row[0] for row in con.execute("SELECT seq FROM outbox ORDER BY seq")]
        assert seqs == list(range(1, len(seqs) + 1)), "the outbox seq has a gap"
        in_events = set()
        for (payload,) in con.execute("SELECT payload FROM outbox WHERE type = 'ticket.sold'"):
            in_events.update(t["ticket_id"] for t in json.loads(payload)["tickets"])
        assert set(tickets) == in_events, "a ticket without its event, or an event without its ticket"

        stock = Counter(row[3] for row in tickets.values())
        assert max(stock.values()) == 1, "a stock number printed twice"
        seats = Counter((row[1], row[2]) for row in tickets.values())
        assert max(seats.values()) == 1, "a seat sold twice"
        sold_seats = con.execute("SELECT count(*) FROM seats WHERE state = 'sold'").fetchone()[0]
        assert sold_seats == len(tickets)
        # The roll's next number is exactly one past the last number printed: none skipped or reused.
        next_no = con.execute("SELECT next_no FROM stock_rolls").fetchone()[0]
        assert int(next_no) == len(tickets) + 1
    finally:
        con.close()
    # And the file opens and sells again.
    open_database(db_path).dispose()

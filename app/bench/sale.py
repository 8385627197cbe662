"""sale_commit: one full sale through the service, durable, beside a bare SQLite replay of the very
rows that sale wrote.

The baseline is exact rather than approximate: every INSERT/UPDATE a sale executes is captured
with its values (sqlite3's trace callback gives the expanded SQL) and replayed, in one
``BEGIN IMMEDIATE … COMMIT`` with ``synchronous=FULL``, on a copy of the same database taken before
the sales. So the ratio is the cost of the service itself — its reads, rules, signing and
Python — over the irreducible cost of writing the same rows durably.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from app.bench.harness import Figure, latency_figure, percentile

GOAL_RATIO = 3.0
GOAL_P99_MS = 15.0
WRITES = ("insert", "update", "delete", "replace")


def id_numbers(count: int) -> list[str]:
    """Distinct valid resident ID numbers (GB 11643), one per sale."""
    from app.domain.identity import check_char

    out = []
    for i in range(count):
        birth = date(1960, 1, 1) + timedelta(days=i % 15000)
        first17 = f"330102{birth:%Y%m%d}{(i // 15000) % 100:02d}{(i % 5) * 2 + 1}"
        out.append(first17 + check_char(first17))
    return out


class _Recorder:
    """Collects the write statements of the current transaction."""

    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, sql: str) -> None:
        if sql.lstrip()[:7].lower().startswith(WRITES):
            self.statements.append(sql)

    def take(self) -> list[str]:
        out, self.statements = self.statements, []
        return out


def _open_raw(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = FULL")
    con.execute("PRAGMA foreign_keys = ON")
    return con


def sale_commit(n: int = 600, warmup: int = 20, workdir: Path | None = None) -> Figure:
    from sqlalchemy import event

    from app.bench.dataset import build_station_db
    from app.domain.ed25519 import PrivateKey
    from app.services.context import Terminal
    from app.services.sales import PassengerIn, PaymentIn, sell
    from app.services.shifts import open_shift
    from app.services.station import sale_targets
    from app.store.engine import open_database
    from app.store.province import get_setting
    from app.store.users import ensure_user

    own_tmp = workdir is None
    folder = Path(tempfile.mkdtemp(prefix="kezhan-bench-")) if own_tmp else workdir
    try:
        now = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)  # 08:30 local on the first day
        path = folder / "sale.sqlite3"
        build_station_db(path, days=3, departures_per_day=120, destinations=None)
        db = open_database(path)
        with db.transaction() as session:
            ensure_user(session, "1001", "王芳", "clerk", "1234")
            station = get_setting(session, "home_station")
        terminal = Terminal(station_code=station, terminal_id=f"{station}-T01",
                            signing_key=PrivateKey.generate(), doc_hash_key=b"bench-doc-hash-key")
        open_shift(db, terminal, clerk="1001", first_stock_no=1, last_stock_no=n + warmup + 100, now=now)
        targets = sale_targets(db, "2026-01-02")
        db.dispose()

        # The baseline's copy: the same file as it stands before the first sale.
        with sqlite3.connect(path) as con:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        copy = folder / "baseline.sqlite3"
        shutil.copyfile(path, copy)

        db = open_database(path, upgrade=False)
        recorder = _Recorder()
        event.listen(db.engine, "connect", lambda dbapi, _rec: dbapi.set_trace_callback(recorder))
        raw = _open_raw(copy)
        people = id_numbers(n + warmup)
        samples, baseline = [], []
        clock = time.perf_counter_ns
        for i in range(n + warmup):
            target = targets[i % len(targets)]
            passenger = PassengerIn(ticket_type="full", name="测试旅客", doc_number=people[i])
            recorder.take()
            start = clock()
            sell(db, terminal, clerk="1001", departure_id=target.departure_id, stop=target.last_stop, passengers=[passenger],
                 payment=PaymentIn(method="cash"), now=now)
            sale_ms = (clock() - start) / 1e6
            statements = recorder.take()
            start = clock()
            raw.execute("BEGIN IMMEDIATE")
            for sql in statements:
                raw.execute(sql)
            raw.execute("COMMIT")
            bare_ms = (clock() - start) / 1e6
            if i >= warmup:
                samples.append(sale_ms)
                baseline.append(bare_ms)
        writes = len(statements)
        raw.close()
        db.dispose()
    finally:
        if own_tmp:
            shutil.rmtree(folder, ignore_errors=True)
    figure = latency_figure("sale_commit", samples, baseline,
                            goal=f"p50 ≤ {GOAL_RATIO}× baseline, p99 < {GOAL_P99_MS} ms",
                            statements_per_sale=writes)
    figure.met = percentile(samples, 50) <= GOAL_RATIO * percentile(baseline, 50) and percentile(samples, 99) < GOAL_P99_MS
    return figure

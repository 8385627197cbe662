"""shift_settlement: the settlement preview (F8) and closing a shift, on a fresh file and on the same
file after a year of counter history.

Both files are the same station file (3 days × 120 departures); the year's file holds besides a
year of a busy counter's rows (``app.bench.dataset.write_year_history``: 380 days × 1,345 tickets, the
511,000 tickets of a large station, with their refunds, changes, voids, spoiled blanks, payments,
closed shifts and outbox events). In each round the same shift is worked on both files through the
services — sales by cash and e-payment, a refund, a change, a void, a reprint, a jammed blank — and
then its settlement is previewed and the shift closed, timed. Value: the year's file, the median of
preview + close; baseline: the fresh file, measured in the same rounds, files alternating. Goal:
≤ 2× — the settlement costs what the shift holds, not what the file holds.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from app.bench.harness import Figure, latency_figure

GOAL_RATIO = 2.0
SALES_PER_SHIFT = 20
CLERK = "1001"


def _station_file(path: Path) -> None:
    from app.bench.dataset import build_station_db
    from app.store.engine import open_database
    from app.store.users import ensure_user

    build_station_db(path, days=3, departures_per_day=120, destinations=None)
    db = open_database(path)
    try:
        with db.transaction() as session:
            ensure_user(session, CLERK, "王芳", "clerk", "1234")
    finally:
        db.dispose()


def _terminal(db):
    from app.domain.ed25519 import PrivateKey
    from app.services.context import Terminal
    from app.services.station import home_station

    station = home_station(db)
    return Terminal(station_code=station, terminal_id=f"{station}-T01", signing_key=PrivateKey.generate(),
                    doc_hash_key=b"bench-doc-hash-key")


def year_file(year: dict) -> tuple[Path, dict]:
    """The station file with a year of history (cached by its size in the bench cache), and what the
    history holds."""
    import json

    from app.bench.dataset import cached_file, write_year_history
    from app.store.engine import open_database

    name = "settlement-year-{days}d-{tickets_per_day}t.sqlite3".format(**year)
    counts_name = name.removesuffix(".sqlite3") + ".json"

    def build(tmp: Path) -> None:
        _station_file(tmp)
        db = open_database(tmp)
        try:
            start = time.perf_counter()
            counts = write_year_history(db, _terminal(db), clerk=CLERK, **year)
            counts["build_seconds"] = round(time.perf_counter() - start, 1)
        finally:
            db.dispose()
        counts["file_mib"] = round(tmp.stat().st_size / 2**20, 1)
        (tmp.parent / counts_name).write_text(json.dumps(counts), encoding="utf-8")

    path = cached_file(name, build, sidecars=(counts_name,))
    return path, json.loads((path.parent / counts_name).read_text(encoding="utf-8"))


class _CounterFile:
    """One file worked shift after shift; each shift's settlement preview and close are timed."""

    def __init__(self, path: Path, people: list[str]):
        from app.services.station import open_station, sale_targets

        self.db = open_station(path, upgrade=False)
        self.terminal = _terminal(self.db)
        self.targets = sale_targets(self.db, "2026-01-02")
        self.people = iter(people)
        self.preview_ms: list[float] = []
        self.close_ms: list[float] = []
        self.sale_ms: list[float] = []  # each sale of the shift: whether a year's history slows selling
        self.round = 0

    def work_a_shift(self, now: datetime) -> None:
        from app.services.aftersale import change, refund, void
        from app.services.sales import PassengerIn, PaymentIn, reprint, sell, spoil_blank
        from app.services.shifts import open_shift

        first = 1 + self.round * 100
        self.round += 1
        open_shift(self.db, self.terminal, clerk=CLERK, first_stock_no=first, last_stock_no=first + 99, now=now)
        sold = []
        for i in range(SALES_PER_SHIFT):
            target = self.targets[(self.round * SALES_PER_SHIFT + i) % len(self.targets)]
            payment = PaymentIn("epay", reference=f"WX{i}") if i % 4 == 3 else PaymentIn("cash")
            start = time.perf_counter_ns()
            sale = sell(self.db, self.terminal, clerk=CLERK, departure_id=target.departure_id, stop=target.last_stop,
                        passengers=[PassengerIn("full", "测试旅客", doc_number=next(self.people))],
                        payment=payment, now=now)
            self.sale_ms.append((time.perf_counter_ns() - start) / 1e6)
            sold.append((sale.ticket_ids[0], target))
        refund(self.db, self.terminal, clerk=CLERK, ticket_id=sold[0][0], now=now)
        ticket, target = sold[1]
        other = sold[3][1]  # to the next passenger's bus, and stop
        changed = change(self.db, self.terminal, clerk=CLERK, ticket_id=ticket, new_departure_id=other.departure_id,
                         stop=other.last_stop, now=now)
        void(self.db, self.terminal, clerk=CLERK, ticket_id=sold[2][0], now=now)
        reprint(self.db, self.terminal, clerk=CLERK, ticket_id=changed.new_ticket_id, now=now)
        spoil_blank(self.db, self.terminal, clerk=CLERK, now=now)

    def settle(self, now: datetime) -> dict:
        from app.services.shifts import close_shift, preview_settlement

        clock = time.perf_counter_ns
        start = clock()
        preview_settlement(self.db, self.terminal, clerk=CLERK)
        self.preview_ms.append((clock() - start) / 1e6)
        start = clock()
        report = close_shift(self.db, self.terminal, clerk=CLERK, now=now, cash_counted=0).report
        self.close_ms.append((clock() - start) / 1e6)
        return report

    def close(self) -> None:
        self.db.dispose()


def shift_settlement(n: int = 30, warmup: int = 3, workdir: Path | None = None, year: dict | None = None) -> Figure:
    from app.bench.dataset import YEAR
    from app.bench.sale import id_numbers

    year = year or YEAR
    own_tmp = workdir is None
    folder = Path(tempfile.mkdtemp(prefix="kezhan-bench-settle-")) if own_tmp else workdir
    try:
        cached, history = year_file(year)
        fresh_path, year_path = folder / "fresh.sqlite3", folder / "year.sqlite3"
        _station_file(fresh_path)
        shutil.copyfile(cached, year_path)
        people = id_numbers((n + warmup) * SALES_PER_SHIFT)
        now = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)  # 08:30 local; the shifts sell for the next day
        fresh, aged = _CounterFile(fresh_path, people), _CounterFile(year_path, people)
        reports = {}
        try:
            for i in range(n + warmup):
                # Alternate which file goes first, so a noisy neighbour weighs on both alike.
                for counter in ((fresh, aged) if i % 2 == 0 else (aged, fresh)):
                    counter.work_a_shift(now)
                    reports[counter is aged] = counter.settle(now)
        finally:
            fresh.close()
            aged.close()
    finally:
        if own_tmp:
            shutil.rmtree(folder, ignore_errors=True)
    # The last shift was the same on both files: so must its figures be (the ids in it run on).
    def figures(report):
        return {k: v for k, v in report.items() if k not in ("shift_id", "opened_at", "closed_at", "stock")}

    same = figures(reports[True]) == figures(reports[False])

    def both(counter):
        return [p + c for p, c in zip(counter.preview_ms[warmup:], counter.close_ms[warmup:], strict=True)]

    def median(samples):
        return round(statistics.median(samples[warmup:]), 3)

    preview = (median(aged.preview_ms), median(fresh.preview_ms))
    close = (median(aged.close_ms), median(fresh.close_ms))
    skip = warmup * SALES_PER_SHIFT
    sale = (round(statistics.median(aged.sale_ms[skip:]), 3), round(statistics.median(fresh.sale_ms[skip:]), 3))
    figure = latency_figure(
        "shift_settlement", both(aged), both(fresh), goal=f"preview + close ≤ {GOAL_RATIO}× the fresh file",
        preview_ms={"year": preview[0], "fresh": preview[1], "ratio": round(preview[0] / preview[1], 2)},
        close_ms={"year": close[0], "fresh": close[1], "ratio": round(close[0] / close[1], 2)},
        sale_p50_ms={"year": sale[0], "fresh": sale[1], "ratio": round(sale[0] / sale[1], 2)},
        year={**year, **history},
        shift={"sales": SALES_PER_SHIFT, "also": "a refund, a change, a void, a reprint, a jammed blank"},
        same_figures_on_both_files=same,
    )
    figure.met = same and figure.ratio <= GOAL_RATIO
    return figure
